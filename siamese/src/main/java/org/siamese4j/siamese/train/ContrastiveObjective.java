package org.siamese4j.siamese.train;

import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The classic Siamese set-up (Hadsell, Chopra and LeCun 2006): balanced random pairs and the contrastive loss
 * {@code Y * D^2 + (1 - Y) * max(m - D, 0)^2} on their distance. The loss's {@code LabelConvention} decides which
 * label means "same"; this objective turns "same person" into the right one.
 */
public final class ContrastiveObjective extends PairObjective {
    private final ContrastiveLoss loss;
    private final Distance distance;

    public ContrastiveObjective(ImageDataset train, int pairsPerBatch, ContrastiveLoss loss, Distance distance,
                                Rng rng) {
        super(train, pairsPerBatch, rng);
        this.loss = loss;
        this.distance = distance;
    }

    @Override
    public String name() {
        return "contrastive";
    }

    @Override
    public StepLoss loss(Tensor embeddings, Batch batch, StepGuard guard) {
        boolean[] same = same(batch);
        int n = same.length;
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = loss.convention().labelFor(same[i]);
        }
        LossResult r = loss.compute(distance, embeddings.slice(0, n), embeddings.slice(n, 2 * n), labels);
        return new StepLoss(r.loss(), r.value(), r.activeFraction(), null);
    }

    @Override
    public Scoring scoring() {
        return new Scoring(distance::between, ScoreDirection.LOWER_IS_SAME, distance.name());
    }
}
