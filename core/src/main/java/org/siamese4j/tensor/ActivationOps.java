package org.siamese4j.tensor;

import org.siamese4j.kernels.KernelProvider;

/**
 * Activation functions: relu, leaky relu, sigmoid, tanh, softplus.
 *
 * <p>sigmoid and softplus are written so that no intermediate overflows: exp is only ever taken of a
 * non-positive number, so any finite input gives a finite output and gradient.
 */
final class ActivationOps {
    private ActivationOps() {
    }

    /** out = max(x, 0).  d/dx = 1 for x &gt; 0, else 0 (0 at the kink, as PyTorch). */
    static Tensor relu(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        KernelProvider.kernels().relu(x.data, out.data, out.data.length);
        return out.recordOp("relu", () -> KernelProvider.kernels()
                .reluBackwardAccumulate(x.data, out.grad, x.gradBuffer(), out.grad.length), x);
    }

    /** out = x for x &gt; 0, else slope * x.  d/dx = 1 for x &gt; 0, else slope. */
    static Tensor leakyRelu(Tensor x, float slope) {
        if (!Float.isFinite(slope)) {
            throw new IllegalArgumentException("leakyRelu: slope must be finite, got " + slope);
        }
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            float v = x.data[i];
            out.data[i] = v > 0f ? v : slope * v;
        }
        return out.recordOp("leaky_relu", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                dst[i] += x.data[i] > 0f ? out.grad[i] : slope * out.grad[i];
            }
        }, x);
    }

    /**
     * out = x for x &gt; 0, else a * x, with a = slope[c] for an element of channel c (dimension 1), or slope[0] for
     * every element when slope is [1].  d/dx = 1 for x &gt; 0, else a;  d/dslope[c] = sum of x * g over the elements
     * of channel c with x &lt;= 0 (0 at the kink, as PyTorch).
     */
    static Tensor prelu(Tensor x, Tensor slope) {
        int slopes = slope.shape.length == 1 ? slope.shape[0] : -1;
        if (slopes != 1 && (slopes < 1 || x.shape.length < 2 || slopes != x.shape[1])) {
            throw new IllegalArgumentException("prelu: slope must be [1] or [C] with C = dimension 1 of the input, "
                    + "got slope " + Shapes.toString(slope.shape) + " for input " + Shapes.toString(x.shape));
        }
        // x as [outer, slopes, inner]: element i has slope (i / inner) % slopes
        int outer = slopes == 1 ? 1 : x.shape[0];
        int inner = slopes == 1 ? x.data.length : x.data.length / Math.max(1, outer * slopes);
        Tensor out = Tensor.fresh(x.shape);
        for (int n = 0, i = 0; n < outer; n++) {
            for (int c = 0; c < slopes; c++) {
                float a = slope.data[c];
                for (int end = i + inner; i < end; i++) {
                    // v > 0 ? v : a * v, without a branch: signs are random, so a branch mispredicts on half the
                    // elements (PReLU took 58% of a MobileFaceNet's inference); only -0 gives +0 here instead of -0
                    float v = x.data[i];
                    out.data[i] = Math.max(v, 0f) + a * Math.min(v, 0f);
                }
            }
        }
        return out.recordOp("prelu", () -> {
            float[] g = out.grad;
            float[] dx = x.requiresGrad ? x.gradBuffer() : null;
            // one double sum per slope, taken in element order: the same bits on any thread count
            double[] dSlope = new double[slopes];
            for (int n = 0, i = 0; n < outer; n++) {
                for (int c = 0; c < slopes; c++) {
                    float a = slope.data[c];
                    for (int end = i + inner; i < end; i++) {
                        float v = x.data[i];
                        if (v > 0f) {
                            if (dx != null) {
                                dx[i] += g[i];
                            }
                        } else {
                            if (dx != null) {
                                dx[i] += a * g[i];
                            }
                            dSlope[c] += (double) v * g[i];
                        }
                    }
                }
            }
            if (slope.requiresGrad) {
                float[] ds = slope.gradBuffer();
                for (int c = 0; c < slopes; c++) {
                    ds[c] += (float) dSlope[c];
                }
            }
        }, x, slope);
    }

    /** out = 1 / (1 + e^-x).  d/dx = out * (1 - out), so backward reads the output. */
    static Tensor sigmoid(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            out.data[i] = (float) stableSigmoid(x.data[i]);
        }
        return out.recordOp("sigmoid", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                float y = out.data[i];
                dst[i] += out.grad[i] * y * (1f - y);
            }
        }, x);
    }

    /**
     * 1 / (1 + e^-v) for v &gt;= 0, and the equal e^v / (1 + e^v) for v &lt; 0: exp sees only -|v|, so it
     * cannot overflow, and for very negative v the tiny result is kept instead of rounding 1 + e^-v to inf.
     */
    private static double stableSigmoid(float v) {
        if (v >= 0f) {
            return 1.0 / (1.0 + Math.exp(-v));
        }
        double e = Math.exp(v);
        return e / (1.0 + e);
    }

    /** out = tanh(x).  d/dx = 1 - out^2. */
    static Tensor tanh(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            out.data[i] = (float) Math.tanh(x.data[i]);
        }
        return out.recordOp("tanh", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                float y = out.data[i];
                dst[i] += out.grad[i] * (1f - y * y);
            }
        }, x);
    }

    /**
     * out = ln(1 + e^x), computed as max(x, 0) + ln(1 + e^-|x|) (equal, since ln(1 + e^x) = x + ln(1 + e^-x)),
     * so exp never overflows and log1p keeps the small tail for very negative x.
     * d/dx = e^x / (1 + e^x) = sigmoid(x).
     */
    static Tensor softplus(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            float v = x.data[i];
            out.data[i] = (float) (Math.max(v, 0.0) + Math.log1p(Math.exp(-Math.abs(v))));
        }
        return out.recordOp("softplus", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                dst[i] += (float) (out.grad[i] * stableSigmoid(x.data[i]));
            }
        }, x);
    }
}
