package org.siamese4j.kernels;

import java.util.Arrays;

/**
 * SGEMM in plain Java with the same cache blocking and packing as {@link VectorGemm}, but a scalar 4 x 4
 * register tile instead of SIMD. It is the middle rung of the benchmark ladder (naive loops, then blocking,
 * then SIMD): the difference to {@link ScalarKernels#gemm} shows what blocking alone buys, the difference to
 * the Vector API kernel what SIMD buys. Single-threaded; tested against the naive reference.
 */
public final class ScalarBlockedGemm {
    private static final int MR = 4;
    private static final int NR = 4;
    private static final int KC = 256;
    private static final int MC = 128;
    private static final int NC = 2048;

    private ScalarBlockedGemm() {
    }

    /** C (+)= op(A) op(B), with the argument conventions of {@link Kernels#gemm}. */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, float[] b,
                            int bOff, float[] c, int cOff, boolean accumulate) {
        GemmChecks.check(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff);
        if (!accumulate) {
            for (int i = 0; i < m; i++) {
                Arrays.fill(c, cOff + i * n, cOff + i * n + n, 0f);
            }
        }
        float[] packedA = new float[MC * KC];
        float[] packedB = new float[KC * NC];
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                // pack op(B)[pc.., jc..] in NR-wide panels, zero-padded
                int nPanels = (nc + NR - 1) / NR;
                for (int q = 0; q < nPanels; q++) {
                    for (int p = 0; p < kc; p++) {
                        for (int j = 0; j < NR; j++) {
                            int col = jc + q * NR + j;
                            packedB[(q * kc + p) * NR + j] = col < jc + nc
                                    ? (transB ? b[bOff + col * k + pc + p] : b[bOff + (pc + p) * n + col]) : 0f;
                        }
                    }
                }
                for (int ic = 0; ic < m; ic += MC) {
                    int mc = Math.min(MC, m - ic);
                    int mPanels = (mc + MR - 1) / MR;
                    for (int q = 0; q < mPanels; q++) {
                        for (int p = 0; p < kc; p++) {
                            for (int r = 0; r < MR; r++) {
                                int row = ic + q * MR + r;
                                packedA[(q * kc + p) * MR + r] = row < ic + mc
                                        ? (transA ? a[aOff + (pc + p) * m + row] : a[aOff + row * k + pc + p]) : 0f;
                            }
                        }
                    }
                    for (int qj = 0; qj < nPanels; qj++) {
                        for (int qi = 0; qi < mPanels; qi++) {
                            tile(packedA, qi * kc * MR, packedB, qj * kc * NR, kc, c, cOff, n,
                                    ic + qi * MR, jc + qj * NR, Math.min(MR, m - ic - qi * MR),
                                    Math.min(NR, n - jc - qj * NR));
                        }
                    }
                }
            }
        }
    }

    /** A 4 x 4 tile of C accumulated in 16 local variables, then added into C. */
    private static void tile(float[] pa, int ai, float[] pb, int bi, int kc, float[] c, int cOff, int ldc, int i0,
                             int j0, int rows, int cols) {
        float c00 = 0, c01 = 0, c02 = 0, c03 = 0;
        float c10 = 0, c11 = 0, c12 = 0, c13 = 0;
        float c20 = 0, c21 = 0, c22 = 0, c23 = 0;
        float c30 = 0, c31 = 0, c32 = 0, c33 = 0;
        for (int p = 0; p < kc; p++, ai += MR, bi += NR) {
            float a0 = pa[ai], a1 = pa[ai + 1], a2 = pa[ai + 2], a3 = pa[ai + 3];
            float b0 = pb[bi], b1 = pb[bi + 1], b2 = pb[bi + 2], b3 = pb[bi + 3];
            c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
            c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
            c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
            c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
        }
        float[] t = {c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33};
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                c[cOff + (i0 + r) * ldc + j0 + j] += t[r * NR + j];
            }
        }
    }
}
