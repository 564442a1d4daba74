package org.siamese4j.examples.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.siamese4j.siamese.verify.Verifier;

/** What {@code verify}, {@code enroll} and {@code identify} share: the required options and a calibrated model. */
final class VerifierCli {
    private VerifierCli() {
    }

    /** The value of a required {@code --name VALUE} option. */
    static String required(Options o, String name, String usage) {
        String v = o.string(name, null);
        if (v == null || v.isBlank()) {
            throw new Options.UsageException("--" + name + " is required: " + usage);
        }
        return v;
    }

    /**
     * The verifier of a model file that has a threshold; a model without one is refused here, in the CLI's
     * words, rather than by the API's message about {@code calibrate(...)}.
     */
    static Verifier loadCalibrated(String modelPath) throws IOException {
        Verifier v = Verifier.load(CliData.requireModelFile(modelPath));
        if (v.threshold().isEmpty()) {
            throw new IllegalStateException(modelPath + " has no decision threshold (no '" + Verifier.KEY_THRESHOLD
                    + "' metadata); train writes one, or calibrate it with the Verifier API");
        }
        return v;
    }

    /** The name of the printed score: {@code distance} for a distance model, {@code score} (P(same)) for a head. */
    static String scoreKey(Verifier v) {
        return v.hasHead() ? "score" : "distance";
    }

    /**
     * What the threshold is on, for the {@code threshold:} line: the distance's name ({@code euclidean}), or for a
     * head model {@code P(same) of the similarity head; same when score >= threshold}.
     */
    static String scoreKind(Verifier v) {
        return v.hasHead() ? "P(same) of the similarity head; same when score >= threshold"
                : v.distanceKind().name().toLowerCase(Locale.ROOT);
    }

    static List<Path> paths(List<String> names) {
        List<Path> paths = new ArrayList<>(names.size());
        for (String n : names) {
            paths.add(Path.of(n));
        }
        return paths;
    }

    static String number(double d) {
        return Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : String.format(Locale.ROOT, "%.6f", d);
    }
}
