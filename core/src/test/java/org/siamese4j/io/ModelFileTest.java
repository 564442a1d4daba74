package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** Model files: round trips for every layer kind, strict loading, metadata checks, hand-built models. */
class ModelFileTest {

    /** Every layer kind, on a 3x9x7 input: batchnorm both as 2d (after conv) and as 1d (after dense). */
    static final String ALL_KINDS = "conv(4,3,pad=1,pad_mode=reflect) batchnorm leakyrelu(0.1) maxpool(2) "
            + "conv(5,2,stride=2) avgpool(1) tanh dropout(0.25) flatten dense(6) batchnorm sigmoid relu l2norm";
    static final int[] ALL_KINDS_INPUT = {3, 9, 7};

    @TempDir
    Path dir;

    /** A model of every layer kind whose batch-norm statistics have moved away from their initial values. */
    private static Sequential trainedAllKinds(ArchSpec arch) {
        Sequential model = arch.build(ALL_KINDS_INPUT, new Rng(11));
        Rng data = new Rng(12);
        for (int step = 0; step < 3; step++) {
            model.forward(Tensor.uniform(data, -2f, 3f, 4, 3, 9, 7));
        }
        return model;
    }

    private static Map<String, Tensor> copyOf(Map<String, Tensor> state) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        state.forEach((k, v) -> out.put(k, v.copy()));
        return out;
    }

    private static ModelFormatException assertLoadFails(Path file) {
        return expectFormatError(() -> ModelFile.load(file));
    }

    private static ModelFormatException expectFormatError(ThrowingCallable call) {
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).isInstanceOf(ModelFormatException.class);
        return (ModelFormatException) thrown;
    }

    private Path writeRaw(String name, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Path file = dir.resolve(name);
        SafeTensors.write(file, tensors, metadata);
        return file;
    }

    private static Map<String, String> meta(String... keyValues) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put(keyValues[i], keyValues[i + 1]);
        }
        return m;
    }

    // ------------------------------------------------------------------------------------ round trips

    @Test
    void everyLayerKindRoundTripsToIdenticalOutputs() throws IOException {
        ArchSpec arch = ArchSpec.parse(ALL_KINDS);
        Sequential model = trainedAllKinds(arch);
        assertThat(model.stateDict().get("1.num_batches_tracked").item()).isEqualTo(3f);
        assertThat(model.stateDict().get("10.running_mean").toArray()).isNotEqualTo(new float[6]);
        model.eval();
        Tensor x = Tensor.uniform(new Rng(13), -1f, 1f, 2, 3, 9, 7);
        float[] expected = model.forward(x).toArray();

        Path file = dir.resolve("all.safetensors");
        ModelFile.save(file, model, arch, ALL_KINDS_INPUT, Map.of("note", "every layer kind"));
        ModelFile.LoadedModel loaded = ModelFile.load(file, new Rng(999));

        assertThat(loaded.arch()).isEqualTo(arch);
        assertThat(loaded.inputShape()).containsExactly(3, 9, 7);
        assertThat(loaded.model().isTraining()).as("loaded in evaluation mode").isFalse();
        assertThat(loaded.model().forward(x).toArray()).containsExactly(expected);
        Map<String, Tensor> saved = model.stateDict();
        Map<String, Tensor> back = loaded.model().stateDict();
        assertThat(back.keySet()).containsExactlyElementsOf(saved.keySet());
        saved.forEach((name, t) -> assertThat(back.get(name).toArray()).as(name).containsExactly(t.toArray()));
        assertThat(loaded.metadata()).containsEntry("format", "siamese4j-model").containsEntry("format_version", "1")
                .containsEntry("arch", ALL_KINDS).containsEntry("input", "3x9x7").containsEntry("note", "every layer kind");
        assertThat(loaded.metadata().keySet()).containsExactly("format", "format_version", "arch", "input", "note");
    }

    @Test
    void anEnsembleOfTowersInAConcatRoundTripsAsOneModel() throws IOException {
        String tower = "conv(4,3,pad=1) batchnorm relu maxpool(2) conv(8,3,pad=1) batchnorm relu maxpool(2) flatten "
                + "dense(8) l2norm";
        ArchSpec arch = ArchSpec.parse("concat(" + tower + " | " + tower + ") l2norm");
        int[] input = {1, 12, 10};
        Sequential model = arch.build(input, new Rng(31));
        model.forward(Tensor.uniform(new Rng(32), -1f, 1f, 4, 1, 12, 10)); // batch-norm statistics
        model.eval();
        Tensor x = Tensor.uniform(new Rng(33), -1f, 1f, 3, 1, 12, 10);
        float[] expected = model.forward(x).toArray();

        Path file = dir.resolve("ensemble.safetensors");
        ModelFile.save(file, model, arch, input);
        ModelFile.LoadedModel loaded = ModelFile.load(file, new Rng(999));
        assertThat(loaded.arch()).isEqualTo(arch);
        assertThat(loaded.metadata()).containsEntry("arch", arch.toString());
        assertThat(loaded.model().forward(x).shape()).containsExactly(3, 16);
        assertThat(loaded.model().forward(x).toArray()).containsExactly(expected);
        Map<String, Tensor> back = loaded.model().stateDict();
        assertThat(back.keySet()).containsExactlyElementsOf(model.stateDict().keySet())
                .contains("0.branches.0.0.weight", "0.branches.1.5.running_var", "0.branches.1.9.bias");
        assertThat(back.get("0.branches.1.1.num_batches_tracked").item()).isEqualTo(1f);
    }

    @Test
    void fileIsFloat32SafetensorsWithPyTorchNamesAndInt64Counters() throws IOException {
        ArchSpec arch = ArchSpec.parse(ALL_KINDS);
        Sequential model = arch.build(ALL_KINDS_INPUT, new Rng(1));
        Path file = dir.resolve("m.safetensors");
        ModelFile.save(file, model, arch, ALL_KINDS_INPUT);
        Map<String, SafeTensors.TensorInfo> header = SafeTensors.readHeader(file);
        assertThat(header.keySet()).containsExactlyInAnyOrderElementsOf(model.stateDict().keySet());
        // The I64 counters first (aligned to 8 bytes), then the floats in state-dict order.
        assertThat(header.keySet()).startsWith("1.num_batches_tracked", "10.num_batches_tracked", "0.weight",
                "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "4.weight");
        header.forEach((name, info) -> assertThat(info.dtype()).as(name)
                .isEqualTo(name.endsWith(".num_batches_tracked") ? "I64" : "F32"));
        assertThat(header.get("0.weight").shape()).containsExactly(4, 3, 3, 3);
        assertThat(header.get("1.num_batches_tracked").shape()).isEmpty();
    }

    @Test
    void aFloat32CounterAsEarlierVersionsWroteItStillLoads() throws IOException {
        ArchSpec arch = ArchSpec.parse(ALL_KINDS);
        Sequential model = trainedAllKinds(arch);
        // SafeTensors.write without int64 names writes every tensor as F32, as ModelFile.save did before.
        Path file = writeRaw("old.safetensors", model.stateDict(), meta("format", "siamese4j-model",
                "format_version", "1", "arch", ALL_KINDS, "input", "3x9x7"));
        assertThat(SafeTensors.readHeader(file).get("1.num_batches_tracked").dtype()).isEqualTo("F32");
        Sequential loaded = ModelFile.load(file).model();
        Map<String, Tensor> saved = model.stateDict();
        loaded.stateDict().forEach((name, t) -> assertThat(t.toArray()).as(name).containsExactly(saved.get(name)
                .toArray()));
        assertThat(loaded.stateDict().get("1.num_batches_tracked").item()).isEqualTo(3f);
    }

    @Test
    void featureModelRoundTripsAndKeepsTrainingUsable() throws IOException {
        ArchSpec arch = ArchSpec.parse("dense(8) batchnorm leakyrelu(0.2) dropout(0.5) dense(3) sigmoid");
        int[] input = ArchSpec.parseInput("5");
        Sequential model = arch.build(input, new Rng(3));
        model.forward(Tensor.uniform(new Rng(4), -1f, 1f, 6, 5));
        model.eval();
        Tensor x = Tensor.uniform(new Rng(5), -1f, 1f, 4, 5);
        Path file = dir.resolve("mlp.safetensors");
        ModelFile.save(file, model, arch, input);
        ModelFile.LoadedModel loaded = ModelFile.load(file);
        assertThat(loaded.model().forward(x).toArray()).containsExactly(model.forward(x).toArray());
        // dropout still works after loading: training mode zeroes some activations
        loaded.model().train();
        assertThat(loaded.model().forward(x).shape()).containsExactly(4, 3);
    }

    @Test
    void savingTwiceReplacesTheFile() throws IOException {
        ArchSpec arch = ArchSpec.parse("dense(2)");
        Sequential a = arch.build(new int[] {3}, new Rng(1));
        Sequential b = arch.build(new int[] {3}, new Rng(2));
        Path file = dir.resolve("m.safetensors");
        ModelFile.save(file, a, arch, new int[] {3});
        ModelFile.save(file, b, arch, new int[] {3});
        assertThat(ModelFile.load(file).model().stateDict().get("0.weight").toArray())
                .containsExactly(b.stateDict().get("0.weight").toArray());
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("m.safetensors", ".m.safetensors.lock");
        }
    }

    // ------------------------------------------------------------------------------------ strict loading

    @Test
    void missingUnexpectedAndMisShapedTensorsAreAllListed() throws IOException {
        ArchSpec arch = ArchSpec.parse(ALL_KINDS);
        Map<String, Tensor> state = copyOf(arch.build(ALL_KINDS_INPUT, new Rng(1)).stateDict());
        state.remove("0.bias");
        state.remove("9.weight");
        state.put("4.weight", Tensor.zeros(5, 4, 3, 3));
        state.put("extra.weight", Tensor.zeros(2));
        Path file = writeRaw("bad.safetensors", state, meta("arch", ALL_KINDS, "input", "3x9x7"));

        ModelFormatException e = assertLoadFails(file);
        assertThat(e.file()).isEqualTo(file.toString());
        assertThat(e.location()).isEqualTo("header");
        assertThat(e.problem()).contains("the tensors do not match the arch spec")
                .contains("2 missing: 0.bias [4], 9.weight [6, 10]")
                .contains("1 unexpected: \"extra.weight\" [2]")
                .contains("1 of the wrong shape: 4.weight is [5, 4, 3, 3] in the file, [5, 4, 2, 2] in the arch spec");
        assertThat(e.getMessage()).startsWith(file + ": ").endsWith(" (at header)");
    }

    @Test
    void aSingleWrongShapePointsAtItsHeaderField() throws IOException {
        ArchSpec arch = ArchSpec.parse("dense(4) relu dense(2)");
        Map<String, Tensor> state = copyOf(arch.build(new int[] {3}, new Rng(1)).stateDict());
        state.put("2.bias", Tensor.zeros(3));
        Path file = writeRaw("shape.safetensors", state, meta("arch", "dense(4) relu dense(2)", "input", "3"));
        ModelFormatException e = assertLoadFails(file);
        assertThat(e.location()).isEqualTo("header field \"2.bias\".shape");
        assertThat(e.problem()).contains("2.bias is [3] in the file, [2] in the arch spec");
    }

    @Test
    void missingNumBatchesTrackedIsToleratedAndStaysZero() throws IOException {
        ArchSpec arch = ArchSpec.parse("dense(3) batchnorm");
        Sequential model = arch.build(new int[] {2}, new Rng(1));
        model.forward(Tensor.uniform(new Rng(2), -1f, 1f, 5, 2));
        Map<String, Tensor> state = copyOf(model.stateDict());
        state.remove("1.num_batches_tracked");
        Path file = writeRaw("nbt.safetensors", state, meta("arch", "dense(3) batchnorm", "input", "2"));
        Sequential loaded = ModelFile.load(file).model();
        assertThat(loaded.stateDict().get("1.num_batches_tracked").item()).isEqualTo(0f);
        assertThat(loaded.stateDict().get("1.running_mean").toArray())
                .containsExactly(model.stateDict().get("1.running_mean").toArray());
    }

    @Test
    void aCounterThatIsNotAWholeNumberOfBatchesIsRefused() throws IOException {
        ArchSpec arch = ArchSpec.parse("dense(3) batchnorm");
        Map<String, Tensor> state = copyOf(arch.build(new int[] {2}, new Rng(1)).stateDict());
        for (float bad : new float[] {2.5f, -1f}) {
            state.put("1.num_batches_tracked", Tensor.scalar(bad));
            Path file = writeRaw("count.safetensors", state, meta("arch", "dense(3) batchnorm", "input", "2"));
            ModelFormatException e = assertLoadFails(file);
            assertThat(e.problem()).isEqualTo("the tensors do not match the arch spec: 1 batch-norm counter(s) not a"
                    + " whole number of batches: 1.num_batches_tracked holds " + bad);
            assertThat(e.location()).isEqualTo("header field \"1.num_batches_tracked\"");
        }
    }

    @Test
    void aHostileArchitectureFailsBeforeTheNetworkIsAllocated() throws IOException {
        // 400 M weights (1.6 GB) would be allocated by building; the file has none of them, so loading
        // must fail on the tensor check first
        Path file = writeRaw("huge.safetensors", Map.of("x", Tensor.zeros(1)),
                meta("arch", "dense(400000000) dense(1)", "input", "1"));
        ModelFormatException e = assertLoadFails(file);
        assertThat(e.problem()).contains("0.weight [400000000, 1]").contains("1.weight [1, 400000000]")
                .contains("unexpected: \"x\" [1]");
        // and one whose tensors could not even exist is refused as a bad architecture
        Path worse = writeRaw("worse.safetensors", Map.of(), meta("arch", "dense(2000000000) dense(2000000000)",
                "input", "1"));
        assertThat(assertLoadFails(worse).location()).isEqualTo("metadata field \"arch\"");
    }

    @Test
    void aTinyModelDemandingHugeActivationsIsRefusedAtLoad() throws IOException {
        // Issue 16: a file of a few hundred bytes, input 1x8000x8000 and conv(20,1), took 11 s and 5.8 GB per
        // embedded image. Its weights are real and tiny; its activations are 21 x 64 M floats for one image.
        Map<String, Tensor> state = new LinkedHashMap<>();
        state.put("0.weight", Tensor.zeros(20, 1, 1, 1));
        state.put("0.bias", Tensor.zeros(20));
        Path file = writeRaw("wide.safetensors", state, meta("arch", "conv(20,1)", "input", "1x8000x8000"));
        assertThat(Files.size(file)).isLessThan(1024);
        long bytes = 21L * 8000 * 8000 * Float.BYTES;
        assertThat(bytes).as("above the cap at the test heap").isGreaterThan(ModelFile.maxActivationBytes());
        long before = ThreadCounters.allocatedBytes();
        ModelFormatException e = assertLoadFails(file);
        ThreadCounters.assertAllocatedBelow(before, 8L << 20);
        assertThat(e.getMessage()).startsWith(file.toString() + ": ").doesNotContain("\n");
        assertThat(e.problem()).isEqualTo("the architecture needs " + bytes + " bytes of activations for one"
                + " 1x8000x8000 input (the input and every layer's output as floats), above the cap of "
                + ModelFile.maxActivationBytes() + " bytes (a quarter of the maximum heap, -Xmx;"
                + " ModelFile.maxActivationBytes)");
        assertThat(e.location()).isEqualTo("metadata field \"input\"");
    }

    @Test
    void theDefaultTowersFitTheActivationCapOfASmallHeap() throws ModelFormatException {
        long smallHeapCap = (256L << 20) / 4;
        ModelFile.checkActivations("reference", ArchSpec.parse("conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1)"
                + " relu maxpool(2) conv(128,3,pad=1) relu maxpool(2) flatten dense(256) relu dense(128) l2norm"),
                ArchSpec.parseInput("1x112x92"), smallHeapCap);
        ModelFile.checkActivations("cli", ArchSpec.parse("conv(16,3,pad=1) batchnorm relu maxpool(2)"
                + " conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten"
                + " dense(64) l2norm"), ArchSpec.parseInput("1x56x46"), smallHeapCap);
        assertThatThrownBy(() -> ModelFile.checkActivations("wide", ArchSpec.parse("conv(20,1)"),
                ArchSpec.parseInput("1x1000x1000"), smallHeapCap))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("84000000 bytes of activations");
    }

    @Test
    void aForwardPassTakesAsManySamplesAsTheActivationCapHolds() {
        // Issue 16: a 1 KB model whose one image (64 MB of activations at 2000x2000) fits the cap of a 256 MiB
        // heap ran out of memory on a batch of four.
        assertThat(ModelFile.samplesPerPass(ArchSpec.parse("flatten dense(2)"), new int[] {1, 8, 8}, 64))
                .isEqualTo(64);
        long cap = ModelFile.maxActivationBytes();
        assumeTrue(cap / Float.BYTES < Integer.MAX_VALUE - 16, "a heap this large needs inputs beyond a Java array");
        // input + dense(1) output: (features + 1) floats, just over a third of the cap, so two fit and three do not
        ArchSpec dense = ArchSpec.parse("dense(1)");
        int[] third = {(int) (cap / 3 / Float.BYTES)};
        assertThat(ModelFile.samplesPerPass(dense, third, 64)).isEqualTo(2);
        assertThat(ModelFile.samplesPerPass(dense, third, 1)).isEqualTo(1);
        // a sample above the cap (refused by load, possible for a network built by hand) still gets passes of one
        assertThat(ModelFile.samplesPerPass(dense, new int[] {(int) (cap / Float.BYTES)}, 64)).isEqualTo(1);
        assertThatThrownBy(() -> ModelFile.samplesPerPass(dense, third, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 1, got 0");
    }

    @Test
    void nonFiniteWeightsAreRefusedUnlessAsked() throws IOException {
        Map<String, Tensor> state = new LinkedHashMap<>();
        state.put("0.weight", Tensor.of(new float[] {1, Float.POSITIVE_INFINITY, 0, 0, 0, 0}, 2, 3));
        state.put("0.bias", Tensor.zeros(2));
        Path file = writeRaw("inf.safetensors", state, meta("arch", "dense(2)", "input", "3"));
        assertThat(assertLoadFails(file).problem()).contains("0.weight");
        ModelFile.LoadedModel loaded = ModelFile.load(file, new Rng(1), SafeTensors.ReadOptions.ALLOW_NON_FINITE);
        assertThat(loaded.model().stateDict().get("0.weight").get(0, 1)).isEqualTo(Float.POSITIVE_INFINITY);
        Sequential target = ArchSpec.parse("dense(2)").build(new int[] {3}, new Rng(2));
        ModelFile.loadInto(file, target, SafeTensors.ReadOptions.ALLOW_NON_FINITE);
        assertThat(target.stateDict().get("0.weight").get(0, 1)).isEqualTo(Float.POSITIVE_INFINITY);
    }

    // ------------------------------------------------------------------------------------ metadata errors

    @Test
    void missingOrBadArchIsAFormatErrorNamingTheField() throws IOException {
        Map<String, Tensor> state = Map.of("0.weight", Tensor.zeros(2, 3), "0.bias", Tensor.zeros(2));

        ModelFormatException noArch = assertLoadFails(writeRaw("a.safetensors", state, meta("input", "3")));
        assertThat(noArch.location()).isEqualTo("metadata field \"arch\"");
        assertThat(noArch.problem()).contains("no \"arch\" key").contains("loadInto");

        ModelFormatException noMetadata = assertLoadFails(writeRaw("b.safetensors", state, null));
        assertThat(noMetadata.location()).isEqualTo("metadata field \"arch\"");

        ModelFormatException badArch = assertLoadFails(writeRaw("c.safetensors", state,
                meta("arch", "dense(2", "input", "3")));
        assertThat(badArch.location()).isEqualTo("metadata field \"arch\"");
        assertThat(badArch.problem()).contains("bad architecture").contains("missing ')'");
        assertThat(badArch.getCause()).isInstanceOf(IllegalArgumentException.class);

        ModelFormatException unknownLayer = assertLoadFails(writeRaw("d.safetensors", state,
                meta("arch", "linear(2)", "input", "3")));
        assertThat(unknownLayer.problem()).contains("unknown layer 'linear'").contains("did you mean 'dense'");

        ModelFormatException misfit = assertLoadFails(writeRaw("e.safetensors", state,
                meta("arch", "dense(2)", "input", "1x3x1")));
        assertThat(misfit.location()).isEqualTo("metadata field \"arch\"");
        assertThat(misfit.problem()).contains("does not fit the input shape 1x3x1").contains("put flatten before it");
    }

    @Test
    void missingOrBadInputIsAFormatErrorNamingTheField() throws IOException {
        Map<String, Tensor> state = Map.of("0.weight", Tensor.zeros(2, 3), "0.bias", Tensor.zeros(2));
        ModelFormatException noInput = assertLoadFails(writeRaw("a.safetensors", state, meta("arch", "dense(2)")));
        assertThat(noInput.location()).isEqualTo("metadata field \"input\"");
        assertThat(noInput.problem()).contains("no \"input\" key").contains("1x112x92");
        for (String bad : List.of("", "1x3", "0", "3x3x3x3", "three", "-3")) {
            ModelFormatException e = assertLoadFails(writeRaw("b.safetensors", state,
                    meta("arch", "dense(2)", "input", bad)));
            assertThat(e.location()).as(bad).isEqualTo("metadata field \"input\"");
            assertThat(e.problem()).as(bad).startsWith("bad input shape: ");
        }
    }

    @Test
    void foreignFormatOrNewerVersionIsRefused() throws IOException {
        Map<String, Tensor> state = Map.of("0.weight", Tensor.zeros(2, 3), "0.bias", Tensor.zeros(2));
        ModelFormatException checkpoint = assertLoadFails(writeRaw("a.safetensors", state,
                meta("format", "siamese4j-checkpoint", "arch", "dense(2)", "input", "3")));
        assertThat(checkpoint.location()).isEqualTo("metadata field \"format\"");
        assertThat(checkpoint.problem()).contains("not a model file").contains("Checkpoint.load");

        ModelFormatException newer = assertLoadFails(writeRaw("b.safetensors", state,
                meta("format", "siamese4j-model", "format_version", "2", "arch", "dense(2)", "input", "3")));
        assertThat(newer.location()).isEqualTo("metadata field \"format_version\"");
        assertThat(newer.problem()).contains("format_version 2").contains("newer");

        ModelFormatException garbled = assertLoadFails(writeRaw("c.safetensors", state,
                meta("format_version", "one", "arch", "dense(2)", "input", "3")));
        assertThat(garbled.problem()).contains("format_version must be an integer, got \"one\"");

        // without format keys (a file written from PyTorch with just arch and input) it loads
        assertThat(ModelFile.load(writeRaw("d.safetensors", state, meta("arch", "dense(2)", "input", "3")))
                .model().size()).isEqualTo(1);
    }

    @Test
    void damagedFilesGiveTheDocumentedException() throws IOException {
        Path file = dir.resolve("trunc.safetensors");
        ArchSpec arch = ArchSpec.parse("dense(2)");
        ModelFile.save(file, arch.build(new int[] {3}, new Rng(1)), arch, new int[] {3});
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 3));
        assertThat(assertLoadFails(file).file()).isEqualTo(file.toString());
        assertThatThrownBy(() -> ModelFile.load(dir.resolve("absent.safetensors")))
                .isInstanceOf(IOException.class).isNotInstanceOf(ModelFormatException.class);
    }

    // ------------------------------------------------------------------------------------ hand-built models

    private static Sequential handBuilt(Rng rng) {
        return new Sequential(new Conv2d(1, 4, 3, 1, 1, rng), new BatchNorm2d(4), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(4 * 3 * 2, 5, rng), new L2Normalize());
    }

    @Test
    void loadIntoFillsAHandBuiltModel() throws IOException {
        Sequential source = handBuilt(new Rng(1));
        source.forward(Tensor.uniform(new Rng(2), -1f, 1f, 3, 1, 6, 5));
        source.eval();
        ArchSpec arch = ArchSpec.parse("conv(4,3,pad=1) batchnorm relu maxpool(2) flatten dense(5) l2norm");
        Path file = dir.resolve("hand.safetensors");
        ModelFile.save(file, source, arch, new int[] {1, 6, 5}, Map.of("threshold", "0.8"));

        Sequential target = handBuilt(new Rng(77));
        Map<String, String> metadata = ModelFile.loadInto(file, target);
        assertThat(metadata).containsEntry("threshold", "0.8");
        assertThat(target.isTraining()).as("loadInto keeps the mode").isTrue();
        target.eval();
        Tensor x = Tensor.uniform(new Rng(3), -1f, 1f, 2, 1, 6, 5);
        assertThat(target.forward(x).toArray()).containsExactly(source.forward(x).toArray());
    }

    @Test
    void loadIntoNeedsNoMetadataButChecksNamesAndShapes() throws IOException {
        Sequential source = handBuilt(new Rng(1));
        Path plain = writeRaw("plain.safetensors", source.stateDict(), null);
        Sequential target = handBuilt(new Rng(2));
        ModelFile.loadInto(plain, target);
        assertThat(target.stateDict().get("5.weight").toArray())
                .containsExactly(source.stateDict().get("5.weight").toArray());

        Map<String, Tensor> wrong = copyOf(source.stateDict());
        wrong.remove("1.running_var");
        wrong.put("5.weight", Tensor.zeros(5, 25));
        wrong.put("7.weight", Tensor.zeros(1));
        Path bad = writeRaw("bad.safetensors", wrong, null);
        Sequential untouched = handBuilt(new Rng(3));
        float[] before = untouched.stateDict().get("0.weight").toArray();
        ModelFormatException e = expectFormatError(() -> ModelFile.loadInto(bad, untouched));
        assertThat(e.problem()).contains("the tensors do not match the model").contains("1 missing: 1.running_var [4]")
                .contains("1 unexpected: \"7.weight\" [1]").contains("5.weight is [5, 25] in the file, [5, 24] in the model");
        assertThat(untouched.stateDict().get("0.weight").toArray()).as("a failed load changes nothing")
                .containsExactly(before);
    }

    @Test
    void handWrittenBytesLoadLikeAFileFromAnotherWriter() throws IOException {
        // written by hand per the safetensors spec, not by our writer: no padding, metadata last, an F16 bias
        String header = "{\"0.bias\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                + "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[4,28]},"
                + "\"__metadata__\":{\"input\":\"3\",\"arch\":\"dense(2) tanh\"}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer buf = ByteBuffer.allocate(8 + h.length + 28).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(h.length).put(h);
        buf.putShort((short) 0x3800).putShort((short) 0xBC00); // F16 0.5 and -1.0
        for (float w : new float[] {1, 2, 3, -1, 0, 1}) {
            buf.putFloat(w);
        }
        ModelFile.LoadedModel loaded = ModelFile.load(buf.array(), "hand-written", new Rng(1));
        assertThat(loaded.arch().toString()).isEqualTo("dense(2) tanh");
        Tensor y = loaded.model().forward(Tensor.of(new float[][] {{1, 1, 1}}));
        assertThat(y.toArray()).containsExactly(new float[] {(float) Math.tanh(6.5), (float) Math.tanh(-1)},
                within(1e-6f));
    }

    // ------------------------------------------------------------------------------------ save refusals

    @Test
    void saveRefusesASpecThatDoesNotDescribeTheModel() {
        Sequential model = handBuilt(new Rng(1));
        Path file = dir.resolve("never.safetensors");
        int[] input = {1, 6, 5};
        assertThatThrownBy(() -> ModelFile.save(file, model,
                ArchSpec.parse("conv(4,3,pad=1) batchnorm tanh maxpool(2) flatten dense(5) l2norm"), input))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not describe the model")
                .hasMessageContaining("layer 2 (tanh): the spec builds Tanh(), the model has ReLU()");
        assertThatThrownBy(() -> ModelFile.save(file, model,
                ArchSpec.parse("conv(4,3,stride=2,pad=1) batchnorm relu maxpool(1) flatten dense(5) l2norm"), input))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer 0 (conv(4,3,stride=2,pad=1))")
                .hasMessageContaining("stride=(2, 2)");
        assertThatThrownBy(() -> ModelFile.save(file, model,
                ArchSpec.parse("conv(4,3,pad=1) batchnorm relu maxpool(2) flatten dense(6) l2norm"), input))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the spec builds Linear(in_features=24, out_features=6, bias=True)")
                .hasMessageContaining("5.weight is [5, 24] in the model, [6, 24] in the spec");
        assertThatThrownBy(() -> ModelFile.save(file, model, ArchSpec.parse("conv(4,3,pad=1) relu"), input))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the model has 7 layers, the spec 2");
        assertThat(file).doesNotExist();
    }

    @Test
    void saveRefusesReservedKeysAndNonFiniteWeights() {
        ArchSpec arch = ArchSpec.parse("dense(2)");
        Sequential model = arch.build(new int[] {3}, new Rng(1));
        Path file = dir.resolve("never.safetensors");
        assertThatThrownBy(() -> ModelFile.save(file, model, arch, new int[] {3}, Map.of("arch", "relu")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'arch' is reserved");
        model.stateDict().get("0.weight").data()[4] = Float.NaN;
        assertThatThrownBy(() -> ModelFile.save(file, model, arch, new int[] {3}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0.weight holds NaN at flat index 4");
        assertThat(file).doesNotExist();
    }

    @Test
    void theReferenceTowerRoundTripsThroughItsSpec() throws IOException {
        ArchSpec arch = ArchSpec.parse("conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu maxpool(2) "
                + "conv(128,3,pad=1) relu maxpool(2) flatten dense(256) relu dense(128) l2norm");
        int[] input = ArchSpec.parseInput("1x112x92");
        Sequential tower = arch.build(input, new Rng(21));
        Path file = dir.resolve("reference.safetensors");
        ModelFile.save(file, tower, arch, input);
        // 5,172,096 float32 values plus the header
        assertThat(Files.size(file)).isBetween(4L * 5_172_096, 4L * 5_172_096 + 4096);
        ModelFile.LoadedModel loaded = ModelFile.load(file);
        assertThat(loaded.model().parameterCount()).isEqualTo(5_172_096L);
        Map<String, Tensor> back = loaded.model().stateDict();
        // Arrays.equals: AssertJ's containsExactly diffs in quadratic time, far too slow for 5 M values
        tower.stateDict().forEach((name, t) -> assertThat(java.util.Arrays.equals(back.get(name).data(), t.data()))
                .as(name).isTrue());
    }
}
