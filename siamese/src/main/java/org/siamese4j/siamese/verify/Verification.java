package org.siamese4j.siamese.verify;

import org.siamese4j.siamese.Distance;

/**
 * The answer of {@link Verifier#verify}: the distance between the two embeddings, the decision, and the threshold
 * it was taken at.
 *
 * @param distance  the distance between the embeddings (smaller = more alike)
 * @param same      whether the two images are declared the same person: {@code distance <= threshold}
 * @param threshold the threshold used
 * @param metric    the distance used
 */
public record Verification(double distance, boolean same, double threshold, Distance metric) {
}
