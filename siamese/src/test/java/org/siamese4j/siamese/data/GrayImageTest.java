package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Tensor;

class GrayImageTest {

    @Test
    void resizeUpsamplesWithAlignedPixelCentres() {
        // Source columns sit at x = 0 and 1; output column c samples x = (c + 0.5) / 2 - 0.5, clamped.
        GrayImage img = GrayImage.of(1, 2, 255f, new float[] {0, 10});
        assertThat(img.resize(1, 4).pixels()).containsExactly(0f, 2.5f, 7.5f, 10f);
    }

    @Test
    void resizeDownsamplesByAveragingNeighbours() {
        // 2x shrink: output pixels sample x = 0.5 and 2.5, halfway between source pairs.
        GrayImage img = GrayImage.of(2, 4, 255f, new float[] {0, 2, 4, 6, 8, 10, 12, 14});
        GrayImage small = img.resize(1, 2);
        assertThat(small.pixels()).containsExactly(5f, 9f);
    }

    @Test
    void resizeKeepsConstantsAndSameSizeIsIdentity() {
        float[] px = new float[7 * 5];
        java.util.Arrays.fill(px, 42f);
        GrayImage constant = GrayImage.of(7, 5, 255f, px);
        for (float v : constant.resize(11, 3).pixels()) {
            assertThat(v).isCloseTo(42f, within(1e-4f));
        }
        GrayImage ramp = GrayImage.of(2, 3, 9f, new float[] {1, 2, 3, 4, 5, 6});
        assertThat(ramp.resize(2, 3).pixels()).containsExactly(ramp.pixels());
        assertThat(ramp.resize(3, 4).maxValue()).isEqualTo(9f);
    }

    @Test
    void resizeRejectsBadTargets() {
        GrayImage img = GrayImage.of(1, 1, 1f, new float[] {0});
        assertThatThrownBy(() -> img.resize(0, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0x3");
        assertThatThrownBy(() -> img.resize(100_000, 100_000)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cap");
    }

    @Test
    void flipAndScale() {
        GrayImage img = GrayImage.of(2, 3, 10f, new float[] {1, 2, 3, 4, 5, 10});
        assertThat(img.flipHorizontal().pixels()).containsExactly(3, 2, 1, 10, 5, 4);
        assertThat(img.flipHorizontal().flipHorizontal().pixels()).containsExactly(img.pixels());
        GrayImage unit = img.scaledToUnit();
        assertThat(unit.maxValue()).isEqualTo(1f);
        assertThat(unit.pixels()).containsExactly(0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 1f);
    }

    @Test
    void toTensorIsOneByOneByHByW() {
        Tensor t = GrayImage.of(2, 3, 1f, new float[] {1, 2, 3, 4, 5, 6}).toTensor();
        assertThat(t.shape()).containsExactly(1, 1, 2, 3);
        assertThat(t.get(0, 0, 1, 2)).isEqualTo(6f);
    }

    @Test
    void ofValidatesAndCopies() {
        float[] px = {1, 2};
        GrayImage img = GrayImage.of(1, 2, 1f, px);
        px[0] = 99;
        assertThat(img.get(0, 0)).isEqualTo(1f);
        img.pixels()[1] = 99;
        assertThat(img.get(0, 1)).isEqualTo(2f);
        assertThatThrownBy(() -> GrayImage.of(2, 2, 1f, new float[3])).hasMessageContaining("2x2 needs 4");
        assertThatThrownBy(() -> GrayImage.of(1, 1, 0f, new float[1])).hasMessageContaining("maxValue");
        assertThatThrownBy(() -> img.get(1, 0)).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void normalizationFitsMeanAndStdAndInverts() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 1, 2, 2);
        Normalization n = Normalization.fit(x);
        assertThat(n.mean()).isEqualTo(4.5f);
        assertThat((double) n.std()).isCloseTo(Math.sqrt(5.25), within(1e-6));
        Tensor z = n.apply(x);
        assertThat(z.shape()).containsExactly(2, 1, 2, 2);
        Normalization refit = Normalization.fit(z);
        assertThat(refit.mean()).isCloseTo(0f, within(1e-6f));
        assertThat(refit.std()).isCloseTo(1f, within(1e-6f));
        float[] back = n.invert(z).toArray();
        for (int i = 0; i < back.length; i++) {
            assertThat(back[i]).isCloseTo(i + 1f, within(1e-5f));
        }
        assertThat(x.toArray()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8);
    }

    @Test
    void normalizationGivenAppliesToDatasets() {
        ImageDataset ds = new ImageDataset(Tensor.of(new float[] {0.5f, 1f}, 2, 1, 1, 1), new int[] {0, 1},
                java.util.List.of("a", "b"));
        ImageDataset z = new Normalization(0.5f, 0.25f).apply(ds);
        assertThat(z.images().toArray()).containsExactly(0f, 2f);
        assertThat(z.labels()).containsExactly(0, 1);
        assertThat(z.identityNames()).containsExactly("a", "b");
    }

    @Test
    void normalizationRejectsZeroSpread() {
        assertThatThrownBy(() -> Normalization.fit(Tensor.full(3f, 2, 1, 2, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("standard deviation is 0");
        assertThatThrownBy(() -> new Normalization(0f, 0f)).hasMessageContaining("std must be positive");
        assertThatThrownBy(() -> new Normalization(Float.NaN, 1f)).hasMessageContaining("mean must be finite");
    }
}
