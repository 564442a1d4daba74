package org.siamese4j.nn;

import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * 2-D convolution over x [N, in, H, W] with a square kernel: weight [out, in, k, k], bias [out], output
 * [N, out, outH, outW] with {@code outH = (H + 2*padding - dilation*(k-1) - 1) / stride + 1}.
 *
 * <p>Initialised as PyTorch's {@code nn.Conv2d}: weight and bias both U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with
 * {@code fanIn = in*k*k}.
 */
public final class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernelSize;
    private final int stride;
    private final int padding;
    private final int dilation;
    private final PaddingMode paddingMode;
    private final Tensor weight;
    private final Tensor bias;

    /** Stride 1, no padding, with bias. */
    public Conv2d(int inChannels, int outChannels, int kernelSize, Rng rng) {
        this(inChannels, outChannels, kernelSize, 1, 0, 1, PaddingMode.ZEROS, true, rng);
    }

    /** Zero padding, no dilation, with bias. */
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding, Rng rng) {
        this(inChannels, outChannels, kernelSize, stride, padding, 1, PaddingMode.ZEROS, true, rng);
    }

    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding, int dilation,
                  PaddingMode paddingMode, boolean bias, Rng rng) {
        this.inChannels = positive("in_channels", inChannels, "Conv2d");
        this.outChannels = positive("out_channels", outChannels, "Conv2d");
        this.kernelSize = positive("kernel_size", kernelSize, "Conv2d");
        this.stride = positive("stride", stride, "Conv2d");
        this.dilation = positive("dilation", dilation, "Conv2d");
        if (padding < 0) {
            throw new IllegalArgumentException("Conv2d: padding must be >= 0, got " + padding);
        }
        if (paddingMode == null) {
            throw new IllegalArgumentException("Conv2d: padding mode is null");
        }
        this.padding = padding;
        this.paddingMode = paddingMode;
        this.weight = registerParameter("weight", Tensor.zeros(outChannels, inChannels, kernelSize, kernelSize));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(outChannels)) : null;
        Init.defaultLayerInit(weight, this.bias, rng);
    }

    @Override
    public Tensor forward(Tensor input) {
        checkInput(input);
        return Functional.conv2d(input, weight, bias, stride, stride, padding, padding, dilation, dilation,
                paddingMode);
    }

    /**
     * This layer, then ReLU, then a 2x2 stride-2 max pool, as one op ({@link Functional#conv2dReluMaxPool2}):
     * what {@link Sequential} runs for such a run of layers.
     */
    public Tensor forwardReluMaxPool2(Tensor input) {
        checkInput(input);
        return Functional.conv2dReluMaxPool2(input, weight, bias, stride, stride, padding, padding, dilation,
                dilation, paddingMode);
    }

    private void checkInput(Tensor input) {
        if (input.rank() != 4 || input.dim(1) != inChannels) {
            throw new IllegalArgumentException(this + ": expected input [N, " + inChannels + ", H, W], got shape "
                    + Shapes.toString(input.shape()));
        }
    }

    /** [out, in, k, k]. */
    public Tensor weight() {
        return weight;
    }

    /** [out], or null for a layer without bias. */
    public Tensor bias() {
        return bias;
    }

    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    @Override
    protected String extraRepr() {
        StringBuilder sb = new StringBuilder();
        sb.append(inChannels).append(", ").append(outChannels)
                .append(", kernel_size=").append(pair(kernelSize))
                .append(", stride=").append(pair(stride));
        if (padding != 0) {
            sb.append(", padding=").append(pair(padding));
        }
        if (dilation != 1) {
            sb.append(", dilation=").append(pair(dilation));
        }
        if (bias == null) {
            sb.append(", bias=False");
        }
        if (paddingMode != PaddingMode.ZEROS) {
            sb.append(", padding_mode='").append(paddingMode.name().toLowerCase(java.util.Locale.ROOT)).append('\'');
        }
        return sb.toString();
    }

    private static String pair(int v) {
        return "(" + v + ", " + v + ")";
    }
}
