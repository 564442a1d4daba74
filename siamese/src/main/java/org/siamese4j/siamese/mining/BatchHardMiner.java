package org.siamese4j.siamese.mining;

/**
 * Batch-hard mining (Hermans et al., "In Defense of the Triplet Loss"): for every anchor, its hardest positive
 * (largest {@code d(a,p)}, {@code p != a}) and its hardest negative (smallest {@code d(a,n)}), one triplet per
 * anchor.
 *
 * <p>Anchors without a positive (the only image of their identity in the batch) or without a negative (a batch of a
 * single identity) are skipped, so the result has at most N triplets and never an invalid one. Ties go to the lowest
 * row index, which keeps the choice reproducible. The margin does not affect the selection; it is only validated.
 */
public final class BatchHardMiner implements OnlineMiner {

    public BatchHardMiner() {
    }

    @Override
    public Triplets mine(float[] dist, int n, int[] labels, float margin) {
        MiningChecks.checkMargin("BatchHardMiner.mine", margin);
        MiningChecks.checkMatrix("BatchHardMiner.mine", dist, n, labels);
        TripletsBuilder out = new TripletsBuilder(n);
        for (int a = 0; a < n; a++) {
            int row = a * n;
            int hardestPositive = -1;
            int hardestNegative = -1;
            for (int j = 0; j < n; j++) {
                float d = dist[row + j];
                if (labels[j] == labels[a]) {
                    // Strict comparisons keep the first (lowest) index among equal distances.
                    if (j != a && (hardestPositive < 0 || d > dist[row + hardestPositive])) {
                        hardestPositive = j;
                    }
                } else if (hardestNegative < 0 || d < dist[row + hardestNegative]) {
                    hardestNegative = j;
                }
            }
            if (hardestPositive >= 0 && hardestNegative >= 0) {
                out.add(a, hardestPositive, hardestNegative);
            }
        }
        return out.build();
    }

    @Override
    public String toString() {
        return "BatchHardMiner";
    }
}
