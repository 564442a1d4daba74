package org.siamese4j.siamese.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.optim.WarmupCosineLR;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.head.SimilarityHead;
import org.siamese4j.siamese.loss.CircleLoss;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.mining.BatchHardMiner;
import org.siamese4j.siamese.mining.OfflineTripletSelector;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Every objective through the one loop, on tiny data (8 synthetic people x 4 images of 24x20 to train on, a
 * two-convolution tower): exact resume with a schedule and validation, early stopping that puts the best weights
 * back (also across a resume), the length of an epoch and of a step budget, and the guard against NaN pixels.
 * Each test takes a second or two.
 */
class TrainerTest {
    private static final int H = 24;
    private static final int W = 20;
    private static final long DATA_SEED = 31;
    /** 8 people x 4 images. */
    private static final int IMAGES = 32;
    /** P x K of the online triplet and circle objectives: 6 images a step, so ceil(32 / 6) = 6 steps an epoch. */
    private static final int P = 3;
    private static final int K = 2;
    /** Pairs a step of the contrastive and head objectives: 10 images, so ceil(32 / 10) = 4 steps an epoch. */
    private static final int PAIRS = 5;
    /** Offline mining: each stage's kept triplets, 4 a step, twice over. */
    private static final int TRIPLETS_PER_STEP = 4;
    private static final int PASSES = 2;

    @TempDir
    Path dir;

    enum Kind { ONLINE_TRIPLET, OFFLINE_TRIPLET, CONTRASTIVE, CIRCLE, BCE_HEAD }

    private static ImageDataset train() {
        return SyntheticFaces.generateRange(0, 8, 4, DATA_SEED, H, W);
    }

    /** 4 people kept out of training, 3 images each. */
    private static ImageDataset validation() {
        return SyntheticFaces.generateRange(100, 4, 3, DATA_SEED, H, W);
    }

    /** What a test adds to a run's trainer; {@code rng} is the run's, for an augmenter, say. */
    @FunctionalInterface
    private interface Settings {
        void apply(Trainer.Builder builder, Optimizer optimizer, Rng rng);
    }

    /** One run of {@code kind}; {@code seed} sets the initial weights and every Rng. */
    private static final class Run {
        final Sequential tower;
        final Objective objective;
        final Trainer trainer;
        final List<Trainer.StepReport> steps = new ArrayList<>();
        final List<OfflineTripletSelector.StageReport> stages = new ArrayList<>();

        Run(Kind kind, long seed, ImageDataset train, Settings settings) {
            Rng rng = new Rng(seed);
            // 1x24x20 -> conv 4x24x20 -> pool 4x12x10 -> conv 8x12x10 -> pool 8x6x5 = 240 -> 16, unit length
            tower = new Sequential(new Conv2d(1, 4, 3, 1, 1, rng), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
                    new Conv2d(4, 8, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2), new Flatten(),
                    new Linear(240, 16, rng), new L2Normalize());
            Rng sampling = rng.split();
            TripletLoss triplet = TripletLoss.hard(0.3f, Distance.EUCLIDEAN);
            objective = switch (kind) {
                case ONLINE_TRIPLET -> new OnlineTripletObjective(train, P, K, triplet, new BatchHardMiner(), sampling);
                // 48 candidates a stage and no threshold: every epoch mines a stage, none ends the run
                case OFFLINE_TRIPLET -> new OfflineTripletObjective(train, triplet, 48, 0.0, TRIPLETS_PER_STEP,
                        PASSES, sampling, stages::add);
                case CONTRASTIVE -> new ContrastiveObjective(train, PAIRS, new ContrastiveLoss(1f,
                        LabelConvention.SAME_IS_ONE), Distance.EUCLIDEAN, sampling);
                case CIRCLE -> new CircleObjective(train, P, K, new CircleLoss(0.25f, 32f), sampling);
                case BCE_HEAD -> new HeadObjective(train, PAIRS, new HeadSiameseNetwork(tower,
                        SimilarityHead.parse("dense(8) relu dense(1)", 16, rng)), sampling);
            };
            Adam adam = new Adam(objective.model(tower).parameters(), 3e-3f);
            Trainer.Builder b = Trainer.builder(tower, objective, adam, train)
                    .listener(Listeners.onStep(steps::add));
            settings.apply(b, adam, rng);
            trainer = b.build();
        }

