package org.siamese4j.siamese.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.metrics.RocCurveTest.HAND_SAME;
import static org.siamese4j.siamese.metrics.RocCurveTest.HAND_SCORES;
import static org.siamese4j.siamese.metrics.ScoreDirection.HIGHER_IS_SAME;
import static org.siamese4j.siamese.metrics.ScoreDirection.LOWER_IS_SAME;

import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class ThresholdsTest {

    /**
     * Hand case (see RocCurveTest): correct decisions when accepting up to each distance are
     * none 4, 0.1 5, 0.3 6, 0.4 5, 0.5 6, 0.6 7, 0.7 6, 0.8 5, 0.9 4. Best: accept up to 0.6, 7 of 8, and the
     * threshold is the midpoint to the next distance 0.7.
     */
    @Test
    void bestAccuracyOnHandWorkedCase() {
        OperatingPoint p = Thresholds.forBestAccuracy(HAND_SCORES, HAND_SAME, LOWER_IS_SAME);
        assertThat(p.threshold()).isCloseTo(0.65, within(1e-15));
        assertThat(p.accuracy()).isEqualTo(0.875);
        assertThat(p.tar()).isEqualTo(1.0);
        assertThat(p.far()).isEqualTo(0.25);
        assertThat(p.frr()).isEqualTo(0.0);
        assertThat(p.direction()).isEqualTo(LOWER_IS_SAME);
        assertThat(RocCurve.of(HAND_SCORES, HAND_SAME, LOWER_IS_SAME).bestAccuracy()).isEqualTo(p);
        // Applying the threshold reproduces its numbers.
        OperatingPoint applied = Thresholds.evaluate(HAND_SCORES, HAND_SAME, LOWER_IS_SAME, p.threshold());
        assertThat(applied.accuracy()).isEqualTo(0.875);
        assertThat(applied.tar()).isEqualTo(1.0);
        assertThat(applied.far()).isEqualTo(0.25);
    }

    @Test
    void bestAccuracyKeepsTheStrictestOfEquallyGoodThresholds() {
        // Accepting up to 1 or up to 3 both get 3 of 4 right; the stricter one (fewer false accepts) is kept.
        double[] d = {1, 2, 3, 4};
        boolean[] same = {true, false, true, false};
        OperatingPoint p = Thresholds.forBestAccuracy(d, same, LOWER_IS_SAME);
        assertThat(p.threshold()).isEqualTo(1.5);
        assertThat(p.far()).isEqualTo(0.0);
        assertThat(p.accuracy()).isEqualTo(0.75);
    }

    @Test
    void forFarOnHandWorkedCase() {
        OperatingPoint quarter = Thresholds.forFar(HAND_SCORES, HAND_SAME, LOWER_IS_SAME, 0.25);
        assertThat(quarter.threshold()).isEqualTo(0.6);
        assertThat(quarter.tar()).isEqualTo(1.0);
        assertThat(quarter.far()).isEqualTo(0.25);
        assertThat(quarter.accuracy()).isEqualTo(0.875);
        OperatingPoint half = Thresholds.forFar(HAND_SCORES, HAND_SAME, LOWER_IS_SAME, 0.5);
        assertThat(half.threshold()).isEqualTo(0.7);
        assertThat(half.far()).isEqualTo(0.5);
        assertThat(half.accuracy()).isEqualTo(0.75);
        // The threshold is inclusive: the pair at exactly 0.6 is accepted.
        assertThat(Thresholds.evaluate(HAND_SCORES, HAND_SAME, LOWER_IS_SAME, 0.6).tar()).isEqualTo(1.0);
        assertThat(Thresholds.evaluate(HAND_SCORES, HAND_SAME, LOWER_IS_SAME, Math.nextDown(0.6)).tar())
                .isEqualTo(0.75);
    }

    @Test
    void forFarAcceptsNothingWhenTheTopScoreAloneBreaksTheTarget() {
        // Two different pairs tie at the top: accepting 0.9 is FAR 2/4 > 1/4, so only "accept nothing" qualifies.
        OperatingPoint none = Thresholds.forFar(new double[] {0.9, 0.9, 0.1, 0.2, 0.3}, new boolean[] {false, false,
                true, false, false}, HIGHER_IS_SAME, 0.25);
        assertThat(none.threshold()).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(none.tar()).isEqualTo(0.0);
        assertThat(none.far()).isEqualTo(0.0);
        assertThat(none.accuracy()).isEqualTo(0.8);
        // One different pair on top is within FAR 1/3: the threshold is that score, accepting no same pair.
        OperatingPoint one = Thresholds.forFar(new double[] {0.9, 0.8, 0.7, 0.1}, new boolean[] {false, false, false,
                true}, HIGHER_IS_SAME, 0.34);
        assertThat(one.threshold()).isEqualTo(0.9);
        assertThat(one.tar()).isEqualTo(0.0);
        assertThat(one.far()).isEqualTo(1.0 / 3);
    }

    @Test
    void calibratedFarHoldsOnTheCalibrationSetAndRoughlyOnHeldOutPairs() {
        Rng rng = new Rng(3);
        double[][] sets = new double[2][4000];
        boolean[][] same = new boolean[2][4000];
        for (int s = 0; s < 2; s++) {
            for (int i = 0; i < 4000; i++) {
                same[s][i] = i % 4 == 0;
                sets[s][i] = rng.nextGaussian() + (same[s][i] ? 0 : 2.5);   // distances: same pairs are lower
            }
        }
        OperatingPoint cal = Thresholds.forFar(sets[0], same[0], LOWER_IS_SAME, 1e-2);
        assertThat(cal.far()).isLessThanOrEqualTo(1e-2).isGreaterThan(0.009);
        OperatingPoint held = Thresholds.evaluate(sets[1], same[1], LOWER_IS_SAME, cal.threshold());
        // 3000 different pairs: the held-out FAR is 0.01 +- a binomial spread of about 0.002.
        assertThat(held.far()).isCloseTo(0.01, within(0.008));
        assertThat(held.tar()).isCloseTo(cal.tar(), within(0.06));
    }

    @Test
    void bestAccuracyWithOneClassOnly() {
        OperatingPoint allSame = Thresholds.forBestAccuracy(new double[] {0.3, 0.1, 0.2}, new boolean[] {true, true,
                true}, LOWER_IS_SAME);
        assertThat(allSame.threshold()).isEqualTo(0.3);      // accept everything: the least alike score
        assertThat(allSame.accuracy()).isEqualTo(1.0);
        assertThat(allSame.tar()).isEqualTo(1.0);
        assertThat(allSame.far()).isNaN();
        OperatingPoint allDifferent = Thresholds.forBestAccuracy(new double[] {0.3, 0.1}, new boolean[] {false,
                false}, LOWER_IS_SAME);
        assertThat(allDifferent.threshold()).isEqualTo(Double.NEGATIVE_INFINITY);   // accept nothing
        assertThat(allDifferent.accuracy()).isEqualTo(1.0);
        assertThat(allDifferent.tar()).isNaN();
        assertThat(allDifferent.far()).isEqualTo(0.0);
        OperatingPoint similarities = Thresholds.forBestAccuracy(new double[] {0.3, 0.1}, new boolean[] {false,
                false}, HIGHER_IS_SAME);
        assertThat(similarities.threshold()).isEqualTo(Double.POSITIVE_INFINITY);
    }

    @Test
    void midpointNeverLandsOnTheNextScore() {
        double x = 0.5;
        double next = Math.nextUp(x);          // adjacent doubles: their midpoint rounds onto one of them
        OperatingPoint p = Thresholds.forBestAccuracy(new double[] {x, next}, new boolean[] {true, false},
                LOWER_IS_SAME);
        assertThat(p.accuracy()).isEqualTo(1.0);
        assertThat(Thresholds.accuracy(new double[] {x, next}, new boolean[] {true, false}, LOWER_IS_SAME,
                p.threshold())).isEqualTo(1.0);
        OperatingPoint q = Thresholds.forBestAccuracy(new double[] {next, x}, new boolean[] {true, false},
                HIGHER_IS_SAME);
        assertThat(Thresholds.accuracy(new double[] {next, x}, new boolean[] {true, false}, HIGHER_IS_SAME,
                q.threshold())).isEqualTo(1.0);
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> Thresholds.forBestAccuracy(new double[0], new boolean[0], LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no pairs");
        assertThatThrownBy(() -> Thresholds.evaluate(HAND_SCORES, HAND_SAME, LOWER_IS_SAME, Double.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threshold is NaN");
        assertThatThrownBy(() -> Thresholds.forFar(HAND_SCORES, HAND_SAME, LOWER_IS_SAME, 0.1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs at least 10 different");
        assertThatThrownBy(() -> Thresholds.forFar(HAND_SCORES, HAND_SAME, LOWER_IS_SAME, -1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("got -1.0");
        assertThatThrownBy(() -> Thresholds.forBestAccuracy(new double[] {1, Double.NaN}, new boolean[] {true,
                false}, LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("score 1 is NaN");
    }
}
