package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Match;
import org.siamese4j.siamese.verify.Verifier;

/**
 * {@code siamese4j identify --model MODEL --gallery G IMG}: the enrolled person nearest to the image, or
 * {@code unknown} when even the nearest is farther than the model's threshold. Prints {@code key: value} lines:
 * {@code identity} (a name or {@code unknown}), {@code nearest}, {@code distance}, {@code threshold}. Exit code 0
 * either way. With a model that has a learned similarity head, "nearest" is the highest P(same), printed as
 * {@code score} instead of {@code distance}, and the probe is known when it is at least the threshold.
 */
final class IdentifyCommand implements Siamese4j.Command {
    static final String USAGE = "identify --model MODEL --gallery G IMG";

    @Override
    public String summary() {
        return "name the enrolled person an image shows, or unknown";
    }

    @Override
    public Options options() {
        return VerifierCli.withPreprocessingOptions(new Options("identify"))
                .option("model", VerifierCli.MODEL_HELP)
                .option("gallery", "gallery file written by enroll (required)");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        String model = VerifierCli.required(o, "model", USAGE);
        String gallery = VerifierCli.required(o, "gallery", USAGE);
        List<String> images = o.positional();
        if (images.size() != 1) {
            throw new Options.UsageException("give exactly one image file (PGM, PNG, JPEG), got " + images.size()
                    + ": " + USAGE);
        }
        Verifier verifier = VerifierCli.loadCalibrated(o, model);
        Gallery g = Gallery.load(Path.of(gallery), verifier);
        Match m = g.identify(Path.of(images.get(0)));
        out.println("identity: " + m.label());
        out.println("nearest: " + (m.nearest() == null ? "(the gallery is empty)" : m.nearest()));
        out.println(VerifierCli.scoreKey(verifier) + ": " + VerifierCli.number(m.score()));
        out.println("threshold: " + VerifierCli.number(m.threshold()) + " (" + VerifierCli.scoreKind(verifier) + ")");
        return 0;
    }
}
