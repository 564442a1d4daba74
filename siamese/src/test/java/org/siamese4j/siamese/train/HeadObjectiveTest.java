package org.siamese4j.siamese.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
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
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.head.SimilarityHead;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** The learned similarity head trained by the {@link Trainer}: learning, the step's loss, the guard, resume. */
class HeadObjectiveTest {
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

    private static double mean(List<Trainer.StepReport> reports, int from, int to,
                               ToDoubleFunction<Trainer.StepReport> f) {
        return reports.subList(from, to).stream().mapToDouble(f).average().orElseThrow();
    }

    /** A trainer of {@code net} whose steps draw the pairs of {@code objective}, with no other setting. */
    private static Trainer trainer(HeadSiameseNetwork net, Objective objective, ImageDataset data, float lr,
                                   List<Trainer.StepReport> reports) {
        Trainer.Builder b = Trainer.builder(net.tower(), objective, new Adam(net.parameters(), lr), data);
        if (reports != null) {
            b.listener(Listeners.onStep(reports::add));
        }
        return b.build();
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

        List<Trainer.StepReport> reports = new ArrayList<>();
        Trainer trainer = trainer(net, new HeadObjective(train, 32, net, rng.split()), train, 3e-3f, reports);
        // 480 images at 64 a step: epochs of 8 steps, and 200 steps are 25 of them
        Trainer.Result result = trainer.fit(Trainer.Budget.steps(200));
        double trained = auc(net, test);

        System.out.printf("synthetic faces, BCE head: held-out AUC %.3f -> %.3f over %d steps, batch loss %.3f -> "
                        + "%.3f%n", untrained, trained, reports.size(), mean(reports, 0, 10, Trainer.StepReport::loss),
                mean(reports, 190, 200, Trainer.StepReport::loss));
        assertThat(reports).hasSize(200).noneMatch(Trainer.StepReport::skipped);
        assertThat(trained).isGreaterThan(untrained + 0.15).isGreaterThanOrEqualTo(0.8);
        assertThat(mean(reports, 190, 200, Trainer.StepReport::loss))
                .isLessThan(mean(reports, 0, 10, Trainer.StepReport::loss));
        Trainer.StepReport last = reports.get(reports.size() - 1);
        assertThat(last.epoch()).isEqualTo(25);
        assertThat(last.step()).isEqualTo(8);
        assertThat(last.stepsPerEpoch()).isEqualTo(8);
        assertThat(last.images()).as("32 pairs, two images each").isEqualTo(64);
        assertThat(result.reason()).isEqualTo(Trainer.StopReason.BUDGET);
        assertThat(trainer.epoch()).isEqualTo(25);
        assertThat(trainer.steps()).isEqualTo(200);
    }

    // ---------------------------------------------------------------------------------------- the step report

    @Test
    void reportGivesTheBceOfTheHeadsLogits() {
        ImageDataset data = SyntheticFaces.generateRange(0, 6, 3, 1, H, W);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(TOWER, INPUT, ArchSpec.parse("dense(1)"), new Rng(2));
        // a head that says "same" with logit 3 whatever the images
        net.head().parameters().get(0).fill(0f);
        net.head().parameters().get(1).fill(3f);
        Pairs pairs = new Pairs(new int[] {0, 0, 3, 6, 9}, new int[] {1, 3, 4, 7, 12}, new int[] {1, 0, 1, 1, 0});
        Trainer trainer = Trainer.builder(net.tower(), FedPairs.fixed(new HeadObjective(data, 5, net, new Rng(3)),
                data, pairs), new SGD(net.parameters(), 0f), data).build();
        Trainer.StepReport r = trainer.step(1, 1, 1);
        double same = Math.log1p(Math.exp(-3));       // -ln sigmoid(3)
        double different = 3 + Math.log1p(Math.exp(-3)); // -ln(1 - sigmoid(3))
        assertThat(r.loss()).isCloseTo((float) ((3 * same + 2 * different) / 5), within(1e-6f));
        assertThat(r.skipped()).isFalse();
        assertThat(r.mined()).isNull();
        assertThat(r.images()).isEqualTo(10);
        assertThat(trainer.steps()).isEqualTo(1);
    }

