package org.siamese4j.siamese.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.StepLR;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.loss.GradAssert;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** The normalised-softmax (CosFace) objective: its logits, their gradients, learning and exact resume. */
class ProxyObjectiveTest {
    private static final int H = 24;
    private static final int W = 20;
    /** 1x24x20 -> 8x12x10 -> 16x6x5 = 480 -> 16, unit length as the CLI's default tower. */
    private static final ArchSpec TOWER = ArchSpec.parse("conv(8,3,pad=1) batchnorm relu maxpool(2) "
            + "conv(16,3,pad=1) batchnorm relu maxpool(2) flatten dense(16) l2norm");
    private static final int[] INPUT = {1, H, W};

    @TempDir
    Path dir;

    @Test
    void logitsAreScaledCosinesWithTheMarginOnTheTargetOnly() {
        // embeddings of length 2 and 1 (the logits normalise them), proxies of length 3 and 1
        Tensor e = Tensor.of(new float[][] {{2, 0}, {0.6f, 0.8f}});
        Tensor w = Tensor.of(new float[][] {{3, 0}, {0, 1}});
        float[] logits = ProxyObjective.logits(e, w, new int[] {0, 1}, 10f, 0.25f).toArray();
        // cosines: row 0 (1, 0), row 1 (0.6, 0.8); the target's minus 10 * 0.25
        assertThat(logits).containsExactly(new float[] {10 - 2.5f, 0, 6, 8 - 2.5f}, within(1e-5f));
    }

    @Test
    void gradientsOfTheLossMatchFiniteDifferences() {
        int[] targets = {0, 2, 1, 2};
        // scale 4: the cross-entropy is far from saturated, so finite differences are accurate
        GradAssert.assertGradientsMatch(in -> Functional.crossEntropy(
                        ProxyObjective.logits(in[0], in[1], targets, 4f, 0.3f), targets),
                GradAssert.input(1, 4, 5), GradAssert.input(2, 3, 5));
    }

