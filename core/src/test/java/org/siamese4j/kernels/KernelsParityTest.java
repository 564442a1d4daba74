package org.siamese4j.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;

/**
 * The Vector API kernels against the scalar reference, on sizes that hit the SIMD body, the scalar tail, and
 * both (1, 3, 7, 15, 16, 17, 33, 129, 1000 with 4 to 16 lanes), with operands at non-zero offsets inside larger
 * arrays whose other elements must stay untouched.
 *
 * <p>Kernels whose every output element is one IEEE operation on the same operands (add, sub, mul, scale, relu,
 * the relu mask, addBias, im2col and the max-pool selection) must agree bit for bit. Where an implementation may
 * legitimately fuse a multiply-add or reorder a sum (GEMM, axpy, sum, dot, col2im, average pooling, the
 * optimiser steps) the tolerance is a bound on float32 rounding, far below the error of a wrong index.
 *
 * <p>In the scalar-fallback run there is no Vector API module: those tests are skipped, not passed.
 */
class KernelsParityTest {
    private static final int[] SIZES = {1, 3, 7, 17, 33, 129};
    private static final int[] LENGTHS = {1, 3, 7, 15, 16, 17, 33, 129, 1000};
    private static final float SENTINEL = 42.5f;

    private final Kernels scalar = KernelProvider.scalar();

    private static Kernels vector() {
        Kernels v = KernelProvider.vectorOrNull();
        assumeTrue(v != null, "no Vector API kernels in this JVM (started without --add-modules "
                + KernelProvider.VECTOR_MODULE + "): nothing to compare");
        return v;
    }

    // ============================================================================================ provider

    @Test
    void providerChoseWhatTheBuildExpects() {
        String expected = System.getProperty("siamese4j.expectKernels");
        assumeTrue(expected != null, "siamese4j.expectKernels is not set (run outside the Maven build)");
        assertThat(KernelProvider.kernels().name())
                .as("kernels chosen with -Dsiamese4j.expectKernels=%s", expected)
                .startsWith(expected);
        if (expected.equals("vector")) {
            assertThat(KernelProvider.vectorOrNull()).isSameAs(KernelProvider.kernels());
        }
    }

    @Test
    void anUnknownVectorWidthIsRefusedNamingTheValidOnes() {
        String before = System.getProperty(KernelProvider.VECTOR_BITS_PROPERTY);
        try {
            System.setProperty(KernelProvider.VECTOR_BITS_PROPERTY, "300");
            assertThatThrownBy(KernelProvider::vectorBits).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("-Dsiamese4j.vector.bits=300 is not a vector width; valid: auto, 256, 512");
            System.setProperty(KernelProvider.VECTOR_BITS_PROPERTY, "256");
            assertThat(KernelProvider.vectorBits()).isEqualTo(256);
        } finally {
            if (before == null) {
                System.clearProperty(KernelProvider.VECTOR_BITS_PROPERTY);
            } else {
                System.setProperty(KernelProvider.VECTOR_BITS_PROPERTY, before);
            }
        }
    }

    @Test
    void scalarKernelsAreAlwaysAvailable() {
        assertThat(KernelProvider.scalar().name()).isEqualTo("scalar");
    }

    // ============================================================================================ gemm

    @Test
    void gemmSquareSizesAllTransposesWithAndWithoutAccumulate() {
        Kernels v = vector();
        long seed = 1;
        for (int s : SIZES) {
            for (boolean transA : new boolean[] {false, true}) {
                for (boolean transB : new boolean[] {false, true}) {
                    for (boolean acc : new boolean[] {false, true}) {
                        checkGemm(v, transA, transB, s, s, s, acc, seed++);
                    }
                }
            }
        }
    }

    @Test
    void gemmNonSquareShapes() {
        Kernels v = vector();
        int[][] mnk = {
            {1, 129, 7}, {129, 1, 3}, {7, 33, 1}, {17, 3, 129}, {33, 129, 17}, {3, 17, 33}, {129, 7, 33},
            {16, 17, 15}, {5, 1000, 3}, {0, 5, 3}, {4, 0, 3}, {4, 5, 0},
        };
        long seed = 100;
        for (int[] d : mnk) {
            for (boolean transA : new boolean[] {false, true}) {
                for (boolean transB : new boolean[] {false, true}) {
                    for (boolean acc : new boolean[] {false, true}) {
                        checkGemm(v, transA, transB, d[0], d[1], d[2], acc, seed++);
                    }
                }
            }
        }
    }

