package org.siamese4j.siamese.loss;

import java.util.Objects;
import org.siamese4j.tensor.Tensor;

/**
 * How a loss turns its per-term values (one per pair, triplet or anchor) into the scalar that is trained.
 *
 * <p>A term is <em>active</em> when its value is non-zero: a hinge term past its margin is exactly 0 and
 * contributes no gradient, so averaging over every term lets the loss shrink as the easy terms pile up, while
 * averaging over the active ones keeps the gradient of the hard terms at full strength (the "batch all"
 * recipe of Hermans et al. 2017). A set with no terms at all reduces to 0 under every reduction, still
 * connected to the graph (its gradient is 0), so {@code backward()} works on it.
 */
public enum Reduction {
    /** {@code sum(terms) / T} over all T terms. */
    MEAN,
    /**
     * {@code sum(terms) / A} over the A active (non-zero) terms, and 0 (not 0/0 = NaN) when none is active.
     * A is a count taken from the values, a constant for autograd: the gradient is that of the sum divided
     * by A.
     */
    MEAN_NONZERO,
    /** {@code sum(terms)}. */
    SUM;

    /**
     * Reduces {@code terms} (any shape; usually [T]) to a scalar tensor, differentiable in the terms.
     */
    public Tensor reduce(Tensor terms) {
        Objects.requireNonNull(terms, "reduce: terms must not be null");
        if (terms.size() == 0) {
            return terms.sum();
        }
        return switch (this) {
            case MEAN -> terms.mean();
            case MEAN_NONZERO -> terms.sum().div(Math.max(1, activeCount(terms.data())));
            case SUM -> terms.sum();
        };
    }

    /** How many of {@code values} are non-zero. */
    static int activeCount(float[] values) {
        int active = 0;
        for (float v : values) {
            if (v != 0f) {
                active++;
            }
        }
        return active;
    }
}
