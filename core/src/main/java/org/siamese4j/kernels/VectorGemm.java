package org.siamese4j.kernels;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Packed, cache-blocked SGEMM on the Vector API, in the structure of BLIS / GotoBLAS
 * (see {@code docs/kernels.md} for the walk-through).
 *
 * <pre>
 * for jc in steps of NC over the columns of C        B block [KC x NC] is packed once per (jc, pc): L3
 *   for pc in steps of KC over the shared dimension
 *     pack op(B)[pc.., jc..] into NR-wide panels
 *     for ic in steps of MC over the rows of C         A block [MC x KC] packed into MR-high panels: L2
 *       for jr in steps of NR, ir in steps of MR        one B panel [KC x NR] stays in L1 while
 *         microKernel: C[ir.., jr..] += Apanel * Bpanel   the A panels stream past it
 * </pre>
 *
 * The micro-kernel keeps an MR x NR tile of C (MR rows x 2 vectors) in accumulators and, for each step p of the
 * shared dimension, broadcasts MR values of A and does 2 * MR fused multiply-adds with two vectors of B. MR
 * follows the register file: 8 rows (16 accumulators) with AVX-512's 32 vector registers, 6 rows (12) with
 * AVX2's 16. Packing copies each operand into exactly the order the micro-kernel reads, so the four
 * transpose combinations only differ in how the packing loops index the source, and ragged edges are padded
 * with zeros so the micro-kernel never needs a bounds check.
 */
final class VectorGemm {
    private static final VectorSpecies<Float> S = VectorKernels.SPECIES;
    private static final int L = S.length();
    /**
     * Rows of C per micro-tile. The tile's 2 * MR accumulators, the two vectors of B and the broadcast of A must
     * all stay in registers: 19 with 8 rows, which fits AVX-512's 32 vector registers but not AVX2's 16, where
     * the JIT would spill accumulators to the stack on every step (measured: about a third of the speed). So 8
     * rows with 512-bit vectors and 6 (15 registers, the classic 6 x 16 AVX2 tile) with narrower ones.
     */
    static final int MR = L >= 16 ? 8 : 6;
    /** Columns of C per micro-tile: two vectors. */
    static final int NR = 2 * L;
    /** Depth of a packed block: a B panel of KC x NR floats (16 KiB at 16 lanes) fits in L1 beside an A panel. */
    static final int KC = 128;
    /** Rows of a packed A block: MC x KC floats = 192 KiB, well inside L2. */
    static final int MC = 384;
    /** Columns of a packed B block: KC x NC floats = 2 MiB, shared in L3. */
    static final int NC = 4096;
    /**
     * Below this many multiply-adds (2^28, a square product of n = 645) a product stays on one thread: forking
     * costs more than it saves. n = 512 on two threads was no faster than on one on the Intel AVX-512 machine and
     * 15% slower on AMD Zen 5 (docs/benchmarks.md).
     */
    static final long PARALLEL_THRESHOLD = 1L << 28;

    private static final ThreadLocal<float[]> PACKED_A = ThreadLocal.withInitial(() -> new float[MC * KC]);
    private static final ThreadLocal<float[]> PACKED_B = new ThreadLocal<>();
    private static final ThreadLocal<float[]> EDGE_TILE = ThreadLocal.withInitial(() -> new float[MR * NR]);

    private VectorGemm() {
    }

