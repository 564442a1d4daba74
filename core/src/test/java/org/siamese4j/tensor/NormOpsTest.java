package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.apache.commons.math3.stat.descriptive.moment.Mean;
import org.apache.commons.math3.stat.descriptive.moment.Variance;
import org.junit.jupiter.api.Test;

class NormOpsTest {

    private static final float EPS = 1e-5f;
    private static final float MOMENTUM = 0.1f;

    /** The values of channel c of x [N, C, ...], as doubles for commons-math. */
    private static double[] channel(Tensor x, int c) {
        int n = x.dim(0);
        int channels = x.dim(1);
        int spatial = x.size() / (n * channels);
        double[] values = new double[n * spatial];
        for (int b = 0; b < n; b++) {
            for (int s = 0; s < spatial; s++) {
                values[b * spatial + s] = x.data()[(b * channels + c) * spatial + s];
            }
        }
        return values;
    }

    /** Checks y against (x - mean) / sqrt(var + eps) * w + b with the batch statistics from commons-math. */
    private static void assertNormalisedWithBatchStats(Tensor x, Tensor y, float[] w, float[] b) {
        assertThat(y.shape()).containsExactly(x.shape());
        for (int c = 0; c < x.dim(1); c++) {
            double[] values = channel(x, c);
            double mean = new Mean().evaluate(values);
            double biasedVar = new Variance(false).evaluate(values);
            double[] out = channel(y, c);
            for (int i = 0; i < values.length; i++) {
                double expected = (values[i] - mean) / Math.sqrt(biasedVar + EPS) * w[c] + b[c];
                assertThat(out[i]).as("channel %d element %d", c, i).isCloseTo(expected, within(1e-5));
            }
        }
    }

    // ---------------------------------------------------------------------------- batch norm forward

    @Test
    void batchNormTrainingMatchesBatchStatistics() {
        Tensor x = Tensor.of(new float[][] {{1, 10, -2}, {3, 20, 0}, {2, 60, 5}, {6, 30, 1}});
        Tensor y = Functional.batchNorm(x, Tensor.zeros(3), Tensor.ones(3), null, null, true, MOMENTUM, EPS);
        assertNormalisedWithBatchStats(x, y, new float[] {1, 1, 1}, new float[] {0, 0, 0});
        // hand check of channel 0: mean 3, biased variance (4 + 0 + 1 + 9) / 4 = 3.5
        assertThat((double) y.get(0, 0)).isCloseTo(-2 / Math.sqrt(3.5 + EPS), within(1e-6));
    }

    @Test
    void batchNormUsesEveryPositionOfTheChannelAndTheAffineParameters() {
        float[] w = {0.5f, -2f, 1.5f};
        float[] b = {1f, 0f, -3f};
        Tensor x3 = Tensor.normal(new Rng(1), 2f, 3f, 2, 3, 5);
        Tensor y3 = Functional.batchNorm(x3, null, null, Tensor.of(w), Tensor.of(b), true, MOMENTUM, EPS);
        assertNormalisedWithBatchStats(x3, y3, w, b);
        Tensor x4 = Tensor.normal(new Rng(2), -1f, 2f, 2, 3, 3, 5);
        Tensor y4 = Functional.batchNorm(x4, null, null, Tensor.of(w), Tensor.of(b), true, MOMENTUM, EPS);
        assertNormalisedWithBatchStats(x4, y4, w, b);
    }

    @Test
    void runningStatisticsAfterTwoTrainingCalls() {
        Tensor x1 = Tensor.normal(new Rng(3), 1f, 2f, 4, 3, 5);
        Tensor x2 = Tensor.normal(new Rng(4), -2f, 0.5f, 4, 3, 5);
        Tensor runningMean = Tensor.zeros(3);
        Tensor runningVar = Tensor.ones(3);
        Functional.batchNorm(x1, runningMean, runningVar, null, null, true, MOMENTUM, EPS);
        Functional.batchNorm(x2, runningMean, runningVar, null, null, true, MOMENTUM, EPS);
        for (int c = 0; c < 3; c++) {
            double m1 = new Mean().evaluate(channel(x1, c));
            double m2 = new Mean().evaluate(channel(x2, c));
            double v1 = new Variance(true).evaluate(channel(x1, c));   // unbiased, as PyTorch
            double v2 = new Variance(true).evaluate(channel(x2, c));
            double expectedMean = 0.9 * (0.9 * 0 + 0.1 * m1) + 0.1 * m2;
            double expectedVar = 0.9 * (0.9 * 1 + 0.1 * v1) + 0.1 * v2;
            assertThat((double) runningMean.get(c)).isCloseTo(expectedMean, within(1e-5));
            assertThat((double) runningVar.get(c)).isCloseTo(expectedVar, within(1e-5));
        }
    }