        /** A copy of the trained model's state dict (weights and batch-norm statistics). */
        Map<String, Tensor> state() {
            return copy(trainer.model().stateDict());
        }
    }

    private static Map<String, Tensor> copy(Map<String, Tensor> state) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        state.forEach((name, t) -> out.put(name, t.copy()));
        return out;
    }

    // =====================================================================================================
    // Exact resume
    // =====================================================================================================

    @ParameterizedTest
    @EnumSource(Kind.class)
    void fourEpochsStraightEqualTwoThenACheckpointThenTwoInAFreshTrainer(Kind kind) throws IOException {
        assertExactResume(kind, 0);
    }

    /** The same with a weight average: its weights and its count of updates (the decay's warm-up) resume too. */
    @ParameterizedTest
    @EnumSource(Kind.class)
    void aRunWithAWeightAverageResumesExactly(Kind kind) throws IOException {
        assertExactResume(kind, 0.9);
    }

    private void assertExactResume(Kind kind, double ema) throws IOException {
        ImageDataset validation = validation();
        // warm-up over 3 steps, decay over 20: the resume lands in the middle of the decay
        Settings settings = (b, optimizer, rng) -> b.validation(validation)
                .schedule(new WarmupCosineLR(optimizer, 3, 20, 1e-4))
                .augmenter(new Augmenter(Augmenter.Config.faces(), rng.split())).ema(ema);
        Run straight = new Run(kind, 1, train(), settings);
        Trainer.Result expected = straight.trainer.fit(Trainer.Budget.epochs(4));
        assertThat(expected.reason()).isEqualTo(Trainer.StopReason.BUDGET);
        assertThat(straight.trainer.history()).hasSize(4).allSatisfy(e -> assertThat(e.validation()).isNotNull());

        Run first = new Run(kind, 1, train(), settings);
        first.trainer.fit(Trainer.Budget.epochs(2));
        Path file = dir.resolve(kind + ".ckpt");
        first.trainer.checkpoint().save(file);
        // the first trainer goes on from its last epoch's weights, not from the best ones it put back on show
        assertThat(first.trainer.fit(Trainer.Budget.epochs(4))).isEqualTo(expected);
        StateDicts.assertBitIdentical(straight.state(), first.state());

        Run resumed = new Run(kind, 99, train(), settings);   // other weights and Rngs: all from the checkpoint
        resumed.trainer.resume(file);
        assertThat(resumed.trainer.epoch()).isEqualTo(2);
        assertThat(resumed.trainer.history()).isEqualTo(straight.trainer.history().subList(0, 2));
        Trainer.Result result = resumed.trainer.fit(Trainer.Budget.epochs(4));

        assertThat(result).isEqualTo(expected);
        assertThat(resumed.trainer.steps()).isEqualTo(straight.trainer.steps());
        assertThat(resumed.trainer.history()).isEqualTo(straight.trainer.history());
        StateDicts.assertBitIdentical(straight.state(), resumed.state());
        Checkpoint straightEnd = straight.trainer.checkpoint();
        Checkpoint resumedEnd = resumed.trainer.checkpoint();
        StateDicts.assertBitIdentical(straightEnd.modelState(), resumedEnd.modelState());
        assertThat(resumedEnd.snapshotNames()).isEqualTo(straightEnd.snapshotNames())
                .contains("best").containsAll(ema > 0 ? List.of("ema") : List.of());
        for (String name : straightEnd.snapshotNames()) {
            StateDicts.assertBitIdentical(straightEnd.snapshot(name, straight.trainer.model()),
                    resumedEnd.snapshot(name, resumed.trainer.model()));
        }
        if (ema > 0) {
            assertThat(resumedEnd.state("ema")).isEqualTo(straightEnd.state("ema"))
                    .isEqualTo("0.9," + straight.steps.stream().filter(r -> !r.skipped()).count());
        }
    }

    // =====================================================================================================
    // The weight average
    // =====================================================================================================

    @Test
    void aDecayOfZeroIsTheRunWithoutAnAverageBitForBit() throws IOException {
        ImageDataset validation = validation();
        Run plain = new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, optimizer, rng) -> b.validation(validation)
                .schedule(new WarmupCosineLR(optimizer, 3, 20, 1e-4)));
        Run zero = new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, optimizer, rng) -> b.validation(validation)
                .schedule(new WarmupCosineLR(optimizer, 3, 20, 1e-4)).ema(0));
        assertThat(zero.trainer.fit(Trainer.Budget.epochs(3))).isEqualTo(plain.trainer.fit(Trainer.Budget.epochs(3)));
        assertThat(zero.trainer.history()).isEqualTo(plain.trainer.history());
        StateDicts.assertBitIdentical(plain.state(), zero.state());
        Checkpoint c = zero.trainer.checkpoint();
        assertThat(c.stateNames()).isEqualTo(plain.trainer.checkpoint().stateNames()).doesNotContain("ema");
        assertThat(c.snapshotNames()).containsExactly("best");
    }

    @Test
    void withAnAverageTheValidatedAndKeptWeightsAreTheAveragesOfTheBestEpoch() throws IOException {
        ImageDataset lookAlikes = lookAlikes();              // validation AUC 0.5 always: epoch 1 stays the best
        List<Map<String, Tensor>> averageAfter = new ArrayList<>();
        List<Map<String, Tensor>> trainedAfter = new ArrayList<>();
        Run[] run = new Run[1];
        run[0] = new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, optimizer, rng) -> b.validation(lookAlikes)
                .earlyStopping(2).ema(0.9).listener(Listeners.onEpoch(r -> {
                    Checkpoint c = run[0].trainer.checkpoint();
                    try {
                        averageAfter.add(copy(c.snapshot("ema", run[0].trainer.model())));
                    } catch (ModelFormatException e) {
                        throw new AssertionError(e);
                    }
                    trainedAfter.add(copy(c.modelState()));
                    StateDicts.assertBitIdentical(c.modelState(), run[0].state());  // training's own, in the model
                })));
        Trainer.Result result = run[0].trainer.fit(Trainer.Budget.epochs(8));

        assertThat(result.bestEpoch()).isEqualTo(1);
        assertThat(result.epochs()).isEqualTo(3);
        assertThat(StateDicts.anyDifferent(averageAfter.get(0), trainedAfter.get(0))).isTrue();
        StateDicts.assertBitIdentical(averageAfter.get(0), run[0].state());
        StateDicts.assertBitIdentical(averageAfter.get(0), run[0].trainer.checkpoint().snapshot("best",
                run[0].trainer.model()));
        // the average is what was validated: the kept weights score the best epoch's figures
        assertThat(run[0].trainer.validate()).isEqualTo(result.best());
    }

    @Test
    void withoutValidationTheAverageIsWhatFitLeavesInTheModel() throws IOException {
        Run run = new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, optimizer, rng) -> b.ema(0.9));
        run.trainer.fit(Trainer.Budget.epochs(2));
        Checkpoint c = run.trainer.checkpoint();
        assertThat(c.snapshotNames()).containsExactly("ema");
        StateDicts.assertBitIdentical(c.snapshot("ema", run.trainer.model()), run.state());
        assertThat(StateDicts.anyDifferent(c.modelState(), run.state())).as("the checkpoint holds training's own")
                .isTrue();
    }

    @Test
    void aCheckpointWithAnotherAverageOrNoneIsRefusedNamingBoth() throws IOException {
        Run averaged = new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, optimizer, rng) -> b.ema(0.9));
        averaged.trainer.fit(Trainer.Budget.epochs(1));
        Checkpoint withAverage = averaged.trainer.checkpoint();
        Run plain = new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, optimizer, rng) -> { });
        plain.trainer.fit(Trainer.Budget.epochs(1));
        Checkpoint without = plain.trainer.checkpoint();

        Run none = new Run(Kind.ONLINE_TRIPLET, 2, train(), (b, optimizer, rng) -> { });
        Map<String, Tensor> before = none.state();
        assertThatThrownBy(() -> none.trainer.resume(withAverage)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("the saved run kept an average of its weights (ema 0.9), this trainer keeps "
                        + "none");
        StateDicts.assertBitIdentical(before, none.state());         // nothing changed
        Run other = new Run(Kind.ONLINE_TRIPLET, 2, train(), (b, optimizer, rng) -> b.ema(0.99));
        assertThatThrownBy(() -> other.trainer.resume(withAverage))
                .hasMessageContaining("the saved run averaged its weights with ema 0.9, this trainer with ema 0.99");
        assertThatThrownBy(() -> other.trainer.resume(without))
                .hasMessageContaining("the saved run kept no average of its weights, this trainer keeps one (ema "
                        + "0.99)");
    }

    // =====================================================================================================
    // Early stopping
    // =====================================================================================================

    /**
     * Three "people" whose pictures are all one and the same image: every pair scores alike whatever the weights,
     * so the validation AUC is 0.5 after every epoch. Epoch 1 is the best (the first is always), no later epoch
     * improves on it, and training still changes the weights: early stopping with a known best epoch.
     */
    private static ImageDataset lookAlikes() {
        float[] face = SyntheticFaces.renderImage(DATA_SEED, 200, 0, H, W);
        float[] pixels = new float[6 * H * W];
        for (int i = 0; i < 6; i++) {
            System.arraycopy(face, 0, pixels, i * H * W, H * W);
        }
        return new ImageDataset(Tensor.of(pixels, 6, 1, H, W), new int[] {0, 0, 1, 1, 2, 2}, List.of("a", "b", "c"));
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void earlyStoppingPutsBackTheWeightsOfTheBestEpochAlsoAfterAResume(Kind kind) throws IOException {
        ImageDataset lookAlikes = lookAlikes();
        Settings settings = (b, optimizer, rng) -> b.validation(lookAlikes).earlyStopping(2);
        List<Map<String, Tensor>> best = new ArrayList<>();
        List<Map<String, Tensor>> last = new ArrayList<>();
        Run[] straight = new Run[1];
        straight[0] = new Run(kind, 1, train(), (b, optimizer, rng) -> {
            settings.apply(b, optimizer, rng);
            b.listener(Listeners.onEpoch(r -> {                // the weights each epoch ended with
                Map<String, Tensor> now = straight[0].state();
                last.add(now);
                if (r.best()) {
                    best.add(now);
                }
            }));
        });
        Trainer.Result result = straight[0].trainer.fit(Trainer.Budget.epochs(8));
        List<Trainer.EpochReport> history = straight[0].trainer.history();

        assertThat(history).extracting(e -> e.validation().auc()).containsOnly(0.5);
        assertThat(result.reason()).isEqualTo(Trainer.StopReason.EARLY_STOPPING);
        assertThat(result.epochs()).as("epoch 1, then 2 without improvement").isEqualTo(3);
        assertThat(result.bestEpoch()).isEqualTo(1);
        assertThat(result.best()).isEqualTo(history.get(0).validation());
        assertThat(history).extracting(Trainer.EpochReport::best).containsExactly(true, false, false);
        assertThat(best).hasSize(1);
        assertThat(StateDicts.anyDifferent(best.get(0), last.get(2))).as("epochs 2 and 3 change the weights").isTrue();
        StateDicts.assertBitIdentical(best.get(0), straight[0].state());

        // a run resumed after epoch 2 keeps the best epoch and its weights: they come from the checkpoint
        Run first = new Run(kind, 1, train(), settings);
        assertThat(first.trainer.fit(Trainer.Budget.epochs(2)).reason()).isEqualTo(Trainer.StopReason.BUDGET);
        StateDicts.assertBitIdentical(best.get(0), first.state());     // put back at the end of every fit
        Checkpoint saved = first.trainer.checkpoint();
        assertThat(saved.snapshotNames()).containsExactly("best");
        Run resumed = new Run(kind, 99, train(), settings);
        resumed.trainer.resume(saved);
        assertThat(resumed.trainer.bestEpoch()).isEqualTo(1);
        assertThat(resumed.trainer.fit(Trainer.Budget.epochs(8))).isEqualTo(result);
        assertThat(resumed.trainer.history()).isEqualTo(history);
        StateDicts.assertBitIdentical(best.get(0), resumed.state());
    }

    // =====================================================================================================
    // Fine-tuning: all but the last layer frozen
    // =====================================================================================================

    /** The online triplet run with the tower frozen but for its Linear (child "8"), a weight average and validation. */
    private static Trainer fineTuning(Sequential tower, ImageDataset validation) {
        tower.freezeExcept("8");
        Objective objective = new OnlineTripletObjective(train(), P, K, TripletLoss.hard(0.3f, Distance.EUCLIDEAN),
                new BatchHardMiner(), new Rng(5));
        return Trainer.builder(tower, objective, new Adam(tower.trainableParameters(), 3e-3f), train())
                .validation(validation).ema(0.9).build();
    }

    /**
     * The trainer takes an optimiser of the trainable parameters only; the frozen weights and batch-norm statistics
     * keep their bits in the model and in the weight average; a resumed run that freezes the same way is the same.
     */
    @Test
    void aFrozenTowerTrainsOnlyItsLastLayerAndResumesExactly() throws IOException {
        ImageDataset validation = validation();
        Run initial = new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, o, r) -> { });
        Map<String, Tensor> before = copy(initial.tower.stateDict());
        Trainer straight = fineTuning(initial.tower, validation);
        straight.fit(Trainer.Budget.epochs(2));
        Map<String, Tensor> after = copy(initial.tower.stateDict());   // the best epoch's, or the average's
        Map<String, Tensor> frozenBefore = new LinkedHashMap<>(before);
        frozenBefore.keySet().removeIf(name -> name.startsWith("8."));
        Map<String, Tensor> frozenAfter = new LinkedHashMap<>(after);
        frozenAfter.keySet().removeIf(name -> name.startsWith("8."));
        StateDicts.assertBitIdentical(frozenBefore, frozenAfter);
        assertThat(StateDicts.anyDifferent(Map.of("w", before.get("8.weight")), Map.of("w", after.get("8.weight"))))
                .isTrue();
        // an optimiser without a parameter that is not frozen is refused, naming it
        Sequential other = new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, o, r) -> { }).tower;
        other.freezeExcept("4", "8");
        assertThatThrownBy(() -> Trainer.builder(other, straight.objective(),
                new Adam(List.of(other.namedParameters().get("8.weight"), other.namedParameters().get("8.bias"))),
                train()).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[4.weight, 4.bias]").hasMessageContaining("trainableParameters()");

        Trainer first = fineTuning(new Run(Kind.ONLINE_TRIPLET, 1, train(), (b, o, r) -> { }).tower, validation);
        first.fit(Trainer.Budget.epochs(1));
        Path file = dir.resolve("fine-tune.ckpt");
        first.checkpoint().save(file);
        Trainer resumed = fineTuning(new Run(Kind.ONLINE_TRIPLET, 99, train(), (b, o, r) -> { }).tower, validation);
        resumed.resume(file);
        resumed.fit(Trainer.Budget.epochs(2));
        assertThat(resumed.history()).isEqualTo(straight.history());
        StateDicts.assertBitIdentical(straight.checkpoint().modelState(), resumed.checkpoint().modelState());
    }

    // =====================================================================================================
    // Epochs and step budgets
    // =====================================================================================================

    /**
     * The steps of each epoch: ceil(images / images a step), or for offline mining ceil(the stage's kept triplets
     * / triplets a step) per pass.
     */
    private static int[] expectedSteps(Kind kind, Run run, int epochs) {
        int[] steps = new int[epochs];
        for (int e = 0; e < epochs; e++) {
            steps[e] = switch (kind) {
                case ONLINE_TRIPLET, CIRCLE -> (IMAGES + P * K - 1) / (P * K);
                case CONTRASTIVE, BCE_HEAD -> (IMAGES + 2 * PAIRS - 1) / (2 * PAIRS);
                case OFFLINE_TRIPLET -> PASSES * ((run.stages.get(e).kept() + TRIPLETS_PER_STEP - 1)
                        / TRIPLETS_PER_STEP);
            };
        }
        return steps;
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void anEpochIsOnePassOverTheImagesAndAStepBudgetStopsAfterExactlyThatManySteps(Kind kind) throws IOException {
        Run run = new Run(kind, 1, train(), (b, optimizer, rng) -> { });
        run.trainer.fit(Trainer.Budget.epochs(2));
        int[] expected = expectedSteps(kind, run, 2);
        if (kind == Kind.ONLINE_TRIPLET || kind == Kind.CIRCLE) {
            assertThat(expected).containsExactly(6, 6);
        } else if (kind == Kind.CONTRASTIVE || kind == Kind.BCE_HEAD) {
            assertThat(expected).containsExactly(4, 4);
        } else {
            assertThat(run.stages).hasSize(2);
            assertThat(expected[0]).as("a stage keeps some triplets").isPositive();
        }
        assertThat(run.trainer.history()).extracting(Trainer.EpochReport::steps)
                .containsExactly(expected[0], expected[1]);
        assertThat(run.steps).hasSize(expected[0] + expected[1]);
        assertThat(run.trainer.steps()).isEqualTo(expected[0] + expected[1]);
        for (int i = 0; i < run.steps.size(); i++) {
            Trainer.StepReport s = run.steps.get(i);
            int epoch = i < expected[0] ? 1 : 2;
            assertThat(s.epoch()).isEqualTo(epoch);
            assertThat(s.step()).isEqualTo(epoch == 1 ? i + 1 : i + 1 - expected[0]);
            assertThat(s.stepsPerEpoch()).isEqualTo(expected[epoch - 1]);
            assertThat(s.totalSteps()).isEqualTo(i + 1);
            assertThat(s.skipped()).isFalse();
            switch (kind) {
                case ONLINE_TRIPLET, CIRCLE -> assertThat(s.images()).isEqualTo(P * K);
                case CONTRASTIVE, BCE_HEAD -> assertThat(s.images()).isEqualTo(2 * PAIRS);
                // each image of the step's triplets once
                case OFFLINE_TRIPLET -> assertThat(s.images()).isBetween(3, 3 * TRIPLETS_PER_STEP);
            }
        }

        // one step into the second epoch, and a budget that ends inside the first
        for (long budget : new long[] {expected[0] + 1L, 3}) {
            Run bounded = new Run(kind, 1, train(), (b, optimizer, rng) -> { });
            Trainer.Result result = bounded.trainer.fit(Trainer.Budget.steps(budget));
            assertThat(result.reason()).isEqualTo(Trainer.StopReason.BUDGET);
            assertThat(result.steps()).isEqualTo(budget);
            assertThat(bounded.trainer.steps()).isEqualTo(budget);
            assertThat(bounded.steps).hasSize((int) budget);
            // the same steps as the unbounded run's
            assertThat(bounded.steps).isEqualTo(run.steps.subList(0, (int) budget));
        }
    }

    // =====================================================================================================
    // The guard
    // =====================================================================================================

    /**
     * A tower that maps every image to the same point makes every random triplet easy at margin 0, so a stage keeps
     * nothing; without a threshold to stop on, the run must still end rather than mine empty stages for ever.
     */
    @Test
    @Timeout(60)                                   // without the stop, this run would mine empty stages for ever
    void offlineMiningEndsTheRunWhenAStageKeepsNoTriplet() throws IOException {
        ImageDataset train = train();
        Linear dense = new Linear(H * W, 4, new Rng(1));
        Arrays.fill(dense.weight().data(), 0f);
        Arrays.fill(dense.bias().data(), 0f);
        Sequential tower = new Sequential(new Flatten(), dense);
        List<OfflineTripletSelector.StageReport> stages = new ArrayList<>();
        OfflineTripletObjective objective = new OfflineTripletObjective(train, TripletLoss.hard(0f,
                Distance.EUCLIDEAN), 20, 0.0, TRIPLETS_PER_STEP, 1, new Rng(2), stages::add);
        Trainer trainer = Trainer.builder(tower, objective, new Adam(tower.parameters(), 1e-3f), train).build();
        Trainer.Result result = trainer.fit(Trainer.Budget.steps(10));
        assertThat(result.reason()).isEqualTo(Trainer.StopReason.OBJECTIVE_DONE);
        assertThat(stages).hasSize(1);
        assertThat(stages.get(0).kept()).isZero();
        assertThat(trainer.steps()).isZero();
    }

    private static void poison(ImageDataset data) {
        for (int image = 0; image < data.size(); image++) {         // whatever a step draws meets a NaN
            data.images().data()[image * H * W + 17] = Float.NaN;
        }
    }

    @ParameterizedTest
    @EnumSource(Kind.class)
    void aNanPixelStopsTheRunBeforeAnyUpdateAndWritesNoCheckpointForThatEpoch(Kind kind) throws IOException {
        // from the start: nothing changes and no checkpoint exists
        ImageDataset bad = train();
        poison(bad);
        Path never = dir.resolve("never.ckpt");
        Run run = new Run(kind, 1, bad, (b, optimizer, rng) -> b.checkpoint(never));
        Map<String, Tensor> initial = run.state();
        NonFiniteTrainingException e = catchThrowableOfType(() -> run.trainer.fit(Trainer.Budget.epochs(3)),
                NonFiniteTrainingException.class);
        assertThat(e).as(kind.toString()).isNotNull();
        assertThat(e.source()).isEqualTo(NonFiniteTrainingException.Source.INPUT);
        assertThat(e.epoch()).isEqualTo(1);
        assertThat(e.getMessage()).contains("the input batch holds non-finite values").contains("not applied");
        StateDicts.assertBitIdentical(initial, run.state());
        assertThat(run.trainer.steps()).isZero();
        assertThat(run.trainer.epoch()).isZero();
        assertThat(Files.exists(never)).isFalse();

        // after a good epoch: the weights and the checkpoint stay those of epoch 1
        ImageDataset data = train();
        Path file = dir.resolve("epoch1.ckpt");
        List<Map<String, Tensor>> afterEpoch1 = new ArrayList<>();
        Run[] later = new Run[1];
        later[0] = new Run(kind, 1, data, (b, optimizer, rng) -> b.checkpoint(file)
                .listener(Listeners.onEpoch(r -> {
                    afterEpoch1.add(later[0].state());
                    poison(data);
                })));
        NonFiniteTrainingException again = catchThrowableOfType(() -> later[0].trainer.fit(
                Trainer.Budget.epochs(3)), NonFiniteTrainingException.class);
        assertThat(again).as(kind.toString()).isNotNull();
        assertThat(again.source()).isEqualTo(NonFiniteTrainingException.Source.INPUT);
        assertThat(again.epoch()).isEqualTo(2);
        assertThat(afterEpoch1).hasSize(1);
        StateDicts.assertBitIdentical(afterEpoch1.get(0), later[0].state());
        assertThat(later[0].trainer.epoch()).isEqualTo(1);
        assertThat(later[0].trainer.steps()).isEqualTo(later[0].trainer.history().get(0).steps());
        Checkpoint saved = Checkpoint.load(file);
        assertThat(saved.epoch()).isEqualTo(1);
        StateDicts.assertBitIdentical(afterEpoch1.get(0), saved.modelState());
    }
}
