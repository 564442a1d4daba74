package org.siamese4j.siamese.train;

import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.mining.OnlineMiner;
import org.siamese4j.siamese.mining.TripletStats;
import org.siamese4j.siamese.mining.Triplets;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Online triplet mining as in FaceNet and "In Defense of the Triplet Loss": each step draws a P x K batch (P
 * people, K images each), measures all pairwise distances inside it, lets a miner pick the triplets (batch-hard,
 * batch-all or semi-hard) and takes the triplet loss of those. A batch in which the miner finds no triplet takes
 * no step. An epoch is {@code ceil(images / (P * K))} batches, so every image is drawn about once.
 */
public final class OnlineTripletObjective extends PKObjective {
    private final TripletLoss loss;
    private final OnlineMiner miner;

    /** P x K batches of {@code train} drawn with {@code rng} (identities with fewer than K images repeat some). */
    public OnlineTripletObjective(ImageDataset train, int p, int k, TripletLoss loss, OnlineMiner miner, Rng rng) {
        super(train, p, k, rng);
        this.loss = loss;
        this.miner = miner;
    }

    @Override
    public String name() {
        return "online-triplet";
    }

    @Override
    public StepLoss loss(Tensor embeddings, Batch batch, StepGuard guard) {
        Tensor distances;
        try (var noGrad = Tensor.noGrad()) {
            distances = loss.distance().pairwise(embeddings.detach());
        }
        guard.checkDerived("pairwise distance matrix", distances, embeddings);
        int[] labels = batch.labels();
        Triplets triplets = miner.mine(distances.data(), labels.length, labels, loss.margin());
        if (triplets.isEmpty()) {
            return null;
        }
        TripletStats mined = TripletStats.of(triplets, distances.data(), labels.length, loss.margin());
        LossResult r = loss.compute(embeddings, triplets.anchors(), triplets.positives(), triplets.negatives());
        return new StepLoss(r.loss(), r.value(), r.activeFraction(), mined);
    }

    @Override
    public Scoring scoring() {
        return new Scoring(loss.distance()::between, ScoreDirection.LOWER_IS_SAME, loss.distance().name());
    }
}
