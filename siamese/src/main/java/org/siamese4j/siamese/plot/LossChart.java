package org.siamese4j.siamese.plot;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Training loss per epoch as a line chart, optionally with a second series (e.g. held-out AUC or accuracy) on
 * its own axis on the right, since the two rarely share a scale.
 *
 * <p>Epochs are numbered from 1: {@code loss[0]} is the mean loss of epoch 1. Every loss must be finite (a NaN
 * loss means training diverged, and a chart would hide it). The second series may hold NaN for epochs where it
 * was not measured (evaluation every few epochs); those epochs are skipped and the line joins the measured ones.
 */
public final class LossChart {
    private static final String PLOT = "LossChart";

    private LossChart() {
    }

    /** The loss curve alone. */
    public static BufferedImage render(double[] loss) {
        return render(loss, null, null);
    }

    /**
     * @param loss        mean training loss of each epoch, finite, at least one
     * @param secondName  legend and right-axis label of the second series, e.g. "held-out AUC"; null for none
     * @param second      one value per epoch, NaN where not measured; null for none
     * @throws IllegalArgumentException on an empty or non-finite loss, a second series of another length, with
     *                                  an infinite value, with no measured value, or without a name
     */
    public static BufferedImage render(double[] loss, String secondName, double[] second) {
        PlotChecks.finite(PLOT, "loss", loss);
        boolean hasSecond = second != null;
        if (hasSecond) {
            if (secondName == null || secondName.isBlank()) {
                throw new IllegalArgumentException(PLOT + ": the second series needs a name");
            }
            PlotChecks.sameLength(PLOT, "loss", loss.length, secondName, second.length);
            int measured = 0;
            for (int i = 0; i < second.length; i++) {
                if (Double.isInfinite(second[i])) {
                    throw new IllegalArgumentException(PLOT + ": " + secondName + "[" + i
                            + "] must be finite or NaN (not measured), got " + second[i]);
                }
                measured += Double.isNaN(second[i]) ? 0 : 1;
            }
            if (measured == 0) {
                throw new IllegalArgumentException(PLOT + ": " + secondName + " has no measured value (all NaN)");
            }
        } else if (secondName != null) {
            throw new IllegalArgumentException(PLOT + ": second series '" + secondName + "' has no values");
        }

        Chart chart = new Chart(Chart.WIDTH, Chart.HEIGHT, "Training loss per epoch", Chart.margins(hasSecond));
        double[] epochs = new double[loss.length];
        for (int i = 0; i < loss.length; i++) {
            epochs[i] = i + 1;
        }
        chart.xRange(1, Math.max(2, loss.length), false, true);
        // Loss axis from 0 when the losses are near it: the drop then reads at its true proportion.
        double lo = PlotChecks.min(loss);
        double hi = PlotChecks.max(loss);
        chart.yRange(lo >= 0 && lo < 0.5 * hi ? 0 : lo, hi, true);
        Color lossColor = Chart.color(0);
        Color secondColor = Chart.color(1);
        List<Chart.LegendEntry> legend = new ArrayList<>();
        legend.add(new Chart.LegendEntry("training loss", lossColor, Chart.Key.LINE));
        if (hasSecond) {
            double[] measured = measuredOnly(second);
            double slo = PlotChecks.min(measured);
            double shi = PlotChecks.max(measured);
            // Rates such as AUC or accuracy: show them on their natural [0, 1] scale when they fit it.
            if (slo >= 0 && shi <= 1) {
                chart.y2Range(slo >= 0.5 ? 0.5 : 0, 1, true);
            } else {
                chart.y2Range(slo, shi, true);
            }
            chart.axes("epoch", "loss", secondName);
            chart.line(epochs, joinGaps(second), secondColor, Chart.solid(2f), true);
            dots(chart, epochs, second, secondColor, true);
            legend.add(new Chart.LegendEntry(secondName + " (right axis)", secondColor, Chart.Key.LINE));
        } else {
            chart.axes("epoch", "loss", null);
        }
        chart.line(epochs, loss, lossColor, Chart.solid(2.5f), false);
        if (loss.length <= 60) {
            dots(chart, epochs, loss, lossColor, false);
        }
        chart.legend(legend);
        return chart.finish();
    }

    public static void write(Path path, double[] loss) throws IOException {
        Chart.writePng(render(loss), path);
    }

    public static void write(Path path, double[] loss, String secondName, double[] second) throws IOException {
        Objects.requireNonNull(path, "path");
        Chart.writePng(render(loss, secondName, second), path);
    }

    private static double[] measuredOnly(double[] values) {
        return java.util.Arrays.stream(values).filter(v -> !Double.isNaN(v)).toArray();
    }

    /** Values with each NaN gap filled by linear interpolation, so the line joins the measured epochs. */
    private static double[] joinGaps(double[] values) {
        double[] out = values.clone();
        int prev = -1;
        for (int i = 0; i < out.length; i++) {
            if (!Double.isNaN(values[i])) {
                if (prev >= 0 && i - prev > 1) {
                    for (int j = prev + 1; j < i; j++) {
                        out[j] = values[prev] + (values[i] - values[prev]) * (j - prev) / (i - prev);
                    }
                }
                prev = i;
            }
        }
        return out;
    }

    private static void dots(Chart chart, double[] xs, double[] ys, Color color, boolean rightAxis) {
        chart.g.setColor(color);
        for (int i = 0; i < xs.length; i++) {
            if (!Double.isNaN(ys[i])) {
                double y = rightAxis ? chart.py2(ys[i]) : chart.py(ys[i]);
                chart.g.fill(Chart.marker(0, chart.px(xs[i]), y, 3.5));
            }
        }
    }
}
