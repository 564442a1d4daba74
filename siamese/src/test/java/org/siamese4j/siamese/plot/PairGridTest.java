package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;

class PairGridTest {
    @TempDir
    Path dir;

    @Test
    void writesPairsWithCaptionsColouredBySameness() throws Exception {
        ImageDataset data = SyntheticFaces.generate(3, 4, 7, 32, 28);
        int[] first = {0, 1, 4, 8, 2};
        int[] second = {1, 5, 5, 0, 3};   // same, different, same, different, same
        double[] d = {0.12, 1.4, 0.3, 0.95, 0.2};
        Path file = dir.resolve("pairs.png");
        PairGrid.write(file, data, first, second, d, 3);
        // 32 px high -> zoom round(112 / 32) = 4 (rounds half up): 128 x 112 per image
        int cellW = Math.max(2 * 112 + PairGrid.GAP, 150);
        int cellH = 128 + PairGrid.CAPTION;
        int width = PairGrid.PAD + 3 * (cellW + PairGrid.PAD);
        int grid = PairGrid.PAD + 2 * (cellH + PairGrid.PAD);
        int height = grid + 2 * PairGrid.FOOTER_LINE + PairGrid.PAD / 2;  // the colour key and the distance note
        BufferedImage image = PngAssert.readPng(file, width, height);
        Rectangle whole = new Rectangle(0, 0, width, height);
        PngAssert.assertDrawn(image, whole, 50, width * height / 4);
        assertThat(PngAssert.near(image, whole, PairGrid.SAME.getRGB(), 12)).as("green captions").isGreaterThan(50);
        assertThat(PngAssert.near(image, whole, PairGrid.DIFFERENT.getRGB(), 12)).as("red captions")
                .isGreaterThan(50);
        // the footer explains the colours: a green and a red swatch (12 x 12) with their meaning
        Rectangle footer = new Rectangle(0, grid, width, PairGrid.FOOTER_LINE);
        assertThat(PngAssert.near(image, footer, PairGrid.SAME.getRGB(), 12)).as("green key").isGreaterThan(140);
        assertThat(PngAssert.near(image, footer, PairGrid.DIFFERENT.getRGB(), 12)).as("red key").isGreaterThan(140);
        assertThat(PairGrid.DISTANCE_NOTE).contains("distance");
    }

    @Test
    void standardisedAndRgbPixelsAreStretched() {
        float[] a = new float[3 * 4 * 5];
        float[] b = new float[3 * 4 * 5];
        for (int i = 0; i < a.length; i++) {
            a[i] = -2 + 0.07f * i;   // outside [0, 1]: stretched per image
            b[i] = 3 - 0.05f * i;
        }
        BufferedImage image = PairGrid.render(new float[][]{a}, new float[][]{b}, 3, 4, 5, new double[]{0.42}, 4);
        assertThat(PngAssert.distinctColours(image, new Rectangle(0, 0, image.getWidth(), image.getHeight())))
                .isGreaterThan(30);
    }

    @Test
    void badInputFailsClearly() {
        ImageDataset data = SyntheticFaces.generate(2, 2, 7, 16, 16);
        assertThatThrownBy(() -> PairGrid.render(data, new int[0], new int[0], new double[0], 2))
                .hasMessage("PairGrid: no pairs to show");
        assertThatThrownBy(() -> PairGrid.render(data, new int[]{0, 1}, new int[]{2}, new double[]{1}, 2))
                .hasMessage("PairGrid: first has 2 values but second has 1");
        assertThatThrownBy(() -> PairGrid.render(data, new int[]{0}, new int[]{4}, new double[]{1}, 2))
                .hasMessage("PairGrid: second[0] = 4 is not an image index in [0, 4)");
        assertThatThrownBy(() -> PairGrid.render(data, new int[]{0}, new int[]{1}, new double[]{Double.NaN}, 2))
                .hasMessage("PairGrid: distance[0] must be finite, got NaN");
        assertThatThrownBy(() -> PairGrid.render(data, new int[]{0}, new int[]{1}, new double[]{1, 2}, 2))
                .hasMessage("PairGrid: pairs has 1 values but distance has 2");
        assertThatThrownBy(() -> PairGrid.render(data, new int[]{0}, new int[]{1}, new double[]{1}, 0))
                .hasMessage("PairGrid: columns must be >= 1, got 0");
        assertThatThrownBy(() -> PairGrid.render(new float[][]{new float[8]}, new float[][]{new float[8]}, 2, 2, 2,
                new double[]{1}, 1))
                .hasMessageContaining("1 (grey) or 3 (RGB) channels, got 2");
        assertThatThrownBy(() -> PairGrid.render(new float[][]{new float[4]}, new float[][]{new float[5]}, 1, 2, 2,
                new double[]{1}, 1))
                .hasMessage("PairGrid: right[0] has 5 pixels, expected channels x height x width = 4");
        assertThatThrownBy(() -> PairGrid.render(new float[][]{{0, Float.NaN, 0, 0}}, new float[][]{new float[4]}, 1,
                2, 2, new double[]{1}, 1))
                .hasMessage("PairGrid: left[0][1] must be finite, got NaN");
    }
}
