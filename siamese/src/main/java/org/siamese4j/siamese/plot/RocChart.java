package org.siamese4j.siamese.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.siamese4j.siamese.metrics.OperatingPoint;
import org.siamese4j.siamese.metrics.RocCurve;

/**
 * A ROC curve (true-accept rate against false-accept rate) with the chance diagonal, the equal-error-rate point
 * marked where the curve crosses the FAR = FRR line, and the AUC and EER in the legend. Given the decision
 * threshold a verifier actually uses, it marks that point too: the EER threshold is a property of these pairs,
 * the decision threshold usually comes from other people (a validation set), so the two differ and a reader needs
 * to see both, labelled.
 */
public final class RocChart {
    private static final String PLOT = "RocChart";

    private RocChart() {
    }

    /** The curve of {@code roc}, with its AUC, EER and the threshold at the EER. */
    public static BufferedImage render(RocCurve roc) {
        Objects.requireNonNull(roc, "roc");
        return draw(roc.fpr(), roc.tpr(), legend(roc.auc(), eerText(roc), null, null), roc.eer(), null);
    }

    /**
     * The curve of {@code roc} with its EER point and the point of the decision threshold in use.
     *
     * @param decision  what the decision threshold does on the same pairs as {@code roc} (e.g.
     *                  {@code Thresholds.evaluate(pairs.scores(), pairs.same(), pairs.direction(), threshold)})
     * @param whereFrom where that threshold comes from, for the legend, e.g. "calibrated on the validation
     *                  people"; null for none
     * @throws IllegalArgumentException when the decision's rates are not in [0, 1]
     */
    public static BufferedImage render(RocCurve roc, OperatingPoint decision, String whereFrom) {
        Objects.requireNonNull(roc, "roc");
        Objects.requireNonNull(decision, "decision");
        if (!(decision.far() >= 0 && decision.far() <= 1 && decision.tar() >= 0 && decision.tar() <= 1)) {
            throw new IllegalArgumentException(PLOT + ": the decision point needs FAR and TAR in [0, 1], got FAR "
                    + decision.far() + ", TAR " + decision.tar());
        }
        return draw(roc.fpr(), roc.tpr(), legend(roc.auc(), eerText(roc), decision, whereFrom), roc.eer(),
                decision);
    }

    /** "EER 6.20% (FAR = FRR) at threshold 0.836". */
    private static String eerText(RocCurve roc) {
        return "EER " + percent(roc.eer()) + " (FAR = FRR) at threshold " + Ticks.number(roc.eerThreshold());
    }

    /** The legend's texts: the curve and its AUC, the EER point, the decision point (when given), chance. */
    static List<String> legend(double auc, String eerText, OperatingPoint decision, String whereFrom) {
        List<String> texts = new ArrayList<>();
        texts.add("ROC (AUC = " + String.format(Locale.ROOT, "%.4f", auc) + ")");
        texts.add(eerText);
        if (decision != null) {
            texts.add("decision threshold " + Ticks.number(decision.threshold())
                    + (whereFrom == null || whereFrom.isEmpty() ? "" : " (" + whereFrom + ")") + ": FAR "
                    + percent(decision.far()) + ", TAR " + percent(decision.tar()));
        }
        texts.add("chance");
        return texts;
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
        return draw(fpr.clone(), tpr.clone(), legend(auc(fpr, tpr), "EER " + percent(eer) + " (FAR = FRR)", null,
                null), eer, null);
    }

    public static void write(Path path, RocCurve roc) throws IOException {
        Chart.writePng(render(roc), path);
    }

    public static void write(Path path, RocCurve roc, OperatingPoint decision, String whereFrom) throws IOException {
        Chart.writePng(render(roc, decision, whereFrom), path);
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
        return String.format(Locale.ROOT, "%.2f%%", 100 * rate);
    }

    private static BufferedImage draw(double[] fpr, double[] tpr, List<String> texts, double eer,
                                      OperatingPoint decision) {
        Color curve = Chart.color(0);
        Color marker = Chart.color(3);
        Color decisionColor = Chart.color(2);
        List<Chart.LegendEntry> legend = new ArrayList<>();
        legend.add(new Chart.LegendEntry(texts.get(0), curve, Chart.Key.LINE));
        legend.add(new Chart.LegendEntry(texts.get(1), marker, Chart.Key.RING));
        if (decision != null) {
            legend.add(new Chart.LegendEntry(texts.get(2), decisionColor, Chart.Key.MARKER, 3));
        }
        legend.add(new Chart.LegendEntry(texts.get(texts.size() - 1), Chart.MUTED, Chart.Key.DASHED));
        // The legend above the plot, which a good curve fills to its top-left corner and whose diagonals cross the
        // other corners. A square plot area below it: equal scales keep the chance line at 45 degrees.
        int top = Chart.TITLE_BAND + Chart.legendBandHeight(legend, Chart.WIDTH);
        int side = Chart.HEIGHT - top - 64;
        int left = (Chart.WIDTH - side) / 2 + 20;
        Chart chart = new Chart(Chart.WIDTH, Chart.HEIGHT, "ROC curve",
                new int[]{left, top, Chart.WIDTH - left - side, 64});
        chart.xRange(0, 1, false, false);
        chart.yRange(0, 1, false);
        chart.axes("false accept rate (FPR)", "true accept rate (TPR)", null);
        chart.line(new double[]{0, 1}, new double[]{0, 1}, Chart.MUTED, Chart.dashed(1.5f), false);
        // FAR = FRR line, on which the EER lies
        chart.line(new double[]{0, 1}, new double[]{1, 0}, Chart.withAlpha(marker, 90), Chart.dashed(1f), false);
        chart.line(fpr, tpr, curve, Chart.solid(2.5f), false);
        // The EER as a ring, the decision point as a smaller filled diamond: the two are often close together on
        // a good curve, and the diamond then shows inside the ring.
        chart.g.setColor(marker);
        chart.g.setStroke(new BasicStroke(Chart.RING_STROKE));
        chart.g.draw(Chart.marker(0, chart.px(eer), chart.py(1 - eer), 8));
        if (decision != null) {
            double x = chart.px(decision.far());
            double y = chart.py(decision.tar());
            chart.g.setColor(decisionColor);
            chart.g.fill(Chart.marker(3, x, y, 5));
            chart.g.setColor(Color.WHITE);
            chart.g.setStroke(new BasicStroke(1f));
            chart.g.draw(Chart.marker(3, x, y, 5));
        }
        chart.legendAbove(legend);
        return chart.finish();
    }
}
