package org.siamese4j.siamese.head;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.optim.LRScheduler;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Trains a {@link HeadSiameseNetwork} (tower and similarity head together) as Koch et al. (2015) did: balanced
 * pairs from a {@link PairSampler}, target 1 for "same identity" and 0 for "different", binary cross-entropy on
 * the head's logits ({@link Functional#binaryCrossEntropyWithLogits}), one optimiser over the tower's and the
 * head's parameters. The two images of every pair go through the tower in one batch of 2N.
 *
 * <p>The design follows {@code MetricTrainer.pairs}: {@link #fit} runs epochs of a fixed number of steps and can
 * save a checkpoint after every epoch; {@link #resume} continues a run exactly. A checkpoint holds the tower and
 * the head ({@code model.tower.*}, {@code model.head.*}), the optimiser's state, the schedule's epoch (with
 * {@link #withSchedule}), the counters, the pair sampler's Rng, the augmenter's Rng, the Rngs registered with
 * {@link #withRng} (give it the Rng of any dropout layer), and the kind of trainer ({@code bce-head}), so that
 * a contrastive or triplet checkpoint is not silently resumed here. Given the same JDK, kernels and thread count,
 * resuming on a trainer and sampler built the same way gives bit for bit the weights of an uninterrupted run.
 *
 * <p>No batch produces NaN by construction: the loss is finite for every finite logit, and a batch of pairs all
 * of one class (all same, or all different) is an ordinary batch for BCE (unlike, say, a batch-hard triplet
 * loss, which needs both). If the loss is nevertheless not finite (the weights themselves have diverged), the step
 * fails before updating anything, so the last checkpoint and the current weights stay usable.
 */
public final class HeadTrainer {
    /**
     * What one step did.
     *
     * @param loss      the batch's mean binary cross-entropy
     * @param accuracy  the fraction of pairs decided correctly at P(same) = 0.5 (logit &gt;= 0 means "same")
     * @param positives the number of same-identity pairs in the batch
     * @param pairs     the number of pairs
     * @param images    the number of images that went through the tower (2 per pair)
     */
    public record StepReport(int epoch, int step, int stepsPerEpoch, float loss, double accuracy, int positives,
                             int pairs, int images) {
    }

    static final String KIND = "bce-head";
    static final String KIND_STATE = "trainer";
    static final String PAIR_RNG = "pairs";
    static final String AUGMENTER_RNG = "augmenter";
    static final String EXTRA_RNG_PREFIX = "extra.";

    private final HeadSiameseNetwork network;
    private final Optimizer optimizer;
    private final Augmenter augmenter;
    private LRScheduler schedule;
    private final LinkedHashMap<String, Rng> extraRngs = new LinkedHashMap<>();
    private int epoch;
    private long batches;

    /**
     * @param optimizer must train every parameter of {@code network} (build it on {@code network.parameters()});
     *                  an optimiser over the tower alone would leave the head at its random start
     * @param augmenter applied to each batch of 2N images before embedding, or null for none
     */
    public HeadTrainer(HeadSiameseNetwork network, Optimizer optimizer, Augmenter augmenter) {
        this.network = Objects.requireNonNull(network, "HeadTrainer: network is null");
        this.optimizer = Objects.requireNonNull(optimizer, "HeadTrainer: optimizer is null");
        this.augmenter = augmenter;
        Set<Tensor> trained = Collections.newSetFromMap(new IdentityHashMap<>());
        trained.addAll(optimizer.parameters());
        List<String> untrained = new ArrayList<>();
        network.namedParameters().forEach((name, p) -> {
            if (!trained.contains(p)) {
                untrained.add(name);
            }
        });
        if (!untrained.isEmpty()) {
            throw new IllegalArgumentException("HeadTrainer: the optimizer does not train " + untrained.size()
                    + " of the network's parameters " + (untrained.size() <= 6 ? untrained
                    : untrained.subList(0, 6) + "...") + "; build it on network.parameters() (tower and head)");
        }
    }

    /** Steps {@code schedule} once per epoch and saves it in checkpoints; it must drive this trainer's optimizer. */
    public HeadTrainer withSchedule(LRScheduler schedule) {
        if (schedule != null && schedule.optimizer() != optimizer) {
            throw new IllegalArgumentException("HeadTrainer.withSchedule: the schedule drives another optimizer");
        }
        this.schedule = schedule;
        return this;
    }

    /** Saves and restores {@code rng} under {@code name} in checkpoints (e.g. the Rng of a dropout layer). */
    public HeadTrainer withRng(String name, Rng rng) {
        if (name == null || name.isEmpty() || rng == null) {
            throw new IllegalArgumentException("HeadTrainer.withRng: needs a non-empty name and an Rng, got '" + name
                    + "' and " + rng);
        }
        if (extraRngs.putIfAbsent(name, rng) != null) {
            throw new IllegalArgumentException("HeadTrainer.withRng: an Rng named '" + name + "' is already "
                    + "registered");
        }
        return this;
    }

    /** The network being trained. */
    public HeadSiameseNetwork network() {
        return network;
    }

    /** Epochs completed over all calls of {@code fit} (or restored by {@code resume}). */
    public int epoch() {
        return epoch;
    }

    /** Steps taken over all calls. */
    public long batches() {
        return batches;
    }

    // =====================================================================================================
    // Training
    // =====================================================================================================

    /**
     * Trains {@code epochs} epochs of {@code stepsPerEpoch} batches of {@code pairsPerBatch} pairs each, the
     * network in training mode.
     *
     * @param sampler    balanced pairs; its positive fraction sets the class balance (0.5 as Koch et al.)
     * @param samplerRng the Rng {@code sampler} was built with (saved in checkpoints)
     * @param onStep     sees every step's report, or null
     * @param checkpoint where to save a checkpoint after every epoch (replaced atomically), or null
     */
    public void fit(ImageDataset train, PairSampler sampler, Rng samplerRng, int pairsPerBatch, int stepsPerEpoch,
                    int epochs, Consumer<StepReport> onStep, Path checkpoint) throws IOException {
        Objects.requireNonNull(train, "HeadTrainer.fit: train is null");
        Objects.requireNonNull(sampler, "HeadTrainer.fit: sampler is null");
        Objects.requireNonNull(samplerRng, "HeadTrainer.fit: samplerRng is null");
        if (pairsPerBatch < 1 || stepsPerEpoch < 1 || epochs < 0) {
            throw new IllegalArgumentException("HeadTrainer.fit: need pairsPerBatch >= 1, stepsPerEpoch >= 1 and "
                    + "epochs >= 0, got " + pairsPerBatch + ", " + stepsPerEpoch + ", " + epochs);
        }
        network.train();
        for (int e = 0; e < epochs; e++) {
            for (int step = 1; step <= stepsPerEpoch; step++) {
                StepReport r = step(train, sampler.sample(pairsPerBatch), epoch + 1, step, stepsPerEpoch);
                if (onStep != null) {
                    onStep.accept(r);
                }
            }
            if (schedule != null) {
                schedule.step();
            }
            epoch++;
            if (checkpoint != null) {
                checkpoint(samplerRng).save(checkpoint);
            }
        }
    }

    /**
     * One optimisation step on one batch of pairs (counted in {@link #batches()}): embed the 2N images in one
     * pass, BCE of the head's logits against {@code pairs.same()}, backward, optimiser step.
     *
     * @throws IllegalStateException when the loss is not finite (diverged weights); nothing is updated then
     */
    public StepReport step(ImageDataset data, Pairs pairs, int epochNumber, int step, int stepsPerEpoch) {
        int n = pairs.size();
        int[] both = new int[2 * n];
        System.arraycopy(pairs.first(), 0, both, 0, n);
        System.arraycopy(pairs.second(), 0, both, n, n);
        Tensor images = data.batch(both);
        if (augmenter != null) {
            images = augmenter.apply(images);
        }
        Tensor logits = network.forward(images);
        Tensor loss = Functional.binaryCrossEntropyWithLogits(logits, pairs.sameTensor());
        float value = loss.item();
        if (!Float.isFinite(value)) {
            throw new IllegalStateException("HeadTrainer: the loss is " + value + " at epoch " + epochNumber
                    + " step " + step + " (batch " + (batches + 1) + "): the network has diverged; the weights were not "
                    + "updated, and the last checkpoint is kept. Lower the learning rate.");
        }
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        batches++;
        float[] z = logits.data();
        int correct = 0;
        for (int i = 0; i < n; i++) {
            if ((z[i] >= 0f) == pairs.isSame(i)) {
                correct++;
            }
        }
        return new StepReport(epochNumber, step, stepsPerEpoch, value, (double) correct / n, pairs.positives(), n,
                2 * n);
    }

    // =====================================================================================================
    // Checkpoints
    // =====================================================================================================

    /** The checkpoint of this run, in memory (see the class comment); {@code samplerRng} as given to fit. */
    public Checkpoint checkpoint(Rng samplerRng) {
        Objects.requireNonNull(samplerRng, "HeadTrainer.checkpoint: samplerRng is null");
        Checkpoint.Builder b = Checkpoint.builder(network).optimizer(optimizer).scheduler(schedule).epoch(epoch)
                .step(batches).state(KIND_STATE, KIND).rng(PAIR_RNG, samplerRng);
        if (augmenter != null) {
            b.rng(AUGMENTER_RNG, augmenter.rng());
        }
        extraRngs.forEach((name, rng) -> b.rng(EXTRA_RNG_PREFIX + name, rng));
        return b.build();
    }

    /** Writes {@link #checkpoint} to {@code file}, atomically. */
    public void saveCheckpoint(Path file, Rng samplerRng) throws IOException {
        checkpoint(samplerRng).save(file);
    }

    /** Continues the run saved in {@code file}; see {@link #resume(Checkpoint, Rng)}. */
    public void resume(Path file, Rng samplerRng) throws IOException {
        resume(Checkpoint.load(file), samplerRng);
    }

    /**
     * Continues a saved run: restores tower, head, optimiser, schedule, counters, the sampler's Rng (put back to
     * its saved state), the augmenter's Rng and the registered Rngs. Everything is checked first; a checkpoint
     * that does not fit (another kind of run, another architecture, a missing or extra Rng, a schedule on one
     * side only) throws {@link ModelFormatException} naming what, and nothing changes.
     */
    public void resume(Checkpoint checkpoint, Rng samplerRng) throws ModelFormatException {
        Objects.requireNonNull(checkpoint, "HeadTrainer.resume: checkpoint is null");
        Objects.requireNonNull(samplerRng, "HeadTrainer.resume: samplerRng is null");
        String kind = checkpoint.stateNames().contains(KIND_STATE) ? checkpoint.state(KIND_STATE)
                : "(none: a TripletTrainer run?)";
        if (!kind.equals(KIND)) {
            throw new ModelFormatException(checkpoint.source(), "the checkpoint is of a '" + kind + "' run, this "
                    + "trainer is '" + KIND + "'", "metadata field \"state." + KIND_STATE + "\"");
        }
        checkpoint.check(network, optimizer, schedule);
        if (schedule == null && checkpoint.hasSchedulerState()) {
            throw new ModelFormatException(checkpoint.source(), "the saved run had a learning-rate schedule, this "
                    + "trainer has none (add it with withSchedule)", "metadata field \"scheduler.type\"");
        }
        Map<String, Rng> expected = new LinkedHashMap<>();
        expected.put(PAIR_RNG, samplerRng);
        if (augmenter != null) {
            expected.put(AUGMENTER_RNG, augmenter.rng());
        }
        extraRngs.forEach((name, rng) -> expected.put(EXTRA_RNG_PREFIX + name, rng));
        Map<Rng, Long> states = new IdentityHashMap<>();
        for (Map.Entry<String, Rng> e : expected.entrySet()) {
            states.put(e.getValue(), checkpoint.rngState(e.getKey()));
        }
        List<String> unknown = new ArrayList<>(checkpoint.rngNames());
        unknown.removeAll(expected.keySet());
        if (!unknown.isEmpty()) {
            throw new ModelFormatException(checkpoint.source(), "the checkpoint holds Rng states " + unknown
                    + " this trainer has no Rng for (it has " + expected.keySet() + ")", "metadata field \"rng."
                    + unknown.get(0) + "\"");
        }
        checkpoint.restore(network, optimizer, schedule);
        states.forEach(Rng::restore);
        epoch = checkpoint.epoch();
        batches = checkpoint.step();
    }
}
