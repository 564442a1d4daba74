package org.siamese4j.tensor;

import org.siamese4j.kernels.KernelProvider;

/**
 * Unary elementwise maths: neg, exp, log, sqrt, pow, abs, clamp.
 *
 * <p>Where the maths has a pole or a domain edge (log and sqrt at zero, fractional powers of negatives), these
 * ops pick a finite convention and say so in the method's javadoc, or fail with the offending value: they never
 * turn finite inputs into NaN. A NaN that is already in the input is passed on, not hidden.
 */
final class UnaryOps {
    private UnaryOps() {
    }

    /** out = -x.  d/dx = -1. */
    static Tensor neg(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        KernelProvider.kernels().scale(-1f, x.data, out.data, out.data.length);
        return out.recordOp("neg",
                () -> KernelProvider.kernels().axpy(-1f, out.grad, x.gradBuffer(), out.grad.length), x);
    }

    /** out = e^x.  d/dx = e^x, which is the output, so backward reads that instead of x. Overflow gives +inf. */
    static Tensor exp(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            out.data[i] = (float) Math.exp(x.data[i]);
        }
        return out.recordOp("exp", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                dst[i] += out.grad[i] * out.data[i];
            }
        }, x);
    }

    /**
     * out = ln(max(x, MIN_NORMAL)).  d/dx = 1/x where x >= MIN_NORMAL, 0 where x was clamped.
     *
     * <p>Zero and negative inputs (and positive subnormals, whose reciprocal would overflow to infinity) are
     * clamped to {@link Float#MIN_NORMAL} first: log(0) is then about -87.3 instead of -inf, so a loss like
     * {@code -log(p)} stays finite when p underflows. The clamped function is flat below the floor, so its
     * gradient there is 0 (the honest derivative, and no 1e38 that overflows the moment it is multiplied).
     * NaN stays NaN.
     */
    static Tensor log(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            out.data[i] = (float) Math.log(logDomain(x.data[i]));
        }
        return out.recordOp("log", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                float v = x.data[i];
                if (!(v < Float.MIN_NORMAL)) {     // NaN falls through here and stays NaN
                    dst[i] += out.grad[i] / v;
                }
            }
        }, x);
    }

    /** max(v, MIN_NORMAL); NaN fails the comparison and passes through unchanged. */
    private static float logDomain(float v) {
        return v < Float.MIN_NORMAL ? Float.MIN_NORMAL : v;
    }

    /**
     * out = sqrt(max(x, 0)).  d/dx = 1 / (2 sqrt(x)), taken as 0 where the output is 0.
     *
     * <p>Negative inputs are clamped to 0 instead of giving NaN (they usually come from rounding in something
     * like {@code sum(a^2) - 2ab + sum(b^2)}), and they get gradient 0. The true gradient at 0 is +inf; 0 is
     * the convention that keeps a Euclidean distance between two identical embeddings from poisoning the
     * whole backward pass with inf and NaN. NaN stays NaN in both directions.
     */
    static Tensor sqrt(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            float v = x.data[i];
            out.data[i] = (float) Math.sqrt(v < 0f ? 0f : v);
        }
        return out.recordOp("sqrt", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                float y = out.data[i];
                if (y != 0f) {
                    dst[i] += out.grad[i] / (2f * y);
                }
            }
        }, x);
    }

    /**
     * out = x^p.  d/dx = p * x^(p-1).
     *
     * <p>Any x is fine for an integer p. A fractional p of a negative x has no real value, so it fails naming
     * the exponent and the first such element instead of producing NaN. For p &lt; 1 the true gradient at
     * x == 0 is infinite (or, for p == 0, 0 * inf); it is taken as 0. A negative p at x == 0 gives +-inf in the
     * forward pass, like 1/0 in {@link BinaryOps#div}.
     */
    static Tensor pow(Tensor x, float p) {
        if (!Float.isFinite(p)) {
            throw new IllegalArgumentException("pow: the exponent must be finite, got " + p);
        }
        boolean integer = p == Math.rint(p);
        if (!integer) {
            for (int i = 0; i < x.data.length; i++) {
                if (x.data[i] < 0f) {
                    throw new IllegalArgumentException("pow: a negative base has no real power for the non-integer "
                            + "exponent " + p + "; element " + i + " of " + x.describe() + " is " + x.data[i]);
                }
            }
        }
        Tensor out = Tensor.fresh(x.shape);
        if (p == 2f) {
            // square() is the common case (squared distances); x*x is exact where Math.pow goes through double
            for (int i = 0; i < out.data.length; i++) {
                out.data[i] = x.data[i] * x.data[i];
            }
        } else {
            for (int i = 0; i < out.data.length; i++) {
                out.data[i] = (float) Math.pow(x.data[i], p);
            }
        }
        return out.recordOp("pow", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                float v = x.data[i];
                if (v == 0f && p < 1f) {
                    continue;
                }
                dst[i] += (float) (out.grad[i] * (p * Math.pow(v, p - 1.0)));
            }
        }, x);
    }

    /** out = |x|.  d/dx = sign(x), 0 at 0 (the subgradient PyTorch picks). */
    static Tensor abs(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            out.data[i] = Math.abs(x.data[i]);
        }
        return out.recordOp("abs", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                dst[i] += out.grad[i] * Math.signum(x.data[i]);
            }
        }, x);
    }

    /**
     * out = min(max(x, min), max).  d/dx = 1 where min &lt;= x &lt;= max (bounds included, as PyTorch), else 0.
     * Either bound may be infinite (that is how {@code maximum} and {@code minimum} are built); NaN bounds and
     * {@code min > max} fail. A NaN element stays NaN and gets gradient 0, as in PyTorch.
     */
    static Tensor clamp(Tensor x, float min, float max) {
        if (Float.isNaN(min) || Float.isNaN(max)) {
            throw new IllegalArgumentException("clamp: bounds must not be NaN, got min " + min + " and max " + max);
        }
        if (min > max) {
            throw new IllegalArgumentException("clamp: min " + min + " is greater than max " + max);
        }
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            float v = x.data[i];
            out.data[i] = v < min ? min : v > max ? max : v;
        }
        return out.recordOp("clamp", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                float v = x.data[i];
                if (v >= min && v <= max) {
                    dst[i] += out.grad[i];
                }
            }
        }, x);
    }
}
