package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.util.Locale;
import org.siamese4j.io.ModelFile;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.metrics.Thresholds;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.tensor.Rng;

/**
 * {@code siamese4j eval}: embeds a labelled face set with a saved model and reports the verification metrics
 * (AUC, EER, 10-fold accuracy and threshold, TAR at FAR) over all pairs, N-way one-shot accuracy and rank-1
 * identification, plus the accuracy of the threshold stored in the model. With {@code --json} stdout holds one
 * JSON object and nothing else.
 */
final class EvalCommand implements Siamese4j.Command {
    @Override
    public String summary() {
        return "evaluate a model on labelled faces: AUC, EER, accuracy, TAR@FAR, one-shot, rank-1";
    }

    @Override
    public Options options() {
        return new Options("eval")
                .option("model", "model file written by train (required)")
                .option("data", "a folder with one subfolder per person, or synthetic[:PEOPLExIMAGES] for held-out "
                        + "synthetic people never used in training (default synthetic = 40x6)")
                .option("ways", "N of the N-way one-shot test (default 5)")
                .option("trials", "one-shot trials (default 1000)")
                .option("seed", "seed of the one-shot draws (default 1)")
                .option("threads", "worker threads for the kernels (default: all processors)")
                .flag("json", "print one JSON object on stdout and nothing else");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        if (!o.positional().isEmpty()) {
            throw new Options.UsageException("unexpected argument '" + o.positional().get(0) + "'");
        }
        String modelPath = o.string("model", null);
        if (modelPath == null) {
            throw new Options.UsageException("--model MODEL is required");
        }
        int ways = o.integer("ways", 5, 2, 10_000);
        int trials = o.integer("trials", 1000, 1, 10_000_000);
        long seed = o.longValue("seed", 1);
        Parallel.setThreads(o.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024));
        CliData.DataSpec spec = CliData.parseData(o.string("data", "synthetic"), 40, 6);
        boolean json = o.flag("json");

        ModelFile.LoadedModel model = CliData.loadModel(modelPath);
        EmbeddingDistance distance = CliData.distanceOf(model);
        ImageDataset data = CliData.load(spec, CliData.HELD_OUT_FIRST, model.inputShape());
        if (data.identityCount() < ways) {
            throw new Options.UsageException("--ways " + ways + " needs at least " + ways + " people, the data has "
                    + data.identityCount());
        }
        float[][] embeddings = Embeddings.of(model.model(), data, 64);
        VerificationReport report = VerificationReport.evaluate(embeddings, data.labels(), distance, ways, trials,
                new Rng(seed));
        double modelThreshold = parseThreshold(model);
        double modelAccuracy = Double.NaN;
        if (Double.isFinite(modelThreshold)) {
            ScoredPairs pairs = ScoredPairs.all(embeddings, data.labels(), distance);
            modelAccuracy = balancedAccuracy(pairs, modelThreshold);
        }
        if (json) {
            String base = report.toJson();
            out.println(base.substring(0, base.length() - 1)
                    + ",\"ways\":" + ways
                    + ",\"identities\":" + data.identityCount()
                    + ",\"images\":" + data.size()
                    + ",\"model_threshold\":" + CliData.number(modelThreshold)
                    + ",\"model_threshold_accuracy\":" + CliData.number(modelAccuracy)
                    + ",\"data\":" + CliData.quote(spec.toString())
                    + ",\"model\":" + CliData.quote(modelPath) + "}");
        } else {
            out.printf(Locale.ROOT, "model %s on %s (%s)%n", modelPath, spec, data);
            TrainCommand.printReport(out, report, ways, data);
            if (Double.isFinite(modelThreshold)) {
                out.printf(Locale.ROOT, "  the model's stored threshold %.4f: balanced accuracy %.2f%%%n",
                        modelThreshold, 100 * modelAccuracy);
            }
        }
        return 0;
    }

    static double parseThreshold(ModelFile.LoadedModel model) {
        String t = model.metadata().get(CliData.KEY_THRESHOLD);
        if (t == null) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** Mean of the accept rate on same pairs and the reject rate on different pairs (insensitive to the mix). */
    private static double balancedAccuracy(ScoredPairs pairs, double threshold) {
        var point = Thresholds.evaluate(pairs.scores(), pairs.same(), pairs.direction(), threshold);
        return (point.tar() + (1 - point.far())) / 2;
    }
}
