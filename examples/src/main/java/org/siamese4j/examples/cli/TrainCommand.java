package org.siamese4j.examples.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.siamese4j.io.AtomicFiles;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.FileLocks;
import org.siamese4j.io.ModelFile;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.AdamW;
import org.siamese4j.optim.LRScheduler;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.optim.SGD;
import org.siamese4j.optim.WarmupCosineLR;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.LabelledImages;
import org.siamese4j.siamese.data.Splits;
import org.siamese4j.siamese.diagnostics.DiagnosticKind;
import org.siamese4j.siamese.diagnostics.DiagnosticsListener;
import org.siamese4j.siamese.diagnostics.EpochFigures;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.diagnostics.StepFigures;
import org.siamese4j.siamese.diagnostics.TrainingMonitor;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.head.SimilarityHead;
import org.siamese4j.siamese.loss.CircleLoss;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.metrics.Thresholds;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.mining.BatchAllMiner;
import org.siamese4j.siamese.mining.BatchHardMiner;
import org.siamese4j.siamese.mining.OnlineMiner;
import org.siamese4j.siamese.mining.SemiHardMiner;
import org.siamese4j.siamese.mining.TripletStats;
import org.siamese4j.siamese.plot.LossChart;
import org.siamese4j.siamese.train.CircleObjective;
import org.siamese4j.siamese.train.ContrastiveObjective;
import org.siamese4j.siamese.train.HeadObjective;
import org.siamese4j.siamese.train.Objective;
import org.siamese4j.siamese.train.OfflineTripletObjective;
import org.siamese4j.siamese.train.OnlineTripletObjective;
import org.siamese4j.siamese.train.ProxyObjective;
import org.siamese4j.siamese.train.Trainer;
import org.siamese4j.siamese.train.ValidationFigures;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * {@code siamese4j train}: splits the people of the data three ways (training, validation, test; nobody in two),
 * trains an embedding tower with one {@link Objective} through the one {@link Trainer}, validates after every
 * epoch, keeps the weights of the best validation epoch (stopping early with {@code --patience}), calibrates the
 * decision threshold on the validation people, reports on the test people only, and saves a {@link ModelFile}
 * whose metadata holds the architecture, the input shape, the threshold and who was in which part.
 *
 * <p>{@code --loss bce-head} trains a pair model instead (Koch et al. 2015): the tower and a learned similarity
 * head on |e1 - e2|, binary cross-entropy on balanced pairs; its score and threshold are P(same).
 *
 * <p>A checkpoint ({@code MODEL.ckpt}) is written after every epoch with the run's options; {@code --resume}
 * reads them back, refuses an option that contradicts them, and continues exactly. Every run is watched by a
 * {@link TrainingMonitor}, whose warnings go to stderr, one line each; a non-finite step ends the run with one
 * error line naming the layer and the last good checkpoint.
 */
final class TrainCommand implements Siamese4j.Command {
    static final String[] LOSSES = {"contrastive", "triplet", "circle", "proxy", "bce-head"};
    /**
     * {@code --loss proxy}: the scale s of the logits s * cos. Cosines lie in [-1, 1], so s bounds how sure softmax
     * can be; 16 lets the target person reach a probability near 1 among a few dozen (NormFace's range is 10-30).
     */
    static final float PROXY_SCALE = 16f;
    /**
     * Default of {@code --head}: one hidden layer of 64 on |e1 - e2|, then the logit. When it was chosen (AT&T, the
     * training loop before the Trainer) it reached a held-out AUC of about 0.95 where Koch et al.'s single
     * {@code dense(1)} reached 0.90: one linear layer needs many steps to grow weights large enough to be
     * confident, a hidden layer rescales early.
     */
    static final String DEFAULT_HEAD = "dense(64) relu dense(1)";
    static final String[] MINERS = {"none", "offline", "batch-all", "batch-hard", "semi-hard"};
    static final String[] OPTIMIZERS = {"adam", "adamw", "sgd"};
    static final String[] SCHEDULES = {"cosine", "constant"};

    // The defaults of a plain `train --data DIR`, chosen by the sweep in docs/siamese.md ("Choosing the defaults").
    static final String DEFAULT_LOSS = "triplet";
    static final String DEFAULT_MINER = "semi-hard";
    static final float DEFAULT_TRIPLET_MARGIN = 0.3f;
    /** {@code --loss proxy}: CosFace's additive cosine margin (its paper uses 0.35 at a scale of 64). */
    static final float DEFAULT_PROXY_MARGIN = 0.2f;
    /**
     * The default budget is in steps, not epochs: what a recipe needs is a number of updates, and an epoch is 7
     * steps on AT&T's training people but 24 on the synthetic default. Giving {@code --epochs} makes it a budget
     * in epochs instead.
     */
    static final long DEFAULT_STEPS = 1000;
    /** {@code --epochs} when only {@code --steps} bounds the run. */
    static final int UNBOUNDED_EPOCHS = 1_000_000;
    static final String DEFAULT_BATCH = "12x4";
    static final float DEFAULT_ADAM_LR = 2e-3f;
    /** Patience 50 beat 20 on the validation people of AT&T (docs/siamese.md, "Choosing the defaults"). */
    static final int DEFAULT_PATIENCE = 50;
    /**
     * Towers in a default run (a bce-head model, which compares pairs with its own head, has one): the
     * validation people of AT&T and of the synthetic faces chose 3 over 1 (docs/siamese.md, section 12).
     */
    static final int DEFAULT_ENSEMBLE = 3;
    /** Member k of an ensemble trains with {@code --seed + (k - 1) * MEMBER_SEED_STRIDE}: no two runs' seeds meet. */
    static final long MEMBER_SEED_STRIDE = 1_000_003L;
    /** Validation people by default: this fraction of the people not kept for test, at least 2. */
    static final double DEFAULT_VALIDATION_FRACTION = 0.2;
    /** Test people of a folder by default: this fraction of its people, at least 2. */
    static final double DEFAULT_TEST_FRACTION = 0.2;
    /** Synthetic runs: people of the validation and test sets, each from its own range of identities. */
    static final int SYNTHETIC_VALIDATION_PEOPLE = 20;
    static final int SYNTHETIC_TEST_PEOPLE = 40;

    /** Default of {@code --min-non-easy}: stop mining once fewer than 5% of the candidates are non-easy. */
    static final float OFFLINE_MIN_NON_EASY = 0.05f;
    /** Default of {@code --candidates}, per training image. */
    static final int OFFLINE_CANDIDATES_PER_IMAGE = 4;
    /** Options a resumed run may set anew: how long to go on and where to write, not how to train. */
    static final Set<String> RESUME_MAY_CHANGE = Set.of("epochs", "steps", "out", "diagnostics", "threads",
            "resume", "force");

    /**
     * Everything a training run depends on. {@code epochs} and {@code steps} bound the run together (0 steps: no
     * step bound); with {@code --miner offline} an epoch is one mining stage. {@code testIdentities} and
     * {@code validationIdentities} are -1 for their defaults; validation 0 means none (no early stopping, the
     * threshold then comes from the training people).
     */
    record Config(String data, String arch, int[] input, String loss, String miner, float margin, String head,
                  int epochs, long steps, int p, int k, float lr, String optimizer, float weightDecay,
                  String schedule, int warmup, double ema, boolean refit, long seed, long splitSeed, String augment, int testIdentities,
                  int validationIdentities, int patience, int candidates, float minNonEasy, Path out, Path resume,
                  boolean force, Path diagnostics, Path init, int ensemble, int member) {

        boolean offline() {
            return miner.equals("offline");
        }

        /**
         * Member {@code k} (1-based) of this {@code --ensemble} run: the same options and people, its own seed (the
         * first member's is {@code --seed}, so member 1 is the plain run) and its own model file beside
         * {@code --out}, removed once the ensemble is saved; it continues from {@code resume} when that is not
         * null. Its checkpoint records the ensemble, so resuming member 1's continues the whole ensemble.
         */
        Config member(int k, Path resume) {
            long memberSeed = seed + (k - 1) * MEMBER_SEED_STRIDE;
            Path memberDiagnostics = diagnostics == null ? null : diagnostics.resolve("member-" + k);
            return new Config(data, arch, input, loss, miner, margin, head, epochs, steps, p, this.k, lr, optimizer,
                    weightDecay, schedule, warmup, ema, refit, memberSeed, splitSeed, augment, testIdentities,
                    validationIdentities, patience, candidates, minNonEasy, memberOut(out, k), resume, true,
                    memberDiagnostics, init, ensemble, k);
        }

        /** {@code --loss bce-head}: a tower and a learned similarity head. */
        boolean headModel() {
            return loss.equals("bce-head");
        }

        /**
         * The options that make the run what it is, as the command line would give them: saved in checkpoints
         * ({@code run.<option>}) so that {@code --resume} continues the same run.
         */
        Map<String, String> runOptions() {
            Map<String, String> m = new LinkedHashMap<>();
            m.put("data", data);
            m.put("arch", arch);
            m.put("input", ArchSpec.formatInput(input));
            m.put("loss", loss);
            m.put("miner", miner);
            if (!headModel()) {
                m.put("margin", Float.toString(margin));
            } else {
                m.put("head", head);
            }
            m.put("epochs", Integer.toString(epochs));
            if (steps > 0) {
                m.put("steps", Long.toString(steps));
            }
            m.put("batch", pairLoss(loss) || offline() ? Integer.toString(p * k) : p + "x" + k);
            m.put("lr", Float.toString(lr));
            m.put("optimizer", optimizer);
            m.put("weight-decay", Float.toString(weightDecay));
            m.put("schedule", schedule);
            if (warmup >= 0) {
                m.put("warmup", Integer.toString(warmup));
            }
            if (ema > 0) {                                    // absent when off, as in runs saved before --ema
                m.put("ema", Double.toString(ema));
            }
            if (refit) {
                m.put("refit", "true");                          // a flag, as Options.given() has it
            }
            m.put("ensemble", Integer.toString(ensemble));
            m.put("seed", Long.toString(seed));
            m.put("split-seed", Long.toString(splitSeed));
            m.put("augment", augment);
            if (testIdentities >= 0) {
                m.put("test-identities", Integer.toString(testIdentities));
            }
            if (validationIdentities >= 0) {
                m.put("validation-identities", Integer.toString(validationIdentities));
            }
            m.put("patience", Integer.toString(patience));
            if (init != null) {
                m.put("init", init.toString());
            }
            if (offline()) {
                m.put("candidates", Integer.toString(candidates));
                m.put("min-non-easy", Float.toString(minNonEasy));
            }
            return m;
        }
    }

