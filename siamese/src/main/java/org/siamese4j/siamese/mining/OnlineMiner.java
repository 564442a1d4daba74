package org.siamese4j.siamese.mining;

import org.siamese4j.tensor.Tensor;

/**
 * Picks triplets inside one batch from the batch's pairwise distance matrix (online mining, as in FaceNet and
 * "In Defense of the Triplet Loss"). The caller computes the embeddings and the matrix with the current model,
 * mines, then gathers the chosen rows for the loss; the miner itself only compares numbers.
 *
 * <p>Indices in the returned {@link Triplets} are rows of the matrix. Every returned triplet is valid:
 * {@code a != p}, {@code label(p) == label(a)}, {@code label(n) != label(a)}. Anchors for which no valid triplet
 * exists (an identity with a single image in the batch, or a batch of a single identity) produce nothing, so the
 * result may be empty; the loss must handle an empty set (e.g. loss 0) rather than divide by zero.
 *
 * <p>Output order is deterministic: by anchor, then positive, then negative (ascending row index), whatever the
 * miner. The matrix need not be symmetric: only rows of anchors are read, {@code d(a,x) = dist[a * n + x]}.
 */
public interface OnlineMiner {

    /**
     * Mines triplets from a row-major {@code n x n} distance matrix.
     *
     * @param dist   {@code dist[i * n + j] = d(i, j)}; must hold no NaN (infinities are allowed)
     * @param n      batch size
     * @param labels identity of each row, length {@code n} (any int values; only equality matters)
     * @param margin margin of the triplet loss, finite and >= 0 (miners whose selection does not depend on it only
     *               validate it)
     * @throws IllegalArgumentException if the sizes disagree, the matrix holds NaN or the margin is invalid
     */
    Triplets mine(float[] dist, int n, int[] labels, float margin);

    /**
     * Mines from a square [N, N] distance tensor. Its values are read directly; nothing is recorded for autograd
     * (the selection is not differentiable; compute the loss on the chosen triplets afterwards).
     */
    default Triplets mine(Tensor dist, int[] labels, float margin) {
        float[] data = MiningChecks.squareData(getClass().getSimpleName() + ".mine", dist);
        return mine(data, dist.dim(0), labels, margin);
    }
}
