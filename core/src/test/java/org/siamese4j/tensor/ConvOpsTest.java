package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;

class ConvOpsTest {

    /** One convolution setting: input and weight shapes, then stride, padding and dilation per axis. */
    private record Config(int n, int c, int h, int w, int o, int kH, int kW, int strideH, int strideW, int padH,
                          int padW, int dilationH, int dilationW, PaddingMode mode) {
    }

    private static Tensor conv(Tensor x, Tensor weight, Tensor bias, Config k) {
        return Functional.conv2d(x, weight, bias, k.strideH, k.strideW, k.padH, k.padW, k.dilationH, k.dilationW,
                k.mode);
    }

    /** Where padded coordinate p reads from in an axis of length n, or -1 for a zero; written from the definition. */
    private static int source(int p, int n, PaddingMode mode) {
        if (p >= 0 && p < n) {
            return p;
        }
        if (mode == PaddingMode.ZEROS) {
            return -1;
        }
        // reflect about the edge element, which is not repeated: index -1 reads 1, index n reads n-2
        return p < 0 ? -p : (n - 1) - (p - (n - 1));
    }

    /** The definition, in double: out[n,o,y,x] = b[o] + sum_{c,i,j} w[o,c,i,j] * xpad[n, c, y*s - p + i*d, ...]. */
    private static double[] naiveConv(Tensor x, Tensor weight, Tensor bias, Config k) {
        int outH = (k.h + 2 * k.padH - k.dilationH * (k.kH - 1) - 1) / k.strideH + 1;
        int outW = (k.w + 2 * k.padW - k.dilationW * (k.kW - 1) - 1) / k.strideW + 1;
        double[] out = new double[k.n * k.o * outH * outW];
        int idx = 0;
        for (int n = 0; n < k.n; n++) {
            for (int o = 0; o < k.o; o++) {
                for (int oy = 0; oy < outH; oy++) {
                    for (int ox = 0; ox < outW; ox++) {
                        double s = bias == null ? 0 : bias.get(o);
                        for (int c = 0; c < k.c; c++) {
                            for (int i = 0; i < k.kH; i++) {
                                for (int j = 0; j < k.kW; j++) {
                                    int y = source(oy * k.strideH - k.padH + i * k.dilationH, k.h, k.mode);
                                    int xx = source(ox * k.strideW - k.padW + j * k.dilationW, k.w, k.mode);
                                    if (y >= 0 && xx >= 0) {
                                        s += (double) weight.get(o, c, i, j) * x.get(n, c, y, xx);
                                    }
                                }
                            }
                        }
                        out[idx++] = s;
                    }
                }
            }
        }
        return out;
    }

    private static void assertMatchesNaive(Config k, boolean withBias, long seed) {
        Tensor x = Tensor.uniform(new Rng(seed), -1f, 1f, k.n, k.c, k.h, k.w);
        Tensor weight = Tensor.uniform(new Rng(seed + 1), -1f, 1f, k.o, k.c, k.kH, k.kW);
        Tensor bias = withBias ? Tensor.uniform(new Rng(seed + 2), -1f, 1f, k.o) : null;
        Tensor out = conv(x, weight, bias, k);
        double[] expected = naiveConv(x, weight, bias, k);
        int outH = (k.h + 2 * k.padH - k.dilationH * (k.kH - 1) - 1) / k.strideH + 1;
        int outW = (k.w + 2 * k.padW - k.dilationW * (k.kW - 1) - 1) / k.strideW + 1;
        assertThat(out.shape()).as(k.toString()).containsExactly(k.n, k.o, outH, outW);
        float[] actual = out.data();
        for (int i = 0; i < expected.length; i++) {
            // each output sums C*kH*kW <= 48 products of values in [-1, 1]: float32 error is far below 1e-5
            assertThat(Math.abs(actual[i] - expected[i])).as("%s element %d: %s vs %s", k, i, actual[i],
                    expected[i]).isLessThan(1e-5);
        }
    }

    // ============================================================================================ forward

