package org.siamese4j.siamese.verify;

import java.util.Optional;

/**
 * The answer of {@link Gallery#identify}: the nearest enrolled person, the distance to them, and whether that
 * distance is within the threshold.
 *
 * @param nearest   the enrolled person nearest to the probe; null when the gallery is empty
 * @param distance  the distance to {@code nearest} (the smallest over their stored embeddings); +Infinity when the
 *                  gallery is empty
 * @param threshold the verifier's threshold the distance was compared with
 * @param known     whether {@code distance <= threshold}: the probe is identified as {@code nearest}; otherwise
 *                  it is unknown
 */
public record Match(String nearest, double distance, double threshold, boolean known) {

    /** What {@link #label()} says for a probe matching nobody. */
    public static final String UNKNOWN = "unknown";

    /** The identified person, or empty when the probe is unknown. */
    public Optional<String> identity() {
        return known ? Optional.of(nearest) : Optional.empty();
    }

    /** The identified person's name, or {@value #UNKNOWN}. */
    public String label() {
        return known ? nearest : UNKNOWN;
    }
}
