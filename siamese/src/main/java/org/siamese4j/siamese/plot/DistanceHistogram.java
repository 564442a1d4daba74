package org.siamese4j.siamese.plot;

import java.awt.Color;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;

/**
 * Overlaid histograms of the scores of same-person and different-person pairs, with the decision threshold as a
 * vertical line: how well the two populations separate, and where the threshold cuts them.
 *
 * <p>Both histograms share one set of bins and each is normalised to the fraction of its own pairs per bin, so the
 * shapes compare even when different pairs outnumber same pairs a hundredfold (as they do among all pairs).
 */
public final class DistanceHistogram {
    private static final String PLOT = "DistanceHistogram";
    static final int MIN_BINS = 10;
    static final int MAX_BINS = 60;

    private DistanceHistogram() {
    }

    /** The two histograms without a threshold line. */
    public static BufferedImage render(double[] same, double[] different) {
        return draw(same, different, Double.NaN, "distance");
    }

    /**
     * @param same      scores (distances) of same-person pairs, finite, at least one
     * @param different scores of different-person pairs, finite, at least one
     * @param threshold the decision threshold, finite
     * @throws IllegalArgumentException on an empty class, a non-finite score or threshold
     */
    public static BufferedImage render(double[] same, double[] different, double threshold) {
        if (!Double.isFinite(threshold)) {
            throw new IllegalArgumentException(PLOT + ": threshold must be finite, got " + threshold);
        }
        return draw(same, different, threshold, "distance");
    }

    /**
     * The scores of {@code pairs} split by same/different; the x axis says "distance" or "similarity" after the
     * pairs' score direction.
     */
    public static BufferedImage render(ScoredPairs pairs, double threshold) {
        Objects.requireNonNull(pairs, "pairs");
        if (!Double.isFinite(threshold)) {
            throw new IllegalArgumentException(PLOT + ": threshold must be finite, got " + threshold);
        }
        double[] scores = pairs.scores();
        boolean[] same = pairs.same();
        double[] s = new double[pairs.positives()];
        double[] d = new double[scores.length - s.length];
        int is = 0;
        int id = 0;
        for (int i = 0; i < scores.length; i++) {
            if (same[i]) {
                s[is++] = scores[i];
            } else {
                d[id++] = scores[i];
            }
        }
        String axis = pairs.direction() == ScoreDirection.LOWER_IS_SAME ? "distance" : "similarity";
        return draw(s, d, threshold, axis);
    }

    public static void write(Path path, double[] same, double[] different, double threshold) throws IOException {
        Chart.writePng(render(same, different, threshold), path);
    }

    public static void write(Path path, ScoredPairs pairs, double threshold) throws IOException {
        Chart.writePng(render(pairs, threshold), path);
    }

    /** Rice's rule, 2 n^(1/3) bins, kept between MIN_BINS and MAX_BINS. */
    static int binCount(int values) {
        return Math.max(MIN_BINS, Math.min(MAX_BINS, (int) Math.ceil(2 * Math.cbrt(values))));
    }

    /** Fraction of {@code values} in each of {@code bins} equal bins over [lo, hi]; hi falls in the last bin. */
    static double[] fractions(double[] values, double lo, double hi, int bins) {
        double[] f = new double[bins];
        double width = (hi - lo) / bins;
        for (double v : values) {
            int b = (int) Math.floor((v - lo) / width);
            f[Math.max(0, Math.min(bins - 1, b))] += 1.0 / values.length;
        }
        return f;
    }

    private static BufferedImage draw(double[] same, double[] different, double threshold, String axis) {
        PlotChecks.finite(PLOT, "same", same);
        PlotChecks.finite(PLOT, "different", different);
        double lo = Math.min(PlotChecks.min(same), PlotChecks.min(different));
        double hi = Math.max(PlotChecks.max(same), PlotChecks.max(different));
        if (!(hi > lo)) {
            double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            lo -= pad;
            hi += pad;
        }
        int bins = binCount(same.length + different.length);
        double[] fs = fractions(same, lo, hi, bins);
        double[] fd = fractions(different, lo, hi, bins);
        double top = Math.max(PlotChecks.max(fs), PlotChecks.max(fd));

        Chart chart = new Chart(Chart.WIDTH, Chart.HEIGHT,
                "Same-person and different-person " + axis + "s", Chart.margins(false));
        double xlo = Double.isNaN(threshold) ? lo : Math.min(lo, threshold);
        double xhi = Double.isNaN(threshold) ? hi : Math.max(hi, threshold);
        chart.xRange(xlo, xhi, true, false);
        chart.yRange(0, top * 1.08, true);
        chart.axes(axis, "fraction of pairs per bin", null);
        Color sameColor = Chart.color(2);
        Color differentColor = Chart.color(1);
        bars(chart, fd, lo, hi, differentColor);
        bars(chart, fs, lo, hi, sameColor);
        List<Chart.LegendEntry> legend = new ArrayList<>();
        legend.add(new Chart.LegendEntry("same person (" + same.length + " pairs)", sameColor, Chart.Key.BOX));
        legend.add(new Chart.LegendEntry("different people (" + different.length + " pairs)", differentColor,
                Chart.Key.BOX));
        if (!Double.isNaN(threshold)) {
            chart.line(new double[]{threshold, threshold}, new double[]{0, chart.yTop()}, Chart.INK,
                    Chart.dashed(2f), false);
            legend.add(new Chart.LegendEntry("threshold = " + Ticks.number(threshold), Chart.INK, Chart.Key.DASHED));
        }
        chart.legend(legend);
        return chart.finish();
    }

    /** Translucent filled bars with a solid step outline, so overlapping classes both stay visible. */
    private static void bars(Chart chart, double[] fractions, double lo, double hi, Color color) {
        double width = (hi - lo) / fractions.length;
        double base = chart.py(0);
        Path2D.Double outline = new Path2D.Double();
        outline.moveTo(chart.px(lo), base);
        chart.g.setColor(Chart.withAlpha(color, 100));
        for (int b = 0; b < fractions.length; b++) {
            double x0 = chart.px(lo + b * width);
            double x1 = chart.px(lo + (b + 1) * width);
            double y = chart.py(fractions[b]);
            if (fractions[b] > 0) {
                chart.g.fill(new Rectangle2D.Double(x0, y, x1 - x0, base - y));
            }
            outline.lineTo(x0, y);
            outline.lineTo(x1, y);
        }
        outline.lineTo(chart.px(hi), base);
        chart.g.setColor(color);
        chart.g.setStroke(Chart.solid(1.8f));
        chart.g.draw(outline);
    }
}
