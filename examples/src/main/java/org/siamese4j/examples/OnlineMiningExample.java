package org.siamese4j.examples;

import java.io.IOException;
import java.util.Arrays;
import java.util.Locale;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.Towers;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.mining.BatchAllMiner;
import org.siamese4j.siamese.mining.BatchHardMiner;
import org.siamese4j.siamese.mining.OnlineMiner;
import org.siamese4j.siamese.mining.SemiHardMiner;
import org.siamese4j.siamese.train.OnlineTripletObjective;
import org.siamese4j.siamese.train.Trainer;
import org.siamese4j.tensor.Rng;

/**
 * FaceNet-style online mining with P x K batches on synthetic faces: prints, per epoch, the loss, the share of
 * active triplets, the mix of easy / semi-hard / hard triplets the miner saw, and the verification AUC on 40
 * people never seen in training. The tables of docs/siamese.md come from this program.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp examples/target/siamese4j.jar \
 *     org.siamese4j.examples.OnlineMiningExample batch-hard|batch-all|semi-hard [epochs]</pre>
 */
public final class OnlineMiningExample {
    private OnlineMiningExample() {
    }

    public static void main(String[] args) throws IOException {
        String minerName = args.length > 0 ? args[0] : "batch-hard";
        int epochs = args.length > 1 ? Integer.parseInt(args[1]) : 25;
        OnlineMiner miner = switch (minerName) {
            case "batch-hard" -> new BatchHardMiner();
            case "batch-all" -> BatchAllMiner.all();
            case "semi-hard" -> new SemiHardMiner();
            default -> throw new IllegalArgumentException("unknown miner '" + minerName
                    + "'; valid: batch-hard, batch-all, semi-hard");
        };
        long seed = 11;
        ImageDataset train = SyntheticFaces.generateRange(0, 120, 8, seed, 56, 46);
        ImageDataset test = SyntheticFaces.generateRange(1000, 40, 6, seed, 56, 46);
        Rng rng = new Rng(seed);
        Sequential tower = Towers.small(rng.split());
        System.out.printf(Locale.ROOT, "miner %s, %s train, %s test; untrained held-out AUC %.3f%n", minerName,
                train, test, auc(tower, test));
        OnlineTripletObjective objective = new OnlineTripletObjective(train, 12, 4,
                TripletLoss.hard(0.3f, Distance.EUCLIDEAN), miner, rng.split());
        double[] kinds = new double[3];             // easy, semi-hard and hard fractions summed over the epoch
        Trainer trainer = Trainer.builder(tower, objective, new Adam(tower.parameters(), 2e-3f), train)
                .augmenter(new Augmenter(Augmenter.Config.faces(), rng.split()))
                .listener(new Trainer.Listener() {
                    @Override
                    public void onStep(Trainer.StepReport r) {
                        if (!r.skipped()) {
                            kinds[0] += r.mined().easyFraction();
                            kinds[1] += r.mined().semiHardFraction();
                            kinds[2] += r.mined().hardFraction();
                        }
                    }

                    @Override
                    public void onEpoch(Trainer.EpochReport e) {
                        int n = Math.max(1, e.steps());
                        System.out.printf(Locale.ROOT, "epoch %2d: loss %.3f, active %3.0f%%, easy %3.0f%%, "
                                        + "semi-hard %3.0f%%, hard %3.0f%%, held-out AUC %.3f%n", e.epoch(),
                                e.meanLoss(), 100 * e.activeFraction(), 100 * kinds[0] / n, 100 * kinds[1] / n,
                                100 * kinds[2] / n, auc(tower, test));
                        Arrays.fill(kinds, 0);
                    }
                }).build();
        trainer.fit(Trainer.Budget.epochs(epochs));
    }

    private static double auc(Sequential tower, ImageDataset data) {
        return VerificationReport.evaluate(Embeddings.of(tower, data, 64), data.labels(),
                EmbeddingDistance.EUCLIDEAN, 5, 200, new Rng(3)).auc();
    }
}
