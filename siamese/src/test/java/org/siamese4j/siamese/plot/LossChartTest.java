package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.GraphicsEnvironment;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LossChartTest {
    @TempDir
    Path dir;

    static double[] decayingLoss(int epochs) {
        double[] loss = new double[epochs];
        for (int e = 0; e < epochs; e++) {
            loss[e] = 0.1 + 0.9 * Math.exp(-e / 5.0) + 0.02 * Math.sin(e);
        }
        return loss;
    }

    @Test
    void writesDecodablePngWithACurve() throws Exception {
        Path file = dir.resolve("sub/loss.png");   // missing folder is created
        LossChart.write(file, decayingLoss(25));
        BufferedImage image = PngAssert.readPng(file, 800, 600);
        PngAssert.assertDrawn(image, PngAssert.plotArea(image), 20, 2000);
        assertThat(PngAssert.near(image, PngAssert.plotArea(image), 0x1F77B4, 10)).as("loss line pixels")
                .isGreaterThan(300);
        assertThat(GraphicsEnvironment.isHeadless()).isTrue();
    }

    @Test
    void secondSeriesOnRightAxisWithGaps() throws Exception {
        double[] auc = new double[25];
        for (int e = 0; e < auc.length; e++) {
            auc[e] = e % 5 == 4 ? 0.7 + 0.01 * e : Double.NaN;   // measured every 5 epochs
        }
        Path file = dir.resolve("loss-auc.png");
        LossChart.write(file, decayingLoss(25), "held-out AUC", auc);
        BufferedImage image = PngAssert.readPng(file, 800, 600);
        assertThat(PngAssert.near(image, PngAssert.plotArea(image), 0xE67300, 10)).as("AUC line pixels")
                .isGreaterThan(200);
    }

    @Test
    void singleEpochAndConstantLossStillDraw() {
        BufferedImage image = LossChart.render(new double[]{0.5});
        PngAssert.assertDrawn(image, PngAssert.plotArea(image), 5, 500);
        LossChart.render(new double[]{2, 2, 2});
    }

    @Test
    void badInputFailsClearly() {
        assertThatThrownBy(() -> LossChart.render(new double[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("LossChart: loss is empty");
        assertThatThrownBy(() -> LossChart.render(new double[]{1, Double.NaN}))
                .hasMessage("LossChart: loss[1] must be finite, got NaN");
        assertThatThrownBy(() -> LossChart.render(new double[]{1, 2}, "AUC", new double[]{0.5}))
                .hasMessage("LossChart: loss has 2 values but AUC has 1");
        assertThatThrownBy(() -> LossChart.render(new double[]{1, 2}, "AUC", new double[]{Double.NaN, Double.NaN}))
                .hasMessageContaining("no measured value");
        assertThatThrownBy(() -> LossChart.render(new double[]{1, 2}, "AUC",
                new double[]{0.5, Double.POSITIVE_INFINITY}))
                .hasMessageContaining("AUC[1]").hasMessageContaining("Infinity");
        assertThatThrownBy(() -> LossChart.render(new double[]{1, 2}, null, new double[]{0.5, 0.6}))
                .hasMessageContaining("needs a name");
    }
}
