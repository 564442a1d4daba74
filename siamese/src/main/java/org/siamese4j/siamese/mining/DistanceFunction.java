package org.siamese4j.siamese.mining;

/**
 * Measures pairs of examples with the current model, for offline triplet selection: entry i of the result is
 * {@code d(anchors[i], others[i])}. A trainer implements it by embedding the images (under
 * {@link org.siamese4j.tensor.Tensor#noGrad()}) and taking the same distance as its loss; tests implement it with
 * plain arithmetic, so the selection logic is testable without a model.
 *
 * <p>The arrays passed in are the implementation's to keep; the result must have one finite or infinite (never NaN)
 * value per pair.
 */
@FunctionalInterface
public interface DistanceFunction {
    float[] distances(int[] anchors, int[] others);
}
