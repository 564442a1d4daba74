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
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Exact resume: 4 epochs straight give bit for bit the weights of 2 epochs, a checkpoint, and 2 more epochs in a
 * fresh JVM (same JDK, kernels and thread count). Everything random in the run is covered: the P x K sampler,
 * the augmenter and a dropout layer; batch-norm running statistics, the Adam moments and a step schedule are
 * state that must come back too.
 *
 * <p>This class is also the child process's main class ({@link #main}).
 */
class ResumeTest {
    private static final long DATA_SEED = 5;
    private static final int P = 4;
    private static final int K = 2;

    @TempDir
    Path dir;

    /** Everything one training run holds. {@code seed} sets the initial weights and every Rng. */
    private static final class Run {
        final ImageDataset data = SyntheticFaces.generateRange(0, 12, 4, DATA_SEED, 24, 20);
        final Sequential tower;
        final Adam adam;
        final TripletTrainer trainer;
        final PKSampler sampler;

        Run(long seed) {
            Rng rng = new Rng(seed);
            Rng dropout = rng.split();
            // 1x24x20 -> conv 4x24x20 -> pool 4x12x10 -> conv 8x12x10 -> pool 8x6x5 = 240 -> 16.
            tower = new Sequential(new Conv2d(1, 4, 3, 1, 1, rng), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
                    new Conv2d(4, 8, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2), new Flatten(),
                    new Dropout(0.2f, dropout), new Linear(240, 16, rng), new L2Normalize());
            adam = new Adam(tower.parameters(), 3e-3f);
            trainer = new TripletTrainer(tower, TripletLoss.hard(0.3f, Distance.EUCLIDEAN), new BatchHardMiner(),
                    adam, new Augmenter(Augmenter.Config.faces(), rng.split()))
                    .withSchedule(new StepLR(adam, 1, 0.7))
                    .withRng("dropout", dropout);
            sampler = new PKSampler(data, P, K, PKSampler.Shortfall.REPEAT, rng.split());
        }

        void fit(int epochs) {
            trainer.fit(data, sampler, epochs, null);
        }

        /** A snapshot of the state dict (weights, batch-norm statistics and counter). */
        Map<String, Tensor> weights() {
            Map<String, Tensor> out = new LinkedHashMap<>();
            tower.stateDict().forEach((name, t) -> out.put(name, t.copy()));
            return out;
        }
    }

    /** Child process: {@code <checkpoint> <epochs> <out.safetensors>}. */
    public static void main(String[] args) throws IOException {
        Run run = new Run(12345);                  // other weights and Rngs: all must come from the checkpoint
        run.trainer.resume(Path.of(args[0]), run.sampler);
        run.fit(Integer.parseInt(args[1]));
        SafeTensors.write(Path.of(args[2]), run.tower.stateDict(), Map.of(
                "epoch", Integer.toString(run.trainer.epoch()),
                "batches", Long.toString(run.trainer.batches()),
                "threads", Integer.toString(Parallel.threads()),
                "kernels", KernelProvider.kernels().name()));
    }

    private static void assertBitIdentical(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((name, t) -> {
            float[] e = t.data();
            float[] a = actual.get(name).data();
            assertThat(a.length).as(name).isEqualTo(e.length);
            for (int i = 0; i < e.length; i++) {
                if (Float.floatToRawIntBits(e[i]) != Float.floatToRawIntBits(a[i])) {
                    throw new AssertionError(name + "[" + i + "]: expected " + e[i] + ", got " + a[i]
                            + " (not bit-identical)");
                }
            }
        });
    }

