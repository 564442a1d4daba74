package org.siamese4j.siamese.head;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.within;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.nn.Tanh;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class HeadSiameseNetworkTest {
    static final String KOCH_TOWER = "conv(64,10) relu maxpool(2) conv(128,7) relu maxpool(2) conv(128,4) relu "
            + "maxpool(2) conv(256,4) relu flatten dense(4096) sigmoid";

    @TempDir
    Path dir;

    /** A tower that counts its forward passes and the rows it saw. */
    private static final class CountingTower extends Module {
        final Sequential inner;
        final List<Integer> batchSizes = new ArrayList<>();

        CountingTower(Sequential inner) {
            this.inner = registerModule("inner", inner);
        }

        @Override
        public Tensor forward(Tensor input) {
            batchSizes.add(input.dim(0));
            return inner.forward(input);
        }
    }

    private static Sequential mlpTower(long seed) {
        Rng rng = new Rng(seed);
        return new Sequential(new Linear(5, 7, rng), new Tanh(), new Linear(7, 3, rng));
    }

    private static HeadSiameseNetwork mlpNetwork(long seed) {
        return new HeadSiameseNetwork(mlpTower(seed), SimilarityHead.parse("dense(4) tanh dense(1)", 3,
                new Rng(seed + 1)));
    }

    private static List<float[]> gradients(List<Tensor> params) {
        List<float[]> out = new ArrayList<>();
        for (Tensor p : params) {
            out.add(p.grad() == null ? new float[p.size()] : p.grad().toArray());
            p.zeroGrad();
        }
        return out;
    }

    private static Tensor bce(Tensor logits, float... targets) {
        return Functional.binaryCrossEntropyWithLogits(logits, Tensor.of(targets));
    }

    // ---------------------------------------------------------------------------------------- the pair model

    @Test
    void bothImagesOfAllPairsGoThroughTheTowerInOneBatch() {
        CountingTower tower = new CountingTower(mlpTower(1));
        HeadSiameseNetwork net = new HeadSiameseNetwork(tower, SimilarityHead.parse("dense(1)", 3, new Rng(2)));
        Tensor a = Tensor.randn(new Rng(3), 4, 5);
        Tensor b = Tensor.randn(new Rng(4), 4, 5);
        Tensor logits = net.logits(a, b);
        assertThat(tower.batchSizes).containsExactly(8);
        assertThat(logits.shape()).containsExactly(4);
        // the same numbers as two separate passes and the head
        Tensor separate = net.head().logits(tower.inner.forward(a), tower.inner.forward(b));
        assertThat(logits.toArray()).containsExactly(separate.toArray(), within(1e-6f));
        // forward takes the stacked batch
        assertThat(net.forward(Tensor.concat(0, a, b)).toArray()).containsExactly(logits.toArray());
        float[] p = net.probabilities(a, b).toArray();
        for (int i = 0; i < 4; i++) {
            assertThat(p[i]).isCloseTo((float) HeadSiameseNetwork.sigmoid(logits.get(i)), within(1e-7f));
        }
    }

    @Test
    void sharedTowerGradientIsTheSumOfTheBranchGradients() {
        HeadSiameseNetwork net = mlpNetwork(5);
        Module tower = net.tower();
        Rng rng = new Rng(6);
        Tensor a = Tensor.randn(rng, 4, 5);
        Tensor b = Tensor.randn(rng, 4, 5);
        float[] y = {1f, 0f, 1f, 0f};
        List<Tensor> towerParams = tower.parameters();

        // branch 1 alone: the second embedding is a constant
        bce(net.head().logits(tower.forward(a), tower.forward(b).detach()), y).backward();
        List<float[]> first = gradients(net.parameters()).subList(0, towerParams.size());
        // branch 2 alone
        bce(net.head().logits(tower.forward(a).detach(), tower.forward(b)), y).backward();
        List<float[]> second = gradients(net.parameters()).subList(0, towerParams.size());
        // both at once, as the pair model runs them: one batched pass
        bce(net.logits(a, b), y).backward();
        List<float[]> joint = gradients(towerParams);

        for (int p = 0; p < joint.size(); p++) {
            for (int i = 0; i < joint.get(p).length; i++) {
                assertThat(joint.get(p)[i]).isCloseTo(first.get(p)[i] + second.get(p)[i], within(1e-6f));
            }
            assertThat(first.get(p)).as("both branches contribute").isNotEqualTo(second.get(p));
        }
    }

    @Test
    void endToEndGradientThroughTowerAndHeadMatchesFiniteDifferences() {
        HeadSiameseNetwork net = mlpNetwork(7);
        Rng rng = new Rng(8);
        Tensor a = Tensor.randn(rng, 3, 5).requiresGrad(true);
        Tensor b = Tensor.randn(rng, 3, 5).requiresGrad(true);
        List<Tensor> inputs = new ArrayList<>(List.of(a, b));
        inputs.addAll(net.parameters());
        GradCheck.Result r = GradCheck.check(in -> bce(net.logits(in[0], in[1]), 1f, 0f, 1f),
                inputs.toArray(new Tensor[0]));
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    @Test
    void parametersAndStateDictHoldTowerAndHead() {
        HeadSiameseNetwork net = mlpNetwork(1);
        assertThat(net.stateDict().keySet()).containsExactly("tower.0.weight", "tower.0.bias", "tower.2.weight",
                "tower.2.bias", "head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias");
        assertThat(net.parameters()).hasSize(8);
    }

    @Test
    void scoreOfEmbeddingsIsTheSigmoidOfTheLogitWithoutAGraph() {
        HeadSiameseNetwork net = mlpNetwork(9);
        float[] e1 = {0.3f, -0.2f, 0.9f};
        float[] e2 = {0.1f, 0.4f, 0.9f};
        Tensor expected = net.head().logits(Tensor.of(e1, 1, 3), Tensor.of(e2, 1, 3));
        assertThat(net.logit(e1, e2)).isEqualTo(expected.item());
        assertThat(net.score(e1, e2)).isCloseTo(HeadSiameseNetwork.sigmoid(expected.item()), within(1e-15));
        double[] batch = net.scores(new float[][] {e1, e2}, new float[][] {e2, e2});
        assertThat(batch[0]).isEqualTo(net.score(e1, e2));
        assertThat(batch[1]).isEqualTo(net.score(e2, e2));
        assertThat(net.head().isTraining()).as("the head's mode is put back").isTrue();
        net.head().parameters().forEach(p -> assertThat(p.grad()).isNull());
        assertThatThrownBy(() -> net.score(e1, new float[] {1f, 2f}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("embeddings of 3 values")
                .hasMessageContaining("second[0] has 2");
        // scores of confident pairs stay apart in double where float would round both to 1
        assertThat(HeadSiameseNetwork.sigmoid(20f)).isLessThan(HeadSiameseNetwork.sigmoid(25f));
    }

    @Test
    void inputsAreChecked() {
        HeadSiameseNetwork net = mlpNetwork(1);
        assertThatThrownBy(() -> net.logits(Tensor.zeros(2, 5), Tensor.zeros(3, 5)))
                .hasMessageContaining("[2, 5]").hasMessageContaining("[3, 5]");
        assertThatThrownBy(() -> net.forward(Tensor.zeros(3, 5))).hasMessageContaining("[2N, ...]")
                .hasMessageContaining("[3, 5]");
        HeadSiameseNetwork wrongWidth = new HeadSiameseNetwork(mlpTower(1), SimilarityHead.parse("dense(1)", 4,
                new Rng(1)));
        assertThatThrownBy(() -> wrongWidth.logits(Tensor.zeros(2, 5), Tensor.zeros(2, 5)))
                .hasMessageContaining("the head takes 4 features, the embeddings have 3");
    }

    // ---------------------------------------------------------------------------------------- towers from specs

    @Test
    void theKochTowerSpecGivesAHeadOn4096Features() {
        int[] input = ArchSpec.parseInput("1x105x105");
        // checked without building its 38 M parameters
        assertThat(HeadSiameseNetwork.embeddingWidth(ArchSpec.parse(KOCH_TOWER), input)).isEqualTo(4096);
        SimilarityHead.validate(ArchSpec.parse("dense(1)"), 4096);
        assertThatThrownBy(() -> HeadSiameseNetwork.build(ArchSpec.parse("conv(4,3) relu"), input,
                ArchSpec.parse("dense(1)"), new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not flat embeddings [D]");
    }

    @Test
    void aNarrowKochShapedTowerTrainsOneStepOn105x105() {
        // the Koch layer structure and input size with fewer channels: conv 10, 7, 4, 4 with pooling, dense, sigmoid
        ArchSpec tower = ArchSpec.parse("conv(4,10) relu maxpool(2) conv(4,7) relu maxpool(2) conv(4,4) relu "
                + "maxpool(2) conv(8,4) relu flatten dense(16) sigmoid");
        int[] input = ArchSpec.parseInput("1x105x105");
        HeadSiameseNetwork net = HeadSiameseNetwork.build(tower, input, ArchSpec.parse("dense(1)"), new Rng(3));
        assertThat(net.head().features()).isEqualTo(16);
        Tensor a = Tensor.rand(new Rng(4), 2, 1, 105, 105);
        Tensor b = Tensor.rand(new Rng(5), 2, 1, 105, 105);
        Tensor loss = bce(net.logits(a, b), 1f, 0f);
        assertThat(loss.item()).isFinite();
        loss.backward();
        for (Tensor p : net.parameters()) {
            assertThat(p.grad()).isNotNull();
        }
    }

    // ---------------------------------------------------------------------------------------- model files

    @Test
    void savedPairModelLoadsWithTheSameScores() throws IOException {
        ArchSpec towerArch = ArchSpec.parse("dense(7) tanh dense(3)");
        int[] input = {5};
        HeadSiameseNetwork net = HeadSiameseNetwork.build(towerArch, input, ArchSpec.parse("dense(4) relu dense(1)"),
                new Rng(11));
        net.eval();
        Path file = dir.resolve("pair.safetensors");
        net.save(file, towerArch, input, Map.of("trained_with", "bce-head"));

        HeadSiameseNetwork back = HeadSiameseNetwork.load(file);
        assertThat(back.isTraining()).isFalse();
        Tensor a = Tensor.randn(new Rng(12), 6, 5);
        Tensor b = Tensor.randn(new Rng(13), 6, 5);
        assertThat(back.logits(a, b).toArray()).containsExactly(net.logits(a, b).toArray());
        assertThat(ModelFile.load(file).metadata()).containsEntry("head", "dense(4) relu dense(1)")
                .containsEntry("head_input", "3").containsEntry("trained_with", "bce-head");
    }

    @Test
    void loadingRefusesFilesThatAreNotPairModels() throws IOException {
        ArchSpec towerArch = ArchSpec.parse("dense(8)");
        int[] input = {5};
        Sequential tower = towerArch.build(input, new Rng(1));

        Path plain = dir.resolve("plain.safetensors");
        ModelFile.save(plain, tower, towerArch, input);
        ModelFormatException noHead = formatError(() -> HeadSiameseNetwork.load(plain));
        assertThat(noHead.problem()).contains("has no similarity head").contains("plain embedding model");

        // a head for 6 features on a tower of 8: ModelFile does not know they belong together, the pair model does
        ArchSpec headArch = ArchSpec.parse("dense(1)");
        Path misfit = dir.resolve("misfit.safetensors");
        ModelFile.save(misfit, tower, towerArch, input,
                new ModelFile.Head(headArch.build(new int[] {6}, new Rng(2)), headArch, 6), Map.of());
        ModelFormatException width = formatError(() -> HeadSiameseNetwork.load(misfit));
        assertThat(width.problem()).contains("the head takes 6 features but the tower outputs 8");
        assertThat(width.location()).isEqualTo("metadata field \"head_input\"");

        // a head with two outputs is a valid model file but not a similarity head
        ArchSpec two = ArchSpec.parse("dense(2)");
        Path twoOut = dir.resolve("two.safetensors");
        ModelFile.save(twoOut, tower, towerArch, input, new ModelFile.Head(two.build(new int[] {8}, new Rng(3)), two,
                8), Map.of());
        ModelFormatException notALogit = formatError(() -> HeadSiameseNetwork.load(twoOut));
        assertThat(notALogit.problem()).contains("exactly 1 value");
        assertThat(notALogit.location()).isEqualTo("metadata field \"head\"");

        HeadSiameseNetwork net = HeadSiameseNetwork.build(towerArch, input, headArch, new Rng(4));
        assertThatThrownBy(() -> net.save(dir.resolve("x.safetensors"), ArchSpec.parse("dense(9)"), input, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outputs 9 features, the head "
                        + "takes 8");
    }

    private static ModelFormatException formatError(org.assertj.core.api.ThrowableAssert.ThrowingCallable call) {
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).isInstanceOf(ModelFormatException.class);
        return (ModelFormatException) thrown;
    }
}
