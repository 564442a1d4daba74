package org.siamese4j.examples.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.OperatingPoint;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.metrics.Thresholds;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.plot.DistanceHistogram;
import org.siamese4j.siamese.plot.EmbeddingPlot;
import org.siamese4j.siamese.plot.LossChart;
import org.siamese4j.siamese.plot.PairGrid;
import org.siamese4j.siamese.plot.RocChart;
import org.siamese4j.tensor.Rng;

/**
 * {@code siamese4j demo}: the README's main command. A plain {@code train} with the library's defaults on generated
 * faces (nothing to download): it validates on people kept out of training, then measures how well it tells apart
 * test people it never saw, before and after training, and saves the model and the plots (loss,
 * ROC with the EER point, distance histograms with the threshold, image pairs with their distances, PCA view),
 * with the training diagnostics of {@code train --diagnostics} (per-step and per-epoch CSV and their chart).
 */
final class DemoCommand implements Siamese4j.Command {
    @Override
    public String summary() {
        return "train a face-verification network on synthetic faces and evaluate it on unseen people";
    }

    @Override
    public Options options() {
        return new Options("demo")
                .option("epochs", "training epochs (default: train's budget of " + TrainCommand.DEFAULT_STEPS
                        + " steps)")
                .option("people", "synthetic training people (default 160)")
                .option("images", "images per training person (default 8)")
                .option("test-people", "held-out people never seen in training (default 40)")
                .option("out", "folder for the model and plots (default siamese4j-demo)")
                .option("seed", "random seed (default 1)")
                .option("threads", "worker threads for the kernels (default: all processors)");
    }

    @Override
    public int run(Options o, PrintStream out) throws IOException {
        return run(o, out, System.err);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws IOException {
        int epochs = o.integer("epochs", 1, 1, 1000);        // only passed on when given
        int people = o.integer("people", 160, 4, 100_000);
        int images = o.integer("images", 8, 2, 1000);
        int testPeople = o.integer("test-people", 40, 5, 100_000);
        Path dir = Path.of(o.string("out", "siamese4j-demo"));
        long seed = o.longValue("seed", 1);
        Parallel.setThreads(o.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024));
        o.requireNoPositional();
        boolean terminal = Terminal.interactive();
        Files.createDirectories(dir);
        Path model = dir.resolve("model.safetensors");

        out.println("siamese4j demo: learn to tell faces apart, then verify people never seen in training");
        out.printf(Locale.ROOT, "kernels: %s, threads: %d; output folder: %s%n", KernelProvider.kernels().name(),
                Parallel.threads(), dir);
        // The demo is a plain `train` run with the library's defaults, on generated faces.
        List<String> args = new ArrayList<>(List.of("--data", "synthetic:" + people + "x" + images,
                "--test-identities", Integer.toString(testPeople), "--seed", Long.toString(seed), "--out",
                model.toString(), "--diagnostics", dir.toString(), "--force"));
        if (o.string("epochs", null) != null) {
            args.addAll(List.of("--epochs", Integer.toString(epochs)));
        }
        TrainCommand.Config config = TrainCommand.parse(new TrainCommand().options().parse(args.toArray(String[]::new),
                0));

        // The untrained baseline: the network train starts from (its Rng draws the split first, then the weights),
        // on the same test people.
        ImageDataset heldOut = CliData.load(new CliData.DataSpec(null, testPeople, Math.min(6, images)),
                CliData.HELD_OUT_FIRST, config.input());
        Rng init = new Rng(seed);
        init.split();
        var untrained = ArchSpec.parse(config.arch()).build(config.input(), init.split());
        VerificationReport before = VerificationReport.evaluate(Embeddings.of(untrained, heldOut, 64),
                heldOut.labels(), EmbeddingDistance.EUCLIDEAN, 5, 500, new Rng(3));
        out.printf(Locale.ROOT, "untrained network on the test people: AUC %.3f, 5-way one-shot %.1f%%%n",
                before.auc(), 100 * before.oneShotAccuracy());

        TrainCommand.Result result = TrainCommand.train(config, out, err, terminal);
        VerificationReport after = result.report();

        out.println();
        out.println("summary (test people, never seen in training or validation):");
        out.printf(Locale.ROOT, "  %-28s %10s %10s%n", "", "untrained", "trained");
        row(out, "ROC AUC", before.auc(), after.auc(), false);
        row(out, "equal error rate", before.eer(), after.eer(), true);
        row(out, "verification accuracy", before.accuracy(), after.accuracy(), true);
        row(out, "5-way one-shot accuracy", before.oneShotAccuracy(), after.oneShotAccuracy(), true);
        row(out, "rank-1 identification", before.rank1(), after.rank1(), true);
        if (result.validation() != null) {
            out.printf(Locale.ROOT, "  validation people (chose the epoch and the threshold): AUC %.3f, 5-way one-shot "
                    + "%.1f%%%n", result.validation().auc(), 100 * result.validation().oneShotAccuracy());
        }
        out.printf(Locale.ROOT, "  decision threshold (calibrated on the validation people): distance <= %.4f means "
                + "same person%n", result.threshold());
        out.printf(Locale.ROOT, "model: %s (try: siamese4j eval --model %s)%n", model, model);
        writePlots(dir, result);
        out.printf(Locale.ROOT, "plots: %s, %s, %s, %s, %s%n", dir.resolve("loss.png"), dir.resolve("roc.png"),
                dir.resolve("distances.png"), dir.resolve("pairs.png"), dir.resolve("embeddings.png"));
        return 0;
    }

