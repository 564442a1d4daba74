package org.siamese4j.siamese.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Procedurally drawn grey-scale faces: the library's built-in dataset, needing no download.
 *
 * <p>Each identity is a fixed face (head shape, skin, eyes, brows, nose, mouth, hair, ears, glasses, facial
 * hair, clothing) drawn from a seeded generator; each image of it changes pose (rotation, shift, scale, yaw,
 * pitch), lighting (direction, ambient share, gain, offset, a gradient across the frame, background),
 * expression (smile, open mouth, eye openness, brow raise, gaze) and sensor noise. Within-identity variation
 * dominates raw pixels, so comparing pixels verifies faces poorly while a network that learns the geometry can
 * do well.
 *
 * <p>Images are [N, 1, H, W] in [0, 1], by default 112 high and 92 wide like the AT&amp;T faces. Identity
 * {@code i} depends only on {@code (seed, i)} and image {@code j} of it only on {@code (seed, i, j)}, so
 * {@link #generateRange} with disjoint identity ranges gives disjoint people (train on 0..N-1, test on
 * N..N+M-1) and the same arguments always give the same pixels, bit for bit: only exact IEEE arithmetic and
 * {@link StrictMath} enter the pixels, and all randomness comes from {@link Rng}.
 */
public final class SyntheticFaces {
    /** AT&amp;T face size. */
    public static final int HEIGHT = SyntheticFaceRenderer.REFERENCE_HEIGHT;
    public static final int WIDTH = SyntheticFaceRenderer.REFERENCE_WIDTH;

    /** Smallest side length at which the features are still a few pixels wide. */
    public static final int MIN_SIZE = 8;

    private SyntheticFaces() {
    }

    /** {@code identities} people ("synth-0", "synth-1", ...) with {@code imagesPerIdentity} 112x92 images each. */
    public static ImageDataset generate(int identities, int imagesPerIdentity, long seed) {
        return generateRange(0, identities, imagesPerIdentity, seed, HEIGHT, WIDTH);
    }

    /** As {@link #generate(int, int, long)}, rendered directly at {@code height} x {@code width}. */
    public static ImageDataset generate(int identities, int imagesPerIdentity, long seed, int height, int width) {
        return generateRange(0, identities, imagesPerIdentity, seed, height, width);
    }

    /**
     * People {@code firstIdentity .. firstIdentity + identities - 1} of the family {@code seed}, named
     * "synth-&lt;number&gt;" and labelled 0.. in that order. Ranges that do not overlap share no person, so two
     * calls give a train and a test set of disjoint identities.
     */
    public static ImageDataset generateRange(int firstIdentity, int identities, int imagesPerIdentity, long seed,
            int height, int width) {
        LabelledImages people = range(firstIdentity, identities, imagesPerIdentity, seed, height, width);
        long pixels = (long) identities * imagesPerIdentity * height * width;
        if (pixels > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("SyntheticFaces: " + identities + " x " + imagesPerIdentity
                    + " images of " + height + "x" + width + " need " + pixels + " floats, more than one array holds");
        }
        try {
            return ImageDataset.of(people);
        } catch (IOException e) {
            throw new AssertionError("drawing faces reads no file", e);
        }
    }

    /**
     * The people of {@link #generateRange}, drawn only when a batch asks for them: batch {@code [i, j, ...]}
     * holds exactly the pixels of images i, j, ... of {@code generateRange} with the same arguments, so any
     * number of people can be embedded a batch at a time. Image n shows person {@code n / imagesPerIdentity}.
     */
    public static LabelledImages range(int firstIdentity, int identities, int imagesPerIdentity, long seed,
            int height, int width) {
        if (firstIdentity < 0) {
            throw new IllegalArgumentException("SyntheticFaces: firstIdentity must be >= 0, got " + firstIdentity);
        }
        if (identities <= 0) {
            throw new IllegalArgumentException("SyntheticFaces: identities must be positive, got " + identities);
        }
        if (imagesPerIdentity <= 0) {
            throw new IllegalArgumentException("SyntheticFaces: imagesPerIdentity must be positive, got "
                    + imagesPerIdentity);
        }
        if ((long) firstIdentity + identities > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("SyntheticFaces: identity range " + firstIdentity + " + "
                    + identities + " overflows int");
        }
        if ((long) identities * imagesPerIdentity > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("SyntheticFaces: " + identities + " x " + imagesPerIdentity
                    + " images are more than one array can label");
        }
        checkSize(height, width);
        List<String> names = new ArrayList<>(identities);
        SyntheticFaceIdentity[] faces = new SyntheticFaceIdentity[identities];
        for (int k = 0; k < identities; k++) {
            names.add("synth-" + (firstIdentity + k));
            faces[k] = SyntheticFaceIdentity.of(seed, firstIdentity + k);
        }
        return new People(firstIdentity, imagesPerIdentity, seed, height, width, faces, List.copyOf(names));
    }

