package org.siamese4j.siamese.data;

import java.io.IOException;
import java.util.List;
import org.siamese4j.tensor.Tensor;

/**
 * Images with an identity label each, whose pixels are handed out a batch at a time: an {@link ImageDataset} holds
 * them all in memory, while {@link FaceFolders#list} and {@link SyntheticFaces#range} read or draw only the
 * images asked for. The labels and names are known without reading any image, so a caller can check a request
 * before the slow part, and can embed a set too big to hold as pixels (100,000 images of 56x46 are 1 GB of
 * floats, their 64-d embeddings 25 MB) one batch at a time.
 *
 * <p>{@code labels()[i]} is the identity index of image i, in [0, identityNames().size()).
 */
public interface LabelledImages {
    int size();

    /** The label of every image (a copy). */
    int[] labels();

    /** The identity names, indexed by label. */
    List<String> identityNames();

    default int identityCount() {
        return identityNames().size();
    }

    int channels();

    int height();

    int width();

    /**
     * The images at {@code indices}, in that order, as a new [B, C, H, W] tensor; for images on disk, read now
     * (a file that cannot be read fails here, naming it).
     */
    Tensor batch(int... indices) throws IOException;

    /** {@code ImageDataset[400 images of 40 identities, 1x56x46]}: what the CLI prints about a data set. */
    static String describe(LabelledImages images) {
        return "ImageDataset[" + images.size() + " images of " + images.identityCount() + " identities, "
                + images.channels() + "x" + images.height() + "x" + images.width() + "]";
    }

    /** The indices {@code from .. to - 1}: the argument of {@link #batch} for a run of images. */
    static int[] indices(int from, int to) {
        int[] indices = new int[to - from];
        for (int i = 0; i < indices.length; i++) {
            indices[i] = from + i;
        }
        return indices;
    }
}
