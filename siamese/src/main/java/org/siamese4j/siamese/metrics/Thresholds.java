package org.siamese4j.siamese.metrics;

/**
 * Threshold calibration on a labelled set of pairs, and applying a threshold to other pairs.
 *
 * <p>Calibrate on one set (validation pairs), then {@link #evaluate} the threshold on held-out pairs: the rates of a
 * threshold on the set it was chosen on are optimistic.
 */
public final class Thresholds {
    private Thresholds() {
    }

    /**
     * The most accepting threshold whose false-accept rate on these pairs is at most {@code far}; the threshold is
     * one of the scores (inclusive), or infinite (accept nothing) when even the most alike score is a different pair
     * that alone exceeds the target.
     *
     * @throws IllegalArgumentException on bad pairs (see {@link RocCurve#of}), {@code far} outside (0, 1], or fewer
     *                                  than 1/far different pairs (the target cannot be resolved)
     */
    public static OperatingPoint forFar(double[] scores, boolean[] same, ScoreDirection direction, double far) {
        return RocCurve.of(scores, same, direction).atFar(far);
    }

    /**
     * The threshold that classifies the most pairs correctly. Among equally accurate thresholds the strictest (fewest
     * false accepts) is kept; the returned value is the midpoint between the last accepted score and the next
     * distinct score, so it has a margin on both sides (the least alike score when everything is accepted, an
     * infinite threshold when nothing is). Works with a single class (then {@code tar} or {@code far} is NaN).
     *
     * @throws IllegalArgumentException on empty input, mismatched lengths or a non-finite score
     */
    public static OperatingPoint forBestAccuracy(double[] scores, boolean[] same, ScoreDirection direction) {
        Checks.pairs("Thresholds.forBestAccuracy", scores, same, direction);
        RankedScores ranked = RankedScores.of(scores, same, direction);
        long[] best = ranked.bestAccuracy();
        int k = (int) best[0];
        long tp = k < 0 ? 0 : ranked.truePositives[k];
        long fp = k < 0 ? 0 : ranked.falsePositives[k];
        return new OperatingPoint(ranked.separatingThreshold(k), direction, rate(tp, ranked.positives),
                rate(fp, ranked.negatives), (double) best[1] / scores.length);
    }

    /**
     * What {@code threshold} does on these pairs: TAR, FAR (NaN when the class is absent) and accuracy.
     *
     * @throws IllegalArgumentException on empty input, mismatched lengths, a non-finite score or a NaN threshold
     */
    public static OperatingPoint evaluate(double[] scores, boolean[] same, ScoreDirection direction,
                                          double threshold) {
        Checks.pairs("Thresholds.evaluate", scores, same, direction);
        if (Double.isNaN(threshold)) {
            throw new IllegalArgumentException("Thresholds.evaluate: threshold is NaN");
        }
        long tp = 0;
        long fp = 0;
        long positives = 0;
        for (int i = 0; i < scores.length; i++) {
            boolean accepted = direction.accepts(scores[i], threshold);
            if (same[i]) {
                positives++;
                if (accepted) {
                    tp++;
                }
            } else if (accepted) {
                fp++;
            }
        }
        long negatives = scores.length - positives;
        return new OperatingPoint(threshold, direction, rate(tp, positives), rate(fp, negatives),
                (double) (tp + negatives - fp) / scores.length);
    }

    /** Fraction of pairs decided correctly at {@code threshold}. */
    public static double accuracy(double[] scores, boolean[] same, ScoreDirection direction, double threshold) {
        return evaluate(scores, same, direction, threshold).accuracy();
    }

    private static double rate(long count, long total) {
        return total == 0 ? Double.NaN : (double) count / total;
    }
}
