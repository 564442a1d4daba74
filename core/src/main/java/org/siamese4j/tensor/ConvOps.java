package org.siamese4j.tensor;

import org.siamese4j.kernels.ConvGeometry;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Kernels;

/**
 * 2-D convolution by im2col + GEMM.
 *
 * <p>Per image n, with K = C*kH*kW taps and P = outH*outW output pixels:
 * <pre>
 *   cols_n [K, P]  = im2col(x_n)                 (row (c, i, j) = what tap (i, j) of channel c sees at each pixel)
 *   out_n  [O, P]  = W [O, K] * cols_n [K, P]  + b[o]
 * </pre>
 * so the gradients are three more GEMMs and the adjoint of im2col:
 * <pre>
 *   dW   [O, K]   += G_n [O, P] * cols_n^T [P, K]
 *   dcols_n [K, P] = W^T [K, O] * G_n [O, P]        then  dx_n += col2im(dcols_n)
 *   db[o]         += sum over n and p of G_n[o, p]
 * </pre>
 */
final class ConvOps {
    private ConvOps() {
    }

    /**
     * x [N, C, H, W] cross-correlated with weight [O, C, kH, kW], plus bias [O] (may be null):
     * out [N, O, outH, outW], {@code outH = (H + 2*padH - dilationH*(kH-1) - 1) / strideH + 1} (likewise W).
     */
    static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW,
                         int dilationH, int dilationW, PaddingMode padding) {
        Shapes.requireRank("conv2d", x, 4, "input [N, C, H, W]");
        Shapes.requireRank("conv2d", weight, 4, "weight [O, C, kH, kW]");
        if (padding == null) {
            throw new IllegalArgumentException("conv2d: padding mode must not be null (use ZEROS or REFLECT)");
        }
        int n = x.shape[0];
        int channels = x.shape[1];
        int outChannels = weight.shape[0];
        if (weight.shape[1] != channels) {
            throw new IllegalArgumentException("conv2d: input " + Shapes.toString(x.shape) + " has " + channels
                    + " channels but weight " + Shapes.toString(weight.shape) + " expects " + weight.shape[1]);
        }
        if (bias != null && (bias.shape.length != 1 || bias.shape[0] != outChannels)) {
            throw new IllegalArgumentException("conv2d: bias must have shape [" + outChannels + "] (one value per "
                    + "output channel of weight " + Shapes.toString(weight.shape) + "), got "
                    + Shapes.toString(bias.shape));
        }
        ConvGeometry g = new ConvGeometry(channels, x.shape[2], x.shape[3], weight.shape[2], weight.shape[3],
                strideH, strideW, padH, padW, dilationH, dilationW, padding);
        int outH = g.outH();
        int outW = g.outW();
        int taps = g.patchSize();          // K
        int pixels = g.outPixels();        // P
        int imageSize = g.imageSize();     // C*H*W
        int outImageSize = outChannels * pixels;

        Kernels kernels = KernelProvider.kernels();
        Tensor out = Tensor.fresh(n, outChannels, outH, outW);
        float[] columns = new float[Shapes.size(new int[] {taps, pixels})];
        for (int i = 0; i < n; i++) {
            kernels.im2col(x.data, i * imageSize, g, columns);
            // out_n [O, P] = W [O, K] * cols_n [K, P]; W is read in place as [O, K].
            kernels.gemm(false, false, outChannels, pixels, taps, weight.data, 0, columns, 0,
                    out.data, i * outImageSize, false);
        }
        if (bias != null) {
            kernels.addBias(out.data, bias.data, n, outChannels, pixels);
        }

        // The columns are recomputed in backward rather than kept for every image: they take K*P floats per
        // image, kH*kW times the input (a 3x3 conv over a batch of 32 64-channel 56x56 maps would hold
        // ~230 MB), while im2col costs O(K*P), a factor O cheaper than the GEMMs that use the columns.
        // Backward therefore reads x.data and weight.data as they are then: do not modify them in place between
        // forward and backward.
        int columnsSize = columns.length;   // the closure keeps the size, not the forward buffer
        Tensor[] inputs = bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        return out.recordOp("conv2d", () -> {
            float[] gOut = out.grad;
            float[] cols = weight.requiresGrad ? new float[columnsSize] : null;
            float[] dCols = x.requiresGrad ? new float[columnsSize] : null;
            for (int i = 0; i < n; i++) {
                int gOff = i * outImageSize;
                if (weight.requiresGrad) {
                    // dW [O, K] += G_n [O, P] * cols_n^T [P, K]
                    kernels.im2col(x.data, i * imageSize, g, cols);
                    kernels.gemm(false, true, outChannels, taps, pixels, gOut, gOff, cols, 0,
                            weight.gradBuffer(), 0, true);
                }
                if (x.requiresGrad) {
                    // dcols_n [K, P] = W^T [K, O] * G_n [O, P]; W stored [O, K] is read transposed in place.
                    kernels.gemm(true, false, taps, pixels, outChannels, weight.data, 0, gOut, gOff, dCols, 0,
                            false);
                    // im2col copies each input value to every tap that sees it, so its adjoint sums them back.
                    kernels.col2imAccumulate(dCols, g, x.gradBuffer(), i * imageSize);
                }
            }
            if (bias != null && bias.requiresGrad) {
                // d/db[o] = sum over images and pixels of G[n, o, :, :]
                float[] dBias = bias.gradBuffer();
                for (int o = 0; o < outChannels; o++) {
                    double s = 0;
                    for (int i = 0; i < n; i++) {
                        s += kernels.sum(gOut, i * outImageSize + o * pixels, pixels);
                    }
                    dBias[o] += (float) s;
                }
            }
        }, inputs);
    }
}
