package org.siamese4j.siamese;

import java.util.Locale;
import java.util.function.Consumer;
import org.siamese4j.nn.Module;
import org.siamese4j.optim.LRScheduler;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.IdentityBatch;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PKSampler;
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
 */
public final class TripletTrainer {
    private final Module tower;
    private final TripletLoss loss;
    private final OnlineMiner miner;
    private final Optimizer optimizer;
    private final Augmenter augmenter;
    private LRScheduler schedule;

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

    /** Trains for {@code epochs} passes of the sampler over the identities; {@code onStep} sees every step. */
    public void fit(ImageDataset train, int p, int k, int epochs, Rng rng, Consumer<StepReport> onStep) {
        PKSampler sampler = new PKSampler(train, p, k, PKSampler.Shortfall.REPEAT, rng.split());
        tower.train();
        int stepsPerEpoch = sampler.batchesPerEpoch();
        for (int epoch = 1; epoch <= epochs; epoch++) {
            int step = 0;
            for (IdentityBatch batch : sampler.nextEpoch()) {
                step++;
                StepReport report = step(train, batch, epoch, step, stepsPerEpoch);
                if (onStep != null && report != null) {
                    onStep.accept(report);
                }
            }
            if (schedule != null) {
                schedule.step();
            }
        }
    }

    /** One optimisation step on one batch, or null when the batch holds no valid triplet. */
    public StepReport step(ImageDataset data, IdentityBatch batch, int epoch, int step, int stepsPerEpoch) {
        Tensor images = data.batch(batch.indices());
        if (augmenter != null) {
            images = augmenter.apply(images);
        }
        int[] labels = batch.labels();
        Tensor embeddings = tower.forward(images);
        Tensor distances;
        try (var noGrad = Tensor.noGrad()) {
            distances = loss.distance().pairwise(embeddings.detach());
        }
        Triplets triplets = miner.mine(distances.data(), labels.length, labels, loss.margin());
        if (triplets.isEmpty()) {
            return null;
        }
        TripletStats stats = TripletStats.of(triplets, distances.data(), labels.length, loss.margin());
        LossResult result = loss.compute(embeddings, triplets.anchors(), triplets.positives(), triplets.negatives());
        optimizer.zeroGrad();
        result.loss().backward();
        optimizer.step();
        return new StepReport(epoch, step, stepsPerEpoch, result.value(), result.activeFraction(), stats,
                labels.length);
    }
}
