package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.ConvGeometry;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;

/**
 * Grouped convolution (PyTorch's {@code groups}): 1 &lt; groups &lt; C (im2col + GEMM per group) and depthwise,
 * groups = C (the depthwise kernels, or per-channel im2col when im2col is forced), with channel multipliers 1 and 2.
 * Output and all three gradients against the definition computed in double on every path (and on 1 to 3 threads in
 * ConvPathsTest); finite-difference gradient checks; groups = 1 bit for bit the ungrouped op; the errors.
 */
class GroupedConvTest {
    private static final ConvAlgorithm[] PATHS = {ConvAlgorithm.IM2COL, ConvAlgorithm.DIRECT, ConvAlgorithm.WINOGRAD,
        ConvAlgorithm.AUTO};

    /** One convolution: input [n, c, h, w], o output channels, kH x kW filter, stride, padding, dilation, groups. */
    private record Config(int n, int c, int h, int w, int o, int kH, int kW, int stride, int pad, int dilation,
                          PaddingMode mode, int groups) {
        ConvGeometry geometry() {
            return new ConvGeometry(c, h, w, kH, kW, stride, stride, pad, pad, dilation, dilation, mode);
        }
    }

    private static Tensor conv(Tensor x, Tensor w, Tensor b, Config k, ConvAlgorithm path) {
        return ConvOps.conv2d(x, w, b, k.stride, k.stride, k.pad, k.pad, k.dilation, k.dilation, k.mode, k.groups,
                path);
    }

    private static List<Config> configs() {
        List<Config> list = new ArrayList<>();
        for (PaddingMode mode : PaddingMode.values()) {
            // depthwise, as MobileFaceNet: 3x3 at stride 1 and 2 with padding 1, multipliers 1 and 2
            list.add(new Config(3, 4, 7, 9, 4, 3, 3, 1, 1, 1, mode, 4));
            list.add(new Config(3, 3, 9, 17, 6, 3, 3, 2, 1, 1, mode, 3));
            list.add(new Config(2, 5, 14, 14, 5, 3, 3, 2, 1, 1, mode, 5));
            // grouped: 6 -> 9 channels in 3 groups, 8 -> 4 in 2, a 5x3 kernel, dilation
            list.add(new Config(3, 6, 6, 11, 9, 3, 3, 1, 1, 1, mode, 3));
            list.add(new Config(2, 8, 7, 7, 4, 5, 3, 2, 2, 1, mode, 2));
            list.add(new Config(2, 4, 9, 10, 8, 3, 3, 1, 2, 2, mode, 2));
        }
        // the 7x7 global depthwise convolution (no padding) and a 1x1 grouped convolution
        list.add(new Config(3, 6, 7, 7, 6, 7, 7, 1, 0, 1, PaddingMode.ZEROS, 6));
        list.add(new Config(2, 12, 5, 6, 8, 1, 1, 1, 0, 1, PaddingMode.ZEROS, 4));
        // one channel is groups = C = 1: the ordinary convolution
        list.add(new Config(2, 1, 6, 9, 3, 3, 3, 1, 1, 1, PaddingMode.ZEROS, 1));
        return list;
    }

    // ============================================================================================ vs definition

    @Test
    void everyPathMatchesTheDefinitionForwardAndBackward() {
        long seed = 1;
        for (Config k : configs()) {
            for (ConvAlgorithm path : PATHS) {
                ConvPathsTest.checkAgainstDefinition(k.geometry(), k.n, k.o, k.groups, path, seed++);
            }
        }
    }

    // ============================================================================================ gradient checks

