package org.siamese4j.siamese.verify;

/**
 * How {@link Verifier#calibrate} chooses the decision threshold on a labelled set.
 *
 * @param kind      {@link Threshold.Kind#TARGET_FAR} or {@link Threshold.Kind#BEST_ACCURACY}
 * @param targetFar the false-accept rate not to exceed, in (0, 1], for {@code TARGET_FAR}; NaN otherwise
 */
public record Calibration(Threshold.Kind kind, double targetFar) {

    public Calibration {
        if (kind == null || kind == Threshold.Kind.MANUAL) {
            throw new IllegalArgumentException("Calibration: kind must be TARGET_FAR or BEST_ACCURACY, got " + kind
                    + " (a manual threshold is set with Verifier.withThreshold)");
        }
        if (kind == Threshold.Kind.TARGET_FAR && !(targetFar > 0 && targetFar <= 1)) {
            throw new IllegalArgumentException("Calibration: target FAR must be in (0, 1], got " + targetFar);
        }
        if (kind == Threshold.Kind.BEST_ACCURACY) {
            targetFar = Double.NaN;
        }
    }

    /**
     * The most accepting threshold whose false-accept rate on the calibration pairs is at most {@code far}
     * (e.g. 0.01: at most one impostor pair in a hundred accepted). Needs at least {@code 1/far} different-person
     * pairs.
     */
    public static Calibration targetFar(double far) {
        return new Calibration(Threshold.Kind.TARGET_FAR, far);
    }

    /** The threshold that decides the most calibration pairs correctly (same and different pairs count alike). */
    public static Calibration bestAccuracy() {
        return new Calibration(Threshold.Kind.BEST_ACCURACY, Double.NaN);
    }
}
