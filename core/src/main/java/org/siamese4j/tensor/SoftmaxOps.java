package org.siamese4j.tensor;

import java.util.Arrays;
import java.util.Objects;

/**
 * Softmax, log-softmax and cross-entropy.
 *
 * <p>Along dimension d a tensor is viewed, as in {@link ReduceOps}, as [outer, n, inner]: each of the
 * outer*inner slices of length n (stride inner) is normalised on its own. Every slice is shifted by its maximum
 * m first, softmax(x) = softmax(x - m), so exp only sees values &lt;= 0 and cannot overflow; sums run in double.
 *
 * <p>A slice whose maximum is +inf, or whose values are all -inf, has no finite softmax (the shift would give
 * inf - inf = NaN), so it fails with its position instead. A NaN already in the input is passed on.
 */
final class SoftmaxOps {
    private SoftmaxOps() {
    }

    /**
     * y_i = e^(x_i - m) / sum_k e^(x_k - m) along {@code dim}.
     * dy_i/dx_j = y_i (delta_ij - y_j), so d/dx_j = y_j (g_j - sum_i g_i y_i): backward needs only y.
     */
    static Tensor softmax(Tensor x, int dim) {
        Slices s = new Slices(x, dim, "softmax");
        Tensor out = Tensor.fresh(x.shape);
        float[] y = out.data;
        float[] max = new float[s.inner];
        double[] total = new double[s.inner];
        // the exponentials of one [n, inner] block, kept in double so each output is rounded only once
        double[] e = new double[s.n * s.inner];
        for (int o = 0; o < s.outer; o++) {
            sliceMax(x, s, o, max, "softmax");
            Arrays.fill(total, 0.0);
            int block = s.index(o, 0, 0);
            for (int k = 0; k < e.length; k++) {
                int j = k % s.inner;
                e[k] = Math.exp((double) x.data[block + k] - max[j]);
                total[j] += e[k];
            }
            for (int k = 0; k < e.length; k++) {
                y[block + k] = (float) (e[k] / total[k % s.inner]);
            }
        }
        return out.recordOp("softmax", () -> {
            float[] g = out.grad;
            float[] dst = x.gradBuffer();
            double[] gy = new double[s.inner];
            for (int o = 0; o < s.outer; o++) {
                Arrays.fill(gy, 0.0);
                for (int i = 0; i < s.n; i++) {
                    int base = s.index(o, i, 0);
                    for (int j = 0; j < s.inner; j++) {
                        gy[j] += (double) g[base + j] * y[base + j];
                    }
                }
                for (int i = 0; i < s.n; i++) {
                    int base = s.index(o, i, 0);
                    for (int j = 0; j < s.inner; j++) {
                        dst[base + j] += (float) (y[base + j] * (g[base + j] - gy[j]));
                    }
                }
            }
        }, x);
    }

    /**
     * y_i = x_i - m - ln(sum_k e^(x_k - m)) along {@code dim}: finite wherever x is, even when softmax itself
     * underflows to 0. dy_i/dx_j = delta_ij - softmax_j, so d/dx_j = g_j - e^(y_j) sum_i g_i.
     */
    static Tensor logSoftmax(Tensor x, int dim) {
        Slices s = new Slices(x, dim, "logSoftmax");
        Tensor out = Tensor.fresh(x.shape);
        float[] y = out.data;
        float[] max = new float[s.inner];
        double[] total = new double[s.inner];
        for (int o = 0; o < s.outer; o++) {
            sliceMax(x, s, o, max, "logSoftmax");
            Arrays.fill(total, 0.0);
            for (int i = 0; i < s.n; i++) {
                int base = s.index(o, i, 0);
                for (int j = 0; j < s.inner; j++) {
                    total[j] += Math.exp((double) x.data[base + j] - max[j]);
                }
            }
            for (int i = 0; i < s.n; i++) {
                int base = s.index(o, i, 0);
                for (int j = 0; j < s.inner; j++) {
                    y[base + j] = (float) ((double) x.data[base + j] - max[j] - Math.log(total[j]));
                }
            }
        }
        return out.recordOp("log_softmax", () -> {
            float[] g = out.grad;
            float[] dst = x.gradBuffer();
            double[] gsum = new double[s.inner];
            for (int o = 0; o < s.outer; o++) {
                Arrays.fill(gsum, 0.0);
                for (int i = 0; i < s.n; i++) {
                    int base = s.index(o, i, 0);
                    for (int j = 0; j < s.inner; j++) {
                        gsum[j] += g[base + j];
                    }
                }
                for (int i = 0; i < s.n; i++) {
                    int base = s.index(o, i, 0);
                    for (int j = 0; j < s.inner; j++) {
                        dst[base + j] += (float) (g[base + j] - Math.exp(y[base + j]) * gsum[j]);
                    }
                }
            }
        }, x);
    }

