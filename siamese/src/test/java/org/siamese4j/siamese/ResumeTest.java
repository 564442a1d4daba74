package org.siamese4j.siamese;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Dropout;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.StepLR;
import org.siamese4j.siamese.data.Augmenter;
import org.siamese4j.siamese.data.IdentityBatch;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PKSampler;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.mining.BatchHardMiner;
import org.siamese4j.siamese.train.OnlineTripletObjective;
import org.siamese4j.siamese.train.StateDicts;
import org.siamese4j.siamese.train.Trainer;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Exact resume of the {@link Trainer} with online-mined triplets: 4 epochs straight give bit for bit the weights
 * of 2 epochs, a checkpoint, and 2 more epochs in a fresh JVM (same JDK, kernels and thread count). Everything
 * random in the run is covered: the P x K sampler, the augmenter and a dropout layer; batch-norm running
 * statistics, the Adam moments and a step schedule are state that must come back too.
 *
 * <p>This class is also the child process's main class ({@link #main}).
 */
class ResumeTest {
    private static final long DATA_SEED = 5;
    private static final int P = 4;
    private static final int K = 2;
    /** 48 images at P x K = 8 a step. */
    private static final int STEPS_PER_EPOCH = 6;

    @TempDir
    Path dir;

    /** Everything one training run holds. {@code seed} sets the initial weights and every Rng. */
    private static final class Run {
        final ImageDataset data = SyntheticFaces.generateRange(0, 12, 4, DATA_SEED, 24, 20);
        final Sequential tower;
        final Adam adam;
        final Trainer trainer;

        Run(long seed) {
            this(seed, null);
        }

        /** Also writes a checkpoint to {@code file} after every epoch, unless it is null. */
        Run(long seed, Path file) {
            Rng rng = new Rng(seed);
            Rng dropout = rng.split();
            // 1x24x20 -> conv 4x24x20 -> pool 4x12x10 -> conv 8x12x10 -> pool 8x6x5 = 240 -> 16.
            tower = new Sequential(new Conv2d(1, 4, 3, 1, 1, rng), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
                    new Conv2d(4, 8, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2), new Flatten(),
                    new Dropout(0.2f, dropout), new Linear(240, 16, rng), new L2Normalize());
            adam = new Adam(tower.parameters(), 3e-3f);
            Augmenter augmenter = new Augmenter(Augmenter.Config.faces(), rng.split());
            // the schedule steps once per optimiser step: a decay of 0.7 per epoch
            trainer = Trainer.builder(tower, objective(P, rng.split()), adam, data).augmenter(augmenter)
                    .schedule(new StepLR(adam, STEPS_PER_EPOCH, 0.7)).rng("dropout", dropout).checkpoint(file)
                    .build();
        }

        OnlineTripletObjective objective(int p, Rng rng) {
            return new OnlineTripletObjective(data, p, K, TripletLoss.hard(0.3f, Distance.EUCLIDEAN),
                    new BatchHardMiner(), rng);
        }

        /** Trains until {@code epochs} epochs of the run are done. */
        void fit(int epochs) throws IOException {
            trainer.fit(Trainer.Budget.epochs(epochs));
        }

        /** A snapshot of the state dict (weights, batch-norm statistics and counter). */
        Map<String, Tensor> weights() {
            Map<String, Tensor> out = new LinkedHashMap<>();
            tower.stateDict().forEach((name, t) -> out.put(name, t.copy()));
            return out;
        }
    }

    /** Child process: {@code <checkpoint> <epochs of the whole run> <out.safetensors>}. */
    public static void main(String[] args) throws IOException {
        Run run = new Run(12345);                  // other weights and Rngs: all must come from the checkpoint
        run.trainer.resume(Path.of(args[0]));
        run.fit(Integer.parseInt(args[1]));
        SafeTensors.write(Path.of(args[2]), run.tower.stateDict(), Map.of(
                "epoch", Integer.toString(run.trainer.epoch()),
                "steps", Long.toString(run.trainer.steps()),
                "threads", Integer.toString(Parallel.threads()),
                "kernels", KernelProvider.kernels().name()));
    }

