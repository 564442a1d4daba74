package org.siamese4j.data;

import java.util.Arrays;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A tiny generated image task for tests, demos and first experiments: noisy grey images of three kinds of
 * shape, drawn at random positions and sizes. Small enough to train on in seconds, hard enough that an
 * untrained network is at chance (1/3). Class 0 is a horizontal or vertical bar, 1 a plus-shaped cross,
 * 2 a ring.
 */
public final class ToyShapes {
    public static final String[] CLASS_NAMES = {"bar", "cross", "ring"};
    public static final int CLASSES = CLASS_NAMES.length;

    private ToyShapes() {
    }

    /** {@code n} images [n, 1, size, size] with labels 0..2, classes in turn, everything drawn from {@code rng}. */
    public static LabelledImages generate(int n, int size, Rng rng) {
        if (n < 0 || size < 8) {
            throw new IllegalArgumentException("ToyShapes: need n >= 0 and size >= 8, got n=" + n + " size=" + size);
        }
        float[] pixels = new float[n * size * size];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            int label = i % CLASSES;
            labels[i] = label;
            float[] img = new float[size * size];
            float ink = 0.7f + 0.3f * rng.nextFloat();
            switch (label) {
                case 0 -> bar(img, size, rng, ink);
                case 1 -> cross(img, size, rng, ink);
                default -> ring(img, size, rng, ink);
            }
            for (int p = 0; p < img.length; p++) {
                pixels[i * img.length + p] = img[p] + (float) (0.15 * rng.nextGaussian());
            }
        }
        return new LabelledImages(Tensor.wrap(pixels, n, 1, size, size), labels);
    }

    /** Images [n, 1, H, W] and one class label per image. */
    public record LabelledImages(Tensor images, int[] labels) {
        public int size() {
            return labels.length;
        }

        /** Images and labels [from, to), copied. */
        public LabelledImages range(int from, int to) {
            return new LabelledImages(images.slice(from, to), Arrays.copyOfRange(labels, from, to));
        }

        /** The images and labels in the order of {@code permutation}. */
        public LabelledImages reorder(int[] permutation) {
            int[] newLabels = new int[permutation.length];
            for (int i = 0; i < permutation.length; i++) {
                newLabels[i] = labels[permutation[i]];
            }
            return new LabelledImages(images.indexSelect(0, permutation).detach(), newLabels);
        }
    }

    private static void plot(float[] img, int size, int r, int c, float ink) {
        if (r >= 0 && r < size && c >= 0 && c < size) {
            img[r * size + c] = ink;
        }
    }

    /** A horizontal or vertical bar, about 40-80% of the side long and 1 or 2 pixels thick. */
    private static void bar(float[] img, int size, Rng rng, float ink) {
        int minLength = Math.max(3, size * 2 / 5);
        int length = minLength + rng.nextInt(size * 4 / 5 - minLength + 1);
        int thick = 1 + rng.nextInt(2);
        int along = rng.nextInt(size - length + 1);
        int across = rng.nextInt(size - thick + 1);
        boolean horizontal = rng.nextBoolean();
        for (int a = 0; a < length; a++) {
            for (int t = 0; t < thick; t++) {
                if (horizontal) {
                    plot(img, size, across + t, along + a, ink);
                } else {
                    plot(img, size, along + a, across + t, ink);
                }
            }
        }
    }

    /** A plus sign with arms of 1/6 to 1/3 of the side, fully inside the image. */
    private static void cross(float[] img, int size, Rng rng, float ink) {
        int minArm = Math.max(2, size / 6);
        int arm = minArm + rng.nextInt(Math.max(1, size / 3 - minArm + 1));
        int r = arm + rng.nextInt(size - 2 * arm);
        int c = arm + rng.nextInt(size - 2 * arm);
        for (int k = -arm; k <= arm; k++) {
            plot(img, size, r + k, c, ink);
            plot(img, size, r, c + k, ink);
        }
    }

    /** A circle outline with a radius of 20-37% of the side, fully inside the image. */
    private static void ring(float[] img, int size, Rng rng, float ink) {
        double radius = size * (0.2 + 0.17 * rng.nextDouble());
        int margin = (int) Math.ceil(radius);
        double cr = margin + rng.nextDouble() * (size - 1 - 2 * margin);
        double cc = margin + rng.nextDouble() * (size - 1 - 2 * margin);
        for (int r = 0; r < size; r++) {
            for (int c = 0; c < size; c++) {
                if (Math.abs(Math.hypot(r - cr, c - cc) - radius) < 0.6) {
                    img[r * size + c] = ink;
                }
            }
        }
    }
}
