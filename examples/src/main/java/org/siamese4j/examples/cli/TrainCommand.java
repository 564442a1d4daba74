package org.siamese4j.examples.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.function.ToDoubleBiFunction;
import org.siamese4j.io.ModelFile;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.optim.SGD;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.MetricTrainer;
import org.siamese4j.siamese.TripletTrainer;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PKSampler;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Splits;
import org.siamese4j.siamese.diagnostics.DiagnosticKind;
import org.siamese4j.siamese.diagnostics.DiagnosticsListener;
import org.siamese4j.siamese.diagnostics.EpochFigures;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.diagnostics.StepFigures;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.diagnostics.TrainingMonitor;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.head.HeadTrainer;
import org.siamese4j.siamese.head.SimilarityHead;
import org.siamese4j.siamese.loss.CircleLoss;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.metrics.Thresholds;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.mining.BatchAllMiner;
import org.siamese4j.siamese.mining.BatchHardMiner;
import org.siamese4j.siamese.mining.DistanceFunction;
import org.siamese4j.siamese.mining.OfflineTripletSelector;
import org.siamese4j.siamese.mining.OnlineMiner;
import org.siamese4j.siamese.mining.SemiHardMiner;
import org.siamese4j.siamese.mining.TripletKind;
import org.siamese4j.siamese.mining.TripletStats;
import org.siamese4j.siamese.mining.Triplets;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * {@code siamese4j train}: trains an embedding tower with a metric-learning loss, checkpoints every epoch next to
 * the model ({@code MODEL.ckpt}), evaluates it on identities it never saw, and saves it as a {@link ModelFile}
 * whose metadata holds the architecture, the input shape and the decision threshold ({@code threshold}, in units
 * of {@code distance}) calibrated for best accuracy on the held-out identities.
 *
 * <p>{@code --loss bce-head} trains a pair model instead (Koch et al. 2015): the tower and a learned similarity
 * head on |e1 - e2| ({@code --head SPEC}), with binary cross-entropy on balanced random pairs
 * ({@link HeadTrainer}). Its score is the head's P(same), higher meaning more alike, so its held-out report and
 * its threshold are on P(same), and the model file holds the head next to the tower (no {@code distance} key).
 *
 * <p>Every run is watched by a {@link TrainingMonitor}: the progress shows the loss, the active fraction and, for
 * triplet training, the easy, semi-hard and hard counts of the step; each epoch ends with a line of its figures
 * (positive and negative distances, their gap, the embedding norm and per-dimension variance); the monitor's
 * warnings go to stderr, one line each; {@code --diagnostics DIR} writes the figures as CSV and a chart. A
 * non-finite step ({@link NonFiniteTrainingException}) ends the run with one error line that names the layer and
 * the last good checkpoint, which is kept.
 */
final class TrainCommand implements Siamese4j.Command {
    static final String[] LOSSES = {"contrastive", "triplet", "circle", "bce-head"};
    /**
     * Default of {@code --head}: one hidden layer of 64 on |e1 - e2|, then the logit. On AT&T (30 epochs, the
     * default tower) it reached a held-out AUC of about 0.95 where Koch et al.'s single {@code dense(1)} (a weighted
     * L1 distance) reached 0.90 and {@code dense(16) relu dense(1)} 0.91: the unit-length embeddings differ by
     * about 0.1 per dimension, and one linear layer needs many steps to grow weights large enough to be
     * confident, while a hidden layer rescales them early (docs/cli.md has the figures).
     */
    static final String DEFAULT_HEAD = "dense(64) relu dense(1)";
    static final String[] MINERS = {"none", "offline", "batch-all", "batch-hard", "semi-hard"};
    static final String[] OPTIMIZERS = {"adam", "sgd"};

    /** Kinds of triplets kept by {@code --miner offline}. */
    static final Set<TripletKind> OFFLINE_KEEP = EnumSet.of(TripletKind.SEMI_HARD, TripletKind.HARD);
    /** Default of {@code --min-non-easy}: stop mining once fewer than 5% of the candidates are non-easy. */
    static final float OFFLINE_MIN_NON_EASY = 0.05f;
    /** Default of {@code --candidates}, per training image. */
    static final int OFFLINE_CANDIDATES_PER_IMAGE = 4;

    /**
     * Everything a training run depends on. With {@code --miner offline}, {@code epochs} is the maximum number of
     * mining stages; {@code candidates} (0: {@value #OFFLINE_CANDIDATES_PER_IMAGE} per training image) and
     * {@code minNonEasy} are used only there.
     */
    record Config(String data, String arch, int[] input, String loss, String miner, float margin, int epochs,
                  int p, int k, float lr, String optimizer, long seed, boolean augment, int testIdentities,
                  Path out, Path resume, int candidates, float minNonEasy, String head, Path diagnostics) {
        /** A run with the default offline-mining settings (which only {@code --miner offline} uses). */
        Config(String data, String arch, int[] input, String loss, String miner, float margin, int epochs,
               int p, int k, float lr, String optimizer, long seed, boolean augment, int testIdentities,
               Path out, Path resume) {
            this(data, arch, input, loss, miner, margin, epochs, p, k, lr, optimizer, seed, augment, testIdentities,
                    out, resume, 0, OFFLINE_MIN_NON_EASY, null, null);
        }

        boolean offline() {
            return miner.equals("offline");
        }

        /** {@code --loss bce-head}: a tower and a learned similarity head. */
        boolean headModel() {
            return loss.equals("bce-head");
        }

        /** This run writing its diagnostics (steps.csv, epochs.csv, diagnostics.png) to {@code dir}. */
        Config withDiagnostics(Path dir) {
            return new Config(data, arch, input, loss, miner, margin, epochs, p, k, lr, optimizer, seed, augment,
                    testIdentities, out, resume, candidates, minNonEasy, head, dir);
        }
    }