    private static boolean anyDifferent(Map<String, Tensor> a, Map<String, Tensor> b) {
        for (Map.Entry<String, Tensor> e : a.entrySet()) {
            float[] x = e.getValue().data();
            float[] y = b.get(e.getKey()).data();
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                    return true;
                }
            }
        }
        return false;
    }

    @Test
    void fourEpochsStraightEqualTwoThenResumeInAFreshJvmThenTwo() throws Exception {
        Run straight = new Run(1);
        straight.fit(4);
        Map<String, Tensor> expected = straight.weights();
        assertThat(straight.trainer.epoch()).isEqualTo(4);

        Run first = new Run(1);
        Path checkpoint = dir.resolve("run.ckpt");
        first.trainer.fit(first.data, first.sampler, 2, null, new TripletTrainer.CheckpointPolicy(checkpoint, 1));
        assertThat(anyDifferent(first.weights(), expected)).as("epochs 3 and 4 change the weights").isTrue();

        Path out = dir.resolve("resumed.safetensors");
        Process child = new ProcessBuilder(childCommand(checkpoint.toString(), "2", out.toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("child.log").toFile()).start();
        if (!child.waitFor(60, TimeUnit.SECONDS)) {
            child.destroyForcibly();
            throw new AssertionError("the child JVM did not finish in 60 s");
        }
        String log = Files.readString(dir.resolve("child.log"), StandardCharsets.UTF_8);
        assertThat(child.exitValue()).as("child exit code; its output:%n%s", log).isZero();

        SafeTensors.Contents resumed = SafeTensors.read(out);
        assertThat(resumed.metadata()).containsEntry("epoch", "4")
                .containsEntry("batches", Long.toString(straight.trainer.batches()))
                .containsEntry("threads", Integer.toString(Parallel.threads()))
                .containsEntry("kernels", KernelProvider.kernels().name());
        assertBitIdentical(expected, resumed.tensors());
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
        Checkpoint saved = first.trainer.checkpoint(first.sampler);
        first.fit(1);                               // the snapshot does not follow later training
        Run resumed = new Run(777);
        resumed.trainer.resume(saved, resumed.sampler);
        assertThat(resumed.trainer.epoch()).isEqualTo(1);
        assertThat(resumed.adam.learningRate()).isEqualTo((float) (3e-3f * 0.7));
        resumed.fit(2);
        assertThat(resumed.trainer.batches()).isEqualTo(straight.trainer.batches());
        assertBitIdentical(straight.weights(), resumed.weights());
    }

    @Test
    void resumeRefusesACheckpointOfAnotherSetupAndChangesNothing() throws IOException {
        Run first = new Run(1);
        first.fit(1);
        Path file = dir.resolve("run.ckpt");
        first.trainer.saveCheckpoint(file, first.sampler);

        // Other P: the sampler refuses its state; nothing else has been touched.
        Run other = new Run(2);
        PKSampler otherSampler = new PKSampler(other.data, 3, K, PKSampler.Shortfall.REPEAT, new Rng(3));
        Map<String, Tensor> before = other.weights();
        String samplerBefore = otherSampler.exportState();
        assertThatThrownBy(() -> other.trainer.resume(file, otherSampler))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("the saved sampler state does not fit this sampler")
                .hasMessageContaining("the state has p=4, this sampler has p=3")
                .hasMessageEndingWith("(at metadata field \"state.sampler\")");
        assertBitIdentical(before, other.weights());
        assertThat(otherSampler.exportState()).isEqualTo(samplerBefore);
        assertThat(other.trainer.epoch()).isZero();
        assertThat(other.adam.state()).isEmpty();

        // A trainer without the dropout Rng: the checkpoint names the generator it cannot put back.
        Run noDropoutRng = new Run(2);
        TripletTrainer bare = new TripletTrainer(noDropoutRng.tower, TripletLoss.hard(0.3f, Distance.EUCLIDEAN),
                new BatchHardMiner(), noDropoutRng.adam, new Augmenter(Augmenter.Config.faces(), new Rng(1)))
                .withSchedule(new StepLR(noDropoutRng.adam, 1, 0.7));
        assertThatThrownBy(() -> bare.resume(file, noDropoutRng.sampler))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("Rng states [extra.dropout] this trainer has no Rng for");

        // A trainer without the schedule the saved run had.
        Run noSchedule = new Run(2);
        TripletTrainer constant = new TripletTrainer(noSchedule.tower, TripletLoss.hard(0.3f, Distance.EUCLIDEAN),
                new BatchHardMiner(), noSchedule.adam, null);
        assertThatThrownBy(() -> constant.resume(file, noSchedule.sampler))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("the saved run had a learning-rate schedule, this trainer has none");

        // A wider last layer: the model check names the tensor and both shapes.
        Rng rng = new Rng(4);
        Sequential wider = new Sequential(new Conv2d(1, 4, 3, 1, 1, rng), new BatchNorm2d(4), new ReLU(),
                new MaxPool2d(2), new Conv2d(4, 8, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2), new Flatten(),
                new Dropout(0.2f, rng), new Linear(240, 32, rng), new L2Normalize());
        Adam adam = new Adam(wider.parameters(), 3e-3f);
        TripletTrainer widerTrainer = new TripletTrainer(wider, TripletLoss.hard(0.3f, Distance.EUCLIDEAN),
                new BatchHardMiner(), adam, null);
        assertThatThrownBy(() -> widerTrainer.resume(file, other.sampler))
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
