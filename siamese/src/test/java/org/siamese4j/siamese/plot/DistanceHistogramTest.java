package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.tensor.Rng;

class DistanceHistogramTest {
    @TempDir
    Path dir;

    static double[] gaussian(Rng rng, int n, double mean, double std) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = mean + std * rng.nextGaussian();
        }
        return v;
    }

    @Test
    void binsAreSharedAndEachClassSumsToOne() {
        double[] values = {0.0, 0.1, 0.5, 0.99, 1.0};
        double[] f = DistanceHistogram.fractions(values, 0, 1, 10);
        assertThat(Arrays.stream(f).sum()).isCloseTo(1.0, within(1e-12));
        assertThat(f[0]).isCloseTo(0.2, within(1e-12));   // 0.0
        assertThat(f[1]).isCloseTo(0.2, within(1e-12));   // 0.1 (on the lower edge of bin 1)
        assertThat(f[5]).isCloseTo(0.2, within(1e-12));   // 0.5
        assertThat(f[9]).isCloseTo(0.4, within(1e-12));   // 0.99 and the upper end 1.0
        assertThat(DistanceHistogram.binCount(1)).isEqualTo(DistanceHistogram.MIN_BINS);
        assertThat(DistanceHistogram.binCount(8000)).isEqualTo(40);
        assertThat(DistanceHistogram.binCount(10_000_000)).isEqualTo(DistanceHistogram.MAX_BINS);
    }

    @Test
    void writesBothClassesAndThreshold() throws Exception {
        Rng rng = new Rng(11);
        Path file = dir.resolve("hist.png");
        DistanceHistogram.write(file, gaussian(rng, 200, 0.6, 0.15), gaussian(rng, 2000, 1.2, 0.2), 0.9);
        BufferedImage image = PngAssert.readPng(file, 800, 600);
        Rectangle area = PngAssert.plotArea(image);
        PngAssert.assertDrawn(image, area, 30, 20_000);
        assertThat(PngAssert.near(image, area, 0x2CA02C, 10)).as("same-pair outline").isGreaterThan(100);
        assertThat(PngAssert.near(image, area, 0xE67300, 10)).as("different-pair outline").isGreaterThan(100);
        assertThat(PngAssert.near(image, area, 0x222222, 10)).as("threshold line").isGreaterThan(150);
    }

    @Test
    void fromScoredPairsAndDegenerateRanges() {
        double[] scores = {0.9, 0.8, 0.2, 0.1, 0.85};
        boolean[] same = {true, true, false, false, true};
        ScoredPairs pairs = new ScoredPairs(scores, same, new int[]{0, 1, 2, 3, 4}, new int[]{5, 6, 7, 8, 9},
                ScoreDirection.HIGHER_IS_SAME);
        BufferedImage image = DistanceHistogram.render(pairs, 0.5);
        PngAssert.assertDrawn(image, PngAssert.plotArea(image), 10, 1000);
        // every score equal: the range is opened around it instead of dividing by zero
        DistanceHistogram.render(new double[]{1, 1}, new double[]{1}, 1);
        DistanceHistogram.render(new double[]{1, 2}, new double[]{3});
    }

    @Test
    void badInputFailsClearly() {
        assertThatThrownBy(() -> DistanceHistogram.render(new double[0], new double[]{1}, 0.5))
                .hasMessage("DistanceHistogram: same is empty");
        assertThatThrownBy(() -> DistanceHistogram.render(new double[]{1}, new double[0], 0.5))
                .hasMessage("DistanceHistogram: different is empty");
        assertThatThrownBy(() -> DistanceHistogram.render(new double[]{1}, new double[]{2, Double.NaN}, 0.5))
                .hasMessage("DistanceHistogram: different[1] must be finite, got NaN");
        assertThatThrownBy(() -> DistanceHistogram.render(new double[]{1}, new double[]{2}, Double.NaN))
                .hasMessage("DistanceHistogram: threshold must be finite, got NaN");
    }
}
