package org.siamese4j.siamese.head;

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
import java.util.function.Consumer;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.optim.LRScheduler;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.diagnostics.TrainingMonitor;
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
 * loss, which needs both), so no batch is ever skipped.
 *
 * <h2>Non-finite steps and diagnostics</h2>
 * As in {@code TripletTrainer}, every step is guarded by a {@link StepGuard} over the whole pair model: a NaN or
 * infinity in the input batch, the tower's embeddings, the head's logits, the loss or a gradient throws a
 * {@link NonFiniteTrainingException} before the optimiser applies the step. It names the input rows, the tower
 * layer whose output overflowed ({@code tower.3}), the head ({@code head}) with its first non-finite parameter
 * ({@code head.0.bias}), or the parameter whose gradient went non-finite first in backward order (the head's
 * before the tower's). The weights, the optimiser's state and batch-norm statistics stay those of the last good
 * step, and {@code fit} writes no checkpoint for the epoch in progress, so the last checkpoint file is the last
 * good one. {@link #withMonitor} adds a {@link TrainingMonitor}; without one, only the guard runs.
 */
public final class HeadTrainer {
    /**
     * What one step did.
     *
     * @param loss           the batch's mean binary cross-entropy
     * @param accuracy       the fraction of pairs decided correctly at P(same) = 0.5 (logit &gt;= 0 means "same")
     * @param activeFraction the fraction of pairs whose cross-entropy exceeds {@link #ACTIVE_LOSS}, i.e. that
     *                       still give a gradient worth the name (see {@link #activeFraction})
     * @param positives      the number of same-identity pairs in the batch
     * @param pairs          the number of pairs
     * @param images         the number of images that went through the tower (2 per pair)
     */
    public record StepReport(int epoch, int step, int stepsPerEpoch, float loss, double accuracy,
                             double activeFraction, int positives, int pairs, int images) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "epoch %d step %d/%d: loss %.4f, accuracy %.0f%%, active %.0f%%, "
                            + "%d pairs (%d same)", epoch, step, stepsPerEpoch, loss, 100 * accuracy,
                    100 * activeFraction, pairs, positives);
        }
    }

    /**
     * The cross-entropy above which a pair counts as an active loss term: 0.001. BCE is never exactly 0, so
     * "non-zero", the active fraction of the margin losses, would always be 1. A pair's term
     * {@code softplus(-m)}, with {@code m} the logit signed towards the right answer, is below 0.001 exactly when
     * P(right answer) is above e^-0.001 (about 0.999, a signed logit above about 6.9), and then the gradient
     * on its logit, {@code |P(same) - target|} (about the term itself), is below 0.001 too: the pair is decided
     * with confidence and teaches almost nothing. Misclassified pairs always count as active.
     */
    public static final double ACTIVE_LOSS = 1e-3;

    static final String KIND = "bce-head";
    static final String KIND_STATE = "trainer";
    static final String PAIR_RNG = "pairs";
    static final String AUGMENTER_RNG = "augmenter";
    static final String EXTRA_RNG_PREFIX = "extra.";
    /** The parts of {@link HeadSiameseNetwork}, as the guard names them. */
    private static final String TOWER = "tower";
    private static final String HEAD = "head";

    private final HeadSiameseNetwork network;
    private final Optimizer optimizer;
    private final Augmenter augmenter;
    private LRScheduler schedule;
    private TrainingMonitor monitor;
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

    /**
     * Reports every step and epoch to {@code monitor} (null for none); it is not part of checkpoints.
     * <ul>
     *   <li>Per step: the BCE, the active fraction (pairs whose cross-entropy exceeds {@link #ACTIVE_LOSS}) and
     *       the gradient norm of tower and head together; no triplet counts.</li>
     *   <li>Per epoch: figures of the tower's embeddings, as the step computed them. The monitor gets the
     *       identity labels of the 2N images, so its positive and negative figures cover every pair of images in
     *       the batch (as for {@code MetricTrainer}'s pairs), not only the N sampled pairs. The head has no fixed
     *       distance: the figures use the monitor's distance, Euclidean by default, and say whether the tower
     *       separates identities at all. Collapse is measured on these embeddings: a collapsed tower gives
     *       {@code |e1 - e2| = 0} for every pair and leaves the head nothing to decide on.</li>
     *   <li>The loss-stuck-at-zero warning needs a loss of exactly 0, which BCE practically never reaches (every
     *       logit would have to be beyond about 100 on the right side); for the head, the same news is an active
     *       fraction falling towards 0. Batches are never skipped (see the class comment).</li>
     * </ul>
     */
    public HeadTrainer withMonitor(TrainingMonitor monitor) {
        this.monitor = monitor;
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
            if (monitor != null) {
                monitor.endEpoch();
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
     * One optimisation step on one batch of pairs (counted in {@link #batches()} once applied): embed the 2N
     * images in one pass, BCE of the head's logits against {@code pairs.same()}, backward, optimiser step.
     * {@code epochNumber} and {@code step} count from 1 (they locate the step in diagnostics and errors).
     *
     * @throws NonFiniteTrainingException if the input, the embeddings, the logits, the loss or a gradient is not
     *                                    finite (see the class comment); the step is then not applied
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
        StepGuard guard = monitor != null ? monitor.begin(network, epochNumber, step, stepsPerEpoch)
                : StepGuard.begin(network, epochNumber, step, stepsPerEpoch);
        // network.forward(images) in its two parts, so that the guard checks each and can name the culprit
        Tensor embeddings = network.embed(images);
        guard.checkOutput(TOWER, images, embeddings);
        Tensor logits = network.head().logits(embeddings.slice(0, n), embeddings.slice(n, 2 * n));
        guard.checkOutput(HEAD, embeddings, logits);
        Tensor loss = Functional.binaryCrossEntropyWithLogits(logits, pairs.sameTensor());
        float value = loss.item();
        optimizer.zeroGrad();
        loss.backward();
        guard.checkGradients(value);                     // before the update: a bad step is never applied
        float[] z = logits.data();
        double active = activeFraction(z, pairs);
        if (monitor != null) {
            monitor.step(guard, value, active, null, embeddings.detach(), data.labelsOf(both));
        }
        optimizer.step();
        batches++;
        int correct = 0;
        for (int i = 0; i < n; i++) {
            if ((z[i] >= 0f) == pairs.isSame(i)) {
                correct++;
            }
        }
        return new StepReport(epochNumber, step, stepsPerEpoch, value, (double) correct / n, active,
                pairs.positives(), n, 2 * n);
    }

    /**
     * The fraction of pairs whose binary cross-entropy exceeds {@link #ACTIVE_LOSS}. With {@code m} the logit
     * signed towards the right answer ({@code z} for a same pair, {@code -z} for a different one) the term is
     * {@code softplus(-m) = max(-m, 0) + log1p(exp(-|m|))}, computed in double as the loss computes it.
     *
     * @param logits N logits, pair i's at index i
     */
    static double activeFraction(float[] logits, Pairs pairs) {
        int n = pairs.size();
        int active = 0;
        for (int i = 0; i < n; i++) {
            double m = pairs.isSame(i) ? logits[i] : -(double) logits[i];
            double term = Math.max(-m, 0) + Math.log1p(Math.exp(-Math.abs(m)));
            if (term > ACTIVE_LOSS) {
                active++;
            }
        }
        return n == 0 ? 0 : (double) active / n;
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
