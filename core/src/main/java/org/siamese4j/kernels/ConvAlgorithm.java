package org.siamese4j.kernels;

import java.util.Locale;

/**
 * How {@code conv2d} computes a convolution: {@link #AUTO} (the default) lets it choose per layer, the others
 * force one path for every layer, for benchmarks and experiments. All paths give the same results up to float32
 * rounding.
 *
 * <p>Set once with {@code -Dsiamese4j.conv=auto|im2col|direct|winograd} (read when this class loads), or from code with
 * {@link #use} (a JMH benchmark compares paths this way inside one JVM).
 */
public enum ConvAlgorithm {
    /**
     * Direct convolution for layers with at most {@link #DIRECT_MAX_CHANNELS} input channels and stride 1 along
     * the width; Winograd for the other 3x3, stride-1, zero-padding-1 layers; im2col + GEMM for the rest. Direct
     * and Winograd only with the SIMD kernels.
     */
    AUTO,
    /** Lower each image to a column matrix and multiply it by the weights (GEMM). */
    IM2COL,
    /** Slide the filter over the image directly (vectorised along the output width where the stride is 1). */
    DIRECT,
    /**
     * Winograd for 3x3, stride-1, zero-padding-1 layers: F(4x4, 3x3) for forward and the input gradient
     * ({@link WinogradConv}), F(3x3, 4x4) for the weight gradient ({@link WinogradWeightGradient}); im2col for
     * every other layer.
     */
    WINOGRAD;

    public static final String PROPERTY = "siamese4j.conv";
    /**
     * Up to this many input channels, AUTO convolves directly: im2col's shared dimension C*kH*kW is then 27 or
     * less for a 3x3 filter, too short for the GEMM's packing to pay off, while the direct kernel's work per
     * loaded input vector (one FMA per output channel) does not depend on C.
     */
    public static final int DIRECT_MAX_CHANNELS = 3;

    private static volatile ConvAlgorithm current = fromProperty();

    /** The algorithm conv2d uses now. */
    public static ConvAlgorithm current() {
        return current;
    }

    /** Makes conv2d use {@code algorithm} from now on (every thread, every layer). */
    public static void use(ConvAlgorithm algorithm) {
        if (algorithm == null) {
            throw new IllegalArgumentException("conv algorithm must not be null (use AUTO for the default)");
        }
        current = algorithm;
    }

    /**
     * The path {@code conv2d} takes for geometry {@code g} under this setting: IM2COL, DIRECT or WINOGRAD
     * (WINOGRAD falls back to IM2COL on a layer it does not fit). AUTO goes direct or Winograd only with the SIMD
     * kernels: the scalar direct loops are slower than im2col plus the scalar GEMM, and Winograd's gain rests on
     * a fast GEMM.
     */
    public ConvAlgorithm resolve(ConvGeometry g) {
        if (this == WINOGRAD) {
            return WinogradConv.fits(g) ? WINOGRAD : IM2COL;
        }
        if (this != AUTO) {
            return this;
        }
        boolean simd = KernelProvider.kernels() != KernelProvider.scalar();
        if (simd && g.channels() <= DIRECT_MAX_CHANNELS && g.strideW() == 1) {
            return DIRECT;
        }
        return simd && WinogradConv.fits(g) ? WINOGRAD : IM2COL;
    }

    private static ConvAlgorithm fromProperty() {
        String v = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "auto":
                return AUTO;
            case "im2col":
                return IM2COL;
            case "direct":
                return DIRECT;
            case "winograd":
                return WINOGRAD;
            default:
                throw new IllegalArgumentException("-D" + PROPERTY + "=" + v
                        + " is not a convolution algorithm; valid: auto, im2col, direct, winograd");
        }
    }
}
