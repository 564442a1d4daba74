package org.siamese4j.siamese.plot;

import java.awt.Color;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Objects;
import org.siamese4j.siamese.data.ImageDataset;

/**
 * A grid of image pairs, the two images of each pair side by side with "distance 0.42" under them: what a
 * Siamese network makes of concrete pairs. A footer says what the numbers and colours mean.
 *
 * <p>Pixels are [C, H, W] floats, C = 1 (grey) or 3 (RGB). If every pixel shown lies in [0, 1] they are drawn as
 * they are; otherwise (standardised inputs) each image is stretched from its own minimum to maximum, so
 * contrast is comparable within an image but not brightness across images. Small images are enlarged to about
 * {@value #TARGET_HEIGHT} pixels high (nearest neighbour by whole factors, so pixels stay crisp).
 *
 * <p>When the pairs come from an {@link ImageDataset}, the caption is green for a same-person pair and red for a
 * different-person pair, and the footer's first line is the key to these colours.
 */
public final class PairGrid {
    private static final String PLOT = "PairGrid";
    static final int TARGET_HEIGHT = 112;
    static final int GAP = 4;
    static final int PAD = 14;
    static final int CAPTION = 26;
    /** Height of one footer line, under the grid. */
    static final int FOOTER_LINE = 22;
    static final String DISTANCE_NOTE = "the number under each pair: distance between the two embeddings "
            + "(lower = more alike)";
    static final Color SAME = new Color(0x1B, 0x7F, 0x2A);
    static final Color DIFFERENT = new Color(0xC0, 0x1F, 0x1F);

    private PairGrid() {
    }

