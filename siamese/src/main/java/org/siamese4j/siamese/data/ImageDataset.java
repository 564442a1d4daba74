package org.siamese4j.siamese.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.siamese4j.tensor.Tensor;

/**
 * Images with an identity label each: the common currency of samplers, miners, training and evaluation.
 *
 * <p>{@code images} is [N, C, H, W] float32; {@code labels[i]} is the identity index of image i, in
 * [0, identityNames.size()). Immutable in structure (the pixel tensor is shared, not copied, by views such as
 * {@link #subset}). All pixels are in memory; {@link LabelledImages} is the form that reads them a batch at a time.
 */
public final class ImageDataset implements LabelledImages {
    private final Tensor images;
    private final int[] labels;
    private final List<String> identityNames;
    private final int[][] indicesByIdentity;

    public ImageDataset(Tensor images, int[] labels, List<String> identityNames) {
        if (images.rank() != 4) {
            throw new IllegalArgumentException("ImageDataset: images must be [N, C, H, W], got "
                    + Arrays.toString(images.shape()));
        }
        if (labels.length != images.dim(0)) {
            throw new IllegalArgumentException("ImageDataset: " + images.dim(0) + " images but " + labels.length
                    + " labels");
        }
        this.images = images;
        this.labels = labels.clone();
        this.identityNames = List.copyOf(identityNames);
        int identities = identityNames.size();
        int[] counts = new int[identities];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= identities) {
                throw new IllegalArgumentException("ImageDataset: label " + labels[i] + " of image " + i
                        + " is not an identity index in [0, " + identities + ")");
            }
            counts[labels[i]]++;
        }
        indicesByIdentity = new int[identities][];
        for (int id = 0; id < identities; id++) {
            indicesByIdentity[id] = new int[counts[id]];
        }
        int[] filled = new int[identities];
        for (int i = 0; i < labels.length; i++) {
            indicesByIdentity[labels[i]][filled[labels[i]]++] = i;
        }
    }

    /**
     * Every image of {@code images} read into memory, with its labels and names.
     *
     * @throws IllegalArgumentException when the pixels would not fit in one Java array
     */
    public static ImageDataset of(LabelledImages images) throws IOException {
        long values = (long) images.size() * images.channels() * images.height() * images.width();
        if (values > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("ImageDataset: " + LabelledImages.describe(images) + " holds "
                    + values + " values, more than one array holds; read it a batch at a time instead");
        }
        return new ImageDataset(images.batch(LabelledImages.indices(0, images.size())), images.labels(),
                images.identityNames());
    }

    /** All images, [N, C, H, W]. */
    public Tensor images() {
        return images;
    }

    @Override
    public int size() {
        return labels.length;
    }

    public int label(int image) {
        return labels[image];
    }

    /** A copy of the labels. */
    @Override
    public int[] labels() {
        return labels.clone();
    }

    @Override
    public int identityCount() {
        return identityNames.size();
    }

    @Override
    public List<String> identityNames() {
        return identityNames;
    }

    /** Indices of the images of one identity (a copy). */
    public int[] indicesOf(int identity) {
        return indicesByIdentity[identity].clone();
    }

    public int countOf(int identity) {
        return indicesByIdentity[identity].length;
    }

    @Override
    public int channels() {
        return images.dim(1);
    }

    @Override
    public int height() {
        return images.dim(2);
    }

    @Override
    public int width() {
        return images.dim(3);
    }

    /** The images at {@code indices}, in that order, as a new [B, C, H, W] tensor. */
    @Override
    public Tensor batch(int... indices) {
        return images.indexSelect(0, indices).detach();
    }

    /** The labels of the images at {@code indices}. */
    public int[] labelsOf(int... indices) {
        int[] out = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            out[i] = labels[indices[i]];
        }
        return out;
    }

    /** The dataset restricted to {@code indices}; identities keep their numbering and names. */
    public ImageDataset subset(int... indices) {
        return new ImageDataset(batch(indices), labelsOf(indices), identityNames);
    }

    /**
     * The images of {@code first} then those of {@code second}, as one dataset of their people: {@code second}'s
     * identities are numbered after {@code first}'s. The two must hold different people (no name in both) and images
     * of the same shape: for training, say, on the training and the validation people of a split together.
     */
    public static ImageDataset union(ImageDataset first, ImageDataset second) {
        if (first.channels() != second.channels() || first.height() != second.height()
                || first.width() != second.width()) {
            throw new IllegalArgumentException("ImageDataset.union: images of " + first.channels() + "x"
                    + first.height() + "x" + first.width() + " and of " + second.channels() + "x" + second.height()
                    + "x" + second.width() + " do not go together");
        }
        List<String> shared = new ArrayList<>(first.identityNames);
        shared.retainAll(second.identityNames);
        if (!shared.isEmpty()) {
            throw new IllegalArgumentException("ImageDataset.union: the datasets share people " + shared
                    + "; a union is of different people");
        }
        int n = first.size();
        int[] labels = new int[n + second.size()];
        System.arraycopy(first.labels, 0, labels, 0, n);
        for (int i = 0; i < second.size(); i++) {
            labels[n + i] = first.identityCount() + second.labels[i];
        }
        float[] pixels = new float[first.images.size() + second.images.size()];
        System.arraycopy(first.images.data(), 0, pixels, 0, first.images.size());
        System.arraycopy(second.images.data(), 0, pixels, first.images.size(), second.images.size());
        List<String> names = new ArrayList<>(first.identityNames);
        names.addAll(second.identityNames);
        return new ImageDataset(Tensor.wrap(pixels, labels.length, first.channels(), first.height(), first.width()),
                labels, names);
    }

    /** The identities that have at least {@code min} images. */
    public int[] identitiesWithAtLeast(int min) {
        List<Integer> ids = new ArrayList<>();
        for (int id = 0; id < identityCount(); id++) {
            if (countOf(id) >= min) {
                ids.add(id);
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String toString() {
        return LabelledImages.describe(this);
    }
}
