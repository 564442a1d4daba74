package org.siamese4j.nn;

import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Weight initialisers, as PyTorch's {@code torch.nn.init}. Each fills a tensor in place (not recorded by
 * autograd) from an explicit {@link Rng} and returns it.
 *
 * <p>Fans follow PyTorch's {@code _calculate_fan_in_and_fan_out}: for a weight [out, in, k1, k2, ...] the
 * receptive field is {@code k1*k2*...}, {@code fanIn = in * receptive} and {@code fanOut = out * receptive}.
 * So a linear weight [out, in] has fan-in {@code in}, a conv weight [out, in, kH, kW] has fan-in
 * {@code in*kH*kW}.
 */
public final class Init {
    private Init() {
    }

    /** The nonlinearity following a layer, which sets the gain that keeps activations' variance steady. */
    public enum Nonlinearity {
        /** Gain 1. Also right for convolutions without activation. */
        LINEAR,
        /** Gain 1. */
        SIGMOID,
        /** Gain 5/3. */
        TANH,
        /** Gain sqrt(2). */
        RELU,
        /** Gain sqrt(2 / (1 + slope^2)). */
        LEAKY_RELU
    }

    /** Which fan Kaiming initialisation scales by: fan-in keeps forward variance, fan-out backward variance. */
    public enum FanMode {
        FAN_IN,
        FAN_OUT
    }

    /**
     * The recommended gain for a nonlinearity (PyTorch's {@code calculate_gain}); {@code param} is the
     * negative slope for {@link Nonlinearity#LEAKY_RELU} and ignored otherwise.
     */
    public static double calculateGain(Nonlinearity nonlinearity, double param) {
        switch (nonlinearity) {
            case LINEAR:
            case SIGMOID:
                return 1.0;
            case TANH:
                return 5.0 / 3.0;
            case RELU:
                return Math.sqrt(2.0);
            case LEAKY_RELU:
                if (!Double.isFinite(param)) {
                    throw new IllegalArgumentException("calculateGain: negative slope must be finite, got " + param);
                }
                return Math.sqrt(2.0 / (1.0 + param * param));
            default:
                throw new AssertionError(nonlinearity);
        }
    }

    /** The gain with PyTorch's default leaky-relu slope 0.01. */
    public static double calculateGain(Nonlinearity nonlinearity) {
        return calculateGain(nonlinearity, 0.01);
    }

    /** {@code {fanIn, fanOut}} of a weight of rank 2 or more. */
    public static int[] fanInAndFanOut(Tensor weight) {
        int[] shape = weight.shape();
        if (shape.length < 2) {
            throw new IllegalArgumentException("Init: fan in and fan out need a tensor of rank 2 or more, got shape "
                    + Shapes.toString(shape));
        }
        int receptive = 1;
        for (int i = 2; i < shape.length; i++) {
            receptive *= shape[i];
        }
        return new int[] {shape[1] * receptive, shape[0] * receptive};
    }

    /** Fan-in of a weight of rank 2 or more. */
    public static int fanIn(Tensor weight) {
        return fanInAndFanOut(weight)[0];
    }

    // =====================================================================================================
    // Plain distributions
    // =====================================================================================================

    /** Fills with U(low, high). */
    public static Tensor uniform(Tensor t, double low, double high, Rng rng) {
        if (!(low <= high) || !Double.isFinite(low) || !Double.isFinite(high)) {
            throw new IllegalArgumentException("Init.uniform: need finite low <= high, got [" + low + ", " + high + ")");
        }
        float[] d = t.data();
        double width = high - low;
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (low + width * rng.nextDouble());
        }
        return t;
    }

    /** Fills with N(mean, std^2). */
    public static Tensor normal(Tensor t, double mean, double std, Rng rng) {
        if (!(std >= 0) || !Double.isFinite(std) || !Double.isFinite(mean)) {
            throw new IllegalArgumentException("Init.normal: need a finite mean and std >= 0, got mean " + mean
                    + ", std " + std);
        }
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (mean + std * rng.nextGaussian());
        }
        return t;
    }

    /** Fills with {@code value}. */
    public static Tensor constant(Tensor t, float value) {
        return t.fill(value);
    }

    public static Tensor zeros(Tensor t) {
        return t.fill(0f);
    }

    public static Tensor ones(Tensor t) {
        return t.fill(1f);
    }

    // =====================================================================================================
    // Xavier / Glorot (Glorot and Bengio 2010): variance 2 / (fanIn + fanOut), times gain^2
    // =====================================================================================================

    /** U(-a, a) with {@code a = gain * sqrt(6 / (fanIn + fanOut))}. */
    public static Tensor xavierUniform(Tensor t, double gain, Rng rng) {
        double std = xavierStd(t, gain);
        // U(-a, a) has variance a^2 / 3, so a = sqrt(3) * std.
        double a = Math.sqrt(3.0) * std;
        return uniform(t, -a, a, rng);
    }

    /** N(0, std^2) with {@code std = gain * sqrt(2 / (fanIn + fanOut))}. */
    public static Tensor xavierNormal(Tensor t, double gain, Rng rng) {
        return normal(t, 0.0, xavierStd(t, gain), rng);
    }

    private static double xavierStd(Tensor t, double gain) {
        int[] fans = fanInAndFanOut(t);
        if (t.size() == 0) {
            return 0.0;
        }
        return gain * Math.sqrt(2.0 / (fans[0] + fans[1]));
    }

    // =====================================================================================================
    // Kaiming / He (He et al. 2015): variance gain^2 / fan
    // =====================================================================================================

    /**
     * U(-bound, bound) with {@code bound = gain * sqrt(3 / fan)}, the gain from {@code nonlinearity} and
     * {@code a} (the negative slope of a leaky relu).
     */
    public static Tensor kaimingUniform(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Rng rng) {
        double bound = Math.sqrt(3.0) * kaimingStd(t, a, mode, nonlinearity);
        return uniform(t, -bound, bound, rng);
    }

    /** N(0, std^2) with {@code std = gain / sqrt(fan)}. */
    public static Tensor kaimingNormal(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity, Rng rng) {
        return normal(t, 0.0, kaimingStd(t, a, mode, nonlinearity), rng);
    }

    private static double kaimingStd(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
        int[] fans = fanInAndFanOut(t);
        if (t.size() == 0) {
            return 0.0;
        }
        int fan = mode == FanMode.FAN_IN ? fans[0] : fans[1];
        return calculateGain(nonlinearity, a) / Math.sqrt(fan);
    }

    // =====================================================================================================
    // Layer defaults (PyTorch's reset_parameters of Linear and Conv2d)
    // =====================================================================================================

    /**
     * PyTorch's default for Linear and Conv2d: weight from {@code kaiming_uniform(a = sqrt(5))}, which works
     * out to U(-1/sqrt(fanIn), 1/sqrt(fanIn)), then bias (if not null) from the same bound.
     */
    static void defaultLayerInit(Tensor weight, Tensor bias, Rng rng) {
        // gain = sqrt(2 / (1 + 5)) = sqrt(1/3); bound = sqrt(3) * gain / sqrt(fanIn) = 1 / sqrt(fanIn).
        kaimingUniform(weight, Math.sqrt(5.0), FanMode.FAN_IN, Nonlinearity.LEAKY_RELU, rng);
        if (bias != null) {
            int fanIn = fanIn(weight);
            double bound = fanIn > 0 ? 1.0 / Math.sqrt(fanIn) : 0.0;
            uniform(bias, -bound, bound, rng);
        }
    }
}
