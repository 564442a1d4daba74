package org.siamese4j.siamese.metrics;

import java.util.Objects;
import java.util.function.ToDoubleBiFunction;
import org.siamese4j.tensor.Rng;

/**
 * The headline numbers of a face verifier in one record, with a JSON form for logs and benchmark files.
 *
 * <p>Any metric that was not measured, or could not be (e.g. TAR at FAR 1e-3 with fewer than 1000 different pairs),
 * is {@code NaN}, written as JSON {@code null}. Pair metrics and identification metrics may come from different
 * data; {@link #evaluate} computes both from one set of embeddings.
 *
 * @param auc             area under the ROC curve
 * @param eer             equal error rate, see {@link RocCurve#eer()}
 * @param accuracy        mean k-fold cross-validated accuracy, see {@link KFoldAccuracy}
 * @param accuracyStd     standard deviation of the fold accuracies
 * @param threshold       mean k-fold threshold, in score units
 * @param tarAtFar1e2     TAR at FAR 1e-2
 * @param tarAtFar1e3     TAR at FAR 1e-3
 * @param oneShotAccuracy N-way one-shot accuracy
 * @param rank1           rank-1 identification accuracy
 * @param positivePairs   number of same pairs the pair metrics used
 * @param negativePairs   number of different pairs the pair metrics used
 */