    @Test
    void depthwiseGradientsStrideOneAndTwo() {
        Config same = new Config(2, 3, 5, 7, 3, 3, 3, 1, 1, 1, PaddingMode.ZEROS, 3);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], same, ConvAlgorithm.AUTO), input(60, 2, 3, 5, 7),
                input(61, 3, 1, 3, 3), input(62, 3));
        Config down = new Config(2, 2, 7, 6, 4, 3, 3, 2, 1, 1, PaddingMode.REFLECT, 2);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], down, ConvAlgorithm.AUTO), input(63, 2, 2, 7, 6),
                input(64, 4, 1, 3, 3), input(65, 4));
    }

    @Test
    void groupedGradientsBetweenOneAndC() {
        Config k = new Config(2, 6, 5, 6, 4, 3, 3, 1, 1, 1, PaddingMode.ZEROS, 2);
        assertGradientsMatch(in -> conv(in[0], in[1], in[2], k, ConvAlgorithm.AUTO), input(66, 2, 6, 5, 6),
                input(67, 4, 3, 3, 3), input(68, 4));
        Config strided = new Config(1, 6, 7, 5, 9, 3, 2, 2, 1, 1, PaddingMode.REFLECT, 3);
        assertGradientsMatch(in -> conv(in[0], in[1], null, strided, ConvAlgorithm.AUTO), input(69, 1, 6, 7, 5),
                input(70, 9, 2, 3, 2));
    }

    @Test
    void depthwiseFirstLayerGetsNoInputGradient() {
        Config k = new Config(3, 2, 6, 9, 2, 3, 3, 2, 1, 1, PaddingMode.ZEROS, 2);
        Tensor x = input(71, 3, 2, 6, 9).requiresGrad(false);
        assertGradientsMatch(in -> conv(x, in[0], in[1], k, ConvAlgorithm.AUTO), input(72, 2, 1, 3, 3),
                input(73, 2));
        assertThat(x.grad()).isNull();
    }

    // ============================================================================================ groups = 1

    @Test
    void oneGroupIsTheUngroupedConvolutionBitForBit() {
        for (ConvAlgorithm path : PATHS) {
            Tensor x = input(80, 3, 5, 9, 17);
            Tensor w = input(81, 7, 5, 3, 3);
            Tensor b = input(82, 7);
            Tensor ungrouped = ConvOps.conv2d(x, w, b, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS, path);
            Tensor grouped = ConvOps.conv2d(x, w, b, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS, 1, path);
            assertThat(Arrays.mismatch(grouped.data(), ungrouped.data())).as(path.toString()).isEqualTo(-1);
        }
    }

    @Test
    void depthwiseKernelAgreesWithPerChannelIm2col() {
        // The same depthwise layer two ways: the depthwise kernels (AUTO) and im2col per channel (forced).
        Config k = new Config(4, 16, 28, 28, 16, 3, 3, 2, 1, 1, PaddingMode.ZEROS, 16);
        Tensor x = input(83, 4, 16, 28, 28);
        Tensor w = input(84, 16, 1, 3, 3);
        float[] direct = conv(x, w, null, k, ConvAlgorithm.AUTO).data();
        float[] im2col = conv(x, w, null, k, ConvAlgorithm.IM2COL).data();
        for (int i = 0; i < direct.length; i++) {
            // 9 products of values in [-1, 1]: a few float32 roundings of at most 9
            assertThat(Math.abs(direct[i] - im2col[i])).as("element %d", i).isLessThan(1e-5f);
        }
    }

    // ============================================================================================ errors

    @Test
    void groupsThatDoNotDivideTheChannelsAreRejected() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 6, 5, 5), Tensor.zeros(4, 2, 3, 3), null, 1, 1,
                1, 1, 1, 1, PaddingMode.ZEROS, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("groups=4")
                .hasMessageContaining("[1, 6, 5, 5]").hasMessageContaining("[4, 2, 3, 3]");
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 6, 5, 5), Tensor.zeros(4, 2, 3, 3), null, 1, 1,
                1, 1, 1, 1, PaddingMode.ZEROS, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("groups must be positive, got 0");
    }

    @Test
    void weightWithTheWrongChannelsPerGroupNamesBothShapes() {
        assertThatThrownBy(() -> Functional.conv2d(Tensor.zeros(1, 6, 5, 5), Tensor.zeros(6, 3, 3, 3), null, 1, 1,
                1, 1, 1, 1, PaddingMode.ZEROS, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[1, 6, 5, 5]")
                .hasMessageContaining("[6, 3, 3, 3]").hasMessageContaining("3 per group, 9 in all with groups=3");
    }
}
