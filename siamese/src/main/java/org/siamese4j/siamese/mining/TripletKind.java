package org.siamese4j.siamese.mining;

/**
 * How hard a triplet is for the current embedding, given d(a,p), d(a,n) and the margin m of the triplet loss
 * {@code max(0, d(a,p) - d(a,n) + m)}.
 *
 * <p>Boundary convention (the three kinds partition every non-NaN input):
 * <ul>
 *   <li>{@link #HARD}: {@code d(a,n) < d(a,p)}, the negative is strictly closer than the positive;</li>
 *   <li>{@link #SEMI_HARD}: {@code d(a,p) <= d(a,n) < d(a,p) + m}, the negative is not closer but still inside the
 *       margin (a negative exactly as far as the positive is semi-hard: its loss is m);</li>
 *   <li>{@link #EASY}: {@code d(a,n) >= d(a,p) + m}, the loss is zero.</li>
 * </ul>
 * So "non-easy" (hard or semi-hard) is exactly "positive loss". With {@code m = 0} the semi-hard band is empty. The
 * comparisons are made in double precision, where the sum {@code d(a,p) + m} of two floats is exact unless their
 * magnitudes differ by more than 2^29, so rounding that sum to float never moves a triplet across the boundary.
 * (A float loss {@code d(a,p) - d(a,n) + m} may still round to 0 for a triplet within an ulp of the boundary.)
 */
public enum TripletKind {
    EASY,
    SEMI_HARD,
    HARD;

    /**
     * The kind of a triplet with distances {@code dAP = d(a,p)}, {@code dAN = d(a,n)} under margin {@code margin}.
     * Infinite distances are allowed (an infinitely far negative is easy).
     *
     * @throws IllegalArgumentException if a distance is NaN or the margin is negative, infinite or NaN
     */
    public static TripletKind classify(float dAP, float dAN, float margin) {
        MiningChecks.checkMargin("TripletKind.classify", margin);
        if (Float.isNaN(dAP) || Float.isNaN(dAN)) {
            throw new IllegalArgumentException("TripletKind.classify: distances must not be NaN, got d(a,p) = " + dAP
                    + ", d(a,n) = " + dAN);
        }
        return classifyUnchecked(dAP, dAN, margin);
    }

    /** {@link #classify} for already validated inputs (the miners check the whole matrix once). */
    static TripletKind classifyUnchecked(float dAP, float dAN, float margin) {
        if (dAN < dAP) {
            return HARD;
        }
        // double: dAP + margin rounded to float could equal dAN although the real sum is larger (or smaller).
        return (double) dAN < (double) dAP + (double) margin ? SEMI_HARD : EASY;
    }

    /** True for {@link #HARD} and {@link #SEMI_HARD}: the triplet has a positive loss. */
    public boolean isNonEasy() {
        return this != EASY;
    }
}
