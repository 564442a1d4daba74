package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.BatchNorm;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Files made by PyTorch 1.13 ({@code src/test/resources/org/siamese4j/io/pytorch/make_fixtures.py}, which says
 * how to regenerate them): {@code fixture.safetensors} is {@code save_file(model.state_dict())} of a network with
 * reflect padding, stride 2, batch norm (2d and 1d, after three training passes, so {@code num_batches_tracked}
 * is an I64 3), tanh, average pooling and sigmoid; {@code io.safetensors} holds an input batch and PyTorch's
 * embeddings of it in evaluation mode. {@code siamese4j-written.safetensors} is what this library writes back,
 * which {@code make_fixtures.py check} loads into PyTorch with {@code load_state_dict(strict=True)}.
 */
class PyTorchFixtureTest {

    /**
     * PyTorch and this library compute the same float32 maths in different orders (other convolution and
     * matrix-product kernels, other summation orders), so the outputs, sigmoids near 0.5, may differ by a few
     * roundings: measured 6e-8, one float32 step at 0.5. 1e-6 (16 such steps) leaves room for other kernels
     * (the scalar fallback, another CPU) and is far below what a real mistake makes: a wrong padding mode, a
     * running statistic not loaded or batch norm in training mode move the outputs by more than 1e-3.
     */
    private static final float TOLERANCE = 1e-6f;

    private static final Set<String> PYTORCH_KEYS = Set.of("0.weight", "0.bias", "1.weight", "1.bias",
            "1.running_mean", "1.running_var", "1.num_batches_tracked", "5.weight", "5.bias", "6.weight", "6.bias",
            "6.running_mean", "6.running_var", "6.num_batches_tracked");

    @TempDir
    Path dir;

