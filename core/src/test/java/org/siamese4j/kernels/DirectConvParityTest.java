package org.siamese4j.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;

/**
 * The Vector API convolution kernels (direct forward, weight gradient, input gradient, and the row-wise im2col /
 * col2im) against the scalar reference, on 1 to 3 input channels and output widths below one vector (scalar
 * fallback), exactly one vector, one plus a tail (17), several plus a tail (33, 92); zero and reflection padding,
 * stride and dilation on either axis, and output channel counts that are and are not multiples of the kernels'
 * channel blocks. Operands sit at non-zero offsets inside larger arrays whose other elements must stay untouched.
 *
 * <p>The direct kernels fuse multiply-adds and sum in vector lanes, so they agree with the reference to within
 * float32 rounding of the sum of |terms| (computed by running the reference on absolute values); a wrong index
 * or a lane counted twice is off by a whole term, orders of magnitude more. im2col copies and col2im adds in the
 * reference's order, so those must agree bit for bit.
 *
 * <p>In the scalar-fallback run there is no Vector API module: these tests are skipped, not passed.
 */
class DirectConvParityTest {
    static final float SENTINEL = 42.5f;
    static final int PAD = 5;      // elements before and after every operand

    private final Kernels scalar = KernelProvider.scalar();

    private static Kernels vector() {
        Kernels v = KernelProvider.vectorOrNull();
        assumeTrue(v != null, "no Vector API kernels in this JVM (started without --add-modules "
                + KernelProvider.VECTOR_MODULE + "): nothing to compare");
        return v;
    }

    /** A geometry and an output channel count. */
    private record Case(ConvGeometry g, int outChannels) {
        @Override
        public String toString() {
            return g + " O=" + outChannels;
        }
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        int[] outChannels = {1, 5, 8, 13, 32};
        int next = 0;
        for (int c = 1; c <= 3; c++) {
            for (int w : new int[] {7, 16, 17, 33, 92}) {
                for (PaddingMode mode : PaddingMode.values()) {
                    // 3x3 pad 1 keeps the width; 5x5 pad 2 reflects two pixels deep
                    cases.add(new Case(new ConvGeometry(c, 5, w, 3, 3, 1, 1, 1, 1, 1, 1, mode),
                            outChannels[next++ % outChannels.length]));
                    cases.add(new Case(new ConvGeometry(c, 6, w, 5, 5, 1, 1, 2, 2, 1, 1, mode),
                            outChannels[next++ % outChannels.length]));
                }
                // stride 2 down the height (vectorised), stride 2 along the width (scalar fallback)
                cases.add(new Case(new ConvGeometry(c, 7, w, 3, 3, 2, 1, 1, 1, 1, 1, PaddingMode.ZEROS),
                        outChannels[next++ % outChannels.length]));
                cases.add(new Case(new ConvGeometry(c, 7, w, 3, 3, 2, 2, 1, 1, 1, 1, PaddingMode.REFLECT),
                        outChannels[next++ % outChannels.length]));
                // dilation, no padding, non-square kernels
                cases.add(new Case(new ConvGeometry(c, 7, w + 4, 3, 3, 1, 1, 0, 2, 2, 2, PaddingMode.ZEROS),
                        outChannels[next++ % outChannels.length]));
                cases.add(new Case(new ConvGeometry(c, 5, w, 2, 3, 1, 1, 0, 1, 1, 1, PaddingMode.REFLECT),
                        outChannels[next++ % outChannels.length]));
                cases.add(new Case(new ConvGeometry(c, 4, w, 3, 1, 1, 1, 1, 0, 1, 1, PaddingMode.ZEROS),
                        outChannels[next++ % outChannels.length]));
            }
        }
        return cases;
    }

    // ============================================================================================ direct

