package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;
import static org.siamese4j.tensor.GradAssert.inputAwayFromZero;

import org.junit.jupiter.api.Test;

class UnaryOpsTest {

    /** A leaf with values uniform in [low, high) that needs a gradient. */
    private static Tensor between(long seed, float low, float high, int... shape) {
        return Tensor.uniform(new Rng(seed), low, high, shape).requiresGrad(true);
    }

    /** d(sum(f(x)))/dx for one input value: the gradient an op hands back for an upstream gradient of 1. */
    private static float gradAt(float value, java.util.function.Function<Tensor, Tensor> f) {
        Tensor x = Tensor.of(value).requiresGrad(true);
        f.apply(x).sum().backward();
        return x.grad().item();
    }

    // ---------------------------------------------------------------------------------------- forward

    @Test
    void forwardValues() {
        Tensor x = Tensor.of(-2f, -0.5f, 0f, 1f, 3f);
        assertThat(x.neg().toArray()).containsExactly(2f, 0.5f, -0f, -1f, -3f);
        assertThat(x.abs().toArray()).containsExactly(2f, 0.5f, 0f, 1f, 3f);
        assertThat(x.square().toArray()).containsExactly(4f, 0.25f, 0f, 1f, 9f);
        assertThat(x.pow(3f).toArray()).containsExactly(-8f, -0.125f, 0f, 1f, 27f);
        assertThat(x.clamp(-1f, 1f).toArray()).containsExactly(-1f, -0.5f, 0f, 1f, 1f);
        assertThat(x.maximum(0f).toArray()).containsExactly(0f, 0f, 0f, 1f, 3f);
        assertThat(x.minimum(0f).toArray()).containsExactly(-2f, -0.5f, 0f, 0f, 0f);
        float[] e = x.exp().toArray();
        for (int i = 0; i < e.length; i++) {
            assertThat(e[i]).isCloseTo((float) Math.exp(x.data()[i]), within(1e-6f * e[i]));
        }
    }

    @Test
    void logSqrtAndFractionalPowForward() {
        Tensor x = Tensor.of(0.25f, 1f, 4f, 10f);
        assertThat(x.sqrt().toArray()).containsExactly(0.5f, 1f, 2f, (float) Math.sqrt(10));
        assertThat(x.pow(0.5f).toArray()).containsExactly(0.5f, 1f, 2f, (float) Math.sqrt(10));
        assertThat(x.pow(-1f).toArray()).containsExactly(4f, 1f, 0.25f, 0.1f);
        float[] l = x.log().toArray();
        assertThat(l[0]).isCloseTo((float) Math.log(0.25), within(1e-6f));
        assertThat(l[1]).isZero();
        assertThat(l[2]).isCloseTo((float) Math.log(4), within(1e-6f));
        assertThat(l[3]).isCloseTo((float) Math.log(10), within(1e-6f));
    }

    @Test
    void outputKeepsShapeAndRecordsOpName() {
        Tensor x = input(1, 2, 3, 5);
        assertThat(x.exp().shape()).containsExactly(2, 3, 5);
        assertThat(x.exp().opName()).isEqualTo("exp");
        assertThat(x.clamp(-1, 1).opName()).isEqualTo("clamp");
        try (GradMode.Scope ignored = Tensor.noGrad()) {
            Tensor y = x.exp();
            assertThat(y.requiresGrad()).isFalse();
            assertThat(y.isLeaf()).isTrue();
        }
    }

    // ---------------------------------------------------------------------------------------- gradients

    @Test
    void gradientsOfSmoothOps() {
        assertGradientsMatch(in -> in[0].neg(), input(1, 3, 5));
        assertGradientsMatch(in -> in[0].exp(), input(2, 3, 5));
        assertGradientsMatch(in -> in[0].log(), between(3, 0.5f, 2f, 3, 5));
        assertGradientsMatch(in -> in[0].sqrt(), between(4, 0.5f, 2f, 2, 3, 5));
        assertGradientsMatch(in -> in[0].square(), input(5, 3, 5));
    }

    @Test
    void gradientsOfPow() {
        // integer exponents on negative and positive bases
        assertGradientsMatch(in -> in[0].pow(3f), input(1, 3, 5));
        assertGradientsMatch(in -> in[0].pow(1f), input(2, 3, 5));
        assertGradientsMatch(in -> in[0].pow(0f), input(3, 3, 5));
        assertGradientsMatch(in -> in[0].pow(-2f), between(4, 0.5f, 2f, 3, 5));
        // fractional exponents on positive bases
        assertGradientsMatch(in -> in[0].pow(0.5f), between(5, 0.5f, 2f, 3, 5));
        assertGradientsMatch(in -> in[0].pow(1.5f), between(6, 0.5f, 2f, 3, 5));
        assertGradientsMatch(in -> in[0].pow(-0.5f), between(7, 0.5f, 2f, 2, 3, 5));
    }

