package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.junit.jupiter.api.Test;

class BinaryCrossEntropyOpsTest {

    /** ln(1 + e^z) in double, written differently from the op (no max/abs split): the reference. */
    private static double softplus(double z) {
        return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }

    /** -(y ln sigmoid(x) + (1 - y) ln sigmoid(-x)) = y softplus(-x) + (1 - y) softplus(x), in double. */
    private static double reference(double x, double y) {
        return y * softplus(-x) + (1 - y) * softplus(x);
    }

    private static double sigmoid(double x) {
        return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
    }

    private static Tensor bce(float logit, float target) {
        return Functional.binaryCrossEntropyWithLogits(Tensor.of(logit), Tensor.of(target));
    }

    // ---------------------------------------------------------------------------------------- forward

    @Test
    void matchesTheTextbookFormulaOnProbabilities() {
        Tensor x = input(1, 3, 5).mul(4f);
        float[] targets = new float[15];
        Rng rng = new Rng(2);
        for (int i = 0; i < targets.length; i++) {
            targets[i] = i % 3 == 0 ? 0f : i % 3 == 1 ? 1f : rng.nextFloat();
        }
        Tensor y = Tensor.of(targets, 3, 5);
        double expected = 0;
        for (int i = 0; i < 15; i++) {
            double p = sigmoid(x.data()[i]);
            expected -= targets[i] * Math.log(p) + (1 - targets[i]) * Math.log(1 - p);
        }
        expected /= 15;
        Tensor loss = Functional.binaryCrossEntropyWithLogits(x, y);
        assertThat(loss.shape()).isEmpty();
        assertThat(loss.item()).isCloseTo((float) expected, within(1e-6f));
    }

    @Test
    void meanIsOverAllElementsWhateverTheShape() {
        Tensor x = Tensor.of(new float[] {0f, 2f, -1f, 3f, 0.5f, -2f}, 2, 3);
        Tensor y = Tensor.of(new float[] {1f, 0f, 0f, 1f, 1f, 0f}, 2, 3);
        double expected = 0;
        for (int i = 0; i < 6; i++) {
            expected += reference(x.data()[i], y.data()[i]);
        }
        assertThat(Functional.binaryCrossEntropyWithLogits(x, y).item()).isCloseTo((float) (expected / 6),
                within(1e-6f));
        assertThat(Functional.binaryCrossEntropyWithLogits(x.reshape(6), y.reshape(6)).item())
                .isEqualTo(Functional.binaryCrossEntropyWithLogits(x, y).item());
    }

    // ---------------------------------------------------------------------------------------- gradients

    @Test
    void gradientOfLogitsMatchesFiniteDifferences() {
        Tensor targets = Tensor.of(new float[] {1f, 0f, 0.3f, 1f, 0f, 0.9f, 0f, 1f, 0.5f, 0f, 1f, 0f, 0.1f, 1f, 0f},
                3, 5);
        assertGradientsMatch(in -> Functional.binaryCrossEntropyWithLogits(in[0], targets), input(10, 3, 5));
        // confident logits, some of them wrong
        assertGradientsMatch(in -> Functional.binaryCrossEntropyWithLogits(in[0].mul(4f), targets), input(11, 3, 5));
        // an odd 1-D shape
        Tensor t7 = Tensor.of(0f, 1f, 1f, 0f, 0.75f, 1f, 0f);
        assertGradientsMatch(in -> Functional.binaryCrossEntropyWithLogits(in[0], t7), input(12, 7));
    }

    @Test
    void gradientOfSoftTargetsMatchesFiniteDifferences() {
        // targets stay inside [0, 1] under the +-eps step of the check
        Tensor targets = Tensor.uniform(new Rng(20), 0.2f, 0.8f, 2, 3).requiresGrad(true);
        assertGradientsMatch(in -> Functional.binaryCrossEntropyWithLogits(in[0], in[1]), input(21, 2, 3), targets);
    }

    @Test
    void gradientIsSigmoidMinusTargetOverN() {
        Tensor x = Tensor.of(0f, (float) Math.log(3), -2f, 5f).requiresGrad(true);
        Tensor y = Tensor.of(1f, 0f, 0.5f, 1f).requiresGrad(true);
        Functional.binaryCrossEntropyWithLogits(x, y).backward();
        float[] gx = x.grad().toArray();
        float[] gy = y.grad().toArray();
        // sigmoid(ln 3) = 3/4
        assertThat(gx[0]).isCloseTo((0.5f - 1f) / 4, within(1e-7f));
        assertThat(gx[1]).isCloseTo(0.75f / 4, within(1e-7f));
        assertThat(gx[2]).isCloseTo((float) ((sigmoid(-2) - 0.5) / 4), within(1e-7f));
        assertThat(gx[3]).isCloseTo((float) ((sigmoid(5) - 1) / 4), within(1e-8f));
        assertThat(gy).usingComparatorWithPrecision(1e-7f)
                .containsExactly(0f, (float) -Math.log(3) / 4, 2f / 4, -5f / 4);
    }

    @Test
    void targetsThatNeedNoGradientGetNone() {
        Tensor x = input(30, 4);
        Tensor y = Tensor.of(1f, 0f, 1f, 0f);
        Functional.binaryCrossEntropyWithLogits(x, y).backward();
        assertThat(x.grad()).isNotNull();
        assertThat(y.grad()).isNull();
    }

