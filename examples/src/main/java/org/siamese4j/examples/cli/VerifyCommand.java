package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.verify.MultiReferencePolicy;
import org.siamese4j.siamese.verify.MultiReferenceVerification;
import org.siamese4j.siamese.verify.Verification;
import org.siamese4j.siamese.verify.Verifier;

/**
 * {@code siamese4j verify --model MODEL IMG_A IMG_B}: whether two images show the same person. Prints three
 * {@code key: value} lines (the score, the threshold with what it is on, decision {@code same} or
 * {@code different}); the exit code is 0 for either decision, so a script reads the {@code decision} line. The
 * score of a distance model is its {@code distance} (same when at most the threshold); that of a model with a
 * learned similarity head is the head's P(same), printed as {@code score} (same when at least the threshold).
 *
 * <p>{@code verify --model MODEL --refs DIR IMG}: the image against every reference image of one person in
 * {@code DIR} ({@link Verifier#referenceImages}), one line per reference with its score and whether it passes the
 * single-pair threshold, then both multi-reference rules of {@link MultiReferencePolicy} and the decision of the one
 * chosen with {@code --rule fraction|mean} ({@code --min-fraction F}: the share of references that must pass).
 */
final class VerifyCommand implements Siamese4j.Command {
    static final String USAGE = "verify --model MODEL IMG_A IMG_B, or verify --model MODEL --refs DIR IMG";

    @Override
    public String summary() {
        return "decide whether two images show the same person, or an image against a folder of references";
    }

    @Override
    public Options options() {
        return VerifierCli.withPreprocessingOptions(new Options("verify"))
                .option("model", VerifierCli.MODEL_HELP)
                .option("refs", "a folder of reference images of one person: verify ONE image against all of them")
                .option("rule", "with --refs: fraction (at least --min-fraction of the references pass the "
                        + "threshold) or mean (the mean score passes it) (default fraction)")
                .option("min-fraction", "with --refs: the share of references that must pass for the fraction rule,"
                        + " more than 0 and at most 1 (default " + MultiReferencePolicy.DEFAULT_FRACTION + ")");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        String model = VerifierCli.required(o, "model", USAGE);
        String refs = o.string("refs", null);
        List<String> images = o.positional();
        if (refs == null) {
            if (o.string("rule", null) != null || o.string("min-fraction", null) != null) {
                throw new Options.UsageException("--rule and --min-fraction apply only with --refs DIR (verifying an "
                        + "image against a folder of reference images)");
            }
            if (images.size() != 2) {
                throw new Options.UsageException("give exactly two image files (PGM, PNG, JPEG), got "
                        + images.size() + ": " + USAGE);
            }
        } else if (images.size() != 1) {
            throw new Options.UsageException("with --refs give exactly one image file to verify, got "
                    + images.size() + ": " + USAGE);
        }
        MultiReferencePolicy policy = refs == null ? null : policy(o);
        Verifier verifier = VerifierCli.loadCalibrated(o, model);
        if (refs == null) {
            Verification r = verifier.verify(Path.of(images.get(0)), Path.of(images.get(1)));
            out.println(VerifierCli.scoreKey(verifier) + ": " + VerifierCli.number(r.score()));
            out.println("threshold: " + VerifierCli.number(r.threshold()) + " (" + VerifierCli.scoreKind(verifier)
                    + ")");
            out.println("decision: " + (r.same() ? "same" : "different"));
            return 0;
        }
        MultiReferenceVerification r = verifier.verifyAgainstFolder(Path.of(images.get(0)), Path.of(refs), policy);
        String key = VerifierCli.scoreKey(verifier);
        for (MultiReferenceVerification.ReferenceScore ref : r.references()) {
            out.println("reference " + (ref.index() + 1) + ": " + ref.name() + " " + key + " "
                    + VerifierCli.number(ref.score()) + " " + (ref.passes() ? "passes" : "fails"));
        }
        String cmp = r.direction() == ScoreDirection.LOWER_IS_SAME ? "<=" : ">=";
        String notCmp = r.direction() == ScoreDirection.LOWER_IS_SAME ? ">" : "<";
        out.println("threshold: " + VerifierCli.number(r.threshold()) + " (" + VerifierCli.scoreKind(verifier) + ")");
        out.println(String.format(Locale.ROOT, "fraction: %d of %d references pass = %.6f (%s %s: %s)", r.passing(),
                r.size(), r.fractionPassing(), r.sameByFraction() ? ">=" : "<", policy.fraction(),
                word(r.sameByFraction())));
        out.println(String.format(Locale.ROOT, "mean: %s (%s %s: %s)", VerifierCli.number(r.meanScore()),
                r.sameByMean() ? cmp : notCmp, VerifierCli.number(r.threshold()), word(r.sameByMean())));
        out.println("rule: " + policy.rule().token() + (policy.rule() == MultiReferencePolicy.Rule.FRACTION
                ? " (at least " + policy.fraction() + " of the references must pass)"
                : " (the mean " + key + " must pass the threshold)"));
        out.println("decision: " + word(r.same()));
        return 0;
    }

    /** {@code --rule} and {@code --min-fraction}, with the valid values in the message of a bad one. */
    private static MultiReferencePolicy policy(Options o) {
        String ruleName = o.choice("rule", MultiReferencePolicy.Rule.FRACTION.token(),
                MultiReferencePolicy.Rule.FRACTION.token(), MultiReferencePolicy.Rule.MEAN_SCORE.token());
        MultiReferencePolicy.Rule rule = MultiReferencePolicy.Rule.parse(ruleName);
        String text = o.string("min-fraction", null);
        double fraction = MultiReferencePolicy.DEFAULT_FRACTION;
        if (text != null) {
            try {
                fraction = Double.parseDouble(text.trim());
            } catch (NumberFormatException e) {
                throw new Options.UsageException("--min-fraction expects a number, got '" + text + "'");
            }
            if (!(fraction > 0 && fraction <= 1)) {
                throw new Options.UsageException("--min-fraction " + text + " is out of range; valid: more than 0 "
                        + "and at most 1 (1 = every reference must pass; 0 would accept an image that matches no "
                        + "reference)");
            }
        }
        return new MultiReferencePolicy(rule, fraction);
    }

    private static String word(boolean same) {
        return same ? "same" : "different";
    }
}