    @Test
    void fourEpochsStraightEqualTwoThenResumeInAFreshJvmThenTwo() throws Exception {
        Run straight = new Run(1);
        straight.fit(4);
        Map<String, Tensor> expected = straight.weights();
        assertThat(straight.trainer.epoch()).isEqualTo(4);
        assertThat(straight.trainer.steps()).isEqualTo(4 * STEPS_PER_EPOCH);

        Path checkpoint = dir.resolve("run.ckpt");
        Run first = new Run(1, checkpoint);
        first.fit(2);
        assertThat(StateDicts.anyDifferent(first.weights(), expected)).as("epochs 3 and 4 change the weights")
                .isTrue();

        Path out = dir.resolve("resumed.safetensors");
        Process child = new ProcessBuilder(childCommand(checkpoint.toString(), "4", out.toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        if (!child.waitFor(60, TimeUnit.SECONDS)) {
            child.destroyForcibly();
            throw new AssertionError("the child JVM did not finish in 60 s");
        }
        String log = Files.readString(dir.resolve("child.log"), StandardCharsets.UTF_8);
        assertThat(child.exitValue()).as("child exit code; its output:%n%s", log).isZero();

        SafeTensors.Contents resumed = SafeTensors.read(out);
        assertThat(resumed.metadata()).containsEntry("epoch", "4")
                .containsEntry("steps", Long.toString(straight.trainer.steps()))
                .containsEntry("threads", Integer.toString(Parallel.threads()))
                .containsEntry("kernels", KernelProvider.kernels().name());
        StateDicts.assertBitIdentical(expected, resumed.tensors());
    }

    /** The child runs the same JDK with the same class path, kernels, convolution path and thread count. */
    private static List<String> childCommand(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        if (KernelProvider.vectorModulePresent()) {
            cmd.add("--add-modules=" + KernelProvider.VECTOR_MODULE);
        }
        cmd.add("-D" + Parallel.PROPERTY + "=" + Parallel.threads());
        for (String property : List.of(KernelProvider.PROPERTY, ConvAlgorithm.PROPERTY)) {
            String value = System.getProperty(property);
            if (value != null) {
                cmd.add("-D" + property + "=" + value);
            }
        }
        cmd.add("-Xss4m");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(ResumeTest.class.getName());
        cmd.addAll(List.of(args));
        return cmd;
    }

    @Test
    void resumeInTheSameJvmAlsoMatches() throws IOException {
        Run straight = new Run(1);
        straight.fit(3);
        Run first = new Run(1);
        first.fit(1);
        Checkpoint saved = first.trainer.checkpoint();
        first.fit(2);                               // the snapshot does not follow later training
        Run resumed = new Run(777);
        resumed.trainer.resume(saved);
        assertThat(resumed.trainer.epoch()).isEqualTo(1);
        assertThat(resumed.trainer.steps()).isEqualTo(STEPS_PER_EPOCH);
        assertThat(resumed.adam.learningRate()).isEqualTo((float) (3e-3f * 0.7));
        resumed.fit(3);
        assertThat(resumed.trainer.steps()).isEqualTo(straight.trainer.steps());
        StateDicts.assertBitIdentical(straight.weights(), resumed.weights());
    }

    @Test
    void resumeRefusesACheckpointOfAnotherSetupAndChangesNothing() throws IOException {
        Run first = new Run(1);
        first.fit(1);
        Path file = dir.resolve("run.ckpt");
        first.trainer.checkpoint().save(file);

        // Other P: the objective's sampler refuses its state; nothing else has been touched.
        Run other = new Run(2);
        OnlineTripletObjective otherP = other.objective(3, new Rng(3));
        Trainer threePeople = Trainer.builder(other.tower, otherP, other.adam, other.data)
                .augmenter(new Augmenter(Augmenter.Config.faces(), new Rng(1)))
                .schedule(new StepLR(other.adam, STEPS_PER_EPOCH, 0.7)).rng("dropout", new Rng(2)).build();
        Map<String, Tensor> before = other.weights();
        String samplerBefore = otherP.exportState();
        assertThatThrownBy(() -> threePeople.resume(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("the saved sampling state does not fit this objective")
                .hasMessageContaining("the state has p=4, this sampler has p=3")
                .hasMessageEndingWith("(at metadata field \"state.objective.state\")");
        StateDicts.assertBitIdentical(before, other.weights());
        assertThat(otherP.exportState()).isEqualTo(samplerBefore);
        assertThat(threePeople.epoch()).isZero();
        assertThat(threePeople.history()).isEmpty();
        assertThat(other.adam.state()).isEmpty();

        // A trainer without the dropout Rng: the checkpoint names the generator it cannot put back.
        Run noDropoutRng = new Run(2);
        Trainer bare = Trainer.builder(noDropoutRng.tower, noDropoutRng.objective(P, new Rng(3)), noDropoutRng.adam,
                noDropoutRng.data).augmenter(new Augmenter(Augmenter.Config.faces(), new Rng(1)))
                .schedule(new StepLR(noDropoutRng.adam, STEPS_PER_EPOCH, 0.7)).build();
        assertThatThrownBy(() -> bare.resume(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("the checkpoint's Rngs [augmenter, extra.dropout] are not this trainer's "
                        + "[augmenter]; unknown: [extra.dropout]");

        // A trainer without the schedule the saved run had.
        Run noSchedule = new Run(2);
        Trainer constant = Trainer.builder(noSchedule.tower, noSchedule.objective(P, new Rng(3)), noSchedule.adam,
                noSchedule.data).augmenter(new Augmenter(Augmenter.Config.faces(), new Rng(1)))
                .rng("dropout", new Rng(2)).build();
        assertThatThrownBy(() -> constant.resume(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("the saved run had a learning-rate schedule, this trainer has none");

        // A checkpoint not written by the Trainer (a bare model and optimiser): start again, it says.
        Path bareFile = dir.resolve("bare.ckpt");
        Checkpoint.builder(first.tower).optimizer(first.adam).build().save(bareFile);
        assertThatThrownBy(() -> new Run(2).trainer.resume(bareFile))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("not a checkpoint of this trainer (siamese4j-trainer/1)")
                .hasMessageContaining("start the run again");

        // A wider last layer: the model check names the tensor and both shapes.
        Rng rng = new Rng(4);
        Sequential wider = new Sequential(new Conv2d(1, 4, 3, 1, 1, rng), new BatchNorm2d(4), new ReLU(),
                new MaxPool2d(2), new Conv2d(4, 8, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2), new Flatten(),
                new Dropout(0.2f, rng), new Linear(240, 32, rng), new L2Normalize());
        Adam adam = new Adam(wider.parameters(), 3e-3f);
        Trainer widerTrainer = Trainer.builder(wider, other.objective(P, new Rng(3)), adam, other.data).build();
        assertThatThrownBy(() -> widerTrainer.resume(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.9.weight: checkpoint [16, 240], model [32, 240]");
    }

    @Test
    void pkSamplerStateRoundTripsAndIsChecked() {
        int[] labels = SyntheticFaces.generateRange(0, 12, 4, DATA_SEED, 24, 20).labels();
        PKSampler a = new PKSampler(labels, P, K, PKSampler.Shortfall.SKIP, new Rng(8));
        assertThat(a.exportState()).startsWith("PKSampler/1 p=4 k=2 labels=").endsWith("cursor=0 order=");
        a.nextBatch();
        String state = a.exportState();
        List<IdentityBatch> expected = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            expected.add(a.nextBatch());
        }
        PKSampler b = new PKSampler(labels, P, K, PKSampler.Shortfall.SKIP, new Rng(99));
        b.restoreState(state);
        assertThat(b.exportState()).isEqualTo(state);
        for (IdentityBatch e : expected) {
            IdentityBatch got = b.nextBatch();
            assertThat(got.indices()).containsExactly(e.indices());
            assertThat(got.labels()).containsExactly(e.labels());
        }

        PKSampler c = new PKSampler(labels, P, K, PKSampler.Shortfall.SKIP, new Rng(1));
        String untouched = c.exportState();
        assertThatThrownBy(() -> c.restoreState("PKSampler/2 p=4"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected 'PKSampler/1 p=..");
        assertThatThrownBy(() -> c.restoreState(state.replace(" k=2 ", " k=3 ")))
                .hasMessageContaining("the state has k=3, this sampler has k=2");
        assertThatThrownBy(() -> c.restoreState(state.replace(" rng=", " rng=x")))
                .hasMessageContaining("rng=x");
        assertThatThrownBy(() -> c.restoreState(state.replaceFirst("cursor=\\d+", "cursor=13")))
                .hasMessageContaining("cursor=13 is outside 0..12");
        String order = state.substring(state.indexOf("order=") + 6);
        String first = order.substring(0, order.indexOf(','));
        String second = order.split(",")[1];
        assertThatThrownBy(() -> c.restoreState(state.replace("order=" + first + ",", "order=" + second + ",")))
                .hasMessageContaining("order is not a permutation of the eligible identities");
        int[] otherLabels = labels.clone();
        otherLabels[0] = 11;
        PKSampler otherData = new PKSampler(otherLabels, P, K, PKSampler.Shortfall.SKIP, new Rng(1));
        assertThatThrownBy(() -> otherData.restoreState(state)).hasMessageContaining("taken over other labels");
        assertThat(c.exportState()).isEqualTo(untouched);
    }
}
