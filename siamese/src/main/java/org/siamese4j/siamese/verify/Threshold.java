package org.siamese4j.siamese.verify;

import java.util.Locale;
import org.siamese4j.siamese.metrics.ScoreDirection;

/**
 * A verifier's decision threshold on its pair score, with how it was chosen and what it did on the pairs it was
 * chosen on. For a distance model a pair is the same person when {@code distance <= value}; for a model with a
 * learned similarity head, when {@code P(same) >= value} ({@link #accepts(double, ScoreDirection)}). Stored in the
 * model file's metadata (see {@link Verifier}).
 *
 * @param value     the threshold, in the units of the verifier's score; may be infinite (a target FAR so low that
 *                  nothing can be accepted: {@code -Infinity} for a distance, {@code Infinity} for P(same)), never
 *                  NaN
 * @param kind      how it was chosen
 * @param targetFar the requested false-accept rate for {@link Kind#TARGET_FAR}, NaN otherwise
 * @param tar       true-accept rate on the calibration pairs (NaN when unknown or there were no same pairs)
 * @param far       false-accept rate on the calibration pairs (NaN when unknown or there were no different pairs)
 * @param accuracy  fraction of calibration pairs decided correctly (NaN when unknown)
 * @param pairs     number of calibration pairs (0 for a manual threshold)
 */
public record Threshold(double value, Kind kind, double targetFar, double tar, double far, double accuracy,
                        long pairs) {

    /** How a threshold was chosen; {@link #token()} is its {@code threshold_kind} metadata value. */
    public enum Kind {
        /** Set by hand ({@link Verifier#withThreshold}). */
        MANUAL("manual"),
        /** The most accepting threshold with a false-accept rate at most a target on the calibration pairs. */
        TARGET_FAR("target_far"),
        /** The threshold deciding the most calibration pairs correctly. */
        BEST_ACCURACY("best_accuracy");

        private final String token;

        Kind(String token) {
            this.token = token;
        }

        public String token() {
            return token;
        }

        /** The kind whose token is {@code token}, or null. */
        static Kind byToken(String token) {
            for (Kind k : values()) {
                if (k.token.equals(token)) {
                    return k;
                }
            }
            return null;
        }
    }

    public Threshold {
        if (Double.isNaN(value)) {
            throw new IllegalArgumentException("Threshold: value must be a number or an infinity, got NaN");
        }
        if (kind == null) {
            throw new IllegalArgumentException("Threshold: kind is null");
        }
        if (pairs < 0) {
            throw new IllegalArgumentException("Threshold: pairs must be >= 0, got " + pairs);
        }
    }

    /** A threshold set by hand. */
    public static Threshold manual(double value) {
        return new Threshold(value, Kind.MANUAL, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0);
    }

    /** Whether a pair at this distance is declared the same person (ties are accepted): {@code distance <= value}. */
    public boolean accepts(double distance) {
        return distance <= value;
    }

    /**
     * Whether a pair with this score is declared the same person, for scores with {@code direction} (ties are
     * accepted): {@code score <= value} for distances, {@code score >= value} for a head's P(same).
     */
    public boolean accepts(double score, ScoreDirection direction) {
        return direction.accepts(score, value);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("threshold ").append(String.format(Locale.ROOT, "%.4f", value))
                .append(" (").append(kind.token());
        if (kind == Kind.TARGET_FAR) {
            sb.append(' ').append(targetFar);
        }
        if (pairs > 0) {
            sb.append(String.format(Locale.ROOT, "; on %d calibration pairs TAR %.4f, FAR %.4f, accuracy %.4f",
                    pairs, tar, far, accuracy));
        }
        return sb.append(')').toString();
    }
}
