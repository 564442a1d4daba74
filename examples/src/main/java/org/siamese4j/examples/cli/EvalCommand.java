package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Locale;
import java.util.function.ToDoubleBiFunction;
import org.siamese4j.io.ModelFile;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.Splits;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.metrics.Identification;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.metrics.Thresholds;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.verify.Threshold;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;

/**
 * {@code siamese4j eval}: embeds a labelled face set with a saved model and reports the verification metrics
 * (AUC, EER, 10-fold accuracy and threshold, TAR at FAR) over all pairs, N-way one-shot accuracy and rank-1
 * identification, plus the accuracy of the threshold stored in the model. With {@code --json} stdout holds one
 * JSON object and nothing else.
 *
 * <p>A model file with a learned similarity head ({@code train --loss bce-head}) is scored by the head: every pair's
 * score is P(same), higher meaning more alike, so the ROC, AUC, EER, the 10-fold threshold (in P(same)) and the
 * stored threshold work on it, and one-shot and rank-1 take the candidate with the highest P(same).
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
                .flag("exclude-training", "leave out the people the model was trained or validated on (the model "
                        + "file names them), so the figures are on unseen people only")
                .flag("json", "print one JSON object on stdout and nothing else");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        return run(o, out, System.err);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
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
        // the distance, threshold and standardisation read and checked as verify reads them: one parser for all
        Verifier verifier = Verifier.of(model, modelPath);
        // a head model is scored by its head's P(same); a plain model by its distance
        boolean head = model.head().isPresent();
        ToDoubleBiFunction<float[], float[]> score;
        ScoreDirection direction;
        String scoreName;
        if (head) {
            HeadSiameseNetwork network = HeadSiameseNetwork.of(model, modelPath);
            score = network::score;
            direction = ScoreDirection.HIGHER_IS_SAME;
            scoreName = "head";
        } else {
            Distance distance = verifier.distanceKind();
            score = distance::between;
            direction = ScoreDirection.LOWER_IS_SAME;
            scoreName = distance.name().toLowerCase(Locale.ROOT);
        }
        ImageDataset data = CliData.load(spec, CliData.HELD_OUT_FIRST, model.inputShape());
        Set<String> seen = seenPeople(model);
        List<String> overlap = data.identityNames().stream().filter(seen::contains).toList();
        if (!overlap.isEmpty() && o.flag("exclude-training")) {
            int unseenCount = data.identityCount() - overlap.size();
            if (unseenCount < 2) {
                throw new Options.UsageException(spec + ": only " + unseenCount + " of its people were not used to "
                        + "train or validate the model; the evaluation needs at least 2");
            }
            data = Splits.byIdentityNames(data, new HashSet<>(overlap)).train();
        } else if (!overlap.isEmpty()) {
            err.printf(Locale.ROOT, "warning: %d of the %d people in %s were used to train or validate this "
                            + "model (%s): the figures below are not on unseen people; --exclude-training leaves "
                            + "them out%n", overlap.size(), data.identityCount(), spec,
                    String.join(",", overlap.subList(0, Math.min(8, overlap.size()))) + (overlap.size() > 8 ? ",..."
                            : ""));
        }
        boolean unseen = overlap.isEmpty() || o.flag("exclude-training");
        if (data.identityCount() < ways) {
            throw new Options.UsageException("--ways " + ways + " needs at least " + ways + " people, the data has "
                    + data.identityCount());
        }
        float[][] embeddings = Embeddings.of(model.model(), data, 64);
        // every pair scored once, for the report and for the stored threshold (the same numbers as
        // VerificationReport.evaluate, which would score them again)
        ScoredPairs pairs = ScoredPairs.all(embeddings, data.labels(), score, direction);
        double oneShot = Identification.nWayOneShot(embeddings, data.labels(), ways, trials, new Rng(seed), score,
                direction);
        double rank1 = Identification.rank1LeaveOneOut(embeddings, data.labels(), score, direction);
        VerificationReport report = VerificationReport.ofPairs(pairs, oneShot, rank1);
        double modelThreshold = verifier.threshold().map(Threshold::value).orElse(Double.NaN);
        double modelAccuracy = Double.NaN;
        if (Double.isFinite(modelThreshold)) {
            modelAccuracy = TrainCommand.balancedAccuracy(pairs, modelThreshold);
        }
        if (json) {
            String base = report.toJson();
            out.println(base.substring(0, base.length() - 1)
                    + ",\"ways\":" + ways
                    + ",\"identities\":" + data.identityCount()
                    + ",\"unseen_people_only\":" + unseen
                    + ",\"seen_people\":" + (o.flag("exclude-training") ? 0 : overlap.size())
                    + ",\"images\":" + data.size()
                    + ",\"score\":" + CliData.quote(scoreName)
                    + ",\"direction\":" + CliData.quote(direction.name().toLowerCase(Locale.ROOT))
                    + ",\"model_threshold\":" + CliData.number(modelThreshold)
                    + ",\"model_threshold_accuracy\":" + CliData.number(modelAccuracy)
                    + ",\"data\":" + CliData.quote(spec.toString())
                    + ",\"model\":" + CliData.quote(modelPath) + "}");
        } else {
            out.printf(Locale.ROOT, "model %s on %s (%s), scored by %s%n", modelPath, spec, data,
                    head ? "its similarity head, P(same) (higher is more alike)" : "the " + scoreName + " distance");
            TrainCommand.printReport(out, report, ways, data, head ? "P(same)" : "distance",
                    unseen ? "unseen" : "people (some seen in training)");
            if (Double.isFinite(modelThreshold)) {
                out.printf(Locale.ROOT, "  the model's stored threshold %.4f: balanced accuracy %.2f%%%n",
                        modelThreshold, 100 * modelAccuracy);
            }
        }
        return 0;
    }

    /** The people the model file says it was trained and validated on (none for an older file). */
    static Set<String> seenPeople(ModelFile.LoadedModel model) {
        Set<String> seen = new HashSet<>();
        for (String key : List.of(CliData.KEY_TRAINING_PEOPLE, CliData.KEY_VALIDATION_PEOPLE)) {
            String names = model.metadata().get(key);
            if (names != null && !names.isEmpty()) {
                seen.addAll(Arrays.asList(names.split(",")));
            }
        }
        return seen;
    }
}
