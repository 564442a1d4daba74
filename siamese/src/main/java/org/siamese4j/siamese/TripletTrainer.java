package org.siamese4j.siamese;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.Module;
import org.siamese4j.optim.LRScheduler;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.IdentityBatch;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PKSampler;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.diagnostics.TrainingMonitor;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.mining.OnlineMiner;
import org.siamese4j.siamese.mining.TripletStats;
import org.siamese4j.siamese.mining.Triplets;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Online triplet training as in FaceNet and "In Defense of the Triplet Loss": each step draws a P x K batch (P
 * identities, K images each), embeds it in one pass, measures all pairwise distances inside the batch, lets a
 * miner pick the triplets (batch-hard, batch-all or semi-hard), and back-propagates the triplet loss of those.
 *
 * <p>A batch where the miner finds no triplet (one identity only, say) contributes no step rather than a NaN.
 *
 * <h2>Checkpoints and exact resume</h2>
 * The trainer counts the epochs and batches it has completed over all calls of {@code fit}. Between epochs,
 * {@link #saveCheckpoint} writes a {@link Checkpoint} holding the tower's weights and buffers, the optimiser's
 * state, the schedule's epoch, these counters, the sampler's state, the augmenter's Rng and every Rng registered
 * with {@link #withRng} (the one given to {@code Dropout} layers, for instance). {@link #resume} in a new process,
 * on a trainer built the same way, puts all of it back, and training then continues with exactly the weights an
 * uninterrupted run would have had, given the same JDK, kernels and thread count. {@link #fit(ImageDataset,
 * PKSampler, int, Consumer, CheckpointPolicy)} saves such checkpoints as it goes.
 *
 * <h2>Non-finite steps and diagnostics</h2>
 * Every step is guarded by a {@link StepGuard}: a NaN or infinity in the embeddings, the loss or a gradient
 * throws a {@link NonFiniteTrainingException} (naming the input rows, layer or parameter) before the optimiser
 * applies the step. The weights stay those of the last good step and {@code fit} writes no checkpoint for the
 * epoch in progress, so the last checkpoint file is the last good one. {@link #withMonitor} adds a
 * {@link TrainingMonitor}, which records per-step and per-epoch figures and warns of collapse, a loss stuck at
 * zero, exploding gradients and skipped batches; without one, only the guard runs.
 */
public final class TripletTrainer {
    private final Module tower;
    private final TripletLoss loss;
    private final OnlineMiner miner;
    private final Optimizer optimizer;
    private final Augmenter augmenter;
    private LRScheduler schedule;
    private TrainingMonitor monitor;
    private final LinkedHashMap<String, Rng> extraRngs = new LinkedHashMap<>();
    private int epoch;
    private long batches;

    /** Name of the sampler's state in a checkpoint. */
    static final String SAMPLER_STATE = "sampler";
    /** Name of the augmenter's Rng in a checkpoint. */
    static final String AUGMENTER_RNG = "augmenter";
    /** Prefix of the Rngs registered with {@link #withRng} in a checkpoint. */
    static final String EXTRA_RNG_PREFIX = "extra.";

    /**
     * Where and how often {@link #fit(ImageDataset, PKSampler, int, Consumer, CheckpointPolicy)} saves a
     * checkpoint: to {@code file} (replaced atomically each time) after every {@code everyEpochs} completed
     * epochs, counted by {@link #epoch()}, and after the last epoch of the call.
     */
    public record CheckpointPolicy(Path file, int everyEpochs) {
        public CheckpointPolicy {
            if (file == null) {
                throw new IllegalArgumentException("CheckpointPolicy: file is null");
            }
            if (everyEpochs < 1) {
                throw new IllegalArgumentException("CheckpointPolicy: everyEpochs must be >= 1, got " + everyEpochs);
            }
        }
    }

    /** What one step did: the loss, the fraction of active triplets, and the kinds of triplets mined. */
    public record StepReport(int epoch, int step, int stepsPerEpoch, float loss, double activeFraction,
                             TripletStats mined, int images) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "epoch %d step %d/%d: loss %.4f, active %.0f%%, triplets %d "
                            + "(easy %d, semi-hard %d, hard %d)", epoch, step, stepsPerEpoch, loss,
                    100 * activeFraction, mined.total(), mined.easy(), mined.semiHard(), mined.hard());
        }
    }

    /**
     * @param augmenter applied to each batch before embedding, or null for none
     */
    public TripletTrainer(Module tower, TripletLoss loss, OnlineMiner miner, Optimizer optimizer,
                          Augmenter augmenter) {
        this.tower = tower;
        this.loss = loss;
        this.miner = miner;
        this.optimizer = optimizer;
        this.augmenter = augmenter;
    }

    /** Steps {@code schedule} once at the end of every epoch (null for a constant learning rate). */
    public TripletTrainer withSchedule(LRScheduler schedule) {
        this.schedule = schedule;
        return this;
    }

    /**
     * Reports every step, skipped batch and epoch to {@code monitor} (null for none), whose pair distances
     * default to Euclidean: give it {@code loss.distance()} with {@link TrainingMonitor#withDistance} to read the
     * gap against the margin. The monitor is not part of checkpoints.
     */
    public TripletTrainer withMonitor(TrainingMonitor monitor) {
        this.monitor = monitor;
        return this;
    }

    /**
     * Also saves and restores {@code rng} in checkpoints under {@code name}: any generator training draws from
     * that the trainer does not own, such as the one given to the tower's {@code Dropout} layers. A tower without
     * dropout draws nothing at random while training and needs none.
     */
    public TripletTrainer withRng(String name, Rng rng) {
        if (name == null || name.isEmpty() || rng == null) {
            throw new IllegalArgumentException("TripletTrainer.withRng: needs a non-empty name and an Rng, got '"
                    + name + "' and " + rng);
        }
        if (extraRngs.putIfAbsent(name, rng) != null) {
            throw new IllegalArgumentException("TripletTrainer.withRng: an Rng named '" + name
                    + "' is already registered");
        }
        return this;
    }

    /** Epochs completed by this trainer over all calls of {@code fit} (or restored by {@link #resume}). */
    public int epoch() {
        return epoch;
    }

    /** Batches processed by this trainer over all calls (including batches that held no triplet). */
    public long batches() {
        return batches;
    }

    /**
     * Trains for {@code epochs} passes of a new P x K sampler (drawing from {@code rng.split()}) over the
     * identities; {@code onStep} sees every step.
     */
    public void fit(ImageDataset train, int p, int k, int epochs, Rng rng, Consumer<StepReport> onStep) {
        fit(train, new PKSampler(train, p, k, PKSampler.Shortfall.REPEAT, rng.split()), epochs, onStep);
    }

    /**
     * Trains for {@code epochs} more passes of {@code sampler} over the identities; {@code onStep} sees every
     * step. Keep the sampler for later calls and checkpoints: its state is part of the run.
     */
    public void fit(ImageDataset train, PKSampler sampler, int epochs, Consumer<StepReport> onStep) {
        try {
            fit(train, sampler, epochs, onStep, null);
        } catch (IOException e) {
            throw new AssertionError("no checkpoint is written without a policy", e);
        }
    }

    /**
     * As {@link #fit(ImageDataset, PKSampler, int, Consumer)}, saving a checkpoint per {@code policy} (null for
     * none). Resume a run with {@link #resume} and call this again with the epochs that remain.
     */
    public void fit(ImageDataset train, PKSampler sampler, int epochs, Consumer<StepReport> onStep,
                    CheckpointPolicy policy) throws IOException {
        if (epochs < 0) {
            throw new IllegalArgumentException("TripletTrainer.fit: epochs must be >= 0, got " + epochs);
        }
        tower.train();
        int stepsPerEpoch = sampler.batchesPerEpoch();
        for (int e = 0; e < epochs; e++) {
            int step = 0;
            for (IdentityBatch batch : sampler.nextEpoch()) {
                step++;
                batches++;
                StepReport report = step(train, batch, epoch + 1, step, stepsPerEpoch);
                if (onStep != null && report != null) {
                    onStep.accept(report);
                }
            }
            if (monitor != null) {
                monitor.endEpoch();
            }
            if (schedule != null) {
                schedule.step();
            }
            epoch++;
            if (policy != null && (epoch % policy.everyEpochs() == 0 || e == epochs - 1)) {
                saveCheckpoint(policy.file(), sampler);
            }
        }
    }

    /**
     * Writes everything needed to continue this run exactly (see the class comment) to {@code file}, atomically.
     * Call it between epochs, with the sampler that {@code fit} is drawing from.
     */
    public void saveCheckpoint(Path file, PKSampler sampler) throws IOException {
        checkpoint(sampler).save(file);
    }

    /** The checkpoint {@link #saveCheckpoint} writes, in memory. */
    public Checkpoint checkpoint(PKSampler sampler) {
        Checkpoint.Builder b = Checkpoint.builder(tower).optimizer(optimizer).scheduler(schedule).epoch(epoch)
                .step(batches).state(SAMPLER_STATE, sampler.exportState());
        if (augmenter != null) {
            b.rng(AUGMENTER_RNG, augmenter.rng());
        }
        extraRngs.forEach((name, rng) -> b.rng(EXTRA_RNG_PREFIX + name, rng));
        return b.build();
    }

    /**
     * Continues the run saved in {@code file}: restores the tower, optimiser, schedule, counters, sampler,
     * augmenter Rng and the registered Rngs. The trainer and sampler must be built as for the saved run (same
     * architecture, optimiser type and settings, schedule, dataset, P and K, augmenter or none, Rng names).
     * Everything is checked before anything changes; a file that does not fit throws
     * {@link ModelFormatException} naming what does not.
     */
    public void resume(Path file, PKSampler sampler) throws IOException {
        resume(Checkpoint.load(file), sampler);
    }

    /** As {@link #resume(Path, PKSampler)}, from a checkpoint already loaded. */
    public void resume(Checkpoint checkpoint, PKSampler sampler) throws ModelFormatException {
        checkpoint.check(tower, optimizer, schedule);
        if (schedule == null && checkpoint.hasSchedulerState()) {
            throw new ModelFormatException(checkpoint.source(), "the saved run had a learning-rate schedule, this "
                    + "trainer has none (add it with withSchedule)", "metadata field \"scheduler.type\"");
        }
        String samplerState = checkpoint.state(SAMPLER_STATE);
        Map<String, Rng> expected = new LinkedHashMap<>();
        if (augmenter != null) {
            expected.put(AUGMENTER_RNG, augmenter.rng());
        }
        extraRngs.forEach((name, rng) -> expected.put(EXTRA_RNG_PREFIX + name, rng));
        Map<Rng, Long> rngStates = new LinkedHashMap<>();
        for (Map.Entry<String, Rng> e : expected.entrySet()) {
            rngStates.put(e.getValue(), checkpoint.rngState(e.getKey()));
        }
        List<String> unknown = new ArrayList<>(checkpoint.rngNames());
        unknown.removeAll(expected.keySet());
        if (!unknown.isEmpty()) {
            // A generator the saved run drew from and this trainer does not know: it would not continue alike.
            throw new ModelFormatException(checkpoint.source(), "the checkpoint holds Rng states " + unknown
                    + " this trainer has no Rng for (it has " + expected.keySet() + ")", "metadata field \"rng."
                    + unknown.get(0) + "\"");
        }
        try {
            // Checks everything before it changes the sampler, so a refusal leaves the trainer untouched.
            sampler.restoreState(samplerState);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(checkpoint.source(), "the saved sampler state does not fit this sampler: "
                    + e.getMessage(), "metadata field \"state." + SAMPLER_STATE + "\"", e);
        }
        checkpoint.restore(tower, optimizer, schedule);
        rngStates.forEach(Rng::restore);
        epoch = checkpoint.epoch();
        batches = checkpoint.step();
    }

    /**
     * One optimisation step on one batch, or null when the batch holds no valid triplet (then no step is taken).
     * {@code epoch} and {@code step} count from 1 (they locate the step in diagnostics and error messages).
     *
     * @throws NonFiniteTrainingException if the embeddings, the loss or a gradient is not finite; the step is then
     *                                    not applied
     */
    public StepReport step(ImageDataset data, IdentityBatch batch, int epoch, int step, int stepsPerEpoch) {
        Tensor images = data.batch(batch.indices());
        if (augmenter != null) {
            images = augmenter.apply(images);
        }
        int[] labels = batch.labels();
        StepGuard guard = monitor != null ? monitor.begin(tower, epoch, step, stepsPerEpoch)
                : StepGuard.begin(tower, epoch, step, stepsPerEpoch);
        Tensor embeddings = guard.forward(images);       // finite, or it threw: the miner needs NaN-free distances
        Tensor distances;
        try (var noGrad = Tensor.noGrad()) {
            distances = loss.distance().pairwise(embeddings.detach());
        }
        guard.checkDerived("pairwise distance matrix", distances, embeddings);
        Triplets triplets = miner.mine(distances.data(), labels.length, labels, loss.margin());
        if (triplets.isEmpty()) {
            if (monitor != null) {
                monitor.skipped(guard, embeddings.detach(), labels);
            }
            return null;
        }
        TripletStats stats = TripletStats.of(triplets, distances.data(), labels.length, loss.margin());
        LossResult result = loss.compute(embeddings, triplets.anchors(), triplets.positives(), triplets.negatives());
        optimizer.zeroGrad();
        result.loss().backward();
        guard.checkGradients(result.value());             // before the update: a bad step is never applied
        if (monitor != null) {
            monitor.step(guard, result.value(), result.activeFraction(), stats, embeddings.detach(), labels);
        }
        optimizer.step();
        return new StepReport(epoch, step, stepsPerEpoch, result.value(), result.activeFraction(), stats,
                labels.length);
    }
}
