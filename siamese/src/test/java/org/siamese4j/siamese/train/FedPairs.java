package org.siamese4j.siamese.train;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.siamese4j.nn.Module;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A {@link HeadObjective} fed the pairs a test chooses: fixed pairs, or a {@link PairSampler} of another balance
 * than the objective's own one-to-one (all same, all different, one person). Everything but the draw is the real
 * objective's, so a step through the {@link Trainer} is the step a run would take on such a batch.
 */
final class FedPairs implements Objective {
    private final HeadObjective head;
    private final ImageDataset data;
    private final int stepsPerEpoch;
    private final Supplier<Pairs> draw;
    /** Every batch handed out, in order. */
    final List<Pairs> drawn = new ArrayList<>();

    private FedPairs(HeadObjective head, ImageDataset data, int stepsPerEpoch, Supplier<Pairs> draw) {
        this.head = head;
        this.data = data;
        this.stepsPerEpoch = stepsPerEpoch;
        this.draw = draw;
    }

    /** {@code pairs} of {@code data} at every step, epochs of one step. */
    static FedPairs fixed(HeadObjective head, ImageDataset data, Pairs pairs) {
        return new FedPairs(head, data, 1, () -> pairs);
    }

    /** {@code pairsPerBatch} pairs of {@code data} from {@code sampler} per step. */
    static FedPairs sampled(HeadObjective head, ImageDataset data, PairSampler sampler, int pairsPerBatch,
                            int stepsPerEpoch) {
        return new FedPairs(head, data, stepsPerEpoch, () -> sampler.sample(pairsPerBatch));
    }

    @Override
    public String name() {
        return head.name();
    }

    @Override
    public Module model(Module tower) {
        return head.model(tower);
    }

    @Override
    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    @Override
    public Batch nextBatch() {
        Pairs pairs = draw.get();
        drawn.add(pairs);
        return PairObjective.batchOf(pairs, data);
    }

    @Override
    public StepLoss loss(Tensor embeddings, Batch batch, StepGuard guard) {
        return head.loss(embeddings, batch, guard);
    }

    @Override
    public Scoring scoring() {
        return head.scoring();
    }

    @Override
    public String exportState() {
        return head.exportState();
    }

    @Override
    public void restoreState(String state) {
        head.restoreState(state);
    }

    @Override
    public Map<String, Rng> rngs() {
        return head.rngs();
    }
}
