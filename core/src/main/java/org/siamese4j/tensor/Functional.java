package org.siamese4j.tensor;

import org.siamese4j.kernels.ConvGeometry.PaddingMode;

/**
 * The layer maths as plain functions (PyTorch's {@code torch.nn.functional}): the {@code nn} modules hold
 * parameters and call these. Shapes follow PyTorch: images are [N, C, H, W], conv weights [out, in, kH, kW],
 * linear weights [out, in].
 */
public final class Functional {
    private Functional() {
    }

    /** x [N, in] times weight [out, in] transposed, plus bias [out] (may be null): [N, out]. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        Tensor y = x.matmul(weight, false, true);
        return bias == null ? y : y.add(bias);
    }

    /**
     * 2-D convolution (cross-correlation, as in every deep-learning library) of x [N, C, H, W] with
     * weight [O, C, kH, kW], plus bias [O] (may be null). Output [N, O, outH, outW].
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW,
                                int dilationH, int dilationW, PaddingMode padding) {
        return ConvOps.conv2d(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, padding);
    }

    /**
     * Grouped convolution, as PyTorch's {@code groups}: the C input and O output channels are cut into
     * {@code groups} equal runs (both must divide), output run k sees input run k only, and the weight is
     * [O, C/groups, kH, kW]. groups = 1 is the convolution above; groups = C is a depthwise convolution (each output
     * channel filters one input channel; O = C times a channel multiplier), which has kernels of its own.
     */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW,
                                int dilationH, int dilationW, PaddingMode paddingMode, int groups) {
        return ConvOps.conv2d(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, paddingMode,
                groups);
    }

    /** Square stride and zero padding, no dilation. */
    public static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int stride, int pad) {
        return conv2d(x, weight, bias, stride, stride, pad, pad, 1, 1, PaddingMode.ZEROS);
    }

    /**
     * {@code maxPool2d(relu(conv2d(x, ...)), 2)} as one op, with exactly the same values and gradients but
     * without the full-size convolution output, its ReLU and their gradients (see {@code Sequential}, which uses
     * it for every conv, ReLU, 2x2 max pool run of layers).
     */
    public static Tensor conv2dReluMaxPool2(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH,
                                            int padW, int dilationH, int dilationW, PaddingMode padding) {
        return conv2dReluMaxPool2(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, padding, 1);
    }

    /** As above, for a grouped convolution (see the grouped {@code conv2d}). */
    public static Tensor conv2dReluMaxPool2(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH,
                                            int padW, int dilationH, int dilationW, PaddingMode padding,
                                            int groups) {
        return ConvOps.conv2dReluMaxPool2(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW,
                padding, groups);
    }

    /** Max over kH x kW windows of x [N, C, H, W]; padding counts as -infinity. */
    public static Tensor maxPool2d(Tensor x, int kH, int kW, int strideH, int strideW, int padH, int padW) {
        return PoolOps.maxPool2d(x, kH, kW, strideH, strideW, padH, padW);
    }

    /** k x k windows with stride k, no padding. */
    public static Tensor maxPool2d(Tensor x, int k) {
        return maxPool2d(x, k, k, k, k, 0, 0);
    }

    /**
     * The mean of each plane of x [N, C, H, W], as [N, C, 1, 1]: global average pooling (PyTorch's
     * {@code AdaptiveAvgPool2d(1)}).
     */
    public static Tensor globalAvgPool2d(Tensor x) {
        return PoolOps.globalAvgPool2d(x);
    }

    /** Mean over kH x kW windows of x [N, C, H, W]; padding counts as zeros in the mean. */
    public static Tensor avgPool2d(Tensor x, int kH, int kW, int strideH, int strideW, int padH, int padW) {
        return PoolOps.avgPool2d(x, kH, kW, strideH, strideW, padH, padW);
    }

    public static Tensor avgPool2d(Tensor x, int k) {
        return avgPool2d(x, k, k, k, k, 0, 0);
    }

    /**
     * Parametric ReLU (PyTorch's {@code F.prelu}): x where x &gt; 0, else slope[c] * x, with c the element's
     * channel (dimension 1). slope is [C], or [1] for one slope shared by every element; both are learnt.
     */
    public static Tensor prelu(Tensor x, Tensor slope) {
        return ActivationOps.prelu(x, slope);
    }

    /**
     * Batch normalisation over dimension 1 (channels) of x [N, C], [N, C, L] or [N, C, H, W]:
     * {@code y = (x - mean) / sqrt(var + eps) * weight + bias}. In training, mean and (biased) variance come
     * from the batch and the running statistics move by {@code momentum} towards the batch's (unbiased
     * variance, as PyTorch); in evaluation the running statistics are used. weight and bias may be null.
     */
    public static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                                   boolean training, float momentum, float eps) {
        return NormOps.batchNorm(x, runningMean, runningVar, weight, bias, training, momentum, eps);
    }

    /**
     * Inverted dropout: in training each element is zeroed with probability p and the survivors scaled by
     * 1/(1-p), so evaluation (identity) needs no rescaling.
     */
    public static Tensor dropout(Tensor x, float p, boolean training, Rng rng) {
        return NormOps.dropout(x, p, training, rng);
    }

    /**
     * The L2 norm along {@code dim} (ONNX's {@code ReduceL2} over one axis, PyTorch's {@code x.norm(dim=dim)}),
     * summed in double as {@link #l2Normalize} does.
     */
    public static Tensor l2Norm(Tensor x, int dim, boolean keepDim) {
        return NormOps.l2Norm(x, dim, keepDim);
    }

    /** x / max(||x||_2, eps) along {@code dim} (PyTorch's {@code F.normalize}). */
    public static Tensor l2Normalize(Tensor x, int dim, float eps) {
        return NormOps.l2Normalize(x, dim, eps);
    }

    /** Mean negative log-likelihood of the target classes under softmax(logits); logits [N, C], targets in [0, C). */
    public static Tensor crossEntropy(Tensor logits, int[] targets) {
        return SoftmaxOps.crossEntropy(logits, targets);
    }

    /**
     * Mean binary cross-entropy of the targets under P = sigmoid(logits), computed from the logits without
     * forming P (PyTorch's {@code F.binary_cross_entropy_with_logits}): stable for any finite logit. logits and
     * targets have the same shape; targets are in [0, 1] (1 = yes). Apply {@code sigmoid} yourself only to
     * report probabilities, never before this loss.
     */
    public static Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor targets) {
        return BinaryCrossEntropyOps.binaryCrossEntropyWithLogits(logits, targets);
    }
}
