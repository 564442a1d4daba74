package org.siamese4j.siamese.train;

import org.siamese4j.nn.Module;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A learned similarity head as Koch et al. (2015): balanced random pairs, the head's logit of P(same) on
 * {@code |e1 - e2|}, binary cross-entropy against 1 for "same person" and 0 for "different". The tower and the
 * head train together, so the trained model is the {@link HeadSiameseNetwork} (its parts are named
 * {@code tower} and {@code head} in checkpoints and in the guard's messages). Pairs are scored by P(same), higher
 * meaning more alike. BCE is finite for every finite logit and needs no negative in the batch, so no batch is
 * ever skipped.
 */
public final class HeadObjective extends PairObjective {
    /**
     * The cross-entropy above which a pair counts as an active loss term: 0.001. BCE is never exactly 0, so
     * "non-zero", the active fraction of the margin losses, would always be 1. A pair's term {@code softplus(-m)},
     * with {@code m} the logit signed towards the right answer, is below 0.001 exactly when P(right answer) is
     * above about 0.999; its gradient is then below 0.001 too, and the pair teaches almost nothing.
     */
    public static final double ACTIVE_LOSS = 1e-3;

    private final HeadSiameseNetwork network;

    public HeadObjective(ImageDataset train, int pairsPerBatch, HeadSiameseNetwork network, Rng rng) {
        super(train, pairsPerBatch, rng);
        this.network = network;
    }

    @Override
    public String name() {
        return "bce-head";
    }

    @Override
    public Module model(Module tower) {
        if (network.tower() != tower) {
            throw new IllegalArgumentException("HeadObjective: the trainer's tower is not the network's tower");
        }
        return network;
    }

    @Override
    public StepLoss loss(Tensor embeddings, Batch batch, StepGuard guard) {
        boolean[] same = same(batch);
        int n = same.length;
        float[] targets = new float[n];
        for (int i = 0; i < n; i++) {
            targets[i] = same[i] ? 1f : 0f;
        }
        Tensor logits = network.head().logits(embeddings.slice(0, n), embeddings.slice(n, 2 * n));
        guard.checkOutput("head", embeddings, logits);
        Tensor loss = Functional.binaryCrossEntropyWithLogits(logits, Tensor.wrap(targets, n));
        return new StepLoss(loss, loss.item(), activeFraction(logits.data(), same), null);
    }

    /**
     * The fraction of pairs whose cross-entropy exceeds {@link #ACTIVE_LOSS}: with {@code m} the logit signed
     * towards the right answer, the term is {@code softplus(-m) = max(-m, 0) + log1p(exp(-|m|))}.
     */
    static double activeFraction(float[] logits, boolean[] same) {
        int active = 0;
        for (int i = 0; i < same.length; i++) {
            double m = same[i] ? logits[i] : -(double) logits[i];
            if (Math.max(-m, 0) + Math.log1p(Math.exp(-Math.abs(m))) > ACTIVE_LOSS) {
                active++;
            }
        }
        return same.length == 0 ? 0 : (double) active / same.length;
    }

    @Override
    public Scoring scoring() {
        return new Scoring(network::score, ScoreDirection.HIGHER_IS_SAME, "P(same)");
    }
}