    @Test
    void matrixVectorProductsOfADenseLayerSizeOnOneToThreeThreads() {
        // m < 4 takes the dot-product path (no packing); B here is as large as a dense layer's weights.
        Kernels v = vector();
        int before = Parallel.threads();
        try {
            long seed = 300;
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                for (int m = 1; m <= 3; m++) {
                    for (boolean acc : new boolean[] {false, true}) {
                        checkGemm(v, false, true, m, 301, 1000, acc, seed++);
                        checkGemm(v, true, true, m, 263, 1024, acc, seed++);
                    }
                }
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    private void checkGemm(Kernels v, boolean transA, boolean transB, int m, int n, int k, boolean accumulate,
                           long seed) {
        Random rnd = new Random(seed);
        int aOff = 3;
        int bOff = 5;
        int cOff = 7;
        float[] a = random(rnd, aOff + m * k + 2);
        float[] b = random(rnd, bOff + k * n + 4);
        float[] c0 = random(rnd, cOff + m * n + 3);
        float[] aCopy = a.clone();
        float[] bCopy = b.clone();
        float[] cs = c0.clone();
        float[] cv = c0.clone();
        scalar.gemm(transA, transB, m, n, k, a, aOff, b, bOff, cs, cOff, accumulate);
        v.gemm(transA, transB, m, n, k, a, aOff, b, bOff, cv, cOff, accumulate);
        String what = String.format("gemm transA=%s transB=%s m=%d n=%d k=%d accumulate=%s", transA, transB, m, n,
                k, accumulate);
        assertExact(what + " (A must not change)", aCopy, a);
        assertExact(what + " (B must not change)", bCopy, b);
        for (int i = 0; i < cv.length; i++) {
            int row = (i - cOff) / Math.max(n, 1);
            int col = (i - cOff) % Math.max(n, 1);
            if (i < cOff || i >= cOff + m * n) {
                if (Float.floatToIntBits(cv[i]) != Float.floatToIntBits(c0[i])) {
                    fail("%s wrote outside C at array index %d: %s, was %s", what, i, cv[i], c0[i]);
                }
                continue;
            }
            // Any order of summing k products errs by at most about k * 2^-24 * sum |terms|; 1e-5 covers k = 129.
            double bound = accumulate ? Math.abs(c0[i]) : 0;
            for (int p = 0; p < k; p++) {
                float aip = transA ? a[aOff + p * m + row] : a[aOff + row * k + p];
                float bpj = transB ? b[bOff + col * k + p] : b[bOff + p * n + col];
                bound += Math.abs((double) aip * bpj);
            }
            if (Math.abs(cv[i] - cs[i]) > 1e-5 * bound) {
                fail("%s: C[%d, %d] is %s (vector) but %s (scalar), allowed difference %s", what, row, col, cv[i],
                        cs[i], 1e-5 * bound);
            }
        }
    }

    // ============================================================================================ elementwise

    @FunctionalInterface
    private interface Binary {
        void apply(Kernels k, float[] a, float[] b, float[] out, int n);
    }

    @Test
    void addSubMulAreExact() {
        Kernels v = vector();
        checkBinary(v, "add", Kernels::add);
        checkBinary(v, "sub", Kernels::sub);
        checkBinary(v, "mul", Kernels::mul);
    }

    private void checkBinary(Kernels v, String what, Binary op) {
        for (int n : LENGTHS) {
            Random rnd = new Random(n);
            float[] a = random(rnd, n + 3);
            float[] b = random(rnd, n + 3);
            float[] outS = filled(n + 3);
            float[] outV = filled(n + 3);
            op.apply(scalar, a, b, outS, n);
            op.apply(v, a, b, outV, n);
            assertExact(what + " n=" + n, outS, outV);
            assertTailUntouched(what + " n=" + n, outV, n);
        }
    }

    @Test
    void scaleAndReluAreExact() {
        Kernels v = vector();
        for (int n : LENGTHS) {
            Random rnd = new Random(n);
            float[] x = random(rnd, n + 3);
            float[] outS = filled(n + 3);
            float[] outV = filled(n + 3);
            scalar.scale(-0.37f, x, outS, n);
            v.scale(-0.37f, x, outV, n);
            assertExact("scale n=" + n, outS, outV);
            assertTailUntouched("scale n=" + n, outV, n);

            outS = filled(n + 3);
            outV = filled(n + 3);
            scalar.relu(x, outS, n);
            v.relu(x, outV, n);
            assertExact("relu n=" + n, outS, outV);
            assertTailUntouched("relu n=" + n, outV, n);
        }
    }

    @Test
    void reluOnSpecialValues() {
        Kernels v = vector();
        // -0 must come out as +0 in both, infinities as themselves or 0. NaN is left out: the scalar relu maps
        // it to 0 (NaN > 0 is false) while the vector max keeps it.
        float[] x = new float[37];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (i % 4) {
                case 0 -> -0f;
                case 1 -> Float.POSITIVE_INFINITY;
                case 2 -> Float.NEGATIVE_INFINITY;
                default -> Float.MIN_VALUE;
            };
        }
        float[] outS = new float[x.length];
        float[] outV = new float[x.length];
        scalar.relu(x, outS, x.length);
        v.relu(x, outV, x.length);
        assertExact("relu special values", outS, outV);
    }

    @Test
    void reluBackwardAccumulateIsExact() {
        Kernels v = vector();
        for (int n : LENGTHS) {
            Random rnd = new Random(n);
            float[] x = random(rnd, n + 3);
            x[0] = 0f;   // the kink: no gradient at exactly 0, in both
            float[] g = random(rnd, n + 3);
            float[] inS = random(rnd, n + 3);
            float[] inV = inS.clone();
            scalar.reluBackwardAccumulate(x, g, inS, n);
            v.reluBackwardAccumulate(x, g, inV, n);
            assertExact("reluBackwardAccumulate n=" + n, inS, inV);
        }
    }

    @Test
    void axpyWithinOneRounding() {
        Kernels v = vector();
        for (int n : LENGTHS) {
            Random rnd = new Random(n);
            float[] x = random(rnd, n + 3);
            float[] yS = random(rnd, n + 3);
            float[] yV = yS.clone();
            float[] y0 = yS.clone();
            scalar.axpy(0.73f, x, yS, n);
            v.axpy(0.73f, x, yV, n);
            // a fused multiply-add skips one rounding of the product: at most an ulp of numbers below 2
            assertClose("axpy n=" + n, yS, yV, 3e-7);
            assertExact("axpy tail n=" + n, Arrays.copyOfRange(y0, n, n + 3), Arrays.copyOfRange(yV, n, n + 3));
        }
    }

    @Test
    void sumAndDotWithOffsets() {
        Kernels v = vector();
        for (int n : LENGTHS) {
            Random rnd = new Random(n);
            float[] a = random(rnd, n + 9);
            float[] b = random(rnd, n + 9);
            double absSum = 0;
            double absDot = 0;
            for (int i = 0; i < n; i++) {
                absSum += Math.abs(a[5 + i]);
                absDot += Math.abs((double) a[5 + i] * b[2 + i]);
            }
            double s = scalar.sum(a, 5, n);
            double d = scalar.dot(a, 5, b, 2, n);
            // both accumulate in double; 1e-6 of the absolute sum would even admit float32 lane accumulators
            assertThat(v.sum(a, 5, n)).as("sum n=%d", n).isCloseTo(s, within(1e-6 * absSum));
            assertThat(v.dot(a, 5, b, 2, n)).as("dot n=%d", n).isCloseTo(d, within(1e-6 * absDot));
        }
    }

    @Test
    void addBiasIsExact() {
        Kernels v = vector();
        for (int inner : LENGTHS) {
            for (int[] bc : new int[][] {{1, 1}, {2, 3}, {3, 5}}) {
                Random rnd = new Random(inner);
                float[] bias = random(rnd, bc[1]);
                float[] xS = random(rnd, bc[0] * bc[1] * inner + 3);
                float[] xV = xS.clone();
                scalar.addBias(xS, bias, bc[0], bc[1], inner);
                v.addBias(xV, bias, bc[0], bc[1], inner);
                assertExact("addBias batch=" + bc[0] + " channels=" + bc[1] + " inner=" + inner, xS, xV);
            }
        }
    }

    // ============================================================================================ optimisers

    @Test
    void adamStepMatches() {
        Kernels v = vector();
        float bias1 = (float) (1 - Math.pow(0.9, 3));
        float bias2 = (float) (1 - Math.pow(0.999, 3));
        for (boolean decoupled : new boolean[] {false, true}) {
            for (int n : LENGTHS) {
                Random rnd = new Random(n);
                float[] g = random(rnd, n + 3);
                float[] w = random(rnd, n + 3);
                float[] m = random(rnd, n + 3);
                float[] vv = random(rnd, n + 3);
                for (int i = 0; i < vv.length; i++) {
                    vv[i] = vv[i] * vv[i];   // second moments are non-negative
                }
                float[][] s = {w.clone(), m.clone(), vv.clone()};
                float[][] t = {w.clone(), m.clone(), vv.clone()};
                scalar.adamStep(s[0], g, s[1], s[2], n, 1e-2f, 0.9f, 0.999f, 1e-8f, bias1, bias2, 0.01f, decoupled);
                v.adamStep(t[0], g, t[1], t[2], n, 1e-2f, 0.9f, 0.999f, 1e-8f, bias1, bias2, 0.01f, decoupled);
                String what = "adamStep decoupled=" + decoupled + " n=" + n;
                assertClose(what + " weights", s[0], t[0], 1e-6);
                assertClose(what + " first moment", s[1], t[1], 1e-6);
                assertClose(what + " second moment", s[2], t[2], 1e-6);
                assertTailEquals(what, w, t[0], n);
            }
        }
    }

    @Test
    void sgdStepMatches() {
        Kernels v = vector();
        // momentum, dampening, nesterov, first step
        Object[][] settings = {
            {0f, 0f, false, true}, {0.9f, 0f, false, true}, {0.9f, 0f, false, false}, {0.9f, 0.1f, false, false},
            {0.9f, 0f, true, false}, {0.9f, 0f, true, true},
        };
        for (Object[] st : settings) {
            float momentum = (Float) st[0];
            float dampening = (Float) st[1];
            boolean nesterov = (Boolean) st[2];
            boolean first = (Boolean) st[3];
            for (int n : LENGTHS) {
                Random rnd = new Random(n);
                float[] g = random(rnd, n + 3);
                float[] w = random(rnd, n + 3);
                float[] buf = momentum == 0f ? null : random(rnd, n + 3);
                float[] wS = w.clone();
                float[] wV = w.clone();
                float[] bufS = buf == null ? null : buf.clone();
                float[] bufV = buf == null ? null : buf.clone();
                scalar.sgdStep(wS, g, bufS, n, 0.05f, momentum, dampening, 1e-3f, nesterov, first);
                v.sgdStep(wV, g, bufV, n, 0.05f, momentum, dampening, 1e-3f, nesterov, first);
                String what = String.format("sgdStep momentum=%s dampening=%s nesterov=%s first=%s n=%d", momentum,
                        dampening, nesterov, first, n);
                assertClose(what + " weights", wS, wV, 1e-6);
                assertTailEquals(what, w, wV, n);
                if (buf != null) {
                    assertClose(what + " momentum buffer", bufS, bufV, 1e-6);
                }
            }
        }
    }

    // ============================================================================================ convolution

    private static final ConvGeometry[] GEOMETRIES = {
        new ConvGeometry(3, 7, 6, 3, 3, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS),
        new ConvGeometry(3, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS),
        new ConvGeometry(3, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, PaddingMode.ZEROS),
        new ConvGeometry(2, 7, 6, 2, 3, 1, 2, 2, 1, 1, 1, PaddingMode.ZEROS),
        new ConvGeometry(2, 7, 6, 3, 3, 1, 1, 2, 2, 2, 2, PaddingMode.ZEROS),
        new ConvGeometry(3, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1, PaddingMode.REFLECT),
        new ConvGeometry(2, 7, 6, 3, 2, 2, 1, 2, 1, 2, 3, PaddingMode.REFLECT),
        new ConvGeometry(1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS),
        new ConvGeometry(4, 33, 17, 5, 5, 1, 1, 2, 2, 1, 1, PaddingMode.ZEROS),
        new ConvGeometry(3, 33, 17, 3, 3, 2, 2, 1, 1, 1, 1, PaddingMode.REFLECT),
    };

    @Test
    void im2colIsExact() {
        Kernels v = vector();
        for (int gi = 0; gi < GEOMETRIES.length; gi++) {
            ConvGeometry g = GEOMETRIES[gi];
            Random rnd = new Random(gi);
            // two images plus slack; lower the second, at a non-zero offset
            float[] images = random(rnd, 2 * g.imageSize() + 5);
            float[] colsS = filled(g.patchSize() * g.outPixels());
            float[] colsV = filled(g.patchSize() * g.outPixels());
            scalar.im2col(images, g.imageSize(), g, colsS);
            v.im2col(images, g.imageSize(), g, colsV);
            assertExact("im2col " + g, colsS, colsV);
        }
    }

    @Test
    void col2imAccumulateMatches() {
        Kernels v = vector();
        for (int gi = 0; gi < GEOMETRIES.length; gi++) {
            ConvGeometry g = GEOMETRIES[gi];
            Random rnd = new Random(gi);
            float[] cols = random(rnd, g.patchSize() * g.outPixels());
            float[] grad0 = random(rnd, 2 * g.imageSize() + 5);
            float[] gradS = grad0.clone();
            float[] gradV = grad0.clone();
            scalar.col2imAccumulate(cols, g, gradS, g.imageSize());
            v.col2imAccumulate(cols, g, gradV, g.imageSize());
            // A pixel receives at most 25 terms below 1 here (5x5 taps) on top of a start below 1; summed in any
            // order each addition rounds by at most half an ulp of a partial sum below 32 (1.9e-6): under 5e-5.
            assertClose("col2imAccumulate " + g, gradS, gradV, 5e-5);
            assertExact("col2imAccumulate must not touch the first image " + g,
                    Arrays.copyOf(grad0, g.imageSize()), Arrays.copyOf(gradV, g.imageSize()));
            assertExact("col2imAccumulate must not touch past the second image " + g,
                    Arrays.copyOfRange(grad0, 2 * g.imageSize(), grad0.length),
                    Arrays.copyOfRange(gradV, 2 * g.imageSize(), grad0.length));
        }
    }

    // ============================================================================================ pooling

    private static final PoolGeometry[] POOLS = {
        new PoolGeometry(6, 7, 6, 2, 2, 2, 2, 0, 0),
        new PoolGeometry(6, 7, 6, 3, 3, 2, 2, 1, 1),
        new PoolGeometry(6, 7, 6, 3, 3, 1, 1, 0, 0),
        new PoolGeometry(5, 7, 6, 2, 3, 1, 2, 1, 1),
        new PoolGeometry(1, 1, 1, 1, 1, 1, 1, 0, 0),
        new PoolGeometry(3, 33, 129, 3, 3, 2, 2, 1, 1),
        new PoolGeometry(2, 17, 33, 2, 2, 2, 2, 0, 0),
        new PoolGeometry(600, 40, 46, 2, 2, 2, 2, 0, 0),    // big enough for the parallel split
    };

    @Test
    void maxPoolTwoByTwoMatchesTheReferenceOnTiesAndNaN() {
        // Planes of fewer pooled values than lanes (the reference loop), rows narrower than a vector of pooled
        // values (gathers, the moved-back last step of a plane) and wider (deinterleaved rows, the moved-back last
        // step of a row), odd heights and widths (a dropped row or column), with ties, NaN (one or several in a
        // window) and infinities; enough planes to be split across threads.
        Kernels v = vector();
        int[][] shapes = {{3, 6, 7}, {3, 6, 31}, {2, 7, 33}, {5, 4, 46}, {2, 6, 92}, {1, 3, 129}, {500, 56, 46}};
        long seed = 99;
        for (int[] shape : shapes) {
            PoolGeometry g = new PoolGeometry(shape[0], shape[1], shape[2], 2, 2, 2, 2, 0, 0);
            Random rnd = new Random(seed++);
            float[] in = new float[shape[0] * shape[1] * shape[2]];
            for (int i = 0; i < in.length; i++) {
                int kind = rnd.nextInt(10);
                in[i] = kind < 5 ? rnd.nextInt(3) : kind == 5 ? Float.NaN : kind == 6
                        ? (rnd.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY)
                        : (float) rnd.nextGaussian();
            }
            assertMaxPoolMatches(v, in, g, "maxPool2d ties/NaN " + Arrays.toString(shape));
        }
    }

    /** Max pooling on {@code v} gives the reference's values and argmax exactly; returns the reference's argmax. */
    private int[] assertMaxPoolMatches(Kernels v, float[] in, PoolGeometry g, String what) {
        float[] outS = filled(outSize(g));
        float[] outV = filled(outSize(g));
        int[] argS = new int[outSize(g)];
        int[] argV = new int[outSize(g)];
        scalar.maxPool2d(in, g, outS, argS);
        v.maxPool2d(in, g, outV, argV);
        assertExact(what, outS, outV);
        assertThat(argV).as(what + " argmax").containsExactly(argS);
        return argS;
    }

    @Test
    void reluMaxPoolTwoByTwoIsExactIncludingTheWindowPositions() {
        // Planes of fewer pooled values than lanes (the scalar loop) and more (gathers, the moved-back last step), odd
        // heights and widths (a dropped row or column), an output offset, and values with ties, zeros, negatives,
        // NaN and infinities.
        Kernels v = vector();
        int[][] shapes = {{2, 5, 7}, {3, 6, 31}, {2, 4, 32}, {2, 7, 33}, {3, 4, 46}, {2, 6, 92}, {1, 3, 129}};
        long seed = 5;
        for (int[] shape : shapes) {
            int planes = shape[0];
            int h = shape[1];
            int w = shape[2];
            Random rnd = new Random(seed++);
            float[] y = new float[planes * h * w];
            for (int i = 0; i < y.length; i++) {
                int kind = rnd.nextInt(10);
                y[i] = kind < 4 ? rnd.nextInt(3) - 1 : kind == 4 ? Float.NaN : kind == 5
                        ? (rnd.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY)
                        : (float) rnd.nextGaussian();
            }
            int perPlane = (h / 2) * (w / 2);
            int pooled = planes * perPlane;
            int off = 3;
            float[] outS = filled(pooled + off + 2);
            float[] outV = filled(pooled + off + 2);
            byte[] argS = new byte[pooled + off + 2];
            byte[] argV = new byte[pooled + off + 2];
            scalar.reluMaxPool2(y, planes, h, w, outS, off, perPlane, argS);
            v.reluMaxPool2(y, planes, h, w, outV, off, perPlane, argV);
            String what = "reluMaxPool2 " + Arrays.toString(shape);
            assertExact(what, outS, outV);
            assertThat(argV).as(what + " window positions").containsExactly(argS);

            float[] withoutPositions = filled(pooled + off + 2);
            v.reluMaxPool2(y, planes, h, w, withoutPositions, off, perPlane, null);
            assertExact(what + " without positions", outS, withoutPositions);

            // Planes apart (a band of rows pooled into taller planes): the same values, each plane moved by its
            // stride, and the gaps between planes untouched.
            int stride = perPlane + 4;
            float[] apartS = filled(planes * stride + off);
            float[] apartV = filled(planes * stride + off);
            byte[] apartArgV = new byte[planes * stride + off];
            scalar.reluMaxPool2(y, planes, h, w, apartS, off, stride, null);
            v.reluMaxPool2(y, planes, h, w, apartV, off, stride, apartArgV);
            assertExact(what + " planes apart", apartS, apartV);
            for (int p = 0; p < planes; p++) {
                assertExact(what + " plane " + p + " apart", Arrays.copyOfRange(outS, off + p * perPlane,
                        off + (p + 1) * perPlane), Arrays.copyOfRange(apartV, off + p * stride,
                        off + p * stride + perPlane));
                assertThat(Arrays.copyOfRange(apartArgV, off + p * stride, off + p * stride + perPlane))
                        .as(what + " plane " + p + " apart, window positions")
                        .containsExactly(Arrays.copyOfRange(argS, off + p * perPlane, off + (p + 1) * perPlane));
                float[] gap = Arrays.copyOfRange(apartV, off + p * stride + perPlane, off + (p + 1) * stride);
                assertExact(what + " gap after plane " + p, filled(gap.length), gap);
            }

            float[] outGrad = random(rnd, pooled + off + 2);
            float[] gS = random(rnd, y.length);
            float[] gV = random(rnd, y.length);
            scalar.reluMaxPool2Backward(outGrad, argS, off, planes, h, w, gS);
            v.reluMaxPool2Backward(outGrad, argS, off, planes, h, w, gV);
            assertExact(what + " backward", gS, gV);
        }
    }

    @Test
    void winogradPoolingIsExactIncludingTheWindowPositions() {
        // Fewer tiles than lanes (the reference), a multiple of the lanes and one past it (the pulled-back last
        // step), window arrays interleaved or apart, an output offset, with and without bias, and values with
        // ties, zeros, negatives, NaN and infinities.
        Kernels v = vector();
        int[] counts = {3, 16, 17, 42, 168};
        long seed = 11;
        for (int n : counts) {
            for (boolean apart : new boolean[] {false, true}) {
                Random rnd = new Random(seed++);
                int stride = apart ? n + 5 : n;
                float[] values = new float[2 + 4 * stride];
                for (int i = 0; i < values.length; i++) {
                    int kind = rnd.nextInt(12);
                    values[i] = kind < 3 ? rnd.nextInt(3) - 1 : kind == 3 ? Float.NaN : kind == 4
                            ? (rnd.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY)
                            : (float) rnd.nextGaussian();
                }
                float bias = seed % 2 == 0 ? 0f : (float) rnd.nextGaussian();
                int off = 3;
                float[] outS = filled(n + off + 2);
                float[] outV = filled(n + off + 2);
                float[] whereS = filled(n + off + 2);
                float[] whereV = filled(n + off + 2);
                scalar.reluMaxOf4(values, 2, 2 + stride, 2 + 2 * stride, 2 + 3 * stride, n, bias, outS, off, whereS);
                v.reluMaxOf4(values, 2, 2 + stride, 2 + 2 * stride, 2 + 3 * stride, n, bias, outV, off, whereV);
                String what = "reluMaxOf4 n=" + n + (apart ? " apart" : "");
                assertExact(what, outS, outV);
                assertExact(what + " window positions", whereS, whereV);
                for (int t = 0; t < n; t++) {
                    assertThat(whereS[off + t]).as(what + " position %d", t).isIn(-1f, 0f, 1f, 2f, 3f);
                }

                float[] withoutPositions = filled(n + off + 2);
                v.reluMaxOf4(values, 2, 2 + stride, 2 + 2 * stride, 2 + 3 * stride, n, bias, withoutPositions, off,
                        null);
                assertExact(what + " without positions", outS, withoutPositions);
            }
        }
    }

    /** Winograd's B^T and A^T (WinogradConv), the rows of the matrices the transforms apply. */
    private static final double[][] INPUT_TRANSFORM = {
        {4, 0, -5, 0, 1, 0}, {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
        {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
    private static final double[][] OUTPUT_TRANSFORM = {
        {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
    /** The weight gradient's A'^T and G' (WinogradWeightGradient), G' on four rows. */
    private static final double[][] WEIGHT_OUTPUT_TRANSFORM = {
        {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 1}};
    private static final double[][] GRADIENT_TRANSFORM = {
        {1 / 4.0, 0, 0, 0}, {-1 / 6.0, -1 / 6.0, -1 / 6.0, -1 / 6.0}, {-1 / 6.0, 1 / 6.0, -1 / 6.0, 1 / 6.0},
        {1 / 24.0, 1 / 12.0, 1 / 6.0, 1 / 3.0}, {1 / 24.0, -1 / 12.0, 1 / 6.0, -1 / 3.0}, {0, 0, 0, 1}};

    @Test
    void winogradTransformsAreExactAndApplyTheirMatrices() {
        // Fewer values than lanes (the reference), a multiple of the lanes, one past it and the tower's counts (the
        // pulled-back last step), rows interleaved or apart, offsets, and NaN and infinities among the values.
        Kernels v = vector();
        long seed = 21;
        for (int count : new int[] {3, 16, 17, 42, 50, 168}) {
            for (boolean apart : new boolean[] {false, true}) {
                Random rnd = new Random(seed++);
                int inStride = apart ? count + 3 : count;
                int outStride = apart ? count + 7 : count;
                float[] in = new float[2 + 6 * inStride];
                for (int i = 0; i < in.length; i++) {
                    int kind = rnd.nextInt(40);
                    in[i] = kind == 0 ? Float.NaN : kind == 1 ? Float.POSITIVE_INFINITY : (float) rnd.nextGaussian();
                }
                String what = " count=" + count + (apart ? " apart" : "");

                checkTransform("input transform" + what, Kernels::winogradInputTransform, INPUT_TRANSFORM, v, in,
                        inStride, outStride, count);
                checkTransform("output transform" + what, Kernels::winogradOutputTransform, OUTPUT_TRANSFORM, v, in,
                        inStride, outStride, count);
                checkTransform("gradient transform" + what, Kernels::winogradGradientTransform, GRADIENT_TRANSFORM,
                        v, in, inStride, outStride, count);
                checkTransform("weight output transform" + what, Kernels::winogradWeightOutputTransform,
                        WEIGHT_OUTPUT_TRANSFORM, v, in, inStride, outStride, count);
            }
        }
    }

    /** One of the Winograd transform kernels, as a method of {@link Kernels}. */
    private interface Transform {
        void apply(Kernels kernels, float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                   int count);
    }

    /** The transform on in (rows from offset 2) by both kernels, written at offset 5: equal, and the matrix's. */
    private void checkTransform(String what, Transform transform, double[][] matrix, Kernels v, float[] in,
                                int inStride, int outStride, int count) {
        float[] expected = filled(5 + matrix.length * outStride + 2);
        float[] actual = filled(expected.length);
        transform.apply(scalar, in, 2, inStride, expected, 5, outStride, count);
        transform.apply(v, in, 2, inStride, actual, 5, outStride, count);
        assertExact(what, expected, actual);
        assertAppliesMatrix(what, matrix, in, 2, inStride, expected, 5, outStride, count);
    }

    /** out row j = sum over k of matrix[j][k] * in row k at every m < count (in double), and nothing else written. */
    private static void assertAppliesMatrix(String what, double[][] matrix, float[] in, int in0, int inStride,
                                            float[] out, int out0, int outStride, int count) {
        boolean[] written = new boolean[out.length];
        for (int j = 0; j < matrix.length; j++) {
            for (int m = 0; m < count; m++) {
                double expected = 0;
                for (int k = 0; k < matrix[j].length; k++) {
                    expected += matrix[j][k] == 0 ? 0 : matrix[j][k] * in[in0 + k * inStride + m];
                }
                int at = out0 + j * outStride + m;
                written[at] = true;
                if (Double.isNaN(expected)) {
                    assertThat(out[at]).as("%s row %d value %d", what, j, m).isNaN();
                } else if (Double.isInfinite(expected)) {
                    assertThat((double) out[at]).as("%s row %d value %d", what, j, m).isEqualTo(expected);
                } else {
                    assertThat((double) out[at]).as("%s row %d value %d", what, j, m)
                            .isCloseTo(expected, within(1e-5 * (1 + Math.abs(expected))));
                }
            }
        }
        for (int i = 0; i < out.length; i++) {
            if (!written[i]) {
                assertThat(out[i]).as("%s: element %d is outside the rows written", what, i).isEqualTo(SENTINEL);
            }
        }
    }

    @Test
    void windowPoolingMatchesMaxPoolOfRelu() {
        // The reference window pooling against the plain definition: relu, then the first maximum of the window.
        float[] values = {-1f, 2f, 2f, 0.5f, /* tile 1 */ -3f, -1f, -2f, -0.5f, /* tile 2 */ 1f, Float.NaN, 3f, 0f};
        // tile t's window: values[t], values[3 + t], ... laid out as four arrays of three tiles
        float[] four = new float[12];
        for (int t = 0; t < 3; t++) {
            for (int k = 0; k < 4; k++) {
                four[k * 3 + t] = values[4 * t + k];
            }
        }
        float[] out = new float[3];
        float[] where = new float[3];
        scalar.reluMaxOf4(four, 0, 3, 6, 9, 3, 0f, out, 0, where);
        assertThat(out[0]).isEqualTo(2f);
        assertThat(where[0]).as("the first of two equal maxima").isEqualTo(1f);
        assertThat(out[1]).isEqualTo(0f);
        assertThat(where[1]).as("nothing positive: no gradient").isEqualTo(-1f);
        assertThat(out[2]).isNaN();
        assertThat(where[2]).isEqualTo(-1f);
        scalar.reluMaxOf4(four, 0, 3, 6, 9, 3, 2.5f, out, 0, where);
        assertThat(out[1]).as("bias before relu").isEqualTo(2f);
        assertThat(where[1]).isEqualTo(3f);
    }

    private static int outSize(PoolGeometry g) {
        return g.planes() * g.outH() * g.outW();
    }

    @Test
    void maxPoolIsExactIncludingArgmax() {
        Kernels v = vector();
        for (int gi = 0; gi < POOLS.length; gi++) {
            PoolGeometry g = POOLS[gi];
            Random rnd = new Random(gi);
            float[] in = random(rnd, g.planes() * g.inH() * g.inW());
            int[] argS = assertMaxPoolMatches(v, in, g, "maxPool2d " + g);

            float[] outGrad = random(rnd, outSize(g));
            float[] inS = random(rnd, in.length);
            float[] inV = inS.clone();
            scalar.maxPool2dBackwardAccumulate(outGrad, argS, inS);
            v.maxPool2dBackwardAccumulate(outGrad, argS, inV);
            // an input is the maximum of at most 9 windows here: 9 reorderable additions below 16
            assertClose("maxPool2dBackwardAccumulate " + g, inS, inV, 1e-5);
        }
    }

    @Test
    void avgPoolMatches() {
        Kernels v = vector();
        for (int gi = 0; gi < POOLS.length; gi++) {
            PoolGeometry g = POOLS[gi];
            Random rnd = new Random(gi);
            float[] in = random(rnd, g.planes() * g.inH() * g.inW());
            float[] outS = filled(outSize(g));
            float[] outV = filled(outSize(g));
            scalar.avgPool2d(in, g, outS);
            v.avgPool2d(in, g, outV);
            // a mean of at most 9 values below 1: reordering moves it by well under 1e-6
            assertClose("avgPool2d " + g, outS, outV, 1e-6);

            float[] outGrad = random(rnd, outSize(g));
            float[] inS = random(rnd, in.length);
            float[] inV = inS.clone();
            scalar.avgPool2dBackwardAccumulate(outGrad, g, inS);
            v.avgPool2dBackwardAccumulate(outGrad, g, inV);
            // at most 9 shares below 1/4 added to a start below 1
            assertClose("avgPool2dBackwardAccumulate " + g, inS, inV, 2e-6);
        }
    }

    // ============================================================================================ helpers

    /** Uniform in [-1, 1). */
    private static float[] random(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextFloat() * 2f - 1f;
        }
        return a;
    }

    private static float[] filled(int n) {
        float[] a = new float[n];
        Arrays.fill(a, SENTINEL);
        return a;
    }

    private static void assertExact(String what, float[] expected, float[] actual) {
        assertThat(actual.length).as(what + " length").isEqualTo(expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                fail("%s: element %d is %s (vector) but %s (scalar)", what, i, actual[i], expected[i]);
            }
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual, double tolerance) {
        assertThat(actual.length).as(what + " length").isEqualTo(expected.length);
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(expected[i] - actual[i]) <= tolerance)) {
                fail("%s: element %d is %s (vector) but %s (scalar), tolerance %s", what, i, actual[i], expected[i],
                        tolerance);
            }
        }
    }

    private static void assertTailUntouched(String what, float[] out, int n) {
        for (int i = n; i < out.length; i++) {
            if (out[i] != SENTINEL) {
                fail("%s wrote past n at index %d: %s", what, i, out[i]);
            }
        }
    }

    private static void assertTailEquals(String what, float[] before, float[] after, int n) {
        assertExact(what + " past n", Arrays.copyOfRange(before, n, before.length),
                Arrays.copyOfRange(after, n, after.length));
    }
}
