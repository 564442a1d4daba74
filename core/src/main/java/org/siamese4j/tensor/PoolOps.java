package org.siamese4j.tensor;

import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Kernels;
import org.siamese4j.kernels.PoolGeometry;

/**
 * 2-D max and average pooling over x [N, C, H, W], each of the N*C planes on its own, and global average pooling.
 * Output [N, C, outH, outW] with {@code outH = (H + 2*padH - kH) / strideH + 1} (likewise W).
 */
final class PoolOps {
    private PoolOps() {
    }

    /**
     * out = max over each window; padding counts as -infinity, so it never wins.
     * d out / d x = 1 at the window's (first) maximum, 0 elsewhere; overlapping windows add up.
     */
    static Tensor maxPool2d(Tensor x, int kH, int kW, int strideH, int strideW, int padH, int padW) {
        PoolGeometry g = geometry("maxPool2d", x, kH, kW, strideH, strideW, padH, padW);
        Kernels kernels = KernelProvider.kernels();
        Tensor out = Tensor.fresh(x.shape[0], x.shape[1], g.outH(), g.outW());
        int[] argmax = new int[out.data.length];
        kernels.maxPool2d(x.data, g, out.data, argmax);
        // Backward needs only where each maximum came from, not the values.
        return out.recordOp("max_pool2d",
                () -> kernels.maxPool2dBackwardAccumulate(out.grad, argmax, x.gradBuffer()), x);
    }

    /**
     * out = mean over each window of kH*kW positions, padding counted as zeros (PyTorch's
     * {@code count_include_pad=True}). d out / d x = 1/(kH*kW) for every real position of the window.
     */
    static Tensor avgPool2d(Tensor x, int kH, int kW, int strideH, int strideW, int padH, int padW) {
        PoolGeometry g = geometry("avgPool2d", x, kH, kW, strideH, strideW, padH, padW);
        Kernels kernels = KernelProvider.kernels();
        Tensor out = Tensor.fresh(x.shape[0], x.shape[1], g.outH(), g.outW());
        kernels.avgPool2d(x.data, g, out.data);
        return out.recordOp("avg_pool2d",
                () -> kernels.avgPool2dBackwardAccumulate(out.grad, g, x.gradBuffer()), x);
    }

    /**
     * out[n, c, 0, 0] = the mean of plane (n, c) of x [N, C, H, W] (PyTorch's {@code AdaptiveAvgPool2d(1)}), each
     * plane summed in double. d out / d x = 1/(H*W) for every element of the plane.
     */
    static Tensor globalAvgPool2d(Tensor x) {
        Shapes.requireRank("globalAvgPool2d", x, 4, "input [N, C, H, W]");
        int area = x.shape[2] * x.shape[3];
        if (area == 0) {
            throw new IllegalArgumentException("globalAvgPool2d: input " + Shapes.toString(x.shape)
                    + " has empty planes, which have no mean");
        }
        Kernels kernels = KernelProvider.kernels();
        Tensor out = Tensor.fresh(x.shape[0], x.shape[1], 1, 1);
        for (int p = 0; p < out.data.length; p++) {
            out.data[p] = (float) (kernels.sum(x.data, p * area, area) / area);
        }
        return out.recordOp("global_avg_pool2d", () -> {
            float[] dx = x.gradBuffer();
            for (int p = 0, i = 0; p < out.data.length; p++) {
                float g = out.grad[p] / area;
                for (int end = i + area; i < end; i++) {
                    dx[i] += g;
                }
            }
        }, x);
    }

    private static PoolGeometry geometry(String op, Tensor x, int kH, int kW, int strideH, int strideW, int padH,
                                         int padW) {
        Shapes.requireRank(op, x, 4, "input [N, C, H, W]");
        // N*C fits an int whenever H, W > 0 (it is at most the element count); PoolGeometry rejects H or W = 0.
        int planes = x.shape[2] > 0 && x.shape[3] > 0 ? x.shape[0] * x.shape[1] : 0;
        return new PoolGeometry(planes, x.shape[2], x.shape[3], kH, kW, strideH, strideW, padH, padW);
    }
}