    /**
     * The training loss, the ROC with its EER point and the decision threshold's point, the two distance histograms,
     * some pairs, a PCA view.
     */
    static void writePlots(Path dir, TrainCommand.Result result) throws IOException {
        double[] losses = result.epochLosses().stream().mapToDouble(Double::doubleValue).toArray();
        double[] validation = result.history().stream().mapToDouble(e -> e.validation() == null ? Double.NaN
                : e.validation().auc()).toArray();
        if (Arrays.stream(validation).allMatch(Double::isNaN)) {
            LossChart.write(dir.resolve("loss.png"), losses);
        } else {
            LossChart.write(dir.resolve("loss.png"), losses, "validation AUC", validation);
        }
        ImageDataset heldOut = result.split().test();
        float[][] embeddings = result.testEmbeddings();
        ScoredPairs pairs = ScoredPairs.all(embeddings, heldOut.labels(), EmbeddingDistance.EUCLIDEAN);
        // the threshold the model file carries, where it falls on the test people's curve, next to their EER point
        OperatingPoint decision = Thresholds.evaluate(pairs.scores(), pairs.same(), pairs.direction(),
                result.threshold());
        RocChart.write(dir.resolve("roc.png"), pairs.roc(), decision, result.validation() != null
                ? "calibrated on the validation people" : "calibrated on the training people");
        DistanceHistogram.write(dir.resolve("distances.png"), pairs, result.threshold());

        // Six same-person and six different-person pairs of held-out people, with their distances.
        Rng rng = new Rng(17);
        int count = 12;
        int[] first = new int[count];
        int[] second = new int[count];
        double[] distance = new double[count];
        Set<Long> shown = new HashSet<>();
        for (int i = 0; i < count; i++) {
            int a;
            int b;
            int tries = 0;
            do {
                a = rng.nextInt(heldOut.size());
                int[] candidates = i % 2 == 0 ? heldOut.indicesOf(heldOut.label(a)) : null;
                do {
                    b = candidates != null ? candidates[rng.nextInt(candidates.length)]
                            : rng.nextInt(heldOut.size());
                } while (b == a || (candidates == null && heldOut.label(b) == heldOut.label(a)));
                // the same pair twice shows the reader nothing new; a tiny test set may have no other
            } while (!shown.add((long) Math.min(a, b) * heldOut.size() + Math.max(a, b)) && ++tries < 100);
            first[i] = a;
            second[i] = b;
            distance[i] = EmbeddingDistance.EUCLIDEAN.between(embeddings[a], embeddings[b]);
        }
        PairGrid.write(dir.resolve("pairs.png"), heldOut, first, second, distance, 4);

        // The first ten held-out people, so the colours and the legend stay readable.
        int people = Math.min(10, heldOut.identityCount());
        List<float[]> points = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int i = 0; i < heldOut.size(); i++) {
            if (heldOut.label(i) < people) {
                points.add(embeddings[i]);
                labels.add(heldOut.label(i));
            }
        }
        EmbeddingPlot.write(dir.resolve("embeddings.png"), points.toArray(float[][]::new),
                labels.stream().mapToInt(Integer::intValue).toArray(), heldOut.identityNames());
    }

    private static void row(PrintStream out, String name, double before, double after, boolean percent) {
        if (percent) {
            out.printf(Locale.ROOT, "  %-28s %9.1f%% %9.1f%%%n", name, 100 * before, 100 * after);
        } else {
            out.printf(Locale.ROOT, "  %-28s %10.3f %10.3f%n", name, before, after);
        }
    }
}
