package org.siamese4j.tensor;

import org.siamese4j.kernels.KernelProvider;

/**
 * Reductions: sum, mean and max, over everything or along one dimension.
 *
 * <p>Along a dimension, a tensor is viewed as [outer, n, inner] where n is the reduced dimension; the result
 * is [outer, inner] (or [outer, 1, inner] with {@code keepDim}). Sums accumulate in double.
 */
final class ReduceOps {
    private ReduceOps() {
    }

    /** Values and, for max, the position along the reduced dimension that won. */
    record MaxResult(Tensor values, int[] indices) {
    }

    /** out = sum_i x_i.  d/dx_i = 1. */
    static Tensor sum(Tensor x) {
        Tensor out = Tensor.scalar((float) KernelProvider.kernels().sum(x.data, 0, x.data.length));
        return out.recordOp("sum", () -> {
            float g = out.grad[0];
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                dst[i] += g;
            }
        }, x);
    }

    /** out = sum_i x_i / n.  d/dx_i = 1/n. */
    static Tensor mean(Tensor x) {
        if (x.data.length == 0) {
            throw new IllegalArgumentException("mean of an empty tensor " + Shapes.toString(x.shape));
        }
        float n = x.data.length;
        Tensor out = Tensor.scalar((float) (KernelProvider.kernels().sum(x.data, 0, x.data.length) / n));
        return out.recordOp("mean", () -> {
            float g = out.grad[0] / n;
            float[] dst = x.gradBuffer();
            for (int i = 0; i < dst.length; i++) {
                dst[i] += g;
            }
        }, x);
    }

    /** out[o, j] = sum_i x[o, i, j].  d/dx[o, i, j] = g[o, j]. */
    static Tensor sum(Tensor x, int dim, boolean keepDim) {
        return sumAlong(x, dim, keepDim, 1.0, "sum_dim");
    }

    /** out[o, j] = sum_i x[o, i, j] / n.  d/dx[o, i, j] = g[o, j] / n. */
    static Tensor mean(Tensor x, int dim, boolean keepDim) {
        int d = Shapes.axis(dim, x.shape.length, "mean");
        if (x.shape[d] == 0) {
            throw new IllegalArgumentException("mean over empty dimension " + dim + " of " + Shapes.toString(x.shape));
        }
        return sumAlong(x, dim, keepDim, 1.0 / x.shape[d], "mean_dim");
    }

    private static Tensor sumAlong(Tensor x, int dim, boolean keepDim, double scale, String name) {
        int d = Shapes.axis(dim, x.shape.length, name);
        int outer = outer(x.shape, d);
        int n = x.shape[d];
        int inner = inner(x.shape, d);
        Tensor out = Tensor.fresh(reducedShape(x.shape, d, keepDim));
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s += x.data[(o * n + i) * inner + j];
                }
                out.data[o * inner + j] = (float) (s * scale);
            }
        }
        float fscale = (float) scale;
        return out.recordOp(name, () -> {
            float[] dst = x.gradBuffer();
            for (int o = 0; o < outer; o++) {
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < inner; j++) {
                        dst[(o * n + i) * inner + j] += out.grad[o * inner + j] * fscale;
                    }
                }
            }
        }, x);
    }

    /** out = max_i x_i.  The gradient flows to the first maximum only. */
    static Tensor max(Tensor x) {
        if (x.data.length == 0) {
            throw new IllegalArgumentException("max of an empty tensor " + Shapes.toString(x.shape));
        }
        int best = 0;
        for (int i = 1; i < x.data.length; i++) {
            if (x.data[i] > x.data[best] || Float.isNaN(x.data[i]) && !Float.isNaN(x.data[best])) {
                best = i;
            }
        }
        int winner = best;
        Tensor out = Tensor.scalar(x.data[winner]);
        return out.recordOp("max", () -> x.gradBuffer()[winner] += out.grad[0], x);
    }

    /** out[o, j] = max_i x[o, i, j]; the gradient flows to the (first) winning i. */
    static MaxResult max(Tensor x, int dim, boolean keepDim) {
        int d = Shapes.axis(dim, x.shape.length, "max");
        int outer = outer(x.shape, d);
        int n = x.shape[d];
        int inner = inner(x.shape, d);
        if (n == 0) {
            throw new IllegalArgumentException("max over empty dimension " + dim + " of " + Shapes.toString(x.shape));
        }
        Tensor out = Tensor.fresh(reducedShape(x.shape, d, keepDim));
        int[] winners = new int[outer * inner];
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                int best = 0;
                float bestValue = x.data[o * n * inner + j];
                for (int i = 1; i < n; i++) {
                    float v = x.data[(o * n + i) * inner + j];
                    if (v > bestValue || Float.isNaN(v) && !Float.isNaN(bestValue)) {
                        best = i;
                        bestValue = v;
                    }
                }
                winners[o * inner + j] = best;
                out.data[o * inner + j] = bestValue;
            }
        }
        out.recordOp("max_dim", () -> {
            float[] dst = x.gradBuffer();
            for (int o = 0; o < outer; o++) {
                for (int j = 0; j < inner; j++) {
                    dst[(o * n + winners[o * inner + j]) * inner + j] += out.grad[o * inner + j];
                }
            }
        }, x);
        return new MaxResult(out, winners);
    }

    // ---------------------------------------------------------------------------------------------------

    static int outer(int[] shape, int d) {
        int p = 1;
        for (int i = 0; i < d; i++) {
            p *= shape[i];
        }
        return p;
    }

    static int inner(int[] shape, int d) {
        int p = 1;
        for (int i = d + 1; i < shape.length; i++) {
            p *= shape[i];
        }
        return p;
    }

    static int[] reducedShape(int[] shape, int d, boolean keepDim) {
        if (keepDim) {
            int[] s = shape.clone();
            s[d] = 1;
            return s;
        }
        int[] s = new int[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != d) {
                s[j++] = shape[i];
            }
        }
        return s;
    }
}