    /**
     * What a run produced. For a head model {@code network} is the pair model and {@code threshold} is on P(same)
     * ({@code direction} HIGHER_IS_SAME); otherwise {@code network} is null and the threshold is a distance.
     * {@code report} is on the test people of {@code split}, {@code validation} on its validation people (null
     * without them). With {@code --refit}, {@code report} is the refit model's and {@code beforeRefit} the first
     * run's model's on the same test people (null without a refit). An {@code --ensemble} run's {@code members}
     * are its members' own results, and its {@code history}, {@code run} and {@code monitor} the first member's;
     * a plain run has no members.
     */
    record Result(Sequential tower, ArchSpec arch, int[] input, DataSplit split, float[][] testEmbeddings,
                  VerificationReport report, VerificationReport validation, double threshold,
                  List<Trainer.EpochReport> history, Trainer.Result run, double seconds, HeadSiameseNetwork network,
                  ScoreDirection direction, TrainingMonitor monitor, VerificationReport beforeRefit,
                  List<Result> members) {
        /** The mean training loss of every epoch of the run, resumed ones included. */
        List<Double> epochLosses() {
            return history.stream().map(Trainer.EpochReport::meanLoss).toList();
        }
    }

    /** The people of a run: training, validation (null for none) and test, nobody in two of them. */
    record DataSplit(ImageDataset train, ImageDataset validation, ImageDataset test) {
    }

    @Override
    public String summary() {
        return "train an embedding network (triplet, contrastive, circle or proxy loss) or a pair model with a learned "
                + "similarity head (bce-head), validate it, and save it with its threshold";
    }

