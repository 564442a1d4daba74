package org.siamese4j.siamese.diagnostics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.nn.Tanh;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.optim.SGD;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.loss.CircleLoss;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.mining.BatchAllMiner;
import org.siamese4j.siamese.mining.BatchHardMiner;
import org.siamese4j.siamese.mining.OnlineMiner;
import org.siamese4j.siamese.mining.SemiHardMiner;
import org.siamese4j.siamese.train.CircleObjective;
import org.siamese4j.siamese.train.ContrastiveObjective;
import org.siamese4j.siamese.train.Listeners;
import org.siamese4j.siamese.train.OnlineTripletObjective;
import org.siamese4j.siamese.train.Trainer;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The detectors on real training runs, each built to trigger one of them, and a healthy run that must stay
 * quiet. Small towers on 24x20 synthetic faces or plain random images: each run takes well under a second.
 */
class DiagnosticsTrainingTest {
    private static final int H = 24;
    private static final int W = 20;

    @TempDir
    Path dir;

    private static ImageDataset faces(int identities, int perIdentity) {
        return SyntheticFaces.generateRange(0, identities, perIdentity, 17, H, W);
    }

    /** 1x24x20 -> conv 4 -> BN -> pool 4x12x10 -> conv 8 -> pool 8x6x5 = 240 -> 16, unit length. */
    private static Sequential convTower(Rng rng) {
        return new Sequential(new Conv2d(1, 4, 3, 1, 1, rng), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
                new Conv2d(4, 8, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2), new Flatten(),
                new Linear(240, 16, rng), new L2Normalize());
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

    /** A trainer of {@code tower} with online-mined P x K triplets, nothing else set. */
    private static Trainer.Builder triplets(Sequential tower, ImageDataset data, int p, int k, TripletLoss loss,
                                            OnlineMiner miner, Optimizer optimizer, Rng rng) {
        return Trainer.builder(tower, new OnlineTripletObjective(data, p, k, loss, miner, rng), optimizer, data);
    }

    private static void assertSameParameters(Map<String, Tensor> expected, Module m) {
        m.namedParameters().forEach((name, t) -> assertThat(t.data()).as(name).containsExactly(
                expected.get(name).data()));
    }

    // =====================================================================================================
    // A healthy run stays quiet
    // =====================================================================================================

    @Test
    void healthyTripletRunStaysQuietAndWritesCsvAndChart() throws Exception {
        ImageDataset data = faces(12, 4);
        Rng rng = new Rng(3);
        Sequential tower = convTower(rng);
        TripletLoss loss = TripletLoss.hard(0.3f, Distance.EUCLIDEAN);
        List<String> printed = new ArrayList<>();
        TrainingMonitor monitor = new TrainingMonitor().withDistance(loss.distance())
                .withListener(DiagnosticsListener.warnings(w -> printed.add(w.toString())));
        List<Trainer.StepReport> reports = new ArrayList<>();
        // 48 images at 16 a step: epochs of 3 steps
        triplets(tower, data, 4, 4, loss, new BatchHardMiner(), new Adam(tower.parameters(), 3e-3f), rng.split())
                .monitor(monitor).listener(Listeners.onStep(reports::add)).build().fit(Trainer.Budget.epochs(4));

        assertThat(printed).isEmpty();
        assertThat(monitor.warnings()).isEmpty();
        assertThat(monitor.steps()).hasSize(12).allSatisfy(s -> {
            assertThat(s.skipped()).isFalse();
            assertThat(s.gradientNorm()).isFinite().isPositive();
            assertThat(s.mined()).isNotNull();
        });
        // the monitor's figures are the trainer's own
        assertThat(reports).hasSize(12);
        for (int i = 0; i < reports.size(); i++) {
            assertThat(monitor.steps().get(i).loss()).isEqualTo(reports.get(i).loss());
            assertThat(monitor.steps().get(i).mined()).isEqualTo(reports.get(i).mined());
        }
        assertThat(monitor.epochs()).hasSize(4).allSatisfy(e -> {
            assertThat(e.meanNorm()).isCloseTo(1.0, org.assertj.core.api.Assertions.within(1e-5));
            assertThat(e.meanVariance()).isPositive();
            assertThat(e.gap()).isFinite();
        });
        EpochFigures last = monitor.epochs().get(3);
        assertThat(last.gap()).as("learning pulls identities apart").isPositive();
        assertThat(last.meanPositiveDistance()).isLessThan(last.meanNegativeDistance());

        Path csv = dir.resolve("steps.csv");
        monitor.writeCsv(csv);
        assertThat(Files.readAllLines(csv)).hasSize(13).first().isEqualTo(StepFigures.csvHeader(true));
        Path png = dir.resolve("plots/diagnostics.png");
        monitor.writeChart(png);
        assertDrawnPng(png);
    }

    @Test
    void healthyContrastiveAndCircleRunsStayQuiet() throws Exception {
        ImageDataset data = faces(8, 4);
        Rng rng = new Rng(4);
        Sequential tower = convTower(rng);
        TrainingMonitor pairs = new TrainingMonitor();
        // 32 images at 16 a step (8 pairs): epochs of 2 steps
        Trainer.builder(tower, new ContrastiveObjective(data, 8, new ContrastiveLoss(1f, LabelConvention.SAME_IS_ONE),
                        Distance.EUCLIDEAN, rng.split()), new Adam(tower.parameters(), 3e-3f), data).monitor(pairs)
                .build().fit(Trainer.Budget.epochs(2));
        assertThat(pairs.warnings()).isEmpty();
        assertThat(pairs.steps()).hasSize(4);
        assertThat(pairs.epochs()).hasSize(2).allSatisfy(e -> {
            assertThat(e.images()).isEqualTo(2 * 16);
            assertThat(e.positivePairs()).isPositive();
        });

        Sequential tower2 = convTower(rng);
        TrainingMonitor circle = new TrainingMonitor().withDistance(Distance.COSINE);
        // 32 images at 8 a step (P 4 x K 2): epochs of 4 steps
        Trainer.builder(tower2, new CircleObjective(data, 4, 2, new CircleLoss(0.25f, 32f), rng.split()),
                new Adam(tower2.parameters(), 3e-3f), data).monitor(circle).build().fit(Trainer.Budget.epochs(2));
        assertThat(circle.warnings()).isEmpty();
        assertThat(circle.steps()).hasSize(8).noneMatch(StepFigures::skipped);
        assertThat(circle.epochs().get(1).distance()).isEqualTo(Distance.COSINE);
    }

    // =====================================================================================================
    // Collapse
    // =====================================================================================================

    /** Flatten, dense 16, ReLU, dense 8 with zero weights and the given bias, then optionally L2-normalise. */
    private static Sequential collapsedTower(Rng rng, float bias, boolean normalise) {
        Linear last = new Linear(16, 8, rng);
        last.weight().fill(0f);
        last.bias().fill(bias);
        Sequential s = new Sequential(new Flatten(), new Linear(H * W, 16, rng), new ReLU(), last);
        if (normalise) {
            s.add(new L2Normalize());
        }
        return s;
    }

    @Test
    void zeroInitialisedLastLayerWithLearningRateZeroCollapses() throws Exception {
        ImageDataset data = faces(8, 4);
        for (boolean normalise : new boolean[]{false, true}) {
            for (float bias : new float[]{0f, 0.5f}) {
                Rng rng = new Rng(5);
                Sequential tower = collapsedTower(rng, bias, normalise);
                TrainingMonitor monitor = new TrainingMonitor();
                triplets(tower, data, 4, 2, TripletLoss.hard(0.3f, Distance.EUCLIDEAN), new BatchHardMiner(),
                        new SGD(tower.parameters(), 0f), rng.split()).monitor(monitor).build()
                        .fit(Trainer.Budget.epochs(2));
                String run = "bias " + bias + (normalise ? ", L2-normalised" : "");
                assertThat(monitor.warnings()).as(run).extracting(DiagnosticWarning::kind)
                        .containsExactly(DiagnosticKind.COLLAPSE);           // once, though both epochs collapse
                assertThat(monitor.warnings().get(0).epoch()).isEqualTo(1);
                EpochFigures f = monitor.epochs().get(0);
                assertThat(f.relativeSpread()).as(run).isZero();
                assertThat(f.meanPositiveDistance()).isZero();
                assertThat(f.meanNegativeDistance()).isZero();
                assertThat(f.meanNorm()).as(run).isCloseTo(bias == 0 ? 0 : normalise ? 1 : bias * Math.sqrt(8),
                        org.assertj.core.api.Assertions.within(1e-6));
            }
        }
    }

    // =====================================================================================================
    // Loss stuck at zero
    // =====================================================================================================

    /**
     * Identities as far apart as random images are, each image its identity's prototype plus noise of 1e-3: with
     * margin 0 every triplet is easy from the first step.
     */
    private static ImageDataset easyClusters(int identities, int perIdentity, Rng rng) {
        float[] pixels = new float[identities * perIdentity * H * W];
        int[] labels = new int[identities * perIdentity];
        List<String> names = new ArrayList<>();
        for (int id = 0; id < identities; id++) {
            names.add("id" + id);
            float[] prototype = Tensor.rand(rng, H * W).data();
            for (int j = 0; j < perIdentity; j++) {
                int image = id * perIdentity + j;
                labels[image] = id;
                for (int k = 0; k < H * W; k++) {
                    pixels[image * H * W + k] = prototype[k] + 1e-3f * (float) rng.nextGaussian();
                }
            }
        }
        return new ImageDataset(Tensor.of(pixels, labels.length, 1, H, W), labels, names);
    }

    @Test
    void marginZeroOnEasyDataGetsStuckAtZero() throws Exception {
        Rng rng = new Rng(6);
        ImageDataset data = easyClusters(8, 2, rng);
        Sequential tower = new Sequential(new Flatten(), new Linear(H * W, 32, rng), new ReLU(),
                new Linear(32, 8, rng));
        TrainingMonitor monitor = new TrainingMonitor();
        // 16 images at 8 a step: epochs of 2 steps
        triplets(tower, data, 4, 2, TripletLoss.hard(0f, Distance.EUCLIDEAN), BatchAllMiner.all(),
                new Adam(tower.parameters(), 1e-3f), rng.split()).monitor(monitor).build()
                .fit(Trainer.Budget.epochs(3));

        assertThat(monitor.steps()).hasSize(6).allSatisfy(s -> {
            assertThat(s.loss()).isZero();
            assertThat(s.activeFraction()).isZero();
            assertThat(s.mined().easy()).isEqualTo(s.mined().total()).isPositive();
        });
        // epochs of 2 steps: a whole zero epoch is enough, and the warning comes once
        assertThat(monitor.warnings()).singleElement().satisfies(w -> {
            assertThat(w.kind()).isEqualTo(DiagnosticKind.LOSS_STUCK_AT_ZERO);
            assertThat(w.where()).isEqualTo("epoch 1 step 2");
            assertThat(w.message()).contains("harder mining").contains("larger margin");
        });
    }

    // =====================================================================================================
    // Non-finite
    // =====================================================================================================

    @Test
    void nonFiniteGradientStopsBeforeTheStepNamesTheLayerAndKeepsTheCheckpoint() throws Exception {
        for (boolean withMonitor : new boolean[]{true, false}) {
            ImageDataset data = faces(8, 4);
            Rng rng = new Rng(7);
            GradientAmplifier first = new GradientAmplifier();
            GradientAmplifier second = new GradientAmplifier();
            // 0 flatten, 1 dense, 2 tanh, 3 and 4 amplifiers (1e60 together overflows), 5 dense
            Sequential tower = new Sequential(new Flatten(), new Linear(H * W, 16, rng), new Tanh(), first, second,
                    new Linear(16, 8, rng));
            Adam adam = new Adam(tower.parameters(), 1e-3f);
            TrainingMonitor monitor = withMonitor ? new TrainingMonitor() : null;
            Path file = dir.resolve("run-" + withMonitor + ".ckpt");
            List<Map<String, Tensor>> afterEpoch1 = new ArrayList<>();
            // 32 images at 16 a step: epochs of 2 steps
            Trainer trainer = triplets(tower, data, 4, 4, TripletLoss.soft(Distance.EUCLIDEAN), new BatchHardMiner(),
                    adam, rng.split()).monitor(monitor).checkpoint(file).listener(Listeners.onStep(r -> {
                        if (r.epoch() == 1 && r.step() == r.stepsPerEpoch()) {
                            afterEpoch1.add(snapshot(tower));
                            first.armed = true;          // from the first step of epoch 2 on
                            second.armed = true;
                        }
                    })).build();
            NonFiniteTrainingException e = catchThrowableOfType(() -> trainer.fit(Trainer.Budget.epochs(3)),
                    NonFiniteTrainingException.class);

            assertThat(e).as("monitor " + withMonitor).isNotNull();
            assertThat(e.source()).isEqualTo(NonFiniteTrainingException.Source.GRADIENT);
            assertThat(e.parameter()).isEqualTo("1.bias");         // closest to the loss among 1.weight, 1.bias
            assertThat(e.layer()).isEqualTo("1");
            assertThat(e.epoch()).isEqualTo(2);
            assertThat(e.step()).isEqualTo(1);
            assertThat(e.getMessage()).startsWith("WARNING [non-finite] epoch 2 step 1: the gradient of 1.bias, "
                    + "in layer 1 (Linear), is non-finite").contains("2 parameters with non-finite gradients [1.bias, "
                    + "1.weight]").contains("not applied").contains("Try: ");
            // the bad step was never applied, and the last checkpoint is the good one of epoch 1
            assertSameState(afterEpoch1.get(0), snapshot(tower));
            Checkpoint saved = Checkpoint.load(file);
            assertThat(saved.epoch()).isEqualTo(1);
            assertSameState(afterEpoch1.get(0), saved.modelState());
            assertThat(trainer.epoch()).isEqualTo(1);
            assertThat(trainer.steps()).as("the failed step is not counted").isEqualTo(2);
            // ... and loadable into a trainer built the same way
            Rng rng2 = new Rng(99);
            Sequential fresh = new Sequential(new Flatten(), new Linear(H * W, 16, rng2), new Tanh(),
                    new GradientAmplifier(), new GradientAmplifier(), new Linear(16, 8, rng2));
            Trainer resumed = triplets(fresh, data, 4, 4, TripletLoss.soft(Distance.EUCLIDEAN), new BatchHardMiner(),
                    new Adam(fresh.parameters(), 1e-3f), new Rng(1)).build();
            resumed.resume(file);
            assertSameState(afterEpoch1.get(0), snapshot(fresh));
            assertThat(resumed.epoch()).isEqualTo(1);
            if (withMonitor) {
                assertThat(monitor.warnings()).extracting(DiagnosticWarning::kind)
                        .containsExactly(DiagnosticKind.NON_FINITE);
                assertThat(monitor.warnings().get(0)).isSameAs(e.warning());
                assertThat(monitor.steps()).hasSize(2);          // the good steps of epoch 1 only
            }
        }
    }

    @Test
    void nanPixelStopsTheRunNamingTheInputAndRestoresBatchNormStatistics() throws Exception {
        ImageDataset data = faces(8, 2);
        Rng rng = new Rng(8);
        Sequential tower = convTower(rng);
        TrainingMonitor monitor = new TrainingMonitor();
        Path file = dir.resolve("nan.ckpt");
        List<Map<String, Tensor>> good = new ArrayList<>();
        int poisoned = 5;
        // 16 images at 8 a step: epochs of 2 steps, which together draw all 8 people, each with both images
        Trainer trainer = triplets(tower, data, 4, 2, TripletLoss.hard(0.3f, Distance.EUCLIDEAN), new BatchHardMiner(),
                new Adam(tower.parameters(), 1e-3f), rng.split()).monitor(monitor).checkpoint(file)
                .listener(Listeners.onStep(r -> {
                    good.add(snapshot(tower));                         // weights and BN statistics after each step
                    if (r.epoch() == 1 && r.step() == r.stepsPerEpoch()) {
                        data.images().data()[poisoned * H * W + 17] = Float.NaN;   // every image appears every epoch
                    }
                })).build();
        NonFiniteTrainingException e = catchThrowableOfType(() -> trainer.fit(Trainer.Budget.epochs(3)),
                NonFiniteTrainingException.class);

        assertThat(e).isNotNull();
        assertThat(e.source()).isEqualTo(NonFiniteTrainingException.Source.INPUT);
        assertThat(e.epoch()).isEqualTo(2);
        assertThat(e.layer()).isNull();
        assertThat(e.getMessage()).contains("the input batch holds non-finite values (NaN in 1 of 8 images")
                .containsPattern("the first at element 17 of row \\d of input \\[8, 1, 24, 20\\]").contains("Try: check the data");
        assertSameState(good.get(good.size() - 1), snapshot(tower));  // running_mean/var included
        assertThat(Checkpoint.load(file).epoch()).isEqualTo(1);
        assertSameState(good.get(1), Checkpoint.load(file).modelState());
        assertThat(monitor.warnings(DiagnosticKind.NON_FINITE)).hasSize(1);
    }

    @Test
    void hugeLearningRateOverflowsTheForwardPassAndNamesTheLayer() {
        ImageDataset data = faces(8, 4);
        Rng rng = new Rng(9);
        Sequential tower = new Sequential(new Flatten(), new Linear(H * W, 32, rng), new ReLU(),
                new Linear(32, 8, rng));
        Optimizer sgd = new SGD(tower.parameters(), 1e30f);
        TrainingMonitor monitor = new TrainingMonitor();
        List<Map<String, Tensor>> good = new ArrayList<>();
        Trainer trainer = triplets(tower, data, 4, 4, TripletLoss.hard(0.3f, Distance.EUCLIDEAN), new BatchHardMiner(),
                sgd, rng.split()).monitor(monitor).listener(Listeners.onStep(r -> good.add(snapshot(tower)))).build();
        NonFiniteTrainingException e = catchThrowableOfType(() -> trainer.fit(Trainer.Budget.epochs(3)),
                NonFiniteTrainingException.class);

        assertThat(e).isNotNull();
        assertThat(good).as("the first step is fine, it only makes the weights huge").hasSize(1);
        assertThat(e.source()).isEqualTo(NonFiniteTrainingException.Source.FORWARD);
        assertThat(e.layer()).isEqualTo("3");
        assertThat(e.parameter()).isNull();                           // the weights themselves are still finite
        assertThat(e.getMessage()).contains("the forward pass went non-finite").contains("layer 3 (Linear) is the first "
                + "whose output is non-finite").contains("lower learning rate");
        assertSameState(good.get(0), snapshot(tower));
    }

    // =====================================================================================================
    // Batches with no valid positive or negative
    // =====================================================================================================

    @Test
    void singleIdentityBatchesGiveNoNaNAnywhere() throws Exception {
        // the miners find nothing
        Rng rng = new Rng(10);
        Tensor embeddings = Tensor.randn(rng, 6, 4);
        int[] one = {3, 3, 3, 3, 3, 3};
        float[] dist = Distance.EUCLIDEAN.pairwise(embeddings).data();
        for (OnlineMiner miner : new OnlineMiner[]{new BatchHardMiner(), BatchAllMiner.all(),
                BatchAllMiner.nonEasyOnly(), new SemiHardMiner()}) {
            assertThat(miner.mine(dist, 6, one, 0.2f).isEmpty()).as(miner.toString()).isTrue();
        }
        // the triplet, contrastive and circle losses stay finite, with finite gradients
        Tensor x = Tensor.randn(rng, 6, 4).requiresGrad(true);
        LossResult triplet = TripletLoss.hard(0.2f, Distance.EUCLIDEAN).compute(x, new int[0], new int[0],
                new int[0]);
        assertFiniteWithGradient(triplet, x, 0f);
        x.zeroGrad();
        LossResult circle = new CircleLoss().compute(x, one);
        assertThat(circle.termCount()).isZero();
        assertFiniteWithGradient(circle, x, 0f);
        x.zeroGrad();
        // every pair the same person, one pair even the same embedding (distance 0)
        Tensor a = x.slice(0, 3);
        Tensor b = Tensor.concat(0, x.slice(0, 1), x.slice(4, 6));
        LossResult contrastive = new ContrastiveLoss(1f, LabelConvention.SAME_IS_ONE).compute(Distance.EUCLIDEAN, a, b,
                new int[]{1, 1, 1});
        assertThat(contrastive.activeFraction()).isEqualTo(2.0 / 3);
        assertFiniteWithGradient(contrastive, x, Float.NaN);

        // the trainer skips such batches without a step, counts them and says so (4 images: epochs of 1 step)
        ImageDataset data = faces(1, 4);
        Sequential tower = convTower(new Rng(11));
        Map<String, Tensor> before = snapshot(tower);
        TrainingMonitor monitor = new TrainingMonitor();
        List<Trainer.StepReport> reports = new ArrayList<>();
        triplets(tower, data, 1, 4, TripletLoss.hard(0.2f, Distance.EUCLIDEAN), new BatchHardMiner(),
                new Adam(tower.parameters(), 1e-2f), new Rng(12)).monitor(monitor)
                .listener(Listeners.onStep(reports::add)).build().fit(Trainer.Budget.epochs(2));
        assertThat(reports).hasSize(2).allSatisfy(r -> {
            assertThat(r.skipped()).isTrue();
            assertThat(r.mined()).isNull();
        });
        assertThat(monitor.steps()).hasSize(2).allMatch(StepFigures::skipped);
        assertThat(monitor.epochs()).extracting(EpochFigures::skippedBatches).containsExactly(1, 1);
        assertThat(monitor.warnings()).extracting(DiagnosticWarning::kind)
                .containsExactly(DiagnosticKind.NO_VALID_TERMS);
        assertThat(monitor.epochs().get(0).positivePairs()).isEqualTo(6);   // measured though skipped
        assertThat(monitor.epochs().get(0).negativePairs()).isZero();
        assertThat(monitor.epochs().get(0).meanNegativeDistance()).isNaN();  // nothing to measure, not a NaN loss

        TrainingMonitor circleMonitor = new TrainingMonitor();
        List<Trainer.StepReport> circleReports = new ArrayList<>();
        Sequential tower2 = convTower(new Rng(11));
        Trainer.builder(tower2, new CircleObjective(data, 1, 4, new CircleLoss(), new Rng(13)),
                        new Adam(tower2.parameters(), 1e-2f), data).monitor(circleMonitor)
                .listener(Listeners.onStep(circleReports::add)).build().fit(Trainer.Budget.epochs(2));
        assertThat(circleReports).hasSize(2).allSatisfy(r -> {
            assertThat(r.skipped()).isTrue();
            assertThat(r.loss()).isZero();
        });
        assertThat(circleMonitor.steps()).hasSize(2).allMatch(StepFigures::skipped);
        assertThat(circleMonitor.warnings(DiagnosticKind.NO_VALID_TERMS)).hasSize(1);
        // Adam with a zero gradient would still move the weights through its moments: no step means none (the
        // forward pass in training mode still updates the batch-norm statistics, as any forward pass does)
        assertSameParameters(before, tower);
        assertSameParameters(before, tower2);
    }

    /** A finite loss (equal to {@code expected} unless that is NaN) whose backward leaves finite gradients. */
    private static void assertFiniteWithGradient(LossResult result, Tensor x, float expected) {
        assertThat(result.value()).isFinite();
        if (!Float.isNaN(expected)) {
            assertThat(result.value()).isEqualTo(expected);
        }
        result.loss().backward();
        assertThat(x.grad()).isNotNull();
        for (float g : x.grad().data()) {
            assertThat(g).isFinite();
        }
    }

    // =====================================================================================================
    // Helpers
    // =====================================================================================================

    /** A decodable 800x600 PNG with a fair amount of drawing in it. */
    static void assertDrawnPng(Path png) throws Exception {
        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as("ImageIO decodes " + png).isNotNull();
        assertThat(image.getWidth()).isEqualTo(800);
        assertThat(image.getHeight()).isEqualTo(600);
        Set<Integer> colours = new HashSet<>();
        int inked = 0;
        for (int y = 70; y < 530; y++) {
            for (int x = 90; x < 710; x++) {
                int rgb = image.getRGB(x, y) & 0xFFFFFF;
                colours.add(rgb);
                inked += rgb != 0xFFFFFF ? 1 : 0;
            }
        }
        assertThat(colours.size()).as("colours in the plot area").isGreaterThan(20);
        assertThat(inked).as("inked pixels in the plot area").isGreaterThan(2000);
    }
}
