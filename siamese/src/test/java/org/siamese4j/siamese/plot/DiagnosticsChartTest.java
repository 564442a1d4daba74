package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiagnosticsChartTest {
    @TempDir
    Path dir;

    /** A falling loss with noise, an active fraction following it, easy triplets taking over. */
    private static double[][] run(int steps) {
        double[][] s = new double[5][steps];
        for (int i = 0; i < steps; i++) {
            double t = i / (double) steps;
            s[0][i] = 0.05 + 0.5 * Math.exp(-4 * t) + 0.03 * Math.sin(i * 1.7);
            s[1][i] = Math.min(1, 0.1 + 0.9 * Math.exp(-3 * t));
            s[2][i] = 1 - s[1][i];                        // easy
            s[3][i] = 0.6 * s[1][i];                      // semi-hard
            s[4][i] = 0.4 * s[1][i];                      // hard
        }
        return s;
    }

    @Test
    void tripletRunDrawsEverySeriesWithGapsAtSkippedSteps() throws Exception {
        double[][] s = run(120);
        for (double[] series : s) {
            series[40] = Double.NaN;                      // a skipped batch
        }
        Path file = dir.resolve("sub/diagnostics.png");
        DiagnosticsChart.write(file, s[0], s[1], s[2], s[3], s[4]);
        BufferedImage image = PngAssert.readPng(file, 800, 600);
        Rectangle area = new Rectangle(85, 61, 800 - 80 - 80 - 10, 600 - 56 - 64 - 10);
        PngAssert.assertDrawn(image, area, 20, 2000);
        assertThat(PngAssert.near(image, area, 0x1F77B4, 10)).as("loss line").isGreaterThan(300);
        assertThat(PngAssert.near(image, area, 0xE67300, 10)).as("active fraction line").isGreaterThan(200);
        assertThat(PngAssert.near(image, area, 0x2CA02C, 30)).as("easy triplets line").isGreaterThan(100);
        assertThat(PngAssert.near(image, area, 0xD62728, 30)).as("semi-hard triplets line").isGreaterThan(100);
        assertThat(PngAssert.near(image, area, 0x9467BD, 30)).as("hard triplets line").isGreaterThan(100);
    }

    @Test
    void identicalSeriesAndSeriesAtZeroStayVisible() {
        double[][] s = run(120);
        s[3] = s[1].clone();                              // no hard triplet: semi-hard is exactly the active share
        s[4] = new double[120];                           // hard: 0 all along
        BufferedImage image = DiagnosticsChart.render(s[0], s[1], s[2], s[3], s[4]);
        Rectangle whole = new Rectangle(0, 0, 800, 600);
        // far more than its legend key: the semi-hard line shows through the dots drawn over the active line
        assertThat(PngAssert.near(image, whole, 0xD62728, 30)).as("semi-hard triplets line").isGreaterThan(250);
        // the plot area ends at y = 600 - 64 = 536: the line at 0 is drawn clear above that frame line, inside
        // the side frames (a thin line between two pixel rows is pale: hence the wide tolerance)
        Rectangle aboveBottomFrame = new Rectangle(85, 500, 630, 536 - 2 - 500);
        assertThat(PngAssert.near(image, aboveBottomFrame, 0x9467BD, 70)).as("hard triplets line at 0")
                .isGreaterThan(300);
    }

    @Test
    void nonTripletRunAndASingleStepStillDraw() {
        double[][] s = run(30);
        BufferedImage image = DiagnosticsChart.render(s[0], s[1]);
        Rectangle area = new Rectangle(85, 61, 800 - 80 - 80 - 10, 600 - 56 - 64 - 10);
        PngAssert.assertDrawn(image, area, 10, 500);
        assertThat(PngAssert.near(image, area, 0x2CA02C, 30)).as("no triplet lines").isZero();
        BufferedImage one = DiagnosticsChart.render(new double[]{0.3}, new double[]{1});
        assertThat(PngAssert.near(one, area, 0x1F77B4, 10)).as("the single loss point is marked").isGreaterThan(20);
        DiagnosticsChart.render(new double[]{2, Double.NaN, 2}, new double[]{0, Double.NaN, 0});
    }

    @Test
    void badInputFailsClearly() {
        double[] two = {1, 2};
        assertThatThrownBy(() -> DiagnosticsChart.render(new double[0], new double[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("DiagnosticsChart: loss is empty");
        assertThatThrownBy(() -> DiagnosticsChart.render(two, new double[]{1}))
                .hasMessage("DiagnosticsChart: loss has 2 values but activeFraction has 1");
        assertThatThrownBy(() -> DiagnosticsChart.render(new double[]{1, Double.POSITIVE_INFINITY}, new double[2]))
                .hasMessage("DiagnosticsChart: loss[1] must be finite or NaN (skipped), got Infinity");
        assertThatThrownBy(() -> DiagnosticsChart.render(new double[]{Double.NaN}, new double[]{0.5}))
                .hasMessage("DiagnosticsChart: loss has no measured value (all NaN)");
        assertThatThrownBy(() -> DiagnosticsChart.render(two, new double[]{0.5, 1.5}))
                .hasMessage("DiagnosticsChart: activeFraction[1] must be a fraction in [0, 1] or NaN (skipped), got 1.5");
        assertThatThrownBy(() -> DiagnosticsChart.render(two, new double[2], new double[2], null, null))
                .hasMessageContaining("all three triplet series").hasMessageContaining("got 1");
        assertThatThrownBy(() -> DiagnosticsChart.render(two, new double[2], new double[2], new double[2],
                new double[3])).hasMessage("DiagnosticsChart: loss has 2 values but hard has 3");
        assertThatThrownBy(() -> DiagnosticsChart.render(two, new double[2], new double[2], new double[]{0, -0.1},
                new double[2])).hasMessageContaining("semiHard[1]").hasMessageContaining("-0.1");
    }
}
