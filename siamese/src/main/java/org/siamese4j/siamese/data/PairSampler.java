package org.siamese4j.siamese.data;

import org.siamese4j.tensor.Rng;

/**
 * Draws balanced batches of image pairs for a contrastive (Siamese) loss.
 *
 * <p>A batch of B pairs has exactly {@code round(B * positiveFraction)} positives, in random positions. Sampling
 * is balanced over identities, not images: a positive picks an identity uniformly among those with at least two
 * images, then two different images of it (so never {@code i == j}); a negative picks two different identities
 * uniformly among those with at least one image, then one image of each. Identities with a single image therefore
 * appear only in negatives. Pairs are drawn with replacement across the batch, and the same Rng seed gives the
 * same batches.
 */
public final class PairSampler {
    private final IdentityGroups groups;
    private final int[] positiveIdentities;
    private final int[] presentIdentities;
    private final double positiveFraction;
    private final Rng rng;

    public PairSampler(ImageDataset dataset, double positiveFraction, Rng rng) {
        this(dataset.labels(), positiveFraction, rng);
    }

    public PairSampler(int[] labels, double positiveFraction, Rng rng) {
        if (!(positiveFraction >= 0 && positiveFraction <= 1)) {
            throw new IllegalArgumentException("PairSampler: positiveFraction must be in [0, 1], got "
                    + positiveFraction);
        }
        this.groups = new IdentityGroups(labels, "PairSampler");
        this.positiveIdentities = groups.withAtLeast(2);
        this.presentIdentities = groups.withAtLeast(1);
        this.positiveFraction = positiveFraction;
        this.rng = rng;
        if (positiveFraction > 0 && positiveIdentities.length == 0) {
            throw new IllegalArgumentException("PairSampler: positive pairs need an identity with at least 2 images,"
                    + " but every identity has at most 1 (use positiveFraction 0 for negatives only)");
        }
        if (positiveFraction < 1 && presentIdentities.length < 2) {
            throw new IllegalArgumentException("PairSampler: negative pairs need at least 2 identities with images,"
                    + " got " + presentIdentities.length + " (use positiveFraction 1 for positives only)");
        }
    }

    /** The number of positives in a batch of {@code batchSize} pairs. */
    public int positivesPerBatch(int batchSize) {
        return (int) Math.round(batchSize * positiveFraction);
    }

    public Pairs sample(int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("PairSampler.sample: batchSize must be positive, got " + batchSize);
        }
        int positives = positivesPerBatch(batchSize);
        int[] first = new int[batchSize];
        int[] second = new int[batchSize];
        int[] same = new int[batchSize];
        // Positions of the positives: a random subset, so the loss does not see them in a block.
        int[] slots = rng.permutation(batchSize);
        for (int s = 0; s < batchSize; s++) {
            int i = slots[s];
            if (s < positives) {
                int[] images = groups.byIdentity[positiveIdentities[rng.nextInt(positiveIdentities.length)]];
                int a = rng.nextInt(images.length);
                int b = rng.nextInt(images.length - 1);
                // Draw from the others by skipping a's slot: uniform over b != a.
                if (b >= a) {
                    b++;
                }
                first[i] = images[a];
                second[i] = images[b];
                same[i] = 1;
            } else {
                int idA = rng.nextInt(presentIdentities.length);
                int idB = rng.nextInt(presentIdentities.length - 1);
                if (idB >= idA) {
                    idB++;
                }
                int[] imagesA = groups.byIdentity[presentIdentities[idA]];
                int[] imagesB = groups.byIdentity[presentIdentities[idB]];
                first[i] = imagesA[rng.nextInt(imagesA.length)];
                second[i] = imagesB[rng.nextInt(imagesB.length)];
            }
        }
        return new Pairs(first, second, same);
    }
}