    /**
     * Pairs of images of {@code data}.
     *
     * @param first         index of each pair's left image
     * @param second        index of each pair's right image
     * @param distance      the distance between each pair's embeddings, finite
     * @param columns       pairs per row, >= 1
     * @throws IllegalArgumentException on no pairs, mismatched lengths, an index out of range, a non-finite
     *                                  distance or pixel, more than 3 channels
     */
    public static BufferedImage render(ImageDataset data, int[] first, int[] second, double[] distance,
                                       int columns) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(first, "first");
        Objects.requireNonNull(second, "second");
        PlotChecks.sameLength(PLOT, "first", first.length, "second", second.length);
        int n = data.size();
        int c = data.channels();
        int h = data.height();
        int w = data.width();
        float[] pixels = data.images().data();
        int size = c * h * w;
        float[][] left = new float[first.length][];
        float[][] right = new float[first.length][];
        boolean[] same = new boolean[first.length];
        for (int i = 0; i < first.length; i++) {
            index("first", i, first[i], n);
            index("second", i, second[i], n);
            left[i] = java.util.Arrays.copyOfRange(pixels, first[i] * size, (first[i] + 1) * size);
            right[i] = java.util.Arrays.copyOfRange(pixels, second[i] * size, (second[i] + 1) * size);
            same[i] = data.label(first[i]) == data.label(second[i]);
        }
        return draw(left, right, c, h, w, distance, same, columns);
    }

    /**
     * Pairs given as pixel arrays, each [channels, height, width] flattened; captions in black.
     *
     * @throws IllegalArgumentException as for the dataset version, and on an image of the wrong size
     */
    public static BufferedImage render(float[][] left, float[][] right, int channels, int height, int width,
                                       double[] distance, int columns) {
        Objects.requireNonNull(left, "left");
        Objects.requireNonNull(right, "right");
        return draw(left, right, channels, height, width, distance, null, columns);
    }

    public static void write(Path path, ImageDataset data, int[] first, int[] second, double[] distance,
                             int columns) throws IOException {
        Chart.writePng(render(data, first, second, distance, columns), path);
    }

    public static void write(Path path, float[][] left, float[][] right, int channels, int height, int width,
                             double[] distance, int columns) throws IOException {
        Chart.writePng(render(left, right, channels, height, width, distance, columns), path);
    }

    private static void index(String name, int i, int value, int n) {
        if (value < 0 || value >= n) {
            throw new IllegalArgumentException(PLOT + ": " + name + "[" + i + "] = " + value
                    + " is not an image index in [0, " + n + ")");
        }
    }

    private static BufferedImage draw(float[][] left, float[][] right, int channels, int height, int width,
                                      double[] distance, boolean[] same, int columns) {
        if (left.length == 0) {
            throw new IllegalArgumentException(PLOT + ": no pairs to show");
        }
        PlotChecks.sameLength(PLOT, "left", left.length, "right", right.length);
        PlotChecks.finite(PLOT, "distance", distance);
        PlotChecks.sameLength(PLOT, "pairs", left.length, "distance", distance.length);
        if (channels != 1 && channels != 3) {
            throw new IllegalArgumentException(PLOT + ": images must have 1 (grey) or 3 (RGB) channels, got "
                    + channels);
        }
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException(PLOT + ": image size must be positive, got " + height + "x" + width);
        }
        if (columns < 1) {
            throw new IllegalArgumentException(PLOT + ": columns must be >= 1, got " + columns);
        }
        int size = channels * height * width;
        boolean unitRange = true;
        for (int i = 0; i < left.length; i++) {
            unitRange &= checkImage("left", i, left[i], size);
            unitRange &= checkImage("right", i, right[i], size);
        }
        int zoom = Math.max(1, Math.round((float) TARGET_HEIGHT / height));
        int ih = height * zoom;
        int iw = width * zoom;
        int cellW = Math.max(2 * iw + GAP, 150);
        int cellH = ih + CAPTION;
        int cols = Math.min(columns, left.length);
        int rows = (left.length + cols - 1) / cols;
        int gridHeight = PAD + rows * (cellH + PAD);
        int footerLines = same == null ? 1 : 2;
        BufferedImage out = new BufferedImage(Math.max(PAD + cols * (cellW + PAD), footerWidth() + 2 * PAD),
                gridHeight + footerLines * FOOTER_LINE + PAD / 2, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
        g.setColor(Chart.BACKGROUND);
        g.fillRect(0, 0, out.getWidth(), out.getHeight());
        g.setFont(Chart.LABEL_FONT);
        FontMetrics fm = g.getFontMetrics();
        for (int i = 0; i < left.length; i++) {
            int x0 = PAD + (i % cols) * (cellW + PAD);
            int y0 = PAD + (i / cols) * (cellH + PAD);
            int ix = x0 + (cellW - 2 * iw - GAP) / 2;
            g.drawImage(toImage(left[i], channels, height, width, unitRange), ix, y0, iw, ih, null);
            g.drawImage(toImage(right[i], channels, height, width, unitRange), ix + iw + GAP, y0, iw, ih, null);
            String caption = String.format(Locale.ROOT, "distance %.2f", distance[i]);
            g.setColor(same == null ? Chart.INK : same[i] ? SAME : DIFFERENT);
            g.drawString(caption, x0 + (cellW - fm.stringWidth(caption)) / 2, y0 + ih + 6 + fm.getAscent());
        }
        int baseline = gridHeight + fm.getAscent();
        if (same != null) {
            // the key to the caption colours, centred: a swatch and its meaning for each
            String sameText = "same person";
            String differentText = "different people";
            int swatch = 12;
            int keyWidth = 2 * (swatch + 6) + fm.stringWidth(sameText) + 28 + fm.stringWidth(differentText);
            int x = (out.getWidth() - keyWidth) / 2;
            x = footerKey(g, fm, x, baseline, swatch, SAME, sameText) + 28;
            footerKey(g, fm, x, baseline, swatch, DIFFERENT, differentText);
            baseline += FOOTER_LINE;
        }
        g.setColor(Chart.INK);
        g.drawString(DISTANCE_NOTE, (out.getWidth() - fm.stringWidth(DISTANCE_NOTE)) / 2, baseline);
        g.dispose();
        return out;
    }

    /** A filled square of {@code colour} and {@code text} in it, from x on the baseline; returns where it ends. */
    private static int footerKey(Graphics2D g, FontMetrics fm, int x, int baseline, int swatch, Color colour,
                                 String text) {
        g.setColor(colour);
        g.fillRect(x, baseline - swatch, swatch, swatch);
        g.drawString(text, x + swatch + 6, baseline);
        return x + swatch + 6 + fm.stringWidth(text);
    }

    /** Width of the widest footer line, so that a narrow grid still shows it whole. */
    private static int footerWidth() {
        BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = scratch.createGraphics();
        try {
            return g.getFontMetrics(Chart.LABEL_FONT).stringWidth(DISTANCE_NOTE);
        } finally {
            g.dispose();
        }
    }

    /** Checks size and finiteness; returns whether every pixel is in [0, 1]. */
    private static boolean checkImage(String side, int i, float[] image, int size) {
        Objects.requireNonNull(image, side + "[" + i + "]");
        if (image.length != size) {
            throw new IllegalArgumentException(PLOT + ": " + side + "[" + i + "] has " + image.length
                    + " pixels, expected channels x height x width = " + size);
        }
        boolean unit = true;
        for (int j = 0; j < image.length; j++) {
            float v = image[j];
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException(PLOT + ": " + side + "[" + i + "][" + j + "] must be finite, got "
                        + v);
            }
            unit &= v >= 0 && v <= 1;
        }
        return unit;
    }

    private static BufferedImage toImage(float[] pixels, int channels, int height, int width, boolean unitRange) {
        float lo = 0;
        float scale = 1;
        if (!unitRange) {
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            for (float v : pixels) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            lo = min;
            scale = max > min ? 1 / (max - min) : 0;
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        int plane = height * width;
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                int p = y * width + x;
                int r = level(pixels[p], lo, scale);
                int gr = channels == 3 ? level(pixels[plane + p], lo, scale) : r;
                int b = channels == 3 ? level(pixels[2 * plane + p], lo, scale) : r;
                img.setRGB(x, y, (r << 16) | (gr << 8) | b);
            }
        }
        return img;
    }

    private static int level(float v, float lo, float scale) {
        return Math.max(0, Math.min(255, Math.round((v - lo) * scale * 255)));
    }
}
