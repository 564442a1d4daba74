package org.siamese4j.nn;

import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/** {@link BatchNorm} over x [N, C] (features) or [N, C, L] (sequences): statistics per channel C. */
public final class BatchNorm1d extends BatchNorm {

    /** eps 1e-5, momentum 0.1 (PyTorch's defaults). */
    public BatchNorm1d(int numFeatures) {
        this(numFeatures, 1e-5f, 0.1f);
    }

    public BatchNorm1d(int numFeatures, float eps, float momentum) {
        super("BatchNorm1d", numFeatures, eps, momentum);
    }

    @Override
    void checkRank(Tensor input) {
        if (input.rank() != 2 && input.rank() != 3) {
            throw new IllegalArgumentException(this + ": expected a rank-2 [N, C] or rank-3 [N, C, L] input, got shape "
                    + Shapes.toString(input.shape()));
        }
    }
}