    /**
     * What a run produced. For a head model {@code network} is the pair model and {@code threshold} is on P(same)
     * ({@code direction} HIGHER_IS_SAME); otherwise {@code network} is null and the threshold is a distance.
     */
    record Result(Sequential tower, ArchSpec arch, int[] input, ImageDataset heldOut, float[][] heldOutEmbeddings,
                  VerificationReport report, double threshold, List<Double> epochLosses, double seconds,
                  HeadSiameseNetwork network, ScoreDirection direction, TrainingMonitor monitor) {
    }

    @Override
    public String summary() {
        return "train an embedding network (contrastive, triplet or circle loss) or a pair model with a learned "
                + "similarity head (bce-head), and save it with its threshold";
    }

    @Override
    public Options options() {
        return new Options("train")
                .option("data", "training data: a folder with one subfolder per person, or synthetic[:PEOPLExIMAGES]"
                        + " (default synthetic = 120x8)")
                .option("arch", "architecture spec (default: the small 3-block CNN for 1x56x46, see docs)")
                .option("input", "input shape CxHxW; images are resized to it (default " + CliData.DEFAULT_INPUT + ")")
                .option("loss", "contrastive, triplet, circle, or bce-head (a learned similarity head on |e1 - e2|, "
                        + "binary cross-entropy on balanced pairs) (default triplet)")
                .option("miner", "triplet: batch-hard, batch-all, semi-hard (online, in each PxK batch) or offline "
                        + "(stages of hard and semi-hard triplets chosen from the whole training set with the "
                        + "current model); contrastive, circle and bce-head: none (default batch-hard for triplet, "
                        + "none otherwise)")
                .option("margin", "loss margin (default: triplet 0.3, contrastive 1.0, circle 0.25; not for "
                        + "bce-head)")
                .option("head", "--loss bce-head: the similarity head's spec on |e1 - e2|, ending in one logit "
                        + "(default '" + DEFAULT_HEAD + "'; 'dense(1)' is Koch et al.'s weighted L1 distance)")
                .option("epochs", "training epochs in total, counting resumed ones (default 10); with --miner "
                        + "offline the maximum number of mining stages, each followed by one pass over its kept "
                        + "triplets")
                .option("batch", "PxK: P people, K images each (default 12x4); contrastive and bce-head: pairs per "
                        + "step, B or PxK meaning P*K (default 24); --miner offline: P*K triplets per step")
                .option("candidates", "--miner offline: random triplets measured per stage (default "
                        + OFFLINE_CANDIDATES_PER_IMAGE + " per training image)")
                .option("min-non-easy", "--miner offline: stop after a stage with fewer non-easy (hard or semi-hard)"
                        + " candidates than this fraction, 0 to 1 (default " + OFFLINE_MIN_NON_EASY + ")")
                .option("lr", "learning rate (default: adam 0.002, sgd 0.01)")
                .option("optimizer", "adam or sgd (momentum 0.9) (default adam)")
                .option("seed", "random seed of initialisation, sampling and augmentation (default 1)")
                .option("threads", "worker threads for the kernels (default: all processors)")
                .option("augment", "yes or no: random flips, shifts, brightness and contrast (default yes)")
                .option("test-identities", "people held out for the final evaluation (default: synthetic 40, "
                        + "folder 20%)")
                .option("out", "model file to write (default model.safetensors); the checkpoint is MODEL.ckpt")
                .option("resume", "continue the run saved in this checkpoint (same options as the saved run; not "
                        + "with --miner offline)")
                .option("diagnostics", "folder to write the training figures to: steps.csv (one row per step), "
                        + "epochs.csv (one row per epoch) and diagnostics.png");
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
        Parallel.setThreads(o.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024));
        Config config = parse(o);
        train(config, out, err, System.console() != null);
        return 0;
    }

    static Config parse(Options o) {
        String loss = o.choice("loss", "triplet", LOSSES);
        String miner = o.choice("miner", loss.equals("triplet") ? "batch-hard" : "none", MINERS);
        checkCombination(loss, miner);
        boolean head = loss.equals("bce-head");
        if (head && o.string("margin", null) != null) {
            throw new Options.UsageException("--margin does not apply to --loss bce-head: binary cross-entropy has no "
                    + "margin (the head learns where to put the boundary)");
        }
        String headSpec = o.string("head", null);
        if (headSpec != null && !head) {
            throw new Options.UsageException("--head applies only to --loss bce-head (a learned similarity head); "
                    + "--loss " + loss + " compares embeddings by a distance");
        }
        if (head) {
            headSpec = headSpec == null ? DEFAULT_HEAD : headSpec;
            try {
                ArchSpec.parse(headSpec);
            } catch (IllegalArgumentException e) {
                throw new Options.UsageException("--head: " + e.getMessage());
            }
        }
        float defaultMargin = switch (loss) {
            case "triplet" -> 0.3f;
            case "contrastive" -> 1.0f;
            default -> 0.25f;
        };
        float margin = loss.equals("circle") ? o.number("margin", defaultMargin, 0f, 0.499f)
                : o.number("margin", defaultMargin, 0f, 100f);
        String optimizer = o.choice("optimizer", "adam", OPTIMIZERS);
        float lr = o.number("lr", optimizer.equals("adam") ? 2e-3f : 1e-2f, 1e-7f, 10f);
        int[] pk = parseBatch(o.string("batch", pairLoss(loss) ? "24" : "12x4"), loss);
        int[] input;
        try {
            input = ArchSpec.parseInput(o.string("input", CliData.DEFAULT_INPUT));
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException("--input: " + e.getMessage());
        }
        CliData.requireGrey(input);
        String augment = o.choice("augment", "yes", "yes", "no");
        String resume = o.string("resume", null);
        if (resume != null && miner.equals("offline")) {
            throw new Options.UsageException("--resume does not work with --miner offline: the mining stages are not "
                    + "checkpointed (start the run again, or use an online miner: batch-hard, batch-all, semi-hard)");
        }
        String diagnostics = o.string("diagnostics", null);
        return new Config(o.string("data", "synthetic"), o.string("arch", CliData.DEFAULT_ARCH), input, loss, miner,
                head ? Float.NaN : margin, o.integer("epochs", 10, 1, 100_000), pk[0], pk[1], lr, optimizer,
                o.longValue("seed", 1), augment.equals("yes"), o.integer("test-identities", 0, 0, 1_000_000),
                Path.of(o.string("out", "model.safetensors")), resume == null ? null : Path.of(resume),
                o.integer("candidates", 0, 1, 10_000_000), o.number("min-non-easy", OFFLINE_MIN_NON_EASY, 0f, 1f),
                headSpec, diagnostics == null ? null : Path.of(diagnostics));
    }

    /** Losses trained on random pairs, whose {@code --batch} is a number of pairs. */
    static boolean pairLoss(String loss) {
        return loss.equals("contrastive") || loss.equals("bce-head");
    }

    /** Rejects loss and miner pairs the trainers do not implement, listing what works. */
    static void checkCombination(String loss, String miner) {
        String works = "valid combinations: --loss triplet --miner batch-hard|batch-all|semi-hard|offline; "
                + "--loss contrastive --miner none (random balanced pairs); --loss circle --miner none (all pairs "
                + "of each PxK batch); --loss bce-head --miner none (random balanced pairs, learned head)";
        boolean ok = loss.equals("triplet") ? !miner.equals("none") : miner.equals("none");
        if (!ok) {
            throw new Options.UsageException("--loss " + loss + " does not work with --miner " + miner + "; " + works);
        }
    }

    /** {@code PxK} as {P, K}; for the pair losses a plain {@code B} as {B, 1} (B pairs). */
    static int[] parseBatch(String text, String loss) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        boolean pairs = pairLoss(loss);
        try {
            int x = t.indexOf('x');
            if (x < 0 && pairs) {
                int b = Integer.parseInt(t);
                if (b >= 1 && b <= 100_000) {
                    return new int[] {b, 1};
                }
            } else if (x > 0) {
                int p = Integer.parseInt(t.substring(0, x));
                int k = Integer.parseInt(t.substring(x + 1));
                if (p >= (pairs ? 1 : 2) && k >= (pairs ? 1 : 2) && (long) p * k <= 100_000) {
                    return new int[] {p, k};
                }
            }
        } catch (NumberFormatException e) {
            // the usage message below
        }
        throw new Options.UsageException("--batch '" + text + "' is not valid; use PxK with P >= 2 people and K >= 2 "
                + "images each (e.g. 12x4)" + (pairs ? ", or a number of pairs (e.g. 24)" : ""));
    }

    /** {@link #train(Config, PrintStream, PrintStream, boolean)} with the warnings on {@code System.err}. */
    static Result train(Config c, PrintStream out, boolean terminal) throws IOException {
        return train(c, out, System.err, terminal);
    }

    /**
     * Runs the whole training: data, model, loop with checkpoints, held-out evaluation, model file. Progress and
     * per-epoch figures go to {@code out}, the monitor's warnings to {@code err}, one line each.
     *
     * @throws IllegalStateException when a step went non-finite: one line naming the layer and the checkpoint that
     *                               is kept (the model file is not written)
     */
    static Result train(Config c, PrintStream out, PrintStream err, boolean terminal) throws IOException {
        ArchSpec arch;
        try {
            arch = ArchSpec.parse(c.arch());
            arch.outputShape(c.input());
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException("--arch: " + e.getMessage());
        }
        ArchSpec headArch = c.headModel() ? headArch(c, arch) : null;
        if (c.resume() != null && !Files.isRegularFile(c.resume())) {
            throw new NoSuchFileException(c.resume().toString(), null, "no such checkpoint");
        }
        CliData.DataSpec spec = CliData.parseData(c.data(), 120, 8);
        ImageDataset train;
        ImageDataset heldOut;
        Rng rng = new Rng(c.seed());
        Rng splitRng = rng.split();
        if (spec.synthetic()) {
            train = CliData.load(spec, 0, c.input());
            int test = c.testIdentities() > 0 ? c.testIdentities() : 40;
            heldOut = CliData.load(new CliData.DataSpec(null, test, Math.max(2, Math.min(6,
                    spec.imagesPerIdentity()))), CliData.HELD_OUT_FIRST, c.input());
        } else {
            ImageDataset all = CliData.load(spec, 0, c.input());
            Splits.Split split = c.testIdentities() > 0 ? Splits.byIdentity(all, c.testIdentities(), splitRng)
                    : Splits.byIdentity(all, 0.2, splitRng);
            train = split.train();
            heldOut = split.test();
        }
        Sequential tower = arch.build(c.input(), rng.split());
        // the head draws after the tower, so the other losses initialise exactly as before
        HeadSiameseNetwork network = headArch == null ? null
                : new HeadSiameseNetwork(tower, new SimilarityHead(headArch, arch.outputShape(c.input())[0],
                rng.split()));
        Module trained = network == null ? tower : network;
        Optimizer optimizer = c.optimizer().equals("adam") ? new Adam(trained.parameters(), c.lr())
                : new SGD(trained.parameters(), c.lr(), 0.9f);
        Augmenter augmenter = c.augment() ? new Augmenter(Augmenter.Config.faces(), rng.split()) : null;
        Path checkpoint = Path.of(c.out() + ".ckpt");
        TrainingMonitor monitor = new TrainingMonitor()
                .withDistance(c.loss().equals("circle") ? Distance.COSINE : Distance.EUCLIDEAN)
                .withListener(warningsTo(err));

        Loop loop = c.offline() ? null : buildLoop(c, train, tower, network, optimizer, augmenter, rng, monitor);
        if (c.resume() != null && loop != null) {
            loop.resume(c.resume());
            out.printf(Locale.ROOT, "resumed from %s after epoch %d%n", c.resume(), loop.epoch());
        }
        out.printf(Locale.ROOT, "train: %s; held out: %s (people never seen in training)%n", train, heldOut);
        if (network == null) {
            out.printf(Locale.ROOT, "model: %s, %,d parameters, input %s%n", arch, tower.parameterCount(),
                    ArchSpec.formatInput(c.input()));
            out.printf(Locale.ROOT, "loss %s, miner %s, margin %s, batch %s, %s lr %s, seed %d, threads %d%n",
                    c.loss(), c.miner(), c.margin(), c.loss().equals("contrastive") ? (c.p() * c.k()) + " pairs"
                            : c.offline() ? (c.p() * c.k()) + " triplets" : c.p() + "x" + c.k(), c.optimizer(),
                    c.lr(), c.seed(), Parallel.threads());
        } else {
            out.printf(Locale.ROOT, "model: %s, then similarity head %s on |e1 - e2|; %,d parameters (head %,d), "
                            + "input %s%n", arch, headArch, network.parameterCount(),
                    network.head().parameterCount(), ArchSpec.formatInput(c.input()));
            out.printf(Locale.ROOT, "loss bce-head (binary cross-entropy on balanced pairs), batch %d pairs, %s lr %s,"
                    + " seed %d, threads %d%n", c.p() * c.k(), c.optimizer(), c.lr(), c.seed(), Parallel.threads());
        }

        long start = System.nanoTime();
        int epochsBefore = loop == null ? 0 : loop.epoch();
        List<Double> losses;
        try {
            losses = loop == null ? trainOffline(c, train, tower, optimizer, augmenter, rng, monitor, out, terminal)
                    : trainEpochs(c, loop, checkpoint, monitor, out, terminal);
        } catch (NonFiniteTrainingException e) {
            String note = "";
            try {
                writeDiagnostics(c.diagnostics(), monitor, out);
            } catch (IOException | RuntimeException failed) {
                note = "; writing the diagnostics failed: " + Siamese4j.describe(failed);
            }
            throw new IllegalStateException(stoppedMessage(c, e, loop, epochsBefore, checkpoint) + note, e);
        }
        writeDiagnostics(c.diagnostics(), monitor, out);
        int remaining = losses.size();
        double seconds = (System.nanoTime() - start) / 1e9;

        float[][] embeddings = Embeddings.of(tower, heldOut, 64);
        int ways = Math.min(5, heldOut.identityCount());
        ScoreDirection direction = network == null ? ScoreDirection.LOWER_IS_SAME : ScoreDirection.HIGHER_IS_SAME;
        ToDoubleBiFunction<float[], float[]> score = network == null ? EmbeddingDistance.EUCLIDEAN::between
                : network::score;
        VerificationReport report = VerificationReport.evaluate(embeddings, heldOut.labels(), score, direction,
                ways, 500, new Rng(c.seed() ^ 0x0E7A1L));
        double threshold = report.threshold();
        if (!Double.isFinite(threshold)) {
            ScoredPairs pairs = ScoredPairs.all(embeddings, heldOut.labels(), score, direction);
            threshold = Thresholds.forBestAccuracy(pairs.scores(), pairs.same(), pairs.direction()).threshold();
        }
        printReport(out, report, ways, heldOut, network == null ? "distance" : "P(same)");

        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(CliData.KEY_THRESHOLD, Double.toString(threshold));
        if (network == null) {
            meta.put(CliData.KEY_DISTANCE, "euclidean");
        }
        meta.put("threshold_method", "best accuracy, mean of 10 folds of balanced pairs of held-out people"
                + (network == null ? "" : "; on P(same), a pair is the same person when P(same) >= threshold"));
        meta.put("description", network == null ? "siamese4j face embedding"
                : "siamese4j pair model: face embedding tower and learned similarity head");
        meta.put("training_data", spec.toString());
        meta.put("training_identities", Integer.toString(train.identityCount()));
        meta.put("loss", c.loss());
        meta.put("miner", c.miner());
        if (network == null) {
            meta.put("margin", Float.toString(c.margin()));
        }
        meta.put(c.offline() ? "stages" : "epochs", Integer.toString(c.offline() ? losses.size() : c.epochs()));
        meta.put("seed", Long.toString(c.seed()));
        meta.put("held_out_auc", CliData.number(report.auc()));
        StringJoiner history = new StringJoiner(",");
        losses.forEach(l -> history.add(String.format(Locale.ROOT, "%.6f", l)));
        meta.put("loss_history", history.toString());
        if (c.out().toAbsolutePath().getParent() != null) {
            Files.createDirectories(c.out().toAbsolutePath().getParent());
        }
        if (network == null) {
            ModelFile.save(c.out(), tower, arch, c.input(), meta);
        } else {
            network.save(c.out(), arch, c.input(), meta);
        }
        out.printf(Locale.ROOT, "trained %d %s in %.1f s; saved %s (threshold %.4f, %s)%n", remaining,
                c.offline() ? "stages (offline mining, no checkpoint)" : "epochs", seconds, c.out(), threshold,
                network == null ? "euclidean" : "on P(same) of the similarity head");
        return new Result(tower, arch, c.input(), heldOut, embeddings, report, threshold, losses, seconds, network,
                direction, monitor);
    }

    /** The head spec of a bce-head run, checked against the tower's output: flat features, one logit. */
    private static ArchSpec headArch(Config c, ArchSpec arch) {
        int[] shape = arch.outputShape(c.input());
        if (shape.length != 1) {
            throw new Options.UsageException("--arch: --loss bce-head needs a tower that outputs flat embeddings "
                    + "(end it with flatten and a dense layer); '" + arch + "' outputs " + Arrays.toString(shape)
                    + " per image");
        }
        try {
            ArchSpec head = ArchSpec.parse(c.head());
            SimilarityHead.validate(head, shape[0]);
            return head;
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException("--head: " + e.getMessage());
        }
    }

    /** A listener printing each of the monitor's warnings as one line; non-finite ones become the run's error. */
    static DiagnosticsListener warningsTo(PrintStream err) {
        return DiagnosticsListener.warnings(w -> {
            if (w.kind() != DiagnosticKind.NON_FINITE) {
                err.println(w);
            }
        });
    }

    /**
     * The one-line error of a run stopped by a non-finite step: where (epoch, step, layer, parameter), the guard's
     * diagnosis and suggested fix, and which checkpoint is kept.
     */
    static String stoppedMessage(Config c, NonFiniteTrainingException e, Loop loop, int epochsBefore,
                                 Path checkpoint) {
        String what = switch (e.source()) {
            case INPUT -> "input batch";
            case FORWARD -> "forward pass";
            case LOSS -> "loss";
            case GRADIENT -> "gradient";
        };
        StringBuilder sb = new StringBuilder("training stopped by a non-finite ").append(what).append(" at epoch ")
                .append(e.epoch()).append(" step ").append(e.step());
        if (e.layer() != null && !e.layer().isEmpty()) {
            sb.append(" in layer ").append(e.layer());
        }
        if (e.parameter() != null) {
            sb.append(" (parameter ").append(e.parameter()).append(')');
        }
        String diagnosis = e.warning().message().strip();
        if (diagnosis.endsWith(".")) {
            diagnosis = diagnosis.substring(0, diagnosis.length() - 1);
        }
        sb.append(": ").append(diagnosis);
        if (loop == null) {
            sb.append("; offline mining writes no checkpoint, so there is none to resume");
        } else if (loop.epoch() > epochsBefore) {
            sb.append("; the last good checkpoint ").append(checkpoint).append(" (after epoch ").append(loop.epoch())
                    .append(") is kept: fix the cause and continue with --resume ").append(checkpoint);
        } else if (c.resume() != null) {
            sb.append("; the checkpoint ").append(c.resume()).append(" (after epoch ").append(epochsBefore)
                    .append(") is kept, unchanged: fix the cause and continue with --resume ").append(c.resume());
        } else {
            sb.append("; no epoch had completed, so there is no checkpoint yet: fix the cause and start again");
        }
        return sb.append("; the model file was not written").toString();
    }

    /** {@code steps.csv}, {@code epochs.csv} and {@code diagnostics.png} in {@code dir} (nothing when null). */
    static void writeDiagnostics(Path dir, TrainingMonitor monitor, PrintStream out) throws IOException {
        if (dir == null) {
            return;
        }
        Files.createDirectories(dir);
        monitor.writeCsv(dir.resolve("steps.csv"));
        monitor.writeEpochCsv(dir.resolve("epochs.csv"));
        boolean anyStep = monitor.steps().stream().anyMatch(s -> !s.skipped());
        if (anyStep) {
            monitor.writeChart(dir.resolve("diagnostics.png"));
        }
        out.printf(Locale.ROOT, "diagnostics: %s, %s%s%n", dir.resolve("steps.csv"), dir.resolve("epochs.csv"),
                anyStep ? ", " + dir.resolve("diagnostics.png") : " (no step taken, no chart)");
    }

    /** The epochs still to run of an online-mining, pair or circle run, with a checkpoint after each. */
    private static List<Double> trainEpochs(Config c, Loop loop, Path checkpoint, TrainingMonitor monitor,
                                            PrintStream out, boolean terminal) throws IOException {
        int remaining = Math.max(0, c.epochs() - loop.epoch());
        Progress progress = new Progress(out, terminal, "train", remaining * loop.stepsPerEpoch());
        List<Double> losses = new ArrayList<>();
        int[] done = {0};
        while (loop.epoch() < c.epochs()) {
            double[] sum = {0, 0};
            int[] steps = {0};
            int epochNumber = loop.epoch() + 1;
            loop.epoch(checkpoint, (loss, active, images) -> {
                sum[0] += loss;
                sum[1] += active;
                steps[0]++;
                done[0]++;
                progress.update(done[0], String.format(Locale.ROOT, "epoch %d/%d loss %.4f active %.0f%%%s",
                        epochNumber, c.epochs(), sum[0] / steps[0], 100 * sum[1] / steps[0], mined(monitor)),
                        images);
            });
            double mean = steps[0] == 0 ? Double.NaN : sum[0] / steps[0];
            losses.add(mean);
            out.printf(Locale.ROOT, "epoch %d/%d: mean loss %.4f, active terms %.0f%%, checkpoint %s%n", epochNumber,
                    c.epochs(), mean, steps[0] == 0 ? 0 : 100 * sum[1] / steps[0], checkpoint);
            printFigures(out, monitor, epochNumber);
        }
        return losses;
    }

    /** The triplet kinds of the monitor's last step, e.g. {@code " easy 3 semi-hard 20 hard 25"}, or "". */
    static String mined(TrainingMonitor monitor) {
        List<StepFigures> steps = monitor.steps();
        if (steps.isEmpty()) {
            return "";
        }
        TripletStats m = steps.get(steps.size() - 1).mined();
        return m == null ? "" : String.format(Locale.ROOT, " easy %d semi-hard %d hard %d", m.easy(), m.semiHard(),
                m.hard());
    }

    /**
     * The monitor's figures of epoch (or stage) {@code number} as one indented line: mean positive and negative
     * distance, their gap, mean embedding norm, per-dimension variance and, for triplets, the share of each kind.
     */
    static void printFigures(PrintStream out, TrainingMonitor monitor, int number) {
        List<EpochFigures> epochs = monitor.epochs();
        if (epochs.isEmpty() || epochs.get(epochs.size() - 1).epoch() != number) {
            return;
        }
        EpochFigures e = epochs.get(epochs.size() - 1);
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  figures: d+ %.4f, d- %.4f, gap %.4f (%s),"
                        + " mean norm %.4f, per-dim variance mean %.4g min %.4g", e.meanPositiveDistance(),
                e.meanNegativeDistance(), e.gap(), e.distance().name().toLowerCase(Locale.ROOT), e.meanNorm(),
                e.meanVariance(), e.minVariance()));
        if (e.mined() != null) {
            sb.append(String.format(Locale.ROOT, "; triplets easy %.0f%%, semi-hard %.0f%%, hard %.0f%%",
                    100 * e.mined().easyFraction(), 100 * e.mined().semiHardFraction(),
                    100 * e.mined().hardFraction()));
        }
        if (e.skippedBatches() > 0) {
            sb.append("; ").append(e.skippedBatches()).append(" batches skipped (no valid term)");
        }
        out.println(sb);
    }

    /**
     * {@code --miner offline}: up to {@code --epochs} stages of {@link OfflineTripletSelector}. Each stage measures
     * {@code --candidates} random triplets of the training set with the current tower, keeps the hard and
     * semi-hard ones, and trains one pass over them, {@code P*K} triplets per step; the selection stops early after
     * a stage with fewer than {@code --min-non-easy} non-easy candidates. One loss per stage is returned. No
     * checkpoint is written: {@code --resume} is refused for this miner. The monitor sees each stage as an epoch.
     */
    static List<Double> trainOffline(Config c, ImageDataset train, Sequential tower, Optimizer optimizer,
                                     Augmenter augmenter, Rng rng, TrainingMonitor monitor, PrintStream out,
                                     boolean terminal) {
        TripletLoss loss = TripletLoss.hard(c.margin(), Distance.EUCLIDEAN);
        int candidates = c.candidates() > 0 ? c.candidates()
                : (int) Math.min(10_000_000L, (long) OFFLINE_CANDIDATES_PER_IMAGE * train.size());
        OfflineTripletSelector.Config settings = new OfflineTripletSelector.Config(candidates, c.margin(),
                OFFLINE_KEEP, c.minNonEasy(), c.epochs());
        TowerDistances distances = new TowerDistances(tower, train, Distance.EUCLIDEAN, 64);
        Rng orderRng = rng.split();
        OfflineTripletSelector selector;
        try {
            selector = new OfflineTripletSelector(train, distances, settings, rng.split());
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException("--miner offline does not fit the training data (" + train + "): "
                    + e.getMessage());
        }
        out.printf(Locale.ROOT, "offline mining: up to %d stages of %d candidate triplets, keeping %s, stopping "
                + "below %.0f%% non-easy%n", c.epochs(), candidates, OFFLINE_KEEP, 100 * c.minNonEasy());
        int perStep = c.p() * c.k();
        List<Double> losses = new ArrayList<>();
        while (selector.hasNextStage()) {
            distances.invalidate();
            OfflineTripletSelector.Stage stage = selector.nextStage();
            out.println(stage.report());
            Triplets kept = stage.triplets();
            int steps = (kept.size() + perStep - 1) / perStep;
            Progress progress = new Progress(out, terminal, "stage " + stage.number(), steps);
            int[] order = orderRng.permutation(kept.size());
            double sum = 0;
            double active = 0;
            for (int step = 0; step < steps; step++) {
                int from = step * perStep;
                int[] chosen = Arrays.copyOfRange(order, from, Math.min(order.length, from + perStep));
                StepResult r = trainStep(tower, loss, optimizer, augmenter, train, kept, chosen,
                        monitor.begin(tower, stage.number(), step + 1, steps), monitor, c.margin());
                sum += r.loss();
                active += r.activeFraction();
                progress.update(step + 1, String.format(Locale.ROOT, "stage %d/%d loss %.4f active %.0f%%%s",
                        stage.number(), c.epochs(), sum / (step + 1), 100 * active / (step + 1), mined(monitor)),
                        r.images());
            }
            monitor.endEpoch();
            double mean = steps == 0 ? 0 : sum / steps;
            losses.add(mean);
            out.printf(Locale.ROOT, "stage %d/%d: mean loss %.4f, active terms %.0f%%, %d steps%n", stage.number(),
                    c.epochs(), mean, steps == 0 ? 0 : 100 * active / steps, steps);
            printFigures(out, monitor, stage.number());
        }
        selector.stopReason().ifPresent(reason -> out.println("offline mining stopped: " + (reason
                == OfflineTripletSelector.StopReason.BELOW_THRESHOLD ? "few non-easy triplets left" : "last stage")));
        return losses;
    }

    private record StepResult(double loss, double activeFraction, int images) {
    }

    /**
     * One optimiser step on the triplets {@code chosen} (positions in {@code kept}): every image the triplets use
     * is embedded once, in one batch, and the loss picks the rows, so an image shared by several triplets gets all
     * their gradients. The step runs under {@code guard} (a non-finite value stops it before the update) and is
     * reported to the monitor with the easy, semi-hard and hard counts of its triplets.
     */
    private static StepResult trainStep(Sequential tower, TripletLoss loss, Optimizer optimizer, Augmenter augmenter,
                                        ImageDataset train, Triplets kept, int[] chosen, StepGuard guard,
                                        TrainingMonitor monitor, float margin) {
        Map<Integer, Integer> rowOf = new LinkedHashMap<>();
        int[] a = new int[chosen.length];
        int[] p = new int[chosen.length];
        int[] n = new int[chosen.length];
        for (int i = 0; i < chosen.length; i++) {
            a[i] = rowOf.computeIfAbsent(kept.anchor(chosen[i]), key -> rowOf.size());
            p[i] = rowOf.computeIfAbsent(kept.positive(chosen[i]), key -> rowOf.size());
            n[i] = rowOf.computeIfAbsent(kept.negative(chosen[i]), key -> rowOf.size());
        }
        int[] images = rowOf.keySet().stream().mapToInt(Integer::intValue).toArray();
        Tensor batch = train.batch(images);
        if (augmenter != null) {
            batch = augmenter.apply(batch);
        }
        tower.train();
        Tensor embeddings = guard.forward(batch);
        LossResult r = loss.compute(embeddings, a, p, n);
        optimizer.zeroGrad();
        r.loss().backward();
        guard.checkGradients(r.value());
        monitor.step(guard, r.value(), r.activeFraction(), tripletStats(embeddings, a, p, n, margin),
                embeddings.detach(), train.labelsOf(images));
        optimizer.step();
        return new StepResult(r.value(), r.activeFraction(), images.length);
    }

    /** The kinds of the triplets (rows a[i], p[i], n[i] of {@code embeddings}) by their Euclidean distances. */
    private static TripletStats tripletStats(Tensor embeddings, int[] a, int[] p, int[] n, float margin) {
        int d = embeddings.dim(1);
        float[] e = embeddings.data();
        float[] dAP = new float[a.length];
        float[] dAN = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            dAP[i] = (float) Math.sqrt(squaredDistance(e, a[i], p[i], d));
            dAN[i] = (float) Math.sqrt(squaredDistance(e, a[i], n[i], d));
        }
        return TripletStats.of(dAP, dAN, margin);
    }

    private static double squaredDistance(float[] e, int i, int j, int d) {
        double sum = 0;
        for (int k = 0; k < d; k++) {
            double diff = (double) e[i * d + k] - e[j * d + k];
            sum += diff * diff;
        }
        return sum;
    }

    /**
     * The offline selector's view of the model: distances between training images under the current tower, in
     * eval mode and without a graph. Embeddings are cached until {@link #invalidate()} (call it after training),
     * so the anchor-positive and anchor-negative passes of a stage embed each image once.
     */
    static final class TowerDistances implements DistanceFunction {
        private final Module tower;
        private final ImageDataset data;
        private final Distance distance;
        private final int batchSize;
        private final float[][] cache;

        TowerDistances(Module tower, ImageDataset data, Distance distance, int batchSize) {
            this.tower = tower;
            this.data = data;
            this.distance = distance;
            this.batchSize = batchSize;
            this.cache = new float[data.size()][];
        }

        /** Forgets the cached embeddings: the tower has changed. */
        void invalidate() {
            Arrays.fill(cache, null);
        }

        @Override
        public float[] distances(int[] anchors, int[] others) {
            embedMissing(anchors, others);
            float[] d = new float[anchors.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) distance.between(cache[anchors[i]], cache[others[i]]);
            }
            return d;
        }

        private void embedMissing(int[] first, int[] second) {
            boolean[] wanted = new boolean[cache.length];
            int count = 0;
            for (int[] list : new int[][] {first, second}) {
                for (int i : list) {
                    if (cache[i] == null && !wanted[i]) {
                        wanted[i] = true;
                        count++;
                    }
                }
            }
            if (count == 0) {
                return;
            }
            int[] missing = new int[count];
            for (int i = 0, at = 0; i < wanted.length; i++) {
                if (wanted[i]) {
                    missing[at++] = i;
                }
            }
            boolean wasTraining = tower.isTraining();
            tower.eval();
            try (var noGrad = Tensor.noGrad()) {
                for (int start = 0; start < missing.length; start += batchSize) {
                    int[] chunk = Arrays.copyOfRange(missing, start, Math.min(missing.length, start + batchSize));
                    Tensor e = tower.forward(data.batch(chunk));
                    int dim = e.dim(1);
                    float[] values = e.data();
                    for (int j = 0; j < chunk.length; j++) {
                        cache[chunk[j]] = Arrays.copyOfRange(values, j * dim, (j + 1) * dim);
                    }
                }
            } finally {
                tower.train(wasTraining);
            }
        }
    }

    static void printReport(PrintStream out, VerificationReport r, int ways, ImageDataset data) {
        printReport(out, r, ways, data, "distance");
    }

    /** The report, its threshold named by {@code scoreName} ("distance", or "P(same)" for a head model). */
    static void printReport(PrintStream out, VerificationReport r, int ways, ImageDataset data, String scoreName) {
        out.printf(Locale.ROOT, "held-out %d people, %d images: AUC %.4f, EER %.2f%%, 10-fold accuracy %.2f%% "
                        + "(+-%.2f) at %s %.4f%n", data.identityCount(), data.size(), r.auc(), 100 * r.eer(),
                100 * r.accuracy(), 100 * r.accuracyStd(), scoreName, r.threshold());
        out.printf(Locale.ROOT, "  TAR@FAR=1e-2 %s, TAR@FAR=1e-3 %s, %d-way one-shot %.2f%%, rank-1 %.2f%%%n",
                percent(r.tarAtFar1e2()), percent(r.tarAtFar1e3()), ways, 100 * r.oneShotAccuracy(), 100 * r.rank1());
    }

    private static String percent(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f%%", 100 * v) : "n/a (too few pairs)";
    }

    // =====================================================================================================
    // The loops of the four losses behind one face
    // =====================================================================================================

    @FunctionalInterface
    interface StepListener {
        void step(double loss, double activeFraction, int images);
    }

    interface Loop {
        int stepsPerEpoch();

        int epoch();

        /** One epoch, then a checkpoint. */
        void epoch(Path checkpoint, StepListener listener) throws IOException;

        void resume(Path checkpoint) throws IOException;
    }

    private static Loop buildLoop(Config c, ImageDataset train, Sequential tower, HeadSiameseNetwork network,
                                  Optimizer optimizer, Augmenter augmenter, Rng rng, TrainingMonitor monitor) {
        switch (c.loss()) {
            case "triplet" -> {
                OnlineMiner miner = switch (c.miner()) {
                    case "batch-all" -> BatchAllMiner.all();
                    case "semi-hard" -> new SemiHardMiner();
                    default -> new BatchHardMiner();
                };
                TripletTrainer trainer = new TripletTrainer(tower, TripletLoss.hard(c.margin(), Distance.EUCLIDEAN),
                        miner, optimizer, augmenter).withMonitor(monitor);
                PKSampler sampler = pkSampler(train, c, rng);
                return new Loop() {
                    public int stepsPerEpoch() {
                        return sampler.batchesPerEpoch();
                    }

                    public int epoch() {
                        return trainer.epoch();
                    }

                    public void epoch(Path checkpoint, StepListener l) throws IOException {
                        trainer.fit(train, sampler, 1, r -> l.step(r.loss(), r.activeFraction(), r.images()),
                                new TripletTrainer.CheckpointPolicy(checkpoint, 1));
                    }

                    public void resume(Path checkpoint) throws IOException {
                        trainer.resume(checkpoint, sampler);
                    }
                };
            }
            case "circle" -> {
                CircleLoss loss = new CircleLoss(c.margin(), 64f);
                MetricTrainer trainer = MetricTrainer.batches(tower, loss::compute, optimizer, augmenter)
                        .withMonitor(monitor);
                PKSampler sampler = pkSampler(train, c, rng);
                return new Loop() {
                    public int stepsPerEpoch() {
                        return sampler.batchesPerEpoch();
                    }

                    public int epoch() {
                        return trainer.epoch();
                    }

                    public void epoch(Path checkpoint, StepListener l) throws IOException {
                        trainer.fitBatches(train, sampler, 1, r -> l.step(r.loss(), r.activeFraction(), r.images()),
                                checkpoint);
                    }

                    public void resume(Path checkpoint) throws IOException {
                        trainer.resumeBatches(checkpoint, sampler);
                    }
                };
            }
            case "bce-head" -> {
                HeadTrainer trainer = new HeadTrainer(network, optimizer, augmenter).withMonitor(monitor);
                Rng samplerRng = rng.split();
                PairSampler sampler = new PairSampler(train, 0.5, samplerRng);
                int pairs = c.p() * c.k();
                // As for contrastive pairs: an epoch shows about as many images as the training set holds.
                int steps = Math.max(1, (train.size() + 2 * pairs - 1) / (2 * pairs));
                return new Loop() {
                    public int stepsPerEpoch() {
                        return steps;
                    }

                    public int epoch() {
                        return trainer.epoch();
                    }

                    public void epoch(Path checkpoint, StepListener l) throws IOException {
                        trainer.fit(train, sampler, samplerRng, pairs, steps, 1,
                                r -> l.step(r.loss(), r.activeFraction(), r.images()), checkpoint);
                    }

                    public void resume(Path checkpoint) throws IOException {
                        trainer.resume(checkpoint, samplerRng);
                    }
                };
            }
            default -> {
                ContrastiveLoss loss = new ContrastiveLoss(c.margin(), LabelConvention.SAME_IS_ONE);
                MetricTrainer trainer = MetricTrainer.pairs(tower, loss, Distance.EUCLIDEAN, optimizer, augmenter)
                        .withMonitor(monitor);
                Rng samplerRng = rng.split();
                PairSampler sampler = new PairSampler(train, 0.5, samplerRng);
                int pairs = c.p() * c.k();
                // An epoch shows about as many images as the training set holds.
                int steps = Math.max(1, (train.size() + 2 * pairs - 1) / (2 * pairs));
                return new Loop() {
                    public int stepsPerEpoch() {
                        return steps;
                    }

                    public int epoch() {
                        return trainer.epoch();
                    }

                    public void epoch(Path checkpoint, StepListener l) throws IOException {
                        trainer.fitPairs(train, sampler, samplerRng, pairs, steps, 1,
                                r -> l.step(r.loss(), r.activeFraction(), r.images()), checkpoint);
                    }

                    public void resume(Path checkpoint) throws IOException {
                        trainer.resumePairs(checkpoint, samplerRng);
                    }
                };
            }
        }
    }

    private static PKSampler pkSampler(ImageDataset train, Config c, Rng rng) {
        try {
            return new PKSampler(train, c.p(), c.k(), PKSampler.Shortfall.REPEAT, rng.split());
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException("--batch " + c.p() + "x" + c.k() + " does not fit the training data ("
                    + train + "): " + e.getMessage());
        }
    }
}
