package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.siamese4j.nn.Init.FanMode;
import org.siamese4j.nn.Init.Nonlinearity;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Statistical checks of the initialisers.
 *
 * <p>Tolerances come from the sampling distribution of the estimates. For n independent draws the sample
 * mean has standard deviation sigma / sqrt(n), and the sample variance s^2 has relative standard deviation
 * sqrt((mu4 / sigma^4 - 1) / n): sqrt(2 / n) for a normal (mu4 = 3 sigma^4) and sqrt(0.8 / n) for a uniform
 * (mu4 = 9/5 sigma^4). Each test allows 5 of those standard deviations, so a correct initialiser fails with
 * probability below 1e-6, while a wrong formula (a missing factor 2 or 3, fan-in and fan-out swapped) is off
 * by far more than the 1-4 % allowed on these sizes. The seeds are fixed, so the tests are deterministic anyway.
 */
class InitTest {
    private static final double NORMAL_KURTOSIS = 3.0;
    private static final double UNIFORM_KURTOSIS = 1.8;

    private static double mean(float[] d) {
        double s = 0;
        for (float v : d) {
            s += v;
        }
        return s / d.length;
    }

    private static double variance(float[] d) {
        double m = mean(d);
        double s = 0;
        for (float v : d) {
            s += (v - m) * (v - m);
        }
        return s / (d.length - 1);
    }

