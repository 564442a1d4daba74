package org.siamese4j.siamese.train;

import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.loss.CircleLoss;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Circle loss (Sun et al. 2020) over every pair of a P x K batch: each within-class similarity is pulled up and
 * each between-class one pushed down, each weighted by how far it is from its optimum. A batch with no anchor
 * that has both a positive and a negative takes no step. Embeddings are compared by cosine distance, the
 * loss's own similarity.
 */
public final class CircleObjective extends PKObjective {
    private final CircleLoss loss;

    public CircleObjective(ImageDataset train, int p, int k, CircleLoss loss, Rng rng) {
        super(train, p, k, rng);
        this.loss = loss;
    }

    @Override
    public String name() {
        return "circle";
    }

    @Override
    public StepLoss loss(Tensor embeddings, Batch batch, StepGuard guard) {
        LossResult r = loss.compute(embeddings, batch.labels());
        return r.termCount() == 0 ? null : new StepLoss(r.loss(), r.value(), r.activeFraction(), null);
    }

    @Override
    public Scoring scoring() {
        return new Scoring(Distance.COSINE::between, ScoreDirection.LOWER_IS_SAME, Distance.COSINE.name());
    }
}
