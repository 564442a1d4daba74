package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** A convolution with the evaluation-mode batch norm after it folded in computes what the pair computes. */
class BatchNormFoldingTest {

    /** A batch norm with statistics and affine parameters far from their starting values. */
    private static BatchNorm2d trainedBatchNorm(int channels, long seed) {
        BatchNorm2d bn = new BatchNorm2d(channels, 1e-3f, 0.1f);
        Rng rng = new Rng(seed);
        bn.weight().copyFrom(Tensor.uniform(rng, 0.5f, 2f, channels));
        bn.bias().copyFrom(Tensor.uniform(rng, -1f, 1f, channels));
        bn.runningMean().copyFrom(Tensor.uniform(rng, -0.5f, 0.5f, channels));
        bn.runningVar().copyFrom(Tensor.uniform(rng, 0.01f, 3f, channels));
        return bn;
    }

    private static void assertFoldedEqualsPair(Conv2d conv, BatchNorm2d bn, Tensor x) {
        bn.eval();
        float[] pair = bn.forward(conv.forward(x)).toArray();
        Conv2d folded = BatchNormFolding.fold(conv, bn);
        assertThat(folded.bias()).isNotNull();
        assertThat(folded.toString()).isEqualTo(conv.toString().replace(", bias=False", ""));
        float[] one = folded.forward(x).toArray();
        for (int i = 0; i < pair.length; i++) {
            // both are float32 sums of a few dozen products, scaled by s <= 20: a few roundings of |y| <= ~50, while
            // a wrong per-channel factor or shift is off by far more
            assertThat(Math.abs(one[i] - pair[i])).as("element %d: folded %s, conv then bn %s", i, one[i], pair[i])
                    .isLessThanOrEqualTo(2e-5f * Math.max(1f, Math.abs(pair[i])));
        }
    }

    @Test
    void foldedConvolutionWithBiasEqualsConvThenBatchNorm() {
        Conv2d conv = new Conv2d(3, 5, 3, 2, 1, new Rng(1));
        assertFoldedEqualsPair(conv, trainedBatchNorm(5, 2), Tensor.uniform(new Rng(3), -1f, 1f, 2, 3, 9, 8));
    }

    @Test
    void foldedDepthwiseConvolutionWithoutBiasEqualsConvThenBatchNorm() {
        // MobileFaceNet's pattern: a bias-free depthwise convolution (multiplier 2 here) followed by batch norm
        Conv2d conv = new Conv2d(4, 8, 3, 1, 1, 1, 4, PaddingMode.REFLECT, false, new Rng(4));
        assertFoldedEqualsPair(conv, trainedBatchNorm(8, 5), Tensor.uniform(new Rng(6), -1f, 1f, 2, 4, 7, 7));
    }

    @Test
    void foldingLeavesBothLayersUnchanged() {
        Conv2d conv = new Conv2d(2, 3, 3, 1, 1, new Rng(7));
        BatchNorm2d bn = trainedBatchNorm(3, 8);
        float[] w = conv.weight().toArray();
        float[] mean = bn.runningMean().toArray();
        Conv2d folded = BatchNormFolding.fold(conv, bn);
        assertThat(folded).isNotSameAs(conv);
        assertThat(conv.weight().toArray()).containsExactly(w);
        assertThat(bn.runningMean().toArray()).containsExactly(mean);
    }

    @Test
    void mismatchedChannelsAreRejected() {
        assertThatThrownBy(() -> BatchNormFolding.fold(new Conv2d(2, 3, 3, new Rng(1)), new BatchNorm2d(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4 channels")
                .hasMessageContaining("3 output channels").hasMessageContaining("Conv2d(2, 3");
    }
}
