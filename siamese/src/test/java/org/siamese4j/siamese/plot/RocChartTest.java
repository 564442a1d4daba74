package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import java.util.List;
import org.siamese4j.siamese.metrics.OperatingPoint;
import org.siamese4j.siamese.metrics.RocCurve;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.Thresholds;
import org.siamese4j.tensor.Rng;

class RocChartTest {
    @TempDir
    Path dir;

    static RocCurve noisyRoc(long seed, int pairs) {
        Rng rng = new Rng(seed);
        double[] scores = new double[pairs];
        boolean[] same = new boolean[pairs];
        for (int i = 0; i < pairs; i++) {
            same[i] = i % 3 == 0;
            scores[i] = (same[i] ? 0.6 : 1.2) + 0.3 * rng.nextGaussian();
        }
        return RocCurve.of(scores, same, ScoreDirection.LOWER_IS_SAME);
    }

    @Test
    void writesRocWithEerMarker() throws Exception {
        RocCurve roc = noisyRoc(3, 301);
        Path file = dir.resolve("roc.png");
        RocChart.write(file, roc);
        BufferedImage image = PngAssert.readPng(file, 800, 600);
        Rectangle whole = new Rectangle(0, 0, 800, 600);
        PngAssert.assertDrawn(image, whole, 30, 5000);
        assertThat(PngAssert.near(image, whole, 0x1F77B4, 10)).as("curve").isGreaterThan(300);
        assertThat(PngAssert.near(image, whole, 0xD62728, 10)).as("EER marker").isGreaterThan(60);
    }

    @Test
    void marksTheDecisionThresholdBesideTheEer() {
        RocCurve roc = noisyRoc(3, 301);
        // a threshold from other people, not the EER threshold of these pairs
        double threshold = roc.eerThreshold() + 0.071;
        double[] scores = new double[301];
        boolean[] same = new boolean[301];
        Rng rng = new Rng(3);
        for (int i = 0; i < 301; i++) {
            same[i] = i % 3 == 0;
            scores[i] = (same[i] ? 0.6 : 1.2) + 0.3 * rng.nextGaussian();
        }
        OperatingPoint decision = Thresholds.evaluate(scores, same, ScoreDirection.LOWER_IS_SAME, threshold);
        List<String> texts = RocChart.legend(roc.auc(), "EER", decision, "calibrated on the validation people");
        assertThat(texts).anySatisfy(t -> assertThat(t).startsWith("decision threshold "
                + Ticks.number(threshold) + " (calibrated on the validation people): FAR ").contains("TAR "));
        assertThat(String.join("|", texts)).contains("EER");

        BufferedImage image = RocChart.render(roc, decision, "calibrated on the validation people");
        Rectangle whole = new Rectangle(0, 0, 800, 600);
        assertThat(PngAssert.near(image, whole, 0x2CA02C, 10)).as("decision marker and its key").isGreaterThan(80);
        assertThat(PngAssert.near(image, whole, 0xD62728, 10)).as("EER marker and its key").isGreaterThan(60);
    }

    @Test
    void aucAndEerFromArraysMatchRocCurve() {
        for (long seed = 1; seed <= 5; seed++) {
            RocCurve roc = noisyRoc(seed, 97);
            assertThat(RocChart.auc(roc.fpr(), roc.tpr())).isCloseTo(roc.auc(), within(1e-12));
            assertThat(RocChart.eer(roc.fpr(), roc.tpr())).isCloseTo(roc.eer(), within(1e-12));
        }
        BufferedImage image = RocChart.render(new double[]{0, 0, 0.5, 1}, new double[]{0, 0.5, 1, 1});
        assertThat(image.getWidth()).isEqualTo(800);
    }

    @Test
    void badInputFailsClearly() {
        assertThatThrownBy(() -> RocChart.render(new double[0], new double[0]))
                .hasMessage("RocChart: fpr is empty");
        assertThatThrownBy(() -> RocChart.render(new double[]{0, 1}, new double[]{0, 0.5, 1}))
                .hasMessage("RocChart: fpr has 2 values but tpr has 3");
        assertThatThrownBy(() -> RocChart.render(new double[]{0, Double.NaN}, new double[]{0, 1}))
                .hasMessage("RocChart: fpr[1] must be finite, got NaN");
        assertThatThrownBy(() -> RocChart.render(new double[]{0, 1.5}, new double[]{0, 1}))
                .hasMessage("RocChart: fpr[1] must be in [0, 1], got 1.5");
        assertThatThrownBy(() -> RocChart.render(new double[]{0, 1, 1}, new double[]{0, 0.8, 0.6}))
                .hasMessageContaining("tpr must be non-decreasing");
        assertThatThrownBy(() -> RocChart.render(new double[]{0}, new double[]{0}))
                .hasMessageContaining("at least 2 points");
    }
}
