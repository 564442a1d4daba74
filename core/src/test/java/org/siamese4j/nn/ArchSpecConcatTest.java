package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.siamese4j.nn.ArchSpecTest.assertBuildFails;
import static org.siamese4j.nn.ArchSpecTest.assertParseFails;
import static org.siamese4j.nn.ArchSpecTest.boxed;
import static org.siamese4j.nn.ArchSpecTest.shapesOf;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.siamese4j.nn.ArchSpec.Kind;
import org.siamese4j.nn.ArchSpec.Layer;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** Concat blocks in the arch spec: grammar, nesting, shapes, state-dict names, building, errors, ensembles. */
class ArchSpecConcatTest {

    /** The default embedding tower (15 layers); on 1x16x16 it ends in 64x2x2, flattened to 256 features. */
    static final String TOWER = "conv(16,3,pad=1) batchnorm relu maxpool(2) conv(32,3,pad=1) batchnorm relu maxpool(2) "
            + "conv(64,3,pad=1) batchnorm relu maxpool(2) flatten dense(64) l2norm";

    /** Three towers as one model: 192 features, normalised again as a whole. */
    static final String ENSEMBLE = "concat(" + TOWER + " | " + TOWER + " | " + TOWER + ") l2norm";

    static final int[] INPUT = {1, 16, 16};

    /** {@code depth} concat blocks, each the only branch of the one around it, around a relu. */
    private static String nested(int depth) {
        return "concat(".repeat(depth) + "relu" + ")".repeat(depth);
    }

