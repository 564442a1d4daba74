package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.tensor.Rng;

class EmbeddingPlotTest {
    @TempDir
    Path dir;

    /** {@code identities} Gaussian clusters of {@code perIdentity} points in {@code dim} dimensions. */
    static float[][] clusters(long seed, int identities, int perIdentity, int dim, int[] labels) {
        Rng rng = new Rng(seed);
        float[][] centres = new float[identities][dim];
        for (float[] c : centres) {
            for (int j = 0; j < dim; j++) {
                c[j] = (float) (2 * rng.nextGaussian());
            }
        }
        float[][] x = new float[identities * perIdentity][dim];
        for (int i = 0; i < x.length; i++) {
            labels[i] = i / perIdentity;
            for (int j = 0; j < dim; j++) {
                x[i][j] = centres[labels[i]][j] + (float) (0.4 * rng.nextGaussian());
            }
        }
        return x;
    }

    @Test
    void writesColouredClustersWithLegend() throws Exception {
        int[] labels = new int[6 * 12];
        float[][] x = clusters(5, 6, 12, 16, labels);
        Path file = dir.resolve("pca.png");
        EmbeddingPlot.write(file, x, labels, List.of("ann", "bob", "cy", "dee", "eve", "fay"));
        BufferedImage image = PngAssert.readPng(file, 800, 600);
        PngAssert.assertDrawn(image, new java.awt.Rectangle(85, 61, 500, 460), 40, 3000);
        for (int s = 0; s < 6; s++) {
            assertThat(PngAssert.near(image, new java.awt.Rectangle(0, 0, 800, 600), Chart.color(s).getRGB(), 40))
                    .as("pixels of identity %d's colour", s).isGreaterThan(30);
        }
    }

    @Test
    void manyIdentitiesDropTheLegend() {
        int[] labels = new int[30 * 3];
        float[][] x = clusters(6, 30, 3, 8, labels);
        BufferedImage image = EmbeddingPlot.render(x, labels);
        PngAssert.assertDrawn(image, PngAssert.plotArea(image), 40, 3000);
    }

    @Test
    void badInputFailsClearly() {
        assertThatThrownBy(() -> EmbeddingPlot.render(new float[][]{{1, 2}}, new int[]{0}))
                .hasMessage("EmbeddingPlot: needs at least 2 embeddings, got 1");
        assertThatThrownBy(() -> EmbeddingPlot.render(new float[][]{{1, 2}, {3, 4}}, new int[]{0}))
                .hasMessage("EmbeddingPlot: embeddings has 2 values but labels has 1");
        assertThatThrownBy(() -> EmbeddingPlot.render(new float[][]{{1}, {3}}, new int[]{0, 1}))
                .hasMessageContaining("dimension >= 2");
        assertThatThrownBy(() -> EmbeddingPlot.render(new float[][]{{1, 2}, {3, Float.NaN}}, new int[]{0, 1}))
                .hasMessage("EmbeddingPlot: embeddings[1][1] must be finite, got NaN");
        assertThatThrownBy(() -> EmbeddingPlot.render(new float[][]{{1, 2}, {3, 4}}, new int[]{0, 2},
                List.of("a", "b")))
                .hasMessage("EmbeddingPlot: labels[1] = 2 is not an identity index in [0, 2)");
    }
}
