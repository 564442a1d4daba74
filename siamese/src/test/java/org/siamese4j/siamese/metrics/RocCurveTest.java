package org.siamese4j.siamese.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.metrics.ScoreDirection.HIGHER_IS_SAME;
import static org.siamese4j.siamese.metrics.ScoreDirection.LOWER_IS_SAME;

import org.apache.commons.math3.stat.inference.MannWhitneyUTest;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class RocCurveTest {

    /**
     * Distances: same pairs 0.1, 0.3, 0.5, 0.6; different pairs 0.4, 0.7, 0.8, 0.9. Ascending: S S D S S D D D.
     * Points (FPR, TPR): (0,0) (0,.25) (0,.5) (.25,.5) (.25,.75) (.25,1) (.5,1) (.75,1) (1,1).
     * Mann-Whitney: same pair below different pair in 4 + 4 + 3 + 3 = 14 of 16 -> AUC 0.875.
     * FPR + TPR - 1 first reaches 0 at (.25, .75), threshold 0.5 -> EER 0.25.
     */
    static final double[] HAND_SCORES = {0.1, 0.4, 0.3, 0.7, 0.5, 0.8, 0.6, 0.9};
    static final boolean[] HAND_SAME = {true, false, true, false, true, false, true, false};

    @Test
    void handWorkedFourSameFourDifferent() {
        RocCurve roc = RocCurve.of(HAND_SCORES, HAND_SAME, LOWER_IS_SAME);
        assertThat(roc.size()).isEqualTo(9);
        assertThat(roc.thresholds()).containsExactly(Double.NEGATIVE_INFINITY, 0.1, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8,
                0.9);
        assertThat(roc.fpr()).containsExactly(0, 0, 0, .25, .25, .25, .5, .75, 1);
        assertThat(roc.tpr()).containsExactly(0, .25, .5, .5, .75, 1, 1, 1, 1);
        assertThat(roc.positives()).isEqualTo(4);
        assertThat(roc.negatives()).isEqualTo(4);
        assertThat(roc.auc()).isEqualTo(0.875);
        assertThat(roc.eer()).isEqualTo(0.25);
        assertThat(roc.eerThreshold()).isEqualTo(0.5);
        assertThat(roc.tarAtFar(0.25)).isEqualTo(1.0);
        assertThat(roc.tarAtFar(0.5)).isEqualTo(1.0);
        assertThat(roc.tarAtFar(1.0)).isEqualTo(1.0);
        // 1/4 of the different pairs is the finest FAR step: 0.1 cannot be resolved.
        assertThat(roc.tarAtFar(0.1)).isNaN();
    }

    @Test
    void similaritiesGiveTheSameCurveAsNegatedDistances() {
        double[] similarity = new double[HAND_SCORES.length];
        for (int i = 0; i < similarity.length; i++) {
            similarity[i] = -HAND_SCORES[i];
        }
        RocCurve dist = RocCurve.of(HAND_SCORES, HAND_SAME, LOWER_IS_SAME);
        RocCurve sim = RocCurve.of(similarity, HAND_SAME, HIGHER_IS_SAME);
        assertThat(sim.fpr()).containsExactly(dist.fpr());
        assertThat(sim.tpr()).containsExactly(dist.tpr());
        assertThat(sim.auc()).isEqualTo(dist.auc());
        assertThat(sim.eer()).isEqualTo(dist.eer());
        assertThat(sim.eerThreshold()).isEqualTo(-0.5);
        assertThat(sim.thresholds()[0]).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(sim.thresholds()[1]).isEqualTo(-0.1);
    }

    /**
     * Same 1, 2, 4; different 3, 5. Points (0,0) (0,1/3) (0,2/3) (.5,2/3) (.5,1) (1,1). FPR + TPR - 1 is -1/3 at
     * (0,2/3) and +1/6 at (.5,2/3): the crossing is 2/3 along that segment, FAR = FRR = 1/3 there, threshold
     * 2 + 2/3 * (3 - 2).
     */
    @Test
    void eerIsInterpolatedBetweenPoints() {
        RocCurve roc = RocCurve.of(new double[] {1, 2, 4, 3, 5}, new boolean[] {true, true, true, false, false},
                LOWER_IS_SAME);
        assertThat(roc.eer()).isCloseTo(1.0 / 3, within(1e-15));
        assertThat(roc.eerThreshold()).isCloseTo(2 + 2.0 / 3, within(1e-15));
    }

    @Test
    void perfectSeparation() {
        RocCurve roc = RocCurve.of(new double[] {0.1, 0.2, 0.3, 0.7, 0.8}, new boolean[] {true, true, true, false,
                false}, LOWER_IS_SAME);
        assertThat(roc.auc()).isEqualTo(1.0);
        assertThat(roc.eer()).isEqualTo(0.0);
        assertThat(roc.eerThreshold()).isEqualTo(0.3);
        assertThat(roc.tarAtFar(0.5)).isEqualTo(1.0);
    }

    @Test
    void reversedScores() {
        RocCurve roc = RocCurve.of(new double[] {0.7, 0.8, 0.9, 0.1, 0.2}, new boolean[] {true, true, true, false,
                false}, LOWER_IS_SAME);
        assertThat(roc.auc()).isEqualTo(0.0);
        assertThat(roc.eer()).isEqualTo(1.0);
        assertThat(roc.tarAtFar(0.5)).isEqualTo(0.0);
    }

    @Test
    void allTiedIsOneDiagonalStep() {
        RocCurve roc = RocCurve.of(new double[] {0.5, 0.5, 0.5, 0.5, 0.5}, new boolean[] {true, false, true, false,
                false}, HIGHER_IS_SAME);
        assertThat(roc.size()).isEqualTo(2);
        assertThat(roc.fpr()).containsExactly(0, 1);
        assertThat(roc.tpr()).containsExactly(0, 1);
        assertThat(roc.auc()).isEqualTo(0.5);
        assertThat(roc.eer()).isEqualTo(0.5);
        assertThat(roc.eerThreshold()).isEqualTo(0.5);
        assertThat(roc.tarAtFar(0.5)).isEqualTo(0.0);
    }

    @Test
    void tiesShareOnePointPerDistinctScore() {
        // Scores 1 (S, D), 2 (S, S), 3 (D, D): three distinct thresholds.
        RocCurve roc = RocCurve.of(new double[] {1, 1, 2, 2, 3, 3}, new boolean[] {true, false, true, true, false,
                false}, LOWER_IS_SAME);
        assertThat(roc.size()).isEqualTo(4);
        assertThat(roc.tpr()).containsExactly(0, 1.0 / 3, 1, 1);
        assertThat(roc.fpr()).containsExactly(0, 1.0 / 3, 1.0 / 3, 1);
        // Mann-Whitney: S1 ties D1 (1/2) and beats D3 twice; each S2 beats both D3 -> (0.5 + 2 + 4) / 9.
        assertThat(roc.auc()).isCloseTo(6.5 / 9, within(1e-15));
    }

    @Test
    void positiveAndNegativeZeroAreOneTie() {
        RocCurve roc = RocCurve.of(new double[] {0.0, -0.0}, new boolean[] {true, false}, LOWER_IS_SAME);
        assertThat(roc.size()).isEqualTo(2);
        assertThat(roc.auc()).isEqualTo(0.5);
    }

    @Test
    void aucEqualsBruteForceMannWhitneyWithTies() {
        Rng rng = new Rng(42);
        for (int c = 0; c < 40; c++) {
            int n = 2 + rng.nextInt(60);
            double[] scores = new double[n];
            boolean[] same = new boolean[n];
            same[0] = true;                                  // both classes present
            for (int i = 0; i < n; i++) {
                // one decimal: plenty of ties, and same pairs shifted up so the AUC varies
                same[i] = i == 0 || (i > 1 && rng.nextBoolean());
                scores[i] = Math.round((rng.nextGaussian() + (same[i] ? 0.7 : 0)) * 10) / 10.0;
            }
            double u = 0;
            long pairs = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    if (same[i] && !same[j]) {
                        u += scores[i] > scores[j] ? 1 : scores[i] == scores[j] ? 0.5 : 0;
                        pairs++;
                    }
                }
            }
            RocCurve roc = RocCurve.of(scores, same, HIGHER_IS_SAME);
            assertThat(roc.auc()).as("case %d", c).isCloseTo(u / pairs, within(1e-12));
            // Distances are the mirror image: the same AUC with LOWER_IS_SAME on negated scores.
            double[] negated = new double[n];
            for (int i = 0; i < n; i++) {
                negated[i] = -scores[i];
            }
            assertThat(RocCurve.of(negated, same, LOWER_IS_SAME).auc()).isCloseTo(u / pairs, within(1e-12));
        }
    }

    @Test
    void aucMatchesCommonsMathMannWhitneyU() {
        Rng rng = new Rng(7);
        for (int c = 0; c < 20; c++) {
            int np = 3 + rng.nextInt(30);
            int nn = 3 + rng.nextInt(30);
            double[] pos = new double[np];
            double[] neg = new double[nn];
            double[] scores = new double[np + nn];
            boolean[] same = new boolean[np + nn];
            for (int i = 0; i < np; i++) {
                pos[i] = Math.round((rng.nextGaussian() + 0.5) * 4) / 4.0;
                scores[i] = pos[i];
                same[i] = true;
            }
            for (int i = 0; i < nn; i++) {
                neg[i] = Math.round(rng.nextGaussian() * 4) / 4.0;
                scores[np + i] = neg[i];
            }
            // commons-math3 returns max(U1, U2), ties by average ranks; U1 / (np nn) is the AUC.
            double u = new MannWhitneyUTest().mannWhitneyU(pos, neg);
            double auc = RocCurve.of(scores, same, HIGHER_IS_SAME).auc();
            assertThat(Math.max(auc, 1 - auc) * np * nn).as("case %d", c).isCloseTo(u, within(1e-9));
        }
    }

    /**
     * 1000 different pairs with similarities k/1000, k = 0..999; 100 same pairs: 60 at 0.9995 (above every different
     * pair), 20 at 0.9925 (7 different pairs above), 20 at 0.5. FAR 1e-2 allows 10 false accepts (threshold 0.990):
     * TAR 0.8. FAR 1e-3 allows one (threshold 0.999): TAR 0.6.
     */
    @Test
    void tarAtFarOnConstructedDistributions() {
        RocCurve roc = constructed(1000);
        assertThat(roc.tarAtFar(1e-2)).isEqualTo(0.8);
        assertThat(roc.tarAtFar(1e-3)).isEqualTo(0.6);
        assertThat(roc.atFar(1e-2).threshold()).isEqualTo(0.990);
        assertThat(roc.atFar(1e-2).far()).isEqualTo(0.01);
        assertThat(roc.atFar(1e-3).threshold()).isEqualTo(0.999);
        // Just below the 0.9925 block's 7/1000 and above the 0.999 threshold's 1/1000.
        assertThat(roc.tarAtFar(6.5e-3)).isEqualTo(0.6);
        assertThat(roc.tarAtFar(7e-3)).isEqualTo(0.8);
    }

    @Test
    void tarAtFarNeedsOneOverFarDifferentPairs() {
        // 500 different pairs k/500: FAR 1e-2 is 5 of them (threshold 0.990, TAR 0.8); 1e-3 is below 1/500.
        RocCurve roc = constructed(500);
        assertThat(roc.tarAtFar(1e-2)).isEqualTo(0.8);
        assertThat(roc.tarAtFar(1e-3)).isNaN();
        assertThat(roc.tarAtFar(2e-3)).isEqualTo(0.6);
        assertThatThrownBy(() -> roc.atFar(1e-3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1000 different pairs").hasMessageContaining("got 500");
    }

    private static RocCurve constructed(int negatives) {
        double[] scores = new double[negatives + 100];
        boolean[] same = new boolean[scores.length];
        for (int k = 0; k < negatives; k++) {
            scores[k] = (double) k / negatives;
        }
        for (int t = 0; t < 100; t++) {
            scores[negatives + t] = t < 60 ? 0.9995 : t < 80 ? 0.9925 : 0.5;
            same[negatives + t] = true;
        }
        return RocCurve.of(scores, same, HIGHER_IS_SAME);
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> RocCurve.of(new double[0], new boolean[0], LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("RocCurve: no pairs");
        assertThatThrownBy(() -> RocCurve.of(new double[] {1, 2}, new boolean[] {true}, LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 scores but 1");
        assertThatThrownBy(() -> RocCurve.of(new double[] {1, Double.NaN}, new boolean[] {true, false},
                LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("score 1 is NaN");
        assertThatThrownBy(() -> RocCurve.of(new double[] {Double.POSITIVE_INFINITY, 1}, new boolean[] {true, false},
                LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("score 0 is Infinity");
        assertThatThrownBy(() -> RocCurve.of(new double[] {1, 2}, new boolean[] {false, false}, LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 same and 2 different");
        assertThatThrownBy(() -> RocCurve.of(new double[] {1, 2, 3}, new boolean[] {true, true, true},
                LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 same and 0 different");
        assertThatThrownBy(() -> RocCurve.of(new double[] {1}, new boolean[] {true}, null))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("direction");
        RocCurve roc = RocCurve.of(HAND_SCORES, HAND_SAME, LOWER_IS_SAME);
        assertThatThrownBy(() -> roc.tarAtFar(0)).hasMessageContaining("(0, 1], got 0.0");
        assertThatThrownBy(() -> roc.tarAtFar(Double.NaN)).hasMessageContaining("got NaN");
        assertThatThrownBy(() -> roc.tarAtFar(1.5)).hasMessageContaining("got 1.5");
    }

    @Test
    void accessorsReturnCopies() {
        RocCurve roc = RocCurve.of(HAND_SCORES, HAND_SAME, LOWER_IS_SAME);
        roc.tpr()[1] = 99;
        roc.fpr()[1] = 99;
        roc.thresholds()[1] = 99;
        assertThat(roc.tpr()[1]).isEqualTo(0.25);
        assertThat(roc.fpr()[1]).isEqualTo(0);
        assertThat(roc.thresholds()[1]).isEqualTo(0.1);
    }
}