    // ---------------------------------------------------------------------------------------- stability

    @Test
    void lossIsFiniteAndCorrectlyRoundedAtExtremeLogits() {
        float[] logits = {0f, 88f, -88f, 1e4f, -1e4f, 1e30f, -1e30f, 3e38f, -3e38f, 17f, -17f, 40f, -104f};
        float[] targets = {0f, 1f, 0.25f};
        for (float x : logits) {
            for (float y : targets) {
                float loss = bce(x, y).item();
                assertThat(loss).as("x=%s y=%s", x, y).isFinite().isGreaterThanOrEqualTo(0f)
                        .isEqualTo((float) reference(x, y));
            }
        }
        // the values themselves, for the record: a confident right answer costs ~0, a confident wrong one |x|
        assertThat(bce(1e30f, 1f).item()).isZero();
        assertThat(bce(1e30f, 0f).item()).isEqualTo(1e30f);
        assertThat(bce(-1e4f, 1f).item()).isEqualTo(1e4f);
        assertThat(bce(0f, 0.25f).item()).isEqualTo((float) Math.log(2));
        assertThat(bce(-88f, 0f).item()).as("e^-88 survives as a subnormal float").isPositive();
    }

    @Test
    void gradientIsFiniteAndExactAtExtremeLogits() {
        float[] logits = {0f, 88f, -88f, 1e4f, -1e4f, 1e30f, -1e30f, 3e38f, -3e38f, -104f};
        float[] targets = {0f, 1f, 0.25f};
        for (float x : logits) {
            for (float y : targets) {
                Tensor xt = Tensor.of(x).requiresGrad(true);
                Functional.binaryCrossEntropyWithLogits(xt, Tensor.of(y)).backward();
                float g = xt.grad().item();
                assertThat(g).as("x=%s y=%s", x, y).isFinite().isEqualTo((float) (sigmoid(x) - y));
            }
        }
        Tensor big = Tensor.of(1e30f, -1e30f).requiresGrad(true);
        Functional.binaryCrossEntropyWithLogits(big, Tensor.of(0f, 0f)).backward();
        assertThat(big.grad().toArray()).containsExactly(0.5f, 0f);
    }

    @Test
    void theNaiveCompositionSaturatesWhereThisDoesNot() {
        // sigmoid(100) rounds to exactly 1 in float32, so 1 - p is 0: ln(1 - p) is clamped by log to about -87.3,
        // the loss is wrong, and its gradient is 0 (no learning signal at all on a confidently wrong pair)
        Tensor x = Tensor.of(100f).requiresGrad(true);
        Tensor naive = x.sigmoid().neg().add(1f).log().neg();
        assertThat(naive.item()).isLessThan(88f);
        naive.backward();
        assertThat(x.grad().item()).isZero();
        Tensor fused = Tensor.of(100f).requiresGrad(true);
        Tensor loss = Functional.binaryCrossEntropyWithLogits(fused, Tensor.of(0f));
        assertThat(loss.item()).isEqualTo(100f);
        loss.backward();
        assertThat(fused.grad().item()).isEqualTo(1f);
    }

    @Test
    void nanLogitPropagates() {
        assertThat(Functional.binaryCrossEntropyWithLogits(Tensor.of(Float.NaN, 1f), Tensor.of(0f, 1f)).item())
                .isNaN();
    }

    // ---------------------------------------------------------------------------------------- errors

    @Test
    void shapesMustMatchAndTheMessageNamesBoth() {
        assertThatThrownBy(() -> Functional.binaryCrossEntropyWithLogits(Tensor.zeros(3, 1), Tensor.zeros(3)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("binaryCrossEntropyWithLogits").hasMessageContaining("targets [3]")
                .hasMessageContaining("logits [3, 1]");
        assertThatThrownBy(() -> Functional.binaryCrossEntropyWithLogits(Tensor.zeros(0), Tensor.zeros(0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no elements");
    }

    @Test
    void targetsOutsideZeroOneAreRefusedWithTheirIndex() {
        Tensor x = Tensor.zeros(2, 2);
        assertThatThrownBy(() -> Functional.binaryCrossEntropyWithLogits(x,
                Tensor.of(new float[] {0f, 1f, 1.5f, 0f}, 2, 2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("targets[2] = 1.5").hasMessageContaining("[0, 1]");
        assertThatThrownBy(() -> Functional.binaryCrossEntropyWithLogits(Tensor.zeros(2), Tensor.of(-0.1f, 0f)))
                .hasMessageContaining("targets[0] = -0.1");
        assertThatThrownBy(() -> Functional.binaryCrossEntropyWithLogits(Tensor.zeros(2), Tensor.of(0f, Float.NaN)))
                .hasMessageContaining("targets[1] = NaN");
    }

    @Test
    void infiniteLogitsAreRefused() {
        assertThatThrownBy(() -> Functional.binaryCrossEntropyWithLogits(
                Tensor.of(0f, Float.POSITIVE_INFINITY), Tensor.of(0f, 1f)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("logits[1] = Infinity").hasMessageContaining("infinite");
    }
}
