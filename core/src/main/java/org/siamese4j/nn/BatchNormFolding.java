package org.siamese4j.nn;

import org.siamese4j.tensor.Rng;

/**
 * Folds an evaluation-mode batch norm into the convolution before it, for inference: one layer and one pass over
 * the activations fewer, the same outputs up to float rounding.
 *
 * <p>In evaluation mode batch norm is a fixed affine map per channel, {@code y = (z - mean) * s + beta} with
 * {@code s = gamma / sqrt(var + eps)}, and z = conv(x) + b is linear in the weights, so
 * <pre>
 *   W'[o] = W[o] * s[o]        b'[o] = (b[o] - mean[o]) * s[o] + beta[o]     (b = 0 for a convolution without bias)
 * </pre>
 * give one convolution whose output is the pair's. Computed in double and rounded once.
 */
public final class BatchNormFolding {
    private BatchNormFolding() {
    }

    /**
     * A new Conv2d, with bias, whose output equals {@code bn.forward(conv.forward(x))} with bn in evaluation mode
     * (its running statistics). The same settings (kernel, stride, padding, dilation, groups, padding mode) as
     * conv; neither argument is changed.
     */
    public static Conv2d fold(Conv2d conv, BatchNorm2d bn) {
        if (bn.numFeatures() != conv.outChannels()) {
            throw new IllegalArgumentException("BatchNormFolding.fold: " + bn + " normalises " + bn.numFeatures()
                    + " channels but " + conv + " has " + conv.outChannels() + " output channels");
        }
        // The random initial weights are all overwritten below.
        Conv2d folded = new Conv2d(conv.inChannels(), conv.outChannels(), conv.kernelSize(), conv.stride(),
                conv.padding(), conv.dilation(), conv.groups(), conv.paddingMode(), true, new Rng(0));
        float[] w = conv.weight().data();
        float[] b = conv.bias() == null ? null : conv.bias().data();
        float[] gamma = bn.weight().data();
        float[] beta = bn.bias().data();
        float[] mean = bn.runningMean().data();
        float[] var = bn.runningVar().data();
        float[] foldedW = folded.weight().data();
        float[] foldedB = folded.bias().data();
        int perChannel = w.length / conv.outChannels();
        for (int o = 0; o < conv.outChannels(); o++) {
            double scale = gamma[o] / Math.sqrt((double) var[o] + bn.eps());
            for (int i = o * perChannel; i < (o + 1) * perChannel; i++) {
                foldedW[i] = (float) (w[i] * scale);
            }
            foldedB[o] = (float) (((b == null ? 0.0 : b[o]) - mean[o]) * scale + beta[o]);
        }
        return folded;
    }
}
