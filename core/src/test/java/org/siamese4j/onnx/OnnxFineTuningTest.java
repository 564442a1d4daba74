package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.BatchNorm;
import org.siamese4j.nn.Graph;
import org.siamese4j.optim.Adam;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Fine-tuning the last layer of PyTorch's small ResNet (README.md beside the fixtures), imported with its batch
 * norms kept: everything but the final Gemm (node "14", Linear(24, 128)) is frozen, a few Adam steps pull the
 * embeddings towards fixed targets, and the frozen weights and batch-norm statistics keep their bits.
 */
class OnnxFineTuningTest {
    private static final String FILE = "resnet_small_opset13_unfused_bn.onnx";
    private static final String LAST = "14";

    private static Graph frozenBackbone() throws IOException {
        Graph g = OnnxImporter.load(OnnxImporterParityTest.fixture(FILE), OnnxImporter.Options.fineTuning()).graph();
        g.freezeExcept(LAST).train();
        return g;
    }

    /** A batch of 4 faces (the fixture's 2 and the same negated) and unit targets to pull them to. */
    private static Tensor[] batch() throws IOException {
        Tensor x = OnnxImporterParityTest.io(FILE)[0];
        float[] both = Arrays.copyOf(x.toArray(), 2 * x.size());
        for (int i = 0; i < x.size(); i++) {
            both[x.size() + i] = -both[i];
        }
        int[] shape = x.shape();
        shape[0] *= 2;
        Tensor faces = Tensor.of(both, shape);
        Tensor targets = Functional.l2Normalize(Tensor.uniform(new Rng(9), -1f, 1f, 4, 128), 1, 1e-12f);
        return new Tensor[] {faces, targets};
    }

    /** One step on the batch; returns the loss before it. */
    private static float step(Graph g, Adam adam, Tensor[] batch) {
        adam.zeroGrad();
        Tensor loss = g.forward(batch[0]).sub(batch[1]).square().sum();
        loss.backward();
        adam.step();
        return loss.item();
    }

    private static Map<String, float[]> copy(Map<String, Tensor> state) {
        Map<String, float[]> out = new LinkedHashMap<>();
        state.forEach((name, t) -> out.put(name, t.toArray()));
        return out;
    }

    @Test
    void onlyTheLastLayerLearnsAndEverythingFrozenKeepsItsBits() throws IOException {
        Graph g = frozenBackbone();
        assertThat(g.namedParameters().keySet()).hasSizeGreaterThan(20);
        assertThat(g.trainableParameters()).containsExactly(g.namedParameters().get(LAST + ".weight"),
                g.namedParameters().get(LAST + ".bias"));
        long batchNorms = g.namedModules().values().stream().filter(BatchNorm.class::isInstance).count();
        assertThat(batchNorms).as("batch norms kept by Options.fineTuning()").isEqualTo(11);   // stem, 2 per block x 4, 2 projections
        Map<String, float[]> before = copy(g.stateDict());
        Tensor[] batch = batch();
        Adam adam = new Adam(g.trainableParameters(), 0.01f);
        List<Float> losses = new ArrayList<>();
        for (int s = 0; s < 8; s++) {
            losses.add(step(g, adam, batch));
        }
        assertThat(losses.get(7)).as(losses.toString()).isLessThan(losses.get(0) * 0.8f);
        assertThat(adam.state().keySet()).containsExactly(0, 1);
        Map<String, float[]> after = copy(g.stateDict());
        for (String name : before.keySet()) {
            if (name.startsWith(LAST + ".")) {
                assertThat(after.get(name)).as(name).isNotEqualTo(before.get(name));
            } else {
                // Arrays.equals compares floats by their bits
                assertThat(Arrays.equals(after.get(name), before.get(name))).as(name + " unchanged").isTrue();
            }
        }
        g.namedParameters().forEach((name, p) -> assertThat(p.grad() != null).as(name + " has a gradient")
                .isEqualTo(name.startsWith(LAST + ".")));
    }

    /**
     * Frozen flags are not saved: the resumed run freezes the same way before building its optimiser, and then
     * continues exactly; an optimiser built on every parameter does not fit the checkpoint, and says so.
     */
    @Test
    void aCheckpointResumesExactlyWhenTheCallerFreezesTheSameWay(@TempDir Path dir) throws IOException {
        Tensor[] batch = batch();
        Graph g = frozenBackbone();
        Adam adam = new Adam(g.trainableParameters(), 0.01f);
        for (int s = 0; s < 3; s++) {
            step(g, adam, batch);
        }
        Path file = dir.resolve("fine-tune.ckpt");
        Checkpoint.builder(g).optimizer(adam).step(3).build().save(file);
        step(g, adam, batch);
        step(g, adam, batch);
        Map<String, float[]> uninterrupted = copy(g.stateDict());

        Graph unfrozen = OnnxImporter.load(OnnxImporterParityTest.fixture(FILE), OnnxImporter.Options.fineTuning())
                .graph();
        Checkpoint saved = Checkpoint.load(file);
        assertThatThrownBy(() -> saved.check(unfrozen, new Adam(unfrozen.parameters(), 0.01f), null))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("trains 2");

        Graph resumed = frozenBackbone();
        Adam resumedAdam = new Adam(resumed.trainableParameters(), 0.01f);
        saved.restore(resumed, resumedAdam, null);
        step(resumed, resumedAdam, batch);
        step(resumed, resumedAdam, batch);
        Map<String, float[]> after = copy(resumed.stateDict());
        uninterrupted.forEach((name, values) ->
                assertThat(Arrays.equals(after.get(name), values)).as(name + " as uninterrupted").isTrue());
    }
}
