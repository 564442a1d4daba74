package org.siamese4j.siamese.mining;

import org.siamese4j.tensor.Tensor;

/**
 * How many triplets of a set are easy, semi-hard and hard (see {@link TripletKind} for the boundaries).
 * Fractions of an empty set are 0, never NaN.
 */
public record TripletStats(int easy, int semiHard, int hard) {

    public TripletStats {
        if (easy < 0 || semiHard < 0 || hard < 0) {
            throw new IllegalArgumentException("TripletStats: counts must be >= 0, got easy " + easy + ", semi-hard "
                    + semiHard + ", hard " + hard);
        }
    }

    /** Classifies triplet i by {@code dAP[i] = d(a,p)} and {@code dAN[i] = d(a,n)}. */
    public static TripletStats of(float[] dAP, float[] dAN, float margin) {
        MiningChecks.checkMargin("TripletStats.of", margin);
        if (dAP == null || dAN == null) {
            throw new IllegalArgumentException("TripletStats.of: distance arrays must not be null");
        }
        if (dAP.length != dAN.length) {
            throw new IllegalArgumentException("TripletStats.of: " + dAP.length + " anchor-positive distances but "
                    + dAN.length + " anchor-negative distances");
        }
        int[] counts = new int[3];
        for (int i = 0; i < dAP.length; i++) {
            if (Float.isNaN(dAP[i]) || Float.isNaN(dAN[i])) {
                throw new IllegalArgumentException("TripletStats.of: distance of triplet " + i + " is NaN (d(a,p) = "
                        + dAP[i] + ", d(a,n) = " + dAN[i] + ")");
            }
            counts[TripletKind.classifyUnchecked(dAP[i], dAN[i], margin).ordinal()]++;
        }
        return fromCounts(counts);
    }

    /** Classifies {@code triplets} whose indices are rows/columns of the row-major n x n matrix {@code dist}. */
    public static TripletStats of(Triplets triplets, float[] dist, int n, float margin) {
        MiningChecks.checkMargin("TripletStats.of", margin);
        if (triplets == null) {
            throw new IllegalArgumentException("TripletStats.of: triplets must not be null");
        }
        if (dist == null) {
            throw new IllegalArgumentException("TripletStats.of: distance matrix must not be null");
        }
        if (n < 0 || (long) n * n != dist.length) {
            throw new IllegalArgumentException("TripletStats.of: distance matrix has " + dist.length
                    + " values but n = " + n + " needs n x n = " + (long) n * n);
        }
        int[] counts = new int[3];
        for (int i = 0; i < triplets.size(); i++) {
            int a = triplets.anchor(i);
            int p = triplets.positive(i);
            int q = triplets.negative(i);
            if (a >= n || p >= n || q >= n) {
                throw new IllegalArgumentException("TripletStats.of: triplet " + i + " (" + a + ", " + p + ", " + q
                        + ") has an index outside the " + n + " x " + n + " distance matrix");
            }
            float dAP = dist[a * n + p];
            float dAN = dist[a * n + q];
            if (Float.isNaN(dAP) || Float.isNaN(dAN)) {
                throw new IllegalArgumentException("TripletStats.of: distance of triplet " + i + " is NaN (d(a,p) = "
                        + dAP + ", d(a,n) = " + dAN + ")");
            }
            counts[TripletKind.classifyUnchecked(dAP, dAN, margin).ordinal()]++;
        }
        return fromCounts(counts);
    }

    /** As {@link #of(Triplets, float[], int, float)} with a square [N, N] tensor (its data is read, no gradient). */
    public static TripletStats of(Triplets triplets, Tensor dist, float margin) {
        float[] data = MiningChecks.squareData("TripletStats.of", dist);
        return of(triplets, data, dist.dim(0), margin);
    }

    private static TripletStats fromCounts(int[] counts) {
        return new TripletStats(counts[TripletKind.EASY.ordinal()], counts[TripletKind.SEMI_HARD.ordinal()],
                counts[TripletKind.HARD.ordinal()]);
    }

    public int total() {
        return Math.addExact(Math.addExact(easy, semiHard), hard);
    }

    public int count(TripletKind kind) {
        return switch (kind) {
            case EASY -> easy;
            case SEMI_HARD -> semiHard;
            case HARD -> hard;
        };
    }

    /** Hard plus semi-hard: the triplets with a positive loss. */
    public int nonEasy() {
        return semiHard + hard;
    }

    /** {@code count(kind) / total()}, or 0 for an empty set. */
    public double fraction(TripletKind kind) {
        return ratio(count(kind));
    }

    public double easyFraction() {
        return ratio(easy);
    }

    public double semiHardFraction() {
        return ratio(semiHard);
    }

    public double hardFraction() {
        return ratio(hard);
    }

    /** {@code nonEasy() / total()}, or 0 for an empty set. */
    public double nonEasyFraction() {
        return ratio(nonEasy());
    }

    private double ratio(int count) {
        int total = total();
        return total == 0 ? 0.0 : (double) count / total;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "TripletStats[%d triplets: easy %d (%.1f%%), semi-hard %d (%.1f%%),"
                + " hard %d (%.1f%%)]", total(), easy, 100 * easyFraction(), semiHard, 100 * semiHardFraction(), hard,
                100 * hardFraction());
    }
}