    /** C (+)= op(A) op(B); see {@link Kernels#gemm}. Arguments are already checked. */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, float[] b, int bOff,
                     float[] c, int cOff, boolean accumulate) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0) {
            if (!accumulate) {
                for (int i = 0; i < m; i++) {
                    Arrays.fill(c, cOff + i * n, cOff + i * n + n, 0f);
                }
            }
            return;
        }
        boolean parallel = (long) m * n * k >= PARALLEL_THRESHOLD && Parallel.threads() > 1
                && !Parallel.inParallelRegion();
        if (!parallel) {
            columnStrip(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff, accumulate, 0, n);
            return;
        }
        int panels = (n + NR - 1) / NR;
        if (m <= MC && panels >= Parallel.threads()) {
            // One block of rows (a dense layer on a batch): a packed B block would serve that block alone, so
            // nothing is lost when each thread packs its own strip of columns and runs the whole depth on it, and
            // the product forks once instead of twice per KC step (a dense layer of the reference tower has 154
            // such steps, each too short to pay for its forks).
            int strips = Parallel.threads();
            Parallel.forEach(strips, s -> columnStrip(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff, accumulate,
                    panels * s / strips * NR, Math.min(n, panels * (s + 1) / strips * NR)));
            return;
        }
        for (int jc = 0; jc < n; jc += NC) {
            int nc = Math.min(NC, n - jc);
            int nPanels = (nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean add = accumulate || pc > 0;
                float[] packedB = packedBBuffer(nPanels * NR * kc);
                // Packing B is a tenth of a mid-sized product: split it too, or the other core waits.
                int chunks = Math.min(nPanels, Parallel.threads());
                final int fpc = pc;
                final int fjc = jc;
                final int fkc = kc;
                Parallel.forEach(chunks, part -> packB(transB, k, n, b, bOff, fpc, fkc, fjc, nc, packedB,
                        nPanels * part / chunks, nPanels * (part + 1) / chunks));
                int threads = Parallel.threads();
                int blockRows = balancedBlockRows(m, threads);
                int mBlocks = (m + blockRows - 1) / blockRows;
                // Split the rows into blocks and, when there are fewer blocks than threads, also split the B
                // panels, so every core stays busy.
                int panelGroups = Math.max(1, Math.min(nPanels, (2 * threads + mBlocks - 1) / mBlocks));
                int groupSize = (nPanels + panelGroups - 1) / panelGroups;
                int tasks = mBlocks * panelGroups;
                Parallel.forEach(tasks, t -> {
                    int block = t / panelGroups;
                    int group = t % panelGroups;
                    int p0 = group * groupSize;
                    int p1 = Math.min(nPanels, p0 + groupSize);
                    if (p0 < p1) {
                        blockProduct(transA, m, k, a, aOff, block * blockRows, blockRows, fpc, fkc, packedB, p0, p1,
                                fjc, nc, c, cOff, n, add);
                    }
                });
            }
        }
    }

    /**
     * Columns [j0, j1) of C by the blocked loops on one thread. Every element of C adds its products in the same
     * order (KC blocks in turn, each step p in turn) whichever strip holds it, so how the columns are cut never
     * changes the bits.
     */
    private static void columnStrip(boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff,
                                    float[] b, int bOff, float[] c, int cOff, boolean accumulate, int j0, int j1) {
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            int nPanels = (nc + NR - 1) / NR;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                float[] packedB = packedBBuffer(nPanels * NR * kc);
                packB(transB, k, n, b, bOff, pc, kc, jc, nc, packedB, 0, nPanels);
                for (int ic = 0; ic < m; ic += MC) {
                    blockProduct(transA, m, k, a, aOff, ic, MC, pc, kc, packedB, 0, nPanels, jc, nc, c, cOff, n,
                            accumulate || pc > 0);
                }
            }
        }
    }

    /**
     * C [m, n] = A B with A already in MR-row panels and B row-major (see {@link Kernels#gemmPackedA}): the
     * micro-kernel loop of {@link #blockProduct} with only B packed. Each group of NR columns of B is copied into a
     * panel once and then read by every A panel, so the copy costs 1 / (number of A panels) of the multiply-adds'
     * reads. Reading B in place instead (a step of n floats) measured as fast on AVX2, but the micro-kernel then
     * needs a stride that is not a constant, which keeps C2 from removing the bounds checks of its loads: the
     * whole GEMM lost 10-15% on JDK 17 and about a third on JDK 25 (AVX-512, 2026-12-05).
     */
    static void gemmPackedA(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        int mPanels = (m + MR - 1) / MR;
        float[] panel = packedBBuffer(k * NR);
        for (int j = 0; j < n; j += NR) {
            int cols = Math.min(NR, n - j);
            packB(false, k, n, b, bOff, 0, k, j, cols, panel, 0, 1);
            for (int ip = 0; ip < mPanels; ip++) {
                int i = ip * MR;
                microKernel(a, aOff + ip * MR * k, panel, 0, k, c, cOff + i * n + j, n, Math.min(MR, m - i), cols,
                        false);
            }
        }
    }

    /**
     * Rows per block when the blocks are shared out among {@code threads}: as many blocks per thread as rows
     * of MC need, all of (nearly) the same height, a multiple of MR. With plain MC-row blocks the last block is
     * short and the blocks do not divide evenly: 1024 rows on two threads would be 384 + 384 rows on one core
     * against 256 on the other.
     */
    static int balancedBlockRows(int m, int threads) {
        int blocks = threads * (int) ((m + (long) threads * MC - 1) / ((long) threads * MC));
        int rows = (m + blocks - 1) / blocks;
        return Math.min(MC, (rows + MR - 1) / MR * MR);
    }

    /**
     * Packs rows [ic, ic+blockRows) of op(A) (at most MC) for depth [pc, pc+kc) and multiplies them by B panels
     * [p0, p1).
     */
    private static void blockProduct(boolean transA, int m, int k, float[] a, int aOff, int ic, int blockRows,
                                     int pc, int kc, float[] packedB, int p0, int p1, int jc, int nc, float[] c,
                                     int cOff, int n, boolean add) {
        int mc = Math.min(blockRows, m - ic);
        float[] packedA = PACKED_A.get();
        packA(transA, m, k, a, aOff, ic, mc, pc, kc, packedA);
        int mPanels = (mc + MR - 1) / MR;
        for (int jp = p0; jp < p1; jp++) {
            int j = jc + jp * NR;
            int cols = Math.min(NR, jc + nc - j);
            int bPanel = jp * NR * kc;
            for (int ip = 0; ip < mPanels; ip++) {
                int i = ic + ip * MR;
                int rows = Math.min(MR, m - i);
                microKernel(packedA, ip * MR * kc, packedB, bPanel, kc, c, cOff + i * n + j, n, rows, cols, add);
            }
        }
    }

    /**
     * The MR x 2-vector tile: C[0..rows, 0..cols) (+)= sum over p of A[:, p] (x) B[p, :].
     * Packed A holds MR values per step p, packed B holds NR values per step p. The accumulators start from C
     * (when adding) or zero, so the end is a plain store; a ragged edge tile goes through a small buffer.
     *
     * <p>Two tiles, written out in full: 8 rows (16 accumulators) for AVX-512 and 6 rows (12) for AVX2. MR is a
     * constant, so the JIT compiles only one of them. Both sit in this method rather than in one method each: with
     * the 8-row tile in its own method, JDK 25 ran the whole GEMM about 15-25% slower (measured on AVX-512,
     * 2026-12-05).
     */
    private static void microKernel(float[] pa, int aIndex, float[] pb, int bIndex, int kc, float[] c,
                                    int cIndex, int ldc, int rows, int cols, boolean add) {
        boolean full = rows == MR && cols == NR;
        float[] dst = c;
        int base = cIndex;
        int ld = ldc;
        if (!full) {
            // Ragged edge: work on a full-size copy of the tile, then copy back only the part inside C.
            dst = EDGE_TILE.get();
            Arrays.fill(dst, 0f);
            if (add) {
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(c, cIndex + r * ldc, dst, r * NR, cols);
                }
            }
            base = 0;
            ld = NR;
        }
        boolean load = add || !full;
        if (MR == 8) {
            FloatVector c00 = start(load, dst, base), c01 = start(load, dst, base + L);
            FloatVector c10 = start(load, dst, base + ld), c11 = start(load, dst, base + ld + L);
            FloatVector c20 = start(load, dst, base + 2 * ld), c21 = start(load, dst, base + 2 * ld + L);
            FloatVector c30 = start(load, dst, base + 3 * ld), c31 = start(load, dst, base + 3 * ld + L);
            FloatVector c40 = start(load, dst, base + 4 * ld), c41 = start(load, dst, base + 4 * ld + L);
            FloatVector c50 = start(load, dst, base + 5 * ld), c51 = start(load, dst, base + 5 * ld + L);
            FloatVector c60 = start(load, dst, base + 6 * ld), c61 = start(load, dst, base + 6 * ld + L);
            FloatVector c70 = start(load, dst, base + 7 * ld), c71 = start(load, dst, base + 7 * ld + L);
            int ai = aIndex;
            int bi = bIndex;
            for (int p = 0; p < kc; p++, ai += 8, bi += NR) {
                FloatVector b0 = FloatVector.fromArray(S, pb, bi);
                FloatVector b1 = FloatVector.fromArray(S, pb, bi + L);
                FloatVector av = FloatVector.broadcast(S, pa[ai]);
                c00 = av.fma(b0, c00);
                c01 = av.fma(b1, c01);
                av = FloatVector.broadcast(S, pa[ai + 1]);
                c10 = av.fma(b0, c10);
                c11 = av.fma(b1, c11);
                av = FloatVector.broadcast(S, pa[ai + 2]);
                c20 = av.fma(b0, c20);
                c21 = av.fma(b1, c21);
                av = FloatVector.broadcast(S, pa[ai + 3]);
                c30 = av.fma(b0, c30);
                c31 = av.fma(b1, c31);
                av = FloatVector.broadcast(S, pa[ai + 4]);
                c40 = av.fma(b0, c40);
                c41 = av.fma(b1, c41);
                av = FloatVector.broadcast(S, pa[ai + 5]);
                c50 = av.fma(b0, c50);
                c51 = av.fma(b1, c51);
                av = FloatVector.broadcast(S, pa[ai + 6]);
                c60 = av.fma(b0, c60);
                c61 = av.fma(b1, c61);
                av = FloatVector.broadcast(S, pa[ai + 7]);
                c70 = av.fma(b0, c70);
                c71 = av.fma(b1, c71);
            }
            c00.intoArray(dst, base);
            c01.intoArray(dst, base + L);
            c10.intoArray(dst, base + ld);
            c11.intoArray(dst, base + ld + L);
            c20.intoArray(dst, base + 2 * ld);
            c21.intoArray(dst, base + 2 * ld + L);
            c30.intoArray(dst, base + 3 * ld);
            c31.intoArray(dst, base + 3 * ld + L);
            c40.intoArray(dst, base + 4 * ld);
            c41.intoArray(dst, base + 4 * ld + L);
            c50.intoArray(dst, base + 5 * ld);
            c51.intoArray(dst, base + 5 * ld + L);
            c60.intoArray(dst, base + 6 * ld);
            c61.intoArray(dst, base + 6 * ld + L);
            c70.intoArray(dst, base + 7 * ld);
            c71.intoArray(dst, base + 7 * ld + L);
        } else {
            FloatVector c00 = start(load, dst, base), c01 = start(load, dst, base + L);
            FloatVector c10 = start(load, dst, base + ld), c11 = start(load, dst, base + ld + L);
            FloatVector c20 = start(load, dst, base + 2 * ld), c21 = start(load, dst, base + 2 * ld + L);
            FloatVector c30 = start(load, dst, base + 3 * ld), c31 = start(load, dst, base + 3 * ld + L);
            FloatVector c40 = start(load, dst, base + 4 * ld), c41 = start(load, dst, base + 4 * ld + L);
            FloatVector c50 = start(load, dst, base + 5 * ld), c51 = start(load, dst, base + 5 * ld + L);
            int ai = aIndex;
            int bi = bIndex;
            for (int p = 0; p < kc; p++, ai += 6, bi += NR) {
                FloatVector b0 = FloatVector.fromArray(S, pb, bi);
                FloatVector b1 = FloatVector.fromArray(S, pb, bi + L);
                FloatVector av = FloatVector.broadcast(S, pa[ai]);
                c00 = av.fma(b0, c00);
                c01 = av.fma(b1, c01);
                av = FloatVector.broadcast(S, pa[ai + 1]);
                c10 = av.fma(b0, c10);
                c11 = av.fma(b1, c11);
                av = FloatVector.broadcast(S, pa[ai + 2]);
                c20 = av.fma(b0, c20);
                c21 = av.fma(b1, c21);
                av = FloatVector.broadcast(S, pa[ai + 3]);
                c30 = av.fma(b0, c30);
                c31 = av.fma(b1, c31);
                av = FloatVector.broadcast(S, pa[ai + 4]);
                c40 = av.fma(b0, c40);
                c41 = av.fma(b1, c41);
                av = FloatVector.broadcast(S, pa[ai + 5]);
                c50 = av.fma(b0, c50);
                c51 = av.fma(b1, c51);
            }
            c00.intoArray(dst, base);
            c01.intoArray(dst, base + L);
            c10.intoArray(dst, base + ld);
            c11.intoArray(dst, base + ld + L);
            c20.intoArray(dst, base + 2 * ld);
            c21.intoArray(dst, base + 2 * ld + L);
            c30.intoArray(dst, base + 3 * ld);
            c31.intoArray(dst, base + 3 * ld + L);
            c40.intoArray(dst, base + 4 * ld);
            c41.intoArray(dst, base + 4 * ld + L);
            c50.intoArray(dst, base + 5 * ld);
            c51.intoArray(dst, base + 5 * ld + L);
        }
        if (!full) {
            for (int r = 0; r < rows; r++) {
                System.arraycopy(dst, r * NR, c, cIndex + r * ldc, cols);
            }
        }
    }

    private static FloatVector start(boolean load, float[] src, int index) {
        return load ? FloatVector.fromArray(S, src, index) : FloatVector.zero(S);
    }

    /**
     * Packs op(A)[ic..ic+mc, pc..pc+kc] as MR-row panels: panel q holds, for each step p, the MR values
     * op(A)[ic + q*MR + r, pc + p] for r = 0..MR-1 (zeros past the last row).
     */
    private static void packA(boolean transA, int m, int k, float[] a, int aOff, int ic, int mc, int pc, int kc,
                              float[] packed) {
        int panels = (mc + MR - 1) / MR;
        for (int q = 0; q < panels; q++) {
            int base = q * MR * kc;
            int i0 = ic + q * MR;
            int rows = Math.min(MR, ic + mc - i0);
            if (transA) {
                // A stored [k, m]: op(A)[i, p] = a[p*m + i], so the MR values of one step are contiguous.
                for (int p = 0; p < kc; p++) {
                    int src = aOff + (pc + p) * m + i0;
                    int dst = base + p * MR;
                    System.arraycopy(a, src, packed, dst, rows);
                    Arrays.fill(packed, dst + rows, dst + MR, 0f);
                }
            } else {
                // A stored [m, k]: walk each source row once, scattering with stride MR.
                for (int r = 0; r < MR; r++) {
                    if (r < rows) {
                        int src = aOff + (i0 + r) * k + pc;
                        for (int p = 0; p < kc; p++) {
                            packed[base + p * MR + r] = a[src + p];
                        }
                    } else {
                        for (int p = 0; p < kc; p++) {
                            packed[base + p * MR + r] = 0f;
                        }
                    }
                }
            }
        }
    }

    /**
     * Packs panels [q0, q1) of op(B)[pc..pc+kc, jc..jc+nc] as NR-column panels: panel q holds, for each step p,
     * the NR values op(B)[pc + p, jc + q*NR + j] for j = 0..NR-1 (zeros past the last column).
     */
    private static void packB(boolean transB, int k, int n, float[] b, int bOff, int pc, int kc, int jc, int nc,
                              float[] packed, int q0, int q1) {
        for (int q = q0; q < q1; q++) {
            int base = q * NR * kc;
            int j0 = jc + q * NR;
            int cols = Math.min(NR, jc + nc - j0);
            if (!transB) {
                // B stored [k, n]: the NR values of one step are contiguous in a row of B.
                for (int p = 0; p < kc; p++) {
                    int src = bOff + (pc + p) * n + j0;
                    int dst = base + p * NR;
                    System.arraycopy(b, src, packed, dst, cols);
                    if (cols < NR) {
                        Arrays.fill(packed, dst + cols, dst + NR, 0f);
                    }
                }
            } else {
                // B stored [n, k]: op(B)[p, j] = b[j*k + p]; walk each source row once.
                for (int j = 0; j < NR; j++) {
                    if (j < cols) {
                        int src = bOff + (j0 + j) * k + pc;
                        for (int p = 0; p < kc; p++) {
                            packed[base + p * NR + j] = b[src + p];
                        }
                    } else {
                        for (int p = 0; p < kc; p++) {
                            packed[base + p * NR + j] = 0f;
                        }
                    }
                }
            }
        }
    }

    private static float[] packedBBuffer(int size) {
        float[] buf = PACKED_B.get();
        if (buf == null || buf.length < size) {
            buf = new float[Math.max(size, NR * KC)];
            PACKED_B.set(buf);
        }
        return buf;
    }
}
