package org.siamese4j.nn;

import org.siamese4j.tensor.Tensor;

/** Hyperbolic tangent elementwise. */
public final class Tanh extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.tanh();
    }
}
