package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Kernels;
import org.siamese4j.kernels.WinogradConv;

/**
 * The transformed filters are reused while the weight's values stay the same, and made again as soon as any value
 * changes, however it was changed (here: written straight into the array, as an optimiser step does).
 */
class WinogradFiltersTest {
    private static final int OUT = 5;
    private static final int IN = 3;
    private final Kernels kernels = KernelProvider.kernels();

    @Test
    void sameValuesGiveTheSameTransformWithoutMakingItAgain() {
        float[] weight = Tensor.rand(new Rng(1), OUT, IN, 3, 3).data;
        float[] first = WinogradFilters.forward(kernels, weight, OUT, IN);
        assertThat(WinogradFilters.forward(kernels, weight, OUT, IN)).isSameAs(first);
        assertThat(WinogradFilters.flipped(kernels, weight, OUT, IN))
                .isSameAs(WinogradFilters.flipped(kernels, weight, OUT, IN));
    }

    @Test
    void aValueChangedInPlaceIsTransformedAgain() {
        float[] weight = Tensor.rand(new Rng(2), OUT, IN, 3, 3).data;
        WinogradFilters.forward(kernels, weight, OUT, IN);
        WinogradFilters.flipped(kernels, weight, OUT, IN);
        weight[weight.length - 1] += 0.5f;     // the last value, so a comparison that stops early would miss it

        float[] forward = new float[WinogradConv.filterSize(kernels, OUT, IN)];
        WinogradConv.transformFilters(kernels, weight, OUT, IN, forward);
        assertThat(WinogradFilters.forward(kernels, weight, OUT, IN)).containsExactly(forward);
        float[] flipped = new float[WinogradConv.filterSize(kernels, IN, OUT)];
        WinogradConv.transformFlippedFilters(kernels, weight, OUT, IN, flipped);
        assertThat(WinogradFilters.flipped(kernels, weight, OUT, IN)).containsExactly(flipped);
    }

    @Test
    void convolutionAfterAnInPlaceChangeEqualsOneWithFreshWeights() {
        Rng rng = new Rng(3);
        Tensor x = Tensor.rand(rng, 2, IN, 9, 11);
        Tensor weight = Tensor.rand(rng, OUT, IN, 3, 3);
        Tensor bias = Tensor.rand(rng, OUT);
        conv(x, weight, bias);
        weight.data[7] = -weight.data[7];

        Tensor fresh = Tensor.of(weight.data, OUT, IN, 3, 3);     // a new array: nothing kept for it
        assertThat(conv(x, weight, bias).data).containsExactly(conv(x, fresh, bias).data);
    }

    private static Tensor conv(Tensor x, Tensor weight, Tensor bias) {
        return ConvOps.conv2d(x, weight, bias, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS, ConvAlgorithm.WINOGRAD);
    }
}
