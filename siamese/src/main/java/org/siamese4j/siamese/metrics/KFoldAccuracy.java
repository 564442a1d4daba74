package org.siamese4j.siamese.metrics;

import java.util.Objects;

/**
 * Verification accuracy by k-fold cross-validation of the threshold, the LFW protocol (k = 10).
 *
 * <p>For each fold f: the threshold that maximises accuracy on the other k-1 folds is chosen as in
 * {@link Thresholds#forBestAccuracy} (midpoint between distinct scores, strictest among ties), and the accuracy of
 * that threshold on fold f is recorded. The report is the mean and the spread of the k held-out accuracies and the
 * mean of the k thresholds. Each fold's threshold never sees that fold's pairs, so the mean accuracy is an honest
 * estimate, unlike the best accuracy on all pairs.
 *
 * <p>Accuracy counts every pair alike, so it is only meaningful on balanced pairs, as in LFW (3000 same, 3000
 * different): on all pairs of a face set, where different pairs outnumber same pairs by ~40 to 1, "reject
 * everything" already scores ~97%. Build balanced pairs with {@link ScoredPairs#sampled}.
 *
 * @param foldAccuracies accuracy on each held-out fold
 * @param foldThresholds threshold chosen on the other folds, for each fold
 * @param mean           mean of {@code foldAccuracies}
 * @param std            sample standard deviation of {@code foldAccuracies} (divisor k - 1)
 * @param meanThreshold  mean of {@code foldThresholds}; infinite if a fold chose to accept nothing
 */
public record KFoldAccuracy(double[] foldAccuracies, double[] foldThresholds, double mean, double std,
                            double meanThreshold) {

    public KFoldAccuracy {
        foldAccuracies = foldAccuracies.clone();
        foldThresholds = foldThresholds.clone();
    }

    @Override
    public double[] foldAccuracies() {
        return foldAccuracies.clone();
    }

    @Override
    public double[] foldThresholds() {
        return foldThresholds.clone();
    }

    public int folds() {
        return foldAccuracies.length;
    }

    /** Standard error of the mean accuracy, {@code std / sqrt(k)}: the "± S_E" that LFW results quote. */
    public double standardError() {
        return std / Math.sqrt(foldAccuracies.length);
    }

    /** The LFW protocol: 10 round-robin folds (see {@link Folds}). */
    public static KFoldAccuracy tenFold(double[] scores, boolean[] same, ScoreDirection direction) {
        return evaluate(scores, same, direction, 10);
    }

    /** k round-robin folds, see {@link Folds#roundRobin}. */
    public static KFoldAccuracy evaluate(double[] scores, boolean[] same, ScoreDirection direction, int folds) {
        Checks.pairs("KFoldAccuracy", scores, same, direction);
        return evaluate(scores, same, direction, Folds.roundRobin(scores.length, folds));
    }

    /**
     * Cross-validation over an explicit assignment {@code foldOf[i]} of each pair to a fold in [0, k), where k is
     * {@code max(foldOf) + 1}; every fold must be non-empty. Folds need not hold both classes: accuracy is defined
     * on one class alone.
     *
     * @throws IllegalArgumentException on bad pairs, a fold index out of range, an empty fold or fewer than 2 folds
     */
    public static KFoldAccuracy evaluate(double[] scores, boolean[] same, ScoreDirection direction, int[] foldOf) {
        Checks.pairs("KFoldAccuracy", scores, same, direction);
        Objects.requireNonNull(foldOf, "KFoldAccuracy: foldOf is null");
        if (foldOf.length != scores.length) {
            throw new IllegalArgumentException("KFoldAccuracy: " + scores.length + " pairs but " + foldOf.length
                    + " fold indices");
        }
        int k = 0;
        for (int i = 0; i < foldOf.length; i++) {
            if (foldOf[i] < 0) {
                throw new IllegalArgumentException("KFoldAccuracy: fold index " + foldOf[i] + " of pair " + i
                        + " is negative");
            }
            k = Math.max(k, foldOf[i] + 1);
        }
        if (k < 2) {
            throw new IllegalArgumentException("KFoldAccuracy: need at least 2 folds, got " + k);
        }
        int[] sizes = new int[k];
        for (int f : foldOf) {
            sizes[f]++;
        }
        for (int f = 0; f < k; f++) {
            if (sizes[f] == 0) {
                throw new IllegalArgumentException("KFoldAccuracy: fold " + f + " of " + k + " is empty");
            }
        }
        double[] accuracies = new double[k];
        double[] thresholds = new double[k];
        for (int f = 0; f < k; f++) {
            int[] train = new int[scores.length - sizes[f]];
            int t = 0;
            for (int i = 0; i < scores.length; i++) {
                if (foldOf[i] != f) {
                    train[t++] = i;
                }
            }
            RankedScores ranked = RankedScores.of(scores, same, direction, train);
            double threshold = ranked.separatingThreshold((int) ranked.bestAccuracy()[0]);
            int correct = 0;
            for (int i = 0; i < scores.length; i++) {
                if (foldOf[i] == f && direction.accepts(scores[i], threshold) == same[i]) {
                    correct++;
                }
            }
            thresholds[f] = threshold;
            accuracies[f] = (double) correct / sizes[f];
        }
        double mean = mean(accuracies);
        double squares = 0;
        for (double a : accuracies) {
            squares += (a - mean) * (a - mean);
        }
        return new KFoldAccuracy(accuracies, thresholds, mean, Math.sqrt(squares / (k - 1)), mean(thresholds));
    }

    private static double mean(double[] values) {
        double sum = 0;
        for (double v : values) {
            sum += v;
        }
        return sum / values.length;
    }
}
