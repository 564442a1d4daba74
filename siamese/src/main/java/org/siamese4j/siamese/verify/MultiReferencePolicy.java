package org.siamese4j.siamese.verify;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.siamese4j.siamese.metrics.ScoreDirection;

/**
 * How a probe image is decided against several reference images of one person (see
 * {@link Verifier#verifyAgainst(org.siamese4j.siamese.data.GrayImage, List, MultiReferencePolicy)}). Each reference
 * is scored against the probe and compared with the verifier's single-pair threshold; then two rules combine the
 * scores, and {@link #rule()} says which one gives the overall answer. Both are always computed and reported, so an
 * application can log the other one or switch rules without scoring again.
 *
 * <ul>
 *   <li>{@link Rule#FRACTION}: accept when the fraction of references whose score passes the threshold is <b>at
 *       least</b> {@link #fraction()} ({@code passing / n >= fraction}). This is the common webcam-verifier recipe
 *       (a few dozen photos of the owner, a per-image threshold, and a share of them that must match). It counts
 *       votes, so one bad reference photo (blurred, another lighting) costs one vote and no more.</li>
 *   <li>{@link Rule#MEAN_SCORE}: accept when the mean score over the references passes the threshold. It uses the
 *       margins, not only which side of the threshold each score fell: three references just past the threshold
 *       and one very close can still accept, but one far-off reference photo pulls the mean with it.</li>
 * </ul>
 *
 * <h2>Why "at least" and (0, 1]</h2>
 * With {@code >=} the valid fractions are exactly (0, 1]: 1 means every reference must pass, and a small fraction
 * means "any one reference". A fraction of 0 would accept a probe that matches no reference, so it is refused. The
 * recipe is often written with a strict {@code >}; with n references, "more than f" is "at least the next multiple
 * of 1/n above f" (with 50 references, "more than 0.5" is {@code fraction(26 / 50.0)}).
 *
 * <p>The comparison is {@code (double) passing / n >= fraction}. Division is correctly rounded, so {@code 3 / 5.0}
 * is the double nearest to 3/5, the same double as the literal {@code 0.6}: a fraction written as a decimal or as
 * {@code k / (double) n} that equals an attainable share is met by exactly that share, with no rounding surprise
 * at the boundary.
 *
 * @param rule     which rule gives the overall decision
 * @param fraction the share of references that must pass for the fraction rule, in (0, 1]; it is used for the
 *                 reported fraction decision even when {@code rule} is {@link Rule#MEAN_SCORE}
 */
public record MultiReferencePolicy(Rule rule, double fraction) {

    /** The fraction used when none is given: at least half of the references must pass. */
    public static final double DEFAULT_FRACTION = 0.5;

    /** Which rule gives a {@link MultiReferenceVerification}'s overall decision. */
    public enum Rule {
        /** At least {@link MultiReferencePolicy#fraction()} of the references pass the threshold. */
        FRACTION("fraction"),
        /** The mean score over the references passes the threshold. */
        MEAN_SCORE("mean");

        private final String token;

        Rule(String token) {
            this.token = token;
        }

        /** The rule's name on a command line or in a configuration file: {@code fraction} or {@code mean}. */
        public String token() {
            return token;
        }

        /**
         * The rule named {@code token} (case-insensitive).
         *
         * @throws IllegalArgumentException naming the token and the valid choices
         */
        public static Rule parse(String token) {
            Objects.requireNonNull(token, "MultiReferencePolicy.Rule.parse: token is null");
            String t = token.trim().toLowerCase(Locale.ROOT);
            List<String> valid = new ArrayList<>();
            for (Rule r : values()) {
                if (r.token.equals(t)) {
                    return r;
                }
                valid.add(r.token);
            }
            throw new IllegalArgumentException("unknown multi-reference rule '" + Verifier.shorten(token)
                    + "'; expected one of " + String.join(", ", valid));
        }
    }

    public MultiReferencePolicy {
        if (rule == null) {
            throw new IllegalArgumentException("MultiReferencePolicy: rule is null; expected FRACTION or MEAN_SCORE");
        }
        if (!(fraction > 0 && fraction <= 1)) {
            throw new IllegalArgumentException("MultiReferencePolicy: the fraction of references that must pass "
                    + "must be in (0, 1], got " + fraction + " (1 = every reference; 0 would accept a probe that "
                    + "matches no reference)");
        }
    }

