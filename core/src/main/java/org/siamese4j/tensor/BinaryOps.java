package org.siamese4j.tensor;

import java.util.Arrays;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Kernels;

/**
 * Binary elementwise ops with numpy broadcasting: add, sub, mul, div, and their scalar forms.
 *
 * <p>Broadcasting lines shapes up from the right; a dimension of 1 (or a missing one) is repeated to match.
 * In backward, the gradient of a broadcast input is the output gradient summed over the dimensions it was
 * repeated along ({@link #reduceToShape}).
 */
final class BinaryOps {
    private BinaryOps() {
    }

    private static Kernels k() {
        return KernelProvider.kernels();
    }

    /** out = a + b.  d/da = 1, d/db = 1. */
    static Tensor add(Tensor a, Tensor b) {
        Tensor out = Tensor.fresh(Shapes.broadcast(a.shape, b.shape, "add"));
        if (sameShape(a, b)) {
            k().add(a.data, b.data, out.data, out.data.length);
        } else {
            Broadcast bc = new Broadcast(a.shape, b.shape, out.shape);
            for (int i = 0; i < out.data.length; i++) {
                out.data[i] = a.data[bc.a[i]] + b.data[bc.b[i]];
            }
        }
        return out.recordOp("add", () -> {
            if (a.requiresGrad) {
                accumulateReduced(a, out.grad, out.shape);
            }
            if (b.requiresGrad) {
                accumulateReduced(b, out.grad, out.shape);
            }
        }, a, b);
    }

    /** out = a - b.  d/da = 1, d/db = -1. */
    static Tensor sub(Tensor a, Tensor b) {
        Tensor out = Tensor.fresh(Shapes.broadcast(a.shape, b.shape, "sub"));
        if (sameShape(a, b)) {
            k().sub(a.data, b.data, out.data, out.data.length);
        } else {
            Broadcast bc = new Broadcast(a.shape, b.shape, out.shape);
            for (int i = 0; i < out.data.length; i++) {
                out.data[i] = a.data[bc.a[i]] - b.data[bc.b[i]];
            }
        }
        return out.recordOp("sub", () -> {
            if (a.requiresGrad) {
                accumulateReduced(a, out.grad, out.shape);
            }
            if (b.requiresGrad) {
                float[] negated = new float[out.grad.length];
                k().scale(-1f, out.grad, negated, negated.length);
                accumulateReduced(b, negated, out.shape);
            }
        }, a, b);
    }

    /** out = a * b.  d/da = b, d/db = a. */
    static Tensor mul(Tensor a, Tensor b) {
        Tensor out = Tensor.fresh(Shapes.broadcast(a.shape, b.shape, "mul"));
        Broadcast bc = sameShape(a, b) ? null : new Broadcast(a.shape, b.shape, out.shape);
        if (bc == null) {
            k().mul(a.data, b.data, out.data, out.data.length);
        } else {
            for (int i = 0; i < out.data.length; i++) {
                out.data[i] = a.data[bc.a[i]] * b.data[bc.b[i]];
            }
        }
        return out.recordOp("mul", () -> {
            float[] g = out.grad;
            if (a.requiresGrad) {
                float[] ga = new float[g.length];
                for (int i = 0; i < g.length; i++) {
                    ga[i] = g[i] * b.data[bc == null ? i : bc.b[i]];
                }
                accumulateReduced(a, ga, out.shape);
            }
            if (b.requiresGrad) {
                float[] gb = new float[g.length];
                for (int i = 0; i < g.length; i++) {
                    gb[i] = g[i] * a.data[bc == null ? i : bc.a[i]];
                }
                accumulateReduced(b, gb, out.shape);
            }
        }, a, b);
    }

