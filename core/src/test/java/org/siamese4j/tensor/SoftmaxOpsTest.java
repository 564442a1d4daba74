package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.junit.jupiter.api.Test;

class SoftmaxOpsTest {

    // ---------------------------------------------------------------------------------------- forward

    @Test
    void softmaxOfRowMatchesHandComputation() {
        Tensor y = Tensor.of(new float[][] {{1f, 2f, 3f}, {0f, 0f, 0f}}).softmax(1);
        double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
        assertThat(y.get(0, 0)).isCloseTo((float) (Math.exp(1) / z), within(1e-7f));
        assertThat(y.get(0, 1)).isCloseTo((float) (Math.exp(2) / z), within(1e-7f));
        assertThat(y.get(0, 2)).isCloseTo((float) (Math.exp(3) / z), within(1e-7f));
        assertThat(y.get(1, 0)).isCloseTo(1f / 3, within(1e-7f));
        assertThat(y.shape()).containsExactly(2, 3);
    }

    @Test
    void logSoftmaxIsLogOfSoftmax() {
        Tensor x = input(3, 2, 3, 5);
        for (int dim : new int[] {0, 1, 2, -1}) {
            float[] s = x.softmax(dim).toArray();
            float[] ls = x.logSoftmax(dim).toArray();
            for (int i = 0; i < s.length; i++) {
                assertThat(ls[i]).isCloseTo((float) Math.log(s[i]), within(1e-6f));
            }
        }
    }

    @Test
    void softmaxSumsToOneAlongEveryDimension() {
        Tensor x = input(5, 2, 3, 5).mul(3f);
        for (int dim : new int[] {0, 1, 2, -1, -3}) {
            Tensor sums = x.softmax(dim).sum(dim, false);
            for (float v : sums.toArray()) {
                assertThat(v).isCloseTo(1f, within(1e-6f));
            }
        }
    }

    @Test
    void softmaxAlongDimZeroNormalisesColumns() {
        // [[0, ln 3], [0, 0]] along dim 0: column 0 is (1/2, 1/2), column 1 is (3/4, 1/4)
        Tensor x = Tensor.of(new float[][] {{0f, (float) Math.log(3)}, {0f, 0f}});
        assertThat(x.softmax(0).toArray()).usingComparatorWithPrecision(1e-6f)
                .containsExactly(0.5f, 0.75f, 0.5f, 0.25f);
    }

    @Test
    void crossEntropyMatchesHandComputation() {
        Tensor logits = Tensor.of(new float[][] {{2f, 1f, 0.1f}, {0.5f, 2.5f, -1f}});
        int[] targets = {0, 2};
        double row0 = Math.log(Math.exp(2) + Math.exp(1) + Math.exp(0.1)) - 2;
        double row1 = Math.log(Math.exp(0.5) + Math.exp(2.5) + Math.exp(-1)) + 1;
        Tensor loss = Functional.crossEntropy(logits, targets);
        assertThat(loss.shape()).isEmpty();
        assertThat(loss.item()).isCloseTo((float) ((row0 + row1) / 2), within(1e-6f));
    }

    @Test
    void crossEntropyEqualsMeanNegativeLogSoftmaxAtTargets() {
        Tensor logits = input(9, 5, 7);
        int[] targets = {6, 0, 3, 3, 1};
        Tensor ls = logits.logSoftmax(1);
        double expected = 0;
        for (int r = 0; r < targets.length; r++) {
            expected -= ls.get(r, targets[r]);
        }
        expected /= targets.length;
        assertThat(Functional.crossEntropy(logits, targets).item()).isCloseTo((float) expected, within(1e-6f));
    }

    // ---------------------------------------------------------------------------------------- gradients

    @Test
    void softmaxGradientsAlongEveryDimensionOf3dTensor() {
        for (int dim : new int[] {0, 1, 2, -1}) {
            assertGradientsMatch(in -> in[0].softmax(dim), input(10 + dim, 2, 3, 5));
        }
        assertGradientsMatch(in -> in[0].softmax(1), input(20, 3, 5));
    }

    @Test
    void logSoftmaxGradientsAlongEveryDimensionOf3dTensor() {
        for (int dim : new int[] {0, 1, 2, -1}) {
            assertGradientsMatch(in -> in[0].logSoftmax(dim), input(30 + dim, 2, 3, 5));
        }
        assertGradientsMatch(in -> in[0].logSoftmax(-1), input(40, 3, 5));
    }

    @Test
    void crossEntropyGradient() {
        int[] targets = {4, 0, 2};
        assertGradientsMatch(in -> Functional.crossEntropy(in[0], targets), input(50, 3, 5));
        // scaled-up logits: confident, partly wrong predictions
        assertGradientsMatch(in -> Functional.crossEntropy(in[0].mul(3f), targets), input(51, 3, 5));
    }

