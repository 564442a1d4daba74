package org.siamese4j.siamese;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.function.Consumer;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.Module;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.IdentityBatch;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PKSampler;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.diagnostics.TrainingMonitor;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Training loops for the metric-learning losses that are not triplet losses (those have {@link TripletTrainer}):
 * <ul>
 *   <li>{@link #pairs}: a contrastive loss over pairs drawn by a {@link PairSampler}, the classic Siamese set-up
 *       (Hadsell et al. 2006). The two images of every pair go through the tower in one batch of 2B, so batch
 *       norm sees both halves alike.</li>
 *   <li>{@link #batches}: any loss of a whole labelled batch ({@code CircleLoss::compute}, say) over P x K batches
 *       drawn by a {@link PKSampler}.</li>
 * </ul>
 * Checkpoints follow {@link TripletTrainer}'s: weights, optimiser state, counters, the sampler's state (the
 * PK sampler's exported state, or the pair sampler's Rng) and the augmenter's Rng, plus the kind of trainer, so
 * that a contrastive checkpoint is not silently resumed as a PK run. Resuming in a new process, on a trainer
 * and sampler built the same way, continues exactly as an uninterrupted run.
 *
 * <p>Every step is guarded as in {@link TripletTrainer}: a NaN or infinity in the embeddings, the loss or a
 * gradient throws a {@link NonFiniteTrainingException} before the optimiser applies the step, and no checkpoint
 * is written for the epoch in progress. {@link #withMonitor} adds a {@link TrainingMonitor}.
 */
public final class MetricTrainer {
    /** A loss of a labelled batch of embeddings. */
    @FunctionalInterface
    public interface BatchLoss {
        LossResult compute(Tensor embeddings, int[] labels);
    }

    /** What one step did. {@code images} is the number of images that went through the tower. */
    public record StepReport(int epoch, int step, int stepsPerEpoch, float loss, double activeFraction, int images) {
    }

    static final String KIND_STATE = "trainer";
    static final String SAMPLER_STATE = "sampler";
    static final String PAIR_RNG = "pairs";
    static final String AUGMENTER_RNG = "augmenter";

    private final String kind;
    private final Module tower;
    private final Optimizer optimizer;
    private final Augmenter augmenter;
    private final BatchLoss batchLoss;
    private final ContrastiveLoss contrastive;
    private final Distance distance;
    private TrainingMonitor monitor;
    private int epoch;
    private long batches;

    private MetricTrainer(String kind, Module tower, Optimizer optimizer, Augmenter augmenter, BatchLoss batchLoss,
                          ContrastiveLoss contrastive, Distance distance) {
        this.kind = kind;
        this.tower = Objects.requireNonNull(tower, "MetricTrainer: tower is null");
        this.optimizer = Objects.requireNonNull(optimizer, "MetricTrainer: optimizer is null");
        this.augmenter = augmenter;
        this.batchLoss = batchLoss;
        this.contrastive = contrastive;
        this.distance = distance;
    }

    /**
     * A contrastive trainer over pairs. The loss's labels follow its {@link LabelConvention}; the trainer turns
     * "same identity" into the right label.
     *
     * @param augmenter applied to each batch of 2B images before embedding, or null for none
     */
    public static MetricTrainer pairs(Module tower, ContrastiveLoss loss, Distance distance, Optimizer optimizer,
                                      Augmenter augmenter) {
        Objects.requireNonNull(loss, "MetricTrainer.pairs: loss is null");
        Objects.requireNonNull(distance, "MetricTrainer.pairs: distance is null");
        return new MetricTrainer("pairs", tower, optimizer, augmenter, null, loss, distance);
    }

    /** A trainer of a whole-batch loss over P x K batches. */
    public static MetricTrainer batches(Module tower, BatchLoss loss, Optimizer optimizer, Augmenter augmenter) {
        Objects.requireNonNull(loss, "MetricTrainer.batches: loss is null");
        return new MetricTrainer("pk", tower, optimizer, augmenter, loss, null, null);
    }

    /**
     * Reports every step, skipped batch and epoch to {@code monitor} (null for none). The monitor sees the
     * identity labels of the images, so its positive and negative pair figures cover every pair of images in a
     * batch, not only the sampled pairs. It is not part of checkpoints.
     */
    public MetricTrainer withMonitor(TrainingMonitor monitor) {
        this.monitor = monitor;
        return this;
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
    // Pairs
    // =====================================================================================================

    /**
     * Trains {@code epochs} epochs of {@code stepsPerEpoch} batches of {@code pairsPerBatch} pairs each.
     *
     * @param samplerRng the Rng {@code sampler} was built with (saved in checkpoints)
     * @param checkpoint where to save a checkpoint after every epoch, or null
     */
    public void fitPairs(ImageDataset train, PairSampler sampler, Rng samplerRng, int pairsPerBatch,
                         int stepsPerEpoch, int epochs, Consumer<StepReport> onStep, Path checkpoint)
            throws IOException {
        requirePairs("fitPairs");
        if (pairsPerBatch < 1 || stepsPerEpoch < 1 || epochs < 0) {
            throw new IllegalArgumentException("MetricTrainer.fitPairs: need pairsPerBatch >= 1, stepsPerEpoch >= 1"
                    + " and epochs >= 0, got " + pairsPerBatch + ", " + stepsPerEpoch + ", " + epochs);
        }
        tower.train();
        for (int e = 0; e < epochs; e++) {
            for (int step = 1; step <= stepsPerEpoch; step++) {
                batches++;
                StepReport r = pairStep(train, sampler.sample(pairsPerBatch), epoch + 1, step, stepsPerEpoch);
                if (onStep != null) {
                    onStep.accept(r);
                }
            }
            if (monitor != null) {
                monitor.endEpoch();
            }
            epoch++;
            if (checkpoint != null) {
                pairCheckpoint(samplerRng).save(checkpoint);
            }
        }
    }

    private StepReport pairStep(ImageDataset data, Pairs pairs, int epochNumber, int step, int steps) {
        int n = pairs.size();
        int[] both = new int[2 * n];
        System.arraycopy(pairs.first(), 0, both, 0, n);
        System.arraycopy(pairs.second(), 0, both, n, n);
        Tensor images = data.batch(both);
        if (augmenter != null) {
            images = augmenter.apply(images);
        }
        StepGuard guard = begin(epochNumber, step, steps);
        Tensor embeddings = guard.forward(images);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = contrastive.convention().labelFor(pairs.isSame(i));
        }
        LossResult result = contrastive.compute(distance, embeddings.slice(0, n), embeddings.slice(n, 2 * n), labels);
        optimizer.zeroGrad();
        result.loss().backward();
        guard.checkGradients(result.value());
        if (monitor != null) {
            monitor.step(guard, result.value(), result.activeFraction(), null, embeddings.detach(),
                    data.labelsOf(both));
        }
        optimizer.step();
        return new StepReport(epochNumber, step, steps, result.value(), result.activeFraction(), 2 * n);
    }

    /** The checkpoint of a pair run, in memory. */
    public Checkpoint pairCheckpoint(Rng samplerRng) {
        requirePairs("pairCheckpoint");
        return base().rng(PAIR_RNG, samplerRng).build();
    }

    /** Continues the pair run saved in {@code file}; the sampler's Rng is put back to its saved state. */
    public void resumePairs(Path file, Rng samplerRng) throws IOException {
        requirePairs("resumePairs");
        Checkpoint c = Checkpoint.load(file);
        checkKind(c);
        long samplerState = c.rngState(PAIR_RNG);
        Long augmenterState = augmenterState(c);
        c.restore(tower, optimizer, null);
        samplerRng.restore(samplerState);
        restoreCommon(c, augmenterState);
    }

    // =====================================================================================================
    // P x K batches
    // =====================================================================================================

    /**
     * Trains {@code epochs} passes of {@code sampler}, saving a checkpoint after every epoch when one is given. A
     * batch whose loss has no term at all (no anchor with both a positive and a negative) takes no step: it is
     * reported to {@code onStep} with loss 0 and to the monitor as skipped.
     */
    public void fitBatches(ImageDataset train, PKSampler sampler, int epochs, Consumer<StepReport> onStep,
                           Path checkpoint) throws IOException {
        requireBatches("fitBatches");
        if (epochs < 0) {
            throw new IllegalArgumentException("MetricTrainer.fitBatches: epochs must be >= 0, got " + epochs);
        }
        tower.train();
        int steps = sampler.batchesPerEpoch();
        for (int e = 0; e < epochs; e++) {
            int step = 0;
            for (IdentityBatch batch : sampler.nextEpoch()) {
                step++;
                batches++;
                Tensor images = train.batch(batch.indices());
                if (augmenter != null) {
                    images = augmenter.apply(images);
                }
                StepGuard guard = begin(epoch + 1, step, steps);
                Tensor embeddings = guard.forward(images);
                LossResult result = batchLoss.compute(embeddings, batch.labels());
                if (result.termCount() == 0) {
                    if (monitor != null) {
                        monitor.skipped(guard, embeddings.detach(), batch.labels());
                    }
                } else {
                    optimizer.zeroGrad();
                    result.loss().backward();
                    guard.checkGradients(result.value());
                    if (monitor != null) {
                        monitor.step(guard, result.value(), result.activeFraction(), null, embeddings.detach(),
                                batch.labels());
                    }
                    optimizer.step();
                }
                if (onStep != null) {
                    onStep.accept(new StepReport(epoch + 1, step, steps, result.value(), result.activeFraction(),
                            batch.labels().length));
                }
            }
            if (monitor != null) {
                monitor.endEpoch();
            }
            epoch++;
            if (checkpoint != null) {
                batchCheckpoint(sampler).save(checkpoint);
            }
        }
    }

    /** The checkpoint of a P x K run, in memory. */
    public Checkpoint batchCheckpoint(PKSampler sampler) {
        requireBatches("batchCheckpoint");
        return base().state(SAMPLER_STATE, sampler.exportState()).build();
    }

    /** Continues the P x K run saved in {@code file}. */
    public void resumeBatches(Path file, PKSampler sampler) throws IOException {
        requireBatches("resumeBatches");
        Checkpoint c = Checkpoint.load(file);
        checkKind(c);
        String state = c.state(SAMPLER_STATE);
        Long augmenterState = augmenterState(c);
        c.check(tower, optimizer, null);
        try {
            sampler.restoreState(state);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(c.source(), "the saved sampler state does not fit this sampler: "
                    + e.getMessage(), "metadata field \"state." + SAMPLER_STATE + "\"", e);
        }
        c.restore(tower, optimizer, null);
        restoreCommon(c, augmenterState);
    }

    // =====================================================================================================
    // Shared
    // =====================================================================================================

    private StepGuard begin(int epochNumber, int step, int steps) {
        return monitor != null ? monitor.begin(tower, epochNumber, step, steps)
                : StepGuard.begin(tower, epochNumber, step, steps);
    }

    private Checkpoint.Builder base() {
        Checkpoint.Builder b = Checkpoint.builder(tower).optimizer(optimizer).epoch(epoch).step(batches)
                .state(KIND_STATE, kind);
        if (augmenter != null) {
            b.rng(AUGMENTER_RNG, augmenter.rng());
        }
        return b;
    }

    private void checkKind(Checkpoint c) throws ModelFormatException {
        String saved = c.stateNames().contains(KIND_STATE) ? c.state(KIND_STATE) : "(none: a TripletTrainer run?)";
        if (!saved.equals(kind)) {
            throw new ModelFormatException(c.source(), "the checkpoint is of a '" + saved + "' run, this trainer is '"
                    + kind + "'", "metadata field \"state." + KIND_STATE + "\"");
        }
    }

    private Long augmenterState(Checkpoint c) throws ModelFormatException {
        boolean saved = c.rngNames().contains(AUGMENTER_RNG);
        if (saved != (augmenter != null)) {
            throw new ModelFormatException(c.source(), saved ? "the saved run used an augmenter, this trainer has none"
                    : "this trainer has an augmenter, the saved run had none", "metadata field \"rng."
                    + AUGMENTER_RNG + "\"");
        }
        return saved ? c.rngState(AUGMENTER_RNG) : null;
    }

    private void restoreCommon(Checkpoint c, Long augmenterState) {
        if (augmenterState != null) {
            augmenter.rng().restore(augmenterState);
        }
        epoch = c.epoch();
        batches = c.step();
    }

    private void requirePairs(String method) {
        if (contrastive == null) {
            throw new IllegalStateException("MetricTrainer." + method + ": this trainer was built for P x K batches");
        }
    }

    private void requireBatches(String method) {
        if (batchLoss == null) {
            throw new IllegalStateException("MetricTrainer." + method + ": this trainer was built for pairs");
        }
    }
}
