package org.siamese4j.siamese.mining;

import java.util.Arrays;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.tensor.Rng;

/**
 * Draws random valid triplets from a labelled set, with replacement: the anchor uniformly among the examples that
 * have at least one positive (another example of their identity), the positive uniformly among the other examples of
 * the anchor's identity, the negative uniformly among the examples of all other identities. Each draw costs O(1).
 *
 * <p>Used by {@link OfflineTripletSelector} for its candidates; the same labels, seed and count give the same
 * triplets.
 */
public final class RandomTripletSampler {
    private final int n;
    /** Example indices grouped by label (ascending label, then index): each identity is one contiguous block. */
    private final int[] byLabel;
    /** For example i: where its identity's block starts in {@link #byLabel}, its size, and i's own position there. */
    private final int[] blockStart;
    private final int[] blockSize;
    private final int[] position;
    /** Examples with at least one positive. */
    private final int[] anchorPool;

    /**
     * @param labels the identity of each example (any int values; only equality matters)
     * @throws IllegalArgumentException unless some identity has two examples and there is a second identity
     */
    public RandomTripletSampler(int[] labels) {
        if (labels == null) {
            throw new IllegalArgumentException("RandomTripletSampler: labels must not be null");
        }
        n = labels.length;
        // Sort (label, index) pairs packed in a long: label in the high half (signed order), index in the low half.
        long[] keys = new long[n];
        for (int i = 0; i < n; i++) {
            keys[i] = ((long) labels[i] << 32) | i;
        }
        Arrays.sort(keys);
        byLabel = new int[n];
        blockStart = new int[n];
        blockSize = new int[n];
        position = new int[n];
        int identities = 0;
        int anchors = 0;
        int start = 0;
        while (start < n) {
            int end = start + 1;
            while (end < n && (int) (keys[end] >> 32) == (int) (keys[start] >> 32)) {
                end++;
            }
            for (int k = start; k < end; k++) {
                int i = (int) keys[k];
                byLabel[k] = i;
                blockStart[i] = start;
                blockSize[i] = end - start;
                position[i] = k;
            }
            identities++;
            if (end - start >= 2) {
                anchors += end - start;
            }
            start = end;
        }
        if (anchors == 0 || identities < 2) {
            throw new IllegalArgumentException("RandomTripletSampler: a triplet needs an identity with at least 2"
                    + " examples and a second identity; got " + n + " examples of " + identities + " identities, "
                    + (anchors == 0 ? "none" : "some") + " with 2 or more examples");
        }
        anchorPool = new int[anchors];
        int filled = 0;
        for (int k = 0; k < n; k++) {
            if (blockSize[byLabel[k]] >= 2) {
                anchorPool[filled++] = byLabel[k];
            }
        }
    }

    /** A sampler over the labels of {@code dataset}. */
    public static RandomTripletSampler of(ImageDataset dataset) {
        if (dataset == null) {
            throw new IllegalArgumentException("RandomTripletSampler: dataset must not be null");
        }
        return new RandomTripletSampler(dataset.labels());
    }

    /** Number of labelled examples. */
    public int size() {
        return n;
    }

    /** {@code count} random valid triplets (with replacement), drawn from {@code rng}. */
    public Triplets sample(int count, Rng rng) {
        if (count < 0) {
            throw new IllegalArgumentException("RandomTripletSampler.sample: count must be >= 0, got " + count);
        }
        if (rng == null) {
            throw new IllegalArgumentException("RandomTripletSampler.sample: rng must not be null");
        }
        int[] a = new int[count];
        int[] p = new int[count];
        int[] q = new int[count];
        for (int t = 0; t < count; t++) {
            int anchor = anchorPool[rng.nextInt(anchorPool.length)];
            int start = blockStart[anchor];
            int size = blockSize[anchor];
            // Uniform over the block minus the anchor: draw among size - 1 slots and skip the anchor's own slot.
            int slot = rng.nextInt(size - 1);
            if (start + slot >= position[anchor]) {
                slot++;
            }
            // Uniform over everything outside the block: draw among n - size positions and jump over the block.
            int other = rng.nextInt(n - size);
            if (other >= start) {
                other += size;
            }
            a[t] = anchor;
            p[t] = byLabel[start + slot];
            q[t] = byLabel[other];
        }
        return new Triplets(a, p, q);
    }
}
