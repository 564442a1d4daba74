package org.siamese4j.examples.cli;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import org.siamese4j.io.FileLocks;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.siamese.baseline.FisherFaces;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.metrics.VerificationReport;

/**
 * {@code siamese4j benchmark}: how good a training recipe is on people it never saw, judged as users judge it:
 * the same {@code train} run over several random identity splits and several seeds, each reported on its own
 * test people, then the mean and the spread. A figure from one lucky split says little; this is the command
 * behind the tables of docs/siamese.md.
 *
 * <p>Every option of {@code train} is accepted and passed on ({@code --seed} and {@code --split-seed} are set
 * by the benchmark); each run trains in a temporary folder, deleted afterwards: only the figures are kept.
 */
final class BenchmarkCommand implements Siamese4j.Command {
    @Override
    public String summary() {
        return "train the same recipe over several identity splits and seeds; report the test figures' mean and "
                + "spread";
    }

    @Override
    public Options options() {
        Options o = new TrainCommand().options();
        Options own = new Options("benchmark")
                .option("splits", "random identity splits, seeds of the split K..K+N-1 (default 5)")
                .option("first-split", "K, the seed of the first split (default 1): a sweep can tune on splits 1..N "
                        + "and report on others, say 101..100+N, that steered nothing")
                .option("seeds", "training seeds per split, 1..M (default 2)")
                .flag("csv", "also print one CSV line per run");
        for (Map.Entry<String, String> e : o.declared().entrySet()) {
            if (!e.getKey().equals("seed") && !e.getKey().equals("split-seed") && !e.getKey().equals("out")
                    && !e.getKey().equals("resume") && !e.getKey().equals("force")) {
                own.declare(e.getKey(), e.getValue());
            }
        }
        return own;
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        return run(o, out, System.err);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        o.requireNoPositional();
        int splits = o.integer("splits", 5, 1, 1000);
        int seeds = o.integer("seeds", 2, 1, 1000);
        int first = o.integer("first-split", 1, 1, Integer.MAX_VALUE - 1000);
        Parallel.setThreads(o.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024));
        Path dir = Files.createTempDirectory("siamese4j-benchmark");
        List<String> passed = new ArrayList<>();
        o.given().forEach((name, value) -> {
            if (!List.of("splits", "first-split", "seeds", "csv", "threads").contains(name)) {
                passed.add("--" + name);
                if (!o.isFlag(name)) {
                    passed.add(value);
                }
            }
        });
        out.printf(Locale.ROOT, "benchmark: %d splits (seeds %d..%d) x %d seeds of: train %s%n", splits, first,
                first + splits - 1, seeds, String.join(" ", passed));
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        List<double[]> rows = new ArrayList<>();
        for (int split = first; split < first + splits; split++) {
            double[] baselines = null;                // the split's people, whatever the training seed
            for (int seed = 1; seed <= seeds; seed++) {
                List<String> args = new ArrayList<>(passed);
                args.addAll(List.of("--split-seed", Integer.toString(split), "--seed", Integer.toString(seed),
                        "--out", dir.resolve("model-" + split + "-" + seed + ".safetensors").toString(), "--force"));
                TrainCommand.Config c = TrainCommand.parse(new TrainCommand().options().parse(
                        args.toArray(String[]::new), 0));
                TrainCommand.Result r = TrainCommand.train(c, quiet, err, false);
                // only the figures are kept; the lock files too may go, as no other process writes this folder
                for (Path f : List.of(c.out(), Path.of(c.out() + ".ckpt"))) {
                    Files.deleteIfExists(f);
                    Files.deleteIfExists(FileLocks.lockFileOf(f));
                }
                VerificationReport t = r.report();
                VerificationReport v = r.validation();
                VerificationReport before = r.beforeRefit();
                if (baselines == null) {
                    baselines = baselineAucs(r.split());
                }
                TrainCommand.Result firstMember = r.members().isEmpty() ? null : r.members().get(0);
                double[] row = {split, seed, t.auc(), t.eer(), t.oneShotAccuracy(), t.rank1(), r.seconds(),
                        r.run().bestEpoch(), r.run().epochs(), v == null ? Double.NaN : v.auc(),
                        before == null ? Double.NaN : before.auc(), baselines[0], baselines[1],
                        t.auc() - baselines[1], firstMember == null ? Double.NaN : firstMember.report().auc(),
                        firstMember == null || firstMember.validation() == null ? Double.NaN
                                : firstMember.validation().auc()};
                rows.add(row);
                out.printf(Locale.ROOT, "split %d seed %d: test AUC %.4f, EER %.2f%%, 5-way one-shot %.2f%%, rank-1 "
                                + "%.2f%%; validation AUC %.4f; %sbest epoch %d of %d; %.1f s%n", split, seed, t.auc(),
                        100 * t.eer(), 100 * t.oneShotAccuracy(), 100 * t.rank1(), row[9],
                        c.ensemble() > 1 ? "first member's " : "", r.run().bestEpoch(), r.run().epochs(), r.seconds());
                if (before != null) {
                    out.printf(Locale.ROOT, "  before the refit: test AUC %.4f, EER %.2f%%, 5-way one-shot %.2f%%, "
                            + "rank-1 %.2f%%%n", before.auc(), 100 * before.eer(), 100 * before.oneShotAccuracy(),
                            100 * before.rank1());
                }
                if (firstMember != null) {
                    StringJoiner test = new StringJoiner(", ");
                    StringJoiner validation = new StringJoiner(", ");
                    for (TrainCommand.Result m : r.members()) {
                        test.add(String.format(Locale.ROOT, "%.4f", m.report().auc()));
                        validation.add(m.validation() == null ? "-" : String.format(Locale.ROOT, "%.4f",
                                m.validation().auc()));
                    }
                    out.printf(Locale.ROOT, "  members alone: test AUC %s; validation AUC %s%n", test, validation);
                }
                out.printf(Locale.ROOT, "  baselines on the same test people: raw pixels AUC %.4f, Fisherfaces AUC "
                        + "%.4f%n", baselines[0], baselines[1]);
                if (o.flag("csv")) {
                    out.println("csv," + String.join(",", Arrays.stream(row).mapToObj(x -> String.format(Locale.ROOT,
                            "%.6g", x)).toList()));
                }
            }
        }
        out.printf(Locale.ROOT, "mean (std) over %d runs: test AUC %s, EER %s, 5-way one-shot %s, rank-1 %s, "
                        + "training %s s%n", rows.size(), meanStd(rows, 2, 1, "%.4f"), meanStd(rows, 3, 100, "%.2f%%"),
                meanStd(rows, 4, 100, "%.2f%%"), meanStd(rows, 5, 100, "%.2f%%"), meanStd(rows, 6, 1, "%.1f"));
        // choose between recipes on this line, not the one above: the test people must not steer the choice
        out.printf(Locale.ROOT, "validation AUC (the people that chose each run's epoch): %s%n",
                meanStd(rows, 9, 1, "%.4f"));
        int better = 0;
        for (double[] row : rows) {
            better += row[13] > 0 ? 1 : 0;
        }
        out.printf(Locale.ROOT, "baselines on the same test people: raw pixels AUC %s, Fisherfaces AUC %s; the "
                        + "recipe minus Fisherfaces, run by run: %s, better on %d of %d%n", meanStd(rows, 11, 1, "%.4f"),
                meanStd(rows, 12, 1, "%.4f"), meanStd(rows, 13, 1, "%+.4f"), better, rows.size());
        if (!Double.isNaN(rows.get(0)[14])) {
            // the first member is the plain run with the same seed: each ensemble paired with the model it extends
            out.printf(Locale.ROOT, "the first members alone (the runs without --ensemble): validation AUC %s, test "
                    + "AUC %s%n", meanStd(rows, 15, 1, "%.4f"), meanStd(rows, 14, 1, "%.4f"));
        }
        if (o.flag("refit") && !Double.isNaN(rows.get(0)[10])) {   // an ensemble's members refit one by one
            // the same runs before their refit: each refit paired with the model it would replace
            out.printf(Locale.ROOT, "test AUC before the refit (the first runs' models): %s%n",
                    meanStd(rows, 10, 1, "%.4f"));
        }
        Files.deleteIfExists(dir);
        return 0;
    }

    /**
     * What a recipe must beat, on the test people of {@code split}: the AUC of raw pixels (Euclidean distance) and
     * of Fisherfaces fitted on the training people, the same people the tower learnt from.
     */
    static double[] baselineAucs(TrainCommand.DataSplit split) {
        ImageDataset test = split.test();
        float[][] pixels = new float[test.size()][];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = test.batch(i).toArray();
        }
        float[][] fisher = FisherFaces.fit(split.train()).embed(test);
        return new double[]{ScoredPairs.all(pixels, test.labels(), EmbeddingDistance.EUCLIDEAN).roc().auc(),
                ScoredPairs.all(fisher, test.labels(), EmbeddingDistance.EUCLIDEAN).roc().auc()};
    }

    /** Mean and sample standard deviation of column {@code col}, times {@code scale}, as "m (s)". */
    static String meanStd(List<double[]> rows, int col, double scale, String format) {
        double sum = 0;
        for (double[] r : rows) {
            sum += r[col] * scale;
        }
        double mean = sum / rows.size();
        double sq = 0;
        for (double[] r : rows) {
            sq += (r[col] * scale - mean) * (r[col] * scale - mean);
        }
        double std = rows.size() > 1 ? Math.sqrt(sq / (rows.size() - 1)) : 0;
        return String.format(Locale.ROOT, format + " (" + format + ")", mean, std);
    }
}
