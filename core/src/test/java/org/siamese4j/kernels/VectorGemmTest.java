package org.siamese4j.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The packed, blocked GEMM against the scalar reference on shapes chosen to cross every blocking boundary:
 * ragged micro-tiles (MR = 8 rows with 512-bit vectors, 6 with narrower ones; NR = 2 vectors), more than one KC depth block (128), more than one MC row
 * block (384), more than one NC column block (4096), and products big enough to take the parallel path.
 */
class VectorGemmTest {

    @ParameterizedTest(name = "scalar blocked m={0} n={1} k={2}")
    @CsvSource({"1, 1, 1", "5, 3, 7", "9, 33, 17", "130, 5, 300", "7, 2100, 9"})
    void scalarBlockedEqualsTheNaiveReference(int m, int n, int k) {
        Rng rng = new Rng(m * 13L + n * 5L + k);
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (boolean acc : new boolean[] {false, true}) {
                    float[] a = Tensor.uniform(rng, -1, 1, m * k + 1).data();
                    float[] b = Tensor.uniform(rng, -1, 1, k * n + 2).data();
                    float[] c0 = Tensor.uniform(rng, -1, 1, m * n).data();
                    float[] expected = c0.clone();
                    float[] actual = c0.clone();
                    KernelProvider.scalar().gemm(ta, tb, m, n, k, a, 1, b, 2, expected, 0, acc);
                    ScalarBlockedGemm.gemm(ta, tb, m, n, k, a, 1, b, 2, actual, 0, acc);
                    float tol = 1e-6f * k + 1e-6f;
                    for (int i = 0; i < expected.length; i++) {
                        assertThat(actual[i]).as("ta=%s tb=%s acc=%s index %d", ta, tb, acc, i)
                                .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(tol));
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @CsvSource({
        "8, 32, 16", "9, 33, 17", "7, 31, 129", "17, 65, 257", "400, 70, 300", "5, 4100, 9",
        "161, 161, 161", "300, 257, 1000", "33, 2000, 700", "1, 259, 300", "3, 7, 33", "2, 5, 3", "8, 48, 16",
        "9, 24, 17", "2, 13, 40"})
    void equalsTheScalarReference(int m, int n, int k) {
        Kernels vector = KernelProvider.vectorOrNull();
        assumeTrue(vector != null, "Vector API module not present in this run");
        Kernels scalar = KernelProvider.scalar();
        Rng rng = new Rng(m * 31L + n * 7L + k);
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                for (boolean acc : new boolean[] {false, true}) {
                    float[] a = Tensor.uniform(rng, -1, 1, m * k + 3).data();
                    float[] b = Tensor.uniform(rng, -1, 1, k * n + 5).data();
                    float[] c0 = Tensor.uniform(rng, -1, 1, m * n + 2).data();
                    float[] expected = c0.clone();
                    float[] actual = c0.clone();
                    scalar.gemm(ta, tb, m, n, k, a, 3, b, 5, expected, 2, acc);
                    vector.gemm(ta, tb, m, n, k, a, 3, b, 5, actual, 2, acc);
                    // Different summation order: allow a few ulps of a sum of k terms of size <= 1.
                    float tol = 1e-6f * k + 1e-6f;
                    for (int i = 0; i < expected.length; i++) {
                        assertThat(actual[i]).as("ta=%s tb=%s acc=%s index %d", ta, tb, acc, i)
                                .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(tol));
                    }
                }
            }
        }
    }

    /**
     * gemmPackedA with A laid out by the documented index map, NaN in every padding slot of A and around B: the
     * product must equal the plain one, the padding must never reach C, and nothing outside B may be read. For
     * the scalar kernels (panels of 1 row) in every run, for the vector kernels' micro-tile panels when the module
     * is present; widths that are and are not a multiple of the micro-tile's.
     */
    @ParameterizedTest(name = "packed A m={0} n={1} k={2}")
    @CsvSource({"1, 1, 1", "6, 16, 8", "8, 32, 16", "13, 70, 33", "64, 644, 32", "64, 168, 32", "128, 42, 64",
        "128, 168, 64", "3, 5, 200"})
    void packedAProductEqualsThePlainProduct(int m, int n, int k) {
        Rng rng = new Rng(m * 17L + n * 3L + k);
        float[] a = Tensor.uniform(rng, -1, 1, m * k).data();
        float[] b = Tensor.uniform(rng, -1, 1, k * n).data();
        float[] expected = new float[m * n];
        KernelProvider.scalar().gemm(false, false, m, n, k, a, 0, b, 0, expected, 0, false);
        float[] bPadded = new float[2 + k * n + 40];
        java.util.Arrays.fill(bPadded, Float.NaN);
        System.arraycopy(b, 0, bPadded, 2, k * n);
        for (Kernels kernels : new Kernels[] {KernelProvider.scalar(), KernelProvider.vectorOrNull()}) {
            if (kernels == null) {
                continue;
            }
            int h = kernels.gemmPanelRows();
            float[] pa = new float[1 + (m + h - 1) / h * h * k];
            java.util.Arrays.fill(pa, Float.NaN);
            for (int i = 0; i < m; i++) {
                for (int p = 0; p < k; p++) {
                    pa[1 + (i / h) * h * k + p * h + i % h] = a[i * k + p];
                }
            }
            float[] actual = new float[m * n + 3];
            java.util.Arrays.fill(actual, -7f);
            kernels.gemmPackedA(m, n, k, pa, 1, bPadded, 2, actual, 3);
            float tol = 1e-6f * k + 1e-6f;
            for (int i = 0; i < 3; i++) {
                assertThat(actual[i]).as("%s: before C", kernels.name()).isEqualTo(-7f);
            }
            for (int i = 0; i < m * n; i++) {
                assertThat(actual[3 + i]).as("%s: C[%d, %d]", kernels.name(), i / n, i % n)
                        .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(tol));
            }
        }
    }

    @Test
    void packedAProductRejectsTooShortOperandsNamingThem() {
        Kernels kernels = KernelProvider.kernels();
        int h = kernels.gemmPanelRows();
        int m = h + 1;
        int n = 7;
        int k = 5;
        float[] a = new float[2 * h * k];
        float[] b = new float[k * n - 1];
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> kernels.gemmPackedA(m, n, k, a, 0, b, 0, new float[m * n], 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("B [5, 7]")
                .hasMessageContaining("needs " + k * n);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> kernels.gemmPackedA(m, n, k, new float[m * k - 1], 0, new float[k * n], 0,
                                new float[m * n], 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("A [" + m + ", 5] in panels of " + h + " rows");
    }

    @org.junit.jupiter.api.Test
    void parallelRowBlocksAreBalancedMultiplesOfTheMicroTile() {
        assumeTrue(KernelProvider.vectorOrNull() != null, "Vector API module not present in this run");
        for (int threads = 2; threads <= 4; threads++) {
            for (int m : new int[] {8, 100, 384, 385, 1000, 1024, 2048, 4099}) {
                int rows = VectorGemm.balancedBlockRows(m, threads);
                int blocks = (m + rows - 1) / rows;
                assertThat(rows).as("m=%d threads=%d", m, threads).isLessThanOrEqualTo(VectorGemm.MC);
                assertThat(rows % VectorGemm.MR).as("m=%d threads=%d", m, threads).isZero();
                // The blocks share out as evenly as whole blocks can: no thread gets two blocks more than another.
                int perThreadMax = (blocks + threads - 1) / threads;
                int perThreadMin = blocks / threads;
                assertThat(perThreadMax - perThreadMin).as("m=%d threads=%d", m, threads).isLessThanOrEqualTo(1);
                if (m >= threads * VectorGemm.MR * 8) {
                    // Big enough: every thread gets the same number of blocks, the last at most MR rows short...
                    assertThat(blocks % threads).as("m=%d threads=%d", m, threads).isZero();
                    assertThat(m - (blocks - 1) * rows).as("m=%d threads=%d", m, threads)
                            .isGreaterThan(rows - blocks * VectorGemm.MR);
                }
            }
        }
        // 1024 rows on two threads: 4 blocks of 256 rows; 2048: 6 blocks of 342 (each rounded up to MR rows).
        int mr = VectorGemm.MR;
        assertThat(VectorGemm.balancedBlockRows(1024, 2)).isEqualTo((256 + mr - 1) / mr * mr);
        assertThat(VectorGemm.balancedBlockRows(2048, 2)).isEqualTo((342 + mr - 1) / mr * mr);
    }

    @ParameterizedTest(name = "{0} threads")
    @CsvSource({"2", "3"})
    void parallelPathEqualsTheScalarReferenceOnBalancedBlocks(int threads) {
        Kernels vector = KernelProvider.vectorOrNull();
        assumeTrue(vector != null, "Vector API module not present in this run");
        int before = Parallel.threads();
        try {
            Parallel.setThreads(threads);
            int m = 1000;
            int n = 97;
            int k = 2800;     // 272 M multiply-adds: above the parallel threshold
            assertThat((long) m * n * k).isGreaterThanOrEqualTo(VectorGemm.PARALLEL_THRESHOLD);
            Rng rng = new Rng(77);
            float[] a = Tensor.uniform(rng, -1, 1, m * k).data();
            float[] b = Tensor.uniform(rng, -1, 1, k * n).data();
            float[] expected = new float[m * n];
            float[] actual = new float[m * n];
            KernelProvider.scalar().gemm(false, true, m, n, k, a, 0, b, 0, expected, 0, false);
            vector.gemm(false, true, m, n, k, a, 0, b, 0, actual, 0, false);
            float tol = 1e-6f * k + 1e-6f;
            for (int i = 0; i < expected.length; i++) {
                assertThat(actual[i]).as("index %d", i)
                        .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(tol));
            }
        } finally {
            Parallel.setThreads(before);
        }
    }
    /**
     * A dense layer's product on a batch (one block of rows, few columns, deep): split into column strips that each
     * thread runs through the whole depth. Same bits on 1, 2 and 3 threads (each element adds its products in
     * the same order however the columns are cut), ragged last strip, both layouts of B, and accumulating.
     */
    @ParameterizedTest(name = "B transposed {0}, accumulate {1}")
    @CsvSource({"true, false", "false, false", "true, true"})
    void columnStripsGiveTheSameBitsAtAnyThreadCount(boolean transB, boolean accumulate) {
        Kernels vector = KernelProvider.vectorOrNull();
        assumeTrue(vector != null, "Vector API module not present in this run");
        int m = 61;
        int n = 250;
        int k = 19000;    // 290 M multiply-adds: above the parallel threshold, in 149 KC steps
        assertThat((long) m * n * k).isGreaterThanOrEqualTo(VectorGemm.PARALLEL_THRESHOLD);
        assertThat(m).isLessThanOrEqualTo(VectorGemm.MC);
        Rng rng = new Rng(78);
        float[] a = Tensor.uniform(rng, -1, 1, m * k).data();
        float[] b = Tensor.uniform(rng, -1, 1, k * n).data();
        float[] start = Tensor.uniform(rng, -1, 1, m * n).data();
        float[] expected = start.clone();
        KernelProvider.scalar().gemm(false, transB, m, n, k, a, 0, b, 0, expected, 0, accumulate);
        int before = Parallel.threads();
        float[] oneThread = null;
        try {
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                float[] actual = start.clone();
                vector.gemm(false, transB, m, n, k, a, 0, b, 0, actual, 0, accumulate);
                if (oneThread == null) {
                    oneThread = actual;
                    float tol = 1e-6f * k + 1e-6f;
                    for (int i = 0; i < expected.length; i++) {
                        assertThat(actual[i]).as("index %d", i)
                                .isCloseTo(expected[i], org.assertj.core.data.Offset.offset(tol));
                    }
                } else {
                    assertThat(actual).as("%d threads against 1", threads).containsExactly(oneThread);
                }
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    /**
     * A ragged last column panel goes through the edge buffer: the columns it computes must have the bits that the
     * full tile gives them when more columns follow (the same products in the same order).
     */
    @ParameterizedTest(name = "B transposed {0}")
    @CsvSource({"false", "true"})
    void aRaggedLastPanelGivesTheBitsOfTheFullTile(boolean transB) {
        Kernels vector = KernelProvider.vectorOrNull();
        assumeTrue(vector != null, "Vector API module not present in this run");
        int m = 19;
        int k = 300;
        int wide = 3 * VectorGemm.NR;
        int lanes = VectorGemm.NR / 2;
        Rng rng = new Rng(79);
        float[] a = Tensor.uniform(rng, -1, 1, m * k).data();
        float[] bWide = Tensor.uniform(rng, -1, 1, k * wide).data();
        float[] cWide = new float[m * wide];
        vector.gemm(false, transB, m, wide, k, a, 0, bWide, 0, cWide, 0, false);
        for (int n : new int[] {2 * VectorGemm.NR + 1, 2 * VectorGemm.NR + lanes - 3, 2 * VectorGemm.NR + lanes}) {
            // the first n columns of the wide B, in the layout of an [k, n] (or [n, k]) operand
            float[] b = new float[k * n];
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < n; j++) {
                    if (transB) {
                        b[j * k + p] = bWide[j * k + p];
                    } else {
                        b[p * n + j] = bWide[p * wide + j];
                    }
                }
            }
            float[] c = new float[m * n];
            vector.gemm(false, transB, m, n, k, a, 0, b, 0, c, 0, false);
            for (int i = 0; i < m; i++) {
                assertThat(Arrays.copyOfRange(c, i * n, i * n + n)).as("n=%d row %d", n, i)
                        .containsExactly(Arrays.copyOfRange(cWide, i * wide, i * wide + n));
            }
        }
    }
    /**
     * A matrix-vector product takes B's rows eight at a time and the last few one by one: each row's dot product
     * must come out the same either way (here every row against the same row computed alone).
     */
    @Test
    void matrixVectorRowsHaveTheSameBitsInEveryGroupSize() {
        Kernels vector = KernelProvider.vectorOrNull();
        assumeTrue(vector != null, "Vector API module not present in this run");
        int n = 13;       // one group of eight, five alone
        int k = 1000 + 7; // a tail after the vectors
        Rng rng = new Rng(80);
        float[] x = Tensor.uniform(rng, -1, 1, k).data();
        float[] b = Tensor.uniform(rng, -1, 1, n * k).data();
        float[] together = new float[n];
        vector.gemm(false, true, 1, n, k, x, 0, b, 0, together, 0, false);
        for (int j = 0; j < n; j++) {
            float[] alone = new float[1];
            vector.gemm(false, true, 1, 1, k, x, 0, b, j * k, alone, 0, false);
            assertThat(together[j]).as("row %d", j).isEqualTo(alone[0]);
        }
    }
}
