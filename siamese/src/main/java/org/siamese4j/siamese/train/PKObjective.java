package org.siamese4j.siamese.train;

import java.util.Map;
import org.siamese4j.siamese.data.IdentityBatch;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PKSampler;
import org.siamese4j.tensor.Rng;

/**
 * The sampling of the objectives that learn from whole labelled batches: P people x K images each
 * ({@link PKSampler}; people with fewer than K images repeat some). An epoch is {@code ceil(images / (P * K))}
 * batches, so every image is drawn about once. A subclass writes only its loss.
 */
public abstract class PKObjective implements Objective {
    private final PKSampler sampler;
    private final int stepsPerEpoch;

    protected PKObjective(ImageDataset train, int p, int k, Rng rng) {
        this.sampler = new PKSampler(train, p, k, PKSampler.Shortfall.REPEAT, rng);
        this.stepsPerEpoch = Math.max(1, (train.size() + p * k - 1) / (p * k));
    }

    @Override
    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    @Override
    public Batch nextBatch() {
        IdentityBatch b = sampler.nextBatch();
        return new Batch(b.indices(), b.labels());
    }

    /** The sampler's position and its Rng, in one line. */
    @Override
    public String exportState() {
        return sampler.exportState();
    }

    @Override
    public void restoreState(String state) {
        sampler.restoreState(state);
    }

    /** None: the sampler's Rng is part of {@link #exportState()}. */
    @Override
    public Map<String, Rng> rngs() {
        return Map.of();
    }
}
