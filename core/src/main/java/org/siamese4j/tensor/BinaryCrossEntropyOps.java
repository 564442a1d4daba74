package org.siamese4j.tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * Binary cross-entropy on logits: the loss of a yes/no prediction (a learned similarity head's "same person?")
 * given as a logit x, so P(yes) = sigmoid(x), against a target y in [0, 1].
 *
 * <p>Why on logits and not on probabilities: the textbook form {@code -(y ln p + (1 - y) ln(1 - p))} with
 * p = sigmoid(x) breaks down in float32 as soon as |x| passes about 17, where p rounds to exactly 1 (or, below
 * -88, to 0) and a log of 0 gives infinity, then NaN in backward. Folding the sigmoid into the loss gives an
 * expression with no such step:
 * <pre>
 *   l(x, y) = -(y ln sigmoid(x) + (1 - y) ln sigmoid(-x))
 *           = max(x, 0) - x y + ln(1 + e^-|x|)
 * </pre>
 * (using ln sigmoid(x) = -ln(1 + e^-x) and splitting on the sign of x). exp only sees -|x| &lt;= 0, so nothing
 * overflows; log1p keeps the tiny tail e^-|x| for large |x|; and {@code max(x, 0) - x y} is evaluated as
 * {@code x (1 - y)} for x &gt;= 0 and {@code -x y} for x &lt; 0 (the same numbers), which in double has no
 * cancellation, so the loss is finite and correctly rounded for every finite logit, 1e30 included.
 * The derivative is as simple as it gets: dl/dx = sigmoid(x) - y, dl/dy = -x.
 */
final class BinaryCrossEntropyOps {
    private BinaryCrossEntropyOps() {
    }

    /**
     * L = (1/N) sum_i l(x_i, y_i) over all N elements (see the class comment), a scalar.
     * dL/dx_i = (sigmoid(x_i) - y_i) / N and dL/dy_i = -x_i / N, both computed in double and rounded once.
     *
     * <p>Targets are usually labels (0 or 1) or soft labels; they get a gradient only when they require one.
     * A NaN logit is passed on (the loss is NaN), as in the other ops; an infinite logit is refused, because
     * {@code x (1 - y)} would be {@code inf * 0} for a confident, correct prediction.
     *
     * @param logits  any shape, N &gt;= 1 elements
     * @param targets the same shape, every value in [0, 1]
     */
    static Tensor binaryCrossEntropyWithLogits(Tensor logits, Tensor targets) {
        String op = "binaryCrossEntropyWithLogits";
        Objects.requireNonNull(logits, op + ": logits must not be null");
        Objects.requireNonNull(targets, op + ": targets must not be null");
        if (!Arrays.equals(logits.shape, targets.shape)) {
            throw new IllegalArgumentException(op + ": targets " + Shapes.toString(targets.shape)
                    + " must have the shape of logits " + Shapes.toString(logits.shape)
                    + " (one target per logit, no broadcasting)");
        }
        int n = logits.data.length;
        if (n == 0) {
            throw new IllegalArgumentException(op + ": the mean over no elements is undefined, logits are "
                    + Shapes.toString(logits.shape));
        }
        float[] x = logits.data;
        float[] y = targets.data;
        for (int i = 0; i < n; i++) {
            if (!(y[i] >= 0f && y[i] <= 1f)) {
                throw new IllegalArgumentException(op + ": targets[" + i + "] = " + y[i] + " is not in [0, 1] "
                        + "(targets " + Shapes.toString(targets.shape) + ", logits " + Shapes.toString(logits.shape)
                        + "; use 1 for \"same\" and 0 for \"different\")");
            }
            if (Float.isInfinite(x[i])) {
                throw new IllegalArgumentException(op + ": logits[" + i + "] = " + x[i] + " is infinite, so the "
                        + "loss is undefined (logits " + Shapes.toString(logits.shape) + ")");
            }
        }
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += loss(x[i], y[i]);
        }
        Tensor out = Tensor.scalar((float) (total / n));
        return out.recordOp("bce_with_logits", () -> {
            double g = (double) out.grad[0] / n;
            if (logits.requiresGrad) {
                float[] dst = logits.gradBuffer();
                for (int i = 0; i < n; i++) {
                    dst[i] += (float) (g * (sigmoid(x[i]) - y[i]));
                }
            }
            if (targets.requiresGrad) {
                float[] dst = targets.gradBuffer();
                for (int i = 0; i < n; i++) {
                    dst[i] += (float) (g * -(double) x[i]);
                }
            }
        }, logits, targets);
    }

    /** max(x, 0) - x y + ln(1 + e^-|x|), with the first two terms written without cancellation. */
    private static double loss(float x, float y) {
        double linear = x >= 0f ? (double) x * (1.0 - y) : -(double) x * y;
        return linear + Math.log1p(Math.exp(-Math.abs((double) x)));
    }

    /**
     * 1 / (1 + e^-v) for v &gt;= 0 and e^v / (1 + e^v) for v &lt; 0: exp sees only -|v|, so nothing overflows
     * and very negative v keeps its tiny value instead of 1 / inf.
     */
    private static double sigmoid(float v) {
        if (v >= 0f) {
            return 1.0 / (1.0 + Math.exp(-(double) v));
        }
        double e = Math.exp(v);
        return e / (1.0 + e);
    }
}
