package org.siamese4j.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.mining.BatchAllMiner;
import org.siamese4j.siamese.train.OnlineTripletObjective;
import org.siamese4j.siamese.train.Trainer;
import org.siamese4j.siamese.verify.Calibration;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Match;
import org.siamese4j.siamese.verify.MultiReferencePolicy;
import org.siamese4j.siamese.verify.MultiReferenceVerification;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;

/**
 * Face recognition inside an application, with the {@link Verifier} API: get a model (train a small one on
 * synthetic faces, or load one with {@code --model}), calibrate its threshold on people it never saw, enrol
 * the employees of a company from three photos each, identify them from other photos, turn away strangers, then
 * hire someone and recognise them at once, without retraining. The model (with its threshold) and the gallery
 * are written to files and read back, as an application restarting would.
 *
 * <p>Synthetic people are numbered: training uses 0 .. people-1, calibration 5000 .., employees 9000 ..,
 * strangers 9500 .., so no one the application meets was seen in training.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp examples/target/siamese4j.jar \
 *     org.siamese4j.examples.VerifierAppExample [--model MODEL] [--epochs 20] [--people 120] [--far 0.05]
 *     [--out DIR] [--seed 5]</pre>
 */
public final class VerifierAppExample {
    /** The architecture trained here: {@link org.siamese4j.siamese.Towers#small} written as a spec. */
    static final String ARCH = "conv(16,3,pad=1) batchnorm relu maxpool(2) conv(32,3,pad=1) batchnorm relu "
            + "maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten dense(64) l2norm";
    static final int[] INPUT = {1, 56, 46};
    /** The synthetic face family (any fixed seed). */
    static final long FACES = 11;
    static final int EMPLOYEES = 10;
    static final int STRANGERS = 5;

    record Settings(Path model, int epochs, int trainPeople, double far, long seed) {
        static Settings defaults() {
            return new Settings(null, 20, 120, 0.05, 5);
        }
    }

    /** What {@link #run} observed; {@code probes} photos of employees were identified. */
    record Outcome(int probes, int correct, int wrong, int unknownEmployees, int strangersRejected,
                   String newHireBefore, String newHireAfter, boolean sameAfterReload) {
    }

    private VerifierAppExample() {
    }

