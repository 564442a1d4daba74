package org.siamese4j.siamese.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.siamese4j.tensor.Rng;

/**
 * Batches of P identities x K images each, the input of batch-hard and batch-all triplet mining.
 *
 * <p>An epoch is one pass over the eligible identities in a fresh random order, cut into {@code eligible / P}
 * batches; the last {@code eligible % P} identities of that order sit the epoch out (like {@code drop_last}),
 * and since the order is reshuffled every epoch no identity is left out for long. Within a batch the K images
 * of an identity are distinct random images when it has at least K; what happens to identities with fewer is the
 * {@link Shortfall} policy. The same Rng seed gives the same batches.
 */
public final class PKSampler {

    /** What to do with identities that have fewer than K images. */
    public enum Shortfall {
        /** Leave them out: every group has K distinct images. */
        SKIP,
        /**
         * Keep every identity with at least min(K, 2) images: a short group takes all of its images once, then
         * fills up with random repeats (sampling with replacement). Repeats are zero-distance positives, harmless
         * for batch-hard mining (it takes the farthest positive) but they dilute batch-all averages. For K &gt;= 2
         * identities with a single image are still left out: they cannot form a positive pair.
         */
        REPEAT
    }

    private final IdentityGroups groups;
    private final int[] eligible;
    private final int p;
    private final int k;
    private final Rng rng;
    private int[] order;
    private int cursor;

    public PKSampler(ImageDataset dataset, int p, int k, Shortfall shortfall, Rng rng) {
        this(dataset.labels(), p, k, shortfall, rng);
    }

    public PKSampler(int[] labels, int p, int k, Shortfall shortfall, Rng rng) {
        if (p < 1 || k < 1) {
            throw new IllegalArgumentException("PKSampler: P and K must be positive, got P=" + p + " K=" + k);
        }
        this.groups = new IdentityGroups(labels, "PKSampler");
        this.eligible = groups.withAtLeast(shortfall == Shortfall.SKIP ? k : Math.min(k, 2));
        this.p = p;
        this.k = k;
        this.rng = rng;
        if (eligible.length < p) {
            throw new IllegalArgumentException("PKSampler: P=" + p + " identities per batch but only "
                    + eligible.length + " identities have " + (shortfall == Shortfall.SKIP ? "at least K=" + k
                    : "at least " + Math.min(k, 2)) + " images (shortfall policy " + shortfall + ")");
        }
        this.order = new int[0];
    }

    /** How many batches one pass over the eligible identities gives. */
    public int batchesPerEpoch() {
        return eligible.length / p;
    }

    /** The identities that can appear in a batch, ascending. */
    public int[] eligibleIdentities() {
        return eligible.clone();
    }

    /** The next batch, starting a new epoch (a fresh identity order) when the current one is used up. */
    public IdentityBatch nextBatch() {
        if (cursor + p > order.length) {
            order = eligible.clone();
            rng.shuffle(order);
            cursor = 0;
        }
        int[] indices = new int[p * k];
        int[] labels = new int[p * k];
        for (int g = 0; g < p; g++) {
            int id = order[cursor++];
            fillGroup(groups.byIdentity[id], indices, g * k);
            Arrays.fill(labels, g * k, (g + 1) * k, id);
        }
        return new IdentityBatch(indices, labels, p, k);
    }

    /** All batches of a fresh epoch (abandoning what is left of the current one). */
    public List<IdentityBatch> nextEpoch() {
        cursor = order.length;
        List<IdentityBatch> batches = new ArrayList<>();
        for (int b = 0; b < batchesPerEpoch(); b++) {
            batches.add(nextBatch());
        }
        return batches;
    }

    private void fillGroup(int[] images, int[] out, int offset) {
        if (images.length >= k) {
            // Partial Fisher-Yates: the first k slots of a shuffled copy.
            int[] pool = images.clone();
            for (int i = 0; i < k; i++) {
                int j = i + rng.nextInt(pool.length - i);
                int t = pool[i];
                pool[i] = pool[j];
                pool[j] = t;
                out[offset + i] = pool[i];
            }
        } else {
            int[] pool = images.clone();
            rng.shuffle(pool);
            System.arraycopy(pool, 0, out, offset, pool.length);
            for (int i = pool.length; i < k; i++) {
                out[offset + i] = images[rng.nextInt(images.length)];
            }
        }
    }
}
