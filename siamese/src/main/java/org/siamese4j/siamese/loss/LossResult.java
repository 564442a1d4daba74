package org.siamese4j.siamese.loss;

import java.util.Objects;
import org.siamese4j.tensor.Tensor;

/**
 * What a metric-learning loss computed on one batch.
 *
 * @param loss           the reduced loss, a scalar tensor to call {@code backward()} on
 * @param terms          the value of every term (pair, triplet or anchor) before reduction, in input order; the
 *                       record keeps a copy and hands out copies
 * @param activeFraction the fraction of terms that are non-zero (still produce a gradient), in [0, 1]; 0 when
 *                       there are no terms. A hinge loss whose active fraction drops towards 0 has run out of
 *                       informative pairs: time for harder mining or a larger margin.
 */
public record LossResult(Tensor loss, float[] terms, double activeFraction) {

    public LossResult {
        Objects.requireNonNull(loss, "LossResult: loss must not be null");
        Objects.requireNonNull(terms, "LossResult: terms must not be null");
        if (loss.size() != 1) {
            throw new IllegalArgumentException("LossResult: the loss must be a scalar, got " + loss.describe());
        }
        if (!(activeFraction >= 0 && activeFraction <= 1)) {
            throw new IllegalArgumentException("LossResult: activeFraction must be in [0, 1], got " + activeFraction);
        }
        terms = terms.clone();
    }

    /** Reduces a [T] tensor of terms and records its values and active fraction. */
    public static LossResult of(Tensor terms, Reduction reduction) {
        Objects.requireNonNull(reduction, "LossResult.of: reduction must not be null");
        Tensor loss = reduction.reduce(terms);
        float[] values = terms.toArray();
        double fraction = values.length == 0 ? 0.0 : (double) Reduction.activeCount(values) / values.length;
        return new LossResult(loss, values, fraction);
    }

    /** A copy of the per-term values. */
    @Override
    public float[] terms() {
        return terms.clone();
    }

    /** The loss value as a plain number. */
    public float value() {
        return loss.item();
    }

    /** The number of terms. */
    public int termCount() {
        return terms.length;
    }

    /** The number of non-zero terms. */
    public int activeCount() {
        return Reduction.activeCount(terms);
    }

    @Override
    public String toString() {
        return "LossResult[loss=" + loss.item() + ", terms=" + terms.length + ", activeFraction=" + activeFraction
                + "]";
    }
}