    @Test
    void handComputedSumOfWindows() {
        // 3x3 input 0..8, 2x2 kernel of ones: each output is the sum of a 2x2 block, plus bias 0.5
        Tensor x = Tensor.arange(9).reshape(1, 1, 3, 3);
        Tensor w = Tensor.ones(1, 1, 2, 2);
        Tensor out = Functional.conv2d(x, w, Tensor.of(0.5f), 1, 0);
        assertThat(out.shape()).containsExactly(1, 1, 2, 2);
        assertThat(out.toArray()).containsExactly(8.5f, 12.5f, 20.5f, 24.5f);
    }

    @Test
    void handComputedReflectPadding() {
        // [1 2 3] reflect-padded by 1 is [2 1 2 3 2]; a 1x3 kernel of ones gives 5, 6, 7
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 1, 1, 1, 3);
        Tensor w = Tensor.ones(1, 1, 1, 3);
        Tensor out = Functional.conv2d(x, w, null, 1, 1, 0, 1, 1, 1, PaddingMode.REFLECT);
        assertThat(out.toArray()).containsExactly(5f, 6f, 7f);
        // zero padding instead: [0 1 2 3 0] gives 3, 6, 5
        Tensor zeros = Functional.conv2d(x, w, null, 1, 1, 0, 1, 1, 1, PaddingMode.ZEROS);
        assertThat(zeros.toArray()).containsExactly(3f, 6f, 5f);
    }

    @Test
    void matchesNaiveConvolutionOnOddShapes() {
        Config[] configs = {
            new Config(2, 3, 7, 6, 4, 3, 3, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 3, 3, 2, 2, 1, 1, 1, 1, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 3, 3, 2, 2, 0, 0, 1, 1, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 5, 5, 1, 1, 2, 2, 1, 1, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 2, 3, 1, 2, 2, 1, 1, 1, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 3, 1, 2, 1, 0, 0, 1, 1, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, PaddingMode.REFLECT),
            new Config(2, 3, 7, 6, 4, 5, 3, 1, 1, 2, 1, 1, 1, PaddingMode.REFLECT),
            new Config(2, 3, 7, 6, 4, 3, 3, 2, 2, 2, 2, 1, 1, PaddingMode.REFLECT),
            new Config(2, 3, 7, 6, 4, 3, 3, 1, 1, 0, 0, 2, 2, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 3, 3, 1, 1, 2, 2, 2, 2, PaddingMode.ZEROS),
            new Config(2, 3, 7, 6, 4, 3, 2, 2, 1, 2, 1, 2, 3, PaddingMode.REFLECT),
            new Config(1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS),
            new Config(3, 2, 5, 9, 1, 1, 1, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS),
        };
        long seed = 10;
        for (Config k : configs) {
            assertMatchesNaive(k, true, seed);
            assertMatchesNaive(k, false, seed + 100);
            seed += 3;
        }
    }

    @Test
    void noGradRecordsNothing() {
        Tensor x = input(1, 1, 2, 5, 5);
        Tensor w = input(2, 3, 2, 3, 3);
        try (GradMode.Scope ignored = Tensor.noGrad()) {
            assertThat(Functional.conv2d(x, w, null, 1, 1).requiresGrad()).isFalse();
        }
    }

    // ============================================================================================ gradients

    @Test
    void gradientsWithZeroPadding() {
        Config k = new Config(2, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k), input(1, 2, 3, 5, 5), input(2, 2, 3, 3, 3),
                input(3, 2));
    }

    @Test
    void gradientsWithReflectPaddingNonSquareKernel() {
        Config k = new Config(2, 2, 5, 7, 3, 3, 2, 1, 1, 2, 1, 1, 1, PaddingMode.REFLECT);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k), input(4, 2, 2, 5, 7), input(5, 3, 2, 3, 2),
                input(6, 3));
    }

    @Test
    void gradientsWithStrideTwo() {
        // 7 + 2 - 3 is even, so the last column and row are reached; 6 wide leaves one column unread
        Config k = new Config(2, 3, 7, 6, 2, 3, 3, 2, 2, 1, 1, 1, 1, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k), input(7, 2, 3, 7, 6), input(8, 2, 3, 3, 3),
                input(9, 2));
    }

    @Test
    void gradientsWithDilationTwo() {
        Config k = new Config(1, 3, 7, 5, 2, 3, 3, 1, 1, 1, 2, 2, 2, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k), input(10, 1, 3, 7, 5), input(11, 2, 3, 3, 3),
                input(12, 2));
    }

    @Test
    void gradientsWithReflectStrideAndDilation() {
        Config k = new Config(1, 2, 7, 5, 3, 3, 3, 2, 1, 2, 2, 2, 1, PaddingMode.REFLECT);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k), input(13, 1, 2, 7, 5), input(14, 3, 2, 3, 3),
                input(15, 3));
    }

    @Test
    void gradientsWithoutBiasAndWithFixedInput() {
        Config k = new Config(2, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS);
        assertGradientsMatch(in -> conv(in[0], in[1], null, k), input(16, 2, 3, 5, 5), input(17, 2, 3, 3, 3));
        // the first layer of a network: only the weight needs a gradient, x gets none
        Tensor x = input(18, 2, 3, 5, 5).requiresGrad(false);
        assertGradientsMatch(in -> conv(x, in[0], in[1], k), input(19, 2, 3, 3, 3), input(20, 2));
        assertThat(x.grad()).isNull();
    }

    @Test
    void sharedWeightUsedOnTwoInputsGetsBothGradients() {
        // a Siamese tower: the same weight applied to two images; its gradient is the sum of both
        Tensor w = input(21, 2, 3, 3, 3);
        Tensor a = input(22, 1, 3, 5, 5).requiresGrad(false);
        Tensor b = input(23, 1, 3, 5, 5).requiresGrad(false);
        Functional.conv2d(a, w, null, 1, 1).sum().backward();
        float[] fromA = w.grad().toArray();
        w.zeroGrad();
        Functional.conv2d(b, w, null, 1, 1).sum().backward();
        float[] fromB = w.grad().toArray();
        w.zeroGrad();
        Functional.conv2d(a, w, null, 1, 1).add(Functional.conv2d(b, w, null, 1, 1)).sum().backward();
        float[] both = w.grad().toArray();
        for (int i = 0; i < both.length; i++) {
            assertThat(both[i]).isCloseTo(fromA[i] + fromB[i], within(1e-5f));
        }
    }

    // ============================================================================================ errors

    @Test
    void negativePaddingIsRejected() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 3, 3, 3), null, 1,
                1, -1, 0, 1, 1, PaddingMode.ZEROS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("conv2d").hasMessageContaining("padding").hasMessageContaining("-1");
    }

    @Test
    void kernelLargerThanPaddedInputIsRejected() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 4, 4), Tensor.zeros(2, 3, 7, 3), null, 1,
                1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("conv2d").hasMessageContaining("7x3").hasMessageContaining("6x6");
        // dilation 3 stretches a 3x3 kernel to span 7x7
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 3, 3, 3), null, 1,
                1, 0, 0, 3, 3, PaddingMode.ZEROS))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("span 7x7");
    }

    @Test
    void reflectPaddingAsWideAsTheInputIsRejected() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 1, 3, 3), Tensor.zeros(1, 1, 3, 3), null, 1,
                1, 3, 3, 1, 1, PaddingMode.REFLECT))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reflection padding");
    }

    @Test
    void zeroStrideIsRejected() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 3, 3, 3), null, 0,
                1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("stride height")
                .hasMessageContaining("0");
    }

    @Test
    void wrongRankNamesLayoutAndShape() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(3, 5, 5), Tensor.zeros(2, 3, 3, 3), null, 1, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("conv2d").hasMessageContaining("[N, C, H, W]")
                .hasMessageContaining("[3, 5, 5]");
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 3, 3), null, 1, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("conv2d").hasMessageContaining("[O, C, kH, kW]")
                .hasMessageContaining("[2, 3, 3]");
    }

    @Test
    void channelMismatchNamesBothShapes() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 4, 3, 3), null, 1,
                0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("conv2d").hasMessageContaining("[1, 3, 5, 5]")
                .hasMessageContaining("[2, 4, 3, 3]");
    }

    @Test
    void biasOfWrongShapeIsRejected() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 3, 3, 3),
                Tensor.zeros(3), 1, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bias").hasMessageContaining("[2]").hasMessageContaining("[3]");
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 3, 3, 3),
                Tensor.zeros(1, 2), 1, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 2]");
    }

    @Test
    void nullPaddingModeIsRejected() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 3, 5, 5), Tensor.zeros(2, 3, 3, 3), null, 1,
                1, 0, 0, 1, 1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("padding mode");
    }
}
