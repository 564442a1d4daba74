package org.siamese4j.siamese.metrics;

/**
 * The ROC curve of a verifier, from (score, same?) pairs, and the numbers read off it: AUC, EER, TAR at a FAR.
 *
 * <p>Points: the first is (FPR 0, TPR 0) with an infinite threshold that accepts nothing; then one point per
 * distinct score, most alike first, at which every pair at least that alike is accepted (ties accepted, see
 * {@link ScoreDirection}). Pairs with equal scores therefore share one point, and a tie between a same and a
 * different pair is a diagonal step; the last point is (1, 1). TPR is the true-accept rate (TAR) over the same pairs,
 * FPR the false-accept rate (FAR) over the different pairs.
 *
 * <p>A ROC needs both classes: {@link #of} rejects inputs without a same pair or without a different pair (every
 * rate would be 0/0). Scores must be finite.
 */
public final class RocCurve {
    private final RankedScores ranked;
    private final double[] thresholds;
    private final double[] tpr;
    private final double[] fpr;

    private RocCurve(RankedScores ranked) {
        this.ranked = ranked;
        int m = ranked.size() + 1;
        thresholds = new double[m];
        tpr = new double[m];
        fpr = new double[m];
        thresholds[0] = ranked.direction.acceptNothing();
        for (int k = 0; k < ranked.size(); k++) {
            thresholds[k + 1] = ranked.thresholds[k];
            tpr[k + 1] = (double) ranked.truePositives[k] / ranked.positives;
            fpr[k + 1] = (double) ranked.falsePositives[k] / ranked.negatives;
        }
    }

    /**
     * @param scores    one score per pair, finite
     * @param same      whether each pair shows the same identity
     * @param direction whether low or high scores mean "same"
     * @throws IllegalArgumentException on empty input, mismatched lengths, a non-finite score, or when there is no
     *                                  same pair or no different pair
     */
    public static RocCurve of(double[] scores, boolean[] same, ScoreDirection direction) {
        Checks.pairs("RocCurve", scores, same, direction);
        RankedScores ranked = RankedScores.of(scores, same, direction);
        if (ranked.positives == 0 || ranked.negatives == 0) {
            throw new IllegalArgumentException("RocCurve: needs at least one same and one different pair, got "
                    + ranked.positives + " same and " + ranked.negatives + " different");
        }
        return new RocCurve(ranked);
    }

    public ScoreDirection direction() {
        return ranked.direction;
    }

    /** Number of ROC points: distinct scores + 1. */
    public int size() {
        return thresholds.length;
    }

    /** Threshold of each point (a copy); the first is infinite and accepts nothing. */
    public double[] thresholds() {
        return thresholds.clone();
    }

    /** True-accept rate of each point (a copy), non-decreasing from 0 to 1. */
    public double[] tpr() {
        return tpr.clone();
    }

    /** False-accept rate of each point (a copy), non-decreasing from 0 to 1. */
    public double[] fpr() {
        return fpr.clone();
    }

    public long positives() {
        return ranked.positives;
    }

    public long negatives() {
        return ranked.negatives;
    }

