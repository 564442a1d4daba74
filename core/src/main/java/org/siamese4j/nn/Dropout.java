package org.siamese4j.nn;

import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Inverted dropout: in training mode each element is zeroed with probability p and the survivors are scaled
 * by 1/(1-p); in evaluation mode it is the identity. The masks are drawn from the given {@link Rng}.
 */
public final class Dropout extends Module {
    private final float p;
    private final Rng rng;

    public Dropout(float p, Rng rng) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("Dropout: probability must be in [0, 1], got " + p);
        }
        if (rng == null) {
            throw new IllegalArgumentException("Dropout: rng is null");
        }
        this.p = p;
        this.rng = rng;
    }

    @Override
    public Tensor forward(Tensor input) {
        return Functional.dropout(input, p, isTraining(), rng);
    }

    public float p() {
        return p;
    }

    @Override
    protected String extraRepr() {
        return "p=" + py(p);
    }
}
