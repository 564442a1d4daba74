package org.siamese4j.siamese.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.nn.Tanh;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.optim.SGD;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.diagnostics.DiagnosticKind;
import org.siamese4j.siamese.diagnostics.DiagnosticWarning;
import org.siamese4j.siamese.diagnostics.DiagnosticsListener;
import org.siamese4j.siamese.diagnostics.EpochFigures;
import org.siamese4j.siamese.diagnostics.GradientAmplifier;
import org.siamese4j.siamese.diagnostics.NonFiniteTrainingException;
import org.siamese4j.siamese.diagnostics.StepFigures;
import org.siamese4j.siamese.diagnostics.TrainingMonitor;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.head.SimilarityHead;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * {@link HeadObjective} in the {@link Trainer}, under the {@code StepGuard} and the {@link TrainingMonitor}: a
 * healthy run stays quiet, the active fraction of BCE, an injected non-finite gradient, pixel and weight each
 * stop the run naming the culprit with the last checkpoint intact, a zero-initialised tower at learning rate 0 is
 * reported as collapsed, and batches of one class or one identity give no NaN. Small towers on 24x20 synthetic
 * faces: each run takes well under a second.
 */
class HeadObjectiveDiagnosticsTest {
    private static final int H = 24;
    private static final int W = 20;

    @TempDir
    Path dir;

    private static ImageDataset faces(int identities, int perIdentity) {
        return SyntheticFaces.generateRange(0, identities, perIdentity, 17, H, W);
    }

