package org.siamese4j.siamese.verify;

import java.util.Objects;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.metrics.ScoreDirection;

/**
 * The answer of {@link Verifier#verify}: the pair's score, the decision, and the threshold it was taken at.
 *
 * <p>For a distance model the score is the distance between the embeddings ({@link ScoreDirection#LOWER_IS_SAME},
 * also read as {@link #distance()}); for a model with a learned similarity head it is the head's P(same)
 * ({@link ScoreDirection#HIGHER_IS_SAME}), and {@link #metric()} is null.
 *
 * @param score     the distance between the embeddings (smaller = more alike), or a head's P(same) (larger = more
 *                  alike)
 * @param same      whether the two images are declared the same person: {@code direction.accepts(score,
 *                  threshold)}, i.e. {@code distance <= threshold} or {@code P(same) >= threshold}
 * @param threshold the threshold used, in the score's units
 * @param metric    the distance used; null for a head model
 * @param direction which end of the score means "same"
 */
public record Verification(double score, boolean same, double threshold, Distance metric, ScoreDirection direction) {

    public Verification {
        Objects.requireNonNull(direction, "Verification: direction is null");
    }

    /** A distance model's answer: {@code distance} scored with {@code metric}. */
    public Verification(double distance, boolean same, double threshold, Distance metric) {
        this(distance, same, threshold, metric, ScoreDirection.LOWER_IS_SAME);
    }

    /**
     * The distance between the embeddings, for a distance model (the {@link #score()}).
     *
     * @throws IllegalStateException for a head model, whose score is P(same), not a distance
     */
    public double distance() {
        if (direction != ScoreDirection.LOWER_IS_SAME) {
            throw new IllegalStateException("Verification.distance: this answer is from a model with a learned "
                    + "similarity head; its score() is P(same) (higher is more alike), not a distance");
        }
        return score;
    }
}
