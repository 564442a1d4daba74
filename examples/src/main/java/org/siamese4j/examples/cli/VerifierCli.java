package org.siamese4j.examples.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.siamese4j.siamese.verify.Preprocessing;
import org.siamese4j.siamese.verify.Verifier;

/** What {@code verify}, {@code enroll} and {@code identify} share: the required options and a calibrated model. */
final class VerifierCli {
    /** The help of {@code --model} for the commands that load one through the verifier. */
    static final String MODEL_HELP = "model file written by train, or an ONNX face model (.onnx); its sidecar "
            + "MODEL.json, if any, gives the preprocessing and threshold (required)";

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
     * {@code options} with the preprocessing options every command that loads a model takes ({@code --input-size},
     * {@code --color}, {@code --channel-order}, {@code --pixel-range}, {@code --mean}, {@code --std}): they replace
     * what the model file and its sidecar say.
     */
    static Options withPreprocessingOptions(Options options) {
        return options
                .option("input-size", "the model's input HEIGHTxWIDTH, e.g. 112x112 (checked against the model; "
                        + "default: the model's, or its sidecar's)")
                .option("color", "rgb or grey: read images in colour or as luma (must match the model's channels)")
                .option("channel-order", "rgb or bgr: the order of a colour model's input planes (default rgb)")
                .option("pixel-range", "0-1 or 0-255: the pixel units the model takes, and of --mean and --std "
                        + "(default 0-1)")
                .option("mean", "subtracted from each pixel: one number, or one per channel separated by commas "
                        + "(MobileFaceNet, ArcFace: 127.5 with --pixel-range 0-255)")
                .option("std", "the pixels are then divided by it: one number or one per channel (ArcFace: 128)");
    }

    /** The preprocessing options given on the command line, by name without {@code --}. */
    static Map<String, String> preprocessingOptions(Options o) {
        Map<String, String> given = new LinkedHashMap<>();
        for (String name : Preprocessing.OPTIONS) {
            String v = o.string(name, null);
            if (v != null) {
                given.put(name, v);
            }
        }
        return given;
    }

    /**
     * The verifier of {@code --model}: a siamese4j model file or an ONNX model ({@link Verifier#load}), with its
     * sidecar ({@code MODEL.json}) when it has one and the preprocessing options on top.
     */
    static Verifier load(Options o, String modelPath) throws IOException {
        Verifier v = Verifier.load(CliData.requireModelFile(modelPath));
        Map<String, String> given = preprocessingOptions(o);
        if (given.isEmpty()) {
            return v;
        }
        Preprocessing base = preprocessing(v);
        try {
            return v.withPreprocessing(base.withOptions(given));
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException(e.getMessage());
        }
    }

    /** The verifier's preprocessing; a model that cannot take images is refused, saying why. */
    static Preprocessing preprocessing(Verifier v) throws IOException {
        Optional<Preprocessing> p = v.preprocessing();
        if (p.isEmpty()) {
            throw new IOException(Preprocessing.imageInputProblem(v.inputShape()));
        }
        return p.get();
    }

    /**
     * As {@link #load}, for a model that has a threshold; a model without one is refused here, in the CLI's
     * words, rather than by the API's message about {@code calibrate(...)}.
     */
    static Verifier loadCalibrated(Options o, String modelPath) throws IOException {
        Verifier v = load(o, modelPath);
        if (v.threshold().isEmpty()) {
            throw new IllegalStateException(modelPath + " has no decision threshold (no '" + Verifier.KEY_THRESHOLD
                    + "' metadata or sidecar key); train writes one, or calibrate it: siamese4j calibrate --model "
                    + modelPath + " --data FOLDER");
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
