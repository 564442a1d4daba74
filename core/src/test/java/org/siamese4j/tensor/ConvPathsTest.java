package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.ConvGeometry;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.kernels.ConvReference;
import org.siamese4j.kernels.Parallel;

/**
 * conv2d through each path (im2col + GEMM, direct, Winograd, and whatever AUTO picks) against the definition
 * computed in double: the output and all three gradients, on 1 to 3 input channels and on 8 to 16 (as Winograd is
 * used), stride 1 and 2, zero and reflection padding (Winograd falls back to im2col where it does not fit), widths
 * 7 (narrower than a vector), 17 (one plus a tail), 33 and 92 (the reference tower's width), odd and even heights,
 * batches larger than the thread count, and 1 to 3 threads (uneven image ranges; grouped and depthwise layers too,
 * see GroupedConvTest). Also: finite-difference gradient checks on the direct and Winograd paths, and bit-identical
 * results when the same step is run twice.
 */
class ConvPathsTest {
    private static final ConvAlgorithm[] PATHS = {ConvAlgorithm.IM2COL, ConvAlgorithm.DIRECT, ConvAlgorithm.WINOGRAD,
        ConvAlgorithm.AUTO};

    /** One convolution: input [n, c, h, w], o output channels, square k x k filter, stride (sH, sW), padding p. */
    private record Config(int n, int c, int h, int w, int o, int k, int strideH, int strideW, int pad,
                          PaddingMode mode) {
        ConvGeometry geometry() {
            return new ConvGeometry(c, h, w, k, k, strideH, strideW, pad, pad, 1, 1, mode);
        }
    }

    private static Tensor conv(Tensor x, Tensor w, Tensor b, Config k, ConvAlgorithm path) {
        return ConvOps.conv2d(x, w, b, k.strideH, k.strideW, k.pad, k.pad, 1, 1, k.mode, path);
    }

    private static List<Config> configs() {
        List<Config> list = new ArrayList<>();
        for (int c = 1; c <= 3; c++) {
            for (int w : new int[] {7, 17, 33, 92}) {
                list.add(new Config(5, c, 5, w, 4, 3, 1, 1, 1, PaddingMode.ZEROS));
                list.add(new Config(5, c, 5, w, 3, 3, 1, 1, 1, PaddingMode.REFLECT));
                list.add(new Config(3, c, 6, w, 9, 3, 2, 2, 1, PaddingMode.ZEROS));
                list.add(new Config(3, c, 7, w, 2, 3, 2, 1, 1, PaddingMode.REFLECT));
                list.add(new Config(3, c, 6, w, 5, 5, 1, 1, 2, PaddingMode.REFLECT));
            }
        }
        // Many channels on both sides, as Winograd is used in a tower: even and odd sizes, one image.
        list.add(new Config(3, 8, 6, 9, 5, 3, 1, 1, 1, PaddingMode.ZEROS));
        list.add(new Config(2, 16, 7, 12, 16, 3, 1, 1, 1, PaddingMode.ZEROS));
        list.add(new Config(1, 12, 11, 23, 7, 3, 1, 1, 1, PaddingMode.ZEROS));
        return list;
    }

    // ============================================================================================ vs definition

    @Test
    void everyPathMatchesTheDefinitionForwardAndBackward() {
        long seed = 1;
        for (Config k : configs()) {
            for (ConvAlgorithm path : PATHS) {
                checkAgainstDefinition(k, path, seed++);
            }
        }
    }

