package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.siamese4j.io.FileLocks;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Verifier;

/**
 * {@code siamese4j enroll --model MODEL --gallery G --name NAME IMG...}: adds a person to a gallery file without
 * retraining, creating the file when it does not exist. All images are read and embedded before the file is
 * replaced (atomically), so a bad image leaves the gallery as it was. Enrolling an existing name adds the images
 * to that person. Loading, enrolling and saving run under the gallery's lock ({@link FileLocks}), so any number of
 * enroll processes may add to one gallery at once; one that cannot get the lock within {@code --wait} seconds
 * fails (exit code 1) and changes nothing.
 */
final class EnrollCommand implements Siamese4j.Command {
    static final String USAGE = "enroll --model MODEL --gallery G --name NAME IMG...";
    /** Default of {@code --wait}: as long as the library's own writes wait ({@link FileLocks#DEFAULT_TIMEOUT}). */
    static final int WAIT_SECONDS = (int) FileLocks.DEFAULT_TIMEOUT.toSeconds();

    @Override
    public String summary() {
        return "add a person to a gallery file (created if absent), no retraining";
    }

    @Override
    public Options options() {
        return VerifierCli.withPreprocessingOptions(new Options("enroll"))
                .option("model", VerifierCli.MODEL_HELP)
                .option("gallery", "gallery file to add to; created if absent (required)")
                .option("name", "the person's name (required)")
                .option("wait", "seconds to wait while another process writes the gallery (default "
                        + WAIT_SECONDS + ")");
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
        int waitSeconds = o.integer("wait", WAIT_SECONDS, 0, 86_400);
        // identify needs the threshold anyway; refusing an uncalibrated model here saves a useless gallery
        Verifier verifier = VerifierCli.loadCalibrated(o, model);
        float[][] embeddings = new float[images.size()][];
        try {
            // the slow part, before the lock, so that concurrent enrolments wait only for each other's saves
            for (int i = 0; i < images.size(); i++) {
                embeddings[i] = verifier.embed(Path.of(images.get(i)));
            }
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException(e.getMessage());
        }
        // load, enrol and save under the gallery's lock: another enroll process doing the same at once would
        // otherwise save a gallery without this person, or this one without theirs
        String done = FileLocks.withLock(gallery, Duration.ofSeconds(waitSeconds), () -> {
            boolean existed = Files.exists(gallery);
            Gallery g = Gallery.loadOrCreate(gallery, verifier);
            boolean known = g.contains(name);
            try {
                g.enrollEmbeddings(name, embeddings);
            } catch (IllegalArgumentException e) {
                throw new Options.UsageException(e.getMessage());
            }
            g.save(gallery);
            return (known ? "added " + images.size() + " image(s) to " : "enrolled ") + name
                    + (known ? "" : " from " + images.size() + " image(s)") + "; " + gallery
                    + (existed ? "" : " (new)") + " has " + g.size() + " " + (g.size() == 1 ? "person" : "people");
        });
        out.println(done);
        return 0;
    }
}
