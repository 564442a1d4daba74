package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;
import static org.siamese4j.tensor.GradAssert.inputAwayFromZero;

import org.junit.jupiter.api.Test;

class ActivationOpsTest {

    private static double sigmoid(double v) {
        return 1.0 / (1.0 + Math.exp(-v));
    }

    // ---------------------------------------------------------------------------------------- forward

    @Test
    void reluAndLeakyReluForward() {
        Tensor x = Tensor.of(-2f, -0.5f, 0f, 1.5f, 3f);
        assertThat(x.relu().toArray()).containsExactly(0f, 0f, 0f, 1.5f, 3f);
        assertThat(x.leakyRelu(0.1f).toArray()).containsExactly(-0.2f, -0.05f, 0f, 1.5f, 3f);
    }

    @Test
    void reluForwardOnOddLengthCoversVectorTail() {
        // 2*3*5 = 30 elements: one or more full SIMD vectors plus a tail, whatever the lane count
        Tensor x = input(7, 2, 3, 5);
        float[] y = x.relu().toArray();
        for (int i = 0; i < y.length; i++) {
            assertThat(y[i]).isEqualTo(Math.max(x.data()[i], 0f));
        }
    }

    @Test
    void smoothActivationsMatchMath() {
        float[] values = {-5f, -1.25f, -0.3f, 0f, 0.7f, 2f, 6f};
        Tensor x = Tensor.of(values);
        float[] sig = x.sigmoid().toArray();
        float[] th = x.tanh().toArray();
        float[] sp = x.softplus().toArray();
        for (int i = 0; i < values.length; i++) {
            double v = values[i];
            assertThat(sig[i]).isCloseTo((float) sigmoid(v), within(1e-7f));
            assertThat(th[i]).isCloseTo((float) Math.tanh(v), within(1e-7f));
            assertThat(sp[i]).isCloseTo((float) Math.log(1 + Math.exp(v)), within(1e-6f));
        }
        assertThat(sig[3]).isEqualTo(0.5f);
        assertThat(th[3]).isZero();
        assertThat(sp[3]).isCloseTo((float) Math.log(2), within(1e-7f));
    }

    // ---------------------------------------------------------------------------------------- gradients

    @Test
    void gradientsOfPiecewiseLinearActivations() {
        assertGradientsMatch(in -> in[0].relu(), inputAwayFromZero(1, 0.05f, 3, 5));
        assertGradientsMatch(in -> in[0].relu(), inputAwayFromZero(2, 0.05f, 2, 3, 5));
        assertGradientsMatch(in -> in[0].leakyRelu(0.1f), inputAwayFromZero(3, 0.05f, 3, 5));
        assertGradientsMatch(in -> in[0].leakyRelu(-0.3f), inputAwayFromZero(4, 0.05f, 3, 5));
    }

    @Test
    void gradientsOfSmoothActivations() {
        assertGradientsMatch(in -> in[0].sigmoid(), input(1, 3, 5));
        assertGradientsMatch(in -> in[0].tanh(), input(2, 3, 5));
        assertGradientsMatch(in -> in[0].softplus(), input(3, 2, 3, 5));
        // wider range, both branches of the stable formulas
        assertGradientsMatch(in -> in[0].mul(4f).sigmoid(), input(4, 3, 5));
        assertGradientsMatch(in -> in[0].mul(4f).softplus(), input(5, 3, 5));
    }

    @Test
    void gradientsWhenInputIsUsedTwice() {
        assertGradientsMatch(in -> in[0].sigmoid().mul(in[0].tanh()).add(in[0].relu()),
                inputAwayFromZero(1, 0.05f, 3, 5));
    }

    @Test
    void reluGradientIsZeroAtTheKink() {
        Tensor x = Tensor.of(-1f, 0f, 2f).requiresGrad(true);
        x.relu().sum().backward();
        assertThat(x.grad().toArray()).containsExactly(0f, 0f, 1f);
    }

    // ---------------------------------------------------------------------------------------- stability

    @Test
    void sigmoidIsFiniteAndCorrectForLargeInputs() {
        Tensor x = Tensor.of(-100f, 100f, -1000f, 1000f).requiresGrad(true);
        Tensor y = x.sigmoid();
        assertThat(y.get(0)).isCloseTo((float) Math.exp(-100), within(2e-45f)).isGreaterThan(0f);
        assertThat(y.get(1)).isEqualTo(1f);
        assertThat(y.get(2)).isZero();
        assertThat(y.get(3)).isEqualTo(1f);
        y.sum().backward();
        for (float g : x.grad().toArray()) {
            assertThat(Float.isFinite(g)).isTrue();
            assertThat(g).isBetween(0f, 1e-30f);
        }
    }

