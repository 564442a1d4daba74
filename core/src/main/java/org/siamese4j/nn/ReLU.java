package org.siamese4j.nn;

import org.siamese4j.tensor.Tensor;

/** max(x, 0) elementwise. */
public final class ReLU extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.relu();
    }
}