    @Test
    void evaluationUsesTheRunningStatisticsAndLeavesThemAlone() {
        Tensor x = Tensor.of(new float[][] {{1, 2}, {3, 4}, {5, 6}});
        Tensor runningMean = Tensor.of(2f, -1f);
        Tensor runningVar = Tensor.of(4f, 0.25f);
        Tensor w = Tensor.of(3f, 1f);
        Tensor b = Tensor.of(0f, 10f);
        Tensor y = Functional.batchNorm(x, runningMean, runningVar, w, b, false, MOMENTUM, 1e-6f);
        // channel 0: (x - 2) / 2 * 3;  channel 1: (x + 1) / 0.5 + 10
        float[] expected = {-1.5f, 16f, 1.5f, 20f, 4.5f, 24f};
        float[] actual = y.toArray();
        for (int i = 0; i < expected.length; i++) {
            assertThat(actual[i]).isCloseTo(expected[i], within(1e-4f));
        }
        assertThat(runningMean.toArray()).containsExactly(2f, -1f);
        assertThat(runningVar.toArray()).containsExactly(4f, 0.25f);
        // a single sample is fine in evaluation
        assertThat(Functional.batchNorm(Tensor.of(new float[][] {{2, -1}}), runningMean, runningVar, null, null,
                false, MOMENTUM, EPS).toArray()).containsExactly(0f, 0f);
    }

    // ---------------------------------------------------------------------------- batch norm gradients

    private static Tensor trainBn(Tensor x, Tensor w, Tensor b) {
        int c = x.dim(1);
        return Functional.batchNorm(x, Tensor.zeros(c), Tensor.ones(c), w, b, true, MOMENTUM, EPS);
    }

    @Test
    void batchNormTrainingGradientsRankTwo() {
        assertGradientsMatch(in -> trainBn(in[0], in[1], in[2]), input(1, 3, 2), input(2, 2), input(3, 2));
        assertGradientsMatch(in -> trainBn(in[0], null, null), input(4, 5, 3));
    }

    @Test
    void batchNormTrainingGradientsRankThree() {
        assertGradientsMatch(in -> trainBn(in[0], in[1], in[2]), input(5, 3, 2, 5), input(6, 2), input(7, 2));
    }

    @Test
    void batchNormTrainingGradientsRankFour() {
        assertGradientsMatch(in -> trainBn(in[0], in[1], in[2]), input(8, 2, 3, 3, 5), input(9, 3), input(10, 3));
        // only the affine parameters need a gradient
        Tensor x = Tensor.uniform(new Rng(11), -1f, 1f, 2, 3, 3, 5);
        assertGradientsMatch(in -> trainBn(x, in[0], in[1]), input(12, 3), input(13, 3));
    }

    @Test
    void batchNormEvaluationGradients() {
        Tensor runningMean = Tensor.of(0.2f, -0.3f, 0.1f);
        Tensor runningVar = Tensor.of(0.5f, 1.5f, 2f);
        assertGradientsMatch(
                in -> Functional.batchNorm(in[0], runningMean, runningVar, in[1], in[2], false, MOMENTUM, EPS),
                input(14, 3, 3, 5), input(15, 3), input(16, 3));
        assertGradientsMatch(
                in -> Functional.batchNorm(in[0], runningMean, runningVar, null, null, false, MOMENTUM, EPS),
                input(17, 2, 3, 3, 5));
    }

