package org.siamese4j.siamese.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.Rectangle;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.Stroke;
import java.awt.geom.AffineTransform;
import java.awt.geom.Ellipse2D;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.imageio.ImageIO;
import org.siamese4j.io.AtomicFiles;

/**
 * The drawing shared by every plot: a white canvas with antialiasing, a title, a plot area with round-number
 * ticks, grid and axis labels (optionally a second y axis on the right), data-to-pixel mapping, polylines,
 * markers, a legend and a colour palette; and writing the result as a PNG, atomically.
 *
 * <p>Everything draws into a {@link BufferedImage}, which needs no display. Loading this class sets
 * {@code java.awt.headless=true} unless the application already chose a value, so that no AWT toolkit tries to
 * reach a window system (on a server without one it would otherwise fail on first use).
 */
final class Chart {
    static final int WIDTH = 800;
    static final int HEIGHT = 600;
    static final Color BACKGROUND = Color.WHITE;
    static final Color INK = new Color(0x22, 0x22, 0x22);
    static final Color GRID = new Color(0xE4, 0xE4, 0xE4);
    static final Color MUTED = new Color(0x88, 0x88, 0x88);
    static final Font TITLE_FONT = new Font(Font.SANS_SERIF, Font.BOLD, 18);
    static final Font LABEL_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 14);
    static final Font TICK_FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    private static final int LEGEND_KEY = 28;
    /** Height at the top for the title; a legend band above the plot area comes below it. */
    static final int TITLE_BAND = 56;
    /**
     * Share of the range added above and below a padded axis, so that a series at the end of its range (a fraction
     * of exactly 0 or 1) draws clear of the frame instead of hiding in it.
     */
    static final double PAD = 0.04;
    private static final int LEGEND_GAP = 24;
    /** Line width of a hollow ring marker, which leaves a point drawn inside it visible. */
    static final float RING_STROKE = 2.5f;

    /** Colour-blind-friendly qualitative colours (after Okabe-Ito and Tableau 10), distinct on white. */
    private static final Color[] PALETTE = {
        new Color(0x1F, 0x77, 0xB4), new Color(0xE6, 0x73, 0x00), new Color(0x2C, 0xA0, 0x2C),
        new Color(0xD6, 0x27, 0x28), new Color(0x94, 0x67, 0xBD), new Color(0x8C, 0x56, 0x4B),
        new Color(0xE3, 0x77, 0xC2), new Color(0x7F, 0x7F, 0x7F), new Color(0xBC, 0xBD, 0x22),
        new Color(0x17, 0xBE, 0xCF),
    };

    static {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /** How a legend entry draws its key. */
    enum Key { LINE, DASHED, DOTTED, BOX, MARKER, RING }

    record LegendEntry(String text, Color color, Key key, int marker) {
        LegendEntry(String text, Color color, Key key) {
            this(text, color, key, 0);
        }
    }

    final BufferedImage image;
    final Graphics2D g;
    /** The plot area in pixels; the axes frame it. */
    final Rectangle area;
    private double xMin;
    private double xMax;
    private double yMin;
    private double yMax;
    private double y2Min;
    private double y2Max;
    private double xStep;
    private double yStep;
    private double y2Step;

    /**
     * @param margins left, top, right, bottom space around the plot area, for tick labels, axis labels and title
     */
    Chart(int width, int height, String title, int[] margins) {
        if (width < 100 || height < 100) {
            throw new IllegalArgumentException("Chart: size must be at least 100x100, got " + width + "x" + height);
        }
        image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setColor(BACKGROUND);
        g.fillRect(0, 0, width, height);
        area = new Rectangle(margins[0], margins[1], width - margins[0] - margins[2],
                height - margins[1] - margins[3]);
        if (title != null && !title.isEmpty()) {
            g.setFont(TITLE_FONT);
            g.setColor(INK);
            FontMetrics fm = g.getFontMetrics();
            int band = Math.min(margins[1], TITLE_BAND);
            g.drawString(title, (width - fm.stringWidth(title)) / 2, band / 2 + fm.getAscent() / 2);
        }
    }

    /** Standard margins: room for y tick labels on the left (and right when there is a second axis). */
    static int[] margins(boolean rightAxis) {
        return new int[]{80, TITLE_BAND, rightAxis ? 80 : 32, 64};
    }

    /** {@link #margins(boolean)} with room above the plot area for {@link #legendAbove} of {@code legend}. */
    static int[] marginsWithLegendAbove(boolean rightAxis, int width, List<LegendEntry> legend) {
        int[] m = margins(rightAxis);
        m[1] += legendBandHeight(legend, width);
        return m;
    }

    static Color color(int series) {
        if (series < PALETTE.length) {
            return PALETTE[series];
        }
        // Beyond the palette: hues spread by the golden angle, so neighbours in index differ in colour.
        float hue = (float) ((series * 0.618033988749895) % 1.0);
        return Color.getHSBColor(hue, 0.75f, series % 2 == 0 ? 0.80f : 0.60f);
    }

    static Color withAlpha(Color c, int alpha) {
        return new Color(c.getRed(), c.getGreen(), c.getBlue(), alpha);
    }

    // ---- ranges and mapping ----

    /** Sets the x range, widened to round ticks when {@code round}; an empty range is opened up. */
    void xRange(double lo, double hi, boolean round, boolean integers) {
        double[] r = open(lo, hi);
        xStep = Ticks.step(r[1] - r[0], 8, integers);
        double[] w = round ? Ticks.widen(r[0], r[1], xStep) : r;
        xMin = w[0];
        xMax = w[1];
    }

    void yRange(double lo, double hi, boolean round) {
        double[] r = open(lo, hi);
        yStep = Ticks.step(r[1] - r[0], 6, false);
        double[] w = round ? Ticks.widen(r[0], r[1], yStep) : r;
        yMin = w[0];
        yMax = w[1];
    }

    void y2Range(double lo, double hi, boolean round) {
        double[] r = open(lo, hi);
        y2Step = Ticks.step(r[1] - r[0], 6, false);
        double[] w = round ? Ticks.widen(r[0], r[1], y2Step) : r;
        y2Min = w[0];
        y2Max = w[1];
    }

    /** The y range widened to round ticks, then {@link #padded}: no value of the range draws on the frame. */
    void yRangePadded(double lo, double hi) {
        yRange(lo, hi, true);
        double[] p = padded(yMin, yMax);
        yMin = p[0];
        yMax = p[1];
    }

    /** As {@link #yRangePadded} for the right axis. */
    void y2RangePadded(double lo, double hi) {
        y2Range(lo, hi, true);
        double[] p = padded(y2Min, y2Max);
        y2Min = p[0];
        y2Max = p[1];
    }

    /** [lo, hi] with {@link #PAD} of its width added on each side; the ticks stay inside [lo, hi]. */
    static double[] padded(double lo, double hi) {
        double pad = PAD * (hi - lo);
        return new double[]{lo - pad, hi + pad};
    }

    /** A range of zero width (one point, a constant series) becomes a small range around the value. */
    private static double[] open(double lo, double hi) {
        if (!(hi > lo)) {
            double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
            return new double[]{lo - pad, hi + pad};
        }
        return new double[]{lo, hi};
    }

    double yTop() {
        return yMax;
    }

    double px(double x) {
        return area.x + (x - xMin) / (xMax - xMin) * area.width;
    }

    double py(double y) {
        return area.y + area.height - (y - yMin) / (yMax - yMin) * area.height;
    }

    double py2(double y) {
        return area.y + area.height - (y - y2Min) / (y2Max - y2Min) * area.height;
    }

    // ---- axes ----

    /** Grid, frame, ticks and labels of x and left y; {@code y2Label} non-null adds the right axis. */
    void axes(String xLabel, String yLabel, String y2Label) {
        g.setStroke(new BasicStroke(1f));
        double[] xs = Ticks.within(xMin, xMax, xStep);
        double[] ys = Ticks.within(yMin, yMax, yStep);
        g.setColor(GRID);
        for (double x : xs) {
            g.draw(new Line2D.Double(px(x), area.y, px(x), area.y + area.height));
        }
        for (double y : ys) {
            g.draw(new Line2D.Double(area.x, py(y), area.x + area.width, py(y)));
        }
        g.setColor(INK);
        g.draw(new Rectangle2D.Double(area.x, area.y, area.width, area.height));
        g.setFont(TICK_FONT);
        FontMetrics fm = g.getFontMetrics();
        int bottom = area.y + area.height;
        for (double x : xs) {
            String s = Ticks.label(x, xStep);
            g.draw(new Line2D.Double(px(x), bottom, px(x), bottom + 5));
            g.drawString(s, (float) (px(x) - fm.stringWidth(s) / 2.0), bottom + 8 + fm.getAscent());
        }
        int widestTick = 0;
        for (double y : ys) {
            String s = Ticks.label(y, yStep);
            widestTick = Math.max(widestTick, fm.stringWidth(s));
            g.draw(new Line2D.Double(area.x - 5, py(y), area.x, py(y)));
            g.drawString(s, (float) (area.x - 8 - fm.stringWidth(s)), (float) (py(y) + fm.getAscent() / 2.0 - 1));
        }
        if (y2Label != null) {
            int right = area.x + area.width;
            for (double y : Ticks.within(y2Min, y2Max, y2Step)) {
                g.draw(new Line2D.Double(right, py2(y), right + 5, py2(y)));
                g.drawString(Ticks.label(y, y2Step), right + 8, (float) (py2(y) + fm.getAscent() / 2.0 - 1));
            }
        }
        g.setFont(LABEL_FONT);
        fm = g.getFontMetrics();
        if (xLabel != null) {
            g.drawString(xLabel, area.x + (area.width - fm.stringWidth(xLabel)) / 2,
                    image.getHeight() - fm.getDescent() - 12);
        }
        if (yLabel != null) {
            verticalText(yLabel, Math.max(fm.getAscent() + 2, area.x - 8 - widestTick - 12 - fm.getDescent()),
                    area.y + area.height / 2.0, -Math.PI / 2);
        }
        if (y2Label != null) {
            verticalText(y2Label, image.getWidth() - 14 - fm.getAscent(), area.y + area.height / 2.0, Math.PI / 2);
        }
    }

    /** Text rotated by {@code angle}, centred on (x, y) along its baseline direction. */
    private void verticalText(String text, double x, double y, double angle) {
        AffineTransform saved = g.getTransform();
        g.translate(x, y);
        g.rotate(angle);
        g.drawString(text, -g.getFontMetrics().stringWidth(text) / 2f, 0);
        g.setTransform(saved);
    }

    // ---- series ----

    /** A polyline through (xs[i], ys[i]), broken at NaN y values, clipped to the plot area. */
    void line(double[] xs, double[] ys, Color color, Stroke stroke, boolean rightAxis) {
        Path2D.Double path = new Path2D.Double();
        boolean pen = false;
        for (int i = 0; i < xs.length; i++) {
            if (Double.isNaN(ys[i])) {
                pen = false;
                continue;
            }
            double x = px(xs[i]);
            double y = rightAxis ? py2(ys[i]) : py(ys[i]);
            if (pen) {
                path.lineTo(x, y);
            } else {
                path.moveTo(x, y);
                pen = true;
            }
        }
        Shape clip = g.getClip();
        g.clip(area);
        g.setColor(color);
        g.setStroke(stroke);
        g.draw(path);
        g.setClip(clip);
    }

    static Stroke solid(float width) {
        return new BasicStroke(width, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    }

    static Stroke dashed(float width) {
        return new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[]{7f, 5f}, 0f);
    }

    /** Short dashes with long gaps: drawn over another line, that line shows between them. */
    static Stroke dotted(float width) {
        return new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, new float[]{3f, 6f}, 0f);
    }

    /**
     * True when the two series are within {@code tolerance} of each other (NaN with NaN) at every index: drawn
     * as they are, one would hide the other.
     */
    static boolean sameSeries(double[] a, double[] b, double tolerance) {
        if (a.length != b.length) {
            return false;
        }
        for (int i = 0; i < a.length; i++) {
            if (Double.isNaN(a[i]) != Double.isNaN(b[i]) || Math.abs(a[i] - b[i]) > tolerance) {
                return false;
            }
        }
        return true;
    }

    /** Marker shapes, cycled when colours alone cannot tell series apart: circle, square, triangle, diamond. */
    static Shape marker(int kind, double cx, double cy, double r) {
        switch (Math.floorMod(kind, 4)) {
            case 1:
                return new Rectangle2D.Double(cx - r * 0.85, cy - r * 0.85, r * 1.7, r * 1.7);
            case 2: {
                Path2D.Double p = new Path2D.Double();
                p.moveTo(cx, cy - r * 1.1);
                p.lineTo(cx + r, cy + r * 0.75);
                p.lineTo(cx - r, cy + r * 0.75);
                p.closePath();
                return p;
            }
            case 3: {
                Path2D.Double p = new Path2D.Double();
                p.moveTo(cx, cy - r * 1.15);
                p.lineTo(cx + r * 1.15, cy);
                p.lineTo(cx, cy + r * 1.15);
                p.lineTo(cx - r * 1.15, cy);
                p.closePath();
                return p;
            }
            default:
                return new Ellipse2D.Double(cx - r, cy - r, 2 * r, 2 * r);
        }
    }

    // ---- legend ----

    /**
     * A boxed legend inside the plot area, in whichever corner covers the fewest data pixels (so call it after
     * drawing the data).
     */
    void legend(List<LegendEntry> entries) {
        if (entries.isEmpty()) {
            return;
        }
        int[] size = legendSize(entries);
        int inset = 12;
        int[][] corners = {
            {area.x + area.width - inset - size[0], area.y + inset},
            {area.x + inset, area.y + inset},
            {area.x + area.width - inset - size[0], area.y + area.height - inset - size[1]},
            {area.x + inset, area.y + area.height - inset - size[1]},
        };
        int best = 0;
        long fewest = Long.MAX_VALUE;
        for (int c = 0; c < corners.length; c++) {
            long covered = dataPixels(corners[c][0], corners[c][1], size[0], size[1]);
            if (covered < fewest) {   // ties keep the earlier corner: top right first
                fewest = covered;
                best = c;
            }
        }
        drawLegend(entries, corners[best][0], corners[best][1], size);
    }

    /**
     * Height of {@code entries} laid out by {@link #legendAbove} on a chart {@code width} pixels wide: add it to
     * the top margin, so that the legend sits between the title and the plot area and hides no data.
     */
    static int legendBandHeight(List<LegendEntry> entries, int width) {
        if (entries.isEmpty()) {
            return 0;
        }
        BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D sg = scratch.createGraphics();
        try {
            FontMetrics fm = sg.getFontMetrics(LABEL_FONT);
            return legendRows(entries, fm, width).size() * legendRow(fm) + 6;
        } finally {
            sg.dispose();
        }
    }

    /**
     * The legend in rows of entries, centred, in the band {@link #legendBandHeight} reserved above the plot area
     * (see {@link #marginsWithLegendAbove}); returns the band, which does not meet the plot area.
     */
    Rectangle legendAbove(List<LegendEntry> entries) {
        g.setFont(LABEL_FONT);
        FontMetrics fm = g.getFontMetrics();
        int height = legendBandHeight(entries, image.getWidth());
        Rectangle band = new Rectangle(0, area.y - height, image.getWidth(), height);
        int row = legendRow(fm);
        List<List<LegendEntry>> rows = legendRows(entries, fm, image.getWidth());
        for (int r = 0; r < rows.size(); r++) {
            int rowWidth = -LEGEND_GAP;
            for (LegendEntry e : rows.get(r)) {
                rowWidth += entryWidth(e, fm) + LEGEND_GAP;
            }
            int x = (image.getWidth() - rowWidth) / 2;
            double cy = band.y + row * r + row / 2.0;
            for (LegendEntry e : rows.get(r)) {
                drawEntry(e, x, cy, fm);
                x += entryWidth(e, fm) + LEGEND_GAP;
            }
        }
        return band;
    }

    /** Entries in rows no wider than the chart less 16 pixels on each side, in their order. */
    private static List<List<LegendEntry>> legendRows(List<LegendEntry> entries, FontMetrics fm, int width) {
        List<List<LegendEntry>> rows = new ArrayList<>();
        List<LegendEntry> row = new ArrayList<>();
        int used = 0;
        for (LegendEntry e : entries) {
            int w = entryWidth(e, fm);
            if (!row.isEmpty() && used + LEGEND_GAP + w > width - 32) {
                rows.add(row);
                row = new ArrayList<>();
                used = 0;
            }
            used += (row.isEmpty() ? 0 : LEGEND_GAP) + w;
            row.add(e);
        }
        rows.add(row);
        return rows;
    }

    private static int entryWidth(LegendEntry e, FontMetrics fm) {
        return LEGEND_KEY + 8 + fm.stringWidth(e.text());
    }

    /** A legend with its top-left corner at (x, y), e.g. outside the plot area. */
    void legendAt(List<LegendEntry> entries, int x, int y) {
        if (!entries.isEmpty()) {
            drawLegend(entries, x, y, legendSize(entries));
        }
    }

    private int[] legendSize(List<LegendEntry> entries) {
        FontMetrics fm = g.getFontMetrics(LABEL_FONT);
        int textWidth = 0;
        for (LegendEntry e : entries) {
            textWidth = Math.max(textWidth, fm.stringWidth(e.text()));
        }
        return new int[]{10 + LEGEND_KEY + 8 + textWidth + 10, 8 + legendRow(fm) * entries.size() + 4};
    }

    private static int legendRow(FontMetrics fm) {
        return fm.getHeight() + 4;
    }

    /** Pixels in the rectangle that are neither background nor grid: what a legend there would hide. */
    private long dataPixels(int x, int y, int w, int h) {
        long count = 0;
        int bg = BACKGROUND.getRGB() & 0xFFFFFF;
        int grid = GRID.getRGB() & 0xFFFFFF;
        for (int yy = Math.max(0, y); yy < Math.min(image.getHeight(), y + h); yy++) {
            for (int xx = Math.max(0, x); xx < Math.min(image.getWidth(), x + w); xx++) {
                int p = image.getRGB(xx, yy) & 0xFFFFFF;
                count += p != bg && p != grid ? 1 : 0;
            }
        }
        return count;
    }

    private void drawLegend(List<LegendEntry> entries, int left, int y0, int[] size) {
        g.setFont(LABEL_FONT);
        FontMetrics fm = g.getFontMetrics();
        int row = legendRow(fm);
        int w = size[0];
        int h = size[1];
        g.setColor(withAlpha(BACKGROUND, 235));
        g.fillRect(left, y0, w, h);
        g.setColor(MUTED);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(left, y0, w, h);
        for (int i = 0; i < entries.size(); i++) {
            drawEntry(entries.get(i), left + 10, y0 + 8 + row * i + row / 2.0 - 2, fm);
        }
    }

    /** One legend entry: its key from x = kx, its text after it, both centred on the line y = cy. */
    private void drawEntry(LegendEntry e, double kx, double cy, FontMetrics fm) {
        int key = LEGEND_KEY;
        g.setColor(e.color());
        switch (e.key()) {
            case LINE -> {
                g.setStroke(solid(2.5f));
                g.draw(new Line2D.Double(kx, cy, kx + key, cy));
            }
            case DASHED -> {
                g.setStroke(dashed(2f));
                g.draw(new Line2D.Double(kx, cy, kx + key, cy));
            }
            case DOTTED -> {
                g.setStroke(dotted(2f));
                g.draw(new Line2D.Double(kx, cy, kx + key, cy));
            }
            case BOX -> {
                g.setColor(withAlpha(e.color(), 140));
                g.fill(new Rectangle2D.Double(kx + 4, cy - 7, key - 8, 14));
                g.setColor(e.color());
                g.setStroke(new BasicStroke(1.5f));
                g.draw(new Rectangle2D.Double(kx + 4, cy - 7, key - 8, 14));
            }
            case MARKER -> g.fill(marker(e.marker(), kx + key / 2.0, cy, 5.5));
            case RING -> {
                g.setStroke(new BasicStroke(RING_STROKE));
                g.draw(marker(0, kx + key / 2.0, cy, 6));
            }
        }
        g.setColor(INK);
        g.drawString(e.text(), (float) (kx + key + 8), (float) (cy + fm.getAscent() / 2.0 - 2));
    }

    /** Width in pixels of {@code text} in the legend font. */
    int legendTextWidth(String text) {
        return g.getFontMetrics(LABEL_FONT).stringWidth(text);
    }

    BufferedImage finish() {
        g.dispose();
        return image;
    }

    // ---- output ----

    /**
     * Writes {@code image} as a PNG at {@code path} atomically (see {@link AtomicFiles}), creating missing parent
     * folders.
     */
    static void writePng(BufferedImage image, Path path) throws IOException {
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(path, "path");
        Path parent = path.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        AtomicFiles.write(path, out -> {
            if (!ImageIO.write(image, "png", out)) {
                throw new IOException("no PNG writer available in javax.imageio");
            }
        });
    }
}