    @Test
    void gradientsOfAbsAndClamp() {
        assertGradientsMatch(in -> in[0].abs(), inputAwayFromZero(1, 0.05f, 3, 5));
        // values kept 0.05 or more away from the bounds +-0.5 so the step never crosses a kink
        Tensor x = inputAwayFromZero(2, 0.05f, 3, 5);
        float[] d = x.data();
        for (int i = 0; i < d.length; i++) {
            if (Math.abs(Math.abs(d[i]) - 0.5f) < 0.05f) {
                d[i] = Math.copySign(0.6f, d[i]);
            }
        }
        assertGradientsMatch(in -> in[0].clamp(-0.5f, 0.5f), x);
        assertGradientsMatch(in -> in[0].maximum(0.5f), x);
        assertGradientsMatch(in -> in[0].minimum(-0.5f), x);
    }

    @Test
    void gradientsOfChainUsingInputTwice() {
        assertGradientsMatch(in -> in[0].exp().mul(in[0].square()).add(in[0].abs().add(1f).log()),
                inputAwayFromZero(1, 0.05f, 3, 5));
    }

    @Test
    void clampPassesGradientAtTheBoundsLikePyTorch() {
        assertThat(gradAt(1f, x -> x.clamp(-1f, 1f))).isEqualTo(1f);
        assertThat(gradAt(-1f, x -> x.clamp(-1f, 1f))).isEqualTo(1f);
        assertThat(gradAt(1.5f, x -> x.clamp(-1f, 1f))).isZero();
        assertThat(gradAt(-1.5f, x -> x.clamp(-1f, 1f))).isZero();
        assertThat(gradAt(0f, x -> x.maximum(0f))).isEqualTo(1f);
    }

    @Test
    void absGradientIsSignAndZeroAtZero() {
        assertThat(gradAt(-3f, Tensor::abs)).isEqualTo(-1f);
        assertThat(gradAt(2f, Tensor::abs)).isEqualTo(1f);
        assertThat(gradAt(0f, Tensor::abs)).isZero();
    }

    // ---------------------------------------------------------------------------------------- edges

    @Test
    void logOfZeroAndNegativesIsFiniteWithFiniteGradient() {
        Tensor x = Tensor.of(0f, -0f, -1f, Float.MIN_VALUE).requiresGrad(true);
        Tensor y = x.log();
        float logMinNormal = (float) Math.log(Float.MIN_NORMAL);
        assertThat(y.toArray()).containsOnly(logMinNormal);
        y.sum().backward();
        // below the floor the clamped function is flat: gradient 0, not 1/MIN_NORMAL
        assertThat(x.grad().toArray()).containsOnly(0f);
    }

    @Test
    void logKeepsNaN() {
        Tensor x = Tensor.of(Float.NaN, 1f).requiresGrad(true);
        Tensor y = x.log();
        assertThat(y.get(0)).isNaN();
        assertThat(y.get(1)).isZero();
        y.sum().backward();
        assertThat(x.grad().get(0)).isNaN();
        assertThat(x.grad().get(1)).isEqualTo(1f);
    }

    @Test
    void sqrtOfZeroHasZeroGradientAndNegativesClampToZero() {
        Tensor x = Tensor.of(0f, -4f, 4f).requiresGrad(true);
        Tensor y = x.sqrt();
        assertThat(y.toArray()).containsExactly(0f, 0f, 2f);
        y.sum().backward();
        assertThat(x.grad().toArray()).containsExactly(0f, 0f, 0.25f);
    }

    @Test
    void distanceBetweenIdenticalVectorsHasFiniteGradient() {
        Tensor a = Tensor.of(1f, 2f, 3f).requiresGrad(true);
        Tensor b = Tensor.of(1f, 2f, 3f).requiresGrad(true);
        a.sub(b).square().sum().sqrt().backward();
        assertThat(a.grad().toArray()).containsOnly(0f);
        assertThat(b.grad().toArray()).containsOnly(0f);
    }

    @Test
    void powGradientAtZeroIsZeroForExponentsBelowOne() {
        assertThat(gradAt(0f, x -> x.pow(0.5f))).isZero();
        assertThat(gradAt(0f, x -> x.pow(0f))).isZero();
        assertThat(gradAt(0f, x -> x.pow(-1f))).isZero();
        assertThat(gradAt(0f, x -> x.pow(1f))).isEqualTo(1f);
        assertThat(gradAt(0f, x -> x.pow(2.5f))).isZero();
        assertThat(gradAt(-2f, x -> x.pow(3f))).isEqualTo(12f);
    }

    @Test
    void fractionalPowerOfNegativeFailsNamingExponentAndValue() {
        assertThatThrownBy(() -> Tensor.of(1f, 4f, -0.25f, -3f).pow(0.5f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("pow").hasMessageContaining("0.5")
                .hasMessageContaining("element 2").hasMessageContaining("-0.25");
        assertThatThrownBy(() -> Tensor.of(1f).pow(Float.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
    }

    @Test
    void clampRejectsBadBounds() {
        assertThatThrownBy(() -> Tensor.of(1f).clamp(2f, -3f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("clamp").hasMessageContaining("2.0").hasMessageContaining("-3.0");
        assertThatThrownBy(() -> Tensor.of(1f).clamp(Float.NaN, 1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        assertThatThrownBy(() -> Tensor.of(1f).maximum(Float.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        assertThat(Tensor.of(1f, 5f).clamp(2f, 2f).toArray()).containsExactly(2f, 2f);
    }
}
