package org.siamese4j.siamese.mining;

/**
 * Semi-hard mining as in FaceNet (and TensorFlow Addons' {@code triplet_semihard_loss}): for every anchor-positive
 * pair (a, p) with {@code a != p}, the negative closest to the anchor among those strictly farther than the
 * positive, {@code argmin d(a,n) subject to d(a,n) > d(a,p)}.
 *
 * <p>If no negative is farther than the positive (every negative is hard, or tied with the positive), the default
 * miner falls back to the easiest negative, {@code argmax d(a,n)}: the least violating one, which keeps the pair in
 * the loss without pulling the hardest outlier into it. {@link #withoutFallback()} drops such pairs instead.
 *
 * <p>Note the strict {@code >}: a negative exactly as far as the positive is not "farther", so it is chosen only by
 * the fallback, although {@link TripletKind#classify} counts it as semi-hard (its loss is m). The chosen negative is
 * semi-hard or easy relative to the margin; this miner does not look at the margin (it is only validated): a pair
 * whose nearest farther negative is beyond {@code d(a,p) + m} yields an easy triplet with zero loss.
 *
 * <p>One triplet per pair, so K·(K−1) per identity; pairs whose anchor has no negative in the batch are skipped.
 * Ties go to the lowest row index.
 */
public final class SemiHardMiner implements OnlineMiner {
    private final boolean fallbackToEasiest;

    private SemiHardMiner(boolean fallbackToEasiest) {
        this.fallbackToEasiest = fallbackToEasiest;
    }

    /** Semi-hard with the FaceNet fallback to the easiest negative. */
    public SemiHardMiner() {
        this(true);
    }

    /** Semi-hard without fallback: pairs with no negative farther than the positive produce no triplet. */
    public static SemiHardMiner withoutFallback() {
        return new SemiHardMiner(false);
    }

    public boolean fallsBackToEasiest() {
        return fallbackToEasiest;
    }

    @Override
    public Triplets mine(float[] dist, int n, int[] labels, float margin) {
        MiningChecks.checkMargin("SemiHardMiner.mine", margin);
        MiningChecks.checkMatrix("SemiHardMiner.mine", dist, n, labels);
        TripletsBuilder out = new TripletsBuilder(n * 4);
        for (int a = 0; a < n; a++) {
            int row = a * n;
            // The easiest negative depends on the anchor only; find it once per anchor.
            int easiest = -1;
            for (int q = 0; q < n; q++) {
                if (labels[q] != labels[a] && (easiest < 0 || dist[row + q] > dist[row + easiest])) {
                    easiest = q;
                }
            }
            if (easiest < 0) {
                continue; // no negative for this anchor at all
            }
            for (int p = 0; p < n; p++) {
                if (p == a || labels[p] != labels[a]) {
                    continue;
                }
                float dAP = dist[row + p];
                int chosen = -1;
                for (int q = 0; q < n; q++) {
                    float dAN = dist[row + q];
                    if (labels[q] != labels[a] && dAN > dAP && (chosen < 0 || dAN < dist[row + chosen])) {
                        chosen = q;
                    }
                }
                if (chosen < 0 && fallbackToEasiest) {
                    chosen = easiest;
                }
                if (chosen >= 0) {
                    out.add(a, p, chosen);
                }
            }
        }
        return out.build();
    }

    @Override
    public String toString() {
        return fallbackToEasiest ? "SemiHardMiner" : "SemiHardMiner[without fallback]";
    }
}