    @Test
    void batchesOfOneClassOrOneIdentityGiveNoNaN() throws IOException {
        ImageDataset data = SyntheticFaces.generateRange(0, 6, 3, 3, H, W);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(TOWER, INPUT, ArchSpec.parse("dense(8) relu dense(1)"),
                new Rng(4));
        HeadObjective head = new HeadObjective(data, 8, net, new Rng(9));
        Adam adam = new Adam(net.parameters(), 1e-2f);          // one optimiser over all three runs
        List<Trainer.StepReport> reports = new ArrayList<>();
        List<FedPairs> fed = new ArrayList<>();
        for (double fraction : new double[] {1.0, 0.0}) {
            fed.add(FedPairs.sampled(head, data, new PairSampler(data, fraction, new Rng(5)), 8, 3));
        }
        // a dataset of a single person: only positive pairs exist (HeadObjective's own 1:1 sampler refuses it)
        ImageDataset one = SyntheticFaces.generateRange(0, 1, 4, 3, H, W);
        fed.add(FedPairs.sampled(head, one, new PairSampler(one, 1.0, new Rng(6)), 4, 3));
        for (int run = 0; run < fed.size(); run++) {
            Trainer.builder(net.tower(), fed.get(run), adam, run == 2 ? one : data)
                    .listener(Listeners.onStep(reports::add)).build().fit(Trainer.Budget.epochs(1));
        }

        assertThat(reports).hasSize(9).allSatisfy(r -> {
            assertThat(r.skipped()).isFalse();
            assertThat(r.loss()).isFinite().isGreaterThanOrEqualTo(0f);
            assertThat(r.activeFraction()).isBetween(0.0, 1.0);
        });
        assertThat(fed.get(0).drawn).allSatisfy(p -> assertThat(p.positives()).isEqualTo(8));
        assertThat(fed.get(1).drawn).allSatisfy(p -> assertThat(p.positives()).isZero());
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
        Pairs pairs = new Pairs(new int[] {0, 0}, new int[] {1, 2}, new int[] {1, 0});
        Trainer trainer = Trainer.builder(net.tower(), FedPairs.fixed(new HeadObjective(data, 2, net, new Rng(3)),
                data, pairs), adam, data).build();
        float[] before = net.tower().parameters().get(0).toArray();
        assertThatThrownBy(() -> trainer.step(1, 3, 5))
                .isInstanceOf(NonFiniteTrainingException.class).hasMessageContaining("epoch 1 step 3")
                .hasMessageContaining("parameter head.0.bias already holds non-finite values")
                .hasMessageContaining("not applied");
        assertThat(net.tower().parameters().get(0).toArray()).containsExactly(before);
        assertThat(adam.state()).isEmpty();
        assertThat(trainer.steps()).isZero();
    }

