package org.siamese4j.siamese.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.metrics.ScoreDirection.HIGHER_IS_SAME;
import static org.siamese4j.siamese.metrics.ScoreDirection.LOWER_IS_SAME;

import java.util.Arrays;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class KFoldAccuracyTest {

    @Test
    void separableSetHasPerfectAccuracyAndThresholdInTheGap() {
        // 100 same pairs at distances in [0.00, 0.495], 100 different pairs in [0.505, 1.0]: the gap is at 0.5.
        double[] d = new double[200];
        boolean[] same = new boolean[200];
        for (int i = 0; i < 100; i++) {
            d[i] = i * 0.005;
            same[i] = true;
            d[100 + i] = 0.505 + i * 0.005;
        }
        KFoldAccuracy cv = KFoldAccuracy.tenFold(d, same, LOWER_IS_SAME);
        assertThat(cv.folds()).isEqualTo(10);
        assertThat(cv.foldAccuracies()).containsOnly(1.0);
        assertThat(cv.mean()).isEqualTo(1.0);
        assertThat(cv.std()).isEqualTo(0.0);
        assertThat(cv.standardError()).isEqualTo(0.0);
        // Every training set keeps the pairs next to the gap in at least 9 of 10 folds: thresholds within 0.005.
        assertThat(cv.meanThreshold()).isCloseTo(0.5, within(0.005));
        for (double t : cv.foldThresholds()) {
            assertThat(t).isBetween(0.49, 0.51);
        }
    }

    /**
     * 20 pairs, round-robin folds (fold f = pairs f and f + 10). Same pairs 0..9 at 0.10 + 0.01 i, except pair 3, an
     * outlier at 0.95; different pairs 10..19 at 0.80 + 0.01 (i - 10). Training on 9 folds always puts the threshold
     * in the gap between the largest normal same distance and the smallest different one: (0.19 + 0.81) / 2 = 0.5
     * for fold 0, (0.18 + 0.80) / 2 = 0.49 for fold 9, (0.19 + 0.80) / 2 = 0.495 otherwise (accepting the outlier
     * would accept every different pair). Fold 3 then rejects its outlier: 1 of 2; others 2 of 2.
     * Mean (9 + 0.5) / 10 = 0.95; sample std sqrt((9 * 0.05^2 + 0.45^2) / 9) = sqrt(0.025).
     */
    @Test
    void handWorkedTenFoldWithOneOutlier() {
        double[] d = new double[20];
        boolean[] same = new boolean[20];
        for (int i = 0; i < 10; i++) {
            same[i] = true;
            d[i] = i == 3 ? 0.95 : 0.10 + 0.01 * i;
            d[10 + i] = 0.80 + 0.01 * i;
        }
        KFoldAccuracy cv = KFoldAccuracy.tenFold(d, same, LOWER_IS_SAME);
        assertThat(cv.foldAccuracies()).containsExactly(1, 1, 1, 0.5, 1, 1, 1, 1, 1, 1);
        assertThat(cv.mean()).isCloseTo(0.95, within(1e-12));
        assertThat(cv.std()).isCloseTo(Math.sqrt(0.025), within(1e-12));
        assertThat(cv.standardError()).isCloseTo(Math.sqrt(0.025) / Math.sqrt(10), within(1e-12));
        double[] t = cv.foldThresholds();
        assertThat(t[0]).isCloseTo(0.5, within(1e-12));
        assertThat(t[9]).isCloseTo(0.49, within(1e-12));
        for (int f = 1; f < 9; f++) {
            assertThat(t[f]).as("fold %d", f).isCloseTo(0.495, within(1e-12));
        }
        assertThat(cv.meanThreshold()).isCloseTo(0.495, within(1e-12));
    }

    /**
     * Reference: for each fold, try every candidate threshold (accept nothing, each distinct training score, each
     * midpoint) by brute force; the chosen threshold must reach the best training accuracy, and the held-out accuracy
     * must be that threshold's accuracy on the fold.
     */
    @Test
    void eachFoldThresholdMaximisesTrainingAccuracy() {
        Rng rng = new Rng(11);
        int n = 157;
        double[] sim = new double[n];
        boolean[] same = new boolean[n];
        for (int i = 0; i < n; i++) {
            same[i] = rng.nextBoolean();
            sim[i] = Math.round((rng.nextGaussian() + (same[i] ? 1.2 : 0)) * 20) / 20.0;   // with ties
        }
        int[] foldOf = Folds.shuffled(n, 7, new Rng(5));
        KFoldAccuracy cv = KFoldAccuracy.evaluate(sim, same, HIGHER_IS_SAME, foldOf);
        assertThat(cv.folds()).isEqualTo(7);
        double sum = 0;
        for (int f = 0; f < 7; f++) {
            final int fold = f;
            int[] train = java.util.stream.IntStream.range(0, n).filter(i -> foldOf[i] != fold).toArray();
            int[] test = java.util.stream.IntStream.range(0, n).filter(i -> foldOf[i] == fold).toArray();
            double best = bruteForceBestAccuracy(sim, same, train);
            assertThat(accuracy(sim, same, train, cv.foldThresholds()[f])).as("fold %d", f).isEqualTo(best);
            assertThat(cv.foldAccuracies()[f]).isEqualTo(accuracy(sim, same, test, cv.foldThresholds()[f]));
            sum += cv.foldAccuracies()[f];
        }
        assertThat(cv.mean()).isCloseTo(sum / 7, within(1e-12));
        // Better than chance on this shifted data, and not perfect.
        assertThat(cv.mean()).isBetween(0.6, 0.9);
    }

    private static double bruteForceBestAccuracy(double[] sim, boolean[] same, int[] subset) {
        TreeSet<Double> candidates = new TreeSet<>();
        candidates.add(Double.POSITIVE_INFINITY);
        double[] sorted = Arrays.stream(subset).mapToDouble(i -> sim[i]).sorted().distinct().toArray();
        for (int k = 0; k < sorted.length; k++) {
            candidates.add(sorted[k]);
            if (k + 1 < sorted.length) {
                candidates.add((sorted[k] + sorted[k + 1]) / 2);
            }
        }
        double best = 0;
        for (double t : candidates) {
            best = Math.max(best, accuracy(sim, same, subset, t));
        }
        return best;
    }

    private static double accuracy(double[] sim, boolean[] same, int[] subset, double threshold) {
        int correct = 0;
        for (int i : subset) {
            if ((sim[i] >= threshold) == same[i]) {
                correct++;
            }
        }
        return (double) correct / subset.length;
    }

    @Test
    void foldAssignments() {
        assertThat(Folds.roundRobin(7, 3)).containsExactly(0, 1, 2, 0, 1, 2, 0);
        assertThat(Folds.contiguous(7, 3)).containsExactly(0, 0, 1, 1, 2, 2, 2);
        assertThat(Folds.contiguous(6000, 10)[599]).isEqualTo(0);     // LFW: 10 blocks of 600
        assertThat(Folds.contiguous(6000, 10)[600]).isEqualTo(1);
        int[] a = Folds.shuffled(103, 10, new Rng(1));
        assertThat(a).isEqualTo(Folds.shuffled(103, 10, new Rng(1)));
        assertThat(a).isNotEqualTo(Folds.shuffled(103, 10, new Rng(2)));
        int[] sizes = new int[10];
        for (int f : a) {
            sizes[f]++;
        }
        assertThat(sizes).containsOnly(10, 11);
        assertThat(Arrays.stream(sizes).sum()).isEqualTo(103);
    }

    @Test
    void contiguousFoldsOfSortedPairsStillWork() {
        // All same pairs first: contiguous folds hold one class each, and accuracy is still defined.
        double[] d = {0.1, 0.2, 0.3, 0.35, 0.6, 0.7, 0.8, 0.9};
        boolean[] same = {true, true, true, true, false, false, false, false};
        KFoldAccuracy cv = KFoldAccuracy.evaluate(d, same, LOWER_IS_SAME, Folds.contiguous(8, 4));
        assertThat(cv.mean()).isEqualTo(1.0);
        // Midpoints between the largest training same distance and the smallest training different one.
        assertThat(cv.foldThresholds()).containsExactly(new double[] {0.475, 0.4, 0.575, 0.475}, within(1e-12));
    }

    @Test
    void rejectsBadInput() {
        double[] d = {0.1, 0.2, 0.3};
        boolean[] same = {true, false, true};
        assertThatThrownBy(() -> KFoldAccuracy.evaluate(d, same, LOWER_IS_SAME, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 pairs cannot fill 4 folds");
        assertThatThrownBy(() -> KFoldAccuracy.evaluate(d, same, LOWER_IS_SAME, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 2 folds, got 1");
        assertThatThrownBy(() -> KFoldAccuracy.evaluate(d, same, LOWER_IS_SAME, new int[] {0, 2, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fold 1 of 3 is empty");
        assertThatThrownBy(() -> KFoldAccuracy.evaluate(d, same, LOWER_IS_SAME, new int[] {0, -1, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1 of pair 1");
        assertThatThrownBy(() -> KFoldAccuracy.evaluate(d, same, LOWER_IS_SAME, new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 pairs but 2 fold indices");
        assertThatThrownBy(() -> KFoldAccuracy.tenFold(new double[0], new boolean[0], LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no pairs");
        assertThatThrownBy(() -> KFoldAccuracy.tenFold(new double[] {Double.NaN}, new boolean[] {true},
                LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("score 0 is NaN");
    }
}