    private static double maxAbs(float[] d) {
        double m = 0;
        for (float v : d) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** Mean near 0 and variance near {@code expected}, within 5 standard deviations of each estimate. */
    private static void assertMoments(Tensor t, double expectedVariance, double kurtosis) {
        float[] d = t.data();
        int n = d.length;
        assertThat(mean(d)).as("mean").isCloseTo(0.0, within(5 * Math.sqrt(expectedVariance / n)));
        double relTol = 5 * Math.sqrt((kurtosis - 1) / n);
        assertThat(variance(d)).as("variance").isCloseTo(expectedVariance, within(relTol * expectedVariance));
    }

    @Test
    void fansFollowPyTorch() {
        assertThat(Init.fanInAndFanOut(Tensor.zeros(30, 20))).containsExactly(20, 30);
        // conv weight [out, in, kH, kW]: the receptive field multiplies both fans.
        assertThat(Init.fanInAndFanOut(Tensor.zeros(8, 3, 5, 7))).containsExactly(3 * 35, 8 * 35);
        assertThat(Init.fanIn(Tensor.zeros(8, 3, 5, 7))).isEqualTo(105);
        assertThatThrownBy(() -> Init.fanInAndFanOut(Tensor.zeros(5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[5]");
    }

    @Test
    void gainsFollowPyTorch() {
        assertThat(Init.calculateGain(Nonlinearity.LINEAR)).isEqualTo(1.0);
        assertThat(Init.calculateGain(Nonlinearity.SIGMOID)).isEqualTo(1.0);
        assertThat(Init.calculateGain(Nonlinearity.TANH)).isEqualTo(5.0 / 3.0);
        assertThat(Init.calculateGain(Nonlinearity.RELU)).isEqualTo(Math.sqrt(2.0));
        assertThat(Init.calculateGain(Nonlinearity.LEAKY_RELU)).isCloseTo(Math.sqrt(2.0 / 1.0001), within(1e-15));
        assertThat(Init.calculateGain(Nonlinearity.LEAKY_RELU, 0.2)).isCloseTo(Math.sqrt(2.0 / 1.04), within(1e-15));
        // kaiming_uniform's a = sqrt(5) in the layer defaults gives gain sqrt(1/3).
        assertThat(Init.calculateGain(Nonlinearity.LEAKY_RELU, Math.sqrt(5))).isCloseTo(Math.sqrt(1.0 / 3), within(1e-15));
    }

    @Test
    void xavierUniformHasGlorotVarianceAndBound() {
        Tensor w = Tensor.zeros(256, 512);
        assertThat(Init.xavierUniform(w, 1.0, new Rng(1))).isSameAs(w);
        double variance = 2.0 / (256 + 512);
        assertThat(maxAbs(w.data())).isLessThanOrEqualTo(Math.sqrt(6.0 / (256 + 512)))
                .isGreaterThan(0.99 * Math.sqrt(6.0 / (256 + 512)));
        assertMoments(w, variance, UNIFORM_KURTOSIS);
    }

    @Test
    void xavierNormalScalesWithGain() {
        Tensor w = Tensor.zeros(64, 32, 3, 3);
        Init.xavierNormal(w, 5.0 / 3.0, new Rng(2));
        double fanIn = 32 * 9;
        double fanOut = 64 * 9;
        assertMoments(w, (25.0 / 9.0) * 2.0 / (fanIn + fanOut), NORMAL_KURTOSIS);
    }

    @Test
    void kaimingNormalReluHasHeVariance() {
        Tensor w = Tensor.zeros(128, 64, 3, 3);
        Init.kaimingNormal(w, 0, FanMode.FAN_IN, Nonlinearity.RELU, new Rng(3));
        assertMoments(w, 2.0 / (64 * 9), NORMAL_KURTOSIS);
    }

    @Test
    void kaimingNormalFanOutUsesOutputs() {
        Tensor w = Tensor.zeros(96, 384);
        Init.kaimingNormal(w, 0, FanMode.FAN_OUT, Nonlinearity.RELU, new Rng(4));
        assertMoments(w, 2.0 / 96, NORMAL_KURTOSIS);
    }

    @Test
    void kaimingUniformLeakyReluHasBoundAndVariance() {
        Tensor w = Tensor.zeros(300, 400);
        Init.kaimingUniform(w, 0.2, FanMode.FAN_IN, Nonlinearity.LEAKY_RELU, new Rng(5));
        double std = Math.sqrt(2.0 / 1.04) / Math.sqrt(400);
        assertThat(maxAbs(w.data())).isLessThanOrEqualTo(Math.sqrt(3) * std).isGreaterThan(0.99 * Math.sqrt(3) * std);
        assertMoments(w, std * std, UNIFORM_KURTOSIS);
    }

    @Test
    void kaimingLinearIgnoresSlope() {
        Tensor w = Tensor.zeros(200, 500);
        Init.kaimingUniform(w, 7.0, FanMode.FAN_IN, Nonlinearity.LINEAR, new Rng(6));
        assertThat(maxAbs(w.data())).isLessThanOrEqualTo(Math.sqrt(3.0 / 500));
        assertMoments(w, 1.0 / 500, UNIFORM_KURTOSIS);
    }

    @Test
    void linearDefaultInitIsUniformOneOverSqrtFanIn() {
        Linear lin = new Linear(400, 300, new Rng(7));
        double bound = 1 / Math.sqrt(400);
        assertThat(maxAbs(lin.weight().data())).isLessThanOrEqualTo(bound).isGreaterThan(0.99 * bound);
        assertMoments(lin.weight(), bound * bound / 3, UNIFORM_KURTOSIS);
        assertThat(maxAbs(lin.bias().data())).isLessThanOrEqualTo(bound);
        // 300 bias values spread over the range, not all zero.
        assertThat(maxAbs(lin.bias().data())).isGreaterThan(0.9 * bound);
    }

    @Test
    void conv2dDefaultInitUsesInTimesKernelArea() {
        Conv2d conv = new Conv2d(16, 256, 3, new Rng(8));
        double bound = 1 / Math.sqrt(16 * 9);
        assertThat(maxAbs(conv.weight().data())).isLessThanOrEqualTo(bound).isGreaterThan(0.99 * bound);
        assertMoments(conv.weight(), bound * bound / 3, UNIFORM_KURTOSIS);
        assertThat(maxAbs(conv.bias().data())).isLessThanOrEqualTo(bound).isGreaterThan(0.9 * bound);
    }

    @Test
    void sameSeedSameWeights() {
        assertThat(new Linear(5, 3, new Rng(9)).weight().toArray())
                .containsExactly(new Linear(5, 3, new Rng(9)).weight().toArray());
        assertThat(new Linear(5, 3, new Rng(9)).weight().toArray())
                .isNotEqualTo(new Linear(5, 3, new Rng(10)).weight().toArray());
    }

    @Test
    void plainInitialisersAndTheirErrors() {
        Tensor t = Tensor.zeros(1000);
        Init.uniform(t, 2, 3, new Rng(1));
        for (float v : t.data()) {
            assertThat(v).isBetween(2f, 3f);
        }
        Init.constant(t, 0.5f);
        assertThat(t.toArray()).containsOnly(0.5f);
        assertThat(Init.zeros(Tensor.ones(3)).toArray()).containsOnly(0f);
        assertThat(Init.ones(Tensor.zeros(3)).toArray()).containsOnly(1f);
        assertThatThrownBy(() -> Init.uniform(t, 3, 2, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3.0").hasMessageContaining("2.0");
        assertThatThrownBy(() -> Init.normal(t, 0, -1, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1.0");
    }
}