    @Test
    void forwardMatchesReference() {
        Kernels v = vector();
        long seed = 1;
        for (Case k : cases()) {
            for (boolean withBias : new boolean[] {true, false}) {
                ConvGeometry g = k.g;
                int o = k.outChannels;
                int outSize = o * g.outPixels();
                Random rnd = new Random(seed++);
                float[] image = padded(random(rnd, g.imageSize()));
                float[] weight = random(rnd, o * g.patchSize());
                float[] bias = withBias ? random(rnd, o) : null;
                float[] expected = sentinels(outSize);
                float[] actual = sentinels(outSize);
                scalar.convDirectForward(image, PAD, g, weight, bias, o, expected, PAD, 0, g.outH());
                v.convDirectForward(image, PAD, g, weight, bias, o, actual, PAD, 0, g.outH());
                float[] magnitude = new float[outSize];
                scalar.convDirectForward(abs(image), PAD, g, abs(weight), bias == null ? null : abs(bias), o,
                        magnitude, 0, 0, g.outH());
                assertClose(actual, expected, magnitude, "forward " + k + " bias " + withBias);
            }
        }
    }

    /**
     * A band of output rows [first, end) is exactly those rows of the whole output, bit for bit, on both kernels:
     * conv + ReLU + pool runs the direct convolution band by band and must not change a value by doing so.
     */
    @Test
    void aBandOfRowsHoldsExactlyThoseRowsOfTheWholeOutput() {
        Kernels v = vector();
        long seed = 500;
        for (Kernels kernels : new Kernels[] {scalar, v}) {
            for (Case k : cases()) {
                ConvGeometry g = k.g;
                int o = k.outChannels;
                int outH = g.outH();
                int outW = g.outW();
                Random rnd = new Random(seed++);
                float[] image = padded(random(rnd, g.imageSize()));
                float[] weight = random(rnd, o * g.patchSize());
                float[] bias = random(rnd, o);
                float[] whole = new float[o * g.outPixels()];
                kernels.convDirectForward(image, PAD, g, weight, bias, o, whole, 0, 0, outH);
                for (int first = 0; first < outH; first++) {
                    for (int end = first + 1; end <= outH; end += 2) {
                        int rows = end - first;
                        float[] band = sentinels(o * rows * outW);
                        kernels.convDirectForward(image, PAD, g, weight, bias, o, band, PAD, first, end);
                        for (int i = 0; i < PAD; i++) {
                            assertThat(band[i]).as("%s before the band", k).isEqualTo(SENTINEL);
                            assertThat(band[PAD + o * rows * outW + i]).as("%s after the band", k)
                                    .isEqualTo(SENTINEL);
                        }
                        for (int c = 0; c < o; c++) {
                            float[] expected = Arrays.copyOfRange(whole, (c * outH + first) * outW,
                                    (c * outH + end) * outW);
                            float[] actual = Arrays.copyOfRange(band, PAD + c * rows * outW,
                                    PAD + (c + 1) * rows * outW);
                            assertThat(actual).as("%s on %s, channel %d, rows [%d, %d)", kernels.name(), k, c,
                                    first, end).containsExactly(expected);
                        }
                    }
                }
            }
        }
    }

    @Test
    void weightGradientMatchesReference() {
        Kernels v = vector();
        long seed = 1000;
        for (Case k : cases()) {
            ConvGeometry g = k.g;
            int o = k.outChannels;
            int wSize = o * g.patchSize();
            Random rnd = new Random(seed++);
            float[] image = padded(random(rnd, g.imageSize()));
            float[] outGrad = padded(random(rnd, o * g.outPixels()));
            // both accumulate onto the same non-zero start
            float[] start = random(rnd, wSize);
            float[] expected = start.clone();
            float[] actual = start.clone();
            scalar.convDirectWeightGradAccumulate(image, PAD, g, outGrad, PAD, o, expected);
            v.convDirectWeightGradAccumulate(image, PAD, g, outGrad, PAD, o, actual);
            float[] magnitude = abs(start);
            scalar.convDirectWeightGradAccumulate(abs(image), PAD, g, abs(outGrad), PAD, o, magnitude);
            assertClose(padded(actual), padded(expected), magnitude, "weight gradient " + k);
        }
    }

