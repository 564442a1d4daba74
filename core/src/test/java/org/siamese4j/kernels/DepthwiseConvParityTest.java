package org.siamese4j.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.siamese4j.kernels.DirectConvParityTest.PAD;
import static org.siamese4j.kernels.DirectConvParityTest.SENTINEL;
import static org.siamese4j.kernels.DirectConvParityTest.padded;
import static org.siamese4j.kernels.DirectConvParityTest.random;
import static org.siamese4j.kernels.DirectConvParityTest.sentinels;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;

/**
 * The depthwise kernels (forward, weight gradient, input gradient) of the scalar reference and of the Vector API
 * against the definition computed in double, and so against each other: MobileFaceNet's 3x3 at stride 1 and 2 with
 * padding 1 and its 7x7 "GDC" without padding, on planes narrower than a vector (7, 14) and wider (17, 33, 58), odd
 * and even sizes, zero and reflection padding, stride 2 and 3, dilation, non-square kernels and strides, channel
 * multipliers 1 and 2. Operands sit at non-zero offsets inside larger arrays whose other elements must stay
 * untouched, and the gradients accumulate onto non-zero values.
 *
 * <p>Each value is a sum of at most a few thousand products of numbers in [-1, 1]; float32 summation of n terms errs
 * by at most about n * 6e-8 * sum|terms|, so 1e-5 * sum|terms| holds with room while a missing, doubled or misplaced
 * term is off by about sum|terms| / n. Without the Vector API module (the scalar-fallback run) only the scalar
 * kernels are checked.
 */
class DepthwiseConvParityTest {
    /** A geometry (its channels are the input channels) and the channel multiplier. */
    private record Case(ConvGeometry g, int multiplier) {
        int outChannels() {
            return g.channels() * multiplier;
        }

        int taps() {
            return g.kH() * g.kW();
        }