    /** Decide by the fraction rule: accept when at least {@code fraction} of the references pass. */
    public static MultiReferencePolicy fraction(double fraction) {
        return new MultiReferencePolicy(Rule.FRACTION, fraction);
    }

    /**
     * Decide by the mean score; the fraction decision is still reported, at {@value #DEFAULT_FRACTION} (change it
     * with {@link #withFraction}).
     */
    public static MultiReferencePolicy meanScore() {
        return new MultiReferencePolicy(Rule.MEAN_SCORE, DEFAULT_FRACTION);
    }

    /** This policy with another fraction. */
    public MultiReferencePolicy withFraction(double newFraction) {
        return new MultiReferencePolicy(rule, newFraction);
    }

    /** This policy deciding by another rule, same fraction. */
    public MultiReferencePolicy withRule(Rule newRule) {
        return new MultiReferencePolicy(newRule, fraction);
    }

    /**
     * Applies this policy to scores already computed, one per reference: the arithmetic behind every
     * {@code verifyAgainst}, open to any score with a direction (distances, or a learned head's P(same)). References
     * are named {@code reference 0}, {@code reference 1}, ...
     *
     * @param scores    the probe's score against each reference, in reference order; at least one, none NaN
     * @param direction which end of the scores means "same"
     * @param threshold the single-pair decision threshold, in the scores' units (a score passes when
     *                  {@code direction.accepts(score, threshold)}, ties passing); not NaN
     */
    public MultiReferenceVerification decide(double[] scores, ScoreDirection direction, double threshold) {
        Objects.requireNonNull(scores, "MultiReferencePolicy.decide: scores is null");
        List<String> names = new ArrayList<>(scores.length);
        for (int i = 0; i < scores.length; i++) {
            names.add("reference " + i);
        }
        return decide(names, scores, direction, threshold);
    }

    /**
     * As {@link #decide(double[], ScoreDirection, double)}, with a name for each reference (e.g. its file), kept in
     * the result for messages.
     */
    public MultiReferenceVerification decide(List<String> names, double[] scores, ScoreDirection direction,
                                             double threshold) {
        Objects.requireNonNull(names, "MultiReferencePolicy.decide: names is null");
        Objects.requireNonNull(scores, "MultiReferencePolicy.decide: scores is null");
        Objects.requireNonNull(direction, "MultiReferencePolicy.decide: direction is null");
        if (scores.length == 0) {
            throw new IllegalArgumentException("MultiReferencePolicy.decide: no reference scores; verification "
                    + "against references needs at least one reference image of the person");
        }
        if (names.size() != scores.length) {
            throw new IllegalArgumentException("MultiReferencePolicy.decide: " + names.size() + " names but "
                    + scores.length + " scores");
        }
        if (Double.isNaN(threshold)) {
            throw new IllegalArgumentException("MultiReferencePolicy.decide: the threshold is NaN");
        }
        List<MultiReferenceVerification.ReferenceScore> refs = new ArrayList<>(scores.length);
        int passing = 0;
        double sum = 0;
        for (int i = 0; i < scores.length; i++) {
            double s = scores[i];
            if (Double.isNaN(s)) {
                throw new IllegalArgumentException("MultiReferencePolicy.decide: the score of " + names.get(i)
                        + " (index " + i + ") is NaN");
            }
            boolean passes = direction.accepts(s, threshold);
            if (passes) {
                passing++;
            }
            sum += s;
            refs.add(new MultiReferenceVerification.ReferenceScore(i, String.valueOf(names.get(i)), s, passes));
        }
        double share = (double) passing / scores.length;
        double mean = sum / scores.length;
        boolean byFraction = share >= fraction;
        boolean byMean = direction.accepts(mean, threshold);
        return new MultiReferenceVerification(refs, passing, share, mean, byFraction, byMean,
                rule == Rule.FRACTION ? byFraction : byMean, this, threshold, direction);
    }

    @Override
    public String toString() {
        return rule == Rule.FRACTION ? "at least " + fraction + " of the references pass"
                : "mean score passes (fraction " + fraction + " reported)";
    }
}