    /**
     * Area under the curve by the trapezoid rule. Because tied scores share one point, this equals the Mann-Whitney
     * U statistic over (same, different) pairs divided by their count, ties counted one half: the probability that a
     * random same pair scores more alike than a random different pair.
     */
    public double auc() {
        double area = 0;
        for (int k = 1; k < tpr.length; k++) {
            area += (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2;
        }
        return area;
    }

    /**
     * Equal error rate: the FAR where it equals the false-reject rate FRR = 1 - TPR.
     *
     * <p>Along the points, FAR - FRR = FPR + TPR - 1 rises strictly from -1 to 1 (each point adds at least one
     * accepted pair), so it crosses zero on exactly one segment; there both rates are interpolated linearly between
     * the two points (the straight ROC segment, i.e. a randomised mix of the two thresholds) and the EER is the FAR
     * at the crossing. Perfect separation gives 0, reversed scores 1, all scores tied 0.5.
     */
    public double eer() {
        int k = eerSegment();
        return fpr[k] + eerFraction(k) * (fpr[k + 1] - fpr[k]);
    }

    /**
     * The threshold at the EER, interpolated linearly between the thresholds of the crossing segment with the same
     * fraction as the rates; when one end of the segment is the infinite accept-nothing threshold, the finite end.
     */
    public double eerThreshold() {
        int k = eerSegment();
        double alpha = eerFraction(k);
        if (alpha == 1.0 || Double.isInfinite(thresholds[k])) {
            return thresholds[k + 1];
        }
        if (alpha == 0.0) {
            return thresholds[k];
        }
        return thresholds[k] + alpha * (thresholds[k + 1] - thresholds[k]);
    }

    /** The segment k..k+1 where FPR + TPR - 1 goes from <= 0 to > 0 (or ends at 0). */
    private int eerSegment() {
        for (int k = 0; k < tpr.length - 1; k++) {
            if (fpr[k + 1] + tpr[k + 1] - 1.0 >= 0.0) {
                return k;
            }
        }
        return tpr.length - 2;   // unreachable: the last point has FPR + TPR - 1 = 1
    }

    private double eerFraction(int k) {
        double g0 = fpr[k] + tpr[k] - 1.0;
        double g1 = fpr[k + 1] + tpr[k + 1] - 1.0;
        return -g0 / (g1 - g0);   // g1 > g0 strictly, see eer()
    }

    /**
     * The true-accept rate at a false-accept rate: the largest TPR over the points with FPR &lt;= {@code far}.
     *
     * <p>Needs enough different pairs: with N different pairs the smallest non-zero FAR is 1/N, so a target below
     * 1/N (e.g. 1e-3 with fewer than 1000 different pairs) cannot be resolved and this returns {@code NaN} rather
     * than the TAR at FAR 0 (which would understate the verifier). Several times 1/far negatives are needed for a
     * stable estimate.
     *
     * @throws IllegalArgumentException when {@code far} is not in (0, 1]
     */
    public double tarAtFar(double far) {
        Checks.far("RocCurve.tarAtFar", far);
        int k = pointAtFar(far);
        return k < 0 ? Double.NaN : tpr[k];
    }

    /**
     * The most accepting point with FPR &lt;= {@code far}, as an operating point on these pairs (threshold in score
     * units, inclusive).
     *
     * @throws IllegalArgumentException when {@code far} is not in (0, 1] or cannot be resolved with this many
     *                                  different pairs (fewer than 1/far)
     */
    public OperatingPoint atFar(double far) {
        Checks.far("RocCurve.atFar", far);
        int k = pointAtFar(far);
        if (k < 0) {
            throw new IllegalArgumentException("RocCurve.atFar: FAR " + far + " needs at least "
                    + (long) Math.ceil(1.0 / far) + " different pairs, got " + ranked.negatives);
        }
        return point(k);
    }

    /** Index of the most accepting point with FPR <= far, or -1 when 1/negatives > far. */
    private int pointAtFar(double far) {
        // fp / n <= far compares correctly rounded quotients, so 10/1000 <= 1e-2 holds exactly.
        if (1.0 / ranked.negatives > far) {
            return -1;
        }
        int best = 0;
        for (int k = 0; k < fpr.length && fpr[k] <= far; k++) {
            best = k;                      // TPR is non-decreasing along the points
        }
        return best;
    }

    /** The threshold with the highest accuracy on these pairs, see {@link Thresholds#forBestAccuracy}. */
    public OperatingPoint bestAccuracy() {
        long[] best = ranked.bestAccuracy();
        int k = (int) best[0];
        double threshold = ranked.separatingThreshold(k);
        return new OperatingPoint(threshold, ranked.direction, tpr[k + 1], fpr[k + 1],
                (double) best[1] / (ranked.positives + ranked.negatives));
    }

    private OperatingPoint point(int k) {
        long correct = (k == 0 ? 0 : ranked.truePositives[k - 1])
                + ranked.negatives - (k == 0 ? 0 : ranked.falsePositives[k - 1]);
        return new OperatingPoint(thresholds[k], ranked.direction, tpr[k], fpr[k],
                (double) correct / (ranked.positives + ranked.negatives));
    }
}