    @Test
    void theOptimizerMustTrainTheHeadToo() {
        ImageDataset data = SyntheticFaces.generateRange(0, 4, 2, 1, H, W);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(TOWER, INPUT, ArchSpec.parse("dense(1)"), new Rng(2));
        HeadObjective head = new HeadObjective(data, 2, net, new Rng(3));
        assertThatThrownBy(() -> Trainer.builder(net.tower(), head, new Adam(net.tower().parameters(), 1e-3f), data)
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not train 2 of the model's parameters [head.0.weight, head.0.bias]")
                .hasMessageContaining("objective.model(tower).trainableParameters()");
        // the objective trains its network's tower, not another one
        Sequential other = TOWER.build(INPUT, new Rng(4));
        assertThatThrownBy(() -> Trainer.builder(other, head, new Adam(net.parameters(), 1e-3f), data).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the trainer's tower is not the network's tower");
    }

    // ---------------------------------------------------------------------------------------- resume

    /** 12 people x 3 images = 36 images at 12 a step (6 pairs): epochs of 3 steps. */
    private static final int STEPS_PER_EPOCH = 3;

    /** Everything one run holds; {@code seed} sets the initial weights and every Rng. */
    private static final class Run {
        final ImageDataset data = SyntheticFaces.generateRange(0, 12, 3, 9, H, W);
        final HeadSiameseNetwork net;
        final Adam adam;
        final HeadObjective objective;
        final Trainer trainer;
        final Rng dropout;

        Run(long seed) {
            Rng rng = new Rng(seed);
            dropout = rng.split();
            Sequential tower = TOWER.build(INPUT, rng);
            // a head with dropout: its Rng is part of the run
            SimilarityHead head = SimilarityHead.parse("dense(8) relu dropout(0.25) dense(1)", 24, dropout);
            net = new HeadSiameseNetwork(tower, head);
            adam = new Adam(net.parameters(), 3e-3f);
            Augmenter augmenter = new Augmenter(Augmenter.Config.faces(), rng.split());
            objective = new HeadObjective(data, 6, net, rng.split());
            trainer = Trainer.builder(tower, objective, adam, data).augmenter(augmenter)
                    .schedule(new StepLR(adam, STEPS_PER_EPOCH, 0.7)).rng("dropout", dropout).build();
        }

        /** Trains until {@code epochs} epochs of the run are done. */
        void fit(int epochs) throws IOException {
            trainer.fit(Trainer.Budget.epochs(epochs));
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
        straight.fit(3);

        Run first = new Run(1);
        Path checkpoint = dir.resolve("head.ckpt");
        first.fit(1);
        first.trainer.checkpoint().save(checkpoint);
        first.fit(2);                               // training on does not change the saved file

        Run resumed = new Run(777);                 // other weights and Rngs: all must come from the checkpoint
        resumed.trainer.resume(checkpoint);
        assertThat(resumed.trainer.epoch()).isEqualTo(1);
        assertThat(resumed.trainer.steps()).isEqualTo(STEPS_PER_EPOCH);
        assertThat(resumed.adam.learningRate()).isEqualTo((float) (3e-3f * 0.7));
        assertThat(resumed.weights().get("head.0.weight")).as("epochs 2 and 3 change the weights")
                .isNotEqualTo(straight.weights().get("head.0.weight"));
        resumed.fit(3);

        assertThat(resumed.trainer.steps()).isEqualTo(straight.trainer.steps()).isEqualTo(3 * STEPS_PER_EPOCH);
        assertBitIdentical(straight.weights(), resumed.weights());
        assertThat(resumed.weights().keySet()).contains("tower.0.weight", "head.0.weight", "head.3.bias");
    }

    @Test
    void resumeRefusesOtherRunsAndChangesNothing() throws IOException {
        Run first = new Run(1);
        Path file = dir.resolve("head.ckpt");
        first.fit(1);
        first.trainer.checkpoint().save(file);

        // a trainer without the dropout Rng
        Run noRng = new Run(2);
        Map<String, float[]> before = noRng.weights();
        Trainer bare = Trainer.builder(noRng.net.tower(), noRng.objective, noRng.adam, noRng.data)
                .augmenter(new Augmenter(Augmenter.Config.faces(), new Rng(1)))
                .schedule(new StepLR(noRng.adam, STEPS_PER_EPOCH, 0.7)).build();
        assertThatThrownBy(() -> bare.resume(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("are not this trainer's [objective.pairs, augmenter]")
                .hasMessageContaining("unknown: [extra.dropout]");
        assertBitIdentical(before, noRng.weights());
        assertThat(noRng.adam.state()).isEmpty();
        assertThat(bare.epoch()).isZero();

        // a trainer without an augmenter
        Run noAugmenter = new Run(2);
        Trainer plain = Trainer.builder(noAugmenter.net.tower(), noAugmenter.objective, noAugmenter.adam,
                noAugmenter.data).schedule(new StepLR(noAugmenter.adam, STEPS_PER_EPOCH, 0.7))
                .rng("dropout", noAugmenter.dropout).build();
        assertThatThrownBy(() -> plain.resume(file))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("unknown: [augmenter]");

        // a contrastive run's checkpoint
        Sequential tower = TOWER.build(INPUT, new Rng(3));
        Path other = dir.resolve("contrastive.ckpt");
        Trainer.builder(tower, new ContrastiveObjective(first.data, 4, new ContrastiveLoss(1f,
                        LabelConvention.SAME_IS_ONE), Distance.EUCLIDEAN, new Rng(4)),
                new Adam(tower.parameters(), 1e-3f), first.data).checkpoint(other).build()
                .fit(Trainer.Budget.epochs(1));
        Run target = new Run(5);
        assertThatThrownBy(() -> target.trainer.resume(other))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("the checkpoint is of a 'contrastive' run, this trainer's objective is "
                        + "'bce-head'");

        // another head width: the model check names the tensor and both shapes
        Rng rng = new Rng(6);
        HeadSiameseNetwork wider = new HeadSiameseNetwork(TOWER.build(INPUT, rng),
                SimilarityHead.parse("dense(16) relu dropout(0.25) dense(1)", 24, rng));
        Adam adam = new Adam(wider.parameters(), 3e-3f);
        Trainer widerTrainer = Trainer.builder(wider.tower(), new HeadObjective(first.data, 6, wider, rng.split()),
                adam, first.data).augmenter(new Augmenter(Augmenter.Config.faces(), rng.split()))
                .schedule(new StepLR(adam, STEPS_PER_EPOCH, 0.7)).rng("dropout", rng.split()).build();
        assertThatThrownBy(() -> widerTrainer.resume(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.head.0.weight: checkpoint [8, 24], model [16, 24]");
    }
}
