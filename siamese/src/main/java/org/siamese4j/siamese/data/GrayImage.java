package org.siamese4j.siamese.data;

import org.siamese4j.tensor.Tensor;

/**
 * One single-channel image as decoded: {@code height x width} float samples, row-major, in
 * [0, {@link #maxValue()}] (the PGM maxval, 255 for 8-bit files, 65535 for 16-bit ones, 1 once
 * {@link #scaledToUnit() scaled}). Immutable: the transforms return new images.
 */
public final class GrayImage {
    private final int height;
    private final int width;
    private final float maxValue;
    private final float[] pixels;

    private GrayImage(int height, int width, float maxValue, float[] pixels) {
        this.height = height;
        this.width = width;
        this.maxValue = maxValue;
        this.pixels = pixels;
    }

    /** An image holding a copy of {@code pixels} (row-major, {@code height * width} values). */
    public static GrayImage of(int height, int width, float maxValue, float[] pixels) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("GrayImage: height and width must be positive, got " + height + "x"
                    + width);
        }
        if ((long) height * width != pixels.length) {
            throw new IllegalArgumentException("GrayImage: " + height + "x" + width + " needs "
                    + (long) height * width + " pixels, got " + pixels.length);
        }
        if (!(maxValue > 0) || !Float.isFinite(maxValue)) {
            throw new IllegalArgumentException("GrayImage: maxValue must be positive and finite, got " + maxValue);
        }
        return new GrayImage(height, width, maxValue, pixels.clone());
    }

    /** Wraps without copying; for decoders in this package that own the array. */
    static GrayImage wrap(int height, int width, float maxValue, float[] pixels) {
        return new GrayImage(height, width, maxValue, pixels);
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** The value of white: samples lie in [0, maxValue]. */
    public float maxValue() {
        return maxValue;
    }

    public float get(int row, int col) {
        if (row < 0 || row >= height || col < 0 || col >= width) {
            throw new IndexOutOfBoundsException("GrayImage.get: (" + row + ", " + col + ") outside " + height + "x"
                    + width);
        }
        return pixels[row * width + col];
    }

    /** A copy of the samples, row-major. */
    public float[] pixels() {
        return pixels.clone();
    }

    /** The samples divided by {@link #maxValue()}, so white is 1; maxValue of the result is 1. */
    public GrayImage scaledToUnit() {
        float[] out = new float[pixels.length];
        // Divide (rather than multiply by a rounded reciprocal) so maxValue maps to exactly 1.
        for (int i = 0; i < out.length; i++) {
            out[i] = pixels[i] / maxValue;
        }
        return new GrayImage(height, width, 1f, out);
    }

    /** Mirrored left to right. */
    public GrayImage flipHorizontal() {
        float[] out = new float[pixels.length];
        for (int r = 0; r < height; r++) {
            int row = r * width;
            for (int c = 0; c < width; c++) {
                out[row + c] = pixels[row + width - 1 - c];
            }
        }
        return new GrayImage(height, width, maxValue, out);
    }

    /**
     * Bilinear resampling to {@code newHeight x newWidth}. Pixel centres are aligned (output pixel r samples the
     * source at {@code (r + 0.5) * height / newHeight - 0.5}, clamped to the border), the convention of
     * OpenCV's {@code INTER_LINEAR} and PyTorch's {@code align_corners=False}, so a constant image stays constant
     * and resizing to the same size is the identity. No anti-aliasing: shrinking by more than 2x skips source
     * pixels.
     */
    public GrayImage resize(int newHeight, int newWidth) {
        if (newHeight < 1 || newWidth < 1) {
            throw new IllegalArgumentException("GrayImage.resize: target must be positive, got " + newHeight + "x"
                    + newWidth);
        }
        if ((long) newHeight * newWidth > Images.MAX_PIXELS) {
            throw new IllegalArgumentException("GrayImage.resize: target " + newHeight + "x" + newWidth
                    + " exceeds the cap of " + Images.MAX_PIXELS + " pixels");
        }
        if (newHeight == height && newWidth == width) {
            return new GrayImage(height, width, maxValue, pixels.clone());
        }
        int[] x0 = new int[newWidth];
        int[] x1 = new int[newWidth];
        float[] wx = new float[newWidth];
        sampleGrid(width, newWidth, x0, x1, wx);
        int[] y0 = new int[newHeight];
        int[] y1 = new int[newHeight];
        float[] wy = new float[newHeight];
        sampleGrid(height, newHeight, y0, y1, wy);
        float[] out = new float[newHeight * newWidth];
        for (int r = 0; r < newHeight; r++) {
            int top = y0[r] * width;
            int bottom = y1[r] * width;
            float fy = wy[r];
            for (int c = 0; c < newWidth; c++) {
                float upper = pixels[top + x0[c]] + wx[c] * (pixels[top + x1[c]] - pixels[top + x0[c]]);
                float lower = pixels[bottom + x0[c]] + wx[c] * (pixels[bottom + x1[c]] - pixels[bottom + x0[c]]);
                out[r * newWidth + c] = upper + fy * (lower - upper);
            }
        }
        return new GrayImage(newHeight, newWidth, maxValue, out);
    }

    /** For each output coordinate: the two source neighbours and the weight of the second. */
    private static void sampleGrid(int from, int to, int[] lo, int[] hi, float[] weight) {
        double scale = (double) from / to;
        for (int i = 0; i < to; i++) {
            double src = Math.min(Math.max((i + 0.5) * scale - 0.5, 0), from - 1);
            int floor = (int) src;
            lo[i] = floor;
            hi[i] = Math.min(floor + 1, from - 1);
            weight[i] = (float) (src - floor);
        }
    }

    /** The samples as a new [1, 1, height, width] tensor (values unchanged; call {@link #scaledToUnit} first). */
    public Tensor toTensor() {
        return Tensor.wrap(pixels.clone(), 1, 1, height, width);
    }

    /** Copies the samples into {@code dest} from {@code offset}. */
    void copyInto(float[] dest, int offset) {
        System.arraycopy(pixels, 0, dest, offset, pixels.length);
    }

    @Override
    public String toString() {
        return "GrayImage[" + height + "x" + width + ", maxValue " + maxValue + "]";
    }
}
