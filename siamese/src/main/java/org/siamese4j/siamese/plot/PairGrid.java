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
 * A grid of image pairs, the two images of each pair side by side with "Dissimilarity: 0.42" under them: what a
 * Siamese network makes of concrete pairs.
 *
 * <p>Pixels are [C, H, W] floats, C = 1 (grey) or 3 (RGB). If every pixel shown lies in [0, 1] they are drawn as
 * they are; otherwise (standardised inputs) each image is stretched from its own minimum to maximum, so
 * contrast is comparable within an image but not brightness across images. Small images are enlarged to about
 * {@value #TARGET_HEIGHT} pixels high (nearest neighbour by whole factors, so pixels stay crisp).
 *
 * <p>When the pairs come from an {@link ImageDataset}, the caption is green for a same-person pair and red for a
 * different-person pair.
 */
public final class PairGrid {
    private static final String PLOT = "PairGrid";
    static final int TARGET_HEIGHT = 112;
    static final int GAP = 4;
    static final int PAD = 14;
    static final int CAPTION = 26;
    static final Color SAME = new Color(0x1B, 0x7F, 0x2A);
    static final Color DIFFERENT = new Color(0xC0, 0x1F, 0x1F);

    private PairGrid() {
    }

    /**
     * Pairs of images of {@code data}.
     *
     * @param first         index of each pair's left image
     * @param second        index of each pair's right image
     * @param dissimilarity each pair's score (e.g. the distance between its embeddings), finite
     * @param columns       pairs per row, >= 1
     * @throws IllegalArgumentException on no pairs, mismatched lengths, an index out of range, a non-finite
     *                                  dissimilarity or pixel, more than 3 channels
     */
    public static BufferedImage render(ImageDataset data, int[] first, int[] second, double[] dissimilarity,
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
        return draw(left, right, c, h, w, dissimilarity, same, columns);
    }

    /**
     * Pairs given as pixel arrays, each [channels, height, width] flattened; captions in black.
     *
     * @throws IllegalArgumentException as for the dataset version, and on an image of the wrong size
     */
    public static BufferedImage render(float[][] left, float[][] right, int channels, int height, int width,
                                       double[] dissimilarity, int columns) {
        Objects.requireNonNull(left, "left");
        Objects.requireNonNull(right, "right");
        return draw(left, right, channels, height, width, dissimilarity, null, columns);
    }

    public static void write(Path path, ImageDataset data, int[] first, int[] second, double[] dissimilarity,
                             int columns) throws IOException {
        Chart.writePng(render(data, first, second, dissimilarity, columns), path);
    }

    public static void write(Path path, float[][] left, float[][] right, int channels, int height, int width,
                             double[] dissimilarity, int columns) throws IOException {
        Chart.writePng(render(left, right, channels, height, width, dissimilarity, columns), path);
    }

    private static void index(String name, int i, int value, int n) {
        if (value < 0 || value >= n) {
            throw new IllegalArgumentException(PLOT + ": " + name + "[" + i + "] = " + value
                    + " is not an image index in [0, " + n + ")");
        }
    }

    private static BufferedImage draw(float[][] left, float[][] right, int channels, int height, int width,
                                      double[] dissimilarity, boolean[] same, int columns) {
        if (left.length == 0) {
            throw new IllegalArgumentException(PLOT + ": no pairs to show");
        }
        PlotChecks.sameLength(PLOT, "left", left.length, "right", right.length);
        PlotChecks.finite(PLOT, "dissimilarity", dissimilarity);
        PlotChecks.sameLength(PLOT, "pairs", left.length, "dissimilarity", dissimilarity.length);
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
        BufferedImage out = new BufferedImage(PAD + cols * (cellW + PAD), PAD + rows * (cellH + PAD),
                BufferedImage.TYPE_INT_RGB);
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
            String caption = String.format(Locale.ROOT, "Dissimilarity: %.2f", dissimilarity[i]);
            g.setColor(same == null ? Chart.INK : same[i] ? SAME : DIFFERENT);
            g.drawString(caption, x0 + (cellW - fm.stringWidth(caption)) / 2, y0 + ih + 6 + fm.getAscent());
        }
        g.dispose();
        return out;
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