    @Test
    void batchNormErrors() {
        assertThatThrownBy(() -> trainBn(Tensor.ones(1, 3), null, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than 1 value per channel").hasMessageContaining("[1, 3]");
        assertThatThrownBy(() -> Functional.batchNorm(Tensor.ones(4, 3), Tensor.zeros(4), Tensor.ones(3),
                null, null, true, MOMENTUM, EPS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("runningMean").hasMessageContaining("[4]").hasMessageContaining("[3]");
        assertThatThrownBy(() -> trainBn(Tensor.ones(4, 3), Tensor.ones(3, 1), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("weight").hasMessageContaining("[3, 1]").hasMessageContaining("[3]");
        assertThatThrownBy(() -> trainBn(Tensor.ones(4, 3), null, Tensor.ones(2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bias").hasMessageContaining("[2]").hasMessageContaining("[3]");
        assertThatThrownBy(() -> Functional.batchNorm(Tensor.ones(6), null, null, null, null, true, MOMENTUM, EPS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[6]");
        assertThatThrownBy(() -> Functional.batchNorm(Tensor.ones(4, 3), null, null, null, null, false, MOMENTUM,
                EPS)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("evaluation");
        assertThatThrownBy(() -> trainBnWithEps(0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eps");
    }

    private static Tensor trainBnWithEps(float eps) {
        return Functional.batchNorm(Tensor.ones(4, 3), null, null, null, null, true, MOMENTUM, eps);
    }

    @Test
    void constantChannelNormalisesToZeroWithoutNaN() {
        Tensor x = Tensor.full(7f, 4, 2).requiresGrad(true);
        Tensor y = trainBn(x, null, null);
        assertThat(y.toArray()).containsOnly(0f);
        y.sum().backward();
        for (float g : x.grad().toArray()) {
            assertThat(Float.isFinite(g)).isTrue();
        }
    }

    // ---------------------------------------------------------------------------- dropout

    @Test
    void dropoutZeroesAboutPAndScalesSurvivors() {
        float p = 0.3f;
        Tensor x = Tensor.uniform(new Rng(1), 1f, 2f, 200, 501);
        Tensor y = Functional.dropout(x, p, true, new Rng(42));
        int zeros = 0;
        for (int i = 0; i < x.size(); i++) {
            if (y.data()[i] == 0f) {
                zeros++;
            } else {
                assertThat(y.data()[i]).isCloseTo(x.data()[i] / (1f - p), within(1e-6f));
            }
        }
        // 100 200 Bernoulli(0.3) draws: standard deviation of the fraction ~0.0014
        assertThat(zeros / (double) x.size()).isCloseTo(p, within(0.01));
    }

    @Test
    void dropoutIsIdentityInEvaluationAndForZeroP() {
        Tensor x = input(1, 3, 5);
        assertThat(Functional.dropout(x, 0.5f, false, new Rng(1))).isSameAs(x);
        assertThat(Functional.dropout(x, 0f, true, new Rng(1))).isSameAs(x);
        assertThat(Functional.dropout(x, 0.5f, false, null)).isSameAs(x);
    }

    @Test
    void sameSeedSameMask() {
        Tensor x = Tensor.ones(7, 13);
        Tensor a = Functional.dropout(x, 0.5f, true, new Rng(5));
        Tensor b = Functional.dropout(x, 0.5f, true, new Rng(5));
        Tensor c = Functional.dropout(x, 0.5f, true, new Rng(6));
        assertThat(a.toArray()).containsExactly(b.toArray());
        assertThat(a.toArray()).isNotEqualTo(c.toArray());
    }

    @Test
    void dropoutGradientUsesTheSameMask() {
        assertGradientsMatch(in -> Functional.dropout(in[0], 0.4f, true, new Rng(7)), input(1, 3, 5));
        Tensor x = Tensor.ones(3, 5).requiresGrad(true);
        Tensor y = Functional.dropout(x, 0.4f, true, new Rng(8));
        y.sum().backward();
        // for x = 1 the output is exactly mask / (1 - p), which is also the gradient
        assertThat(x.grad().toArray()).containsExactly(y.toArray());
    }

    @Test
    void dropoutWithPOneZeroesEverything() {
        Tensor x = input(1, 3, 5);
        Tensor y = Functional.dropout(x, 1f, true, new Rng(1));
        assertThat(y.toArray()).containsOnly(0f);
        y.sum().backward();
        assertThat(x.grad().toArray()).containsOnly(0f);
    }

    @Test
    void dropoutRejectsBadP() {
        for (float p : new float[] {-0.1f, 1.5f, Float.NaN}) {
            assertThatThrownBy(() -> Functional.dropout(Tensor.ones(3), p, true, new Rng(1)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("dropout").hasMessageContaining(String.valueOf(p));
        }
        assertThatThrownBy(() -> Functional.dropout(Tensor.ones(3), 0.5f, true, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Rng");
    }

    // ---------------------------------------------------------------------------- l2 normalisation

    @Test
    void l2NormalizeForward() {
        Tensor x = Tensor.of(new float[][] {{3, 4}, {0, -2}, {0, 0}});
        assertThat(Functional.l2Normalize(x, 1, 1e-12f).toArray()).containsExactly(0.6f, 0.8f, 0f, -1f, 0f, 0f);
        // along dim 0: column norms 3 and sqrt(20)
        float[] cols = Functional.l2Normalize(x, 0, 1e-12f).toArray();
        float r = (float) Math.sqrt(20);
        float[] expected = {1f, 4f / r, 0f, -2f / r, 0f, 0f};
        for (int i = 0; i < expected.length; i++) {
            assertThat(cols[i]).isCloseTo(expected[i], within(1e-6f));
        }
        // a norm below eps is replaced by eps
        assertThat(Functional.l2Normalize(Tensor.of(0.3f, 0.4f), 0, 2f).toArray()).containsExactly(0.15f, 0.2f);
    }

    @Test
    void l2NormalizeGradientsAlongEachDimension() {
        assertGradientsMatch(in -> Functional.l2Normalize(in[0], 0, 1e-12f), input(1, 3, 5));
        assertGradientsMatch(in -> Functional.l2Normalize(in[0], 1, 1e-12f), input(2, 3, 5));
        assertGradientsMatch(in -> Functional.l2Normalize(in[0], -1, 1e-12f), input(3, 2, 3, 5));
        assertGradientsMatch(in -> Functional.l2Normalize(in[0], 1, 1e-12f), input(4, 2, 3, 5));
    }

    @Test
    void l2NormalizeGradientWhereTheNormIsClamped() {
        // row 0 has norm <= 0.1 even after the 1e-2 step, so it is divided by eps = 0.5; row 1 is not clamped
        Tensor x = Tensor.of(new float[] {0.05f, -0.04f, 0.03f, 0.9f, -0.6f, 0.7f}, 2, 3).requiresGrad(true);
        assertGradientsMatch(in -> Functional.l2Normalize(in[0], 1, 0.5f), x);
        Tensor y = Functional.l2Normalize(x, 1, 0.5f);
        assertThat(y.get(0, 0)).isCloseTo(0.1f, within(1e-6f));
        y.backward(Tensor.ones(2, 3));
        assertThat(x.grad().get(0, 1)).isCloseTo(2f, within(1e-6f));    // g / eps
    }

    @Test
    void l2NormIsTheDenominatorOfL2NormalizeAndItsGradientsMatch() {
        Tensor x = Tensor.of(new float[] {3f, 4f, 0f, 0f, 0.1f, -0.2f}, 3, 2);
        assertThat(Functional.l2Norm(x, 1, false).toArray()).containsExactly(5f, 0f,
                (float) Math.sqrt((double) 0.1f * 0.1f + (double) -0.2f * -0.2f));
        assertThat(Functional.l2Norm(x, 0, true).shape()).containsExactly(1, 2);
        // x / max(norm, eps) divided here gives l2Normalize's bits
        Tensor r = input(5, 4, 7);
        assertThat(r.div(Functional.l2Norm(r, 1, true).clamp(1e-12f, Float.POSITIVE_INFINITY)).toArray())
                .containsExactly(Functional.l2Normalize(r, 1, 1e-12f).toArray());
        assertGradientsMatch(in -> Functional.l2Norm(in[0], 1, true), input(6, 3, 5));
        assertGradientsMatch(in -> Functional.l2Norm(in[0], 0, false), input(7, 3, 5));
        assertGradientsMatch(in -> Functional.l2Norm(in[0], -1, false), input(8, 2, 3, 4));
        // the zero row gets no gradient (not NaN)
        Tensor z = Tensor.of(new float[] {0f, 0f, 1f, 2f}, 2, 2).requiresGrad(true);
        Functional.l2Norm(z, 1, false).sum().backward();
        assertThat(z.grad().toArray()).containsExactly(0f, 0f, (float) (1 / Math.sqrt(5)), (float) (2 / Math.sqrt(5)));
    }

    @Test
    void l2NormalizeErrors() {
        assertThatThrownBy(() -> Functional.l2Normalize(Tensor.ones(2, 3), 2, 1e-12f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("l2Normalize").hasMessageContaining("dimension 2");
        assertThatThrownBy(() -> Functional.l2Normalize(Tensor.ones(2, 3), 1, 0f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("eps");
    }
}
