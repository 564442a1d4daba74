package org.siamese4j.siamese.metrics;

/**
 * Which end of a pair score means "same identity".
 *
 * <p>Distances (Euclidean, cosine distance) are {@link #LOWER_IS_SAME}; similarities and learned heads that output
 * P(same) are {@link #HIGHER_IS_SAME}. Every metric in this package takes the direction explicitly, so a threshold is
 * always reported in the units of the scores that were given: a pair is accepted as "same" when its score is at
 * least as similar as the threshold, inclusively ({@code score <= threshold} for distances,
 * {@code score >= threshold} for similarities).
 */
public enum ScoreDirection {
    /** Distances: smaller means more alike; accept when {@code score <= threshold}. */
    LOWER_IS_SAME,
    /** Similarities or probabilities of "same": larger means more alike; accept when {@code score >= threshold}. */
    HIGHER_IS_SAME;

    /** Whether a pair with this score is declared "same" at {@code threshold} (ties are accepted). */
    public boolean accepts(double score, double threshold) {
        return this == LOWER_IS_SAME ? score <= threshold : score >= threshold;
    }

    /**
     * The score mapped onto one "higher is more alike" axis, so the internals sort one way only. Negation is exact;
     * adding {@code 0.0} turns {@code -0.0} into {@code 0.0} so that the two zeros form one tie rather than two
     * thresholds (they are distinct to {@link Double#compare}).
     */
    double similarity(double score) {
        return (this == LOWER_IS_SAME ? -score : score) + 0.0;
    }

    /** The inverse of {@link #similarity}: a similarity back in the caller's units. */
    double score(double similarity) {
        return (this == LOWER_IS_SAME ? -similarity : similarity) + 0.0;
    }

    /** A threshold that accepts no finite score. */
    double acceptNothing() {
        return this == LOWER_IS_SAME ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
    }
}
