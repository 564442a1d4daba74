package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.junit.jupiter.api.Test;

class PoolOpsTest {

    /** A pooling window: size, stride and padding per axis. */
    private record Window(int kH, int kW, int strideH, int strideW, int padH, int padW) {
    }

    private static final Window[] WINDOWS = {
        new Window(2, 2, 2, 2, 0, 0),
        new Window(3, 3, 2, 2, 1, 1),   // overlapping windows, stride != kernel
        new Window(3, 3, 1, 1, 0, 0),
        new Window(2, 3, 1, 2, 1, 1),   // non-square everything
        new Window(3, 3, 3, 3, 1, 1),
        new Window(3, 1, 2, 1, 0, 0),
        new Window(1, 1, 1, 1, 0, 0),
    };

    private static Tensor maxPool(Tensor x, Window k) {
        return Functional.maxPool2d(x, k.kH, k.kW, k.strideH, k.strideW, k.padH, k.padW);
    }

    private static Tensor avgPool(Tensor x, Window k) {
        return Functional.avgPool2d(x, k.kH, k.kW, k.strideH, k.strideW, k.padH, k.padW);
    }

    /** Values 0, 0.05, 0.1, ... in random order, shifted to straddle 0: no two within 2 * GradCheck's step. */
    private static Tensor distinctValues(long seed, int... shape) {
        int n = Shapes.size(shape);
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) {
            perm[i] = i;
        }
        Rng rng = new Rng(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = 0.05f * (perm[i] - n / 2);
        }
        return Tensor.of(d, shape).requiresGrad(true);
    }

    /** The definition, in double: max (or mean over kH*kW, padding as zeros) of each window. */
    private static double[] naivePool(Tensor x, Window k, boolean max) {
        int[] s = x.shape();
        int outH = (s[2] + 2 * k.padH - k.kH) / k.strideH + 1;
        int outW = (s[3] + 2 * k.padW - k.kW) / k.strideW + 1;
        double[] out = new double[s[0] * s[1] * outH * outW];
        int idx = 0;
        for (int n = 0; n < s[0]; n++) {
            for (int c = 0; c < s[1]; c++) {
                for (int oy = 0; oy < outH; oy++) {
                    for (int ox = 0; ox < outW; ox++) {
                        double acc = max ? Double.NEGATIVE_INFINITY : 0;
                        for (int i = 0; i < k.kH; i++) {
                            for (int j = 0; j < k.kW; j++) {
                                int y = oy * k.strideH - k.padH + i;
                                int xx = ox * k.strideW - k.padW + j;
                                if (y < 0 || y >= s[2] || xx < 0 || xx >= s[3]) {
                                    continue;
                                }
                                double v = x.get(n, c, y, xx);
                                acc = max ? Math.max(acc, v) : acc + v;
                            }
                        }
                        out[idx++] = max ? acc : acc / (k.kH * k.kW);
                    }
                }
            }
        }
        return out;
    }

    private static void assertClose(Tensor actual, double[] expected, String what) {
        float[] a = actual.data();
        assertThat(a).as(what).hasSize(expected.length);
        for (int i = 0; i < expected.length; i++) {
            assertThat(Math.abs(a[i] - expected[i])).as("%s element %d: %s vs %s", what, i, a[i], expected[i])
                    .isLessThan(1e-6);
        }
    }

    // ============================================================================================ forward

    @Test
    void handComputedMaxAndAverage() {
        // 4x4 input 0..15
        Tensor x = Tensor.arange(16).reshape(1, 1, 4, 4);
        assertThat(Functional.maxPool2d(x, 2).toArray()).containsExactly(5f, 7f, 13f, 15f);
        assertThat(Functional.avgPool2d(x, 2).toArray()).containsExactly(2.5f, 4.5f, 10.5f, 12.5f);
        Tensor max = Functional.maxPool2d(x, 3, 3, 2, 2, 1, 1);
        assertThat(max.shape()).containsExactly(1, 1, 2, 2);
        assertThat(max.toArray()).containsExactly(5f, 7f, 13f, 15f);
        // padding counts as zeros in the average and 9 in the divisor:
        // rows -1..1 x cols -1..1 holds 0+1+4+5, cols 1..3 holds 1+2+3+5+6+7, and so on
        Tensor avg = Functional.avgPool2d(x, 3, 3, 2, 2, 1, 1);
        assertClose(avg, new double[] {10.0 / 9, 24.0 / 9, 51.0 / 9, 90.0 / 9}, "avg 3x3 stride 2 pad 1");
    }

    @Test
    void maxIgnoresPaddingEvenWhenAllValuesAreNegative() {
        // -infinity padding: a zero-padded max would wrongly return 0 for the corner windows
        Tensor x = Tensor.arange(16).reshape(1, 1, 4, 4).sub(100f);
        assertThat(Functional.maxPool2d(x, 3, 3, 2, 2, 1, 1).toArray()).containsExactly(-95f, -93f, -87f, -85f);
    }

    @Test
    void matchesNaivePoolingOnOddShapes() {
        Tensor x = Tensor.uniform(new Rng(3), -1f, 1f, 2, 3, 7, 6);
        for (Window k : WINDOWS) {
            assertClose(maxPool(x, k), naivePool(x, k, true), "max " + k);
            assertClose(avgPool(x, k), naivePool(x, k, false), "avg " + k);
            int outH = (7 + 2 * k.padH - k.kH) / k.strideH + 1;
            int outW = (6 + 2 * k.padW - k.kW) / k.strideW + 1;
            assertThat(maxPool(x, k).shape()).containsExactly(2, 3, outH, outW);
        }
    }

    // ============================================================================================ gradients

    @Test
    void maxGradientGoesToTheMaximumAndAddsUpOverOverlaps() {
        Tensor x = Tensor.arange(16).reshape(1, 1, 4, 4).copy().requiresGrad(true);
        Functional.maxPool2d(x, 2).sum().backward();
        assertThat(x.grad().toArray()).containsExactly(0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1);
        // 3x3 windows with stride 1 over 4x4: the four windows' maxima are 10, 11, 14, 15
        x.zeroGrad();
        Functional.maxPool2d(x, 3, 3, 1, 1, 0, 0).sum().backward();
        assertThat(x.grad().toArray()).containsExactly(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1);
        // stride 1 with padding 1: the bottom-right value 15 is the maximum of 4 windows
        x.zeroGrad();
        Functional.maxPool2d(x, 3, 3, 1, 1, 1, 1).sum().backward();
        assertThat(x.grad().get(0, 0, 3, 3)).isEqualTo(4f);
    }

    @Test
    void maxGradients() {
        for (Window k : WINDOWS) {
            assertGradientsMatch(in -> maxPool(in[0], k), distinctValues(7, 2, 3, 7, 5));
        }
    }

    @Test
    void avgGradients() {
        for (Window k : WINDOWS) {
            assertGradientsMatch(in -> avgPool(in[0], k), input(8, 2, 3, 7, 5));
        }
    }

    @Test
    void avgGradientSpreadsEvenlyIncludingPadding() {
        // 3x3 window with padding 1 on a 1x1 input: one output, 1/9 of it reaches the only real position
        Tensor x = Tensor.of(new float[] {2f}, 1, 1, 1, 1).requiresGrad(true);
        Tensor out = Functional.avgPool2d(x, 3, 3, 1, 1, 1, 1);
        assertThat(out.item()).isEqualTo(2f / 9);
        out.sum().backward();
        assertThat(x.grad().item()).isEqualTo(1f / 9);
    }

    // ============================================================================================ global average

    @Test
    void globalAveragePoolingIsTheMeanOfEachPlane() {
        Tensor x = Tensor.arange(24).reshape(2, 3, 2, 2);
        Tensor y = Functional.globalAvgPool2d(x);
        assertThat(y.shape()).containsExactly(2, 3, 1, 1);
        assertThat(y.toArray()).containsExactly(1.5f, 5.5f, 9.5f, 13.5f, 17.5f, 21.5f);
        // an odd plane, 7x5: against a double sum
        Tensor odd = input(30, 2, 3, 7, 5);
        float[] means = Functional.globalAvgPool2d(odd).toArray();
        for (int p = 0; p < 6; p++) {
            double sum = 0;
            for (int i = 0; i < 35; i++) {
                sum += odd.data()[p * 35 + i];
            }
            assertThat(means[p]).isEqualTo((float) (sum / 35));
        }
    }

    @Test
    void globalAveragePoolingGradients() {
        assertGradientsMatch(in -> Functional.globalAvgPool2d(in[0]), input(31, 2, 3, 7, 5));
        Tensor x = input(32, 1, 2, 3, 3);
        Functional.globalAvgPool2d(x).sum().backward();
        for (float g : x.grad().toArray()) {
            assertThat(g).isEqualTo(1f / 9);
        }
    }

    @Test
    void globalAveragePoolingNeedsNonEmptyImages() {
        assertThatThrownBy(() -> Functional.globalAvgPool2d(Tensor.zeros(2, 3, 4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("globalAvgPool2d").hasMessageContaining("[2, 3, 4]");
        assertThatThrownBy(() -> Functional.globalAvgPool2d(Tensor.zeros(1, 2, 0, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 2, 0, 3]");
    }

    // ============================================================================================ errors

    @Test
    void wrongRankNamesLayoutAndShape() {
        assertThatThrownBy(() -> Functional.maxPool2d(Tensor.zeros(3, 5, 5), 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxPool2d").hasMessageContaining("[N, C, H, W]")
                .hasMessageContaining("[3, 5, 5]");
        assertThatThrownBy(() -> Functional.avgPool2d(Tensor.zeros(1, 1, 2, 3, 5), 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("avgPool2d").hasMessageContaining("[1, 1, 2, 3, 5]");
    }

    @Test
    void badWindowsAreRejected() {
        Tensor x = Tensor.zeros(1, 2, 5, 5);
        assertThatThrownBy(() -> Functional.maxPool2d(x, 7))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kernel 7x7").hasMessageContaining("5x5");
        assertThatThrownBy(() -> Functional.maxPool2d(x, 3, 3, 1, 1, 2, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("padding (2, 2)");
        assertThatThrownBy(() -> Functional.avgPool2d(x, 2, 2, 0, 2, 0, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stride 0x2");
        assertThatThrownBy(() -> Functional.avgPool2d(x, 2, 2, 2, 2, -1, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("padding (-1, 0)");
        assertThatThrownBy(() -> Functional.avgPool2d(Tensor.zeros(1, 2, 0, 5), 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("non-empty");
    }
}
