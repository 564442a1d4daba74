package org.siamese4j.nn;

import org.siamese4j.tensor.Tensor;

/** x for x > 0, slope * x otherwise. */
public final class LeakyReLU extends Module {
    private final float negativeSlope;

    /** Slope 0.01 (PyTorch's default). */
    public LeakyReLU() {
        this(0.01f);
    }

    public LeakyReLU(float negativeSlope) {
        if (!Float.isFinite(negativeSlope)) {
            throw new IllegalArgumentException("LeakyReLU: negative slope must be finite, got " + negativeSlope);
        }
        this.negativeSlope = negativeSlope;
    }

    @Override
    public Tensor forward(Tensor input) {
        return input.leakyRelu(negativeSlope);
    }

    public float negativeSlope() {
        return negativeSlope;
    }

    @Override
    protected String extraRepr() {
        return "negative_slope=" + py(negativeSlope);
    }
}
