package org.siamese4j.kernels;

/**
 * A 2-D pooling window over {@code planes} independent H x W planes (batch times channels).
 * Output size: {@code (in + 2*pad - k) / stride + 1}. Max pooling treats padding as -infinity; average pooling
 * divides by the full window including padding (PyTorch's {@code count_include_pad=True}).
 */
public record PoolGeometry(int planes, int inH, int inW, int kH, int kW, int strideH, int strideW, int padH,
                           int padW) {

    public PoolGeometry {
        if (planes <= 0 || inH <= 0 || inW <= 0) {
            throw new IllegalArgumentException("pool2d: input " + planes + " planes of " + inH + "x" + inW
                    + " must be non-empty");
        }
        if (kH <= 0 || kW <= 0 || strideH <= 0 || strideW <= 0) {
            throw new IllegalArgumentException("pool2d: kernel " + kH + "x" + kW + " and stride " + strideH + "x"
                    + strideW + " must be positive");
        }
        if (padH < 0 || padW < 0 || 2 * padH > kH || 2 * padW > kW) {
            throw new IllegalArgumentException("pool2d: padding (" + padH + ", " + padW
                    + ") must be >= 0 and at most half the kernel " + kH + "x" + kW);
        }
        if (kH > inH + 2 * padH || kW > inW + 2 * padW) {
            throw new IllegalArgumentException("pool2d: kernel " + kH + "x" + kW + " is larger than the padded input "
                    + (inH + 2 * padH) + "x" + (inW + 2 * padW));
        }
    }

    public int outH() {
        return (inH + 2 * padH - kH) / strideH + 1;
    }

    public int outW() {
        return (inW + 2 * padW - kW) / strideW + 1;
    }
}
