package org.siamese4j.siamese.train;

import java.util.Map;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.tensor.Rng;

/**
 * The sampling of the objectives that learn from pairs: balanced random pairs (half same person, half not), the
 * first images of all pairs then the second ones, so that a batch of N pairs is 2N images embedded in one pass
 * and pair i is rows i and N + i. An epoch is {@code ceil(images / 2N)} batches, about as many images as the
 * training set holds. A subclass writes only its loss.
 */
public abstract class PairObjective implements Objective {
    static final String RNG = "pairs";

    private final ImageDataset train;
    private final PairSampler sampler;
    private final Rng rng;
    private final int pairsPerBatch;
    private final int stepsPerEpoch;

    protected PairObjective(ImageDataset train, int pairsPerBatch, Rng rng) {
        if (pairsPerBatch < 1) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": pairs per batch must be >= 1, got "
                    + pairsPerBatch);
        }
        this.train = train;
        this.sampler = new PairSampler(train, 0.5, rng);
        this.rng = rng;
        this.pairsPerBatch = pairsPerBatch;
        this.stepsPerEpoch = Math.max(1, (train.size() + 2 * pairsPerBatch - 1) / (2 * pairsPerBatch));
    }

    @Override
    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    @Override
    public Batch nextBatch() {
        return batchOf(sampler.sample(pairsPerBatch), train);
    }

    /** {@code pairs} of {@code data} as one batch: the first images of all pairs, then the second ones. */
    public static Batch batchOf(Pairs pairs, ImageDataset data) {
        int n = pairs.size();
        int[] both = new int[2 * n];
        System.arraycopy(pairs.first(), 0, both, 0, n);
        System.arraycopy(pairs.second(), 0, both, n, n);
        return new Batch(both, data.labelsOf(both));
    }

    /** Whether pair i of {@code batch} shows one person: its two images have the same label. */
    protected static boolean[] same(Batch batch) {
        int n = batch.labels().length / 2;
        boolean[] same = new boolean[n];
        for (int i = 0; i < n; i++) {
            same[i] = batch.labels()[i] == batch.labels()[n + i];
        }
        return same;
    }

    /** Nothing: the sampler draws only from its Rng, which {@link #rngs()} names. */
    @Override
    public String exportState() {
        return "";
    }

    @Override
    public void restoreState(String state) {
        if (!state.isEmpty()) {
            throw new IllegalArgumentException("a " + name() + " run keeps its sampling in its Rng only, got '"
                    + state + "'");
        }
    }

    @Override
    public Map<String, Rng> rngs() {
        return Map.of(RNG, rng);
    }
}