        @Override
        public String toString() {
            return g + " x" + multiplier;
        }
    }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        int next = 0;
        int[][] sizes = {{7, 7}, {14, 14}, {5, 17}, {9, 33}, {12, 58}, {3, 4}};
        for (int[] hw : sizes) {
            int h = hw[0];
            int w = hw[1];
            int c = 1 + next % 3;
            for (PaddingMode mode : PaddingMode.values()) {
                // MobileFaceNet's 3x3 depthwise layers, stride 1 and 2, padding 1
                cases.add(new Case(new ConvGeometry(c, h, w, 3, 3, 1, 1, 1, 1, 1, 1, mode), 1 + next++ % 2));
                cases.add(new Case(new ConvGeometry(c, h, w, 3, 3, 2, 2, 1, 1, 1, 1, mode), 1 + next++ % 2));
                // deeper padding, stride only down or only across
                if (h > 2 && w > 2) {
                    cases.add(new Case(new ConvGeometry(c, h, w, 5, 3, 1, 2, 2, 1, 1, 1, mode), 1 + next++ % 2));
                }
                cases.add(new Case(new ConvGeometry(c, h, w, 3, 1, 2, 1, 1, 0, 1, 1, mode), 1 + next++ % 2));
            }
            // no padding, stride 3, dilation 2, a 1x1 kernel at stride 2
            cases.add(new Case(new ConvGeometry(c, h, w, 3, 3, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS), 1));
            cases.add(new Case(new ConvGeometry(c, h, w, 3, 3, 3, 3, 1, 1, 1, 1, PaddingMode.ZEROS), 2));
            cases.add(new Case(new ConvGeometry(c, h, w, 3, 3, 2, 1, 2, 2, 2, 2, PaddingMode.ZEROS), 1));
            cases.add(new Case(new ConvGeometry(c, h, w, 1, 1, 2, 2, 0, 0, 1, 1, PaddingMode.ZEROS), 2));
        }
        // the global depthwise convolution (GDC): a 7x7 filter over a 7x7 plane, one output per channel
        cases.add(new Case(new ConvGeometry(5, 7, 7, 7, 7, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS), 1));
        cases.add(new Case(new ConvGeometry(3, 7, 7, 7, 7, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS), 2));
        // one pixel
        cases.add(new Case(new ConvGeometry(2, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS), 1));
        return cases;
    }

    private static List<Kernels> implementations() {
        List<Kernels> list = new ArrayList<>();
        list.add(KernelProvider.scalar());
        if (KernelProvider.vectorOrNull() != null) {
            list.add(KernelProvider.vectorOrNull());
        }
        return list;
    }

    @Test
    void forwardMatchesTheDefinition() {
        long seed = 1;
        for (Case k : cases()) {
            for (boolean withBias : new boolean[] {true, false}) {
                Definition d = new Definition(k, new Random(seed++), withBias);
                int outSize = k.outChannels() * k.g.outPixels();
                for (Kernels kernels : implementations()) {
                    float[] out = sentinels(outSize);
                    kernels.depthwiseConvForward(padded(d.image), PAD, k.g, k.multiplier, d.weight, d.bias, out, PAD);
                    assertClose(out, d.out, d.outMagnitude, kernels.name() + " forward " + k + " bias " + withBias);
                }
            }
        }
    }

    @Test
    void weightGradientMatchesTheDefinition() {
        long seed = 1000;
        for (Case k : cases()) {
            Definition d = new Definition(k, new Random(seed++), false);
            for (Kernels kernels : implementations()) {
                // the weight gradient is at offset 0: sentinels after it only
                float[] dW = Arrays.copyOf(d.weightGradStart, d.weightGradStart.length + PAD);
                Arrays.fill(dW, d.weightGradStart.length, dW.length, SENTINEL);
                kernels.depthwiseConvWeightGradAccumulate(padded(d.image), PAD, k.g, k.multiplier,
                        padded(d.outGrad), PAD, dW);
                assertClose(dW, 0, d.weightGrad, d.weightGradMagnitude, kernels.name() + " weight gradient " + k);
            }
        }
    }

    @Test
    void inputGradientMatchesTheDefinition() {
        long seed = 2000;
        for (Case k : cases()) {
            Definition d = new Definition(k, new Random(seed++), false);
            for (Kernels kernels : implementations()) {
                float[] dx = padded(d.imageGradStart);
                kernels.depthwiseConvInputGradAccumulate(padded(d.outGrad), PAD, k.g, k.multiplier, d.weight, dx,
                        PAD);
                assertClose(dx, d.imageGrad, d.imageGradMagnitude, kernels.name() + " input gradient " + k);
            }
        }
    }

    @Test
    void aLargerLayerBetweenTwoSmallerOnesLeavesNoStaleScratch() {
        // The vector kernels keep per-thread buffers (and the last layout) between calls: a call on a small plane
        // after a large one must not read the large one's leftovers in its zero borders.
        List<Case> order = List.of(
                new Case(new ConvGeometry(2, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, PaddingMode.ZEROS), 1),
                new Case(new ConvGeometry(2, 30, 41, 3, 3, 1, 1, 1, 1, 1, 1, PaddingMode.REFLECT), 2),
                new Case(new ConvGeometry(2, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1, PaddingMode.ZEROS), 1));
        long seed = 3000;
        for (int round = 0; round < 2; round++) {
            for (Case k : order) {
                Definition d = new Definition(k, new Random(seed++), true);
                for (Kernels kernels : implementations()) {
                    float[] out = sentinels(k.outChannels() * k.g.outPixels());
                    kernels.depthwiseConvForward(padded(d.image), PAD, k.g, k.multiplier, d.weight, d.bias, out, PAD);
                    assertClose(out, d.out, d.outMagnitude, kernels.name() + " forward " + k);
                    float[] dx = padded(d.imageGradStart);
                    kernels.depthwiseConvInputGradAccumulate(padded(d.outGrad), PAD, k.g, k.multiplier, d.weight,
                            dx, PAD);
                    assertClose(dx, d.imageGrad, d.imageGradMagnitude, kernels.name() + " input gradient " + k);
                }
            }
        }
    }

    @Test
    void vectorAndScalarAgreeOnEveryCase() {
        Kernels vector = KernelProvider.vectorOrNull();
        assumeTrue(vector != null, "no Vector API kernels in this JVM");
        Kernels scalar = KernelProvider.scalar();
        long seed = 4000;
        for (Case k : cases()) {
            Definition d = new Definition(k, new Random(seed++), true);
            float[] expected = new float[k.outChannels() * k.g.outPixels()];
            float[] actual = expected.clone();
            scalar.depthwiseConvForward(d.image, 0, k.g, k.multiplier, d.weight, d.bias, expected, 0);
            vector.depthwiseConvForward(d.image, 0, k.g, k.multiplier, d.weight, d.bias, actual, 0);
            for (int i = 0; i < expected.length; i++) {
                assertThat((double) Math.abs(actual[i] - expected[i])).as("%s output %d", k, i)
                        .isLessThanOrEqualTo(1e-5 * d.outMagnitude[i] + 1e-6);
            }
        }
    }

    // ============================================================================================ the definition

    /**
     * Random operands for one case and, from {@link ConvReference} (groups = C), what the kernels must compute from
     * them: out, and dW and dx accumulated onto random starting values; each with the sum of |terms| of every value.
     */
    private static final class Definition {
        final float[] image;
        final float[] weight;
        final float[] bias;
        final float[] outGrad;
        final float[] weightGradStart;
        final float[] imageGradStart;
        final double[] out;
        final double[] outMagnitude;
        final double[] weightGrad;
        final double[] weightGradMagnitude;
        final double[] imageGrad;
        final double[] imageGradMagnitude;

        Definition(Case k, Random rnd, boolean withBias) {
            ConvGeometry g = k.g;
            image = random(rnd, g.imageSize());
            weight = random(rnd, k.outChannels() * k.taps());
            bias = withBias ? random(rnd, k.outChannels()) : null;
            outGrad = random(rnd, k.outChannels() * g.outPixels());
            weightGradStart = random(rnd, weight.length);
            imageGradStart = random(rnd, image.length);
            ConvReference ref = new ConvReference(g, 1, k.outChannels(), g.channels(), image, weight, bias, outGrad);
            out = ref.out;
            outMagnitude = ref.outMagnitude;
            weightGrad = plus(weightGradStart, ref.dw, false);
            weightGradMagnitude = plus(weightGradStart, ref.dwMagnitude, true);
            imageGrad = plus(imageGradStart, ref.dx, false);
            imageGradMagnitude = plus(imageGradStart, ref.dxMagnitude, true);
        }

        /** start + sum, or |start| + sum. */
        private static double[] plus(float[] start, double[] sum, boolean abs) {
            double[] r = new double[start.length];
            for (int i = 0; i < r.length; i++) {
                r[i] = (abs ? Math.abs(start[i]) : start[i]) + sum[i];
            }
            return r;
        }
    }

    // ============================================================================================ helpers
    // random, padded and sentinels are DirectConvParityTest's.

    /** actual carries PAD sentinels on each side. */
    private static void assertClose(float[] actual, double[] expected, double[] magnitude, String what) {
        assertClose(actual, PAD, expected, magnitude, what);
    }

    /** The values start at {@code off} in actual, with {@code off} sentinels before them and PAD after. */
    private static void assertClose(float[] actual, int off, double[] expected, double[] magnitude, String what) {
        int n = expected.length;
        assertThat(actual).as(what).hasSize(off + n + PAD);
        for (int i = 0; i < off; i++) {
            assertThat(actual[i]).as("%s: element before the operand was written", what).isEqualTo(SENTINEL);
        }
        for (int i = 0; i < PAD; i++) {
            assertThat(actual[off + n + i]).as("%s: element after the operand was written", what).isEqualTo(SENTINEL);
        }
        ConvReference.assertClose(actual, off, expected, magnitude, what);
    }
}
