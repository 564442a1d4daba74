package org.siamese4j.nn;

import org.siamese4j.tensor.Tensor;

/** 1 / (1 + exp(-x)) elementwise. */
public final class Sigmoid extends Module {
    @Override
    public Tensor forward(Tensor input) {
        return input.sigmoid();
    }
}
