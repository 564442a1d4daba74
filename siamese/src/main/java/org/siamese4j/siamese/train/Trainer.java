package org.siamese4j.siamese.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.Module;
import org.siamese4j.optim.LRScheduler;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.diagnostics.TrainingMonitor;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.mining.TripletStats;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The one training loop of the library. An {@link Objective} says what a step draws and which loss it computes;
 * the trainer does the rest, the same way for every objective:
 * <ul>
 *   <li><b>epochs and steps</b>: an epoch is {@link Objective#stepsPerEpoch()} steps, about one pass over the
 *       training images; a {@link Budget} bounds the run in epochs or in steps;</li>
 *   <li><b>the step</b> ({@link #step}): draw, augment, embed in one pass, loss, backward, guard, update, in one
 *       method a student can read top to bottom;</li>
 *   <li><b>the learning-rate schedule</b>, stepped once per optimiser step;</li>
 *   <li><b>validation</b> after every epoch on people kept out of training (AUC, EER, one-shot, rank-1),
 *       <b>early stopping</b> when the validation AUC has not improved for {@code patience} epochs, and the
 *       weights of the best validation epoch put back at the end of {@link #fit};</li>
 *   <li><b>a moving average of the weights</b> ({@link Builder#ema}, off by default): then validation, the best
 *       epoch and the weights {@link #fit} leaves in the model are the average's ({@link WeightAverage});</li>
 *   <li><b>checkpoints</b> after every epoch and exact resume ({@link #resume});</li>
 *   <li><b>the guard</b>: a NaN or infinity in the embeddings, the loss or a gradient throws a
 *       {@link NonFiniteTrainingException} naming the layer before the optimiser applies the step, and no
 *       checkpoint is written for the epoch in progress; a {@link TrainingMonitor} adds per-step and per-epoch
 *       figures and warnings.</li>
 * </ul>
 *
 * <h2>Checkpoints and exact resume</h2>
 * A checkpoint holds the model (the tower, or tower and head) with its buffers, the optimiser's state, the
 * schedule's position, the epoch and step counters, the objective's name and sampling state, every Rng the run
 * draws from (the objective's, the augmenter's and those given to {@link Builder#rng}), the epoch history, the
 * best validation epoch with its weights, and the weight average with its count of updates. {@link #resume} on a trainer built the same way, in a new process, puts
 * all of it back, and training then continues with exactly the weights an uninterrupted run would have had, given
 * the same JDK, kernels and thread count. Everything is checked before anything changes.
 *
 * <h2>Fine-tuning</h2>
 * A tower with frozen layers ({@link Module#freezeExcept}) trains its other layers only: the optimiser is built on
 * {@code objective.model(tower).trainableParameters()}, frozen batch norms keep their statistics, and the weight
 * average copies frozen weights rather than averaging them. The frozen flags are not in checkpoints: a resumed run
 * freezes the same layers before building its optimiser.
 */
public final class Trainer {

    /** What one step did. {@code images} went through the tower; a skipped step found no valid loss term. */
    public record StepReport(int epoch, int step, int stepsPerEpoch, long totalSteps, float loss,
                             double activeFraction, TripletStats mined, int images, boolean skipped) {
        @Override
        public String toString() {
            String base = String.format(Locale.ROOT, "epoch %d step %d/%d: ", epoch, step, stepsPerEpoch);
            if (skipped) {
                return base + "skipped (no valid loss term)";
            }
            String s = base + String.format(Locale.ROOT, "loss %.4f, active %.0f%%", loss, 100 * activeFraction);
            return mined == null ? s : s + String.format(Locale.ROOT, ", triplets %d (easy %d, semi-hard %d, hard "
                    + "%d)", mined.total(), mined.easy(), mined.semiHard(), mined.hard());
        }
    }

    /**
     * What one epoch did: its steps, mean loss and active fraction over the steps taken, the validation figures
     * after it (null without validation) and whether they are the best so far.
     */
    public record EpochReport(int epoch, int steps, double meanLoss, double activeFraction,
                              ValidationFigures validation, boolean best) {
        String format() {
            return epoch + "," + steps + "," + meanLoss + "," + activeFraction + "," + best + ","
                    + (validation == null ? "-" : validation.format());
        }

        static EpochReport parse(String line) {
            String[] f = line.split(",", 6);
            if (f.length != 6) {
                throw new IllegalArgumentException("an epoch line needs 6 fields, got '" + line + "'");
            }
            return new EpochReport(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Double.parseDouble(f[2]),
                    Double.parseDouble(f[3]), f[5].equals("-") ? null : ValidationFigures.parse(f[5]),
                    Boolean.parseBoolean(f[4]));
        }
    }

    /** Sees the run as it goes. Called on the training thread. */
    public interface Listener {
        default void onStep(StepReport step) {
        }

        default void onEpoch(EpochReport epoch) {
        }
    }

    /** How long to train: at most {@code epochs} epochs and at most {@code steps} steps, counted from the start. */
    public record Budget(int epochs, long steps) {
        public Budget {
            if (epochs < 0 || steps < 0) {
                throw new IllegalArgumentException("Trainer.Budget: epochs and steps must be >= 0, got " + epochs
                        + " and " + steps);
            }
        }

        public static Budget epochs(int epochs) {
            return new Budget(epochs, Long.MAX_VALUE);
        }

        public static Budget steps(long steps) {
            return new Budget(Integer.MAX_VALUE, steps);
        }
    }

    /** Why {@link #fit} returned. */
    public enum StopReason {
        /** The budget is spent. */
        BUDGET,
        /** The validation AUC did not improve for {@code patience} epochs. */
        EARLY_STOPPING,
        /** The objective had nothing left to train on (offline mining found too few hard triplets). */
        OBJECTIVE_DONE
    }

    /** The end of a {@link #fit}: why it stopped, and the best validation epoch (0 and null without validation). */
    public record Result(StopReason reason, int epochs, long steps, int bestEpoch, ValidationFigures best) {
    }

    /** Images per batch when embedding the validation people. */
    static final int EMBED_BATCH = 64;
    /** One-shot trials per validation. */
    static final int ONE_SHOT_TRIALS = 500;
    /** The seed of the one-shot draws: every validation draws the same trials, so epochs compare fairly. */
    static final long VALIDATION_SEED = 0x5EED_1DL;
    static final String FORMAT = "siamese4j-trainer/1";
    static final String FORMAT_STATE = "trainer";
    static final String OBJECTIVE_STATE = "objective";
    static final String OBJECTIVE_SAMPLING_STATE = "objective.state";
    static final String HISTORY_STATE = "history";
    static final String BEST_STATE = "best";
    static final String BEST_SNAPSHOT = "best";
    static final String RUN_PREFIX = "run.";
    static final String OBJECTIVE_RNG_PREFIX = "objective.";
    static final String AUGMENTER_RNG = "augmenter";
    static final String EXTRA_RNG_PREFIX = "extra.";
    /** The weight average's snapshot, and its state "decay,updates". */
    static final String AVERAGE_SNAPSHOT = "ema";
    static final String AVERAGE_STATE = "ema";

    private final Module tower;
    private final Module model;
    private final String towerPath;
    private final Objective objective;
    private final Optimizer optimizer;
    private final ImageDataset train;
    private final Augmenter augmenter;
    private final LRScheduler schedule;
    private final TrainingMonitor monitor;
    private final ImageDataset validation;
    private final int patience;
    private final Path checkpointFile;
    private final LinkedHashMap<String, Rng> extraRngs;
    private final List<Listener> listeners;
    private final LinkedHashMap<String, String> runInfo;
    /** The exponential average of the weights, or null: with it, validation and the kept weights are its. */
    private final WeightAverage average;

    private int epoch;
    private long steps;
    private final List<EpochReport> history = new ArrayList<>();
    private int bestEpoch;
    private ValidationFigures best;
    private Map<String, Tensor> bestWeights;
    /**
     * The weights training had reached when {@link #fit} put the best epoch's back, or null while the model holds
     * them: the next {@link #fit} continues from these, and {@link #checkpoint} saves them, so that stopping to
     * look at the best weights does not change the run.
     */
    private Map<String, Tensor> runWeights;

    private Trainer(Builder b) {
        this.tower = b.tower;
        this.objective = b.objective;
        this.model = Objects.requireNonNull(objective.model(tower), "Trainer: the objective's model is null");
        this.towerPath = pathOf(model, tower);
        this.optimizer = b.optimizer;
        this.train = b.train;
        this.augmenter = b.augmenter;
        this.schedule = b.schedule;
        this.monitor = b.monitor;
        this.validation = b.validation;
        this.patience = b.patience;
        this.checkpointFile = b.checkpoint;
        this.extraRngs = new LinkedHashMap<>(b.rngs);
        this.listeners = List.copyOf(b.listeners);
        this.runInfo = new LinkedHashMap<>(b.runInfo);
        this.average = b.emaDecay > 0 ? new WeightAverage(model, b.emaDecay) : null;
        requireTrainsEverything(model, optimizer);
        if (schedule != null && schedule.optimizer() != optimizer) {
            throw new IllegalArgumentException("Trainer: the schedule drives another optimizer than the trainer's");
        }
    }

    /** Starts a trainer of {@code tower} on {@code train} with {@code objective} and {@code optimizer}. */
    public static Builder builder(Module tower, Objective objective, Optimizer optimizer, ImageDataset train) {
        return new Builder(tower, objective, optimizer, train);
    }

    /** The settings of a {@link Trainer}; only the four of {@link #builder} are required. */
    public static final class Builder {
        private final Module tower;
        private final Objective objective;
        private final Optimizer optimizer;
        private final ImageDataset train;
        private Augmenter augmenter;
        private LRScheduler schedule;
        private TrainingMonitor monitor;
        private ImageDataset validation;
        private int patience;
        private Path checkpoint;
        private double emaDecay;
        private final LinkedHashMap<String, Rng> rngs = new LinkedHashMap<>();
        private final List<Listener> listeners = new ArrayList<>();
        private final LinkedHashMap<String, String> runInfo = new LinkedHashMap<>();

        private Builder(Module tower, Objective objective, Optimizer optimizer, ImageDataset train) {
            this.tower = Objects.requireNonNull(tower, "Trainer: tower is null");
            this.objective = Objects.requireNonNull(objective, "Trainer: objective is null");
            this.optimizer = Objects.requireNonNull(optimizer, "Trainer: optimizer is null");
            this.train = Objects.requireNonNull(train, "Trainer: training data is null");
        }

        /** Applied to each batch before it is embedded (null for none); its Rng is saved in checkpoints. */
        public Builder augmenter(Augmenter augmenter) {
            this.augmenter = augmenter;
            return this;
        }

        /** Stepped once after every optimiser step (its "epoch" counts steps); it must drive the optimiser. */
        public Builder schedule(LRScheduler schedule) {
            this.schedule = schedule;
            return this;
        }

        /** Sees every step and epoch and warns of collapse, a loss stuck at zero and exploding values. */
        public Builder monitor(TrainingMonitor monitor) {
            this.monitor = monitor;
            return this;
        }

        /**
         * Validates after every epoch on {@code people} (images of identities kept out of training), keeps the
         * best epoch's weights and puts them back at the end of {@link #fit}.
         */
        public Builder validation(ImageDataset people) {
            if (people != null && people.identityCount() < 2) {
                throw new IllegalArgumentException("Trainer: validation needs at least 2 people, got "
                        + people.identityCount());
            }
            this.validation = people;
            return this;
        }

        /** Stops when the validation AUC has not improved for {@code epochs} epochs (0: never stop early). */
        public Builder earlyStopping(int epochs) {
            if (epochs < 0) {
                throw new IllegalArgumentException("Trainer: patience must be >= 0 epochs, got " + epochs);
            }
            this.patience = epochs;
            return this;
        }

        /**
         * Keeps an exponential moving average of the weights ({@link WeightAverage}), updated after every optimiser
         * step with {@code decay} (0: none, the default). Validation, the best epoch's weights and the weights
         * {@link #fit} leaves in the model are then the average's; training itself goes on with its own weights.
         */
        public Builder ema(double decay) {
            if (!(decay >= 0 && decay < 1)) {
                throw new IllegalArgumentException("Trainer: the weight average's decay must be in [0, 1) (0 for "
                        + "none), got " + decay);
            }
            this.emaDecay = decay;
            return this;
        }

        /** Writes a checkpoint to {@code file} (atomically) after every epoch. */
        public Builder checkpoint(Path file) {
            this.checkpoint = file;
            return this;
        }

        /**
         * Also saves and restores {@code rng} under {@code name}: any generator training draws from that the
         * trainer does not own, such as the one given to the tower's dropout layers.
         */
        public Builder rng(String name, Rng rng) {
            if (name == null || name.isEmpty() || rng == null) {
                throw new IllegalArgumentException("Trainer: an Rng needs a non-empty name and a generator, got '"
                        + name + "' and " + rng);
            }
            if (rngs.putIfAbsent(name, rng) != null) {
                throw new IllegalArgumentException("Trainer: an Rng named '" + name + "' is already registered");
            }
            return this;
        }

        public Builder listener(Listener listener) {
            listeners.add(Objects.requireNonNull(listener, "Trainer: listener is null"));
            return this;
        }

        /** A fact about the run saved in checkpoints ({@code run.<key>}), such as the options it was started with. */
        public Builder runInfo(String key, String value) {
            runInfo.put(Objects.requireNonNull(key), Objects.requireNonNull(value));
            return this;
        }

        public Trainer build() {
            return new Trainer(this);
        }
    }

    // =====================================================================================================
    // The loop
    // =====================================================================================================

    /**
     * Trains until the budget (counted from the start of the run, resumed epochs included) is spent, validation
     * stops early, or the objective has nothing left. With validation, the model then holds the weights of the
     * best validation epoch (the average's at that epoch, with {@link Builder#ema}), or without validation the
     * weight average if there is one; a later {@code fit} or {@link #checkpoint} still continues from the weights
     * training reached.
     */
    public Result fit(Budget budget) throws IOException {
        Objects.requireNonNull(budget, "Trainer.fit: budget is null");
        if (runWeights != null) {
            model.loadStateDict(runWeights, true);
            runWeights = null;
        }
        StopReason reason = StopReason.BUDGET;
        while (epoch < budget.epochs() && steps < budget.steps()) {
            if (patience > 0 && bestEpoch > 0 && epoch - bestEpoch >= patience) {
                reason = StopReason.EARLY_STOPPING;
                break;
            }
            if (!objective.startEpoch(tower)) {
                reason = StopReason.OBJECTIVE_DONE;
                break;
            }
            runEpoch(budget.steps());
        }
        if (reason == StopReason.BUDGET && patience > 0 && bestEpoch > 0 && epoch - bestEpoch >= patience) {
            reason = StopReason.EARLY_STOPPING;
        }
        if (keptWeights() != null) {
            runWeights = copyOf(model.stateDict());
            model.loadStateDict(keptWeights(), true);
        }
        return new Result(reason, epoch, steps, bestEpoch, best);
    }

    private void runEpoch(long stepBudget) throws IOException {
        model.train();
        int stepsPerEpoch = objective.stepsPerEpoch();
        int number = epoch + 1;
        double lossSum = 0;
        double activeSum = 0;
        int taken = 0;
        int drawn = 0;
        for (int s = 1; s <= stepsPerEpoch && steps < stepBudget; s++) {
            StepReport r = step(number, s, stepsPerEpoch);
            drawn++;
            if (!r.skipped()) {
                lossSum += r.loss();
                activeSum += r.activeFraction();
                taken++;
            }
            for (Listener l : listeners) {
                l.onStep(r);
            }
        }
        if (monitor != null) {
            monitor.endEpoch();
        }
        epoch++;
        boolean improved = false;
        ValidationFigures figures = null;
        if (validation != null) {
            // with a weight average, the average is what is validated and kept; training goes on with its own
            Map<String, Tensor> trained = average == null ? null : copyOf(model.stateDict());
            if (average != null) {
                model.loadStateDict(average.weights(), true);
            }
            figures = validate();
            improved = best == null || figures.auc() > best.auc();
            if (improved) {
                best = figures;
                bestEpoch = epoch;
                bestWeights = copyOf(model.stateDict());
            }
            if (trained != null) {
                model.loadStateDict(trained, true);
            }
        }
        EpochReport report = new EpochReport(epoch, drawn, taken == 0 ? Double.NaN : lossSum / taken,
                taken == 0 ? 0 : activeSum / taken, figures, improved);
        history.add(report);
        if (checkpointFile != null) {
            checkpoint().save(checkpointFile);
        }
        for (Listener l : listeners) {
            l.onEpoch(report);
        }
    }

    /**
     * One step: draw a batch, augment it, embed it in one pass, compute the objective's loss, back-propagate,
     * check every gradient, update. Returns a skipped report (and takes no step) when the batch has no valid loss
     * term. {@code epochNumber} and {@code step} count from 1.
     *
     * @throws NonFiniteTrainingException if the embeddings, the loss or a gradient is not finite; the update is
     *                                    then not applied
     */
    StepReport step(int epochNumber, int step, int stepsPerEpoch) {
        Objective.Batch batch = objective.nextBatch();
        Tensor images = train.batch(batch.indices());
        if (augmenter != null) {
            images = augmenter.apply(images);
        }
        StepGuard guard = monitor != null ? monitor.begin(model, epochNumber, step, stepsPerEpoch)
                : StepGuard.begin(model, epochNumber, step, stepsPerEpoch);
        Tensor embeddings = tower.forward(images);
        guard.checkOutput(towerPath, images, embeddings);     // finite, or it threw naming the layer
        Objective.StepLoss loss = objective.loss(embeddings, batch, guard);
        if (loss == null) {
            steps++;
            if (monitor != null) {
                monitor.skipped(guard, embeddings.detach(), batch.labels());
            }
            return new StepReport(epochNumber, step, stepsPerEpoch, steps, 0f, 0, null, batch.indices().length,
                    true);
        }
        optimizer.zeroGrad();
        loss.loss().backward();
        guard.checkGradients(loss.value());                   // before the update: a bad step is never applied
        steps++;                                              // counted once it is sure to be applied
        if (monitor != null) {
            monitor.step(guard, loss.value(), loss.activeFraction(), loss.mined(), embeddings.detach(),
                    batch.labels());
        }
        optimizer.step();
        if (average != null) {
            average.update();
        }
        if (schedule != null) {
            schedule.step();
        }
        return new StepReport(epochNumber, step, stepsPerEpoch, steps, loss.value(), loss.activeFraction(),
                loss.mined(), batch.indices().length, false);
    }

    /** The current model on the validation people (eval mode, no graph); fails without validation data. */
    public ValidationFigures validate() {
        if (validation == null) {
            throw new IllegalStateException("Trainer.validate: no validation people were given");
        }
        return ValidationFigures.of(evaluate(validation));
    }

    /** The current model on {@code people}, scored as the objective compares embeddings (eval mode, no graph). */
    public VerificationReport evaluate(ImageDataset people) {
        return evaluate(tower, objective.scoring(), people);
    }

    /**
     * What {@link #evaluate(ImageDataset)} measures, for any tower and way of scoring pairs (a model assembled
     * after training, such as an ensemble of towers): the same pairs, the same one-shot draws.
     */
    public static VerificationReport evaluate(Module tower, Objective.Scoring scoring, ImageDataset people) {
        float[][] embeddings = Embeddings.of(tower, people, EMBED_BATCH);
        return VerificationReport.evaluate(embeddings, people.labels(), scoring.score(), scoring.direction(),
                Math.min(5, people.identityCount()), ONE_SHOT_TRIALS, new Rng(VALIDATION_SEED));
    }

    // =====================================================================================================
    // Checkpoints
    // =====================================================================================================

    /** Everything needed to continue this run exactly (see the class comment), in memory. */
    public Checkpoint checkpoint() {
        Checkpoint.Builder b = Checkpoint.builder(model).optimizer(optimizer).scheduler(schedule).epoch(epoch)
                .step(steps).state(FORMAT_STATE, FORMAT).state(OBJECTIVE_STATE, objective.name())
                .state(OBJECTIVE_SAMPLING_STATE, objective.exportState());
        expectedRngs().forEach(b::rng);
        StringBuilder lines = new StringBuilder();
        for (EpochReport r : history) {
            lines.append(lines.length() == 0 ? "" : ";").append(r.format());
        }
        b.state(HISTORY_STATE, lines.toString());
        if (bestWeights != null) {
            b.state(BEST_STATE, Integer.toString(bestEpoch)).snapshot(BEST_SNAPSHOT, bestWeights);
        }
        if (average != null) {
            b.state(AVERAGE_STATE, average.decay() + "," + average.updates())
                    .snapshot(AVERAGE_SNAPSHOT, average.weights());
        }
        runInfo.forEach((k, v) -> b.state(RUN_PREFIX + k, v));
        if (runWeights == null) {
            return b.build();
        }
        model.loadStateDict(runWeights, true);                // the run's weights, not the ones kept on show
        try {
            return b.build();
        } finally {
            model.loadStateDict(keptWeights(), true);
        }
    }

    /** Continues the run saved in {@code file}; see {@link #resume(Checkpoint)}. */
    public void resume(Path file) throws IOException {
        resume(Checkpoint.load(file));
    }

    /**
     * Continues a saved run: the model, optimiser, schedule, counters, the objective's sampling, every Rng, the
     * history and the best epoch. The trainer must be built as the saved run's was (architecture, optimiser,
     * schedule or none, objective, augmenter or none, Rng names). Everything is checked first; a checkpoint that
     * does not fit throws {@link ModelFormatException} naming what, and nothing changes.
     */
    public void resume(Checkpoint c) throws ModelFormatException {
        Set<String> states = c.stateNames();
        if (!states.contains(FORMAT_STATE) || !c.state(FORMAT_STATE).equals(FORMAT)) {
            throw new ModelFormatException(c.source(), "not a checkpoint of this trainer (" + FORMAT + "); it was "
                    + "written by " + (states.contains(FORMAT_STATE) ? "'" + c.state(FORMAT_STATE) + "'"
                    : "an older version of siamese4j") + ": start the run again", "metadata field \"state."
                    + FORMAT_STATE + "\"");
        }
        String saved = c.state(OBJECTIVE_STATE);
        if (!saved.equals(objective.name())) {
            throw new ModelFormatException(c.source(), "the checkpoint is of a '" + saved + "' run, this trainer's "
                    + "objective is '" + objective.name() + "'", "metadata field \"state." + OBJECTIVE_STATE + "\"");
        }
        c.check(model, optimizer, schedule);
        if (schedule == null && c.hasSchedulerState()) {
            throw new ModelFormatException(c.source(), "the saved run had a learning-rate schedule, this trainer has "
                    + "none", "metadata field \"scheduler.type\"");
        }
        Map<String, Rng> expected = expectedRngs();
        if (!c.rngNames().equals(expected.keySet())) {
            Set<String> missing = new TreeSet<>(expected.keySet());
            missing.removeAll(c.rngNames());
            Set<String> unknown = new TreeSet<>(c.rngNames());
            unknown.removeAll(expected.keySet());
            throw new ModelFormatException(c.source(), "the checkpoint's Rngs " + c.rngNames() + " are not this "
                    + "trainer's " + expected.keySet() + (unknown.isEmpty() ? "" : "; unknown: " + unknown)
                    + (missing.isEmpty() ? "" : "; missing: " + missing) + " (an augmenter, a dropout Rng or "
                    + "the objective differs from the saved run's)", "metadata field \"rng.\"");
        }
        long averageUpdates = savedAverageUpdates(c);
        Map<String, Tensor> savedAverage = average == null ? null : c.snapshot(AVERAGE_SNAPSHOT, model);
        List<EpochReport> savedHistory = new ArrayList<>();
        int savedBest = 0;
        Map<String, Tensor> savedBestWeights = null;
        try {
            String text = c.state(HISTORY_STATE);
            for (String line : text.isEmpty() ? new String[0] : text.split(";")) {
                savedHistory.add(EpochReport.parse(line));
            }
            if (states.contains(BEST_STATE)) {
                savedBest = Integer.parseInt(c.state(BEST_STATE));
                savedBestWeights = c.snapshot(BEST_SNAPSHOT, model);
            }
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(c.source(), "unreadable training history: " + e.getMessage(),
                    "metadata field \"state." + HISTORY_STATE + "\"", e);
        }
        if (savedBest > 0 && (savedBest > savedHistory.size() || savedHistory.get(savedBest - 1).validation()
                == null)) {
            throw new ModelFormatException(c.source(), "the best epoch " + savedBest + " has no validation figures "
                    + "in the history", "metadata field \"state." + BEST_STATE + "\"");
        }
        Map<Rng, Long> rngStates = new IdentityHashMap<>();
        for (Map.Entry<String, Rng> e : expected.entrySet()) {
            rngStates.put(e.getValue(), c.rngState(e.getKey()));
        }
        try {
            objective.restoreState(c.state(OBJECTIVE_SAMPLING_STATE));  // checks before it changes anything
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(c.source(), "the saved sampling state does not fit this objective: "
                    + e.getMessage(), "metadata field \"state." + OBJECTIVE_SAMPLING_STATE + "\"", e);
        }
        c.restore(model, optimizer, schedule);
        rngStates.forEach(Rng::restore);
        epoch = c.epoch();
        steps = c.step();
        history.clear();
        history.addAll(savedHistory);
        bestEpoch = savedBest;
        best = savedBest > 0 ? savedHistory.get(savedBest - 1).validation() : null;
        bestWeights = savedBestWeights == null ? null : copyOf(savedBestWeights);
        if (average != null) {
            average.restore(savedAverage, averageUpdates);
        }
        runWeights = null;
    }

    /**
     * The saved weight average's count of updates (0 without one), once its decay is checked to be this trainer's:
     * an average that started, or stopped, or changed its decay mid-run would not be the run resumed.
     */
    private long savedAverageUpdates(Checkpoint c) throws ModelFormatException {
        String field = "metadata field \"state." + AVERAGE_STATE + "\"";
        boolean saved = c.stateNames().contains(AVERAGE_STATE);
        if (average == null) {
            if (saved) {
                throw new ModelFormatException(c.source(), "the saved run kept an average of its weights (ema "
                        + c.state(AVERAGE_STATE).split(",")[0] + "), this trainer keeps none", field);
            }
            return 0;
        }
        if (!saved) {
            throw new ModelFormatException(c.source(), "the saved run kept no average of its weights, this trainer "
                    + "keeps one (ema " + average.decay() + ")", field);
        }
        String[] f = c.state(AVERAGE_STATE).split(",");
        try {
            double decay = Double.parseDouble(f[0]);
            long updates = Long.parseLong(f[1]);
            if (f.length != 2 || updates < 0) {
                throw new NumberFormatException("expected 'decay,updates'");
            }
            if (decay != average.decay()) {
                throw new ModelFormatException(c.source(), "the saved run averaged its weights with ema " + decay
                        + ", this trainer with ema " + average.decay(), field);
            }
            return updates;
        } catch (NumberFormatException | ArrayIndexOutOfBoundsException e) {
            throw new ModelFormatException(c.source(), "unreadable weight average state '" + c.state(AVERAGE_STATE)
                    + "': " + e.getMessage(), field, e);
        }
    }

    /**
     * The weights a finished {@link #fit} leaves in the model: the best validation epoch's, else the weight
     * average's, else null (the last step's, already there).
     */
    private Map<String, Tensor> keptWeights() {
        return bestWeights != null ? bestWeights : average != null ? average.weights() : null;
    }

    private Map<String, Rng> expectedRngs() {
        Map<String, Rng> all = new LinkedHashMap<>();
        objective.rngs().forEach((name, rng) -> all.put(OBJECTIVE_RNG_PREFIX + name, rng));
        if (augmenter != null) {
            all.put(AUGMENTER_RNG, augmenter.rng());
        }
        extraRngs.forEach((name, rng) -> all.put(EXTRA_RNG_PREFIX + name, rng));
        return all;
    }

    // =====================================================================================================
    // Accessors
    // =====================================================================================================

    /** Epochs completed over all calls of {@link #fit} (or restored by {@link #resume}). */
    public int epoch() {
        return epoch;
    }

    /** Steps drawn over all calls, skipped ones included. */
    public long steps() {
        return steps;
    }

    /** Every completed epoch of the run, resumed ones included. */
    public List<EpochReport> history() {
        return Collections.unmodifiableList(history);
    }

    /** The best validation epoch so far (from 1), or 0. */
    public int bestEpoch() {
        return bestEpoch;
    }

    /** The module training updates: the tower, or the objective's pair model. */
    public Module model() {
        return model;
    }

    public Objective objective() {
        return objective;
    }

    // =====================================================================================================
    // Helpers
    // =====================================================================================================

    private static Map<String, Tensor> copyOf(Map<String, Tensor> state) {
        Map<String, Tensor> copy = new LinkedHashMap<>();
        state.forEach((name, t) -> copy.put(name, t.copy()));
        return copy;
    }

    /** The tower's path inside {@code model} ("" when it is the model), for the guard's messages. */
    private static String pathOf(Module model, Module tower) {
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            if (e.getValue() == tower) {
                return e.getKey();
            }
        }
        throw new IllegalArgumentException("Trainer: the objective's model does not contain the tower");
    }

    /** Every parameter that is not frozen must be the optimizer's (frozen ones may be left out). */
    private static void requireTrainsEverything(Module model, Optimizer optimizer) {
        Set<Tensor> trained = Collections.newSetFromMap(new IdentityHashMap<>());
        trained.addAll(optimizer.parameters());
        List<String> untrained = new ArrayList<>();
        model.namedParameters().forEach((name, p) -> {
            if (p.requiresGrad() && !trained.contains(p)) {
                untrained.add(name);
            }
        });
        if (!untrained.isEmpty()) {
            throw new IllegalArgumentException("Trainer: the optimizer does not train " + untrained.size() + " of "
                    + "the model's parameters " + (untrained.size() <= 6 ? untrained : untrained.subList(0, 6)
                    + "...") + "; build it on objective.model(tower).trainableParameters()");
        }
    }
}
