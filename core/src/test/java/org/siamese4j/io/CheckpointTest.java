package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.nn.BatchNorm1d;
import org.siamese4j.nn.Dropout;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.optim.SGD;
import org.siamese4j.optim.StepLR;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class CheckpointTest {
    @TempDir
    Path dir;

    /** Linear-BatchNorm1d-ReLU-Dropout-Linear on 3 features: parameters, buffers and a dropout Rng. */
    private static final class Net {
        final Rng dropoutRng = new Rng(99);
        final Sequential model;
        final Adam adam;
        final StepLR schedule;

        Net(long seed, int hidden) {
            Rng rng = new Rng(seed);
            model = new Sequential(new Linear(3, hidden, rng), new BatchNorm1d(hidden), new ReLU(),
                    new Dropout(0.25f, dropoutRng), new Linear(hidden, 2, rng));
            adam = new Adam(model.parameters(), 0.01f);
            schedule = new StepLR(adam, 2, 0.5);
        }

        Net(long seed) {
            this(seed, 5);
        }

        /** One step of regression of a fixed random batch onto its targets. */
        void step(Rng data) {
            Tensor x = Tensor.randn(data, 7, 3);
            Tensor y = Tensor.randn(data, 7, 2);
            Tensor loss = model.forward(x).sub(y).square().mean();
            adam.zeroGrad();
            loss.backward();
            adam.step();
        }
    }

    private static Checkpoint snapshot(Net net, Rng data) {
        return Checkpoint.builder(net.model).optimizer(net.adam).scheduler(net.schedule).epoch(3).step(17)
                .rng("data", data).rng("dropout", net.dropoutRng).state("sampler", "PKSampler/1 p=2 k=3 \"x\"\n")
                .build();
    }

    private static void assertSameWeights(Sequential a, Sequential b) {
        Map<String, Tensor> sa = a.stateDict();
        Map<String, Tensor> sb = b.stateDict();
        assertThat(sb.keySet()).containsExactlyElementsOf(sa.keySet());
        sa.forEach((name, t) -> assertThat(bits(sb.get(name).data())).as(name).containsExactly(bits(t.data())));
    }

    private static int[] bits(float[] values) {
        int[] out = new int[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Float.floatToRawIntBits(values[i]);
        }
        return out;
    }

    /** The trainer keeps the best epoch's weights in the checkpoint beside the current ones. */
    @Test
    void aSnapshotOfTheModelRoundTripsAndIsCheckedAgainstTheModel() throws IOException {
        Net net = new Net(1);
        Map<String, Tensor> best = new LinkedHashMap<>();
        net.model.stateDict().forEach((name, t) -> best.put(name, t.copy()));
        net.step(new Rng(5));                                  // the current weights move on, the snapshot does not
        Path file = dir.resolve("best.ckpt");
        Checkpoint.builder(net.model).snapshot("best", best).build().save(file);

        Checkpoint loaded = Checkpoint.load(file);
        assertThat(loaded.snapshotNames()).containsExactly("best");
        Map<String, Tensor> read = loaded.snapshot("best", net.model);
        assertThat(read.keySet()).containsExactlyElementsOf(best.keySet());
        best.forEach((name, t) -> assertThat(bits(read.get(name).data())).as(name).containsExactly(bits(t.data())));
        assertThat(bits(loaded.modelState().get("0.weight").data()))
                .containsExactly(bits(net.model.stateDict().get("0.weight").data()));

        assertThatThrownBy(() -> loaded.snapshot("last", net.model)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("no snapshot named 'last' (the checkpoint has [best])");
        assertThatThrownBy(() -> loaded.snapshot("best", new Net(1, 6).model))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("snapshot 'best' does not fit the model: tensor '0.weight' is [5, 3], the "
                        + "model's is [6, 3]");
        assertThatThrownBy(() -> Checkpoint.builder(net.model).snapshot("a.b", best))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds no dot");
    }

    @Test
    void roundTripRestoresEveryPartAndTrainingContinuesIdentically() throws IOException {
        Net net = new Net(1);
        Rng data = new Rng(5);
        for (int i = 0; i < 3; i++) {
            net.step(data);
        }
        net.schedule.step();
        net.schedule.step();
        net.schedule.step();
        Path file = dir.resolve("run.ckpt");
        snapshot(net, data).save(file);

        Checkpoint loaded = Checkpoint.load(file);
        assertThat(loaded.source()).isEqualTo(file.toString());
        assertThat(loaded.epoch()).isEqualTo(3);
        assertThat(loaded.step()).isEqualTo(17);
        assertThat(loaded.rngNames()).containsExactly("data", "dropout");
        assertThat(loaded.rngState("data")).isEqualTo(data.state());
        assertThat(loaded.stateNames()).containsExactly("sampler");
        assertThat(loaded.state("sampler")).isEqualTo("PKSampler/1 p=2 k=3 \"x\"\n");
        assertThat(loaded.hasOptimizerState()).isTrue();
        assertThat(loaded.hasSchedulerState()).isTrue();
        assertThat(loaded.learningRate()).isEqualTo(net.adam.learningRate());
        assertThat(loaded.modelState()).containsKeys("0.weight", "1.running_var", "1.num_batches_tracked",
                "4.bias");

        // A fresh network with other initial weights and no optimiser state becomes the saved one.
        Net fresh = new Net(2);
        Rng freshData = new Rng(0);
        loaded.restore(fresh.model, fresh.adam, fresh.schedule);
        loaded.restoreRng("data", freshData);
        loaded.restoreRng("dropout", fresh.dropoutRng);
        assertSameWeights(net.model, fresh.model);
        assertThat(fresh.schedule.epoch()).isEqualTo(3);
        assertThat(fresh.adam.learningRate()).isEqualTo(net.adam.learningRate()).isEqualTo(0.005f);
        assertThat(fresh.adam.state().keySet()).isEqualTo(net.adam.state().keySet());
        net.adam.state().forEach((i, s) -> {
            Optimizer.ParamState r = fresh.adam.state().get(i);
            assertThat(r.step()).isEqualTo(s.step()).isEqualTo(3);
            s.buffers().forEach((b, v) -> assertThat(r.buffer(b)).as(i + "." + b).containsExactly(v));
        });
        assertThat(freshData.state()).isEqualTo(data.state());
        assertThat(fresh.dropoutRng.state()).isEqualTo(net.dropoutRng.state());

        // Both continue with the same draws (data and dropout masks) and end bit-identical.
        for (int i = 0; i < 3; i++) {
            net.step(data);
            fresh.step(freshData);
        }
        assertSameWeights(net.model, fresh.model);
    }

    @Test
    void snapshotIsTakenAtBuildAndLaterTrainingDoesNotChangeIt() throws IOException {
        Net net = new Net(1);
        Rng data = new Rng(5);
        net.step(data);
        Checkpoint c = snapshot(net, data);
        float before = c.modelState().get("0.weight").data()[0];
        float[] expAvg = net.adam.state().get(0).buffer("exp_avg").clone();
        net.step(data);
        assertThat(c.modelState().get("0.weight").data()[0]).isEqualTo(before);
        Path file = dir.resolve("a.ckpt");
        c.save(file);
        Net fresh = new Net(3);
        Checkpoint.load(file).restore(fresh.model, fresh.adam, null);
        assertThat(fresh.adam.state().get(0).buffer("exp_avg")).containsExactly(expAvg);
        assertThat(fresh.schedule.epoch()).as("no schedule given: left alone").isZero();
    }

    @Test
    void modelWithoutOptimizerOrRngsRoundTrips() throws IOException {
        Net net = new Net(4);
        Path file = dir.resolve("model-only.ckpt");
        Checkpoint.builder(net.model).build().save(file);
        Checkpoint c = Checkpoint.load(file);
        assertThat(c.hasOptimizerState()).isFalse();
        assertThat(c.hasSchedulerState()).isFalse();
        assertThat(c.epoch()).isZero();
        assertThat(c.rngNames()).isEmpty();
        Net fresh = new Net(5);
        c.restore(fresh.model, null, null);
        assertSameWeights(net.model, fresh.model);
        assertThatThrownBy(() -> c.restore(fresh.model, fresh.adam, null))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("holds no optimizer state");
        assertThatThrownBy(c::learningRate).isInstanceOf(ModelFormatException.class);
    }

    @Test
    void anIntegerTensorIsRefusedSinceCheckpointsAreWrittenInFloat32() throws IOException {
        Net net = new Net(4);
        Path file = dir.resolve("model-only.ckpt");
        Checkpoint.builder(net.model).build().save(file);
        SafeTensors.Contents contents = SafeTensors.read(file);
        SafeTensors.write(file, contents.tensors(), contents.metadata(), Set.of("model.1.num_batches_tracked"));
        assertThatThrownBy(() -> Checkpoint.load(file)).isInstanceOf(ModelFormatException.class)
                .hasMessage(file + ": tensor \"model.1.num_batches_tracked\" has the integer dtype I64 where floating"
                        + " point (F32, F16, BF16 or F64) is expected (at header field"
                        + " \"model.1.num_batches_tracked\".dtype)");
    }

    @Test
    void mismatchedModelIsReportedByNameAndShapeAndNothingChanges() throws IOException {
        Net net = new Net(1);
        Path file = dir.resolve("run.ckpt");
        snapshot(net, new Rng(1)).save(file);
        Checkpoint c = Checkpoint.load(file);

        Net wider = new Net(2, 6);
        float[] before = wider.model.stateDict().get("0.weight").toArray();
        assertThatThrownBy(() -> c.restore(wider.model, wider.adam, wider.schedule))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageStartingWith(file + ": the checkpoint does not match the model Sequential")
                .hasMessageContaining("model.0.weight: checkpoint [5, 3], model [6, 3]")
                .hasMessageContaining("model.4.weight: checkpoint [2, 5], model [2, 6]");
        assertThat(wider.model.stateDict().get("0.weight").toArray()).containsExactly(before);
        assertThat(wider.adam.state()).isEmpty();

        Rng rng = new Rng(3);
        Sequential other = new Sequential(new Linear(3, 5, rng), new ReLU(), new Linear(5, 2, rng));
        assertThatThrownBy(() -> c.restore(other, null, null))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("missing tensors [model.2.weight, model.2.bias]")
                .hasMessageContaining("unexpected tensors [model.1.weight, model.1.bias, model.1.running_mean, "
                        + "model.1.running_var, model.1.num_batches_tracked, model.4.weight, model.4.bias]");
    }

    @Test
    void mismatchedOptimizerOrScheduleIsReported() throws IOException {
        Net net = new Net(1);
        net.step(new Rng(1));
        Path file = dir.resolve("run.ckpt");
        snapshot(net, new Rng(1)).save(file);
        Checkpoint c = Checkpoint.load(file);
        Net fresh = new Net(2);

        SGD sgd = new SGD(fresh.model.parameters(), 0.01f, 0.9f);
        assertThatThrownBy(() -> c.restore(fresh.model, sgd, null))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("written for a org.siamese4j.optim.Adam optimizer, got a "
                        + "org.siamese4j.optim.SGD")
                .hasMessageEndingWith("(at metadata field \"optim.type\")");
        Adam partial = new Adam(fresh.model.parameters().subList(0, 2), 0.01f);
        assertThatThrownBy(() -> c.restore(fresh.model, partial, null))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("trains 6 parameters, this one 2");
        Adam otherBase = new Adam(fresh.model.parameters(), 0.02f);
        assertThatThrownBy(() -> c.restore(fresh.model, otherBase, new StepLR(otherBase, 2, 0.5)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("base learning rate is 0.02, the checkpoint's is 0.01");
        assertThatThrownBy(() -> c.restore(fresh.model, fresh.adam, new StepLR(otherBase, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("another optimizer");
        assertThat(fresh.adam.state()).isEmpty();
    }

    @Test
    void missingRngOrStateNamesWhatTheCheckpointHas() throws IOException {
        Net net = new Net(1);
        Path file = dir.resolve("run.ckpt");
        snapshot(net, new Rng(1)).save(file);
        Checkpoint c = Checkpoint.load(file);
        assertThatThrownBy(() -> c.rngState("augmenter"))
                .isInstanceOf(ModelFormatException.class)
                .hasMessage(file + ": no Rng state named 'augmenter' (the checkpoint has [data, dropout]) "
                        + "(at metadata field \"rng.augmenter\")");
        assertThatThrownBy(() -> c.state("order"))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("[sampler]");
    }

    @Test
    void saveReplacesTheOldFileAndLeavesNoTemporaryFiles() throws IOException {
        Net net = new Net(1);
        Path file = dir.resolve("run.ckpt");
        Checkpoint.builder(net.model).epoch(1).build().save(file);
        Checkpoint.builder(net.model).epoch(2).build().save(file);
        assertThat(Checkpoint.load(file).epoch()).isEqualTo(2);
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("run.ckpt", ".run.ckpt.lock");
        }
    }

    // ------------------------------------------------------------------------------------ bad files

    /** A valid checkpoint's tensors and metadata, to be spoilt one field at a time. */
    private static final class Parts {
        final LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        final LinkedHashMap<String, String> meta = new LinkedHashMap<>();

        Parts() {
            tensors.put("model.0.weight", Tensor.zeros(2, 3));
            tensors.put("optim.0.exp_avg", Tensor.zeros(2, 3));
            tensors.put("optim.0.exp_avg_sq", Tensor.zeros(2, 3));
            meta.put("format", Checkpoint.FORMAT);
            meta.put("format_version", "1");
            meta.put("epoch", "2");
            meta.put("step", "9");
            meta.put("optim.type", "org.siamese4j.optim.Adam");
            meta.put("optim.lr", "0.001");
            meta.put("optim.params", "1");
            meta.put("optim.0.step", "9");
            meta.put("rng.data", "-42");
            meta.put("state.sampler", "s");
        }

        Checkpoint load(Path file) throws IOException {
            SafeTensors.write(file, tensors, meta);
            return Checkpoint.load(file);
        }
    }

    @Test
    void handBuiltFileLoads() throws IOException {
        Checkpoint c = new Parts().load(dir.resolve("ok.ckpt"));
        assertThat(c.epoch()).isEqualTo(2);
        assertThat(c.step()).isEqualTo(9);
        assertThat(c.rngState("data")).isEqualTo(-42);
        assertThat(c.learningRate()).isEqualTo(0.001f);
        Linear layer = new Linear(3, 2, false, new Rng(1));
        Sequential model = new Sequential(layer);
        Adam adam = new Adam(model.parameters(), 0.5f);
        c.restore(model, adam, null);
        assertThat(layer.weight().toArray()).containsOnly(0f);
        assertThat(adam.learningRate()).isEqualTo(0.001f);
        assertThat(adam.state().get(0).step()).isEqualTo(9);
    }

    private void assertBad(Parts parts, String problem, String location) {
        Path file = dir.resolve("bad.ckpt");
        assertThatThrownBy(() -> parts.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(problem)
                .satisfies(e -> {
                    ModelFormatException m = (ModelFormatException) e;
                    assertThat(m.file()).isEqualTo(file.toString());
                    assertThat(m.location()).isEqualTo(location);
                });
    }

    @Test
    void badMetadataIsReportedWithItsField() {
        Parts notCheckpoint = new Parts();
        notCheckpoint.meta.put("format", "siamese4j-model");
        assertBad(notCheckpoint, "not a checkpoint: format is 'siamese4j-model'", "metadata field \"format\"");
        Parts noFormat = new Parts();
        noFormat.meta.remove("format");
        assertBad(noFormat, "missing metadata field 'format'", "metadata field \"format\"");
        Parts future = new Parts();
        future.meta.put("format_version", "2");
        assertBad(future, "unsupported checkpoint format_version 2", "metadata field \"format_version\"");
        Parts epoch = new Parts();
        epoch.meta.put("epoch", "two");
        assertBad(epoch, "'two' is not an integer", "metadata field \"epoch\"");
        Parts negative = new Parts();
        negative.meta.put("step", "-1");
        assertBad(negative, "-1 is outside 0..", "metadata field \"step\"");
        Parts rng = new Parts();
        rng.meta.put("rng.data", "0x10");
        assertBad(rng, "'0x10' is not an integer", "metadata field \"rng.data\"");
        Parts lr = new Parts();
        lr.meta.put("optim.lr", "NaN");
        assertBad(lr, "learning rate NaN is not finite", "metadata field \"optim.lr\"");
        Parts unknown = new Parts();
        unknown.meta.put("colour", "blue");
        assertBad(unknown, "unknown metadata fields [colour]", "metadata field \"colour\"");
        Parts orphanScheduler = new Parts();
        orphanScheduler.meta.put("scheduler.epoch", "1");
        assertBad(orphanScheduler, "missing metadata field 'scheduler.type'", "metadata field \"scheduler.type\"");
    }

    @Test
    void inconsistentOptimizerStateIsReported() {
        Parts noStep = new Parts();
        noStep.meta.remove("optim.0.step");
        assertBad(noStep, "optimizer buffers for parameter 0 without its step count",
                "metadata field \"optim.0.step\"");
        Parts noBuffers = new Parts();
        noBuffers.meta.put("optim.1.step", "3");
        noBuffers.meta.put("optim.params", "2");
        assertBad(noBuffers, "a step count for parameter 1 without its optimizer buffers",
                "metadata field \"optim.1.step\"");
        Parts outside = new Parts();
        outside.tensors.put("optim.4.exp_avg", Tensor.zeros(2));
        outside.tensors.put("optim.4.exp_avg_sq", Tensor.zeros(2));
        outside.meta.put("optim.4.step", "1");
        assertBad(outside, "optimizer state for parameter 4 but optim.params is 1",
                "metadata field \"optim.4.step\"");
        Parts shapes = new Parts();
        shapes.tensors.put("optim.0.exp_avg_sq", Tensor.zeros(3, 2));
        assertBad(shapes, "optimizer buffers of parameter 0 differ in shape: [3, 2] and [2, 3]",
                "tensor \"optim.0.exp_avg_sq\"");
        Parts names = new Parts();
        names.tensors.put("optim.1.momentum_buffer", Tensor.zeros(2));
        names.meta.put("optim.1.step", "1");
        names.meta.put("optim.params", "2");
        assertBad(names, "parameter 1 has optimizer buffers [momentum_buffer], parameter 0 has [exp_avg, "
                + "exp_avg_sq]", "tensor \"optim.1.momentum_buffer\"");
        Parts stray = new Parts();
        stray.tensors.put("weights", Tensor.zeros(1));
        assertBad(stray, "unexpected tensors [weights]", "tensor \"weights\"");
        Parts leadingZero = new Parts();
        leadingZero.tensors.put("optim.00.exp_avg", Tensor.zeros(1));
        assertBad(leadingZero, "unexpected tensors [optim.00.exp_avg]", "tensor \"optim.00.exp_avg\"");
    }

    @Test
    void optimizerRefusingTheSavedBuffersChangesNothing() throws IOException {
        // Buffers of another optimiser under the right type name: the optimiser itself refuses them.
        Parts parts = new Parts();
        parts.tensors.remove("optim.0.exp_avg");
        parts.tensors.remove("optim.0.exp_avg_sq");
        parts.tensors.put("optim.0.momentum_buffer", Tensor.zeros(2, 3));
        Checkpoint c = parts.load(dir.resolve("odd.ckpt"));
        Linear layer = new Linear(3, 2, false, new Rng(1));
        float[] before = layer.weight().toArray();
        Adam adam = new Adam(List.of(layer.weight()), 0.5f);
        assertThatThrownBy(() -> c.restore(new Sequential(layer), adam, null))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("does not accept the saved buffers [momentum_buffer]");
        assertThat(layer.weight().toArray()).containsExactly(before);
        assertThat(adam.state()).isEmpty();
        assertThat(adam.learningRate()).isEqualTo(0.5f);
    }

    @Test
    void truncatedFileIsAModelFormatException() throws IOException {
        Net net = new Net(1);
        Path file = dir.resolve("run.ckpt");
        snapshot(net, new Rng(1)).save(file);
        byte[] bytes = Files.readAllBytes(file);
        byte[] cut = Arrays.copyOf(bytes, bytes.length - 5);
        assertThatThrownBy(() -> Checkpoint.read(cut, "cut.ckpt"))
                .isInstanceOf(ModelFormatException.class).hasMessageStartingWith("cut.ckpt: ");
        assertThat(Checkpoint.read(bytes, "whole.ckpt").epoch()).isEqualTo(3);
    }
}