    @Test
    void softplusIsFiniteAndCorrectForLargeInputs() {
        Tensor x = Tensor.of(-100f, 100f, 1000f).requiresGrad(true);
        Tensor y = x.softplus();
        assertThat(y.get(0)).isCloseTo((float) Math.exp(-100), within(2e-45f)).isGreaterThan(0f);
        assertThat(y.get(1)).isEqualTo(100f);
        assertThat(y.get(2)).isEqualTo(1000f);
        y.sum().backward();
        // the derivative of softplus is sigmoid
        assertThat(x.grad().get(0)).isCloseTo((float) Math.exp(-100), within(2e-45f));
        assertThat(x.grad().get(1)).isEqualTo(1f);
        assertThat(x.grad().get(2)).isEqualTo(1f);
    }

    @Test
    void tanhSaturatesWithoutNaN() {
        Tensor x = Tensor.of(-100f, 100f).requiresGrad(true);
        Tensor y = x.tanh();
        assertThat(y.toArray()).containsExactly(-1f, 1f);
        y.sum().backward();
        assertThat(x.grad().toArray()).containsExactly(0f, 0f);
    }

    // ---------------------------------------------------------------------------------------- prelu

    @Test
    void preluUsesEachChannelsSlope() {
        // [2, 2, 3]: channel 0 has slope 0.25, channel 1 slope -2; positives and zero pass unchanged
        Tensor x = Tensor.of(new float[] {-4, 0, 3, -1, 2, -0.5f, 1, -8, 0, -2, -3, 5}, 2, 2, 3);
        Tensor y = Functional.prelu(x, Tensor.of(0.25f, -2f));
        assertThat(y.shape()).containsExactly(2, 2, 3);
        assertThat(y.toArray()).containsExactly(-1, 0, 3, 2, 2, 1, 1, -2, 0, 4, 6, 5);
        // one slope [1] for every element, whatever the rank
        assertThat(Functional.prelu(Tensor.of(-4f, 2f), Tensor.of(0.5f)).toArray()).containsExactly(-2f, 2f);
        assertThat(Functional.prelu(x, Tensor.of(0.5f)).get(1, 1, 1)).isEqualTo(-1.5f);
    }

    @Test
    void preluGradientsForInputAndSlopes() {
        // [N, C, H, W] with a slope per channel, and with one shared slope; inputs away from the kink at 0
        assertGradientsMatch(in -> Functional.prelu(in[0], in[1]), inputAwayFromZero(20, 0.05f, 2, 3, 4, 5),
                input(21, 3));
        assertGradientsMatch(in -> Functional.prelu(in[0], in[1]), inputAwayFromZero(22, 0.05f, 3, 2, 5),
                input(23, 1));
        // [N, C]: the slope gradient of channel c sums x * g over its non-positive elements only
        Tensor x = Tensor.of(new float[][] {{-2, 3}, {-1, -4}}).requiresGrad(true);
        Tensor slope = Tensor.of(0.5f, 0.25f).requiresGrad(true);
        Functional.prelu(x, slope).sum().backward();
        assertThat(slope.grad().toArray()).containsExactly(-3f, -4f);
        assertThat(x.grad().toArray()).containsExactly(0.5f, 1f, 0.5f, 0.25f);
    }

    @Test
    void preluRejectsASlopeThatFitsNoChannelCount() {
        assertThatThrownBy(() -> Functional.prelu(Tensor.zeros(2, 3, 4, 4), Tensor.zeros(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("prelu")
                .hasMessageContaining("[4]").hasMessageContaining("[2, 3, 4, 4]");
        assertThatThrownBy(() -> Functional.prelu(Tensor.zeros(3), Tensor.zeros(3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3]");
        assertThatThrownBy(() -> Functional.prelu(Tensor.zeros(2, 3), Tensor.zeros(1, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 3]");
    }

    // ---------------------------------------------------------------------------------------- errors

    @Test
    void leakyReluRejectsNonFiniteSlope() {
        assertThatThrownBy(() -> Tensor.of(1f).leakyRelu(Float.NaN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("leakyRelu").hasMessageContaining("NaN");
        assertThatThrownBy(() -> Tensor.of(1f).leakyRelu(Float.POSITIVE_INFINITY))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Infinity");
    }
}