    /** The people of {@link #range}, each image drawn when a batch asks for it. */
    private record People(int firstIdentity, int imagesPerIdentity, long seed, int height, int width,
                          SyntheticFaceIdentity[] faces, List<String> identityNames) implements LabelledImages {
        @Override
        public int size() {
            return faces.length * imagesPerIdentity;
        }

        @Override
        public int[] labels() {
            int[] labels = new int[size()];
            for (int n = 0; n < labels.length; n++) {
                labels[n] = n / imagesPerIdentity;
            }
            return labels;
        }

        @Override
        public int channels() {
            return 1;
        }

        @Override
        public Tensor batch(int... indices) {
            int plane = height * width;
            for (int n : indices) {
                if (n < 0 || n >= size()) {
                    throw new IndexOutOfBoundsException("SyntheticFaces: image " + n + " of " + size());
                }
            }
            float[] data = new float[Math.multiplyExact(indices.length, plane)];
            // Every image has its own random stream and output slice, so the threads cannot change the pixels.
            Parallel.forEach(indices.length, t -> {
                int n = indices[t];
                int k = n / imagesPerIdentity;
                renderInto(faces[k], seed, firstIdentity + k, n % imagesPerIdentity, height, width, data, t * plane);
            });
            return Tensor.wrap(data, indices.length, 1, height, width);
        }

        @Override
        public String toString() {
            return LabelledImages.describe(this);
        }
    }

    /**
     * Image {@code image} of person {@code identity} as {@code height * width} row-major values in [0, 1]: the
     * same pixels {@link #generateRange} produces for it. Any non-negative image index is valid, so a sampler
     * can draw fresh photographs of a person for as long as it likes.
     */
    public static float[] renderImage(long seed, int identity, int image, int height, int width) {
        if (identity < 0 || image < 0) {
            throw new IllegalArgumentException("SyntheticFaces: identity and image must be >= 0, got identity "
                    + identity + ", image " + image);
        }
        checkSize(height, width);
        float[] out = new float[height * width];
        renderInto(SyntheticFaceIdentity.of(seed, identity), seed, identity, image, height, width, out, 0);
        return out;
    }

    private static void renderInto(SyntheticFaceIdentity face, long seed, int identity, int image, int height,
            int width, float[] out, int offset) {
        // One stream per (identity, image): the variation is drawn first, the noise continues the same stream.
        Rng rng = new Rng(streamSeed(seed, identity, 1 + (long) image));
        SyntheticFaceVariation variation = new SyntheticFaceVariation(rng);
        new SyntheticFaceRenderer(face, variation, height, width).render(rng, height, width, out, offset);
    }

    private static void checkSize(int height, int width) {
        if (height < MIN_SIZE || width < MIN_SIZE) {
            throw new IllegalArgumentException("SyntheticFaces: image size must be at least " + MIN_SIZE + "x"
                    + MIN_SIZE + ", got " + height + "x" + width);
        }
        if ((long) height * width > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("SyntheticFaces: image size " + height + "x" + width + " too large");
        }
    }

    /**
     * The seed of stream {@code stream} of person {@code identity}: each step goes through the SplitMix64
     * finaliser, a bijection, so distinct (identity, stream) pairs of one seed give unrelated streams.
     */
    static long streamSeed(long seed, int identity, long stream) {
        long h = new Rng(seed ^ 0x5851F42D4C957F2DL).nextLong();
        h = new Rng(h + identity).nextLong();
        return new Rng(h + stream).nextLong();
    }
}