    static Path resource(String name) {
        try {
            return Path.of(PyTorchFixtureTest.class.getResource("pytorch/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    private static Tensor io(String name) throws IOException {
        return SafeTensors.read(resource("io.safetensors")).tensors().get(name);
    }

    @Test
    void pytorchsOwnSaveFileIsReadWithItsI64CounterAndGivesPyTorchsEmbeddings() throws IOException {
        Path fixture = resource("fixture.safetensors");
        SafeTensors.Contents contents = SafeTensors.read(fixture);
        assertThat(contents.tensors().keySet()).containsExactlyInAnyOrderElementsOf(PYTORCH_KEYS);
        assertThat(contents.dtypes()).containsEntry("1.num_batches_tracked", "I64")
                .containsEntry("6.num_batches_tracked", "I64").containsEntry("0.weight", "F32");
        assertThat(contents.isInteger("1.num_batches_tracked")).isTrue();
        assertThat(contents.isInteger("1.running_mean")).isFalse();

        ModelFile.LoadedModel loaded = ModelFile.load(fixture);
        Sequential model = loaded.model();
        assertThat(loaded.arch()).isEqualTo(ArchSpec.parse("conv(4,3,stride=2,pad=1,pad_mode=reflect) batchnorm tanh"
                + " avgpool(2) flatten dense(5) batchnorm sigmoid"));
        assertThat(((BatchNorm) model.get(1)).numBatchesTracked()).isEqualTo(3);
        assertThat(((BatchNorm) model.get(6)).numBatchesTracked()).isEqualTo(3);

        float[] expected = io("embeddings").toArray();
        float[] got = model.forward(io("input")).toArray();
        assertThat(got).hasSize(15);
        for (int i = 0; i < got.length; i++) {
            assertThat(got[i]).as("element %d", i).isCloseTo(expected[i], within(TOLERANCE));
        }
        // The evaluation pass used the running statistics: the counters did not move.
        assertThat(((BatchNorm) model.get(1)).numBatchesTracked()).isEqualTo(3);
    }

    @Test
    void loadIntoAHandBuiltModelReadsTheSameFile() throws IOException {
        ArchSpec arch = ArchSpec.parse(SafeTensors.readMetadata(resource("fixture.safetensors")).get("arch"));
        Sequential model = arch.build(new int[] {2, 11, 11}, new Rng(1));
        ModelFile.loadInto(resource("fixture.safetensors"), model);
        model.eval();
        float[] expected = io("embeddings").toArray();
        float[] got = model.forward(io("input")).toArray();
        for (int i = 0; i < got.length; i++) {
            assertThat(got[i]).as("element %d", i).isCloseTo(expected[i], within(TOLERANCE));
        }
    }

    @Test
    void savingWritesTheCounterBackAsI64WithEveryKeyOfPyTorchsStateDict() throws IOException {
        ModelFile.LoadedModel loaded = ModelFile.load(resource("fixture.safetensors"));
        Path written = dir.resolve("written.safetensors");
        ModelFile.save(written, loaded.model(), loaded.arch(), loaded.inputShape());

        Map<String, SafeTensors.TensorInfo> header = SafeTensors.readHeader(written);
        assertThat(header.keySet()).containsExactlyInAnyOrderElementsOf(PYTORCH_KEYS);
        // The I64 counters first, then the floats in state-dict order: every tensor aligned to its element size.
        assertThat(header.keySet()).containsExactly("1.num_batches_tracked", "6.num_batches_tracked", "0.weight",
                "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "5.weight", "5.bias", "6.weight",
                "6.bias", "6.running_mean", "6.running_var");
        header.forEach((name, info) -> {
            boolean counter = name.endsWith(".num_batches_tracked");
            assertThat(info.dtype()).as(name).isEqualTo(counter ? "I64" : "F32");
            assertThat(info.begin() % (counter ? 8 : 4)).as(name).isZero();
        });
        assertThat(header.get("6.num_batches_tracked").shape()).isEmpty();

        byte[] bytes = Files.readAllBytes(written);
        ByteBuffer le = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long dataStart = 8 + le.getLong(0);
        assertThat(le.getLong((int) (dataStart + header.get("1.num_batches_tracked").begin()))).isEqualTo(3L);
        assertThat(le.getLong((int) (dataStart + header.get("6.num_batches_tracked").begin()))).isEqualTo(3L);

        // Every value as PyTorch saved it, bit for bit.
        Map<String, Tensor> original = SafeTensors.read(resource("fixture.safetensors")).tensors();
        Map<String, Tensor> back = SafeTensors.read(written).tensors();
        original.forEach((name, t) -> assertThat(back.get(name).toArray()).as(name).containsExactly(t.toArray()));

        // The committed copy is what `make_fixtures.py check` loads into PyTorch; it must stay what we write.
        byte[] committed = Files.readAllBytes(resource("siamese4j-written.safetensors"));
        if (!java.util.Arrays.equals(bytes, committed)) {
            Path fresh = Path.of("target", "siamese4j-written.safetensors");
            Files.createDirectories(fresh.getParent());
            Files.write(fresh, bytes);
            throw new AssertionError("ModelFile.save no longer writes the bytes of the committed "
                    + "siamese4j-written.safetensors; check " + fresh.toAbsolutePath() + " with "
                    + "`python3 make_fixtures.py check FILE` and copy it over the committed one");
        }
    }

    @Test
    void aWeightStoredAsIntegersIsRefusedNamingItsDtype() throws IOException {
        LinkedHashMap<String, Tensor> state = SafeTensors.read(resource("fixture.safetensors")).tensors();
        state.put("5.weight", Tensor.zeros(5, 36)); // whole numbers, so they can be written as I64
        Path file = dir.resolve("quantised.safetensors");
        SafeTensors.write(file, state, Map.of("arch", SafeTensors.readMetadata(resource("fixture.safetensors"))
                .get("arch"), "input", "2x11x11"), Set.of("5.weight", "1.num_batches_tracked"));

        ModelFormatException e = catchThrowableOfType(ModelFormatException.class, () -> ModelFile.load(file));
        assertThat(e.problem()).isEqualTo("the tensors do not match the arch spec: 1 with an integer dtype where the"
                + " arch spec has a floating-point weight or statistic (F32, F16, BF16 or F64; only"
                + " num_batches_tracked may be an integer): 5.weight is I64");
        assertThat(e.location()).isEqualTo("header field \"5.weight\".dtype");

        Sequential model = ModelFile.load(resource("fixture.safetensors")).model();
        e = catchThrowableOfType(ModelFormatException.class, () -> ModelFile.loadInto(file, model));
        assertThat(e.problem()).contains("where the model has a floating-point weight or statistic")
                .endsWith("5.weight is I64");
        assertThat(model.get(5).namedParameters().get("weight").toArray()).as("unchanged on failure")
                .isNotEqualTo(new float[5 * 36]);
    }
}
