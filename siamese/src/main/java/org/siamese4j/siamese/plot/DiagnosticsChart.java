package org.siamese4j.siamese.plot;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The per-step figures of a training run over time (see {@code diagnostics.TrainingMonitor}): the loss on the
 * left axis and, on a right axis from 0 to 1, the fraction of active loss terms and, for triplet training, the
 * fractions of the mined triplets that were easy, semi-hard and hard.
 *
 * <p>Steps are numbered from 1 along x: {@code loss[0]} is the first step of the run. NaN marks a batch that was
 * skipped (no valid loss term): every line has a gap there. Infinite values are refused, since a run stops at
 * the first non-finite loss and a chart would hide it. Read it this way: the active fraction falling to 0 with
 * the loss means nothing is left to learn; easy triplets taking over is the same story for mining; a loss that
 * jumps up by orders of magnitude is divergence.
 */
public final class DiagnosticsChart {
    private static final String PLOT = "DiagnosticsChart";

    private DiagnosticsChart() {
    }

    /** Loss and active fraction per step. */
    public static BufferedImage render(double[] loss, double[] activeFraction) {
        return render(loss, activeFraction, null, null, null);
    }

    /**
     * @param loss           the loss of each step, finite or NaN (skipped), at least one finite
     * @param activeFraction the fraction of active terms of each step, in [0, 1] or NaN
     * @param easy           the fraction of easy triplets of each step, in [0, 1] or NaN; null (with the next two)
     *                       for a non-triplet loss
     * @param semiHard       the fraction of semi-hard triplets, likewise
     * @param hard           the fraction of hard triplets, likewise
     * @throws IllegalArgumentException on series of different lengths, an infinite value, a fraction outside
     *                                  [0, 1], a loss without any finite value, or only some of the triplet series
     */
    public static BufferedImage render(double[] loss, double[] activeFraction, double[] easy, double[] semiHard,
                                       double[] hard) {
        PlotChecks.nonEmpty(PLOT, "loss", loss);
        Objects.requireNonNull(activeFraction, "activeFraction");
        PlotChecks.sameLength(PLOT, "loss", loss.length, "activeFraction", activeFraction.length);
        int measured = 0;
        for (int i = 0; i < loss.length; i++) {
            if (Double.isInfinite(loss[i])) {
                throw new IllegalArgumentException(PLOT + ": loss[" + i + "] must be finite or NaN (skipped), got "
                        + loss[i]);
            }
            measured += Double.isNaN(loss[i]) ? 0 : 1;
        }
        if (measured == 0) {
            throw new IllegalArgumentException(PLOT + ": loss has no measured value (all NaN)");
        }
        checkFraction("activeFraction", activeFraction);
        int tripletSeries = (easy != null ? 1 : 0) + (semiHard != null ? 1 : 0) + (hard != null ? 1 : 0);
        if (tripletSeries != 0 && tripletSeries != 3) {
            throw new IllegalArgumentException(PLOT + ": give all three triplet series (easy, semiHard, hard) or "
                    + "none, got " + tripletSeries);
        }
        boolean triplets = tripletSeries == 3;
        if (triplets) {
            PlotChecks.sameLength(PLOT, "loss", loss.length, "easy", easy.length);
            PlotChecks.sameLength(PLOT, "loss", loss.length, "semiHard", semiHard.length);
            PlotChecks.sameLength(PLOT, "loss", loss.length, "hard", hard.length);
            checkFraction("easy", easy);
            checkFraction("semiHard", semiHard);
            checkFraction("hard", hard);
        }

        Chart chart = new Chart(Chart.WIDTH, Chart.HEIGHT, "Training diagnostics per step", Chart.margins(true));
        double[] steps = new double[loss.length];
        for (int i = 0; i < loss.length; i++) {
            steps[i] = i + 1;
        }
        chart.xRange(1, Math.max(2, loss.length), false, true);
        double lo = PlotChecks.min(loss);
        double hi = PlotChecks.max(loss);
        // From 0 when the losses are near it, as LossChart does: the fall then reads at its true proportion.
        chart.yRange(lo >= 0 && lo < 0.5 * hi ? 0 : lo, hi, true);
        chart.y2Range(0, 1, true);
        chart.axes("step", "loss", "fraction of terms / triplets");

        List<Chart.LegendEntry> legend = new ArrayList<>();
        if (triplets) {
            String[] names = {"easy triplets", "semi-hard triplets", "hard triplets"};
            double[][] series = {easy, semiHard, hard};
            for (int s = 0; s < 3; s++) {
                Color c = Chart.color(2 + s);
                chart.line(steps, series[s], c, Chart.dashed(1.5f), true);
                legend.add(new Chart.LegendEntry(names[s] + " (right)", c, Chart.Key.DASHED));
            }
        }
        Color activeColor = Chart.color(1);
        chart.line(steps, activeFraction, activeColor, Chart.solid(2f), true);
        legend.add(0, new Chart.LegendEntry("active fraction (right)", activeColor, Chart.Key.LINE));
        Color lossColor = Chart.color(0);
        chart.line(steps, loss, lossColor, Chart.solid(2.5f), false);
        legend.add(0, new Chart.LegendEntry("loss", lossColor, Chart.Key.LINE));
        if (measured == 1) {
            // a single measured step draws no line segment: mark it
            for (int i = 0; i < loss.length; i++) {
                if (!Double.isNaN(loss[i])) {
                    chart.g.setColor(lossColor);
                    chart.g.fill(Chart.marker(0, chart.px(steps[i]), chart.py(loss[i]), 4));
                }
            }
        }
        chart.legend(legend);
        return chart.finish();
    }

    public static void write(Path path, double[] loss, double[] activeFraction) throws IOException {
        Objects.requireNonNull(path, "path");
        Chart.writePng(render(loss, activeFraction), path);
    }

    public static void write(Path path, double[] loss, double[] activeFraction, double[] easy, double[] semiHard,
                             double[] hard) throws IOException {
        Objects.requireNonNull(path, "path");
        Chart.writePng(render(loss, activeFraction, easy, semiHard, hard), path);
    }

    private static void checkFraction(String name, double[] values) {
        for (int i = 0; i < values.length; i++) {
            double v = values[i];
            if (!Double.isNaN(v) && !(v >= 0 && v <= 1)) {
                throw new IllegalArgumentException(PLOT + ": " + name + "[" + i + "] must be a fraction in [0, 1] or "
                        + "NaN (skipped), got " + v);
            }
        }
    }
}