    private static Map<String, Tensor> snapshot(Module m) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        m.stateDict().forEach((name, t) -> out.put(name, t.copy()));
        return out;
    }

    private static void assertSameState(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((name, t) -> assertThat(actual.get(name).data()).as(name).containsExactly(t.data()));
    }

    private static void assertAllFinite(Module m) {
        m.stateDict().forEach((name, t) -> {
            for (float v : t.data()) {
                assertThat(v).as(name).isFinite();
            }
        });
    }

    /** A trainer of {@code net} on the objective's 1:1 pairs, {@code pairs} per step. */
    private static Trainer.Builder builder(HeadSiameseNetwork net, ImageDataset data, int pairs, Optimizer optimizer,
                                           Rng rng) {
        return Trainer.builder(net.tower(), new HeadObjective(data, pairs, net, rng), optimizer, data);
    }

    // =====================================================================================================
    // A healthy run stays quiet; the figures are the trainer's own
    // =====================================================================================================

    @Test
    void healthyRunStaysQuietAndReportsPairFigures() throws Exception {
        ImageDataset data = faces(16, 4);                 // 64 images at 16 a step: epochs of 4 steps
        Rng rng = new Rng(3);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(HeadObjectiveTest.TOWER, HeadObjectiveTest.INPUT,
                ArchSpec.parse("dense(8) relu dense(1)"), rng.split());
        List<String> printed = new ArrayList<>();
        TrainingMonitor monitor = new TrainingMonitor()
                .withListener(DiagnosticsListener.warnings(w -> printed.add(w.toString())));
        List<Trainer.StepReport> reports = new ArrayList<>();
        builder(net, data, 8, new Adam(net.parameters(), 3e-3f), rng.split()).monitor(monitor)
                .listener(Listeners.onStep(reports::add)).build().fit(Trainer.Budget.epochs(3));

        assertThat(printed).isEmpty();
        assertThat(monitor.warnings()).isEmpty();
        assertThat(monitor.steps()).hasSize(12).allSatisfy(s -> {
            assertThat(s.skipped()).isFalse();
            assertThat(s.gradientNorm()).isFinite().isPositive();
            assertThat(s.mined()).isNull();
            assertThat(s.images()).isEqualTo(16);
        });
        assertThat(reports).hasSize(12);
        for (int i = 0; i < reports.size(); i++) {
            StepFigures s = monitor.steps().get(i);
            assertThat(s.loss()).isEqualTo(reports.get(i).loss());
            assertThat(s.activeFraction()).isEqualTo(reports.get(i).activeFraction());
            assertThat(s.epoch()).isEqualTo(reports.get(i).epoch());
            assertThat(s.step()).isEqualTo(reports.get(i).step());
        }
        // an untrained head is unsure of every pair: all of them still teach
        assertThat(reports.get(0).activeFraction()).isEqualTo(1.0);
        assertThat(monitor.epochs()).hasSize(3).allSatisfy(e -> {
            assertThat(e.images()).isEqualTo(4 * 16);
            assertThat(e.skippedBatches()).isZero();
            assertThat(e.positivePairs()).as("the sampled same pairs at least").isGreaterThanOrEqualTo(4 * 4);
            assertThat(e.negativePairs()).isPositive();
            assertThat(e.meanPositiveDistance()).isFinite();
            assertThat(e.gap()).isFinite();
            assertThat(e.meanVariance()).isPositive();
            assertThat(e.mined()).isNull();
        });
        Path csv = dir.resolve("steps.csv");
        monitor.writeCsv(csv);
        // a head mines no triplets, so its rows carry no empty triplet columns
        assertThat(Files.readAllLines(csv)).hasSize(13).first().isEqualTo(StepFigures.CSV_HEADER);
        assertThat(Files.readAllLines(csv)).allSatisfy(row -> assertThat(row.split(",", -1))
                .hasSize(StepFigures.CSV_HEADER.split(",").length).doesNotContain(""));
        Path png = dir.resolve("diagnostics.png");
        monitor.writeChart(png);
        assertThat(Files.size(png)).isPositive();
    }

    // =====================================================================================================
    // The active fraction of BCE
    // =====================================================================================================

    /** One step of a head that gives every pair the logit {@code z}: weight 0, bias z, learning rate 0. */
    private static Trainer.StepReport constantLogit(float z, TrainingMonitor monitor) {
        ImageDataset data = faces(6, 3);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(HeadObjectiveTest.TOWER, HeadObjectiveTest.INPUT,
                ArchSpec.parse("dense(1)"), new Rng(2));
        net.head().parameters().get(0).fill(0f);
        net.head().parameters().get(1).fill(z);
        // 3 same pairs, 2 different ones
        Pairs pairs = new Pairs(new int[] {0, 0, 3, 6, 9}, new int[] {1, 3, 4, 7, 12}, new int[] {1, 0, 1, 1, 0});
        Trainer trainer = Trainer.builder(net.tower(), FedPairs.fixed(new HeadObjective(data, 5, net, new Rng(3)),
                data, pairs), new SGD(net.parameters(), 0f), data).monitor(monitor).build();
        return trainer.step(1, 1, 1);
    }

    @Test
    void activeFractionCountsPairsWhoseCrossEntropyExceedsTheThreshold() {
        // logit 7: a same pair's term is log1p(e^-7) = 9.1e-4 < 1e-3 (inactive), a different pair's 7 + 9.1e-4
        TrainingMonitor monitor = new TrainingMonitor();
        Trainer.StepReport confident = constantLogit(7f, monitor);
        assertThat(Math.log1p(Math.exp(-7))).isLessThan(HeadObjective.ACTIVE_LOSS);
        assertThat(confident.activeFraction()).isEqualTo(2.0 / 5);
        assertThat(monitor.steps()).singleElement().satisfies(s -> assertThat(s.activeFraction()).isEqualTo(0.4));
        // logit 6.8: log1p(e^-6.8) = 1.1e-3 > 1e-3, every pair is active
        assertThat(Math.log1p(Math.exp(-6.8))).isGreaterThan(HeadObjective.ACTIVE_LOSS);
        assertThat(constantLogit(6.8f, null).activeFraction()).isEqualTo(1.0);
        // logit -7: the different pairs are confident, the same pairs misclassified (always active)
        assertThat(constantLogit(-7f, null).activeFraction()).isEqualTo(3.0 / 5);
        // the direct formula, on logits either side of the threshold
        boolean[] same = {true, true, false, false};
        assertThat(HeadObjective.activeFraction(new float[] {10f, 5f, -10f, 0.5f}, same)).isEqualTo(0.5);
        assertThat(HeadObjective.activeFraction(new float[] {50f, 50f, -50f, -50f}, same)).isZero();
    }

    // =====================================================================================================
    // Non-finite numbers stop the run, name the culprit and keep the checkpoint
    // =====================================================================================================

    @Test
    void nonFiniteGradientStopsBeforeTheStepNamesTheTowerLayerAndKeepsTheCheckpoint() throws Exception {
        for (boolean withMonitor : new boolean[] {true, false}) {
            ImageDataset data = faces(8, 4);            // 32 images at 12 a step: epochs of 3 steps
            Rng rng = new Rng(7);
            GradientAmplifier first = new GradientAmplifier();
            GradientAmplifier second = new GradientAmplifier();
            // tower: 0 flatten, 1 dense, 2 tanh, 3 and 4 blow-ups, 5 dense; head: dense 4, relu, dense 1
            Sequential tower = new Sequential(new Flatten(), new Linear(H * W, 16, rng), new Tanh(), first, second,
                    new Linear(16, 8, rng));
            HeadSiameseNetwork net = new HeadSiameseNetwork(tower, SimilarityHead.parse("dense(4) relu dense(1)", 8,
                    rng));
            Adam adam = new Adam(net.parameters(), 1e-3f);
            TrainingMonitor monitor = withMonitor ? new TrainingMonitor() : null;
            Path file = dir.resolve("run-" + withMonitor + ".ckpt");
            List<Map<String, Tensor>> afterEpoch1 = new ArrayList<>();
            Trainer trainer = builder(net, data, 6, adam, rng.split()).monitor(monitor).checkpoint(file)
                    .listener(Listeners.onStep(r -> {
                        if (r.epoch() == 1 && r.step() == r.stepsPerEpoch()) {
                            afterEpoch1.add(snapshot(net));
                            first.armed = true;              // from the first step of epoch 2 on
                            second.armed = true;
                        }
                    })).build();
            NonFiniteTrainingException e = catchThrowableOfType(() -> trainer.fit(Trainer.Budget.epochs(3)),
                    NonFiniteTrainingException.class);

            String run = "monitor " + withMonitor;
            assertThat(e).as(run).isNotNull();
            assertThat(e.source()).isEqualTo(NonFiniteTrainingException.Source.GRADIENT);
            // the head and tower.5 sit after the blow-ups in backward order and stay finite
            assertThat(e.parameter()).as(run).isEqualTo("tower.1.bias");
            assertThat(e.layer()).isEqualTo("tower.1");
            assertThat(e.epoch()).isEqualTo(2);
            assertThat(e.step()).isEqualTo(1);
            assertThat(e.getMessage()).startsWith("WARNING [non-finite] epoch 2 step 1: the gradient of tower.1.bias, "
                    + "in layer tower.1 (Linear), is non-finite").contains("2 parameters with non-finite gradients "
                    + "[tower.1.bias, tower.1.weight]").contains("not applied").contains("Try: ");
            // the bad step was never applied nor counted, and the last checkpoint is the good one of epoch 1
            assertSameState(afterEpoch1.get(0), snapshot(net));
            assertThat(trainer.epoch()).isEqualTo(1);
            assertThat(trainer.steps()).isEqualTo(3);
            Checkpoint saved = Checkpoint.load(file);
            assertThat(saved.epoch()).isEqualTo(1);
            assertThat(saved.step()).isEqualTo(3);
            assertSameState(afterEpoch1.get(0), saved.modelState());
            if (withMonitor) {
                assertThat(monitor.warnings()).extracting(DiagnosticWarning::kind)
                        .containsExactly(DiagnosticKind.NON_FINITE);
                assertThat(monitor.warnings().get(0)).isSameAs(e.warning());
                assertThat(monitor.steps()).hasSize(3);          // the good steps of epoch 1 only
                assertThat(monitor.epochs()).hasSize(1);
            }
        }
    }

    @Test
    void nanPixelsStopTheRunNamingTheInputAndRestoreBatchNormStatistics() throws Exception {
        ImageDataset data = faces(8, 2);                 // 16 images at 8 a step: epochs of 2 steps
        Rng rng = new Rng(8);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(HeadObjectiveTest.TOWER, HeadObjectiveTest.INPUT,
                ArchSpec.parse("dense(8) relu dense(1)"), rng.split());
        TrainingMonitor monitor = new TrainingMonitor();
        Path file = dir.resolve("nan.ckpt");
        List<Map<String, Tensor>> good = new ArrayList<>();
        Trainer trainer = builder(net, data, 4, new Adam(net.parameters(), 1e-3f), rng.split()).monitor(monitor)
                .checkpoint(file).listener(Listeners.onStep(r -> {
                    good.add(snapshot(net));                            // weights and BN statistics after each step
                    if (r.epoch() == 1 && r.step() == r.stepsPerEpoch()) {
                        for (int image = 0; image < data.size(); image++) { // every batch meets a NaN
                            data.images().data()[image * H * W + 17] = Float.NaN;
                        }
                    }
                })).build();
        NonFiniteTrainingException e = catchThrowableOfType(() -> trainer.fit(Trainer.Budget.epochs(3)),
                NonFiniteTrainingException.class);

        assertThat(e).isNotNull();
        assertThat(e.source()).isEqualTo(NonFiniteTrainingException.Source.INPUT);
        assertThat(e.epoch()).isEqualTo(2);
        assertThat(e.step()).isEqualTo(1);
        assertThat(e.layer()).isNull();
        assertThat(e.getMessage()).contains("the input batch holds non-finite values (NaN in 8 of 8 images")
                .contains("of input [8, 1, 24, 20]").contains("Try: check the data");
        assertThat(good).hasSize(2);
        assertSameState(good.get(1), snapshot(net));                  // running_mean/var included
        assertThat(Checkpoint.load(file).epoch()).isEqualTo(1);
        assertSameState(good.get(1), Checkpoint.load(file).modelState());
        assertThat(monitor.warnings()).extracting(DiagnosticWarning::kind).containsExactly(DiagnosticKind.NON_FINITE);
    }

    @Test
    void aNanWeightInTheHeadNamesTheHeadAndItsParameter() {
        ImageDataset data = faces(4, 2);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(HeadObjectiveTest.TOWER, HeadObjectiveTest.INPUT,
                ArchSpec.parse("dense(8) relu dense(1)"), new Rng(2));
        net.head().parameters().get(3).fill(Float.NaN);              // head.2.bias
        Adam adam = new Adam(net.parameters(), 1e-2f);
        TrainingMonitor monitor = new TrainingMonitor();
        Pairs pairs = new Pairs(new int[] {0, 0}, new int[] {1, 2}, new int[] {1, 0});
        Trainer trainer = Trainer.builder(net.tower(), FedPairs.fixed(new HeadObjective(data, 2, net, new Rng(3)),
                data, pairs), adam, data).monitor(monitor).build();
        Map<String, Tensor> before = snapshot(net);
        NonFiniteTrainingException e = catchThrowableOfType(() -> trainer.step(1, 3, 5),
                NonFiniteTrainingException.class);

        assertThat(e).isNotNull();
        assertThat(e.source()).isEqualTo(NonFiniteTrainingException.Source.FORWARD);
        assertThat(e.layer()).isEqualTo("head");
        assertThat(e.parameter()).isEqualTo("head.2.bias");
        assertThat(e.getMessage()).startsWith("WARNING [non-finite] epoch 1 step 3: the forward pass went non-finite: "
                + "the output of layer head (SimilarityHead) is non-finite in 2 of 2 rows; its input was finite; "
                + "parameter head.2.bias already holds non-finite values");
        assertSameState(before, snapshot(net));                       // BN statistics of the tower put back
        assertThat(adam.state()).isEmpty();
        assertThat(trainer.steps()).isZero();
        assertThat(monitor.steps()).isEmpty();
    }

    @Test
    void hugeLearningRateOverflowsTheTowerAndNamesItsLayer() {
        ImageDataset data = faces(8, 4);
        Rng rng = new Rng(9);
        Sequential tower = new Sequential(new Flatten(), new Linear(H * W, 32, rng), new ReLU(),
                new Linear(32, 8, rng));
        HeadSiameseNetwork net = new HeadSiameseNetwork(tower, SimilarityHead.parse("dense(1)", 8, rng));
        List<Map<String, Tensor>> good = new ArrayList<>();
        Trainer trainer = builder(net, data, 8, new SGD(net.parameters(), 1e30f), rng.split())
                .listener(Listeners.onStep(r -> good.add(snapshot(net)))).build();
        NonFiniteTrainingException e = catchThrowableOfType(() -> trainer.fit(Trainer.Budget.epochs(2)),
                NonFiniteTrainingException.class);

        assertThat(e).isNotNull();
        assertThat(good).as("the first step is fine, it only makes the weights huge").hasSize(1);
        assertThat(e.source()).isEqualTo(NonFiniteTrainingException.Source.FORWARD);
        assertThat(e.layer()).isEqualTo("tower.3");
        assertThat(e.parameter()).isNull();                           // the weights themselves are still finite
        assertThat(e.getMessage()).contains("the output of layer tower (Sequential) is non-finite in 16 of 16 rows")
                .contains("layer tower.3 (Linear) is the first whose output is non-finite").contains("in tower.")
                .contains("lower learning rate");
        assertSameState(good.get(0), snapshot(net));
    }

    // =====================================================================================================
    // Collapse
    // =====================================================================================================

    @Test
    void zeroInitialisedTowerWithLearningRateZeroCollapses() throws Exception {
        ImageDataset data = faces(8, 4);
        for (float bias : new float[] {0f, 0.5f}) {
            Rng rng = new Rng(5);
            Linear last = new Linear(16, 8, rng);
            last.weight().fill(0f);
            last.bias().fill(bias);
            Sequential tower = new Sequential(new Flatten(), new Linear(H * W, 16, rng), new ReLU(), last);
            HeadSiameseNetwork net = new HeadSiameseNetwork(tower, SimilarityHead.parse("dense(4) relu dense(1)", 8,
                    rng));
            TrainingMonitor monitor = new TrainingMonitor();
            builder(net, data, 8, new SGD(net.parameters(), 0f), rng.split()).monitor(monitor).build()
                    .fit(Trainer.Budget.epochs(2));

            String run = "bias " + bias;
            assertThat(monitor.warnings()).as(run).extracting(DiagnosticWarning::kind)
                    .containsExactly(DiagnosticKind.COLLAPSE);                 // once, though both epochs collapse
            assertThat(monitor.warnings().get(0).epoch()).isEqualTo(1);
            assertThat(monitor.warnings().get(0).message()).contains("learning rate is not 0");
            EpochFigures f = monitor.epochs().get(0);
            assertThat(f.relativeSpread()).as(run).isZero();
            assertThat(f.meanPositiveDistance()).isZero();
            assertThat(f.meanNegativeDistance()).isZero();
            assertThat(f.meanNorm()).as(run).isCloseTo(bias * Math.sqrt(8), within(1e-6));
            // |e1 - e2| = 0 for every pair: the head gives a same pair and a different one the same logit
            float[][] e = Embeddings.of(tower, data, 64);
            assertThat(data.label(0)).isEqualTo(data.label(1)).isNotEqualTo(data.label(31));
            assertThat(net.logit(e[0], e[1])).as(run).isEqualTo(net.logit(e[0], e[31]));
        }
    }

    // =====================================================================================================
    // Batches of one class or one identity
    // =====================================================================================================

    @Test
    void batchesOfOneClassOrOneIdentityGiveNoNaN() throws Exception {
        List<TrainingMonitor> monitors = new ArrayList<>();
        ImageDataset data = faces(6, 3);
        ImageDataset one = faces(1, 5);
        HeadSiameseNetwork net = HeadSiameseNetwork.build(HeadObjectiveTest.TOWER, HeadObjectiveTest.INPUT,
                ArchSpec.parse("dense(8) relu dense(1)"), new Rng(4));
        // the objective's own sampler draws 1:1 and refuses one person; these batches are fed to it instead
        HeadObjective head = new HeadObjective(data, 4, net, new Rng(9));
        for (Object[] run : new Object[][] {{data, 1.0}, {data, 0.0}, {one, 1.0}}) {
            ImageDataset d = (ImageDataset) run[0];
            TrainingMonitor monitor = new TrainingMonitor();
            monitors.add(monitor);
            FedPairs fed = FedPairs.sampled(head, d, new PairSampler(d, (double) run[1], new Rng(5)), 4, 3);
            Trainer.builder(net.tower(), fed, new Adam(net.parameters(), 1e-2f), d).monitor(monitor).build()
                    .fit(Trainer.Budget.epochs(2));
            assertThat(monitor.warnings()).as("fraction " + run[1]).isEmpty();
            assertThat(monitor.steps()).hasSize(6).allSatisfy(s -> {
                assertThat(s.skipped()).isFalse();
                assertThat(s.loss()).isFinite().isPositive();
                assertThat(s.activeFraction()).isBetween(0.0, 1.0);
                assertThat(s.gradientNorm()).isFinite();
            });
            assertThat(monitor.epochs()).hasSize(2).allSatisfy(e -> {
                assertThat(e.skippedBatches()).isZero();
                assertThat(e.meanNorm()).isFinite();
                assertThat(e.meanVariance()).isFinite();
                assertThat(e.meanPositiveDistance()).as("a same pair or a repeated person in every batch").isFinite();
            });
            assertAllFinite(net);
        }
        // one person: no different-identity pair to measure, a missing figure rather than a NaN in training
        assertThat(monitors.get(2).epochs()).allSatisfy(e -> {
            assertThat(e.negativePairs()).isZero();
            assertThat(e.meanNegativeDistance()).isNaN();
        });
    }
}
