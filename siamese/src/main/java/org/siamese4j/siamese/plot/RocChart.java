package org.siamese4j.siamese.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import org.siamese4j.siamese.metrics.RocCurve;

/**
 * A ROC curve (true-accept rate against false-accept rate) with the chance diagonal, the equal-error-rate point
 * marked where the curve crosses the FAR = FRR line, and the AUC and EER in the legend.
 */
public final class RocChart {
    private static final String PLOT = "RocChart";

    private RocChart() {
    }

    /** The curve of {@code roc}, with its AUC, EER and the threshold at the EER. */
    public static BufferedImage render(RocCurve roc) {
        Objects.requireNonNull(roc, "roc");
        return draw(roc.fpr(), roc.tpr(), roc.auc(), roc.eer(),
                "EER " + percent(roc.eer()) + " at threshold " + Ticks.number(roc.eerThreshold()));
    }

    /**
     * A curve given as points, e.g. from another tool. AUC is the trapezoid area and the EER the linearly
     * interpolated crossing of FPR = 1 - TPR, as {@link RocCurve} computes them.
     *
     * @param fpr false-accept rates, non-decreasing, in [0, 1]
     * @param tpr true-accept rates, same length, non-decreasing, in [0, 1]
     * @throws IllegalArgumentException on fewer than two points, mismatched lengths, values outside [0, 1] or NaN,
     *                                  or rates that decrease
     */
    public static BufferedImage render(double[] fpr, double[] tpr) {
        PlotChecks.finite(PLOT, "fpr", fpr);
        PlotChecks.finite(PLOT, "tpr", tpr);
        PlotChecks.sameLength(PLOT, "fpr", fpr.length, "tpr", tpr.length);
        if (fpr.length < 2) {
            throw new IllegalArgumentException(PLOT + ": a ROC curve needs at least 2 points, got " + fpr.length);
        }
        rates("fpr", fpr);
        rates("tpr", tpr);
        double eer = eer(fpr, tpr);
        return draw(fpr.clone(), tpr.clone(), auc(fpr, tpr), eer, "EER " + percent(eer));
    }

    public static void write(Path path, RocCurve roc) throws IOException {
        Chart.writePng(render(roc), path);
    }

    public static void write(Path path, double[] fpr, double[] tpr) throws IOException {
        Chart.writePng(render(fpr, tpr), path);
    }

    private static void rates(String name, double[] r) {
        for (int i = 0; i < r.length; i++) {
            if (r[i] < 0 || r[i] > 1) {
                throw new IllegalArgumentException(PLOT + ": " + name + "[" + i + "] must be in [0, 1], got " + r[i]);
            }
            if (i > 0 && r[i] < r[i - 1]) {
                throw new IllegalArgumentException(PLOT + ": " + name + " must be non-decreasing, but " + name + "["
                        + i + "] = " + r[i] + " < " + name + "[" + (i - 1) + "] = " + r[i - 1]);
            }
        }
    }

    static double auc(double[] fpr, double[] tpr) {
        double area = 0;
        for (int k = 1; k < fpr.length; k++) {
            area += (fpr[k] - fpr[k - 1]) * (tpr[k] + tpr[k - 1]) / 2;
        }
        return area;
    }

    /**
     * FAR where FAR = FRR: FPR + TPR - 1 is non-decreasing along the points; on the first segment where it reaches
     * zero, interpolate linearly. A curve that never reaches it (one not ending at (1, 1)) gives the FAR of its
     * last point.
     */
    static double eer(double[] fpr, double[] tpr) {
        double g0 = fpr[0] + tpr[0] - 1;
        if (g0 >= 0) {
            return fpr[0];
        }
        for (int k = 1; k < fpr.length; k++) {
            double g1 = fpr[k] + tpr[k] - 1;
            if (g1 >= 0) {
                double alpha = g1 == g0 ? 1 : -g0 / (g1 - g0);
                return fpr[k - 1] + alpha * (fpr[k] - fpr[k - 1]);
            }
            g0 = g1;
        }
        return fpr[fpr.length - 1];
    }

    private static String percent(double rate) {
        return String.format(java.util.Locale.ROOT, "%.2f%%", 100 * rate);
    }

    private static BufferedImage draw(double[] fpr, double[] tpr, double auc, double eer, String eerText) {
        // A square plot area: equal scales keep the chance line at 45 degrees.
        int side = Chart.HEIGHT - 56 - 64;
        int left = (Chart.WIDTH - side) / 2 + 20;
        Chart chart = new Chart(Chart.WIDTH, Chart.HEIGHT, "ROC curve",
                new int[]{left, 56, Chart.WIDTH - left - side, 64});
        chart.xRange(0, 1, false, false);
        chart.yRange(0, 1, false);
        chart.axes("false accept rate (FPR)", "true accept rate (TPR)", null);
        Color curve = Chart.color(0);
        Color marker = Chart.color(3);
        chart.line(new double[]{0, 1}, new double[]{0, 1}, Chart.MUTED, Chart.dashed(1.5f), false);
        // FAR = FRR line, on which the EER lies
        chart.line(new double[]{0, 1}, new double[]{1, 0}, Chart.withAlpha(marker, 90), Chart.dashed(1f), false);
        chart.line(fpr, tpr, curve, Chart.solid(2.5f), false);
        double ex = chart.px(eer);
        double ey = chart.py(1 - eer);
        chart.g.setColor(marker);
        chart.g.fill(Chart.marker(0, ex, ey, 6));
        chart.g.setColor(Color.WHITE);
        chart.g.setStroke(new BasicStroke(1.5f));
        chart.g.draw(Chart.marker(0, ex, ey, 6));
        chart.legend(List.of(
                new Chart.LegendEntry("ROC (AUC = " + String.format(java.util.Locale.ROOT, "%.4f", auc) + ")",
                        curve, Chart.Key.LINE),
                new Chart.LegendEntry(eerText, marker, Chart.Key.MARKER),
                new Chart.LegendEntry("chance", Chart.MUTED, Chart.Key.DASHED)));
        return chart.finish();
    }
}