    @Test
    void stepLossIsTheCrossEntropyOfTheCosFaceLogitsOverTheBatchesPeople() {
        ImageDataset data = SyntheticFaces.generateRange(0, 5, 4, 3, H, W);
        Sequential tower = TOWER.build(INPUT, new Rng(1));
        ProxyObjective objective = new ProxyObjective(data, 3, 2, tower, 16, 16f, 0.2f, new Rng(2));
        assertThat(objective.proxies().shape()).containsExactly(5, 16);
        Objective.Batch batch = objective.nextBatch();
        Tensor embeddings = tower.forward(data.batch(batch.indices()));
        Objective.StepLoss loss = objective.loss(embeddings, batch,
                StepGuard.begin(objective.model(tower), 1, 1, 1));

        // the same loss by hand, in double: -log softmax of 16 cos, the target's lowered by 16 * 0.2
        float[] emb = embeddings.toArray();
        float[] proxies = objective.proxies().toArray();
        double total = 0;
        for (int i = 0; i < batch.labels().length; i++) {
            double[] logit = new double[5];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < 5; j++) {
                logit[j] = 16 * cos(emb, i, proxies, j, 16) - (j == batch.labels()[i] ? 16 * 0.2 : 0);
                max = Math.max(max, logit[j]);
            }
            double sum = 0;
            for (double l : logit) {
                sum += Math.exp(l - max);
            }
            total += max + Math.log(sum) - logit[batch.labels()[i]];
        }
        assertThat(loss.value()).isCloseTo((float) (total / batch.labels().length), within(1e-4f));
        assertThat(loss.activeFraction()).as("an untrained tower is sure of nobody").isEqualTo(1.0);
        assertThat(loss.mined()).isNull();
    }

    private static double cos(float[] a, int row, float[] b, int proxy, int d) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int k = 0; k < d; k++) {
            dot += (double) a[row * d + k] * b[proxy * d + k];
            na += (double) a[row * d + k] * a[row * d + k];
            nb += (double) b[proxy * d + k] * b[proxy * d + k];
        }
        return dot / Math.sqrt(na * nb);
    }

    @Test
    void proxiesAreNumberedOverThePeopleWithImages() {
        // a training subset keeps the dataset's identity numbers: people 1 and 3 of 0..4
        ImageDataset all = SyntheticFaces.generateRange(0, 5, 3, 3, H, W);
        int[] indices = new int[6];
        for (int i = 0; i < 3; i++) {
            indices[i] = all.indicesOf(1)[i];
            indices[3 + i] = all.indicesOf(3)[i];
        }
        ImageDataset train = all.subset(indices);
        Sequential tower = TOWER.build(INPUT, new Rng(1));
        ProxyObjective objective = new ProxyObjective(train, 2, 2, tower, 16, 16f, 0.2f, new Rng(2));
        assertThat(objective.proxies().shape()).containsExactly(2, 16);
        Objective.Batch batch = objective.nextBatch();
        Objective.StepLoss loss = objective.loss(tower.forward(train.batch(batch.indices())), batch,
                StepGuard.begin(objective.model(tower), 1, 1, 1));
        assertThat(loss.value()).isFinite().isPositive();
    }

    @Test
    void activeFractionCountsImagesWhoseCrossEntropyIsAboveOneThousandth() {
        // row 0: the target leads by 20, cross-entropy 2e-9; row 1: by 2, about 0.13; row 2: the target trails
        float[] logits = {20, 0, 0, 2, 0, 5};
        assertThat(ProxyObjective.activeFraction(logits, new int[] {0, 0, 0})).isCloseTo(2 / 3.0, within(1e-12));
        assertThat(ProxyObjective.activeFraction(new float[] {20, 0}, new int[] {0})).isZero();
    }

    @Test
    void badScaleOrMarginIsRefusedAndTheOptimiserMustTrainTheProxies() {
        ImageDataset data = SyntheticFaces.generateRange(0, 4, 2, 1, H, W);
        Sequential tower = TOWER.build(INPUT, new Rng(1));
        assertThatThrownBy(() -> new ProxyObjective(data, 2, 2, tower, 16, 0f, 0.2f, new Rng(2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("scale must be positive");
        assertThatThrownBy(() -> new ProxyObjective(data, 2, 2, tower, 16, 16f, 1f, new Rng(2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("margin must be in [0, 1), got 1");
        ProxyObjective objective = new ProxyObjective(data, 2, 2, tower, 16, 16f, 0.2f, new Rng(2));
        assertThatThrownBy(() -> Trainer.builder(tower, objective, new Adam(tower.parameters(), 1e-3f), data)
                .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("does not train 1 of the model's parameters [proxies]");
        Sequential other = TOWER.build(INPUT, new Rng(3));
        assertThatThrownBy(() -> objective.model(other)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not the one the proxies were built for");
    }

    @Test
    void aNonFiniteProxyFailsTheStepWithoutUpdating() {
        ImageDataset data = SyntheticFaces.generateRange(0, 4, 2, 1, H, W);
        Sequential tower = TOWER.build(INPUT, new Rng(1));
        ProxyObjective objective = new ProxyObjective(data, 2, 2, tower, 16, 16f, 0.2f, new Rng(2));
        objective.proxies().data()[5] = Float.NaN;
        Adam adam = new Adam(objective.model(tower).parameters(), 1e-2f);
        Trainer trainer = Trainer.builder(tower, objective, adam, data).build();
        float[] before = tower.parameters().get(0).toArray();
        assertThatThrownBy(() -> trainer.step(1, 1, 2))
                .isInstanceOf(NonFiniteTrainingException.class).hasMessageContaining("the loss is NaN")
                .hasMessageContaining("not applied");
        assertThat(tower.parameters().get(0).toArray()).containsExactly(before);
        assertThat(trainer.steps()).isZero();
    }

    @Test
    void trainingRaisesHeldOutAucOnUnseenPeople() throws IOException {
        long seed = 21;
        ImageDataset train = SyntheticFaces.generateRange(0, 40, 6, seed, H, W);
        ImageDataset test = SyntheticFaces.generateRange(1000, 15, 5, seed, H, W);
        Rng rng = new Rng(seed);
        Sequential tower = TOWER.build(INPUT, rng.split());
        double untrained = auc(tower, test);
        ProxyObjective objective = new ProxyObjective(train, 10, 4, tower, 16, 16f, 0.2f, rng.split());
        List<Trainer.StepReport> reports = new ArrayList<>();
        Trainer trainer = Trainer.builder(tower, objective, new Adam(objective.model(tower).parameters(), 3e-3f),
                train).listener(Listeners.onStep(reports::add)).build();
        trainer.fit(Trainer.Budget.steps(120));
        double trained = auc(tower, test);

        double first = reports.subList(0, 10).stream().mapToDouble(Trainer.StepReport::loss).average().orElseThrow();
        double last = reports.subList(110, 120).stream().mapToDouble(Trainer.StepReport::loss).average()
                .orElseThrow();
        System.out.printf("synthetic faces, proxy loss: held-out AUC %.3f -> %.3f, batch loss %.3f -> %.3f%n",
                untrained, trained, first, last);
        assertThat(reports).hasSize(120).noneMatch(Trainer.StepReport::skipped);
        assertThat(last).isLessThan(first / 2);
        assertThat(trained).isGreaterThan(untrained + 0.1);
    }

    private static double auc(Sequential tower, ImageDataset data) {
        float[][] e = Embeddings.of(tower, data, 64);
        tower.train();
        return ScoredPairs.all(e, data.labels(), Distance.COSINE::between, ScoreDirection.LOWER_IS_SAME).roc().auc();
    }

    /** One run: 8 people x 3 images at 4x2 a step, epochs of 3 steps; {@code seed} sets weights and every Rng. */
    private static final class Run {
        final ImageDataset data = SyntheticFaces.generateRange(0, 8, 3, 9, H, W);
        final Sequential tower;
        final ProxyObjective objective;
        final Adam adam;
        final Trainer trainer;

        Run(long seed) {
            Rng rng = new Rng(seed);
            tower = TOWER.build(INPUT, rng.split());
            objective = new ProxyObjective(data, 4, 2, tower, 16, 16f, 0.2f, rng.split());
            adam = new Adam(objective.model(tower).parameters(), 3e-3f);
            trainer = Trainer.builder(tower, objective, adam, data)
                    .augmenter(new Augmenter(Augmenter.Config.faces(), rng.split()))
                    .schedule(new StepLR(adam, 3, 0.7)).build();
        }
    }

    @Test
    void resumeEqualsUninterruptedTrainingBitForBit() throws IOException {
        Run straight = new Run(1);
        straight.trainer.fit(Trainer.Budget.epochs(3));

        Run first = new Run(1);
        Path checkpoint = dir.resolve("proxy.ckpt");
        first.trainer.fit(Trainer.Budget.epochs(1));
        first.trainer.checkpoint().save(checkpoint);

        Run resumed = new Run(777);                 // other weights, proxies and Rngs: all come from the checkpoint
        resumed.trainer.resume(checkpoint);
        assertThat(resumed.trainer.steps()).isEqualTo(3);
        assertThat(StateDicts.anyDifferent(resumed.trainer.model().stateDict(),
                straight.trainer.model().stateDict())).as("epochs 2 and 3 change the weights").isTrue();
        resumed.trainer.fit(Trainer.Budget.epochs(3));

        assertThat(resumed.trainer.model().stateDict()).containsKeys("proxies", "tower.0.weight");
        StateDicts.assertBitIdentical(straight.trainer.model().stateDict(), resumed.trainer.model().stateDict());
    }
}
