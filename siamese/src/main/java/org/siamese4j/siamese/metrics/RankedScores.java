package org.siamese4j.siamese.metrics;

import java.util.Arrays;

/**
 * Scores grouped into distinct thresholds, most alike first, with cumulative accept counts: the one sort that ROC,
 * EER, TAR at FAR and best-accuracy thresholds all read from.
 *
 * <p>Threshold {@code k} accepts every pair whose score is at least as alike as {@code thresholds[k]} (ties
 * included), which accepts {@code truePositives[k]} same pairs and {@code falsePositives[k]} different pairs. Equal
 * scores are one threshold, so a tie between a same and a different pair moves the ROC diagonally, which is what
 * makes the trapezoid area count ties as one half.
 */
final class RankedScores {
    /** Distinct scores in the caller's units, most alike first. */
    final double[] thresholds;
    /** Same pairs accepted at threshold k (cumulative). */
    final long[] truePositives;
    /** Different pairs accepted at threshold k (cumulative). */
    final long[] falsePositives;
    final long positives;
    final long negatives;
    final ScoreDirection direction;

    private RankedScores(double[] thresholds, long[] tp, long[] fp, long positives, long negatives,
                         ScoreDirection direction) {
        this.thresholds = thresholds;
        this.truePositives = tp;
        this.falsePositives = fp;
        this.positives = positives;
        this.negatives = negatives;
        this.direction = direction;
    }

    /** All pairs; the arguments must already be checked. */
    static RankedScores of(double[] scores, boolean[] same, ScoreDirection direction) {
        return of(scores, same, direction, null);
    }

    /**
     * The pairs at {@code indices} (all pairs when null). Sorts the same and the different similarities separately
     * with the primitive sort, then merges them, so nothing is boxed.
     */
    static RankedScores of(double[] scores, boolean[] same, ScoreDirection direction, int[] indices) {
        int n = indices == null ? scores.length : indices.length;
        int p = 0;
        for (int t = 0; t < n; t++) {
            if (same[indices == null ? t : indices[t]]) {
                p++;
            }
        }
        double[] pos = new double[p];
        double[] neg = new double[n - p];
        int ip = 0;
        int in = 0;
        for (int t = 0; t < n; t++) {
            int i = indices == null ? t : indices[t];
            double s = direction.similarity(scores[i]);
            if (same[i]) {
                pos[ip++] = s;
            } else {
                neg[in++] = s;
            }
        }
        // Ascending sort; walking from the end gives most alike first.
        Arrays.sort(pos);
        Arrays.sort(neg);
        double[] thr = new double[n];
        long[] tp = new long[n];
        long[] fp = new long[n];
        int a = pos.length - 1;
        int b = neg.length - 1;
        int m = 0;
        long tpCount = 0;
        long fpCount = 0;
        while (a >= 0 || b >= 0) {
            double s = Math.max(a >= 0 ? pos[a] : Double.NEGATIVE_INFINITY, b >= 0 ? neg[b] : Double.NEGATIVE_INFINITY);
            while (a >= 0 && pos[a] == s) {
                a--;
                tpCount++;
            }
            while (b >= 0 && neg[b] == s) {
                b--;
                fpCount++;
            }
            thr[m] = direction.score(s);
            tp[m] = tpCount;
            fp[m] = fpCount;
            m++;
        }
        return new RankedScores(Arrays.copyOf(thr, m), Arrays.copyOf(tp, m), Arrays.copyOf(fp, m), p, n - p,
                direction);
    }

    int size() {
        return thresholds.length;
    }

    /**
     * The threshold that maximises accuracy, as {@code {index, correct}}: index -1 means "accept nothing". Ties in
     * accuracy keep the strictest threshold (lowest false-accept count), so the choice is deterministic.
     */
    long[] bestAccuracy() {
        long bestCorrect = negatives;     // accept nothing: every different pair is right
        int best = -1;
        for (int k = 0; k < thresholds.length; k++) {
            long correct = truePositives[k] + negatives - falsePositives[k];
            if (correct > bestCorrect) {
                bestCorrect = correct;
                best = k;
            }
        }
        return new long[] {best, bestCorrect};
    }

    /**
     * A threshold that accepts exactly the scores of thresholds 0..k: the midpoint between threshold k and the next
     * distinct score (a margin on both sides, so held-out pairs near the boundary are not decided by which side of
     * a training score they fall), the last score itself when k accepts everything, and an infinite threshold that
     * accepts nothing when k is -1.
     */
    double separatingThreshold(int k) {
        if (k < 0) {
            return direction.acceptNothing();
        }
        if (k == thresholds.length - 1) {
            return thresholds[k];
        }
        double lo = thresholds[k];
        double hi = thresholds[k + 1];
        double mid = lo / 2 + hi / 2;      // halves first: no overflow near Double.MAX_VALUE
        // Adjacent doubles can round the midpoint onto the next score, which would then be accepted.
        return direction.accepts(hi, mid) ? lo : mid;
    }
}