    @Test
    void inputGradientMatchesReference() {
        Kernels v = vector();
        long seed = 2000;
        for (Case k : cases()) {
            ConvGeometry g = k.g;
            int o = k.outChannels;
            Random rnd = new Random(seed++);
            float[] weight = random(rnd, o * g.patchSize());
            float[] outGrad = padded(random(rnd, o * g.outPixels()));
            float[] start = random(rnd, g.imageSize());
            float[] expected = padded(start);
            float[] actual = padded(start);
            scalar.convDirectInputGradAccumulate(outGrad, PAD, g, weight, o, expected, PAD);
            v.convDirectInputGradAccumulate(outGrad, PAD, g, weight, o, actual, PAD);
            float[] magnitude = abs(start);
            scalar.convDirectInputGradAccumulate(abs(outGrad), PAD, g, abs(weight), o, magnitude, 0);
            assertClose(actual, expected, magnitude, "input gradient " + k);
        }
    }

    @Test
    void overlappingTailIsCountedOnce() {
        // 17 wide: the second vector of each row starts at 1 and overlaps the first in 15 lanes. All-ones operands
        // make every sum a count of terms, exact in float, so a lane counted twice shows up as a wrong integer.
        Kernels v = vector();
        ConvGeometry g = new ConvGeometry(1, 3, 17, 1, 1, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS);
        float[] ones = new float[g.imageSize()];
        Arrays.fill(ones, 1f);
        float[] outGrad = new float[g.outPixels()];
        Arrays.fill(outGrad, 1f);
        float[] dW = new float[1];
        v.convDirectWeightGradAccumulate(ones, 0, g, outGrad, 0, 1, dW);
        assertThat(dW[0]).isEqualTo(3f * 17f);
        float[] dx = new float[g.imageSize()];
        v.convDirectInputGradAccumulate(outGrad, 0, g, new float[] {1f}, 1, dx, 0);
        for (float d : dx) {
            assertThat(d).isEqualTo(1f);
        }
    }

    // ============================================================================================ im2col

    @Test
    void rowWiseIm2colIsBitIdentical() {
        Kernels v = vector();
        long seed = 3000;
        for (Case k : cases()) {
            ConvGeometry g = k.g;
            int size = g.patchSize() * g.outPixels();
            Random rnd = new Random(seed++);
            float[] image = padded(random(rnd, g.imageSize()));
            float[] expected = new float[size + PAD];
            float[] actual = new float[size + PAD];
            Arrays.fill(expected, size, size + PAD, SENTINEL);
            Arrays.fill(actual, SENTINEL);     // every column entry must be written, padding zeros included
            scalar.im2col(image, PAD, g, expected);
            v.im2col(image, PAD, g, actual);
            // Arrays.mismatch compares bit patterns: -1 when identical
            assertThat(Arrays.mismatch(actual, expected)).as("im2col %s: first differing element", k).isEqualTo(-1);
        }
    }

    @Test
    void rowWiseCol2imIsBitIdentical() {
        Kernels v = vector();
        long seed = 4000;
        for (Case k : cases()) {
            ConvGeometry g = k.g;
            Random rnd = new Random(seed++);
            float[] columns = random(rnd, g.patchSize() * g.outPixels());
            float[] start = padded(random(rnd, g.imageSize()));
            float[] expected = start.clone();
            float[] actual = start.clone();
            scalar.col2imAccumulate(columns, g, expected, PAD);
            v.col2imAccumulate(columns, g, actual, PAD);
            assertThat(Arrays.mismatch(actual, expected)).as("col2im %s: first differing element", k).isEqualTo(-1);
        }
    }