    /** A tower's state dict renamed to branch k of the concat block at index {@code layer}. */
    static Map<String, Tensor> asBranch(int layer, int k, Map<String, Tensor> tower) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        tower.forEach((name, t) -> out.put(layer + ".branches." + k + "." + name, t));
        return out;
    }

    // ------------------------------------------------------------------------------------ grammar

    @Test
    void concatBlocksParsePrintCanonicallyAndRoundTrip() {
        ArchSpec ensemble = ArchSpec.parse(ENSEMBLE);
        assertThat(ensemble.toString()).isEqualTo(ENSEMBLE);
        assertThat(ensemble.size()).isEqualTo(2);
        Layer block = ensemble.layers().get(0);
        assertThat(block.kind()).isEqualTo(Kind.CONCAT);
        assertThat(block.branches()).hasSize(3).allSatisfy(b -> assertThat(b).isEqualTo(ArchSpec.parse(TOWER)));
        assertThat(block.body()).isNull();
        assertThat(block.shortcut()).isNull();
        assertThat(ensemble.layers().get(1).branches()).isNull();

        assertThat(ArchSpec.parse(" concat ( conv( 8,3,pad=1 )\trelu|conv(8,1)|  dense(2) )  relu").toString())
                .isEqualTo("concat(conv(8,3,pad=1) relu | conv(8,1) | dense(2)) relu");
        for (String s : List.of(ENSEMBLE, "concat(relu)", "concat(dense(4) | dense(2) tanh) dense(3)",
                "concat(residual(relu | concat(tanh | relu)) | conv(4,1)) residual(concat(conv(2,1) | conv(2,1)))",
                nested(32))) {
            ArchSpec spec = ArchSpec.parse(s);
            assertThat(spec.toString()).as(s).isEqualTo(s);
            assertThat(ArchSpec.parse(spec.toString())).as(s).isEqualTo(spec);
            assertThat(ArchSpec.parse(spec.toString()).hashCode()).as(s).isEqualTo(spec.hashCode());
        }
        // the order of the branches is the order of the features
        assertThat(ArchSpec.parse("concat(dense(4) | dense(2))")).isNotEqualTo(ArchSpec.parse("concat(dense(2) | "
                + "dense(4))"));
        assertThat(ArchSpec.parse("concat(dense(4) | dense(2))")).isNotEqualTo(ArchSpec.parse("concat(dense(4) | "
                + "dense(2) | dense(2))"));
        assertThat(ArchSpec.parse("concat(relu | tanh)")).isNotEqualTo(ArchSpec.parse("residual(relu | tanh)"));
    }

    @Test
    void programmaticBlocksEqualParsedOnes() {
        ArchSpec a = ArchSpec.of(Layer.dense(4), Layer.of(Kind.RELU));
        ArchSpec b = ArchSpec.of(Layer.dense(2));
        List<ArchSpec> branches = new ArrayList<>(List.of(a, b));
        Layer block = Layer.concat(branches);
        branches.clear(); // the layer keeps its own copy
        assertThat(ArchSpec.of(block, Layer.of(Kind.L2NORM)))
                .isEqualTo(ArchSpec.parse("concat(dense(4) relu | dense(2)) l2norm"));
        assertThat(block.branches()).containsExactly(a, b);
        assertThatThrownBy(() -> block.branches().add(a)).isInstanceOf(UnsupportedOperationException.class);
        assertThat(Kind.CONCAT.usage()).isEqualTo("concat(BRANCH | BRANCH[ | ...])");
        assertThat(Kind.CONCAT.token()).isEqualTo("concat");
        assertThatThrownBy(() -> Layer.of(Kind.CONCAT)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("concat needs arguments: concat(BRANCH | BRANCH[ | ...])");
        assertThatThrownBy(() -> Layer.concat(List.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("concat needs at least one branch");
        assertThatThrownBy(() -> Layer.concat(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("concat needs at least one branch");
        assertThatThrownBy(() -> Layer.concat(java.util.Arrays.asList(a, null)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concat branch 1 is null");
        assertThatThrownBy(() -> new Layer(Kind.RELU, 0, 0, 0, 0, null, 0f, 0, null, null, List.of(a)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("relu takes no branches");
        assertThatThrownBy(() -> new Layer(Kind.CONCAT, 0, 0, 0, 0, null, 0f, 0, a, null, List.of(a)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("concat takes no body");
    }

    @Test
    void nestingIsBoundedSoAHostileSpecCannotOverflowTheStack() {
        assertThat(ArchSpec.parse(nested(32)).outputShape(new int[] {3})).containsExactly(3);
        assertParseFails(nested(33)).hasMessageContaining("residual and concat blocks nest more than 32 deep");
        // residual and concat blocks count alike
        String mixed = "concat(residual(".repeat(16) + "relu" + "))".repeat(16);
        assertThat(ArchSpec.parse(mixed).toString()).isEqualTo(mixed);
        assertParseFails("concat(" + mixed + ")").hasMessageContaining("nest more than 32 deep");
        assertParseFails("residual(" + mixed + ")").hasMessageContaining("nest more than 32 deep");
        assertThatThrownBy(() -> ArchSpec.parse(nested(100_000))).isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> assertThat(e.getMessage()).contains("more than 32 deep").hasSizeLessThan(1_000));
        assertThatThrownBy(() -> ArchSpec.parse("concat(relu | " + nested(100_000) + ")"))
                .isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> assertThat(e.getMessage()).contains("more than 32 deep").hasSizeLessThan(1_000));
        Layer deep = ArchSpec.parse(nested(32)).layers().get(0);
        assertThatThrownBy(() -> ArchSpec.of(Layer.concat(List.of(ArchSpec.of(Layer.of(Kind.RELU)),
                ArchSpec.of(deep))))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nest 33 deep, more than 32");
    }

    @Test
    void manyBranchesWhoseJoinIsTooLargeFailBeforeAnythingIsAllocated() {
        // each branch fits a tensor; their join does not (and would overflow an int)
        ArchSpec wide = ArchSpec.parse("concat(dense(1500000000) | dense(1500000000))");
        assertThatThrownBy(() -> wide.build(new int[] {1}, new Rng(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("arch spec: layer 0 concat(dense(1500000000) | dense(1500000000)): its output "
                        + "[3000000000] has more elements than a tensor holds");
        assertThatThrownBy(() -> ArchSpec.parse("concat(conv(1000000000,1) | conv(1000000000,1) | conv(1000000000,1))")
                .stateShapes(new int[] {1, 1, 1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("its output [3000000000, 1, 1] has more elements");
        // ten thousand branches parse without recursion and are all counted
        ArchSpec many = ArchSpec.parse("concat(" + "relu | ".repeat(9_999) + "relu)");
        assertThat(many.layers().get(0).branches()).hasSize(10_000);
        assertThat(many.outputShape(new int[] {3})).containsExactly(30_000);
    }

    @Test
    void parseErrorsNameTheLayerByItsPath() {
        assertParseFails("relu concat(relu | conv(8,3,pad=1) relu linear(3))")
                .hasMessageContaining("layer 1.branches.1.2 'linear(3)': unknown layer 'linear' (did you mean "
                        + "'dense'?)");
        assertParseFails("concat(relu | relu | conv(8,1,stride=0))")
                .hasMessageContaining("layer 0.branches.2.0 'conv(8,1,stride=0)': stride must be at least 1, got 0");
        assertParseFails("residual(concat(relu | relu foo))")
                .hasMessageContaining("layer 0.body.0.branches.1.1 'foo'");
        assertParseFails("cat(relu | relu)").hasMessageContaining("did you mean 'concat'");
        assertParseFails("ensemble(relu | relu)").hasMessageContaining("did you mean 'concat'");
    }

    @Test
    void malformedBlocksSayWhatIsMissing() {
        assertParseFails("concat").hasMessageContaining("layer 0 'concat'")
                .hasMessageContaining("concat needs arguments: concat(BRANCH | BRANCH[ | ...])");
        assertParseFails("relu concat()").hasMessageContaining("layer 1 'concat()': branch 0 is empty; expected "
                + "concat(BRANCH | BRANCH[ | ...])");
        assertParseFails("concat(| relu)").hasMessageContaining("branch 0 is empty");
        assertParseFails("concat(relu |)").hasMessageContaining("branch 1 is empty (no layers after the '|' at "
                + "character 12)");
        assertParseFails("concat(relu | | tanh)").hasMessageContaining("branch 1 is empty (no layers after the '|' at "
                + "character 12)");
        assertParseFails("concat(relu").hasMessageContaining("layer 0 'concat(relu': missing ')' for the '(' at "
                + "character 6");
        assertParseFails("concat(relu | tanh").hasMessageContaining("missing ')' for the '(' at character 6");
        assertParseFails("concat(relu |").hasMessageContaining("missing ')' for the '(' at character 6");
        assertParseFails("relu | tanh").hasMessageContaining("layer 1: expected a layer name at character 5, got '|'")
                .hasMessageContaining("and the branches of concat(BRANCH | BRANCH[ | ...])");
        assertParseFails("concat(relu)relu").hasMessageContaining("layer 0 'concat(relu)': expected a space or "
                + "the end after it, got 'r' at character 12");
        assertParseFails("concat(conv(8,3)relu | relu)").hasMessageContaining("layer 0.branches.0.0 'conv(8,3)': "
                + "expected a space, '|' or ')' after it, got 'r' at character 16");
        assertParseFails("concat(relu | tanh) )").hasMessageContaining("layer 1: expected a layer name at "
                + "character 20, got ')'");
    }

    // ------------------------------------------------------------------------------------ shapes and names

    @Test
    void shapesAreInferredThroughTheBranchesAndJoinedAlongTheFirstDimension() {
        assertThat(ArchSpec.parse(ENSEMBLE).layerShapes(INPUT).get(0)).containsExactly(192);
        assertThat(ArchSpec.parse(ENSEMBLE).outputShape(INPUT)).containsExactly(192);
        // images join along the channels, whatever each branch does inside
        assertThat(ArchSpec.parse("concat(conv(3,3,pad=1) | conv(2,1) relu | avgpool(1) | relu)")
                .outputShape(new int[] {2, 6, 5})).containsExactly(3 + 2 + 2 + 2, 6, 5);
        assertThat(ArchSpec.parse("concat(conv(3,3,pad=1) | conv(2,1) relu)").outputShape(new int[] {2, 6, 5}))
                .containsExactly(5, 6, 5);
        assertThat(ArchSpec.parse("concat(dense(3))").outputShape(new int[] {4})).containsExactly(3);
        // the input, then branch 0's conv, branch 1's conv and relu, and the join: 4 + 3 * 4 + 5 * 4
        assertThat(ArchSpec.parse("concat(conv(3,1) | conv(2,1) relu)").activationElements(new int[] {1, 2, 2}))
                .isEqualTo(4 + 12 + 8 + 8 + 20);
    }

    @Test
    void branchesThatDisagreeAreRefusedNamingTheBlockAndBothShapes() {
        assertBuildFails("conv(4,3,pad=1) concat(conv(8,3,pad=1) | conv(8,3,stride=2,pad=1))", 1, 8, 8)
                .hasMessage("arch spec: layer 1 concat(conv(8,3,pad=1) | conv(8,3,stride=2,pad=1)) does not fit its "
                        + "input shape [4, 8, 8] (the output of layer 0 conv(4,3,pad=1)): its branch 1 gives "
                        + "[8, 4, 4] but branch 0 gives [8, 8, 8]; the outputs are joined along the channels, so "
                        + "they must agree in every other dimension");
        assertBuildFails("concat(flatten | relu)", 2, 3, 3).hasMessageContaining("its branch 1 gives [2, 3, 3] but "
                + "branch 0 gives [18]; the outputs are joined along the features, so they must agree in every other "
                + "dimension (flatten every branch, or none)");
        assertBuildFails("flatten concat(relu | conv(4,3))", 1, 4, 4)
                .hasMessageContaining("layer 1.branches.1.0 conv(4,3) does not fit its input shape [16] (the input of "
                        + "concat block 1): conv needs an image input [C, H, W]");
        assertBuildFails("concat(relu | relu tanh dense(4))", 1, 4, 4)
                .hasMessageContaining("layer 0.branches.1.2 dense(4) does not fit its input shape [1, 4, 4] (the "
                        + "output of layer 0.branches.1.1 tanh): dense needs flat features");
    }

    @Test
    void stateShapesAreTheBuiltModelsNamesInPyTorchsOrder() {
        ArchSpec ensemble = ArchSpec.parse(ENSEMBLE);
        Sequential model = ensemble.build(INPUT, new Rng(1));
        Map<String, List<Integer>> predicted = new LinkedHashMap<>();
        ensemble.stateShapes(INPUT).forEach((name, shape) -> predicted.put(name, boxed(shape)));
        assertThat(predicted).containsExactlyEntriesOf(shapesOf(model.stateDict()));
        assertThat(predicted).containsEntry("0.branches.0.0.weight", List.of(16, 1, 3, 3))
                .containsEntry("0.branches.1.0.weight", List.of(16, 1, 3, 3))
                .containsEntry("0.branches.1.5.running_var", List.of(32))
                .containsEntry("0.branches.2.9.num_batches_tracked", List.of())
                .containsEntry("0.branches.2.13.weight", List.of(64, 256));
        assertThat(predicted.keySet()).first().isEqualTo("0.branches.0.0.weight");
        assertThat(predicted.keySet()).last().isEqualTo("0.branches.2.13.bias");
        long tower = ArchSpec.parse(TOWER).parameterCount(INPUT);
        assertThat(ensemble.parameterCount(INPUT)).isEqualTo(3 * tower).isEqualTo(model.parameterCount());

        // a block nested in a residual body continues the path
        ArchSpec nested = ArchSpec.parse("residual(concat(conv(2,1) | conv(3,1) batchnorm) conv(4,1))");
        int[] input = {4, 3, 3};
        Map<String, List<Integer>> names = new LinkedHashMap<>();
        nested.stateShapes(input).forEach((name, shape) -> names.put(name, boxed(shape)));
        assertThat(names).containsExactlyEntriesOf(shapesOf(nested.build(input, new Rng(2)).stateDict()));
        assertThat(names).containsEntry("0.body.0.branches.1.1.running_mean", List.of(3))
                .containsEntry("0.body.1.weight", List.of(4, 5, 1, 1));
    }

    @Test
    void buildMakesConcatModulesWhoseForwardJoinsTheBranches() {
        ArchSpec spec = ArchSpec.parse("concat(conv(3,3,pad=1) batchnorm tanh | conv(2,1) | relu) flatten dense(4)");
        int[] input = {2, 5, 4};
        Sequential model = spec.build(input, new Rng(3));
        assertThat(model.get(0)).isInstanceOf(Concat.class);
        Concat block = (Concat) model.get(0);
        assertThat(block.size()).isEqualTo(3);
        assertThat(block.branches().get(0).size()).isEqualTo(3);
        assertThat(block.branches().get(1).get(0).toString()).isEqualTo("Conv2d(2, 2, kernel_size=(1, 1), stride=(1, "
                + "1))");
        assertThat(spec.differences(model, input)).isEmpty();

        Tensor x = Tensor.uniform(new Rng(4), -1f, 1f, 3, 2, 5, 4);
        model.train();
        model.forward(x); // moves the batch-norm statistics away from 0 and 1
        model.eval();
        Tensor joined = block.forward(x);
        Tensor expected = Tensor.concat(1, block.branches().get(0).forward(x), block.branches().get(1).forward(x),
                block.branches().get(2).forward(x));
        assertThat(joined.shape()).containsExactly(3, 3 + 2 + 2, 5, 4);
        assertThat(joined.toArray()).containsExactly(expected.toArray());
        assertThat(model.forward(x).shape()).containsExactly(3, 4);
        assertThat(block.branches().get(0).get(1).isTraining()).isFalse();
    }

    @Test
    void gradientsThroughABuiltConcatNetworkMatchFiniteDifferences() {
        Sequential model = ArchSpec.parse("concat(dense(3) tanh | dense(2) | dense(2) sigmoid) dense(2) tanh")
                .build(new int[] {4}, new Rng(5));
        Tensor x = Tensor.uniform(new Rng(6), -1f, 1f, 3, 4).requiresGrad(true);
        List<Tensor> inputs = new ArrayList<>(List.of(x));
        inputs.addAll(model.parameters());
        assertThat(inputs).hasSize(1 + 2 * 4);
        GradCheck.Result r = GradCheck.check(in -> model.forward(in[0]), inputs.toArray(Tensor[]::new));
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    @Test
    void differencesLookInsideTheBranches() {
        int[] input = {2, 3, 3};
        ArchSpec spec = ArchSpec.parse("concat(conv(2,1) leakyrelu(0.1) | conv(2,1))");
        assertThat(spec.differences(ArchSpec.parse("concat(conv(2,1) leakyrelu(0.2) | conv(2,1))")
                .build(input, new Rng(1)), input)).containsExactly("layer 0.branches.0.1 (leakyrelu(0.1)): the spec "
                + "builds LeakyReLU(negative_slope=0.1), the model has LeakyReLU(negative_slope=0.2)");
        assertThat(ArchSpec.parse("concat(conv(2,1) | conv(2,1))").differences(
                ArchSpec.parse("concat(conv(2,1) | conv(2,1) | conv(2,1))").build(input, new Rng(1)), input))
                .containsExactly("layer 0 (concat(conv(2,1) | conv(2,1))): the spec has 2 branches, the model 3",
                        "the model has 0.branches.2.0.weight [2, 2, 1, 1], the spec does not",
                        "the model has 0.branches.2.0.bias [2], the spec does not");
        assertThat(ArchSpec.parse("concat(relu | tanh)").differences(
                ArchSpec.parse("concat(relu | tanh relu)").build(input, new Rng(1)), input))
                .containsExactly("layer 0.branches.1: the model has 2 layers, the spec 1");
        assertThat(ArchSpec.parse("concat(relu)").differences(new Sequential(new ReLU()), input))
                .containsExactly("layer 0 (concat(relu)): the spec builds a Concat, the model has ReLU()");
        assertThat(ArchSpec.parse("residual(relu)").differences(ArchSpec.parse("concat(relu)")
                .build(input, new Rng(1)), input))
                .containsExactly("layer 0 (residual(relu)): the spec builds a Residual, the model has a Concat");
    }

    @Test
    void summaryShowsEachBlockThenItsBranchesByPath() {
        ArchSpec ensemble = ArchSpec.parse(ENSEMBLE);
        String summary = ensemble.summary(INPUT);
        List<String> lines = summary.lines().toList();
        assertThat(lines).hasSize(1 + 1 + 2 + 3 * 15 + 1);
        long tower = ArchSpec.parse(TOWER).parameterCount(INPUT);
        assertThat(lines.stream().filter(l -> l.trim().startsWith("0 ")).findFirst().orElseThrow())
                .contains("concat, 3 branches").contains("192").endsWith(" " + 3 * tower);
        assertThat(lines.stream().filter(l -> l.contains("0.branches.2.13")).findFirst().orElseThrow())
                .contains("  dense(64)").endsWith(" " + (256 * 64 + 64));
    }

    // ------------------------------------------------------------------------------------ ensembles

    @Test
    void independentlyTrainedTowersLoadIntoOneEnsembleModel() {
        ArchSpec towerSpec = ArchSpec.parse(TOWER);
        Tensor x = Tensor.uniform(new Rng(7), -1f, 1f, 4, 1, 16, 16);
        List<Sequential> towers = new ArrayList<>();
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (int k = 0; k < 3; k++) {
            Sequential tower = towerSpec.build(INPUT, new Rng(10 + k));
            tower.forward(Tensor.uniform(new Rng(20 + k), -1f, 1f, 4, 1, 16, 16)); // batch-norm statistics
            tower.eval();
            towers.add(tower);
            state.putAll(asBranch(0, k, tower.stateDict()));
        }
        Sequential ensemble = ArchSpec.parse(ENSEMBLE).build(INPUT, new Rng(99));
        ensemble.loadStateDict(state, true);
        ensemble.eval();
        Tensor expected = new L2Normalize().forward(Tensor.concat(1, towers.get(0).forward(x),
                towers.get(1).forward(x), towers.get(2).forward(x)));
        assertThat(ensemble.forward(x).toArray()).containsExactly(expected.toArray());
    }
}
