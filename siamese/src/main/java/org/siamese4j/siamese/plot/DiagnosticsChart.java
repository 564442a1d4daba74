package org.siamese4j.siamese.plot;

import java.awt.Color;
import java.awt.Stroke;
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
 *
 * <p>The legend sits above the plot, so it hides no step; both axes are padded, so that a fraction of exactly 0 or 1
 * does not vanish into the frame; a series equal or close to an earlier one is drawn dotted over it, its legend entry
 * saying "same as" or "close to".
 */
public final class DiagnosticsChart {
    private static final String PLOT = "DiagnosticsChart";
    /** Fractions this close at every step draw as one line (a pixel or two apart on the right axis). */
    private static final double CLOSE = 0.02;

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

        // The fractions on the right axis, in drawing order: a series equal or close to an earlier one (semi-hard
        // triplets are exactly the active terms when no triplet is hard) is drawn dotted over it and says so.
        List<String> names = new ArrayList<>(List.of("active fraction"));
        List<double[]> fractions = new ArrayList<>(List.of(activeFraction));
        if (triplets) {
            names.addAll(List.of("easy triplets", "semi-hard triplets", "hard triplets"));
            fractions.addAll(List.of(easy, semiHard, hard));
        }
        Color lossColor = Chart.color(0);
        List<Chart.LegendEntry> legend = new ArrayList<>();
        legend.add(new Chart.LegendEntry("loss", lossColor, Chart.Key.LINE));
        Chart.Key[] keys = new Chart.Key[fractions.size()];
        for (int s = 0; s < fractions.size(); s++) {
            String note = "";
            keys[s] = s == 0 ? Chart.Key.LINE : Chart.Key.DASHED;
            for (int t = 0; t < s; t++) {
                // "close to": within one pixel or two of each other on the right axis, the lines still merge
                boolean same = Chart.sameSeries(fractions.get(s), fractions.get(t), 1e-9);
                if (same || Chart.sameSeries(fractions.get(s), fractions.get(t), CLOSE)) {
                    note = (same ? "; same as " : "; close to ") + names.get(t);
                    keys[s] = Chart.Key.DOTTED;
                    break;
                }
            }
            legend.add(new Chart.LegendEntry(names.get(s) + " (right" + note + ")", Chart.color(1 + s), keys[s]));
        }

        // The legend above the plot area, not in it: at any corner it would hide some of the run.
        Chart chart = new Chart(Chart.WIDTH, Chart.HEIGHT, "Training diagnostics per step",
                Chart.marginsWithLegendAbove(true, Chart.WIDTH, legend));
        double[] steps = new double[loss.length];
        for (int i = 0; i < loss.length; i++) {
            steps[i] = i + 1;
        }
        chart.xRange(1, Math.max(2, loss.length), false, true);
        double lo = PlotChecks.min(loss);
        double hi = PlotChecks.max(loss);
        // From 0 when the losses are near it, as LossChart does: the fall then reads at its true proportion.
        // Both axes padded: a loss of 0 and fractions of exactly 0 or 1 (no hard triplet, every term active)
        // must not hide in the frame.
        chart.yRangePadded(lo >= 0 && lo < 0.5 * hi ? 0 : lo, hi);
        chart.y2RangePadded(0, 1);
        chart.axes("step", "loss", "fraction of terms / triplets");
        for (int s = 0; s < fractions.size(); s++) {
            Stroke stroke = switch (keys[s]) {
                case LINE -> Chart.solid(2f);
                case DOTTED -> Chart.dotted(2f);
                default -> Chart.dashed(1.5f);
            };
            chart.line(steps, fractions.get(s), Chart.color(1 + s), stroke, true);
        }
        chart.line(steps, loss, lossColor, Chart.solid(2.5f), false);
        if (measured == 1) {
            // a single measured step draws no line segment: mark it
            for (int i = 0; i < loss.length; i++) {
                if (!Double.isNaN(loss[i])) {
                    chart.g.setColor(lossColor);
                    chart.g.fill(Chart.marker(0, chart.px(steps[i]), chart.py(loss[i]), 4));
                }
            }
        }
        chart.legendAbove(legend);
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
