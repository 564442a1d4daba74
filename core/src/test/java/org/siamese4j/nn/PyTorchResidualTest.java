package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A residual tower made by PyTorch 1.13 ({@code src/test/resources/org/siamese4j/nn/pytorch-residual/
 * make_fixtures.py}, with the PyTorch {@code Residual} class of docs/model-format.md): an identity block, a
 * projection block with stride 2 and a block nested in another, with trained batch-norm statistics. Its
 * {@code state_dict} names are exactly the spec's, it loads as a model file and gives PyTorch's outputs, and it
 * survives a save and load through {@link ModelFile}.
 */
class PyTorchResidualTest {

    /**
     * The same float32 maths in another order (other convolution kernels and summation orders) through 16
     * layers: outputs of order 0.3 differ by a few roundings (measured 7e-8, Vector API and scalar kernels).
     * 1e-5 leaves room for other CPUs and is far below what a block added the wrong way, a projection skipped or
     * batch norm in training mode do, which move the outputs by more than 1e-2.
     */
    private static final float TOLERANCE = 1e-5f;

    @TempDir
    Path dir;

    private static Path resource(String name) {
        try {
            return Path.of(PyTorchResidualTest.class.getResource("pytorch-residual/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    private static Tensor io(String name) throws IOException {
        return SafeTensors.read(resource("io.safetensors")).tensors().get(name);
    }

    @Test
    void pytorchsStateDictHasTheSpecsNamesAndGivesPyTorchsOutputs() throws IOException {
        Map<String, Tensor> pytorch = SafeTensors.read(resource("fixture.safetensors")).tensors();
        ModelFile.LoadedModel loaded = ModelFile.load(resource("fixture.safetensors"));
        ArchSpec arch = loaded.arch();
        assertThat(arch.toString()).contains("residual(residual(conv(16,3,pad=1) tanh) conv(16,1))")
                .contains(" | conv(16,1,stride=2) batchnorm)");
        assertThat(arch.stateShapes(loaded.inputShape()).keySet()).containsExactlyInAnyOrderElementsOf(
                pytorch.keySet());
        assertThat(loaded.model().stateDict().keySet()).containsExactlyInAnyOrderElementsOf(pytorch.keySet())
                .contains("5.shortcut.1.running_var", "7.body.0.body.0.weight", "7.body.1.bias");

        float[] expected = io("output").toArray();
        float[] got = loaded.model().eval().forward(io("input")).toArray();
        assertThat(got).hasSize(30);
        for (int i = 0; i < got.length; i++) {
            assertThat(got[i]).as("element %d", i).isCloseTo(expected[i], within(TOLERANCE));
        }
    }

    @Test
    void aResidualModelSavesAndLoadsBackThroughModelFile() throws IOException {
        ArchSpec arch = ArchSpec.parse(ArchSpecResidualTest.TOWER);
        int[] input = ArchSpecResidualTest.INPUT;
        Sequential model = arch.build(input, new Rng(11));
        model.forward(Tensor.uniform(new Rng(12), -1f, 1f, 4, 1, 12, 12)); // running statistics move
        model.eval();
        Path file = dir.resolve("residual.safetensors");
        ModelFile.save(file, model, arch, input);

        assertThat(SafeTensors.readMetadata(file)).containsEntry(ModelFile.KEY_ARCH, ArchSpecResidualTest.TOWER);
        ModelFile.LoadedModel back = ModelFile.load(file);
        assertThat(back.arch()).isEqualTo(arch);
        assertThat(back.inputShape()).containsExactly(input);
        Map<String, Tensor> saved = model.stateDict();
        assertThat(back.model().stateDict().keySet()).containsExactlyElementsOf(saved.keySet());
        back.model().stateDict().forEach((name, t) ->
                assertThat(t.toArray()).as(name).containsExactly(saved.get(name).toArray()));
        Tensor x = Tensor.uniform(new Rng(13), -1f, 1f, 2, 1, 12, 12);
        assertThat(back.model().eval().forward(x).toArray()).containsExactly(model.forward(x).toArray());
    }
}
