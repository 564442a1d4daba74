package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.siamese4j.siamese.data.Augmenter.Config;
import org.siamese4j.siamese.data.Augmenter.Fill;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class AugmenterTest {

    /** [1, 1, 3, 4] holding 1..12 row-major. */
    private static Tensor grid() {
        float[] v = new float[12];
        for (int i = 0; i < 12; i++) {
            v[i] = i + 1;
        }
        return Tensor.of(v, 1, 1, 3, 4);
    }

    /** Distinct random values [b, c, h, w], so any moved pixel is detectable. */
    private static Tensor randomBatch(int b, int c, int h, int w, long seed) {
        return Tensor.rand(new Rng(seed), b, c, h, w);
    }

    private static float[] image(Tensor batch, int i) {
        int n = batch.dim(1) * batch.dim(2) * batch.dim(3);
        return Arrays.copyOfRange(batch.data(), i * n, (i + 1) * n);
    }

    /** A 5x5 image, zero but for one bright pixel at (row, column). */
    private static Tensor dot(int row, int column) {
        float[] v = new float[25];
        v[row * 5 + column] = 1f;
        return Tensor.of(v, 1, 1, 5, 5);
    }

    @Test
    void rotateScaleTurnsCounterClockwiseAboutTheCentreAndScalesFromIt() {
        Tensor x = randomBatch(2, 3, 6, 7, 4);
        assertThat(Augmenter.rotateScale(x, 0f, 1f, Fill.EDGE).toArray()).as("no turn, no scaling: the input")
                .containsExactly(x.toArray());
        // a quarter turn counter-clockwise on screen: the top middle goes to the left middle
        assertThat(Augmenter.rotateScale(dot(0, 2), 90f, 1f, Fill.ZERO).toArray())
                .containsExactly(dot(2, 0).toArray(), within(1e-6f));
        assertThat(Augmenter.rotateScale(dot(0, 2), -90f, 1f, Fill.ZERO).toArray())
                .containsExactly(dot(2, 4).toArray(), within(1e-6f));
        // four quarter turns of a square image, on the pixel grid, give it back
        Tensor square = randomBatch(1, 1, 5, 5, 6);
        Tensor turned = square;
        for (int i = 0; i < 4; i++) {
            turned = Augmenter.rotateScale(turned, 90f, 1f, Fill.EDGE);
        }
        assertThat(turned.toArray()).containsExactly(square.toArray(), within(1e-5f));
        // twice as large: a pixel one column right of the centre lands two columns right of it
        assertThat(Augmenter.rotateScale(dot(2, 3), 0f, 2f, Fill.ZERO).toArray()[2 * 5 + 4]).isEqualTo(1f);
        assertThat(Augmenter.rotateScale(dot(2, 2), 0f, 2f, Fill.ZERO).toArray()[2 * 5 + 2]).isEqualTo(1f);
        // and the pixel between them comes from half way between two source pixels: bilinear sampling averages them
        assertThat(Augmenter.rotateScale(dot(2, 3), 0f, 2f, Fill.ZERO).toArray()[2 * 5 + 3]).isEqualTo(0.5f);
        // from outside the image: zero fill gives 0, edge fill the nearest border pixel
        Tensor ones = Tensor.of(new float[] {1, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 1, 3, 3);
        assertThat(Augmenter.rotateScale(ones, 45f, 1f, Fill.ZERO).toArray()[0]).isLessThan(1f);
        assertThat(Augmenter.rotateScale(ones, 45f, 1f, Fill.EDGE).toArray()).containsOnly(1f);
        assertThatThrownBy(() -> Augmenter.rotateScale(x, 10f, 0f, Fill.EDGE))
                .hasMessageContaining("a scale above 0, got 10.0 and 0.0");
    }

    @Test
    void rotationAndScalingDrawTwoMoreNumbersOnlyWhenEnabled() {
        Tensor x = randomBatch(4, 1, 8, 6, 2);
        Config plain = Config.faces();
        Config noWarp = new Config(plain.flipProbability(), plain.maxShift(), plain.fill(), plain.brightness(),
                plain.contrast(), 0f, 0f);
        // off: the same draws and images as the configuration without the two fields
        assertThat(new Augmenter(noWarp, new Rng(3)).apply(x).toArray())
                .containsExactly(new Augmenter(plain, new Rng(3)).apply(x).toArray());
        Tensor a = new Augmenter(Config.facesRotated(), new Rng(3)).apply(x);
        Tensor b = new Augmenter(Config.facesRotated(), new Rng(3)).apply(x);
        assertThat(a.toArray()).as("seeded").containsExactly(b.toArray());
        assertThat(a.toArray()).isNotEqualTo(new Augmenter(plain, new Rng(3)).apply(x).toArray());
        assertThatThrownBy(() -> new Config(0.5, 2, Fill.EDGE, 0.1f, 0.1f, 10f, 1f))
                .hasMessageContaining("maxScale must be in [0, 1), got 1.0");
        assertThatThrownBy(() -> new Config(0.5, 2, Fill.EDGE, 0.1f, 0.1f, -1f, 0f))
                .hasMessageContaining("maxRotation must be in [0, 180] degrees, got -1.0");
    }

    @Test
    void flipMirrorsRowsAndTwiceIsIdentity() {
        Tensor flipped = Augmenter.flipHorizontal(grid());
        assertThat(flipped.toArray()).containsExactly(4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9);
        Tensor x = randomBatch(3, 2, 5, 7, 1);
        assertThat(Augmenter.flipHorizontal(Augmenter.flipHorizontal(x)).toArray()).containsExactly(x.toArray());
    }

    @Test
    void shiftMovesPixelsWithZeroFill() {
        // One row down, two columns left: out[r][c] = in[r - 1][c + 2].
        Tensor s = Augmenter.shift(grid(), 1, -2, Fill.ZERO);
        assertThat(s.toArray()).containsExactly(
                0, 0, 0, 0,
                3, 4, 0, 0,
                7, 8, 0, 0);
        assertThat(Augmenter.shift(grid(), 0, 0, Fill.ZERO).toArray()).containsExactly(grid().toArray());
        assertThat(Augmenter.shift(grid(), 3, 0, Fill.ZERO).toArray()).containsOnly(0f);
    }

    @Test
    void shiftWithEdgeFillReplicatesTheBorder() {
        Tensor s = Augmenter.shift(grid(), -1, 1, Fill.EDGE);
        assertThat(s.toArray()).containsExactly(
                5, 5, 6, 7,
                9, 9, 10, 11,
                9, 9, 10, 11);
    }

    @Test
    void shiftThenInverseRestoresTheInterior() {
        Tensor x = randomBatch(2, 3, 6, 7, 2);
        Tensor back = Augmenter.shift(Augmenter.shift(x, 2, -1, Fill.ZERO), -2, 1, Fill.ZERO);
        for (int b = 0; b < 2; b++) {
            for (int c = 0; c < 3; c++) {
                for (int r = 0; r < 4; r++) {
                    for (int col = 1; col < 7; col++) {
                        assertThat(back.get(b, c, r, col)).isEqualTo(x.get(b, c, r, col));
                    }
                }
            }
        }
    }

    @Test
    void brightnessAndContrast() {
        assertThat(Augmenter.adjustBrightness(grid(), 0.5f).get(0, 0, 2, 3)).isEqualTo(12.5f);
        // Mean of 1..12 is 6.5; contrast 2 doubles each deviation from it.
        Tensor c = Augmenter.adjustContrast(grid(), 2f);
        assertThat(c.get(0, 0, 0, 0)).isEqualTo(6.5f + 2 * (1 - 6.5f));
        assertThat(c.get(0, 0, 2, 3)).isEqualTo(6.5f + 2 * (12 - 6.5f));
        float mean = 0;
        for (float v : c.toArray()) {
            mean += v / 12;
        }
        assertThat(mean).isCloseTo(6.5f, within(1e-4f));
    }

    @Test
    void applyKeepsShapeAndInputAndIsSeeded() {
        Tensor x = randomBatch(6, 2, 9, 8, 3);
        float[] before = x.toArray();
        Tensor a = new Augmenter(Config.faces(), new Rng(17)).apply(x);
        Tensor b = new Augmenter(Config.faces(), new Rng(17)).apply(x);
        Tensor c = new Augmenter(Config.faces(), new Rng(18)).apply(x);
        assertThat(a.shape()).containsExactly(6, 2, 9, 8);
        assertThat(a).isNotSameAs(x);
        assertThat(a.requiresGrad()).isFalse();
        assertThat(x.toArray()).containsExactly(before);
        assertThat(a.toArray()).containsExactly(b.toArray());
        assertThat(a.toArray()).isNotEqualTo(c.toArray());
        // Successive calls continue the stream: a second batch gets fresh draws.
        Augmenter aug = new Augmenter(Config.faces(), new Rng(17));
        aug.apply(x);
        assertThat(aug.apply(x).toArray()).isNotEqualTo(a.toArray());
    }

    @Test
    void noneIsACopyAndCertainFlipIsAFlip() {
        Tensor x = randomBatch(4, 1, 5, 6, 4);
        assertThat(new Augmenter(Config.none(), new Rng(1)).apply(x).toArray()).containsExactly(x.toArray());
        Config flipOnly = new Config(1.0, 0, Fill.ZERO, 0f, 0f);
        assertThat(new Augmenter(flipOnly, new Rng(1)).apply(x).toArray())
                .containsExactly(Augmenter.flipHorizontal(x).toArray());
    }

    @Test
    void randomFlipsHitAboutTheSetProbability() {
        Tensor x = randomBatch(400, 1, 2, 3, 5);
        Tensor y = new Augmenter(new Config(0.3, 0, Fill.ZERO, 0f, 0f), new Rng(6)).apply(x);
        Tensor flipped = Augmenter.flipHorizontal(x);
        int flips = 0;
        for (int i = 0; i < 400; i++) {
            boolean isFlipped = Arrays.equals(image(y, i), image(flipped, i));
            assertThat(isFlipped || Arrays.equals(image(y, i), image(x, i))).isTrue();
            flips += isFlipped ? 1 : 0;
        }
        // Binomial(400, 0.3): mean 120, sd 9.2.
        assertThat(flips).isBetween(85, 155);
    }

    @Test
    void eachRandomShiftIsAnAllowedIntegerShift() {
        int max = 2;
        Tensor x = randomBatch(30, 2, 6, 7, 7);
        Tensor y = new Augmenter(new Config(0, max, Fill.EDGE, 0f, 0f), new Rng(8)).apply(x);
        int unshifted = 0;
        for (int i = 0; i < 30; i++) {
            Tensor one = x.slice(i, i + 1);
            boolean matched = false;
            for (int dy = -max; dy <= max && !matched; dy++) {
                for (int dx = -max; dx <= max && !matched; dx++) {
                    if (Arrays.equals(image(y, i), Augmenter.shift(one, dy, dx, Fill.EDGE).toArray())) {
                        matched = true;
                        unshifted += dy == 0 && dx == 0 ? 1 : 0;
                    }
                }
            }
            assertThat(matched).as("image %d is a shift within +-%d", i, max).isTrue();
        }
        assertThat(unshifted).isLessThan(10);
    }

    @Test
    void jitterStaysWithinItsRanges() {
        Tensor x = randomBatch(50, 1, 4, 4, 9);
        float b = 0.2f;
        Tensor bright = new Augmenter(new Config(0, 0, Fill.ZERO, b, 0f), new Rng(10)).apply(x);
        for (int i = 0; i < 50; i++) {
            float[] in = image(x, i);
            float[] out = image(bright, i);
            float delta = out[0] - in[0];
            assertThat(delta).isBetween(-b, b);
            for (int j = 0; j < in.length; j++) {
                // One offset per image.
                assertThat(out[j] - in[j]).isCloseTo(delta, within(1e-5f));
            }
        }
        Tensor contrasted = new Augmenter(new Config(0, 0, Fill.ZERO, 0f, 0.5f), new Rng(11)).apply(x);
        for (int i = 0; i < 50; i++) {
            float[] in = image(x, i);
            float[] out = image(contrasted, i);
            double meanIn = 0;
            double meanOut = 0;
            for (int j = 0; j < in.length; j++) {
                meanIn += in[j] / in.length;
                meanOut += out[j] / in.length;
            }
            // Contrast keeps each image's mean and scales deviations by one factor in [0.5, 1.5].
            assertThat(meanOut).isCloseTo(meanIn, within(1e-5));
            double factor = (out[0] - meanIn) / (in[0] - meanIn);
            assertThat(factor).isBetween(0.5 - 1e-3, 1.5 + 1e-3);
        }
    }

    @Test
    void validatesConfigAndShapes() {
        assertThatThrownBy(() -> new Config(1.5, 0, Fill.ZERO, 0f, 0f)).hasMessageContaining("1.5");
        assertThatThrownBy(() -> new Config(0.5, -1, Fill.ZERO, 0f, 0f)).hasMessageContaining("maxShift");
        assertThatThrownBy(() -> new Config(0.5, 1, Fill.ZERO, -0.1f, 0f)).hasMessageContaining("brightness");
        assertThatThrownBy(() -> new Config(0.5, 1, Fill.ZERO, 0f, 1f)).hasMessageContaining("contrast");
        assertThatThrownBy(() -> new Augmenter(Config.faces(), new Rng(1)).apply(Tensor.zeros(3, 4)))
                .hasMessageContaining("[B, C, H, W]").hasMessageContaining("[3, 4]");
    }
}
