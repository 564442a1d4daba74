package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Verifier;

/**
 * {@code siamese4j enroll --model MODEL --gallery G --name NAME IMG...}: adds a person to a gallery file without
 * retraining, creating the file when it does not exist. All images are read and embedded before the file is
 * replaced (atomically), so a bad image leaves the gallery as it was. Enrolling an existing name adds the images
 * to that person.
 */
final class EnrollCommand implements Siamese4j.Command {
    static final String USAGE = "enroll --model MODEL --gallery G --name NAME IMG...";

    @Override
    public String summary() {
        return "add a person to a gallery file (created if absent), no retraining";
    }

    @Override
    public Options options() {
        return new Options("enroll")
                .option("model", "model file written by train (required)")
                .option("gallery", "gallery file to add to; created if absent (required)")
                .option("name", "the person's name (required)");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        String model = VerifierCli.required(o, "model", USAGE);
        Path gallery = Path.of(VerifierCli.required(o, "gallery", USAGE));
        String name = VerifierCli.required(o, "name", USAGE);
        List<String> images = o.positional();
        if (images.isEmpty()) {
            throw new Options.UsageException("give at least one image file (PGM, PNG, JPEG) of " + name + ": " + USAGE);
        }
        // identify needs the threshold anyway; refusing an uncalibrated model here saves a useless gallery
        Verifier verifier = VerifierCli.loadCalibrated(model);
        boolean existed = Files.exists(gallery);
        Gallery g = Gallery.loadOrCreate(gallery, verifier);
        boolean known = g.contains(name);
        try {
            g.enroll(name, VerifierCli.paths(images).toArray(Path[]::new));
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException(e.getMessage());
        }
        g.save(gallery);
        out.println((known ? "added " + images.size() + " image(s) to " : "enrolled ") + name
                + (known ? "" : " from " + images.size() + " image(s)") + "; " + gallery
                + (existed ? "" : " (new)") + " has " + g.size() + " " + (g.size() == 1 ? "person" : "people"));
        return 0;
    }
}