    @Test
    void crossEntropyGradientIsSoftmaxMinusOneHotOverN() {
        Tensor logits = Tensor.of(new float[][] {{0f, 0f}, {0f, (float) Math.log(3)}}).requiresGrad(true);
        Functional.crossEntropy(logits, new int[] {0, 1}).backward();
        // softmax rows (1/2, 1/2) and (1/4, 3/4), minus one-hot, over N = 2
        assertThat(logits.grad().toArray()).usingComparatorWithPrecision(1e-6f)
                .containsExactly(-0.25f, 0.25f, 0.125f, -0.125f);
    }

    // ---------------------------------------------------------------------------------------- stability

    @Test
    void largeLogitsStayFinite() {
        Tensor x = Tensor.of(1000f, 0f).requiresGrad(true);
        Tensor ls = x.logSoftmax(0);
        assertThat(ls.toArray()).containsExactly(0f, -1000f);
        assertThat(x.softmax(0).toArray()).containsExactly(1f, 0f);
        ls.sum().backward();
        // g - softmax * sum(g) with g = (1, 1): (1 - 2, 1 - 0)
        assertThat(x.grad().toArray()).containsExactly(-1f, 1f);

        Tensor logits = Tensor.of(new float[][] {{1000f, 0f, -1000f}, {-500f, 500f, 0f}}).requiresGrad(true);
        Tensor loss = Functional.crossEntropy(logits, new int[] {1, 1});
        assertThat(loss.item()).isCloseTo(500f, within(1e-3f));
        loss.backward();
        assertThat(logits.grad().toArray()).usingComparatorWithPrecision(1e-6f)
                .containsExactly(0.5f, -0.5f, 0f, 0f, 0f, 0f);
    }

    @Test
    void negativeInfinityEntriesAreMaskedOut() {
        Tensor y = Tensor.of(Float.NEGATIVE_INFINITY, 0f, 0f).softmax(0);
        assertThat(y.toArray()).containsExactly(0f, 0.5f, 0.5f);
    }

    // ---------------------------------------------------------------------------------------- errors

    @Test
    void undefinedSlicesFailWithTheirPosition() {
        Tensor x = Tensor.zeros(2, 3, 4);
        x.set(Float.POSITIVE_INFINITY, 1, 2, 3);
        assertThatThrownBy(() -> x.softmax(1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("softmax").hasMessageContaining("x[1, :, 3]")
                .hasMessageContaining("+Infinity");
        Tensor masked = Tensor.full(Float.NEGATIVE_INFINITY, 2, 3);
        assertThatThrownBy(() -> masked.logSoftmax(-1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("logSoftmax").hasMessageContaining("x[0, :]")
                .hasMessageContaining("-Infinity");
    }

    @Test
    void nanInputPropagatesInsteadOfFailing() {
        Tensor y = Tensor.of(Float.NaN, 1f).softmax(0);
        assertThat(y.get(0)).isNaN();
        assertThat(y.get(1)).isNaN();
    }

    @Test
    void badDimensionNamesOpAndRange() {
        assertThatThrownBy(() -> Tensor.zeros(2, 3).softmax(2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("softmax").hasMessageContaining("dimension 2");
        assertThatThrownBy(() -> Tensor.zeros(2, 3).logSoftmax(-3))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("logSoftmax").hasMessageContaining("-3");
    }

    @Test
    void crossEntropyValidatesItsArguments() {
        assertThatThrownBy(() -> Functional.crossEntropy(Tensor.zeros(2, 3, 4), new int[] {0, 0}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("crossEntropy").hasMessageContaining("[2, 3, 4]");
        assertThatThrownBy(() -> Functional.crossEntropy(Tensor.zeros(4, 3), new int[] {0, 1, 2}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("3 targets").hasMessageContaining("[4, 3]");
        assertThatThrownBy(() -> Functional.crossEntropy(Tensor.zeros(3, 3), new int[] {0, 3, 1}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("targets[1] = 3").hasMessageContaining("[0, 3)");
        assertThatThrownBy(() -> Functional.crossEntropy(Tensor.zeros(2, 3), new int[] {0, -1}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("targets[1] = -1");
        assertThatThrownBy(() -> Functional.crossEntropy(Tensor.zeros(0, 3), new int[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
    }

    @Test
    void crossEntropyKeepsItsOwnCopyOfTargets() {
        Tensor logits = input(60, 3, 5);
        int[] targets = {1, 2, 3};
        Tensor loss = Functional.crossEntropy(logits, targets);
        targets[0] = 4;
        loss.backward();
        Tensor expected = input(60, 3, 5);
        Functional.crossEntropy(expected, new int[] {1, 2, 3}).backward();
        assertThat(logits.grad().toArray()).containsExactly(expected.grad().toArray());
    }
}