    @Test
    void rowBandsMatchTheWholeImageAndTheReference() {
        Kernels v = vector();
        long seed = 5000;
        for (Case k : cases()) {
            ConvGeometry g = k.g;
            int outH = g.outH();
            int outW = g.outW();
            int taps = g.patchSize();
            Random rnd = new Random(seed++);
            float[] image = padded(random(rnd, g.imageSize()));
            float[] whole = new float[taps * g.outPixels()];
            scalar.im2col(image, PAD, g, whole);
            int[][] bands = {{0, outH}, {0, 1}, {outH / 2, outH}, {1, Math.max(1, outH - 1)}};
            for (int[] band : bands) {
                int rows = band[1] - band[0];
                float[] expected = new float[taps * rows * outW];
                float[] actual = new float[expected.length];
                Arrays.fill(actual, SENTINEL);
                scalar.im2colRows(image, PAD, g, band[0], band[1], expected);
                v.im2colRows(image, PAD, g, band[0], band[1], actual);
                assertThat(Arrays.mismatch(actual, expected)).as("im2colRows %s rows %s: first differing element", k,
                        Arrays.toString(band)).isEqualTo(-1);
                // the band is rows [oy0, oy1) of every tap's row of the whole-image matrix
                for (int t = 0; t < taps; t++) {
                    int from = t * outH * outW + band[0] * outW;
                    assertThat(Arrays.mismatch(expected, t * rows * outW, (t + 1) * rows * outW, whole, from,
                            from + rows * outW)).as("im2colRows %s rows %s tap %d", k, Arrays.toString(band), t)
                            .isEqualTo(-1);
                }
                float[] columns = random(rnd, expected.length);
                float[] start = padded(random(rnd, g.imageSize()));
                float[] gradExpected = start.clone();
                float[] gradActual = start.clone();
                scalar.col2imRowsAccumulate(columns, g, band[0], band[1], gradExpected, PAD);
                v.col2imRowsAccumulate(columns, g, band[0], band[1], gradActual, PAD);
                assertThat(Arrays.mismatch(gradActual, gradExpected)).as("col2imRows %s rows %s: first differing "
                        + "element", k, Arrays.toString(band)).isEqualTo(-1);
            }
        }
    }

    @Test
    void biasGradientMatchesReference() {
        Kernels v = vector();
        Random rnd = new Random(6000);
        for (int pixels : new int[] {1, 7, 16, 17, 1023, 1024, 1025, 5000}) {
            for (int channels : new int[] {1, 3}) {
                float[] outGrad = padded(random(rnd, channels * pixels));
                double[] start = {0.25, -0.5, 1.5};
                double[] expected = start.clone();
                double[] actual = start.clone();
                scalar.convBiasGradAccumulate(outGrad, PAD, channels, pixels, expected);
                v.convBiasGradAccumulate(outGrad, PAD, channels, pixels, actual);
                for (int o = 0; o < 3; o++) {
                    // float lanes over 16-value chunks: rounding ~1e-7 of sum|terms| (<= pixels here)
                    assertThat(Math.abs(actual[o] - expected[o])).as("pixels %d channels %d bias %d", pixels, channels,
                            o).isLessThanOrEqualTo(o < channels ? 1e-6 * pixels : 0.0);
                }
            }
        }
    }

    // ============================================================================================ helpers

    static float[] random(Random rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = rnd.nextFloat() * 2f - 1f;
        }
        return a;
    }

    /** The values with PAD sentinels on each side. */
    static float[] padded(float[] values) {
        float[] a = new float[values.length + 2 * PAD];
        Arrays.fill(a, SENTINEL);
        System.arraycopy(values, 0, a, PAD, values.length);
        return a;
    }

    static float[] sentinels(int n) {
        float[] a = new float[n + 2 * PAD];
        Arrays.fill(a, SENTINEL);
        return a;
    }

    private static float[] abs(float[] a) {
        float[] b = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = Math.abs(a[i]);
        }
        return b;
    }

    /**
     * actual and expected carry PAD sentinels on each side; magnitude[i] is the sum of |terms| of element i.
     * float32 rounding of a sum of n terms is at most about n * 6e-8 * sum|terms|; 1e-5 relative covers n up to
     * the ~500 terms used here with room, while a missing or doubled term is off by ~sum|terms| / n.
     */
    private static void assertClose(float[] actual, float[] expected, float[] magnitude, String what) {
        int n = magnitude.length;
        for (int i = 0; i < PAD; i++) {
            assertThat(actual[i]).as("%s: element before the output was written", what).isEqualTo(SENTINEL);
            assertThat(actual[PAD + n + i]).as("%s: element after the output was written", what)
                    .isEqualTo(SENTINEL);
        }
        for (int i = 0; i < n; i++) {
            double tol = 1e-5 * magnitude[i] + 1e-6;
            assertThat(Math.abs((double) actual[PAD + i] - expected[PAD + i]))
                    .as("%s element %d: vector %s, scalar %s", what, i, actual[PAD + i], expected[PAD + i])
                    .isLessThanOrEqualTo(tol);
        }
    }
}
