package org.siamese4j.nn;

import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/** {@link BatchNorm} over images x [N, C, H, W]: statistics per channel over N, H and W. */
public final class BatchNorm2d extends BatchNorm {

    /** eps 1e-5, momentum 0.1 (PyTorch's defaults). */
    public BatchNorm2d(int numFeatures) {
        this(numFeatures, 1e-5f, 0.1f);
    }

    public BatchNorm2d(int numFeatures, float eps, float momentum) {
        super("BatchNorm2d", numFeatures, eps, momentum);
    }

    @Override
    void checkRank(Tensor input) {
        if (input.rank() != 4) {
            throw new IllegalArgumentException(this + ": expected a rank-4 [N, C, H, W] input, got shape "
                    + Shapes.toString(input.shape()));
        }
    }
}
