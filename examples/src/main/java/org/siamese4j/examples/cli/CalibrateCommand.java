package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import org.siamese4j.siamese.verify.Calibration;
import org.siamese4j.siamese.verify.ModelSidecar;
import org.siamese4j.siamese.verify.Threshold;
import org.siamese4j.siamese.verify.Verifier;

/**
 * {@code siamese4j calibrate --model MODEL --data FOLDER [--target-far F]}: embeds a folder of labelled faces (one
 * subfolder per person, as {@code eval} reads it) with the model's preprocessing, picks the decision threshold
 * ({@link Verifier#calibrate(Path, Calibration)}: the best balanced accuracy, or the one whose false-accept rate is at
 * most {@code --target-far}) and stores it where the model keeps it:
 * <ul>
 *   <li>in the sidecar {@code MODEL.json} ({@link ModelSidecar}) when the model has one, is an ONNX model, or the
 *       preprocessing was given on the command line (so that the threshold is stored with the preprocessing it
 *       was measured under); the other keys of an existing sidecar are kept, {@code --source} replaces its source;</li>
 *   <li>otherwise, a siamese4j model file's metadata ({@code threshold}, {@code threshold_kind}, ...), where train
 *       writes it: the file is rewritten atomically with the same weights and its other metadata.</li>
 * </ul>
 * Prints the threshold, what it did on the calibration pairs and where it went.
 */
final class CalibrateCommand implements Siamese4j.Command {
    static final String USAGE = "calibrate --model MODEL --data FOLDER [--target-far F]";

    @Override
    public String summary() {
        return "choose a model's decision threshold on a folder of labelled faces and store it beside the model";
    }

    @Override
    public Options options() {
        return VerifierCli.withPreprocessingOptions(new Options("calibrate"))
                .option("model", VerifierCli.MODEL_HELP)
                .option("data", "a folder with one subfolder per person, the person's face images inside "
                        + "(required; ideally people the model was not trained on)")
                .option("target-far", "choose the threshold whose false-accept rate on the pairs is at most this, "
                        + "more than 0 and at most 1 (default: the threshold of best balanced accuracy)")
                .option("source", "with a sidecar: where the model came from (name, URL, licence), stored as its "
                        + "source");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        o.requireNoPositional();
        String modelPath = VerifierCli.required(o, "model", USAGE);
        String data = VerifierCli.required(o, "data", USAGE);
        Calibration calibration = calibration(o);
        Path model = CliData.requireModelFile(modelPath);
        Path folder = Path.of(data);
        if (!Files.exists(folder)) {
            throw new NoSuchFileException(data, null, "no such folder");
        }
        Verifier verifier = VerifierCli.load(o, modelPath);
        Path sidecarFile = ModelSidecar.pathFor(model);
        Optional<ModelSidecar> existing = ModelSidecar.readIfPresent(model);
        boolean toSidecar = existing.isPresent() || Verifier.isOnnx(model)
                || !VerifierCli.preprocessingOptions(o).isEmpty() || o.string("source", null) != null;
        Verifier calibrated;
        try {
            calibrated = verifier.calibrate(folder, calibration);
        } catch (java.io.IOException e) {
            CliData.explainFaceFolderLayout(folder);
            throw e;
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException(data + ": " + e.getMessage());
        }
        Threshold t = calibrated.threshold().orElseThrow();
        String where;
        if (toSidecar) {
            String source = o.string("source", existing.map(ModelSidecar::source).orElse(null));
            calibrated.sidecar(source).write(sidecarFile);
            where = "the sidecar " + sidecarFile;
        } else {
            calibrated.save(model);
            where = "the model file's metadata (" + model + ")";
        }
        out.println("threshold: " + VerifierCli.number(t.value()) + " (" + VerifierCli.scoreKind(calibrated) + ", "
                + t.kind().token() + (Double.isNaN(t.targetFar()) ? "" : " " + t.targetFar()) + ")");
        out.println(String.format(Locale.ROOT, "on %d pairs: TAR %.4f, FAR %.4f, balanced accuracy %.4f", t.pairs(),
                t.tar(), t.far(), t.accuracy()));
        out.println("preprocessing: " + calibrated.preprocessing().map(Object::toString).orElse("none"));
        out.println("written to " + where);
        return 0;
    }

    private static Calibration calibration(Options o) {
        String text = o.string("target-far", null);
        if (text == null) {
            return Calibration.bestAccuracy();
        }
        double far;
        try {
            far = Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new Options.UsageException("--target-far expects a number, got '" + text + "'");
        }
        if (!(far > 0 && far <= 1)) {
            throw new Options.UsageException("--target-far " + text + " is out of range; valid: more than 0 and at "
                    + "most 1 (e.g. 0.001 for one false accept in a thousand)");
        }
        return Calibration.targetFar(far);
    }
}
