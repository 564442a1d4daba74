package org.siamese4j.siamese.head;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.SGD;
import org.siamese4j.optim.StepLR;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.MetricTrainer;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class HeadTrainerTest {
    private static final int H = 24;
    private static final int W = 20;
    /**
     * 1x24x20 -> conv 8x24x20 -> pool 8x12x10 -> conv 16x12x10 -> pool 16x6x5 = 480 -> 24, sigmoid as Koch's
     * tower; batch norm makes it learn in few steps (and its running statistics are state for the resume test).
     */
    static final ArchSpec TOWER = ArchSpec.parse("conv(8,3,pad=1) batchnorm relu maxpool(2) conv(16,3,pad=1) "
            + "batchnorm relu maxpool(2) flatten dense(24) sigmoid");
    static final int[] INPUT = {1, H, W};

    @TempDir
    Path dir;

    /** Held-out AUC of the head's P(same) over every pair of {@code data}. */
    private static double auc(HeadSiameseNetwork net, ImageDataset data) {
        float[][] e = Embeddings.of(net.tower(), data, 64);
        boolean wasTraining = net.isTraining();
        try {
            return ScoredPairs.all(e, data.labels(), net::score, ScoreDirection.HIGHER_IS_SAME).roc().auc();
        } finally {
            net.train(wasTraining);
        }
    }

    private static double mean(List<HeadTrainer.StepReport> reports, int from, int to,
                               java.util.function.ToDoubleFunction<HeadTrainer.StepReport> f) {
        return reports.subList(from, to).stream().mapToDouble(f).average().orElseThrow();
    }

    // ---------------------------------------------------------------------------------------- learning

    @Test
    void trainingRaisesHeldOutAucOnUnseenPeople() throws IOException {
        long seed = 21;
        ImageDataset train = SyntheticFaces.generateRange(0, 80, 6, seed, H, W);
        ImageDataset test = SyntheticFaces.generateRange(1000, 15, 5, seed, H, W);
        Rng rng = new Rng(seed);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(TOWER, INPUT, ArchSpec.parse("dense(16) relu dense(1)"),
                rng.split());
        double untrained = auc(net, test);

        Rng samplerRng = rng.split();
        PairSampler sampler = new PairSampler(train, 0.5, samplerRng);
        HeadTrainer trainer = new HeadTrainer(net, new Adam(net.parameters(), 3e-3f), null);
        List<HeadTrainer.StepReport> reports = new ArrayList<>();
        trainer.fit(train, sampler, samplerRng, 32, 25, 8, reports::add, null);
        double trained = auc(net, test);

        System.out.printf("synthetic faces, BCE head: held-out AUC %.3f -> %.3f over %d steps, batch accuracy "
                        + "%.2f -> %.2f%n", untrained, trained, reports.size(), mean(reports, 0, 10,
                        HeadTrainer.StepReport::accuracy), mean(reports, 190, 200, HeadTrainer.StepReport::accuracy));
        assertThat(reports).hasSize(200);
        assertThat(trained).isGreaterThan(untrained + 0.15).isGreaterThanOrEqualTo(0.8);
        assertThat(mean(reports, 190, 200, HeadTrainer.StepReport::loss))
                .isLessThan(mean(reports, 0, 10, HeadTrainer.StepReport::loss));
        assertThat(mean(reports, 190, 200, HeadTrainer.StepReport::accuracy))
                .isGreaterThan(mean(reports, 0, 10, HeadTrainer.StepReport::accuracy) + 0.15);
        HeadTrainer.StepReport last = reports.get(reports.size() - 1);
        assertThat(last.epoch()).isEqualTo(8);
        assertThat(last.step()).isEqualTo(25);
        assertThat(last.pairs()).isEqualTo(32);
        assertThat(last.images()).isEqualTo(64);
        assertThat(last.positives()).isEqualTo(16);
        assertThat(trainer.epoch()).isEqualTo(8);
        assertThat(trainer.batches()).isEqualTo(200);
    }

    // ---------------------------------------------------------------------------------------- the step report

    @Test
    void reportGivesTheBceAndTheAccuracyAtOneHalf() {
        ImageDataset data = SyntheticFaces.generateRange(0, 6, 3, 1, H, W);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(TOWER, INPUT, ArchSpec.parse("dense(1)"), new Rng(2));
        // a head that says "same" with logit 3 whatever the images
        Tensor weight = net.head().parameters().get(0);
        Tensor bias = net.head().parameters().get(1);
        weight.fill(0f);
        bias.fill(3f);
        HeadTrainer trainer = new HeadTrainer(net, new SGD(net.parameters(), 0f), null);
        Pairs pairs = new Pairs(new int[] {0, 0, 3, 6, 9}, new int[] {1, 3, 4, 7, 12}, new int[] {1, 0, 1, 1, 0});
        HeadTrainer.StepReport r = trainer.step(data, pairs, 1, 1, 1);
        double same = Math.log1p(Math.exp(-3));       // -ln sigmoid(3)
        double different = 3 + Math.log1p(Math.exp(-3)); // -ln(1 - sigmoid(3))
        assertThat(r.loss()).isCloseTo((float) ((3 * same + 2 * different) / 5), within(1e-6f));
        assertThat(r.accuracy()).isEqualTo(3.0 / 5);
        assertThat(r.positives()).isEqualTo(3);
        assertThat(r.images()).isEqualTo(10);
        assertThat(trainer.batches()).isEqualTo(1);
    }

    @Test
    void batchesOfOneClassOrOneIdentityGiveNoNaN() throws IOException {
        ImageDataset data = SyntheticFaces.generateRange(0, 6, 3, 3, H, W);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(TOWER, INPUT, ArchSpec.parse("dense(8) relu dense(1)"),
                new Rng(4));
        HeadTrainer trainer = new HeadTrainer(net, new Adam(net.parameters(), 1e-2f), null);
        List<HeadTrainer.StepReport> reports = new ArrayList<>();
        for (double fraction : new double[] {1.0, 0.0}) {
            Rng rng = new Rng(5);
            trainer.fit(data, new PairSampler(data, fraction, rng), rng, 8, 3, 1, reports::add, null);
        }
        // a dataset of a single person: only positive pairs exist
        ImageDataset one = SyntheticFaces.generateRange(0, 1, 4, 3, H, W);
        Rng rng = new Rng(6);
        trainer.fit(one, new PairSampler(one, 1.0, rng), rng, 4, 3, 1, reports::add, null);

        assertThat(reports).hasSize(9);
        for (HeadTrainer.StepReport r : reports) {
            assertThat(r.loss()).isFinite().isGreaterThanOrEqualTo(0f);
            assertThat(r.accuracy()).isBetween(0.0, 1.0);
        }
        assertThat(reports.get(0).positives()).isEqualTo(8);
        assertThat(reports.get(3).positives()).isZero();
        net.stateDict().forEach((name, t) -> {
            for (float v : t.data()) {
                assertThat(v).as(name).isFinite();
            }
        });
    }

    @Test
    void aDivergedNetworkFailsTheStepWithoutUpdating() {
        ImageDataset data = SyntheticFaces.generateRange(0, 4, 2, 1, H, W);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(TOWER, INPUT, ArchSpec.parse("dense(1)"), new Rng(2));
        net.head().parameters().get(1).fill(Float.NaN);
        Adam adam = new Adam(net.parameters(), 1e-2f);
        HeadTrainer trainer = new HeadTrainer(net, adam, null);
        float[] before = net.tower().parameters().get(0).toArray();
        Pairs pairs = new Pairs(new int[] {0, 0}, new int[] {1, 2}, new int[] {1, 0});
        assertThatThrownBy(() -> trainer.step(data, pairs, 1, 3, 5))
                .isInstanceOf(NonFiniteTrainingException.class).hasMessageContaining("epoch 1 step 3")
                .hasMessageContaining("parameter head.0.bias already holds non-finite values")
                .hasMessageContaining("not applied");
        assertThat(net.tower().parameters().get(0).toArray()).containsExactly(before);
        assertThat(adam.state()).isEmpty();
        assertThat(trainer.batches()).isZero();
    }

    @Test
    void theOptimizerMustTrainTheHeadToo() {
        HeadSiameseNetwork net = HeadSiameseNetwork.build(TOWER, INPUT, ArchSpec.parse("dense(1)"), new Rng(2));
        assertThatThrownBy(() -> new HeadTrainer(net, new Adam(net.tower().parameters(), 1e-3f), null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not train 2 of the network's parameters [head.0.weight, head.0.bias]")
                .hasMessageContaining("network.parameters()");
    }

    // ---------------------------------------------------------------------------------------- resume

    /** Everything one run holds; {@code seed} sets the initial weights and every Rng. */
    private static final class Run {
        final ImageDataset data = SyntheticFaces.generateRange(0, 8, 3, 9, H, W);
        final HeadSiameseNetwork net;
        final Adam adam;
        final HeadTrainer trainer;
        final Rng samplerRng;
        final PairSampler sampler;

        Run(long seed) {
            Rng rng = new Rng(seed);
            Rng dropout = rng.split();
            Sequential tower = TOWER.build(INPUT, rng);
            // a head with dropout: its Rng is part of the run
            SimilarityHead head = SimilarityHead.parse("dense(8) relu dropout(0.25) dense(1)", 24, dropout);
            net = new HeadSiameseNetwork(tower, head);
            adam = new Adam(net.parameters(), 3e-3f);
            trainer = new HeadTrainer(net, adam, new Augmenter(Augmenter.Config.faces(), rng.split()))
                    .withSchedule(new StepLR(adam, 1, 0.7))
                    .withRng("dropout", dropout);
            samplerRng = rng.split();
            sampler = new PairSampler(data, 0.5, samplerRng);
        }

        void fit(int epochs, Path checkpoint) throws IOException {
            trainer.fit(data, sampler, samplerRng, 6, 3, epochs, null, checkpoint);
        }

        Map<String, float[]> weights() {
            Map<String, float[]> out = new LinkedHashMap<>();
            net.stateDict().forEach((name, t) -> out.put(name, t.toArray()));
            return out;
        }
    }

    private static void assertBitIdentical(Map<String, float[]> expected, Map<String, float[]> actual) {
        assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((name, e) -> {
            float[] a = actual.get(name);
            for (int i = 0; i < e.length; i++) {
                if (Float.floatToRawIntBits(e[i]) != Float.floatToRawIntBits(a[i])) {
                    throw new AssertionError(name + "[" + i + "]: expected " + e[i] + ", got " + a[i]
                            + " (not bit-identical)");
                }
            }
        });
    }

    @Test
    void resumeEqualsUninterruptedTrainingBitForBit() throws IOException {
        Run straight = new Run(1);
        straight.fit(3, null);

        Run first = new Run(1);
        Path checkpoint = dir.resolve("head.ckpt");
        first.fit(1, checkpoint);
        first.fit(1, null);                         // training on does not change the saved file

        Run resumed = new Run(777);                 // other weights and Rngs: all must come from the checkpoint
        resumed.trainer.resume(checkpoint, resumed.samplerRng);
        assertThat(resumed.trainer.epoch()).isEqualTo(1);
        assertThat(resumed.trainer.batches()).isEqualTo(3);
        assertThat(resumed.adam.learningRate()).isEqualTo((float) (3e-3f * 0.7));
        assertThat(resumed.weights().get("head.0.weight")).as("epochs 2 and 3 change the weights")
                .isNotEqualTo(straight.weights().get("head.0.weight"));
        resumed.fit(2, null);

        assertThat(resumed.trainer.batches()).isEqualTo(straight.trainer.batches());
        assertBitIdentical(straight.weights(), resumed.weights());
        assertThat(resumed.weights().keySet()).contains("tower.0.weight", "head.0.weight", "head.3.bias");
    }

    @Test
    void resumeRefusesOtherRunsAndChangesNothing() throws IOException {
        Run first = new Run(1);
        Path file = dir.resolve("head.ckpt");
        first.fit(1, file);

        // a trainer without the dropout Rng
        Run noRng = new Run(2);
        Map<String, float[]> before = noRng.weights();
        HeadTrainer bare = new HeadTrainer(noRng.net, noRng.adam, new Augmenter(Augmenter.Config.faces(),
                new Rng(1))).withSchedule(new StepLR(noRng.adam, 1, 0.7));
        assertThatThrownBy(() -> bare.resume(file, noRng.samplerRng))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("Rng states [extra.dropout] this trainer has no Rng for");
        assertBitIdentical(before, noRng.weights());
        assertThat(noRng.adam.state()).isEmpty();

        // a trainer without an augmenter
        Run noAugmenter = new Run(2);
        HeadTrainer plain = new HeadTrainer(noAugmenter.net, noAugmenter.adam, null)
                .withSchedule(new StepLR(noAugmenter.adam, 1, 0.7)).withRng("dropout", new Rng(1));
        assertThatThrownBy(() -> plain.resume(file, noAugmenter.samplerRng))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("[augmenter]");

        // a contrastive run's checkpoint
        Sequential tower = TOWER.build(INPUT, new Rng(3));
        Rng pairRng = new Rng(4);
        MetricTrainer contrastive = MetricTrainer.pairs(tower, new ContrastiveLoss(1f, LabelConvention.SAME_IS_ONE),
                Distance.EUCLIDEAN, new Adam(tower.parameters(), 1e-3f), null);
        Path other = dir.resolve("contrastive.ckpt");
        contrastive.fitPairs(first.data, new PairSampler(first.data, 0.5, pairRng), pairRng, 4, 1, 1, null, other);
        Run target = new Run(5);
        assertThatThrownBy(() -> target.trainer.resume(other, target.samplerRng))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("the checkpoint is of a 'pairs' run, this trainer is 'bce-head'");

        // another head width: the model check names the tensor and both shapes
        Rng rng = new Rng(6);
        HeadSiameseNetwork wider = new HeadSiameseNetwork(TOWER.build(INPUT, rng),
                SimilarityHead.parse("dense(16) relu dropout(0.25) dense(1)", 24, rng));
        Adam adam = new Adam(wider.parameters(), 3e-3f);
        HeadTrainer widerTrainer = new HeadTrainer(wider, adam, new Augmenter(Augmenter.Config.faces(), rng))
                .withSchedule(new StepLR(adam, 1, 0.7)).withRng("dropout", rng);
        assertThatThrownBy(() -> widerTrainer.resume(file, new Rng(1)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.head.0.weight: checkpoint [8, 24], model [16, 24]");
    }
}
