package org.siamese4j.nn;

import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Tensor;

/**
 * {@code x / max(||x||_2, eps)} along {@code dim} (PyTorch's {@code F.normalize} as a layer): puts embeddings
 * on the unit sphere, so distances between them are bounded.
 */
public final class L2Normalize extends Module {
    private final int dim;
    private final float eps;

    /** Along dimension 1 with eps 1e-12, PyTorch's defaults. */
    public L2Normalize() {
        this(1, 1e-12f);
    }

    public L2Normalize(int dim, float eps) {
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException("L2Normalize: eps must be positive and finite, got " + eps);
        }
        this.dim = dim;
        this.eps = eps;
    }

    @Override
    public Tensor forward(Tensor input) {
        return Functional.l2Normalize(input, dim, eps);
    }

    /** The dimension normalised (negative counts from the end). */
    public int dim() {
        return dim;
    }

    public float eps() {
        return eps;
    }

    @Override
    protected String extraRepr() {
        return "dim=" + dim + ", eps=" + py(eps);
    }
}
