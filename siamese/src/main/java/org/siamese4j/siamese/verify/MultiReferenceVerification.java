package org.siamese4j.siamese.verify;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.siamese4j.siamese.metrics.ScoreDirection;

/**
 * The answer of {@link Verifier#verifyAgainst(org.siamese4j.siamese.data.GrayImage, List, MultiReferencePolicy)}:
 * a probe scored against several reference images of one person, each reference's decision at the single-pair
 * threshold, and the decisions of both multi-reference rules ({@link MultiReferencePolicy}).
 *
 * <p>Scores carry a direction rather than being distances, so the same result describes a distance model
 * ({@link ScoreDirection#LOWER_IS_SAME}: a reference passes when {@code score <= threshold}) and a model whose score
 * is a probability of "same" ({@link ScoreDirection#HIGHER_IS_SAME}: {@code score >= threshold}). Ties pass.
 *
 * @param references     each reference's score and decision, in the order the references were given
 * @param passing        how many references pass the threshold
 * @param fractionPassing {@code passing / references.size()}
 * @param meanScore      the mean score over the references
 * @param sameByFraction whether {@code fractionPassing >= policy.fraction()}
 * @param sameByMean     whether {@code meanScore} passes the threshold
 * @param same           the policy's overall decision: {@code sameByFraction} or {@code sameByMean}, as
 *                       {@code policy.rule()} says
 * @param policy         the policy applied
 * @param threshold      the single-pair threshold the scores were compared with, in the scores' units
 * @param direction      which end of the scores means "same"
 */
public record MultiReferenceVerification(List<ReferenceScore> references, int passing, double fractionPassing,
                                         double meanScore, boolean sameByFraction, boolean sameByMean, boolean same,
                                         MultiReferencePolicy policy, double threshold, ScoreDirection direction) {

    /**
     * One reference's part in the decision.
     *
     * @param index  its position among the references (0-based)
     * @param name   its file, or {@code reference <index>} for an image or embedding given in memory
     * @param score  the probe's score against it (a distance for a distance model)
     * @param passes whether the score passes the threshold on its own
     */
    public record ReferenceScore(int index, String name, double score, boolean passes) {
    }

    public MultiReferenceVerification {
        Objects.requireNonNull(references, "MultiReferenceVerification: references is null");
        Objects.requireNonNull(policy, "MultiReferenceVerification: policy is null");
        Objects.requireNonNull(direction, "MultiReferenceVerification: direction is null");
        if (references.isEmpty()) {
            throw new IllegalArgumentException("MultiReferenceVerification: no references");
        }
        references = List.copyOf(references);
    }

    /** The number of references. */
    public int size() {
        return references.size();
    }

    /** The scores alone, in reference order (a copy). */
    public double[] scores() {
        double[] out = new double[references.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = references.get(i).score();
        }
        return out;
    }

    /** The best score over the references (the smallest distance, or the largest probability). */
    public double bestScore() {
        double best = references.get(0).score();
        for (ReferenceScore r : references) {
            best = direction == ScoreDirection.LOWER_IS_SAME ? Math.min(best, r.score()) : Math.max(best, r.score());
        }
        return best;
    }

    /**
     * One line for a person, e.g. {@code same by fraction: 3 of 5 references pass score <= 0.5 (share 0.6 >= 0.5:
     * same); mean score 0.46 (<= 0.5: same)}.
     */
    @Override
    public String toString() {
        String cmp = direction == ScoreDirection.LOWER_IS_SAME ? "<=" : ">=";
        String meanCmp = sameByMean ? cmp : (direction == ScoreDirection.LOWER_IS_SAME ? ">" : "<");
        return String.format(Locale.ROOT, "%s by %s: %d of %d references pass score %s %.4f (share %.4f %s %s: %s); "
                        + "mean score %.4f (%s %.4f: %s)",
                word(same), policy.rule().token(), passing, references.size(), cmp, threshold, fractionPassing,
                sameByFraction ? ">=" : "<", policy.fraction(), word(sameByFraction), meanScore, meanCmp, threshold,
                word(sameByMean));
    }

    private static String word(boolean same) {
        return same ? "same" : "different";
    }
}