    @Test
    void everyPathMatchesTheDefinitionOnOneToThreeThreads() {
        // More images than threads, and counts that do not split evenly: ranges of 7/3 images.
        int before = Parallel.threads();
        try {
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                for (ConvAlgorithm path : PATHS) {
                    checkAgainstDefinition(new Config(7, 1, 6, 33, 5, 3, 1, 1, 1, PaddingMode.ZEROS), path, threads);
                    checkAgainstDefinition(new Config(7, 8, 5, 17, 6, 3, 1, 1, 1, PaddingMode.REFLECT), path,
                            10 + threads);
                    // depthwise (x2) at stride 2, and 3 groups
                    checkAgainstDefinition(new ConvGeometry(6, 8, 13, 3, 3, 2, 2, 1, 1, 1, 1, PaddingMode.ZEROS), 7,
                            12, 6, path, 20 + threads);
                    checkAgainstDefinition(ConvGeometry.square(6, 6, 9, 3, 1, 1), 7, 9, 3, path, 30 + threads);
                }
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    @Test
    void bandedIm2colMatchesTheDefinition() {
        // Enough taps and width that the im2col path splits the output rows into several bands.
        Config k = new Config(2, 48, 8, 92, 2, 3, 1, 1, 1, PaddingMode.ZEROS);
        assertThat(ConvOps.bandRows(k.geometry())).as("rows per band").isLessThan(8);
        checkAgainstDefinition(k, ConvAlgorithm.IM2COL, 7);
        // 7 rows: a shorter last band
        Config odd = new Config(2, 48, 7, 92, 2, 3, 1, 1, 1, PaddingMode.REFLECT);
        assertThat(7 % ConvOps.bandRows(odd.geometry())).as("rows in the last band").isNotZero();
        checkAgainstDefinition(odd, ConvAlgorithm.IM2COL, 8);
    }

    @Test
    void winogradInBandsOfTileRowsMatchesTheDefinition() {
        // 2 + 128 channels on a 47 x 90 image, 23 tiles per row and 12 rows of tiles: forward, the input gradient
        // and the weight gradient (which sums its products over the bands) take two bands of tile rows
        // (WinogradConv.BAND_FLOATS) and cross the boundary. The last tile row and column are partly outside the
        // image.
        Config k = new Config(1, 2, 47, 90, 128, 3, 1, 1, 1, PaddingMode.ZEROS);
        assertThat(org.siamese4j.kernels.WinogradConv.bandRows(k.c, k.o, k.h, k.w))
                .as("rows of 4x4 tiles per band").isLessThan((k.h + 3) / 4);
        checkAgainstDefinition(k, ConvAlgorithm.WINOGRAD, 9);
    }

    @Test
    void autoPicksDirectForFewChannelsWinogradForSame3x3AndIm2colForTheRest() {
        boolean simd = org.siamese4j.kernels.KernelProvider.kernels() != org.siamese4j.kernels.KernelProvider.scalar();
        ConvAlgorithm fewChannels = simd ? ConvAlgorithm.DIRECT : ConvAlgorithm.IM2COL;
        ConvAlgorithm same3x3 = simd ? ConvAlgorithm.WINOGRAD : ConvAlgorithm.IM2COL;
        assertThat(ConvAlgorithm.AUTO.resolve(ConvGeometry.square(1, 112, 92, 3, 1, 1))).isEqualTo(fewChannels);
        assertThat(ConvAlgorithm.AUTO.resolve(ConvGeometry.square(3, 32, 32, 3, 1, 1))).isEqualTo(fewChannels);
        assertThat(ConvAlgorithm.AUTO.resolve(ConvGeometry.square(4, 32, 32, 3, 1, 1))).isEqualTo(same3x3);
        assertThat(ConvAlgorithm.AUTO.resolve(ConvGeometry.square(64, 28, 23, 3, 1, 1))).isEqualTo(same3x3);
        assertThat(ConvAlgorithm.AUTO.resolve(ConvGeometry.square(4, 32, 32, 3, 2, 1)))
                .isEqualTo(ConvAlgorithm.IM2COL);
        assertThat(ConvAlgorithm.AUTO.resolve(ConvGeometry.square(4, 32, 32, 3, 1, 0)))
                .isEqualTo(ConvAlgorithm.IM2COL);
        assertThat(ConvAlgorithm.AUTO.resolve(ConvGeometry.square(4, 32, 32, 5, 1, 2)))
                .isEqualTo(ConvAlgorithm.IM2COL);
        assertThat(ConvAlgorithm.AUTO.resolve(ConvGeometry.square(1, 32, 32, 3, 2, 1)))
                .isEqualTo(ConvAlgorithm.IM2COL);
        assertThat(ConvAlgorithm.DIRECT.resolve(ConvGeometry.square(64, 32, 32, 3, 2, 1)))
                .isEqualTo(ConvAlgorithm.DIRECT);
        assertThat(ConvAlgorithm.WINOGRAD.resolve(ConvGeometry.square(64, 32, 32, 3, 2, 1)))
                .as("Winograd falls back where it does not fit").isEqualTo(ConvAlgorithm.IM2COL);
        assertThat(ConvAlgorithm.WINOGRAD.resolve(ConvGeometry.square(1, 32, 32, 3, 1, 1)))
                .isEqualTo(ConvAlgorithm.WINOGRAD);
    }

    private static void checkAgainstDefinition(Config k, ConvAlgorithm path, long seed) {
        checkAgainstDefinition(k.geometry(), k.n, k.o, 1, path, seed);
    }

    /**
     * Runs forward and backward of an n-image batch through geometry g with o output channels in {@code groups}
     * groups, with a random upstream gradient, and compares out, dx, dW and db with the definition in double
     * ({@link ConvReference}): each value is a sum of products of numbers in [-1, 1], held to 1e-5 of its sum of
     * |terms|, which the ~2000-term weight gradient sums here meet, while a missing or doubled term is off by about
     * sum|terms| / n.
     */
    static void checkAgainstDefinition(ConvGeometry g, int n, int o, int groups, ConvAlgorithm path, long seed) {
        Tensor x = input(seed, n, g.channels(), g.inH(), g.inW());
        Tensor w = input(seed + 1, o, g.channels() / groups, g.kH(), g.kW());
        Tensor b = input(seed + 2, o);
        Tensor gOut = Tensor.uniform(new Rng(seed + 3), -1f, 1f, n, o, g.outH(), g.outW());
        Tensor out = ConvOps.conv2d(x, w, b, g.strideH(), g.strideW(), g.padH(), g.padW(), g.dilationH(),
                g.dilationW(), g.padding(), groups, path);
        assertThat(out.shape()).containsExactly(n, o, g.outH(), g.outW());
        out.backward(gOut);
        ConvReference ref = new ConvReference(g, n, o, groups, x.data(), w.data(), b.data(), gOut.data());
        String what = g + " O=" + o + " groups=" + groups + " via " + path;
        ConvReference.assertClose(out.data(), 0, ref.out, ref.outMagnitude, "output of " + what);
        ConvReference.assertClose(x.grad().data(), 0, ref.dx, ref.dxMagnitude, "dx of " + what);
        ConvReference.assertClose(w.grad().data(), 0, ref.dw, ref.dwMagnitude, "dW of " + what);
        ConvReference.assertClose(b.grad().data(), 0, ref.db, ref.dbMagnitude, "db of " + what);
    }

    // ============================================================================================ gradient checks

    @Test
    void directPathGradientsOneChannelWithVectorTail() {
        // 17 wide: one full vector plus an overlapping tail on 16-lane machines
        Config k = new Config(2, 1, 5, 17, 3, 3, 1, 1, 1, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k, ConvAlgorithm.DIRECT), input(31, 2, 1, 5, 17),
                input(32, 3, 1, 3, 3), input(33, 3));
    }

    @Test
    void directPathGradientsTwoChannelsReflect() {
        Config k = new Config(2, 2, 5, 19, 2, 3, 1, 1, 1, PaddingMode.REFLECT);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k, ConvAlgorithm.DIRECT), input(34, 2, 2, 5, 19),
                input(35, 2, 2, 3, 3), input(36, 2));
    }

    @Test
    void directPathGradientsThreeChannelsStrideTwoDown() {
        Config k = new Config(1, 3, 7, 21, 3, 3, 2, 1, 1, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k, ConvAlgorithm.DIRECT), input(37, 1, 3, 7, 21),
                input(38, 3, 3, 3, 3), input(39, 3));
    }

    @Test
    void directPathGradientsStrideTwoAcrossAndNarrow() {
        // the scalar fallbacks of the direct kernels: stride along the width, and a row narrower than a vector
        Config k = new Config(2, 2, 5, 9, 2, 3, 2, 2, 1, PaddingMode.REFLECT);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k, ConvAlgorithm.DIRECT), input(40, 2, 2, 5, 9),
                input(41, 2, 2, 3, 3), input(42, 2));
        Config narrow = new Config(2, 1, 5, 7, 2, 3, 1, 1, 1, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], narrow, ConvAlgorithm.DIRECT), input(43, 2, 1, 5, 7),
                input(44, 2, 1, 3, 3), input(45, 2));
    }

    @Test
    void winogradPathGradientsOddAndEvenSizes() {
        // odd height and width: the last tile row and column are cut at the edge
        Config odd = new Config(2, 4, 5, 7, 3, 3, 1, 1, 1, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], odd, ConvAlgorithm.WINOGRAD), input(50, 2, 4, 5, 7),
                input(51, 3, 4, 3, 3), input(52, 3));
        Config even = new Config(1, 5, 6, 4, 6, 3, 1, 1, 1, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], even, ConvAlgorithm.WINOGRAD), input(53, 1, 5, 6, 4),
                input(54, 6, 5, 3, 3), input(55, 6));
    }

    @Test
    void firstLayerGetsNoInputGradient() {
        Config k = new Config(3, 1, 5, 17, 4, 3, 1, 1, 1, PaddingMode.ZEROS);
        for (ConvAlgorithm path : PATHS) {
            Tensor x = input(46, 3, 1, 5, 17).requiresGrad(false);
            assertGradientsMatch(in -> conv(x, in[0], in[1], k, path), input(47, 4, 1, 3, 3), input(48, 4));
            assertThat(x.grad()).as(path.toString()).isNull();
        }
    }

    // ============================================================================================ determinism

    @Test
    void sameStepTwiceIsBitIdentical() {
        int before = Parallel.threads();
        try {
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                for (ConvAlgorithm path : PATHS) {
                    for (Config k : new Config[] {
                        new Config(9, 1, 12, 92, 8, 3, 1, 1, 1, PaddingMode.ZEROS),
                        new Config(9, 16, 10, 46, 12, 3, 1, 1, 1, PaddingMode.ZEROS),
                    }) {
                        float[][] first = step(k, path);
                        float[][] second = step(k, path);
                        for (int i = 0; i < first.length; i++) {
                            // Arrays.mismatch compares bit patterns (floatToIntBits): -1 when identical
                            assertThat(Arrays.mismatch(first[i], second[i]))
                                    .as("%s via %s on %d threads: first differing element of out/dx/dW/db[%d]", k,
                                            path, threads, i)
                                    .isEqualTo(-1);
                        }
                    }
                }
            }
        } finally {
            Parallel.setThreads(before);
        }
    }

    /** out, dx, dW, db of one forward and backward on fresh copies of fixed inputs. */
    private static float[][] step(Config k, ConvAlgorithm path) {
        Tensor x = input(50, k.n, k.c, k.h, k.w);
        Tensor w = input(51, k.o, k.c, k.k, k.k);
        Tensor b = input(52, k.o);
        ConvGeometry g = k.geometry();
        Tensor gOut = Tensor.uniform(new Rng(53), -1f, 1f, k.n, k.o, g.outH(), g.outW());
        Tensor out = conv(x, w, b, k, path);
        out.backward(gOut);
        return new float[][] {out.toArray(), x.grad().toArray(), w.grad().toArray(), b.grad().toArray()};
    }
}
