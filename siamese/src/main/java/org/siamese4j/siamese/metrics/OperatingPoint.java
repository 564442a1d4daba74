package org.siamese4j.siamese.metrics;

/**
 * A decision threshold and what it does on the pairs it was chosen on.
 *
 * <p>A pair is declared "same" when {@code direction.accepts(score, threshold)}. {@code tar} (true-accept rate,
 * the TPR) is NaN when the pairs held no same pair and {@code far} (false-accept rate, the FPR) is NaN when they held
 * no different pair; {@code accuracy} is the fraction of all pairs decided correctly. An infinite threshold accepts
 * nothing.
 */
public record OperatingPoint(double threshold, ScoreDirection direction, double tar, double far, double accuracy) {

    /** The false-reject rate, {@code 1 - tar}. */
    public double frr() {
        return 1.0 - tar;
    }
}
