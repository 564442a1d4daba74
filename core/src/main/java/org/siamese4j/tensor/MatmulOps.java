package org.siamese4j.tensor;

import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Kernels;

/**
 * Matrix products, 2-D and batched, with either operand optionally transposed (read in place by the GEMM
 * kernel, never copied).
 *
 * <p>With {@code C = op(A) op(B)} and upstream gradient {@code G = dL/dC}:
 * {@code dL/d op(A) = G op(B)^T} and {@code dL/d op(B) = op(A)^T G}. When an operand was stored transposed,
 * its stored gradient is the transpose of that, which is again a GEMM with the flags swapped:
 * <pre>
 *   A stored [m,k]:  dA  = G  op(B)^T          A stored [k,m]:  dA = op(B) G^T
 *   B stored [k,n]:  dB  = op(A)^T G           B stored [n,k]:  dB = G^T op(A)
 * </pre>
 */
final class MatmulOps {
    private MatmulOps() {
    }

    /**
     * a: [m, k] (or [k, m] with transA), optionally with a leading batch dimension; b likewise [k, n] (or
     * [n, k]). If both are 3-D their batch sizes must match; a 3-D operand times a 2-D one reuses the 2-D
     * matrix for every batch entry. out: [m, n] or [batch, m, n].
     */
    static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        if (a.shape.length < 2 || a.shape.length > 3 || b.shape.length < 2 || b.shape.length > 3) {
            throw new IllegalArgumentException("matmul: operands must be 2-D or 3-D (batched), got "
                    + Shapes.toString(a.shape) + " and " + Shapes.toString(b.shape));
        }
        int batchA = a.shape.length == 3 ? a.shape[0] : 1;
        int batchB = b.shape.length == 3 ? b.shape[0] : 1;
        if (a.shape.length == 3 && b.shape.length == 3 && batchA != batchB) {
            throw new IllegalArgumentException("matmul: batch sizes differ: " + Shapes.toString(a.shape) + " and "
                    + Shapes.toString(b.shape));
        }
        int batch = Math.max(batchA, batchB);
        int ra = a.shape.length - 2;
        int rb = b.shape.length - 2;
        int m = transA ? a.shape[ra + 1] : a.shape[ra];
        int k = transA ? a.shape[ra] : a.shape[ra + 1];
        int kb = transB ? b.shape[rb + 1] : b.shape[rb];
        int n = transB ? b.shape[rb] : b.shape[rb + 1];
        if (k != kb) {
            throw new IllegalArgumentException("matmul: inner dimensions differ: " + describe(a, transA) + " x "
                    + describe(b, transB) + " (" + k + " vs " + kb + ")");
        }
        boolean batched = a.shape.length == 3 || b.shape.length == 3;
        Tensor out = Tensor.fresh(batched ? new int[] {batch, m, n} : new int[] {m, n});
        int strideA = batchA == 1 ? 0 : m * k;
        int strideB = batchB == 1 ? 0 : k * n;
        Kernels kernels = KernelProvider.kernels();
        for (int i = 0; i < batch; i++) {
            kernels.gemm(transA, transB, m, n, k, a.data, i * strideA, b.data, i * strideB, out.data, i * m * n,
                    false);
        }
        return out.recordOp("matmul", () -> {
            float[] g = out.grad;
            for (int i = 0; i < batch; i++) {
                int aOff = i * strideA;
                int bOff = i * strideB;
                int gOff = i * m * n;
                if (a.requiresGrad) {
                    if (!transA) {   // dA[m,k] += G[m,n] op(B)^T
                        kernels.gemm(false, !transB, m, k, n, g, gOff, b.data, bOff, a.gradBuffer(), aOff, true);
                    } else {         // dA[k,m] += op(B)[k,n] G^T
                        kernels.gemm(transB, true, k, m, n, b.data, bOff, g, gOff, a.gradBuffer(), aOff, true);
                    }
                }
                if (b.requiresGrad) {
                    if (!transB) {   // dB[k,n] += op(A)^T[k,m] G[m,n]
                        kernels.gemm(!transA, false, k, n, m, a.data, aOff, g, gOff, b.gradBuffer(), bOff, true);
                    } else {         // dB[n,k] += G^T[n,m] op(A)[m,k]
                        kernels.gemm(true, transA, n, k, m, g, gOff, a.data, aOff, b.gradBuffer(), bOff, true);
                    }
                }
            }
        }, a, b);
    }

    private static String describe(Tensor t, boolean transposed) {
        return Shapes.toString(t.shape) + (transposed ? "^T" : "");
    }
}