public record VerificationReport(double auc, double eer, double accuracy, double accuracyStd, double threshold,
                                 double tarAtFar1e2, double tarAtFar1e3, double oneShotAccuracy, double rank1,
                                 long positivePairs, long negativePairs) {

    /**
     * The pair metrics (AUC, EER, 10-fold accuracy and threshold, TAR at FAR 1e-2 and 1e-3) of scored pairs, with
     * identification results measured elsewhere (pass NaN for those not measured). AUC, EER and TAR use every
     * pair. Accuracy only means something on balanced pairs (with all pairs of a face set, 97% of them different,
     * "reject everything" would score 97%), so the 10-fold accuracy and threshold use every pair of the rarer
     * kind and as many of the other, drawn with a fixed seed: the 50/50 mix of the LFW protocol. With fewer than
     * 10 balanced pairs the accuracy, its std and the threshold are NaN (ten folds cannot be filled).
     *
     * @throws IllegalArgumentException as {@link RocCurve#of}: bad pairs, or no same or no different pair
     */
    public static VerificationReport ofPairs(ScoredPairs pairs, double oneShotAccuracy, double rank1) {
        Objects.requireNonNull(pairs, "VerificationReport.ofPairs: pairs is null");
        return ofPairs(pairs.scores(), pairs.same(), pairs.direction(), oneShotAccuracy, rank1);
    }

    /** {@link #ofPairs(ScoredPairs, double, double)} on plain arrays. */
    public static VerificationReport ofPairs(double[] scores, boolean[] same, ScoreDirection direction,
                                             double oneShotAccuracy, double rank1) {
        RocCurve roc = RocCurve.of(scores, same, direction);
        double accuracy = Double.NaN;
        double accuracyStd = Double.NaN;
        double threshold = Double.NaN;
        int[] balanced = balancedSubset(same);
        if (balanced.length >= 10) {
            double[] bScores = new double[balanced.length];
            boolean[] bSame = new boolean[balanced.length];
            for (int i = 0; i < balanced.length; i++) {
                bScores[i] = scores[balanced[i]];
                bSame[i] = same[balanced[i]];
            }
            KFoldAccuracy cv = KFoldAccuracy.tenFold(bScores, bSame, direction);
            accuracy = cv.mean();
            accuracyStd = cv.std();
            threshold = cv.meanThreshold();
        }
        return new VerificationReport(roc.auc(), roc.eer(), accuracy, accuracyStd, threshold,
                roc.tarAtFar(1e-2), roc.tarAtFar(1e-3), oneShotAccuracy, rank1, roc.positives(), roc.negatives());
    }

    /**
     * Indices of all pairs of the rarer kind plus as many of the other kind, picked with a fixed seed, in their
     * original order (so the round-robin folds stay balanced too).
     */
    static int[] balancedSubset(boolean[] same) {
        int positives = 0;
        for (boolean s : same) {
            positives += s ? 1 : 0;
        }
        int negatives = same.length - positives;
        boolean majorityIsSame = positives > negatives;
        int keepOfMajority = Math.min(positives, negatives);
        int[] majority = new int[Math.max(positives, negatives)];
        int m = 0;
        for (int i = 0; i < same.length; i++) {
            if (same[i] == majorityIsSame) {
                majority[m++] = i;
            }
        }
        boolean[] keep = new boolean[same.length];
        for (int i = 0; i < same.length; i++) {
            keep[i] = same[i] != majorityIsSame;
        }
        int[] order = new Rng(0x5A1AL).permutation(majority.length);
        for (int i = 0; i < keepOfMajority; i++) {
            keep[majority[order[i]]] = true;
        }
        int[] out = new int[2 * keepOfMajority];
        int o = 0;
        for (int i = 0; i < same.length; i++) {
            if (keep[i]) {
                out[o++] = i;
            }
        }
        return out;
    }

    /**
     * Everything from embeddings: all pairs scored by {@code distance} ({@link ScoredPairs#all}, O(n^2), for
     * evaluation sets up to a few thousand images), {@code ways}-way one-shot accuracy over {@code trials} trials
     * and leave-one-out rank-1, all with that distance. {@code rng} drives the one-shot draws only.
     */
    public static VerificationReport evaluate(float[][] embeddings, int[] labels, EmbeddingDistance distance,
                                              int ways, int trials, Rng rng) {
        ScoredPairs pairs = ScoredPairs.all(embeddings, labels, distance);
        double oneShot = Identification.nWayOneShot(embeddings, labels, ways, trials, rng, distance);
        double rank1 = Identification.rank1LeaveOneOut(embeddings, labels, distance);
        return ofPairs(pairs, oneShot, rank1);
    }

    /**
     * {@link #evaluate(float[][], int[], EmbeddingDistance, int, int, Rng)} with any pair score, such as a learned
     * similarity head's P(same) ({@link ScoreDirection#HIGHER_IS_SAME}): every pair scored by {@code score} for the
     * ROC, AUC, EER, TAR and the 10-fold accuracy (whose {@link #threshold()} is then in the score's units), and
     * one-shot and rank-1 taking the most alike candidate by that score. With {@code distance::between} and
     * {@link ScoreDirection#LOWER_IS_SAME} it is exactly the distance form.
     */
    public static VerificationReport evaluate(float[][] embeddings, int[] labels,
                                              ToDoubleBiFunction<float[], float[]> score, ScoreDirection direction,
                                              int ways, int trials, Rng rng) {
        ScoredPairs pairs = ScoredPairs.all(embeddings, labels, score, direction);
        double oneShot = Identification.nWayOneShot(embeddings, labels, ways, trials, rng, score, direction);
        double rank1 = Identification.rank1LeaveOneOut(embeddings, labels, score, direction);
        return ofPairs(pairs, oneShot, rank1);
    }

    /**
     * One JSON object on one line, keys {@code auc, eer, accuracy, accuracy_std, threshold, tar_at_far_1e2,
     * tar_at_far_1e3, one_shot_accuracy, rank1, positive_pairs, negative_pairs}. Non-finite numbers (NaN, and the
     * infinite accept-nothing threshold) are written as {@code null}, since JSON has no NaN.
     */
    public String toJson() {
        StringBuilder sb = new StringBuilder(256).append('{');
        field(sb, "auc", auc);
        field(sb, "eer", eer);
        field(sb, "accuracy", accuracy);
        field(sb, "accuracy_std", accuracyStd);
        field(sb, "threshold", threshold);
        field(sb, "tar_at_far_1e2", tarAtFar1e2);
        field(sb, "tar_at_far_1e3", tarAtFar1e3);
        field(sb, "one_shot_accuracy", oneShotAccuracy);
        field(sb, "rank1", rank1);
        sb.append("\"positive_pairs\":").append(positivePairs).append(',');
        sb.append("\"negative_pairs\":").append(negativePairs);
        return sb.append('}').toString();
    }

    private static void field(StringBuilder sb, String key, double value) {
        sb.append('"').append(key).append("\":");
        // Double.toString gives "0.875" or "1.0E-4", both valid JSON numbers.
        sb.append(Double.isFinite(value) ? Double.toString(value) : "null").append(',');
    }
}
