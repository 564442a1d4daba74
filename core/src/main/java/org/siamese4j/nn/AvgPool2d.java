package org.siamese4j.nn;

import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Tensor;

/** Mean over k x k windows of x [N, C, H, W]; the stride defaults to the kernel size, padding counts as zeros in the mean. */
public final class AvgPool2d extends Module {
    private final int kernelSize;
    private final int stride;
    private final int padding;

    /** Stride k, no padding. */
    public AvgPool2d(int kernelSize) {
        this(kernelSize, kernelSize, 0);
    }

    public AvgPool2d(int kernelSize, int stride) {
        this(kernelSize, stride, 0);
    }

    public AvgPool2d(int kernelSize, int stride, int padding) {
        this.kernelSize = positive("kernel_size", kernelSize, "AvgPool2d");
        this.stride = positive("stride", stride, "AvgPool2d");
        if (padding < 0 || 2 * padding > kernelSize) {
            // PyTorch's rule: a window must never lie entirely in the padding.
            throw new IllegalArgumentException("AvgPool2d: padding must be between 0 and half the kernel size "
                    + kernelSize + ", got " + padding);
        }
        this.padding = padding;
    }

    @Override
    public Tensor forward(Tensor input) {
        return Functional.avgPool2d(input, kernelSize, kernelSize, stride, stride, padding, padding);
    }

    public int kernelSize() {
        return kernelSize;
    }

    public int stride() {
        return stride;
    }

    /** The rows (columns) added on each side. */
    public int padding() {
        return padding;
    }

    @Override
    protected String extraRepr() {
        return "kernel_size=" + kernelSize + ", stride=" + stride + ", padding=" + padding;
    }
}
