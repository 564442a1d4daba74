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
