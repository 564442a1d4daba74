package org.siamese4j.siamese.data;

import java.util.Arrays;
import org.siamese4j.tensor.Rng;

/**
 * Draws random triplets (anchor, positive, negative) for a triplet loss, with
 * {@code label(a) == label(p)}, {@code a != p} and {@code label(n) != label(a)}.
 *
 * <p>Balanced over identities: the anchor identity is uniform among those with at least two images, anchor and
 * positive are two different random images of it, and the negative identity is uniform among the other
 * identities with images. Random triplets are mostly easy; the mining package selects harder ones from
 * embeddings. The same Rng seed gives the same batches.
 */
public final class TripletSampler {
    private final IdentityGroups groups;
    private final int[] anchorIdentities;
    private final int[] presentIdentities;
    private final Rng rng;

    public TripletSampler(ImageDataset dataset, Rng rng) {
        this(dataset.labels(), rng);
    }

    public TripletSampler(int[] labels, Rng rng) {
        this.groups = new IdentityGroups(labels, "TripletSampler");
        this.anchorIdentities = groups.withAtLeast(2);
        this.presentIdentities = groups.withAtLeast(1);
        this.rng = rng;
        if (anchorIdentities.length == 0) {
            throw new IllegalArgumentException("TripletSampler: needs an identity with at least 2 images (anchor and"
                    + " positive), but every identity has at most 1");
        }
        if (presentIdentities.length < 2) {
            throw new IllegalArgumentException("TripletSampler: needs at least 2 identities with images, got "
                    + presentIdentities.length);
        }
    }

    public TripletIndices sample(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("TripletSampler.sample: batchSize must be positive, got "
                    + batchSize);
        }
        int[] anchor = new int[batchSize];
        int[] positive = new int[batchSize];
        int[] negative = new int[batchSize];
        for (int i = 0; i < batchSize; i++) {
            int id = anchorIdentities[rng.nextInt(anchorIdentities.length)];
            int[] images = groups.byIdentity[id];
            int a = rng.nextInt(images.length);
            int p = rng.nextInt(images.length - 1);
            if (p >= a) {
                p++;
            }
            anchor[i] = images[a];
            positive[i] = images[p];
            // Uniform over the present identities other than id: draw among n - 1 and skip id's slot.
            int slot = rng.nextInt(presentIdentities.length - 1);
            int own = Arrays.binarySearch(presentIdentities, id);
            if (slot >= own) {
                slot++;
            }
            int[] negatives = groups.byIdentity[presentIdentities[slot]];
            negative[i] = negatives[rng.nextInt(negatives.length)];
        }
        return new TripletIndices(anchor, positive, negative);
    }
}