    public static void main(String[] args) throws IOException {
        ExampleArgs a;
        Settings s;
        try {
            a = new ExampleArgs("VerifierAppExample", args, Set.of("model", "epochs", "people", "far", "out", "seed"));
            Settings d = Settings.defaults();
            String model = a.string("model", null);
            s = new Settings(model == null ? null : Path.of(model), a.integer("epochs", d.epochs(), 1),
                    a.integer("people", d.trainPeople(), 2),
                    a.decimal("far", d.far()),
                    a.longValue("seed", d.seed()));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        String out = a.string("out", null);
        Path dir = out == null ? Files.createTempDirectory("siamese4j-app") : Files.createDirectories(Path.of(out));
        try {
            run(s, dir, System.out);
        } catch (IOException e) {
            System.err.println("VerifierAppExample: " + e.getMessage());
            System.exit(1);
        }
    }

    static Outcome run(Settings s, Path dir, PrintStream out) throws IOException {
        Rng rng = new Rng(s.seed());

        // 1. A model: load one, or train a small one (what `siamese4j train` does, in a few lines)
        Verifier verifier;
        if (s.model() != null) {
            verifier = Verifier.load(s.model());
            out.println("loaded " + verifier);
        } else {
            verifier = train(s, rng, out);
        }

        // 2. Calibrate the threshold on people the model never saw, and store it with the model
        ImageDataset calibrationSet = SyntheticFaces.generateRange(5000, 20, 6, FACES, INPUT[1], INPUT[2]);
        // target FAR: at most this share of strangers may pass for someone (an access-control choice)
        Calibration how = Calibration.targetFar(s.far());
        verifier = verifier.calibrate(calibrationSet, how);
        out.println("calibrated: " + verifier.threshold().orElseThrow());
        Path modelFile = dir.resolve("faces.safetensors");
        verifier.save(modelFile);

        // 3. Enrol the employees: three photos each; photos 3 to 5 are kept for the door camera
        Gallery staff = new Gallery(verifier);
        for (int e = 0; e < EMPLOYEES; e++) {
            staff.enroll(employee(e), photo(9000 + e, 0), photo(9000 + e, 1), photo(9000 + e, 2));
        }
        out.println("enrolled " + staff.size() + " employees");

        // 4. Identify employees from new photos, and strangers who were never enrolled
        int probes = 0;
        int correct = 0;
        int wrong = 0;
        int unknown = 0;
        for (int e = 0; e < EMPLOYEES; e++) {
            for (int p = 3; p < 6; p++) {
                Match m = staff.identify(photo(9000 + e, p));
                probes++;
                if (!m.known()) {
                    unknown++;
                } else if (m.nearest().equals(employee(e))) {
                    correct++;
                } else {
                    wrong++;
                }
            }
        }
        out.printf(Locale.ROOT, "employees' new photos: %d of %d identified correctly, %d as someone else, "
                + "%d not recognised%n", correct, probes, wrong, unknown);
        int rejected = 0;
        for (int i = 0; i < STRANGERS; i++) {
            Match m = staff.identify(photo(9500 + i, 0));
            rejected += m.known() ? 0 : 1;
            out.printf(Locale.ROOT, "stranger %d: %s (nearest %s at %.3f, threshold %.3f)%n", i, m.label(),
                    m.nearest(), m.distance(), m.threshold());
        }

        // 5. A new employee: enrolled from three photos, recognised at once, no retraining
        int hire = 9050;
        String before = labels(staff, hire);
        out.println("new hire's photos before enrolment: " + before);
        staff.enroll("new-hire", photo(hire, 0), photo(hire, 1), photo(hire, 2));
        String after = labels(staff, hire);
        out.println("new hire's photos after enrolment:  " + after);
        // A door that keeps several reference photos per person accepts when enough of them match (a bad photo
        // on file then costs one vote, not the decision)
        MultiReferenceVerification byReferences = verifier.verifyAgainst(photo(hire, 3),
                List.of(photo(hire, 0), photo(hire, 1), photo(hire, 2)), MultiReferencePolicy.fraction(0.5));
        out.println("new hire's 4th photo against their 3 enrolment photos:");
        out.println(byReferences);

        // 6. Restart: the model file carries the threshold, the gallery file the people (both written atomically)
        Path galleryFile = dir.resolve("staff.gallery");
        staff.save(galleryFile);
        Verifier reloaded = Verifier.load(modelFile);
        Gallery restored = Gallery.load(galleryFile, reloaded);
        String again = labels(restored, hire);
        boolean same = again.equals(after);
        out.printf(Locale.ROOT, "after reloading %s and %s: %d people, new hire's photos: %s (%s)%n",
                modelFile.getFileName(), galleryFile.getFileName(), restored.size(), again,
                same ? "same answers" : "DIFFERENT answers");
        return new Outcome(probes, correct, wrong, unknown, rejected, before, after, same);
    }

    private static Verifier train(Settings s, Rng rng, PrintStream out) {
        ArchSpec arch = ArchSpec.parse(ARCH);
        Sequential tower = arch.build(INPUT, rng.split());
        ImageDataset train = SyntheticFaces.generateRange(0, s.trainPeople(), 8, FACES, INPUT[1], INPUT[2]);
        OnlineTripletObjective objective = new OnlineTripletObjective(train, Math.min(12, s.trainPeople()), 4,
                TripletLoss.hard(0.3f, Distance.EUCLIDEAN), BatchAllMiner.all(), rng.split());
        Trainer trainer = Trainer.builder(tower, objective, new Adam(tower.parameters(), 2e-3f), train)
                .listener(new Trainer.Listener() {
                    @Override
                    public void onEpoch(Trainer.EpochReport e) {
                        out.printf(Locale.ROOT, "training epoch %d/%d: triplet loss %.4f%n", e.epoch(), s.epochs(),
                                e.meanLoss());
                    }
                }).build();
        try {
            trainer.fit(Trainer.Budget.epochs(s.epochs()));
        } catch (IOException e) {
            throw new UncheckedIOException("no checkpoint is written, so this cannot happen", e);
        }
        // the verifier copies the weights: the application could keep training `tower` without affecting it
        return Verifier.of(tower, arch, INPUT, Distance.EUCLIDEAN, null);
    }

    /** What the gallery says for photos 3 to 5 of a person, with the distances. */
    private static String labels(Gallery gallery, int identity) {
        StringBuilder sb = new StringBuilder();
        for (int p = 3; p < 6; p++) {
            Match m = gallery.identify(photo(identity, p));
            sb.append(p > 3 ? ", " : "").append(m.label())
                    .append(String.format(Locale.ROOT, " (%.3f)", m.distance()));
        }
        return sb.toString();
    }

    private static String employee(int e) {
        return String.format(Locale.ROOT, "employee-%02d", e + 1);
    }

    /** Photo {@code image} of synthetic person {@code identity}, as a camera would deliver it. */
    private static GrayImage photo(int identity, int image) {
        return GrayImage.of(INPUT[1], INPUT[2], 1f,
                SyntheticFaces.renderImage(FACES, identity, image, INPUT[1], INPUT[2]));
    }
}
