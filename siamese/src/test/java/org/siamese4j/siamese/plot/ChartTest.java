package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.Color;
import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChartTest {
    @TempDir
    Path dir;

    @Test
    void legendGoesToTheCornerWithoutData() {
        Chart chart = new Chart(400, 300, "t", Chart.margins(false));
        chart.xRange(0, 1, false, false);
        chart.yRange(0, 1, false);
        // data filling the top half and the bottom-right quarter: only bottom-left is free
        chart.g.setColor(Color.BLUE);
        Rectangle a = chart.area;
        chart.g.fillRect(a.x, a.y, a.width, a.height / 2);
        chart.g.fillRect(a.x + a.width / 2, a.y, a.width / 2, a.height);
        chart.legend(List.of(new Chart.LegendEntry("series", Color.RED, Chart.Key.LINE)));
        BufferedImage image = chart.finish();
        Rectangle bottomLeft = new Rectangle(a.x, a.y + a.height / 2, a.width / 2, a.height / 2);
        assertThat(PngAssert.near(image, bottomLeft, Color.RED.getRGB(), 10)).as("legend key bottom left")
                .isGreaterThan(20);
    }

    @Test
    void paddedRangesKeepValuesAtTheirEndsOffTheFrame() {
        double[] p = Chart.padded(0, 1);
        assertThat(p[0]).isLessThan(0);
        assertThat(p[1]).isGreaterThan(1);
        Chart chart = new Chart(800, 600, "t", Chart.margins(true));
        chart.xRange(0, 1, false, false);
        chart.yRangePadded(0, 0.3);
        chart.y2RangePadded(0, 1);
        Rectangle a = chart.area;
        int top = a.y;
        int bottom = a.y + a.height;
        // a 2.5-pixel line at these values must be clear of the frame lines
        assertThat(chart.py(0)).isLessThanOrEqualTo(bottom - 3);
        assertThat(chart.py(0.3)).isGreaterThanOrEqualTo(top + 3);
        assertThat(chart.py2(0)).isLessThanOrEqualTo(bottom - 3);
        assertThat(chart.py2(1)).isGreaterThanOrEqualTo(top + 3);
    }

    @Test
    void legendAboveTakesItsOwnBandOutsideThePlotArea() {
        List<Chart.LegendEntry> legend = List.of(
                new Chart.LegendEntry("loss", Color.BLUE, Chart.Key.LINE),
                new Chart.LegendEntry("active fraction (right)", Color.ORANGE, Chart.Key.LINE),
                new Chart.LegendEntry("easy triplets (right)", Color.GREEN, Chart.Key.DASHED),
                new Chart.LegendEntry("semi-hard triplets (right; same as active fraction)", Color.RED,
                        Chart.Key.DOTTED),
                new Chart.LegendEntry("hard triplets (right)", Color.MAGENTA, Chart.Key.DASHED));
        Chart chart = new Chart(800, 600, "title", Chart.marginsWithLegendAbove(true, 800, legend));
        chart.xRange(0, 1, false, false);
        chart.yRange(0, 1, false);
        Rectangle band = chart.legendAbove(legend);
        Rectangle a = chart.area;
        assertThat(band.height).isGreaterThan(20);
        assertThat(band.intersects(a)).as("band %s, plot area %s", band, a).isFalse();
        assertThat(band.y).isGreaterThanOrEqualTo(Chart.TITLE_BAND - 8);
        BufferedImage image = chart.finish();
        assertThat(PngAssert.near(image, band, Color.RED.getRGB(), 10)).as("a legend key in the band")
                .isGreaterThan(5);
        assertThat(PngAssert.inked(image, new Rectangle(a.x + 1, a.y + 1, a.width - 2, a.height - 2)))
                .as("nothing of the legend in the plot area").isZero();
    }

    @Test
    void writePngReplacesTheFileAndRefusesAFolder() throws IOException {
        Path file = dir.resolve("a.png");
        Chart.writePng(LossChart.render(new double[]{1, 0.5}), file);
        byte[] first = Files.readAllBytes(file);
        Chart.writePng(LossChart.render(new double[]{1, 0.2, 0.1}), file);
        assertThat(Files.readAllBytes(file)).isNotEqualTo(first);
        PngAssert.readPng(file, 800, 600);
        assertThatThrownBy(() -> Chart.writePng(null, file)).isInstanceOf(NullPointerException.class);
        Files.createDirectory(dir.resolve("d.png"));
        assertThatThrownBy(() -> Chart.writePng(LossChart.render(new double[]{1}), dir.resolve("d.png")))
                .isInstanceOf(java.nio.file.FileAlreadyExistsException.class);
    }

    @Test
    void rejectsTinyCanvas() {
        assertThatThrownBy(() -> new Chart(50, 600, null, Chart.margins(false)))
                .hasMessage("Chart: size must be at least 100x100, got 50x600");
    }
}
