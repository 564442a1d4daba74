package org.siamese4j.siamese.mining;

/**
 * Batch-all mining: every valid triplet (a, p, n) of the batch with {@code label(a) == label(p)}, {@code a != p} and
 * {@code label(n) != label(a)}, optionally only the non-easy ones.
 *
 * <p>The usual "batch all" loss of Hermans et al. averages the loss over the triplets whose loss is positive:
 * {@link #nonEasyOnly()} returns exactly those (hard and semi-hard, see {@link TripletKind}), so the loss can take a
 * plain mean over them. {@link #all()} returns every valid triplet regardless of the margin.
 *
 * <p>The count grows as N·K·(N−K) for a batch of P identities by K images: 64 × 3 × 60 = 11 520 for P = 16, K = 4.
 */
public final class BatchAllMiner implements OnlineMiner {
    private final boolean nonEasyOnly;

    private BatchAllMiner(boolean nonEasyOnly) {
        this.nonEasyOnly = nonEasyOnly;
    }

    /** Every valid triplet. */
    public static BatchAllMiner all() {
        return new BatchAllMiner(false);
    }

    /** The valid triplets with a positive loss: {@code d(a,n) < d(a,p) + margin}. */
    public static BatchAllMiner nonEasyOnly() {
        return new BatchAllMiner(true);
    }

    public boolean keepsOnlyNonEasy() {
        return nonEasyOnly;
    }

    @Override
    public Triplets mine(float[] dist, int n, int[] labels, float margin) {
        MiningChecks.checkMargin("BatchAllMiner.mine", margin);
        MiningChecks.checkMatrix("BatchAllMiner.mine", dist, n, labels);
        TripletsBuilder out = new TripletsBuilder(n * 4);
        for (int a = 0; a < n; a++) {
            int row = a * n;
            for (int p = 0; p < n; p++) {
                if (p == a || labels[p] != labels[a]) {
                    continue;
                }
                float dAP = dist[row + p];
                for (int q = 0; q < n; q++) {
                    if (labels[q] == labels[a]) {
                        continue;
                    }
                    if (!nonEasyOnly || TripletKind.classifyUnchecked(dAP, dist[row + q], margin).isNonEasy()) {
                        out.add(a, p, q);
                    }
                }
            }
        }
        return out.build();
    }

    @Override
    public String toString() {
        return nonEasyOnly ? "BatchAllMiner[non-easy only]" : "BatchAllMiner[all]";
    }
}
