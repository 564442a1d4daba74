package org.siamese4j.kernels;

/** Argument checks shared by every GEMM implementation, so each fails the same way on bad input. */
final class GemmChecks {
    private GemmChecks() {
    }

    static void check(boolean transA, boolean transB, int m, int n, int k,
                      float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative size m=" + m + " n=" + n + " k=" + k);
        }
        need("A" + (transA ? " (transposed, stored [" + k + ", " + m + "])" : " [" + m + ", " + k + "]"),
                a, aOff, (long) m * k);
        need("B" + (transB ? " (transposed, stored [" + n + ", " + k + "])" : " [" + k + ", " + n + "]"),
                b, bOff, (long) k * n);
        need("C [" + m + ", " + n + "]", c, cOff, (long) m * n);
        if (c == a || c == b) {
            throw new IllegalArgumentException("gemm: C must not share its array with A or B");
        }
    }

    /** For {@link Kernels#gemmPackedA}: A in row panels of height h, B row-major. */
    static void checkPackedA(int m, int n, int k, int h, float[] a, int aOff, float[] b, int bOff, float[] c,
                             int cOff) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative size m=" + m + " n=" + n + " k=" + k);
        }
        long paddedRows = (m + h - 1L) / h * h;
        need("A [" + m + ", " + k + "] in panels of " + h + " rows", a, aOff, paddedRows * k);
        need("B [" + k + ", " + n + "]", b, bOff, (long) k * n);
        need("C [" + m + ", " + n + "]", c, cOff, (long) m * n);
        if (c == a || c == b) {
            throw new IllegalArgumentException("gemm: C must not share its array with A or B");
        }
    }

    private static void need(String what, float[] array, int off, long count) {
        if (off < 0 || off + count > array.length) {
            throw new IllegalArgumentException("gemm: " + what + " needs " + count + " floats from offset " + off
                    + " but the array has " + array.length);
        }
    }
}
