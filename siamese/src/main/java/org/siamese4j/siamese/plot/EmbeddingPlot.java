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
import java.util.TreeMap;
import org.siamese4j.siamese.data.ImageDataset;

/**
 * Embeddings projected on their first two principal components ({@link Pca}), one colour (and, past ten
 * identities, one marker shape) per identity: a trained tower shows tight, separate clusters.
 *
 * <p>A 2-D linear projection loses most of a high-dimensional embedding's structure; clusters that overlap here
 * may still separate in the full space. The axis labels say how much of the variance each component keeps.
 */
public final class EmbeddingPlot {
    private static final String PLOT = "EmbeddingPlot";
    /** Above this many identities the legend would crowd the chart and is left out. */
    static final int MAX_LEGEND = 20;

    private EmbeddingPlot() {
    }

    /** Embeddings of {@code data}'s images in order (as {@code Embeddings.of} returns them), named identities. */
    public static BufferedImage render(float[][] embeddings, ImageDataset data) {
        Objects.requireNonNull(data, "data");
        return render(embeddings, data.labels(), data.identityNames());
    }

    /** Identities named "id 0", "id 1", ... */
    public static BufferedImage render(float[][] embeddings, int[] labels) {
        return render(embeddings, labels, null);
    }

    /**
     * @param embeddings one vector per point, all of one dimension >= 2, finite
     * @param labels     identity index of each point, >= 0
     * @param names      name of each identity index, or null for "id k"
     * @throws IllegalArgumentException on no points, mismatched lengths, a non-finite value, a dimension below 2,
     *                                  a negative label or one without a name
     */
    public static BufferedImage render(float[][] embeddings, int[] labels, List<String> names) {
        Objects.requireNonNull(embeddings, "embeddings");
        Objects.requireNonNull(labels, "labels");
        if (embeddings.length < 2) {
            throw new IllegalArgumentException(PLOT + ": needs at least 2 embeddings, got " + embeddings.length);
        }
        PlotChecks.sameLength(PLOT, "embeddings", embeddings.length, "labels", labels.length);
        int dim = embeddings[0].length;
        if (dim < 2) {
            throw new IllegalArgumentException(PLOT + ": embeddings must have dimension >= 2 to project to 2-D, got "
                    + dim);
        }
        for (int i = 0; i < embeddings.length; i++) {
            if (embeddings[i].length != dim) {
                throw new IllegalArgumentException(PLOT + ": embeddings[" + i + "] has dimension "
                        + embeddings[i].length + " but embeddings[0] has " + dim);
            }
            for (int j = 0; j < dim; j++) {
                if (!Float.isFinite(embeddings[i][j])) {
                    throw new IllegalArgumentException(PLOT + ": embeddings[" + i + "][" + j
                            + "] must be finite, got " + embeddings[i][j]);
                }
            }
            if (labels[i] < 0 || (names != null && labels[i] >= names.size())) {
                throw new IllegalArgumentException(PLOT + ": labels[" + i + "] = " + labels[i]
                        + (names == null ? " is negative" : " is not an identity index in [0, " + names.size() + ")"));
            }
        }
        Pca pca = Pca.fit(embeddings, 2);
        double[] xs = new double[embeddings.length];
        double[] ys = new double[embeddings.length];
        for (int i = 0; i < embeddings.length; i++) {
            double[] p = pca.project(embeddings[i]);
            xs[i] = p[0];
            ys[i] = p[1];
        }
        // Series index by identity, in label order, over the identities present.
        TreeMap<Integer, Integer> series = new TreeMap<>();
        for (int label : labels) {
            series.putIfAbsent(label, 0);
        }
        int next = 0;
        for (var e : series.entrySet()) {
            e.setValue(next++);
        }
        boolean withLegend = series.size() <= MAX_LEGEND;
        List<Chart.LegendEntry> legend = new ArrayList<>();
        if (withLegend) {
            for (var e : series.entrySet()) {
                String name = names == null ? "id " + e.getKey() : names.get(e.getKey());
                legend.add(new Chart.LegendEntry(name, Chart.color(e.getValue()), Chart.Key.MARKER,
                        e.getValue() / 10));
            }
        }
        int[] margins = Chart.margins(false);
        if (withLegend) {
            // the legend sits right of the plot area: measure it first to size that margin
            int widest = 0;
            Chart probe = new Chart(200, 200, null, margins);
            for (Chart.LegendEntry e : legend) {
                widest = Math.max(widest, probe.legendTextWidth(e.text()));
            }
            probe.finish();
            margins[2] = Math.min(260, widest + 70);
        }
        String title = "Embeddings, PCA projection (" + embeddings.length + " points, " + series.size()
                + (series.size() == 1 ? " identity)" : " identities)");
        Chart chart = new Chart(Chart.WIDTH, Chart.HEIGHT, title, margins);
        double[] ratios = pca.varianceRatios();
        double padX = pad(xs);
        double padY = pad(ys);
        chart.xRange(PlotChecks.min(xs) - padX, PlotChecks.max(xs) + padX, true, false);
        chart.yRange(PlotChecks.min(ys) - padY, PlotChecks.max(ys) + padY, true);
        chart.axes(String.format(Locale.ROOT, "PC1 (%.1f%% of variance)", 100 * ratios[0]),
                String.format(Locale.ROOT, "PC2 (%.1f%% of variance)", 100 * ratios[1]), null);
        chart.g.clip(chart.area);
        chart.g.setStroke(new BasicStroke(0.8f));
        // smaller markers for big clouds, so clusters still read as shapes rather than one blot
        double radius = Math.max(2.0, Math.min(4.5, 4.5 * Math.sqrt(500.0 / xs.length)));
        for (int i = 0; i < xs.length; i++) {
            int s = series.get(labels[i]);
            var shape = Chart.marker(s / 10, chart.px(xs[i]), chart.py(ys[i]), radius);
            chart.g.setColor(Chart.withAlpha(Chart.color(s), 200));
            chart.g.fill(shape);
            if (radius > 3) {
                chart.g.setColor(Color.WHITE);
                chart.g.draw(shape);
            }
        }
        chart.g.setClip(null);
        if (withLegend) {
            chart.legendAt(legend, chart.area.x + chart.area.width + 10, chart.area.y);
        }
        return chart.finish();
    }

    public static void write(Path path, float[][] embeddings, ImageDataset data) throws IOException {
        Chart.writePng(render(embeddings, data), path);
    }

    public static void write(Path path, float[][] embeddings, int[] labels) throws IOException {
        Chart.writePng(render(embeddings, labels), path);
    }

    public static void write(Path path, float[][] embeddings, int[] labels, List<String> names) throws IOException {
        Chart.writePng(render(embeddings, labels, names), path);
    }

    private static double pad(double[] v) {
        double span = PlotChecks.max(v) - PlotChecks.min(v);
        return span > 0 ? 0.04 * span : 0;
    }
}