    /**
     * L = (1/N) sum_r (lse_r - x[r, t_r]) with lse_r = ln sum_c e^(x[r, c]): the mean of -logSoftmax at the
     * targets, computed without materialising log-softmax. dL/dx[r, c] = (softmax[r, c] - [c == t_r]) / N;
     * backward rebuilds softmax from the logits and the saved lse_r, so only N numbers are kept.
     *
     * @param logits  [N, C] unnormalised scores
     * @param targets N class indices, each in [0, C)
     */
    static Tensor crossEntropy(Tensor logits, int[] targets) {
        Shapes.requireRank("crossEntropy", logits, 2, "[N, C] of logits");
        Objects.requireNonNull(targets, "crossEntropy: targets must not be null");
        int rows = logits.shape[0];
        int classes = logits.shape[1];
        if (targets.length != rows) {
            throw new IllegalArgumentException("crossEntropy: " + targets.length + " targets for logits "
                    + Shapes.toString(logits.shape) + ", which has " + rows + " rows");
        }
        if (rows == 0) {
            throw new IllegalArgumentException("crossEntropy: the mean over an empty batch is undefined, logits are "
                    + Shapes.toString(logits.shape));
        }
        for (int r = 0; r < rows; r++) {
            if (targets[r] < 0 || targets[r] >= classes) {
                throw new IllegalArgumentException("crossEntropy: targets[" + r + "] = " + targets[r]
                        + " is not a class index in [0, " + classes + ") of logits " + Shapes.toString(logits.shape));
            }
        }
        int[] t = targets.clone();
        Slices s = new Slices(logits, 1, "crossEntropy");
        float[] max = new float[1];
        double[] lse = new double[rows];
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            sliceMax(logits, s, r, max, "crossEntropy");
            int base = r * classes;
            double total = 0;
            for (int c = 0; c < classes; c++) {
                total += Math.exp((double) logits.data[base + c] - max[0]);
            }
            lse[r] = max[0] + Math.log(total);
            loss += lse[r] - logits.data[base + t[r]];
        }
        Tensor out = Tensor.scalar((float) (loss / rows));
        return out.recordOp("cross_entropy", () -> {
            double g = (double) out.grad[0] / rows;
            float[] dst = logits.gradBuffer();
            for (int r = 0; r < rows; r++) {
                int base = r * classes;
                for (int c = 0; c < classes; c++) {
                    double p = Math.exp(logits.data[base + c] - lse[r]);
                    dst[base + c] += (float) (g * (c == t[r] ? p - 1.0 : p));
                }
            }
        }, logits);
    }

    // ---------------------------------------------------------------------------------------------------

    /** The [outer, n, inner] view of a tensor along one dimension. */
    private static final class Slices {
        final int[] shape;
        final int d;
        final int outer;
        final int n;
        final int inner;

        Slices(Tensor x, int dim, String op) {
            this.shape = x.shape;
            this.d = Shapes.axis(dim, x.shape.length, op);
            this.outer = ReduceOps.outer(x.shape, d);
            this.n = x.shape[d];
            this.inner = ReduceOps.inner(x.shape, d);
        }

        int index(int o, int i, int j) {
            return (o * n + i) * inner + j;
        }

        /** The slice through (o, j) written like x[1, :, 2], for error messages. */
        String name(int o, int j) {
            String[] parts = new String[shape.length];
            for (int a = d - 1; a >= 0; a--) {
                parts[a] = Integer.toString(o % shape[a]);
                o /= shape[a];
            }
            parts[d] = ":";
            for (int a = shape.length - 1; a > d; a--) {
                parts[a] = Integer.toString(j % shape[a]);
                j /= shape[a];
            }
            return "[" + String.join(", ", parts) + "]";
        }
    }

    /**
     * max[j] = the largest value of slice (o, j), ignoring NaN (which then propagates through exp). Fails when
     * that maximum is infinite, unless the slice holds a NaN, since the result would be NaN either way.
     */
    private static void sliceMax(Tensor x, Slices s, int o, float[] max, String op) {
        Arrays.fill(max, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < s.n; i++) {
            int base = s.index(o, i, 0);
            for (int j = 0; j < s.inner; j++) {
                float v = x.data[base + j];
                if (v > max[j]) {
                    max[j] = v;
                }
            }
        }
        for (int j = 0; j < s.inner; j++) {
            if (Float.isInfinite(max[j]) && s.n > 0 && !sliceHasNaN(x, s, o, j)) {
                String what = max[j] > 0 ? "contains +Infinity" : "is all -Infinity";
                throw new IllegalArgumentException(op + ": the slice x" + s.name(o, j) + " of "
                        + Shapes.toString(x.shape) + " " + what + ", so its softmax is undefined (would be NaN)");
            }
        }
    }

    private static boolean sliceHasNaN(Tensor x, Slices s, int o, int j) {
        for (int i = 0; i < s.n; i++) {
            if (Float.isNaN(x.data[s.index(o, i, j)])) {
                return true;
            }
        }
        return false;
    }
}
