package org.siamese4j.kernels;

/**
 * Everything a 2-D convolution kernel needs to know about one image and the filter sliding over it.
 *
 * <p>Output size along each axis: {@code (in + 2*pad - dilation*(k-1) - 1) / stride + 1}, as in PyTorch.
 * The constructor checks every argument and names the bad one.
 */
public record ConvGeometry(int channels, int inH, int inW, int kH, int kW, int strideH, int strideW,
                           int padH, int padW, int dilationH, int dilationW, PaddingMode padding) {

    public enum PaddingMode {
        /** Positions outside the image read as 0. */
        ZEROS,
        /** Positions outside the image mirror the inside without repeating the edge: [a b c] pads as c b [a b c] b a. */
        REFLECT
    }

    public ConvGeometry {
        positive("channels", channels);
        positive("input height", inH);
        positive("input width", inW);
        positive("kernel height", kH);
        positive("kernel width", kW);
        positive("stride height", strideH);
        positive("stride width", strideW);
        positive("dilation height", dilationH);
        positive("dilation width", dilationW);
        if (padH < 0 || padW < 0) {
            throw new IllegalArgumentException("conv2d: padding must be >= 0, got (" + padH + ", " + padW + ")");
        }
        if (padding == PaddingMode.REFLECT && (padH >= inH || padW >= inW)) {
            throw new IllegalArgumentException("conv2d: reflection padding (" + padH + ", " + padW
                    + ") must be smaller than the input (" + inH + " x " + inW + ")");
        }
        int spanH = dilationH * (kH - 1) + 1;
        int spanW = dilationW * (kW - 1) + 1;
        if (spanH > inH + 2 * padH || spanW > inW + 2 * padW) {
            throw new IllegalArgumentException("conv2d: kernel " + kH + "x" + kW + " (dilation " + dilationH + "x"
                    + dilationW + ", span " + spanH + "x" + spanW + ") is larger than the padded input "
                    + (inH + 2 * padH) + "x" + (inW + 2 * padW));
        }
    }

    /** Square kernel, equal stride, padding and dilation on both axes, zero padding. */
    public static ConvGeometry square(int channels, int inH, int inW, int k, int stride, int pad) {
        return new ConvGeometry(channels, inH, inW, k, k, stride, stride, pad, pad, 1, 1, PaddingMode.ZEROS);
    }

    /** The same geometry over {@code channels} channels: one group of a grouped convolution, or one plane. */
    public ConvGeometry withChannels(int channels) {
        return new ConvGeometry(channels, inH, inW, kH, kW, strideH, strideW, padH, padW, dilationH, dilationW,
                padding);
    }

    public int outH() {
        return (inH + 2 * padH - dilationH * (kH - 1) - 1) / strideH + 1;
    }

    public int outW() {
        return (inW + 2 * padW - dilationW * (kW - 1) - 1) / strideW + 1;
    }

    /** Rows of the im2col matrix: one per (channel, kernel row, kernel column). */
    public int patchSize() {
        return channels * kH * kW;
    }

    public int outPixels() {
        return outH() * outW();
    }

    public int imageSize() {
        return channels * inH * inW;
    }

    /**
     * Where padded coordinate {@code p} (in -pad .. n+pad-1) reads from in an axis of length {@code n}, or -1
     * for a zero-padded position.
     */
    public static int sourceIndex(int p, int n, PaddingMode mode) {
        if (p >= 0 && p < n) {
            return p;
        }
        if (mode == PaddingMode.ZEROS) {
            return -1;
        }
        return p < 0 ? -p : 2 * (n - 1) - p;
    }

    private static void positive(String what, int v) {
        if (v <= 0) {
            throw new IllegalArgumentException("conv2d: " + what + " must be positive, got " + v);
        }
    }
}
