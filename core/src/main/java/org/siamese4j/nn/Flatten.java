package org.siamese4j.nn;

import org.siamese4j.tensor.Tensor;

/** Flattens the dimensions from {@code startDim} (default 1) on: [N, C, H, W] becomes [N, C*H*W]. A view. */
public final class Flatten extends Module {
    private final int startDim;

    public Flatten() {
        this(1);
    }

    public Flatten(int startDim) {
        this.startDim = startDim;
    }

    @Override
    public Tensor forward(Tensor input) {
        return input.flatten(startDim);
    }

    /** The first dimension flattened (negative counts from the end). */
    public int startDim() {
        return startDim;
    }

    @Override
    protected String extraRepr() {
        return "start_dim=" + startDim + ", end_dim=-1";
    }
}