    @Override
    public Options options() {
        return new Options("train")
                .option("data", "training data: a folder with one subfolder per person, or synthetic[:PEOPLExIMAGES]"
                        + " (default synthetic = 120x8)")
                .option("arch", "architecture spec (default: the small 3-block CNN for 1x56x46, see docs)")
                .option("input", "input shape CxHxW; images are resized to it (default " + CliData.DEFAULT_INPUT + ")")
                .option("loss", "triplet, contrastive, circle, proxy (a normalised-softmax classifier over the training "
                        + "people with an additive cosine margin, CosFace), or bce-head (a learned similarity head on "
                        + "|e1 - e2|, binary cross-entropy on balanced pairs) (default " + DEFAULT_LOSS + ")")
                .option("miner", "triplet: batch-hard, batch-all, semi-hard (online, in each PxK batch) or offline "
                        + "(stages of hard and semi-hard triplets chosen from the whole training set with the "
                        + "current model, one stage per epoch); the other losses: none (default " + DEFAULT_MINER
                        + " for triplet)")
                .option("margin", "loss margin (default: triplet " + DEFAULT_TRIPLET_MARGIN + ", contrastive 1.0, "
                        + "circle 0.25, proxy 0.2; not for bce-head)")
                .option("head", "--loss bce-head: the similarity head's spec on |e1 - e2|, ending in one logit "
                        + "(default '" + DEFAULT_HEAD + "'; 'dense(1)' is Koch et al.'s weighted L1 distance)")
                .option("epochs", "a budget in epochs, counting resumed ones; an epoch is one pass over the training "
                        + "images (with --miner offline, one mining stage)")
                .option("steps", "a budget in steps, counting resumed ones (default " + DEFAULT_STEPS + " when --epochs "
                        + "is not given); with both, the run stops at whichever comes first")
                .option("batch", "PxK: P people, K images each (default " + DEFAULT_BATCH + "); contrastive and "
                        + "bce-head: pairs per step, B or PxK meaning P*K (default 24); --miner offline: triplets "
                        + "per step")
                .option("candidates", "--miner offline: random triplets measured per stage (default "
                        + OFFLINE_CANDIDATES_PER_IMAGE + " per training image)")
                .option("min-non-easy", "--miner offline: stop after a stage with fewer non-easy (hard or semi-hard)"
                        + " candidates than this fraction, 0 to 1 (default " + OFFLINE_MIN_NON_EASY + ")")
                .option("lr", "peak learning rate (default: adam and adamw " + DEFAULT_ADAM_LR + ", sgd 0.01)")
                .option("optimizer", "adam, adamw (decoupled weight decay) or sgd (momentum 0.9) (default adam)")
                .option("weight-decay", "adamw: decoupled weight decay, scaled by the learning rate (default 0.1); sgd: L2 "
                        + "penalty (default 0)")
                .option("schedule", "cosine (linear warm-up, then cosine decay to 1% over the budget) or constant "
                        + "(default cosine; offline mining: constant)")
                .option("warmup", "warm-up steps of the cosine schedule (default: 5% of the budget, at most 100)")
                .option("ema", "keep an exponential moving average of the weights, updated after every step with "
                        + "this decay (0.99 averages about the last 100 steps); validation, the best epoch and the "
                        + "saved model use the average (default 0: none)")
                .flag("refit", "once the validation people have chosen the best epoch, train again from the same "
                        + "initial weights on the training and validation people together, as many steps as that "
                        + "epoch had, and save that model (the threshold stays the first run's, calibrated on the "
                        + "validation people it never saw)")
                .option("ensemble", "train this many towers on the same people (side by side on --threads), each "
                        + "a whole run with its own seed, validation and early stopping, and save them as one model "
                        + "whose embedding joins theirs, so that its distances average the members' (default "
                        + DEFAULT_ENSEMBLE + "; bce-head 1)")
                .option("seed", "random seed of the split, initialisation, sampling and augmentation (default 1)")
                .option("split-seed", "another seed for the split alone: the people of each part are those --seed "
                        + "of this value would choose (default: --seed)")
                .option("threads", "worker threads for the kernels (default: all processors)")
                .option("augment", "yes: random flips, shifts, brightness and contrast; rotate: those and rotations by "
                        + "up to 10 degrees and scaling by up to 10%; no: none (default yes)")
                .option("test-identities", "people kept out for the final report, at least 2 (default: synthetic "
                        + SYNTHETIC_TEST_PEOPLE + " others, folder 20%)")
                .option("validation-identities", "people kept out of training to validate each epoch, choose the "
                        + "best epoch and calibrate the threshold; 0 for none (default: synthetic "
                        + SYNTHETIC_VALIDATION_PEOPLE + " others, folder 20% of the rest)")
                .option("patience", "stop when the validation AUC has not improved for this many epochs; 0 trains "
                        + "the whole budget; the best epoch's weights are kept either way (default " + DEFAULT_PATIENCE
                        + ")")
                .option("out", "model file to write (default model.safetensors); the checkpoint is MODEL.ckpt")
                .option("resume", "continue the run saved in this checkpoint, with its options (only --epochs, "
                        + "--steps, --out, --diagnostics and --threads may be given anew)")
                .flag("force", "start a new run even though MODEL.ckpt holds an earlier one (it is replaced)")
                .option("init", "start from the tower weights of this model file, written by train with the same "
                        + "--arch and --input, instead of random ones (to fine-tune a model on new people; a bce-head "
                        + "model's head starts afresh)")
                .option("diagnostics", "folder to write the training figures to: steps.csv (one row per step), "
                        + "epochs.csv (one row per epoch) and diagnostics.png");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        return run(o, out, System.err);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        o.requireNoPositional();
        Options effective = o.string("resume", null) == null ? o : withSavedOptions(o);
        // results do not depend on the thread count, so a resumed run uses this machine's unless told otherwise
        Parallel.setThreads(o.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024));
        train(parse(effective), out, err, Terminal.interactive());
        return 0;
    }

    /**
     * The options of the run saved in {@code --resume}'s checkpoint, with the few given anew
     * ({@link #RESUME_MAY_CHANGE}). Any other option given must agree with the saved run, or it is refused by
     * name: a resumed run that silently trained otherwise would make its checkpoint and metadata lie.
     */
    Options withSavedOptions(Options given) throws IOException {
        Path file = Path.of(given.string("resume", null));
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, "no such checkpoint");
        }
        Checkpoint c = Checkpoint.load(file);
        Map<String, String> saved = new LinkedHashMap<>();
        for (String name : c.stateNames()) {
            if (name.startsWith(RUN_OPTION)) {
                saved.put(name.substring(RUN_OPTION.length()), c.state(name));
            }
        }
        if (saved.isEmpty()) {
            throw new Options.UsageException("--resume " + file + ": the checkpoint holds no run options (an older "
                    + "siamese4j wrote it); start the run again");
        }
        saved.putIfAbsent("ensemble", "1");     // runs saved before --ensemble trained one tower
        Map<String, String> savedCanonical = parse(options(saved, Map.of())).runOptions();
        for (Map.Entry<String, String> option : given.given().entrySet()) {
            String name = option.getKey();
            if (RESUME_MAY_CHANGE.contains(name)) {
                continue;
            }
            // each option on its own, read as the parser reads it: 1e-3 is 0.001
            String before = savedCanonical.get(name);
            String after;
            try {
                after = parse(options(saved, Map.of(name, option.getValue()))).runOptions().get(name);
            } catch (Options.UsageException doesNotFitTheSavedRun) {
                after = option.getValue();
            }
            if (before == null ? after != null : !before.equals(after)) {
                throw new Options.UsageException("--" + name + " " + option.getValue() + " differs from the run "
                        + "saved in " + file + " (" + (before == null ? "not set" : before) + "); a resumed run "
                        + "continues with its own options: leave --" + name + " out, or start a new run");
            }
        }
        Map<String, String> anew = new LinkedHashMap<>();
        given.given().forEach((name, value) -> {
            if (RESUME_MAY_CHANGE.contains(name)) {
                anew.put(name, value);
            }
        });
        return options(saved, anew);
    }

    /** Parsed options of {@code base} overlaid with {@code overrides}. */
    private Options options(Map<String, String> base, Map<String, String> overrides) {
        Map<String, String> all = new LinkedHashMap<>(base);
        all.putAll(overrides);
        Options declared = options();
        List<String> args = new ArrayList<>();
        all.forEach((name, value) -> {
            args.add("--" + name);
            if (!declared.isFlag(name)) {
                args.add(value);
            }
        });
        return declared.parse(args.toArray(String[]::new), 0);
    }

    static final String RUN_OPTION = "run.";

    static Config parse(Options o) {
        String loss = o.choice("loss", DEFAULT_LOSS, LOSSES);
        String miner = o.choice("miner", loss.equals("triplet") ? DEFAULT_MINER : "none", MINERS);
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
            case "triplet" -> DEFAULT_TRIPLET_MARGIN;
            case "contrastive" -> 1.0f;
            case "proxy" -> DEFAULT_PROXY_MARGIN;
            default -> 0.25f;
        };
        float margin = loss.equals("circle") ? o.number("margin", defaultMargin, 0f, 0.499f)
                : loss.equals("proxy") ? o.number("margin", defaultMargin, 0f, 0.999f)
                : o.number("margin", defaultMargin, 0f, 100f);
        String optimizer = o.choice("optimizer", "adam", OPTIMIZERS);
        float lr = o.number("lr", optimizer.equals("sgd") ? 1e-2f : DEFAULT_ADAM_LR, 1e-7f, 10f);
        // adamw's decay is multiplied by the learning rate, so 0.1 at lr 0.002 shrinks weights by 2e-4 a step; the
        // validation people chose it over 0.0005 (docs/siamese.md, "Choosing the defaults")
        float weightDecay = o.number("weight-decay", optimizer.equals("adamw") ? 0.1f : 0f, 0f, 1f);
        if (weightDecay > 0 && optimizer.equals("adam")) {
            throw new Options.UsageException("--weight-decay needs --optimizer adamw (decoupled) or sgd; Adam's "
                    + "L2 penalty is scaled away by its per-parameter step size");
        }
        boolean pairs = pairLoss(loss);
        int[] pk = parseBatch(o.string("batch", pairs ? "24" : miner.equals("offline") ? "40" : DEFAULT_BATCH),
                pairs || miner.equals("offline"));
        int[] input;
        try {
            input = ArchSpec.parseInput(o.string("input", CliData.DEFAULT_INPUT));
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException("--input: " + e.getMessage());
        }
        CliData.requireGrey(input);
        String schedule = o.choice("schedule", miner.equals("offline") ? "constant" : "cosine", SCHEDULES);
        if (schedule.equals("cosine") && miner.equals("offline")) {
            throw new Options.UsageException("--schedule cosine needs the run's length in steps, which offline mining "
                    + "only knows stage by stage; use --schedule constant");
        }
        int validation = o.integer("validation-identities", -1, 0, 1_000_000);
        if (validation == 1) {
            throw new Options.UsageException("--validation-identities 1: validation needs at least 2 people (one-shot "
                    + "and verification compare people), or 0 for none");
        }
        String diagnostics = o.string("diagnostics", null);
        String resume = o.string("resume", null);
        String init = o.string("init", null);
        boolean epochsGiven = o.string("epochs", null) != null;
        long steps = o.longValue("steps", epochsGiven ? 0 : DEFAULT_STEPS);
        long seed = o.longValue("seed", 1);
        if (steps < 0 || (steps == 0 && o.string("steps", null) != null)) {
            throw new Options.UsageException("--steps " + steps + " is out of range; valid: 1 or more");
        }
        String augment = o.choice("augment", "yes", "yes", "rotate", "no");
        // read as a float, like every number option, but kept as the decimal given: 0.99, not 0.9900000095
        double ema = Double.parseDouble(Float.toString(o.number("ema", 0f, 0f, 0.9999f)));
        int test = o.integer("test-identities", -1, 2, 1_000_000);
        Path out = Path.of(o.string("out", "model.safetensors"));
        int ensemble = o.integer("ensemble", head ? 1 : DEFAULT_ENSEMBLE, 1, 100);
        if (ensemble > 1 && head) {
            throw new Options.UsageException("--ensemble joins the members' embeddings, and a bce-head model compares "
                    + "pairs with its own head: use --ensemble with the triplet, contrastive, circle or proxy loss");
        }
        return new Config(o.string("data", "synthetic"), o.string("arch", CliData.DEFAULT_ARCH), input, loss, miner,
                head ? Float.NaN : margin, head ? headSpec : null, o.integer("epochs", UNBOUNDED_EPOCHS, 1, UNBOUNDED_EPOCHS),
                steps, pk[0], pk[1], lr, optimizer, weightDecay, schedule, o.integer("warmup", -1, 0, 1_000_000),
                ema, o.flag("refit"), seed, o.longValue("split-seed", seed), augment, test, validation,
                o.integer("patience", DEFAULT_PATIENCE, 0, 1_000_000), o.integer("candidates", 0, 1, 10_000_000),
                o.number("min-non-easy", OFFLINE_MIN_NON_EASY, 0f, 1f), out, resume == null ? null : Path.of(resume),
                o.flag("force"), diagnostics == null ? null : Path.of(diagnostics), init == null ? null : Path.of(init),
                ensemble, 0);
    }

    /**
     * How a model trained with {@code loss} compares embeddings: cosine distance for the losses built on cosine
     * similarity (circle, proxy), Euclidean for the others. The threshold is calibrated and saved in it.
     */
    static Distance distance(String loss) {
        return loss.equals("circle") || loss.equals("proxy") ? Distance.COSINE : Distance.EUCLIDEAN;
    }

    /** Losses trained on random pairs, whose {@code --batch} is a number of pairs. */
    static boolean pairLoss(String loss) {
        return loss.equals("contrastive") || loss.equals("bce-head");
    }

    /** {@link #train(Config, PrintStream, PrintStream, boolean)} with the warnings on {@code System.err}. */
    static Result train(Config c, PrintStream out, boolean terminal) throws IOException {
        return train(c, out, System.err, terminal);
    }

    /**
     * Runs the whole training: the three-way split, the model, the {@link Trainer} with checkpoints and
     * validation, the threshold on the validation people, the report on the test people, the model file.
     * Progress and per-epoch figures go to {@code out}, the monitor's warnings to {@code err}, one line each.
     *
     * @throws IllegalStateException when a step went non-finite: one line naming the layer and the checkpoint that
     *                               is kept (the model file is not written)
     */
    static Result train(Config c, PrintStream out, PrintStream err, boolean terminal) throws IOException {
        if (c.ensemble() > 1 && c.member() == 0) {
            return trainEnsemble(c, out, err, terminal);
        }
        ArchSpec arch;
        try {
            arch = ArchSpec.parse(c.arch());
            arch.outputShape(c.input());
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException("--arch: " + e.getMessage());
        }
        ArchSpec headArch = c.headModel() ? headArch(c, arch) : null;
        Path checkpoint = Path.of(c.out() + ".ckpt");
        if (c.resume() == null && Files.exists(checkpoint) && !c.force()) {
            throw new Options.UsageException(checkpoint + " holds the checkpoint of an earlier run: continue it with "
                    + "--resume " + checkpoint + " --out " + c.out() + ", or give --force to start a new run over it");
        }
        if (c.resume() != null && !Files.isRegularFile(c.resume())) {
            throw new NoSuchFileException(c.resume().toString(), null, "no such checkpoint");
        }
        // Before training, not after the first epoch: a typo in --out should cost nothing.
        Path folder = c.out().toAbsolutePath().getParent();
        if (folder != null) {
            Files.createDirectories(folder);
        }
        CliData.DataSpec spec = CliData.parseData(c.data(), 120, 8);
        Rng rng = new Rng(c.seed());
        Rng splitRng = rng.split();
        DataSplit split = split(c, spec, c.splitSeed() == c.seed() ? splitRng : new Rng(c.splitSeed()).split());
        if (c.refit() && split.validation() == null) {
            throw new Options.UsageException("--refit needs validation people to choose the epoch it trains to; "
                    + "leave out --validation-identities 0");
        }
        StartingPoint startingPoint = startingPoint(c, arch);
        if (startingPoint != null) {
            warnIfSeen(err, c.init(), startingPoint.people(), split.validation(), "validation");
            warnIfSeen(err, c.init(), startingPoint.people(), split.test(), "test");
        }
        Learner learner = learner(c, arch, headArch, split.train(), rng, 0, startingPoint, out);
        Sequential tower = learner.tower();
        HeadSiameseNetwork network = learner.network();
        Objective objective = learner.objective();
        Optimizer optimizer = learner.optimizer();
        Augmenter augmenter = learner.augmenter();
        LRScheduler schedule = learner.schedule();
        Progress progress = new Progress(out, terminal, terminal ? Terminal.columns() : Terminal.FALLBACK_COLUMNS);
        TrainingMonitor monitor = new TrainingMonitor()
                .withDistance(distance(c.loss()))
                .withMargin(c.loss().equals("triplet") ? c.margin() : Double.NaN)
                .withListener(warningsTo(err, progress));
        EpochPrinter printer = new EpochPrinter(out, progress, displayEpochs(c, objective), monitor);
        Trainer.Builder builder = Trainer.builder(tower, objective, optimizer, split.train()).augmenter(augmenter)
                .schedule(schedule).monitor(monitor).validation(split.validation()).earlyStopping(c.patience())
                .checkpoint(checkpoint).listener(printer).ema(c.ema());
        c.runOptions().forEach(builder::runInfo);
        builder.runInfo("threads", Integer.toString(Parallel.threads()));
        Trainer trainer = builder.build();
        if (c.resume() != null) {
            trainer.resume(c.resume());
            out.printf(Locale.ROOT, "resumed from %s after epoch %d (step %d)%n", c.resume(), trainer.epoch(),
                    trainer.steps());
            Map<String, String> saved = c.runOptions();
            Checkpoint checkpointRead = Checkpoint.load(c.resume());
            String savedBudget = checkpointRead.state(RUN_OPTION + "epochs") + " epochs" + (checkpointRead
                    .stateNames().contains(RUN_OPTION + "steps") ? " or " + checkpointRead.state(RUN_OPTION + "steps")
                    + " steps" : "");
            String budget = saved.get("epochs") + " epochs" + (saved.containsKey("steps") ? " or " + saved.get("steps")
                    + " steps" : "");
            if (schedule != null && !savedBudget.equals(budget)) {
                out.printf(Locale.ROOT, "note: the budget changed from %s to %s, and the cosine schedule spans the "
                        + "new one: the learning rate is now %.3g, not what an uninterrupted run of either budget "
                        + "would use%n", savedBudget, budget, schedule.currentLr());
            }
        }
        printHeader(out, c, split, arch, headArch, tower, network, objective);

        long start = System.nanoTime();
        int epochsBefore = trainer.epoch();
        Trainer.Result run;
        Thread interrupted = resumeHint(err, c, checkpoint, trainer);
        Runtime.getRuntime().addShutdownHook(interrupted);
        try {
            run = trainer.fit(new Trainer.Budget(c.epochs(), c.steps() > 0 ? c.steps() : Long.MAX_VALUE));
        } catch (NonFiniteTrainingException e) {
            progress.endLine();                                 // the error line must not land on the bar's
            String note = "";
            try {
                writeDiagnostics(c.diagnostics(), monitor, out);
            } catch (IOException | RuntimeException failed) {
                note = "; writing the diagnostics failed: " + Siamese4j.describe(failed);
            }
            throw new IllegalStateException(stoppedMessage(c, e, trainer.epoch(), epochsBefore, checkpoint) + note, e);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(interrupted);
            } catch (IllegalStateException shuttingDown) {
                // the JVM is exiting (Ctrl-C): the hook prints how to resume
            }
        }
        writeDiagnostics(c.diagnostics(), monitor, out);
        writeValidation(c.diagnostics(), trainer.history(), out);
        double seconds = (System.nanoTime() - start) / 1e9;
        printStop(out, run, trainer);

        // The threshold comes from people the report does not use: validation, else training.
        VerificationReport calibration = trainer.evaluate(split.validation() != null ? split.validation()
                : split.train());
        double threshold = threshold(calibration, tower, split.validation() != null ? split.validation()
                : split.train(), objective.scoring());
        ScoreDirection direction = objective.scoring().direction();
        // --refit: the model saved and reported is the second run's; the threshold stays the first run's, from
        // people that model never saw (the refit model has trained on them: its distances between them would be
        // too small, and a threshold from them too strict, on people it has never seen)
        long refitSteps = 0;
        VerificationReport beforeRefit = null;
        if (c.refit()) {
            // the first run's model on the test people, printed, for the record: a refit is judged against it
            beforeRefit = trainer.evaluate(split.test());
            out.printf(Locale.ROOT, "before the refit, the first run's model on the test people: AUC %.4f, EER %.2f%%, "
                    + "one-shot %.2f%%, rank-1 %.2f%%%n", beforeRefit.auc(), 100 * beforeRefit.eer(),
                    100 * beforeRefit.oneShotAccuracy(), 100 * beforeRefit.rank1());
            long refitStart = System.nanoTime();
            refitSteps = refit(c, arch, headArch, split, learner, startingPoint, run, trainer.history(), out);
            double refitSeconds = (System.nanoTime() - refitStart) / 1e9;
            seconds += refitSeconds;
            out.printf(Locale.ROOT, "refit done in %.1f s; the threshold stays the first run's%n", refitSeconds);
        }
        VerificationReport report = trainer.evaluate(split.test());
        float[][] testEmbeddings = Embeddings.of(tower, split.test(), 64);
        ScoredPairs testPairs = ScoredPairs.all(testEmbeddings, split.test().labels(), objective.scoring().score(),
                direction);
        String scoreName = network == null ? "distance" : "P(same)";
        printTestReport(out, report, split, scoreName, testPairs, threshold);

        Map<String, String> meta = metadata(c, spec, split, trainer, run, report, calibration, threshold, network);
        if (startingPoint != null && !startingPoint.people().isEmpty()) {
            meta.put(CliData.KEY_INIT_PEOPLE, String.join(",", startingPoint.people()));
        }
        if (c.refit()) {
            List<String> trainedOn = new ArrayList<>(split.train().identityNames());
            trainedOn.addAll(split.validation().identityNames());
            meta.put(CliData.KEY_TRAINING_PEOPLE, String.join(",", trainedOn));
            meta.put("training_identities", Integer.toString(trainedOn.size()));
            meta.put("refit_steps", Long.toString(refitSteps));
            meta.put("threshold_method", meta.get("threshold_method") + ", by the model before its refit on them");
        }
        if (network == null) {
            ModelFile.save(c.out(), tower, arch, c.input(), meta);
        } else {
            network.save(c.out(), arch, c.input(), meta);
        }
        out.printf(Locale.ROOT, "trained %d epochs (%d steps) in %.1f s; saved %s (threshold %.4f, %s)%n",
                trainer.epoch() - epochsBefore, trainer.steps(), seconds, c.out(), threshold,
                network == null ? distance(c.loss()) == Distance.COSINE ? "cosine distance" : "euclidean"
                        : "on P(same) of the similarity head");
        return new Result(tower, arch, c.input(), split, testEmbeddings, report,
                split.validation() == null ? null : calibration, threshold, trainer.history(), run, seconds, network,
                direction, monitor, beforeRefit, List.of());
    }

    /**
     * The threshold of the calibration report on {@code people} or, when that one is not finite, the best-accuracy
     * threshold of all their pairs at once.
     */
    private static double threshold(VerificationReport calibration, Module tower, ImageDataset people,
                                    Objective.Scoring scoring) {
        if (Double.isFinite(calibration.threshold())) {
            return calibration.threshold();
        }
        ScoredPairs pairs = ScoredPairs.all(Embeddings.of(tower, people, 64), people.labels(), scoring.score(),
                scoring.direction());
        return Thresholds.forBestAccuracy(pairs.scores(), pairs.same(), pairs.direction()).threshold();
    }

    /** {@code towers} copies of {@code tower} joined into one model: {@code concat(T | T | ...) l2norm}. */
    static ArchSpec ensembleSpec(ArchSpec tower, int towers) {
        return ArchSpec.parse("concat(" + String.join(" | ", Collections.nCopies(towers, tower.toString()))
                + ") l2norm");
    }

    /**
     * Trains an ensemble's members, several at a time when there are threads for it: each member on a thread of
     * its own with its kernels on that one thread. One batch of the default tower is too small to keep two cores
     * busy (two threads train it 1.4x faster than one, DefaultTowerBench); two members side by side keep both
     * busy. Every kernel gives the same bits on any number of threads, so the members are those trained one after
     * another.
     * The first member prints as it goes; the others' output is held and printed after it, member by member, so
     * the output does not depend on timing. Their warnings and Ctrl-C messages go out at once, marked with the
     * member.
     */
    private static List<Result> trainMembers(List<Config> members, PrintStream out, PrintStream err,
                                             boolean terminal) throws IOException {
        int threads = Parallel.threads();
        int workers = Math.min(members.size(), threads);
        if (workers == 1) {
            List<Result> results = new ArrayList<>();
            for (Config member : members) {
                results.add(trainMember(member, members.size(), out, err, terminal));
            }
            return results;
        }
        List<ByteArrayOutputStream> held = new ArrayList<>();
        List<Future<Result>> running = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(workers, task -> {
            Thread t = new Thread(task, "siamese4j-ensemble-member");
            t.setDaemon(true);
            return t;
        });
        Parallel.setThreads(1);
        try {
            for (Config member : members) {
                boolean first = member.member() == 1;
                ByteArrayOutputStream buffer = new ByteArrayOutputStream();
                held.add(buffer);
                PrintStream memberOut = first ? out : new PrintStream(buffer, true, StandardCharsets.UTF_8);
                PrintStream memberErr = first ? err : new PrintStream(new LinePrefixStream(err,
                        "member " + member.member() + ": "), true, StandardCharsets.UTF_8);
                running.add(pool.submit(() -> trainMember(member, members.size(), memberOut, memberErr,
                        first && terminal)));
            }
            List<Result> results = new ArrayList<>();
            for (int i = 0; i < running.size(); i++) {
                try {
                    results.add(finished(running.get(i)));
                } finally {
                    out.print(held.get(i).toString(StandardCharsets.UTF_8));   // a failed member's too
                }
            }
            return results;
        } finally {
            pool.shutdownNow();
            Parallel.setThreads(threads);
        }
    }

    private static Result trainMember(Config member, int members, PrintStream out, PrintStream err,
                                      boolean terminal) throws IOException {
        out.printf(Locale.ROOT, "ensemble member %d of %d (seed %d):%n", member.member(), members, member.seed());
        return train(member, out, err, terminal);
    }

    /** The result of a member trained on another thread, or what it threw. */
    private static Result finished(Future<Result> member) throws IOException {
        try {
            return member.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for an ensemble member", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IOException(cause);
        }
    }

    /** Writes each whole line to {@code target} at once, after {@code prefix}. */
    private static final class LinePrefixStream extends OutputStream {
        private final PrintStream target;
        private final String prefix;
        private final ByteArrayOutputStream line = new ByteArrayOutputStream();

        LinePrefixStream(PrintStream target, String prefix) {
            this.target = target;
            this.prefix = prefix;
        }

        @Override
        public synchronized void write(int b) {
            line.write(b);
            if (b == '\n') {
                target.print(prefix + line.toString(StandardCharsets.UTF_8));
                target.flush();
                line.reset();
            }
        }
    }

    /** Where member {@code k} of an ensemble saved as {@code out} writes its own model while training. */
    static Path memberOut(Path out, int k) {
        return Path.of(out + ".member-" + k + ".safetensors");
    }

    /** The report on the test people, and how the threshold calibrated without them does on them. */
    private static void printTestReport(PrintStream out, VerificationReport report, DataSplit split, String scoreName,
                                        ScoredPairs testPairs, double threshold) {
        printReport(out, report, Math.min(5, split.test().identityCount()), split.test(), scoreName, "test");
        out.printf(Locale.ROOT, "  at the threshold %.4f calibrated on the %s people: balanced accuracy %.2f%% on "
                        + "the test people%n", threshold, split.validation() != null ? "validation" : "training",
                100 * balancedAccuracy(testPairs, threshold));
    }

    /**
     * {@code --ensemble N}: N towers trained on the same people ({@link #trainMembers}), each a whole run of its own
     * (seed, validation, early stopping), then joined into one model, {@code concat(T | T | ...) l2norm}. Its
     * embedding is the members' unit embeddings side by side, scaled back to unit length, so its squared Euclidean
     * distance (or cosine similarity) is the mean of the members'. Towers that started and were sampled differently
     * learn different accidents of a few training people; averaging them keeps more of what they share
     * (docs/siamese.md, section 12). The threshold is calibrated anew, for the joined model, on the validation
     * people.
     */
    private static Result trainEnsemble(Config c, PrintStream out, PrintStream err, boolean terminal)
            throws IOException {
        Path checkpoint = Path.of(c.out() + ".ckpt");
        Path firstCheckpoint = Path.of(memberOut(c.out(), 1) + ".ckpt");
        if (c.resume() == null && !c.force()) {
            if (Files.exists(firstCheckpoint)) {
                throw new Options.UsageException(firstCheckpoint + " holds the checkpoint of an earlier ensemble run: "
                        + "continue it with --resume " + firstCheckpoint + " --out " + c.out() + ", or give --force "
                        + "to start a new run over it");
            }
            if (Files.exists(checkpoint)) {
                throw new Options.UsageException(checkpoint + " holds the checkpoint of an earlier run, which would be "
                        + "left beside an ensemble model it does not describe: give --force to delete it, or another "
                        + "--out");
            }
        }
        if (c.resume() != null && !c.resume().toAbsolutePath().normalize().equals(
                firstCheckpoint.toAbsolutePath().normalize())) {
            throw new Options.UsageException("--resume " + c.resume() + ": an ensemble continues from its first "
                    + "member's checkpoint, " + firstCheckpoint + " for --out " + c.out());
        }
        List<Config> memberConfigs = new ArrayList<>();
        for (int k = 1; k <= c.ensemble(); k++) {
            // resuming, each member continues from its checkpoint (one that had finished stops at once, with the
            // same weights), and a member not yet begun starts afresh
            Path memberCheckpoint = Path.of(memberOut(c.out(), k) + ".ckpt");
            memberConfigs.add(c.member(k, c.resume() != null && Files.exists(memberCheckpoint) ? memberCheckpoint
                    : null));
        }
        long start = System.nanoTime();
        List<Result> members = trainMembers(memberConfigs, out, err, terminal);
        double seconds = (System.nanoTime() - start) / 1e9;
        ArchSpec arch = ensembleSpec(members.get(0).arch(), c.ensemble());
        Sequential tower = arch.build(c.input(), new Rng(c.seed()));
        Map<String, Tensor> weights = new LinkedHashMap<>();
        for (int k = 0; k < members.size(); k++) {
            String prefix = "0.branches." + k + ".";
            members.get(k).tower().stateDict().forEach((name, value) -> weights.put(prefix + name, value));
        }
        tower.loadStateDict(weights, true);
        tower.eval();

        DataSplit split = members.get(0).split();
        Distance distance = distance(c.loss());
        Objective.Scoring scoring = new Objective.Scoring(distance::between, ScoreDirection.LOWER_IS_SAME,
                distance.name());
        ImageDataset calibrationPeople = split.validation() != null ? split.validation() : split.train();
        VerificationReport calibration = Trainer.evaluate(tower, scoring, calibrationPeople);
        double threshold = threshold(calibration, tower, calibrationPeople, scoring);
        VerificationReport report = Trainer.evaluate(tower, scoring, split.test());
        float[][] testEmbeddings = Embeddings.of(tower, split.test(), 64);
        ScoredPairs testPairs = ScoredPairs.all(testEmbeddings, split.test().labels(), scoring.score(),
                ScoreDirection.LOWER_IS_SAME);
        StringJoiner memberFigures = new StringJoiner(", ");
        for (Result r : members) {
            memberFigures.add(String.format(Locale.ROOT, "%.4f", r.report().auc()));
        }
        out.printf(Locale.ROOT, "ensemble of %d towers (members' test AUC %s):%n", c.ensemble(), memberFigures);
        if (split.validation() != null) {
            printReport(out, calibration, Math.min(5, split.validation().identityCount()), split.validation(),
                    "distance", "validation");
        }
        printTestReport(out, report, split, "distance", testPairs, threshold);

        // the members' own metadata describe the data, the people and the options; the figures are the ensemble's
        Map<String, String> meta = new LinkedHashMap<>(ModelFile.load(memberOut(c.out(), 1)).metadata());
        List.of(ModelFile.KEY_FORMAT, ModelFile.KEY_FORMAT_VERSION, ModelFile.KEY_ARCH, ModelFile.KEY_INPUT,
                "epochs_run", "steps_run", "best_epoch", "loss_history", "validation_auc_history", "refit_steps")
                .forEach(meta::remove);
        meta.put(CliData.KEY_THRESHOLD, Double.toString(threshold));
        meta.put("test_auc", CliData.number(report.auc()));
        if (split.validation() != null) {
            meta.put("validation_auc", CliData.number(calibration.auc()));
        }
        meta.put("description", "siamese4j face embedding: an ensemble of " + c.ensemble() + " towers");
        c.runOptions().forEach((name, value) -> meta.put("option_" + name.replace('-', '_'), value));
        StringJoiner seeds = new StringJoiner(",");
        StringJoiner bestEpochs = new StringJoiner(",");
        StringJoiner testAucs = new StringJoiner(",");
        for (int k = 1; k <= c.ensemble(); k++) {
            seeds.add(Long.toString(c.member(k, null).seed()));
            bestEpochs.add(Integer.toString(members.get(k - 1).run().bestEpoch()));
            testAucs.add(CliData.number(members.get(k - 1).report().auc()));
        }
        meta.put("member_seeds", seeds.toString());
        meta.put("member_best_epochs", bestEpochs.toString());
        meta.put("member_test_aucs", testAucs.toString());
        ModelFile.save(c.out(), tower, arch, c.input(), meta);
        Files.deleteIfExists(checkpoint);
        for (int k = 1; k <= c.ensemble(); k++) {
            Path file = memberOut(c.out(), k);
            for (Path f : List.of(file, Path.of(file + ".ckpt"))) {
                Files.deleteIfExists(f);
                Files.deleteIfExists(FileLocks.lockFileOf(f));
            }
        }
        out.printf(Locale.ROOT, "trained %d towers in %.1f s; saved %s (threshold %.4f, %s)%n", c.ensemble(), seconds,
                c.out(), threshold, distance == Distance.COSINE ? "cosine distance" : "euclidean");
        Result first = members.get(0);
        return new Result(tower, arch, c.input(), split, testEmbeddings, report, split.validation() == null ? null
                : calibration, threshold, first.history(), first.run(), seconds, null, ScoreDirection.LOWER_IS_SAME,
                first.monitor(), null, List.copyOf(members));
    }

    /** What a run trains and with what: the model, the objective, the optimiser, the augmenter and the schedule. */
    record Learner(Sequential tower, HeadSiameseNetwork network, Objective objective, Optimizer optimizer,
                   Augmenter augmenter, LRScheduler schedule, long scheduleSteps) {
    }

    /**
     * A fresh learner of {@code c} on {@code train}, drawing its initial weights and Rngs from {@code rng} in a fixed
     * order, so that the same seed gives the same start. The cosine schedule spans {@code scheduleSteps}, or when
     * that is 0 the budget of {@code c} in steps.
     */
    private static Learner learner(Config c, ArchSpec arch, ArchSpec headArch, ImageDataset train, Rng rng,
                                   long scheduleSteps, StartingPoint start, PrintStream out) {
        // drawn even when --init replaces them, so the seed's later draws (sampling, augmentation) stay the same
        Sequential tower = arch.build(c.input(), rng.split());
        if (start != null) {
            tower.loadStateDict(start.weights(), true);
        }
        // the head draws after the tower, so the other losses initialise exactly as before
        HeadSiameseNetwork network = headArch == null ? null
                : new HeadSiameseNetwork(tower, new SimilarityHead(headArch, arch.outputShape(c.input())[0],
                rng.split()));
        Objective objective = objective(c, train, tower, arch.outputShape(c.input())[0], network, rng.split(), out);
        Module model = objective.model(tower);
        Optimizer optimizer = switch (c.optimizer()) {
            case "adam" -> new Adam(model.parameters(), c.lr());
            case "adamw" -> AdamW.builder(model.parameters()).lr(c.lr()).weightDecay(c.weightDecay()).build();
            default -> new SGD(model.parameters(), c.lr(), 0.9f, 0f, c.weightDecay(), false);
        };
        Augmenter augmenter = switch (c.augment()) {
            case "yes" -> new Augmenter(Augmenter.Config.faces(), rng.split());
            case "rotate" -> new Augmenter(Augmenter.Config.facesRotated(), rng.split());
            default -> null;
        };
        long budgetSteps = scheduleSteps > 0 ? scheduleSteps : c.steps() > 0 ? Math.min(c.steps(),
                (long) c.epochs() * objective.stepsPerEpoch()) : (long) c.epochs() * objective.stepsPerEpoch();
        LRScheduler schedule = null;
        if (c.schedule().equals("cosine")) {
            int total = (int) Math.min(Integer.MAX_VALUE, Math.max(2, budgetSteps));
            int warmup = c.warmup() >= 0 ? Math.min(c.warmup(), total - 1) : (int) Math.min(100, total / 20);
            schedule = new WarmupCosineLR(optimizer, warmup, total, c.lr() * 0.01);
        }
        return new Learner(tower, network, objective, optimizer, augmenter, schedule, budgetSteps);
    }

    /**
     * {@code --init}: the tower weights a run starts from, and every person the model they come from had seen
     * (its training, validation and own starting model's people), which the new model has seen too.
     */
    record StartingPoint(Map<String, Tensor> weights, Set<String> people) {
    }

    /** Says on {@code err} when the {@code --init} model had seen some of {@code part}'s people. */
    private static void warnIfSeen(PrintStream err, Path init, Set<String> seen, ImageDataset part, String name) {
        if (part == null) {
            return;
        }
        long overlap = part.identityNames().stream().filter(seen::contains).count();
        if (overlap > 0) {
            err.printf(Locale.ROOT, "warning: the --init model %s had seen %d of the %d %s people: the %s figures "
                    + "are not on people the model never saw%n", init, overlap, part.identityCount(), name, name);
        }
    }

    /** The starting point of {@code --init}, checked against the run's architecture and input; null without it. */
    private static StartingPoint startingPoint(Config c, ArchSpec arch) throws IOException {
        if (c.init() == null) {
            return null;
        }
        if (!Files.isRegularFile(c.init())) {
            throw new NoSuchFileException(c.init().toString(), null, "--init: no such model file");
        }
        ModelFile.LoadedModel from = ModelFile.load(c.init());
        Map<String, Tensor> weights = from.model().stateDict();
        ArchSpec.Layer first = from.arch().layers().get(0);
        int towers = first.kind() == ArchSpec.Kind.CONCAT ? first.branches().size() : 0;
        if (towers > 0 && from.arch().toString().equals(ensembleSpec(arch, towers).toString())) {
            // an ensemble's tower: member k of this run starts from tower k (cycling when it has fewer)
            String prefix = "0.branches." + (Math.max(1, c.member()) - 1) % towers + ".";
            Map<String, Tensor> tower = new LinkedHashMap<>();
            weights.forEach((name, value) -> {
                if (name.startsWith(prefix)) {
                    tower.put(name.substring(prefix.length()), value);
                }
            });
            weights = tower;
        } else if (!from.arch().toString().equals(arch.toString())) {
            throw new Options.UsageException("--init " + c.init() + " has the architecture '" + from.arch()
                    + "', this run '" + arch + "': give the same --arch (or a model whose towers have it)");
        }
        if (!Arrays.equals(from.inputShape(), c.input())) {
            throw new Options.UsageException("--init " + c.init() + " takes input " + ArchSpec.formatInput(
                    from.inputShape()) + ", this run " + ArchSpec.formatInput(c.input()) + ": give the same --input");
        }
        Set<String> people = new TreeSet<>(CliData.seenPeople(from.metadata()));
        return new StartingPoint(weights, people);
    }

    /**
     * {@code --refit}: a second run from the first one's initial weights (the same seed, drawn in the same order)
     * on the training and validation people together, for the steps the first run took to its best epoch, under
     * the first run's schedule (so its learning rate at each step is the first run's). Nothing is left to validate
     * on, so it neither validates nor stops early; with {@code --ema} it ends with the average's weights. Those
     * weights are then loaded into {@code first}'s tower (and head), so the rest of the command reports and saves
     * them as it would the first run's. Returns the steps it took.
     */
    private static long refit(Config c, ArchSpec arch, ArchSpec headArch, DataSplit split, Learner first,
                              StartingPoint startingPoint, Trainer.Result run, List<Trainer.EpochReport> history,
                              PrintStream out)
            throws IOException {
        long steps = 0;
        for (Trainer.EpochReport e : history.subList(0, run.bestEpoch() > 0 ? run.bestEpoch() : history.size())) {
            steps += e.steps();
        }
        ImageDataset everyone = ImageDataset.union(split.train(), split.validation());
        Rng rng = new Rng(c.seed());
        rng.split();                                          // the split's draw, as in the first run
        Learner l = learner(c, arch, headArch, everyone, rng, first.scheduleSteps(), startingPoint, out);
        Trainer trainer = Trainer.builder(l.tower(), l.objective(), l.optimizer(), everyone).augmenter(l.augmenter())
                .schedule(l.schedule()).ema(c.ema()).build();
        out.printf(Locale.ROOT, "refit: training again from the same initial weights on the %d training and %d "
                        + "validation people together (%d images), %d steps (to the best epoch, %d)%n",
                split.train().identityCount(), split.validation().identityCount(), everyone.size(), steps,
                run.bestEpoch());
        trainer.fit(Trainer.Budget.steps(steps));
        // the tower and head only: a proxy objective's classifier has a row per training person, more now
        if (first.network() != null) {
            first.network().loadStateDict(l.network().stateDict(), true);
        } else {
            first.tower().loadStateDict(l.tower().stateDict(), true);
        }
        return steps;
    }

    /**
     * The objective of {@code --loss} and {@code --miner}, for {@code tower} and its embedding width; offline
     * stages are printed as they are mined.
     */
    private static Objective objective(Config c, ImageDataset train, Module tower, int embeddingWidth,
                                       HeadSiameseNetwork network, Rng rng, PrintStream out) {
        int people = train.identitiesWithAtLeast(2).length;
        int p = c.p();
        if (!pairLoss(c.loss()) && !c.offline() && p > people && people >= 2) {
            // a small folder should train with the defaults rather than fail on them
            out.printf(Locale.ROOT, "note: --batch %dx%d asks for %d people per batch, the training set has %d: "
                    + "using %dx%d%n", p, c.k(), p, people, people, c.k());
            p = people;
        }
        try {
            return switch (c.loss()) {
                case "triplet" -> {
                    TripletLoss loss = TripletLoss.hard(c.margin(), Distance.EUCLIDEAN);
                    if (c.offline()) {
                        int candidates = offlineCandidates(c, train);
                        yield new OfflineTripletObjective(train, loss, candidates, c.minNonEasy(), c.p() * c.k(), 1,
                                rng, stage -> out.println(stage));
                    }
                    OnlineMiner miner = switch (c.miner()) {
                        case "batch-all" -> BatchAllMiner.all();
                        case "semi-hard" -> new SemiHardMiner();
                        default -> new BatchHardMiner();
                    };
                    yield new OnlineTripletObjective(train, p, c.k(), loss, miner, rng);
                }
                case "circle" -> new CircleObjective(train, p, c.k(), new CircleLoss(c.margin(), 64f), rng);
                case "proxy" -> new ProxyObjective(train, p, c.k(), tower, embeddingWidth, PROXY_SCALE, c.margin(),
                        rng);
                case "bce-head" -> new HeadObjective(train, c.p() * c.k(), network, rng);
                default -> new ContrastiveObjective(train, c.p() * c.k(), new ContrastiveLoss(c.margin(),
                        LabelConvention.SAME_IS_ONE), Distance.EUCLIDEAN, rng);
            };
        } catch (IllegalArgumentException e) {
            throw new Options.UsageException("--loss " + c.loss() + " --miner " + c.miner() + " --batch "
                    + (pairLoss(c.loss()) || c.offline() ? c.p() * c.k() : c.p() + "x" + c.k()) + " does not fit the "
                    + "training data (" + train + "): " + e.getMessage());
        }
    }

    /** Every loss learns from two images of one person against another person's: say so before sampling fails. */
    private static void requireTwoPeopleWithPairs(ImageDataset train) {
        int people = train.identitiesWithAtLeast(1).length;
        int withPairs = train.identitiesWithAtLeast(2).length;
        if (withPairs < 2) {
            throw new Options.UsageException("the " + people + " training people include " + withPairs + " with two "
                    + "or more images, and training needs at least 2 such people (it learns from two images of one "
                    + "person against another's); add images, or lower --test-identities or --validation-identities "
                    + "to keep more people for training");
        }
    }

    /** {@code --candidates}, or {@value #OFFLINE_CANDIDATES_PER_IMAGE} per training image. */
    private static int offlineCandidates(Config c, ImageDataset train) {
        return c.candidates() > 0 ? c.candidates()
                : (int) Math.min(10_000_000L, (long) OFFLINE_CANDIDATES_PER_IMAGE * train.size());
    }

    /**
     * Who is in which part. Synthetic data: training people from 0, validation and test people each from a range
     * of their own. A folder: test people drawn first, then validation people from the rest, with the seed's
     * split Rng, so the same seed gives the same people.
     */
    static DataSplit split(Config c, CliData.DataSpec spec, Rng splitRng) throws IOException {
        if (spec.synthetic()) {
            int images = Math.max(2, Math.min(6, spec.imagesPerIdentity()));
            ImageDataset train = CliData.load(spec, 0, c.input());
            int validation = c.validationIdentities() >= 0 ? c.validationIdentities() : SYNTHETIC_VALIDATION_PEOPLE;
            ImageDataset val = validation == 0 ? null : CliData.load(new CliData.DataSpec(null, validation, images),
                    CliData.VALIDATION_FIRST, c.input());
            int test = c.testIdentities() > 0 ? c.testIdentities() : SYNTHETIC_TEST_PEOPLE;
            return new DataSplit(train, val, CliData.load(new CliData.DataSpec(null, test, images),
                    CliData.HELD_OUT_FIRST, c.input()));
        }
        ImageDataset all = CliData.load(spec, 0, c.input());
        int people = all.identitiesWithAtLeast(1).length;
        int test = c.testIdentities() > 0 ? c.testIdentities()
                : (int) Math.max(2, Math.round(DEFAULT_TEST_FRACTION * people));
        int rest = people - test;
        int validation = c.validationIdentities() >= 0 ? c.validationIdentities()
                : (int) Math.max(2, Math.round(DEFAULT_VALIDATION_FRACTION * rest));
        if (rest - validation < 2) {
            throw new Options.UsageException(spec + " has " + people + (people == 1 ? " person: " : " people: ")
                    + test + " for test and "
                    + validation + " for validation leave " + Math.max(0, rest - validation) + " to train on, and "
                    + "training needs at least 2 (lower --test-identities or --validation-identities)");
        }
        Splits.Split testSplit = Splits.byIdentity(all, test, splitRng);
        if (validation == 0) {
            requireTwoPeopleWithPairs(testSplit.train());
            return new DataSplit(testSplit.train(), null, testSplit.test());
        }
        Splits.Split validationSplit = Splits.byIdentity(testSplit.train(), validation, splitRng);
        requireTwoPeopleWithPairs(validationSplit.train());
        return new DataSplit(validationSplit.train(), validationSplit.test(), testSplit.test());
    }

    private static void printHeader(PrintStream out, Config c, DataSplit split, ArchSpec arch, ArchSpec headArch,
                                    Sequential tower, HeadSiameseNetwork network, Objective objective) {
        out.printf(Locale.ROOT, "train: %s%n", split.train());
        out.printf(Locale.ROOT, "validation: %s%n", split.validation() == null ? "none (--validation-identities 0):"
                + " no early stopping, the threshold comes from the training people" : split.validation()
                + ", people " + names(split.validation(), 12));
        out.printf(Locale.ROOT, "test (never seen in training or validation): %s, people %s%n", split.test(),
                names(split.test(), 12));
        if (network == null) {
            out.printf(Locale.ROOT, "model: %s, %,d parameters, input %s%n", arch, tower.parameterCount(),
                    ArchSpec.formatInput(c.input()));
        } else {
            out.printf(Locale.ROOT, "model: %s, then similarity head %s on |e1 - e2|; %,d parameters (head %,d), "
                            + "input %s%n", arch, headArch, network.parameterCount(), network.head().parameterCount(),
                    ArchSpec.formatInput(c.input()));
        }
        String batch = pairLoss(c.loss()) ? (c.p() * c.k()) + " pairs" : c.offline() ? (c.p() * c.k())
                + " triplets" : c.p() + "x" + c.k();
        out.printf(Locale.ROOT, "loss %s, miner %s%s, batch %s, %s lr %s (%s), augment %s, seed %d, threads %d%n",
                c.loss(), c.miner(), c.headModel() ? "" : ", margin " + c.margin(), batch, c.optimizer(), c.lr(),
                c.schedule(), c.augment(), c.seed(), Parallel.threads());
        if (c.ema() > 0) {
            out.printf(Locale.ROOT, "weights averaged after every step with decay %s: validation, the best epoch and "
                    + "the saved model use the average%n", c.ema());
        }
        if (c.offline()) {
            out.printf(Locale.ROOT, "offline mining: %sstages of %d candidate triplets, keeping %s, stopping below "
                    + "%.0f%% non-easy%n", c.epochs() == UNBOUNDED_EPOCHS ? "" : "up to " + c.epochs() + " ",
                    offlineCandidates(c, split.train()), OfflineTripletObjective.KEEP, 100 * c.minNonEasy());
        }
        out.printf(Locale.ROOT, "an epoch is %s over the %d training images; budget %s%s%n",
                c.offline() ? "one mining stage, one pass over its triplets" : objective.stepsPerEpoch() + " steps",
                split.train().size(), budget(c, objective),
                c.patience() > 0 ? ", early stopping after " + c.patience() + " epochs without a better validation AUC"
                        : "");
    }

    /** The budget in words: "1000 steps (143 epochs)", "40 epochs", "10 epochs or 4 steps". */
    static String budget(Config c, Objective objective) {
        if (c.steps() == 0) {
            return c.epochs() + " epochs";
        }
        if (c.epochs() == UNBOUNDED_EPOCHS) {
            return c.steps() + " steps" + (c.offline() ? "" : " (" + displayEpochs(c, objective) + " epochs)");
        }
        return c.epochs() + " epochs or " + c.steps() + " steps";
    }

    /** How many epochs the budget allows, as the progress shows it ("epoch 5/143"). */
    static long displayEpochs(Config c, Objective objective) {
        int perEpoch = objective.stepsPerEpoch();
        return c.steps() == 0 || c.offline() || perEpoch == 0 ? c.epochs()
                : Math.min(c.epochs(), (c.steps() + perEpoch - 1) / perEpoch);
    }

    /** The first {@code max} people's names, comma-separated, then how many more. */
    static String names(ImageDataset data, int max) {
        List<String> all = data.identityNames();
        String shown = String.join(",", all.subList(0, Math.min(max, all.size())));
        return all.size() <= max ? shown : shown + ",... (" + (all.size() - max) + " more)";
    }

    private static void printStop(PrintStream out, Trainer.Result run, Trainer trainer) {
        String why = switch (run.reason()) {
            case BUDGET -> "budget spent";
            case EARLY_STOPPING -> "early stopping: no better validation AUC for the last "
                    + (run.epochs() - run.bestEpoch()) + " epochs";
            case OBJECTIVE_DONE -> "offline mining stopped: few non-easy triplets left";
        };
        out.printf(Locale.ROOT, "stopped after epoch %d (%s)%s%n", run.epochs(), why, run.best() == null ? ""
                : String.format(Locale.ROOT, "; kept the weights of epoch %d, the best on validation: %s",
                run.bestEpoch(), run.best()));
    }

    /** The model file's metadata: threshold, distance, who was in which part, and the run's figures. */
    private static Map<String, String> metadata(Config c, CliData.DataSpec spec, DataSplit split, Trainer trainer,
                                                Trainer.Result run, VerificationReport test,
                                                VerificationReport calibration, double threshold,
                                                HeadSiameseNetwork network) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(CliData.KEY_THRESHOLD, Double.toString(threshold));
        if (network == null) {
            meta.put(CliData.KEY_DISTANCE, distance(c.loss()) == Distance.COSINE ? "cosine" : "euclidean");
        }
        meta.put("threshold_method", "best accuracy, mean of 10 folds of balanced pairs of the "
                + (split.validation() != null ? "validation" : "training") + " people"
                + (network == null ? "" : "; on P(same), a pair is the same person when P(same) >= threshold"));
        meta.put("description", network == null ? "siamese4j face embedding"
                : "siamese4j pair model: face embedding tower and learned similarity head");
        meta.put("training_data", spec.toString());
        meta.put("training_identities", Integer.toString(split.train().identityCount()));
        meta.put(CliData.KEY_TRAINING_PEOPLE, String.join(",", split.train().identityNames()));
        if (split.validation() != null) {
            meta.put(CliData.KEY_VALIDATION_PEOPLE, String.join(",", split.validation().identityNames()));
            meta.put("validation_auc", CliData.number(calibration.auc()));
        }
        meta.put("test_people", String.join(",", split.test().identityNames()));
        meta.put("test_auc", CliData.number(test.auc()));
        c.runOptions().forEach((name, value) -> meta.put("option_" + name.replace('-', '_'), value));
        meta.put("epochs_run", Integer.toString(run.epochs()));
        meta.put("steps_run", Long.toString(run.steps()));
        if (run.bestEpoch() > 0) {
            meta.put("best_epoch", Integer.toString(run.bestEpoch()));
        }
        StringJoiner losses = new StringJoiner(",");
        StringJoiner aucs = new StringJoiner(",");
        for (Trainer.EpochReport e : trainer.history()) {
            losses.add(String.format(Locale.ROOT, "%.6f", e.meanLoss()));
            if (e.validation() != null) {
                aucs.add(String.format(Locale.ROOT, "%.6f", e.validation().auc()));
            }
        }
        meta.put("loss_history", losses.toString());
        if (aucs.length() > 0) {
            meta.put("validation_auc_history", aucs.toString());
        }
        return meta;
    }

    /** Mean of the accept rate on same pairs and the reject rate on different pairs (insensitive to the mix). */
    static double balancedAccuracy(ScoredPairs pairs, double threshold) {
        var point = Thresholds.evaluate(pairs.scores(), pairs.same(), pairs.direction(), threshold);
        return (point.tar() + (1 - point.far())) / 2;
    }

    /**
     * Prints, on Ctrl-C (or any other end of the JVM while training), where the last good checkpoint is and the
     * command that continues from it.
     */
    private static Thread resumeHint(PrintStream err, Config c, Path checkpoint, Trainer trainer) {
        return new Thread(() -> {
            err.println();
            err.println(c.member() > 0 ? interruptedEnsembleMessage(c)
                    : interruptedMessage(trainer.epoch(), checkpoint, c.out()));
            err.flush();
        }, "siamese4j-resume-hint");
    }

    /**
     * What Ctrl-C leaves of an ensemble run, {@code c} being a member in training: the ensemble goes on from its
     * first member's checkpoint, which exists once that member has finished an epoch (members may train side by
     * side, so whether it exists is asked of the file).
     */
    static String interruptedEnsembleMessage(Config c) {
        String suffix = ".member-" + c.member() + ".safetensors";
        String ensembleOut = c.out().toString().substring(0, c.out().toString().length() - suffix.length());
        Path first = Path.of(memberOut(Path.of(ensembleOut), 1) + ".ckpt");
        return !Files.exists(first)
                ? "interrupted before the first member's first epoch ended: there is no checkpoint to resume"
                : "interrupted in member " + c.member() + " of an ensemble: its members' checkpoints are kept; "
                + "continue with: siamese4j train --resume " + first + " --out " + ensembleOut;
    }

    /** What Ctrl-C after {@code epochsDone} completed epochs leaves, and how to go on. */
    static String interruptedMessage(int epochsDone, Path checkpoint, Path out) {
        return epochsDone == 0 ? "interrupted before the first epoch ended: there is no checkpoint to resume"
                : "interrupted: the checkpoint " + checkpoint + " (after epoch " + epochsDone + ") is kept; continue "
                + "with: siamese4j train --resume " + checkpoint + " --out " + out;
    }

    /** Progress within each epoch, then one line per epoch: loss, validation figures, the monitor's figures. */
    static final class EpochPrinter implements Trainer.Listener {
        private final PrintStream out;
        private final Progress progress;
        private final long epochs;
        private final TrainingMonitor monitor;
        private int progressEpoch = -1;

        EpochPrinter(PrintStream out, Progress progress, long epochs, TrainingMonitor monitor) {
            this.out = out;
            this.progress = progress;
            this.epochs = epochs;
            this.monitor = monitor;
        }

        @Override
        public void onStep(Trainer.StepReport s) {
            if (progressEpoch != s.epoch()) {
                progress.start("epoch " + s.epoch() + "/" + epochs, s.stepsPerEpoch());
                progressEpoch = s.epoch();
            }
            List<String> details = s.skipped() ? List.of("skipped") : List.of(String.format(Locale.ROOT,
                    "loss %.4f", s.loss()), String.format(Locale.ROOT, "active %.0f%%", 100 * s.activeFraction()),
                    mined(monitor));
            progress.update(s.step(), details, s.images());
        }

        @Override
        public void onEpoch(Trainer.EpochReport e) {
            // an epoch cut short by the step budget leaves its bar line open
            progress.endLine();
            ValidationFigures v = e.validation();
            out.printf(Locale.ROOT, "epoch %d/%d: %d steps, mean loss %.4f, active terms %.0f%%%s%n", e.epoch(),
                    epochs, e.steps(), e.meanLoss(), 100 * e.activeFraction(), v == null ? ""
                            : "; validation " + v + (e.best() ? " (best)" : ""));
            printFigures(out, monitor, e.epoch());
        }
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

    /**
     * A listener printing each of the monitor's warnings as one line, on a line of its own below the progress
     * bar; non-finite ones become the run's error.
     */
    static DiagnosticsListener warningsTo(PrintStream err, Progress progress) {
        return DiagnosticsListener.warnings(w -> {
            if (w.kind() != DiagnosticKind.NON_FINITE) {
                progress.endLine();
                err.println(w);
            }
        });
    }

    /**
     * The one-line error of a run stopped by a non-finite step: where (epoch, step, layer, parameter), the guard's
     * diagnosis and suggested fix, and which checkpoint is kept.
     */
    static String stoppedMessage(Config c, NonFiniteTrainingException e, int epochNow, int epochsBefore,
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
        if (epochNow > epochsBefore) {
            sb.append("; the last good checkpoint ").append(checkpoint).append(" (after epoch ").append(epochNow)
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

    /**
     * {@code validation.csv} (one row per epoch: steps, mean loss, active fraction, the validation figures, whether
     * it was the best so far) and {@code validation.png} (the loss and the validation AUC per epoch) in {@code dir};
     * nothing when {@code dir} is null or the run had no validation people.
     */
    static void writeValidation(Path dir, List<Trainer.EpochReport> history, PrintStream out) throws IOException {
        if (dir == null || history.stream().allMatch(e -> e.validation() == null)) {
            return;
        }
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("epoch,steps,mean_loss,active_fraction,validation_auc,validation_eer,"
                + "validation_one_shot,validation_rank1,best\n");
        for (Trainer.EpochReport e : history) {
            ValidationFigures v = e.validation();
            csv.append(e.epoch()).append(',').append(e.steps()).append(',').append(cell(e.meanLoss())).append(',')
                    .append(cell(e.activeFraction())).append(',')
                    .append(v == null ? ",,," : cell(v.auc()) + "," + cell(v.eer()) + "," + cell(v.oneShot()) + ","
                            + cell(v.rank1()))
                    .append(',').append(e.best()).append('\n');
        }
        byte[] bytes = csv.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(dir.resolve("validation.csv"), stream -> stream.write(bytes));
        double[] loss = history.stream().mapToDouble(Trainer.EpochReport::meanLoss).toArray();
        boolean chart = Arrays.stream(loss).allMatch(Double::isFinite);
        if (chart) {
            LossChart.write(dir.resolve("validation.png"), loss, "validation AUC", history.stream()
                    .mapToDouble(e -> e.validation() == null ? Double.NaN : e.validation().auc()).toArray());
        }
        out.printf(Locale.ROOT, "validation figures: %s%s%n", dir.resolve("validation.csv"), chart ? ", "
                + dir.resolve("validation.png") : "");
    }

    private static String cell(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "";
    }

    /** The triplet kinds of the monitor's last step, e.g. {@code " easy 3 semi-hard 20 hard 25"}, or "". */
    static String mined(TrainingMonitor monitor) {
        List<StepFigures> steps = monitor.steps();
        if (steps.isEmpty()) {
            return "";
        }
        TripletStats m = steps.get(steps.size() - 1).mined();
        return m == null ? "" : String.format(Locale.ROOT, "easy %d semi-hard %d hard %d", m.easy(), m.semiHard(),
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
     * The report, its threshold named by {@code scoreName} ("distance", or "P(same)" for a head model), the people
     * by {@code who} ("test", "held-out").
     */
    static void printReport(PrintStream out, VerificationReport r, int ways, LabelledImages data, String scoreName,
                            String who) {
        // Ten folds need ten balanced pairs; a tiny set gets "n/a" rather than NaN.
        String tenFold = Double.isFinite(r.accuracy()) ? String.format(Locale.ROOT, "%.2f%% (+-%.2f) at %s %.4f",
                100 * r.accuracy(), 100 * r.accuracyStd(), scoreName, r.threshold()) : "n/a (too few pairs)";
        out.printf(Locale.ROOT, "%s: %d people, %d images: AUC %.4f, EER %.2f%%, 10-fold accuracy %s%n", who,
                data.identityCount(), data.size(), r.auc(), 100 * r.eer(), tenFold);
        out.printf(Locale.ROOT, "  TAR@FAR=1e-2 %s, TAR@FAR=1e-3 %s, %d-way one-shot %.2f%%, rank-1 %.2f%%%n",
                percent(r.tarAtFar1e2()), percent(r.tarAtFar1e3()), ways, 100 * r.oneShotAccuracy(), 100 * r.rank1());
    }

    private static String percent(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.2f%%", 100 * v) : "n/a (too few pairs)";
    }

    /** Rejects loss and miner pairs the trainers do not implement, listing what works. */
    static void checkCombination(String loss, String miner) {
        String works = "valid combinations: --loss triplet --miner batch-hard|batch-all|semi-hard|offline; "
                + "--loss contrastive --miner none (random balanced pairs); --loss circle --miner none (all pairs "
                + "of each PxK batch); --loss proxy --miner none (PxK batches, every training person's proxy); --loss bce-head --miner none (random balanced pairs, learned head)";
        boolean ok = loss.equals("triplet") ? !miner.equals("none") : miner.equals("none");
        if (!ok) {
            throw new Options.UsageException("--loss " + loss + " does not work with --miner " + miner + "; " + works);
        }
    }

    /**
     * {@code PxK} as {P, K}; where a batch is a count of pairs or triplets ({@code count}), a plain {@code B} as
     * {B, 1}.
     */
    static int[] parseBatch(String text, boolean count) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        boolean pairs = count;
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
                + "images each (e.g. 12x4)" + (pairs ? ", or a number of pairs or triplets (e.g. 24)" : ""));
    }

}
