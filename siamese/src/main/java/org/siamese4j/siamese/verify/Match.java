package org.siamese4j.siamese.verify;

import java.util.Objects;
import java.util.Optional;
import org.siamese4j.siamese.metrics.ScoreDirection;

/**
 * The answer of {@link Gallery#identify}: the enrolled person most alike to the probe, their score, and whether that
 * score passes the threshold. For a distance model the score is a distance ({@link #distance()}, the smallest
 * wins); for a model with a learned similarity head it is P(same) (the largest wins).
 *
 * @param nearest   the enrolled person most alike to the probe; null when the gallery is empty
 * @param score     the score against {@code nearest} (the best over their stored embeddings): the smallest distance
 *                  or the largest P(same); when the gallery is empty, the end that matches nothing
 *                  ({@code +Infinity} for a distance, {@code -Infinity} for P(same))
 * @param threshold the verifier's threshold the score was compared with
 * @param known     whether the score passes the threshold: the probe is identified as {@code nearest}; otherwise
 *                  it is unknown
 * @param direction which end of the score means "same"
 */
public record Match(String nearest, double score, double threshold, boolean known, ScoreDirection direction) {

    /** What {@link #label()} says for a probe matching nobody. */
    public static final String UNKNOWN = "unknown";

    public Match {
        Objects.requireNonNull(direction, "Match: direction is null");
    }

    /** A distance model's answer: the nearest person at {@code distance}. */
    public Match(String nearest, double distance, double threshold, boolean known) {
        this(nearest, distance, threshold, known, ScoreDirection.LOWER_IS_SAME);
    }

    /**
     * The distance to {@code nearest}, for a distance model (the {@link #score()}).
     *
     * @throws IllegalStateException for a head model, whose score is P(same), not a distance
     */
    public double distance() {
        if (direction != ScoreDirection.LOWER_IS_SAME) {
            throw new IllegalStateException("Match.distance: this answer is from a model with a learned similarity "
                    + "head; its score() is P(same) (higher is more alike), not a distance");
        }
        return score;
    }

    /** The identified person, or empty when the probe is unknown. */
    public Optional<String> identity() {
        return known ? Optional.of(nearest) : Optional.empty();
    }

    /** The identified person's name, or {@value #UNKNOWN}. */
    public String label() {
        return known ? nearest : UNKNOWN;
    }
}
