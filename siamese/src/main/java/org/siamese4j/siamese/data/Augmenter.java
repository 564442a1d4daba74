package org.siamese4j.siamese.data;

import java.util.Arrays;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Seeded random augmentation of image batches [B, C, H, W], each image with its own random draw (the same for all
 * of its channels), applied in this order:
 * <ol>
 *   <li>horizontal flip with probability {@code flipProbability};</li>
 *   <li>a shift by whole pixels, {@code dy} and {@code dx} uniform in [-maxShift, maxShift]; the uncovered border
 *       is filled per {@link Fill};</li>
 *   <li>when {@code maxRotation} or {@code maxScale} is above 0, with the shift: a rotation about the centre by an
 *       angle uniform in [-maxRotation, maxRotation] degrees and a scaling by a factor uniform in
 *       [1 - maxScale, 1 + maxScale], sampled bilinearly ({@link #rotateScale});</li>
 *   <li>contrast: {@code x' = m + f (x - m)} with {@code m} the image's mean and {@code f} uniform in
 *       [1 - contrast, 1 + contrast];</li>
 *   <li>brightness: {@code x' = x + d} with {@code d} uniform in [-brightness, brightness], in pixel units (for
 *       images in [0, 1], 0.1 is a tenth of the range).</li>
 * </ol>
 * Results are not clamped (the input may be normalised, with no fixed range). Every image consumes the same five
 * draws whatever is enabled, and two more with a rotation or scaling, so the same seed and batch size give the same
 * augmentations, and a configuration without them the same as before they existed. {@link #apply} returns a
 * new tensor, outside any autograd graph; the input is not modified.
 */
public final class Augmenter {

    /** How a shift fills the pixels it uncovers. */
    public enum Fill {
        /** With 0 (black for [0, 1] images, the mean for normalised ones). */
        ZERO,
        /** With the nearest pixel of the original image (edge replication), which adds no artificial border. */
        EDGE
    }

    /** Augmentation strengths; 0 disables a step. */
    public record Config(double flipProbability, int maxShift, Fill fill, float brightness, float contrast,
                         float maxRotation, float maxScale) {
        public Config {
            if (!(flipProbability >= 0 && flipProbability <= 1)) {
                throw new IllegalArgumentException("Augmenter.Config: flipProbability must be in [0, 1], got "
                        + flipProbability);
            }
            if (maxShift < 0) {
                throw new IllegalArgumentException("Augmenter.Config: maxShift must be >= 0, got " + maxShift);
            }
            if (!(brightness >= 0) || !Float.isFinite(brightness)) {
                throw new IllegalArgumentException("Augmenter.Config: brightness must be finite and >= 0, got "
                        + brightness);
            }
            if (!(contrast >= 0 && contrast < 1)) {
                throw new IllegalArgumentException("Augmenter.Config: contrast must be in [0, 1), got " + contrast);
            }
            if (fill == null) {
                throw new IllegalArgumentException("Augmenter.Config: fill must not be null");
            }
            if (!(maxRotation >= 0 && maxRotation <= 180)) {
                throw new IllegalArgumentException("Augmenter.Config: maxRotation must be in [0, 180] degrees, got "
                        + maxRotation);
            }
            if (!(maxScale >= 0 && maxScale < 1)) {
                throw new IllegalArgumentException("Augmenter.Config: maxScale must be in [0, 1), got " + maxScale);
            }
        }

        /** Without rotation or scaling. */
        public Config(double flipProbability, int maxShift, Fill fill, float brightness, float contrast) {
            this(flipProbability, maxShift, fill, brightness, contrast, 0f, 0f);
        }

        /**
         * Mild face augmentation: flip half the time, up to 2 pixels of shift (edge fill), brightness +-0.1,
         * contrast +-10%.
         */
        public static Config faces() {
            return new Config(0.5, 2, Fill.EDGE, 0.1f, 0.1f);
        }

        /**
         * {@link #faces()} and a rotation of up to 10 degrees either way and a scaling by up to 10%: faces tilt and
         * come nearer or farther in photographs.
         */
        public static Config facesRotated() {
            return new Config(0.5, 2, Fill.EDGE, 0.1f, 0.1f, 10f, 0.1f);
        }

        /** Nothing: apply returns a copy. */
        public static Config none() {
            return new Config(0, 0, Fill.EDGE, 0f, 0f);
        }
    }

    private final Config config;
    private final Rng rng;

    public Augmenter(Config config, Rng rng) {
        this.config = config;
        this.rng = rng;
    }

    public Config config() {
        return config;
    }

    /**
     * The generator the augmentations are drawn from (the one given to the constructor, live): a checkpoint saves
     * {@code rng().state()} and a resumed run restores it, so it continues with the same draws.
     */
    public Rng rng() {
        return rng;
    }

    /** A new, augmented copy of {@code batch} [B, C, H, W]. */
    public Tensor apply(Tensor batch) {
        int[] shape = checkBatch("Augmenter.apply", batch);
        int b = shape[0];
        int c = shape[1];
        int h = shape[2];
        int w = shape[3];
        int plane = h * w;
        float[] src = batch.data();
        float[] out = new float[src.length];
        float[] tmp = new float[plane];
        for (int i = 0; i < b; i++) {
            boolean flip = rng.nextDouble() < config.flipProbability();
            int dy = rng.nextInt(2 * config.maxShift() + 1) - config.maxShift();
            int dx = rng.nextInt(2 * config.maxShift() + 1) - config.maxShift();
            float factor = 1 + config.contrast() * (2 * rng.nextFloat() - 1);
            float delta = config.brightness() * (2 * rng.nextFloat() - 1);
            boolean warp = config.maxRotation() > 0 || config.maxScale() > 0;
            float degrees = warp ? config.maxRotation() * (2 * rng.nextFloat() - 1) : 0f;
            float scale = warp ? 1 + config.maxScale() * (2 * rng.nextFloat() - 1) : 1f;
            int image = i * c * plane;
            for (int ch = 0; ch < c; ch++) {
                int off = image + ch * plane;
                if (flip) {
                    flipPlane(src, off, tmp, 0, h, w);
                } else {
                    System.arraycopy(src, off, tmp, 0, plane);
                }
                if (warp) {
                    warpPlane(tmp, 0, out, off, h, w, degrees, scale, dy, dx, config.fill());
                } else {
                    shiftPlane(tmp, 0, out, off, h, w, dy, dx, config.fill());
                }
            }
            if (config.contrast() > 0) {
                contrastImage(out, image, c * plane, factor);
            }
            if (delta != 0) {
                for (int j = image; j < image + c * plane; j++) {
                    out[j] += delta;
                }
            }
        }
        return Tensor.wrap(out, shape);
    }

    // =====================================================================================================
    // Deterministic transforms of a whole batch [B, C, H, W]; each returns a new tensor
    // =====================================================================================================

    /** Every image mirrored left to right. Flipping twice gives the input back exactly. */
    public static Tensor flipHorizontal(Tensor batch) {
        int[] shape = checkBatch("Augmenter.flipHorizontal", batch);
        int h = shape[2];
        int w = shape[3];
        float[] src = batch.data();
        float[] out = new float[src.length];
        for (int off = 0; off < src.length; off += h * w) {
            flipPlane(src, off, out, off, h, w);
        }
        return Tensor.wrap(out, shape);
    }

    /**
     * Every image moved by {@code dy} rows down and {@code dx} columns right (negative: up / left):
     * {@code out[r][c] = in[r - dy][c - dx]}, with uncovered pixels filled per {@code fill}.
     */
    public static Tensor shift(Tensor batch, int dy, int dx, Fill fill) {
        int[] shape = checkBatch("Augmenter.shift", batch);
        int h = shape[2];
        int w = shape[3];
        float[] src = batch.data();
        float[] out = new float[src.length];
        for (int off = 0; off < src.length; off += h * w) {
            shiftPlane(src, off, out, off, h, w, dy, dx, fill);
        }
        return Tensor.wrap(out, shape);
    }

    /**
     * Every image rotated about its centre by {@code degrees} (positive: counter-clockwise as displayed, rows going
     * down) and scaled by {@code scale} (above 1: larger), sampled bilinearly; pixels that come from outside the
     * image are filled per {@code fill}. 0 degrees at scale 1 gives the input back exactly.
     */
    public static Tensor rotateScale(Tensor batch, float degrees, float scale, Fill fill) {
        int[] shape = checkBatch("Augmenter.rotateScale", batch);
        if (!(scale > 0) || !Float.isFinite(degrees) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("Augmenter.rotateScale: need finite degrees and a scale above 0, got "
                    + degrees + " and " + scale);
        }
        int h = shape[2];
        int w = shape[3];
        float[] src = batch.data();
        float[] out = new float[src.length];
        for (int off = 0; off < src.length; off += h * w) {
            warpPlane(src, off, out, off, h, w, degrees, scale, 0, 0, fill);
        }
        return Tensor.wrap(out, shape);
    }

    /** Every value plus {@code delta}. */
    public static Tensor adjustBrightness(Tensor batch, float delta) {
        int[] shape = checkBatch("Augmenter.adjustBrightness", batch);
        float[] out = batch.toArray();
        for (int i = 0; i < out.length; i++) {
            out[i] += delta;
        }
        return Tensor.wrap(out, shape);
    }

    /** Each image's deviations from its own mean (over all its channels) scaled by {@code factor}. */
    public static Tensor adjustContrast(Tensor batch, float factor) {
        int[] shape = checkBatch("Augmenter.adjustContrast", batch);
        float[] out = batch.toArray();
        int imageSize = shape[1] * shape[2] * shape[3];
        for (int off = 0; off < out.length; off += imageSize) {
            contrastImage(out, off, imageSize, factor);
        }
        return Tensor.wrap(out, shape);
    }

    private static void contrastImage(float[] x, int off, int n, float factor) {
        double sum = 0;
        for (int j = off; j < off + n; j++) {
            sum += x[j];
        }
        float mean = (float) (sum / n);
        for (int j = off; j < off + n; j++) {
            x[j] = mean + factor * (x[j] - mean);
        }
    }

    private static void flipPlane(float[] src, int srcOff, float[] dst, int dstOff, int h, int w) {
        for (int r = 0; r < h; r++) {
            int s = srcOff + r * w;
            int d = dstOff + r * w;
            for (int c = 0; c < w; c++) {
                dst[d + c] = src[s + w - 1 - c];
            }
        }
    }

    private static void shiftPlane(float[] src, int srcOff, float[] dst, int dstOff, int h, int w, int dy, int dx,
            Fill fill) {
        for (int r = 0; r < h; r++) {
            int sr = r - dy;
            boolean rowInside = sr >= 0 && sr < h;
            if (!rowInside && fill == Fill.ZERO) {
                Arrays.fill(dst, dstOff + r * w, dstOff + (r + 1) * w, 0f);
                continue;
            }
            int row = srcOff + clamp(sr, h) * w;
            for (int c = 0; c < w; c++) {
                int sc = c - dx;
                if (fill == Fill.ZERO && (sc < 0 || sc >= w)) {
                    dst[dstOff + r * w + c] = 0f;
                } else {
                    dst[dstOff + r * w + c] = src[row + clamp(sc, w)];
                }
            }
        }
    }

    /**
     * dst = src rotated by {@code degrees} and scaled by {@code scale} about the centre, then shifted by (dy, dx):
     * each output pixel looks up where it came from (the inverse map) and interpolates its four neighbours there.
     */
    private static void warpPlane(float[] src, int srcOff, float[] dst, int dstOff, int h, int w, float degrees,
                                  float scale, int dy, int dx, Fill fill) {
        double radians = Math.toRadians(degrees);
        double cos = Math.cos(radians) / scale;
        double sin = Math.sin(radians) / scale;
        double cy = (h - 1) / 2.0;
        double cx = (w - 1) / 2.0;
        for (int r = 0; r < h; r++) {
            double y = r - dy - cy;
            for (int c = 0; c < w; c++) {
                double x = c - dx - cx;
                // a counter-clockwise turn on screen (y down) maps (x, y) to (cos x + sin y, cos y - sin x); its
                // inverse, from the output pixel back to the source:
                double sy = cy + sin * x + cos * y;
                double sx = cx + cos * x - sin * y;
                dst[dstOff + r * w + c] = bilinear(src, srcOff, h, w, sy, sx, fill);
            }
        }
    }

    private static float bilinear(float[] src, int off, int h, int w, double sy, double sx, Fill fill) {
        int y0 = (int) Math.floor(sy);
        int x0 = (int) Math.floor(sx);
        float fy = (float) (sy - y0);
        float fx = (float) (sx - x0);
        float top = (1 - fx) * pixel(src, off, h, w, y0, x0, fill) + fx * pixel(src, off, h, w, y0, x0 + 1, fill);
        float bottom = (1 - fx) * pixel(src, off, h, w, y0 + 1, x0, fill)
                + fx * pixel(src, off, h, w, y0 + 1, x0 + 1, fill);
        return (1 - fy) * top + fy * bottom;
    }

    private static float pixel(float[] src, int off, int h, int w, int r, int c, Fill fill) {
        if (fill == Fill.ZERO && (r < 0 || r >= h || c < 0 || c >= w)) {
            return 0f;
        }
        return src[off + clamp(r, h) * w + clamp(c, w)];
    }

    private static int clamp(int i, int n) {
        return i < 0 ? 0 : (i >= n ? n - 1 : i);
    }

    private static int[] checkBatch(String op, Tensor batch) {
        if (batch.rank() != 4) {
            throw new IllegalArgumentException(op + ": expected a batch [B, C, H, W], got shape "
                    + Arrays.toString(batch.shape()));
        }
        return batch.shape();
    }
}
