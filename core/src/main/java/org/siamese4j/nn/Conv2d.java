package org.siamese4j.nn;

import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * 2-D convolution over x [N, in, H, W]: weight [out, in/groups, kH, kW], bias [out], output [N, out, outH, outW]
 * with {@code outH = (H + 2*padH - dilationH*(kH-1) - 1) / strideH + 1} (likewise W), as PyTorch's
 * {@code nn.Conv2d}. With {@code groups} &gt; 1 the input and output channels are cut into that many equal runs and
 * output run k sees input run k only; {@code groups = in} is a depthwise convolution ({@code out} a multiple of
 * {@code in}).
 *
 * <p>Initialised as PyTorch's {@code nn.Conv2d}: weight and bias both U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with
 * {@code fanIn = in/groups*kH*kW}.
 */
public final class Conv2d extends Module {
    private final int inChannels;
    private final int outChannels;
    private final int kernelH;
    private final int kernelW;
    private final int strideH;
    private final int strideW;
    private final int padH;
    private final int padW;
    private final int dilationH;
    private final int dilationW;
    private final int groups;
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
        this(inChannels, outChannels, kernelSize, stride, padding, dilation, 1, paddingMode, bias, rng);
    }

    /** Square kernel, the same stride, padding and dilation on both axes, and {@code groups}. */
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding, int dilation, int groups,
                  PaddingMode paddingMode, boolean bias, Rng rng) {
        this(inChannels, outChannels, new int[] {kernelSize, kernelSize}, new int[] {stride, stride},
                new int[] {padding, padding}, new int[] {dilation, dilation}, groups, paddingMode, bias, rng);
    }

    /**
     * Every setting per axis, as PyTorch's tuples: {@code kernelSize}, {@code stride}, {@code padding} and
     * {@code dilation} are each {@code {height, width}}.
     */
    public Conv2d(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation,
                  int groups, PaddingMode paddingMode, boolean bias, Rng rng) {
        requirePair("kernel_size", kernelSize);
        requirePair("stride", stride);
        requirePair("padding", padding);
        requirePair("dilation", dilation);
        this.inChannels = positive("in_channels", inChannels, "Conv2d");
        this.outChannels = positive("out_channels", outChannels, "Conv2d");
        this.kernelH = positive("kernel_size", kernelSize[0], "Conv2d");
        this.kernelW = positive("kernel_size", kernelSize[1], "Conv2d");
        this.strideH = positive("stride", stride[0], "Conv2d");
        this.strideW = positive("stride", stride[1], "Conv2d");
        this.dilationH = positive("dilation", dilation[0], "Conv2d");
        this.dilationW = positive("dilation", dilation[1], "Conv2d");
        if (padding[0] < 0 || padding[1] < 0) {
            throw new IllegalArgumentException("Conv2d: padding must be >= 0, got " + pair(padding[0], padding[1]));
        }
        this.groups = positive("groups", groups, "Conv2d");
        if (inChannels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException("Conv2d: groups=" + groups + " must divide both in_channels="
                    + inChannels + " and out_channels=" + outChannels);
        }
        if (paddingMode == null) {
            throw new IllegalArgumentException("Conv2d: padding mode is null");
        }
        this.padH = padding[0];
        this.padW = padding[1];
        this.paddingMode = paddingMode;
        this.weight = registerParameter("weight", Tensor.zeros(outChannels, inChannels / groups, kernelH, kernelW));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(outChannels)) : null;
        Init.defaultLayerInit(weight, this.bias, rng);
    }

    @Override
    public Tensor forward(Tensor input) {
        checkInput(input);
        return Functional.conv2d(input, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, paddingMode,
                groups);
    }

    /**
     * This layer, then ReLU, then a 2x2 stride-2 max pool, as one op ({@link Functional#conv2dReluMaxPool2}):
     * what {@link Sequential} runs for such a run of layers.
     */
    public Tensor forwardReluMaxPool2(Tensor input) {
        checkInput(input);
        return Functional.conv2dReluMaxPool2(input, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW,
                paddingMode, groups);
    }

    private void checkInput(Tensor input) {
        if (input.rank() != 4 || input.dim(1) != inChannels) {
            throw new IllegalArgumentException(this + ": expected input [N, " + inChannels + ", H, W], got shape "
                    + Shapes.toString(input.shape()));
        }
    }

    /** [out, in/groups, kH, kW]. */
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

    public int groups() {
        return groups;
    }

    /** {height, width}, as PyTorch's {@code kernel_size} tuple. */
    public int[] kernelSize() {
        return new int[] {kernelH, kernelW};
    }

    /** {height, width}. */
    public int[] stride() {
        return new int[] {strideH, strideW};
    }

    /** {height, width}: the rows (columns) added on each side. */
    public int[] padding() {
        return new int[] {padH, padW};
    }

    /** {height, width}. */
    public int[] dilation() {
        return new int[] {dilationH, dilationW};
    }

    public PaddingMode paddingMode() {
        return paddingMode;
    }

    @Override
    protected String extraRepr() {
        StringBuilder sb = new StringBuilder();
        sb.append(inChannels).append(", ").append(outChannels)
                .append(", kernel_size=").append(pair(kernelH, kernelW))
                .append(", stride=").append(pair(strideH, strideW));
        if (padH != 0 || padW != 0) {
            sb.append(", padding=").append(pair(padH, padW));
        }
        if (dilationH != 1 || dilationW != 1) {
            sb.append(", dilation=").append(pair(dilationH, dilationW));
        }
        if (groups != 1) {
            sb.append(", groups=").append(groups);
        }
        if (bias == null) {
            sb.append(", bias=False");
        }
        if (paddingMode != PaddingMode.ZEROS) {
            sb.append(", padding_mode='").append(paddingMode.name().toLowerCase(java.util.Locale.ROOT)).append('\'');
        }
        return sb.toString();
    }

    private static String pair(int h, int w) {
        return "(" + h + ", " + w + ")";
    }

    /** Fails unless {@code v} is a {height, width} pair. */
    private static void requirePair(String what, int[] v) {
        if (v == null || v.length != 2) {
            throw new IllegalArgumentException("Conv2d: " + what + " must be {height, width}, got "
                    + java.util.Arrays.toString(v));
        }
    }
}
