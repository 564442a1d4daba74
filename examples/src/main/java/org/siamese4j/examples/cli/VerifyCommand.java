package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.siamese4j.siamese.verify.Verification;
import org.siamese4j.siamese.verify.Verifier;

/**
 * {@code siamese4j verify --model MODEL IMG_A IMG_B}: whether two images show the same person. Prints three
 * {@code key: value} lines (distance, threshold with the distance used, decision {@code same} or
 * {@code different}); the exit code is 0 for either decision, so a script reads the {@code decision} line.
 */
final class VerifyCommand implements Siamese4j.Command {
    static final String USAGE = "verify --model MODEL IMG_A IMG_B";

    @Override
    public String summary() {
        return "decide whether two images show the same person";
    }

    @Override
    public Options options() {
        return new Options("verify")
                .option("model", "model file with a threshold, written by train (required)");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        String model = VerifierCli.required(o, "model", USAGE);
        List<String> images = o.positional();
        if (images.size() != 2) {
            throw new Options.UsageException("give exactly two image files (PGM, PNG, JPEG), got " + images.size()
                    + ": " + USAGE);
        }
        Verifier verifier = VerifierCli.loadCalibrated(model);
        Verification r = verifier.verify(Path.of(images.get(0)), Path.of(images.get(1)));
        out.println("distance: " + VerifierCli.number(r.distance()));
        out.println("threshold: " + VerifierCli.number(r.threshold()) + " (" + r.metric().name().toLowerCase(java.util.Locale.ROOT) + ")");
        out.println("decision: " + (r.same() ? "same" : "different"));
        return 0;
    }
}