    /** out = a / b.  d/da = 1/b, d/db = -a/b^2. Division by zero follows IEEE (inf or NaN), as in PyTorch. */
    static Tensor div(Tensor a, Tensor b) {
        Tensor out = Tensor.fresh(Shapes.broadcast(a.shape, b.shape, "div"));
        Broadcast bc = sameShape(a, b) ? null : new Broadcast(a.shape, b.shape, out.shape);
        for (int i = 0; i < out.data.length; i++) {
            out.data[i] = a.data[bc == null ? i : bc.a[i]] / b.data[bc == null ? i : bc.b[i]];
        }
        return out.recordOp("div", () -> {
            float[] g = out.grad;
            if (a.requiresGrad) {
                float[] ga = new float[g.length];
                for (int i = 0; i < g.length; i++) {
                    ga[i] = g[i] / b.data[bc == null ? i : bc.b[i]];
                }
                accumulateReduced(a, ga, out.shape);
            }
            if (b.requiresGrad) {
                float[] gb = new float[g.length];
                for (int i = 0; i < g.length; i++) {
                    float bi = b.data[bc == null ? i : bc.b[i]];
                    gb[i] = -g[i] * a.data[bc == null ? i : bc.a[i]] / (bi * bi);
                }
                accumulateReduced(b, gb, out.shape);
            }
        }, a, b);
    }

    /** out = x + c.  d/dx = 1. */
    static Tensor addScalar(Tensor x, float c) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < out.data.length; i++) {
            out.data[i] = x.data[i] + c;
        }
        return out.recordOp("add_scalar", () -> x.accumulateGrad(out.grad), x);
    }

    /** out = c * x.  d/dx = c. */
    static Tensor mulScalar(Tensor x, float c) {
        Tensor out = Tensor.fresh(x.shape);
        k().scale(c, x.data, out.data, out.data.length);
        return out.recordOp("mul_scalar", () -> k().axpy(c, out.grad, x.gradBuffer(), out.grad.length), x);
    }

    // ---------------------------------------------------------------------------------------------------

    private static boolean sameShape(Tensor a, Tensor b) {
        return Arrays.equals(a.shape, b.shape);
    }

    /** Adds {@code g} (shaped like the broadcast output) into {@code t.grad}, summing over repeated dimensions. */
    static void accumulateReduced(Tensor t, float[] g, int[] outShape) {
        float[] dst = t.gradBuffer();
        if (Arrays.equals(t.shape, outShape)) {
            k().axpy(1f, g, dst, dst.length);
            return;
        }
        reduceToShape(g, outShape, t.shape, dst);
    }

    /** dst[j] += sum of g over every output position that read input position j. */
    static void reduceToShape(float[] g, int[] outShape, int[] inShape, float[] dst) {
        int[] strides = Shapes.broadcastStrides(inShape, outShape);
        int[] index = new int[outShape.length];
        int src = 0;
        for (int i = 0; i < g.length; i++) {
            dst[src] += g[i];
            // odometer increment of the output index, keeping src = sum(index * strides)
            for (int d = outShape.length - 1; d >= 0; d--) {
                index[d]++;
                src += strides[d];
                if (index[d] < outShape[d]) {
                    break;
                }
                src -= strides[d] * index[d];
                index[d] = 0;
            }
        }
    }

    /** For each output element, the flat index it reads in each broadcast input. */
    static final class Broadcast {
        final int[] a;
        final int[] b;

        Broadcast(int[] aShape, int[] bShape, int[] outShape) {
            this.a = sourceIndices(aShape, outShape);
            this.b = sourceIndices(bShape, outShape);
        }

        static int[] sourceIndices(int[] inShape, int[] outShape) {
            int n = Shapes.size(outShape);
            int[] result = new int[n];
            int[] strides = Shapes.broadcastStrides(inShape, outShape);
            int[] index = new int[outShape.length];
            int src = 0;
            for (int i = 0; i < n; i++) {
                result[i] = src;
                for (int d = outShape.length - 1; d >= 0; d--) {
                    index[d]++;
                    src += strides[d];
                    if (index[d] < outShape[d]) {
                        break;
                    }
                    src -= strides[d] * index[d];
                    index[d] = 0;
                }
            }
            return result;
        }
    }
}
