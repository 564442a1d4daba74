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
import org.siamese4j.data.ToyShapes;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.data.ToyShapes.LabelledImages;
import org.siamese4j.nn.ArchSpec.Kind;
import org.siamese4j.nn.ArchSpec.Layer;
import org.siamese4j.optim.Adam;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** Residual blocks in the arch spec: grammar, nesting, shapes, state-dict names, building, errors, training. */
class ArchSpecResidualTest {

    static final String BLOCK = "residual(conv(8,3,pad=1) batchnorm relu conv(8,3,pad=1) batchnorm)";

    /** 1x12x12: 8x12x12 until the projection block halves it to 16x6x6, pooled to 16x3x3, then 3 classes. */
    static final String TOWER = "conv(8,3,pad=1) batchnorm relu " + BLOCK + " relu residual(conv(16,3,stride=2,pad=1) "
            + "batchnorm relu conv(16,3,pad=1) batchnorm | conv(16,1,stride=2) batchnorm) relu maxpool(2) flatten "
            + "dense(3)";

    static final int[] INPUT = {1, 12, 12};

    /** {@code depth} residual blocks, each the body of the one around it, around a relu. */
    private static String nested(int depth) {
        return "residual(".repeat(depth) + "relu" + ")".repeat(depth);
    }

    // ------------------------------------------------------------------------------------ grammar

    @Test
    void residualBlocksParsePrintCanonicallyAndRoundTrip() {
        ArchSpec tower = ArchSpec.parse(TOWER);
        assertThat(tower.toString()).isEqualTo(TOWER);
        assertThat(tower.size()).isEqualTo(10);
        Layer block = tower.layers().get(3);
        assertThat(block.kind()).isEqualTo(Kind.RESIDUAL);
        assertThat(block.body()).isEqualTo(ArchSpec.parse("conv(8,3,pad=1) batchnorm relu conv(8,3,pad=1) batchnorm"));
        assertThat(block.shortcut()).isNull();
        assertThat(tower.layers().get(5).shortcut()).isEqualTo(ArchSpec.parse("conv(16,1,stride=2) batchnorm"));

        assertThat(ArchSpec.parse(" residual ( conv( 8,3,pad=1 )\trelu|conv(8,1) )  relu").toString())
                .isEqualTo("residual(conv(8,3,pad=1) relu | conv(8,1)) relu");
        for (String s : List.of(TOWER, BLOCK, "residual(residual(relu) tanh | residual(tanh | relu) conv(4,1))",
                "dense(8) residual(dense(8) relu dense(8)) residual(dense(4) | dense(4) batchnorm)", nested(32))) {
            ArchSpec spec = ArchSpec.parse(s);
            assertThat(spec.toString()).as(s).isEqualTo(s);
            assertThat(ArchSpec.parse(spec.toString())).as(s).isEqualTo(spec);
            assertThat(ArchSpec.parse(spec.toString()).hashCode()).as(s).isEqualTo(spec.hashCode());
        }
        assertThat(ArchSpec.parse(BLOCK))
                .isNotEqualTo(ArchSpec.parse(BLOCK.replace("batchnorm)", "batchnorm | relu)")));
    }

    @Test
    void programmaticBlocksEqualParsedOnes() {
        ArchSpec body = ArchSpec.of(Layer.conv(8, 3, 1, 1, PaddingMode.ZEROS),
                Layer.of(Kind.RELU));
        ArchSpec built = ArchSpec.of(Layer.residual(body), Layer.residual(body, ArchSpec.of(Layer.conv(8, 1))));
        assertThat(built).isEqualTo(ArchSpec.parse("residual(conv(8,3,pad=1) relu) residual(conv(8,3,pad=1) relu | "
                + "conv(8,1))"));
        assertThat(Kind.RESIDUAL.usage()).isEqualTo("residual(BODY[ | SHORTCUT])");
        assertThatThrownBy(() -> Layer.of(Kind.RESIDUAL)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("residual needs arguments: residual(BODY[ | SHORTCUT])");
        assertThatThrownBy(() -> Layer.residual(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("residual needs a body");
        assertThatThrownBy(() -> new Layer(Kind.RELU, 0, 0, 0, 0, null, 0f, 0, body, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("relu takes no body or shortcut");
    }

    @Test
    void nestingIsBoundedSoAHostileSpecCannotOverflowTheStack() {
        assertThat(ArchSpec.parse(nested(32)).outputShape(new int[] {3})).containsExactly(3);
        assertParseFails(nested(33)).hasMessageContaining("residual and concat blocks nest more than 32 deep");
        assertThatThrownBy(() -> ArchSpec.parse(nested(100_000))).isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> assertThat(e.getMessage()).contains("more than 32 deep").hasSizeLessThan(1_000));
        Layer deep = ArchSpec.parse(nested(32)).layers().get(0);
        assertThatThrownBy(() -> ArchSpec.of(Layer.residual(ArchSpec.of(deep)))).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("nest 33 deep, more than 32");
    }

    @Test
    void parseErrorsNameTheLayerByItsPath() {
        assertParseFails("relu residual(conv(8,3,pad=1) relu linear(3))")
                .hasMessageContaining("layer 1.body.2 'linear(3)': unknown layer 'linear' (did you mean 'dense'?)");
        assertParseFails("residual(relu | conv(8,1,stride=0))")
                .hasMessageContaining("layer 0.shortcut.0 'conv(8,1,stride=0)': stride must be at least 1, got 0");
        assertParseFails("residual(residual(relu foo))").hasMessageContaining("layer 0.body.0.body.1 'foo'");
        assertParseFails("resblock(relu)").hasMessageContaining("did you mean 'residual'");
    }

    @Test
    void malformedBlocksSayWhatIsMissing() {
        assertParseFails("residual").hasMessageContaining("layer 0 'residual'")
                .hasMessageContaining("residual needs arguments: residual(BODY[ | SHORTCUT])");
        assertParseFails("relu residual()").hasMessageContaining("layer 1 'residual()': the body is empty");
        assertParseFails("residual(| relu)").hasMessageContaining("the body is empty");
        assertParseFails("residual(relu |)").hasMessageContaining("no layers after the '|' at character 14")
                .hasMessageContaining("residual(BODY) for the identity");
        assertParseFails("residual(relu | tanh | relu)").hasMessageContaining("a second '|' at character 21");
        assertParseFails("residual(relu").hasMessageContaining("layer 0 'residual(relu': missing ')' for the '(' at "
                + "character 8");
        assertParseFails("residual(relu | conv(4,1)").hasMessageContaining("missing ')' for the '(' at character 8");
        assertParseFails("relu | tanh").hasMessageContaining("layer 1: expected a layer name at character 5, got '|'")
                .hasMessageContaining("separates the body of a residual block from its shortcut");
        assertParseFails("relu residual(relu relu) )")
                .hasMessageContaining("layer 2: expected a layer name at character 25, got ')'");
        assertParseFails("residual(relu)relu").hasMessageContaining("layer 0 'residual(relu)': expected a space or "
                + "the end after it, got 'r' at character 14");
        assertParseFails("residual(conv(8,3)relu)").hasMessageContaining("layer 0.body.0 'conv(8,3)': expected a "
                + "space, '|' or ')' after it, got 'r' at character 18");
    }

    // ------------------------------------------------------------------------------------ shapes and names

    @Test
    void shapesAreInferredThroughTheBlocks() {
        ArchSpec tower = ArchSpec.parse(TOWER);
        List<int[]> shapes = tower.layerShapes(INPUT);
        assertThat(shapes.get(3)).containsExactly(8, 12, 12);
        assertThat(shapes.get(5)).containsExactly(16, 6, 6);
        assertThat(shapes.get(8)).containsExactly(144);
        assertThat(tower.outputShape(INPUT)).containsExactly(3);
        assertThat(ArchSpec.parse("dense(8) residual(dense(8) relu dense(8)) dense(2)").outputShape(new int[] {4}))
                .containsExactly(2);
        // the input, then body conv and relu, shortcut conv, and the sum: 4 + 4 * 8
        assertThat(ArchSpec.parse("residual(conv(2,1) relu | conv(2,1))").activationElements(new int[] {1, 2, 2}))
                .isEqualTo(36);
    }

    @Test
    void stateShapesAreTheBuiltModelsNamesInPyTorchsOrder() {
        ArchSpec tower = ArchSpec.parse(TOWER);
        Sequential model = tower.build(INPUT, new Rng(1));
        Map<String, List<Integer>> predicted = new LinkedHashMap<>();
        tower.stateShapes(INPUT).forEach((name, shape) -> predicted.put(name, boxed(shape)));
        assertThat(predicted).containsExactlyEntriesOf(shapesOf(model.stateDict()));
        assertThat(predicted).containsEntry("3.body.0.weight", List.of(8, 8, 3, 3))
                .containsEntry("3.body.4.running_var", List.of(8))
                .containsEntry("5.body.0.weight", List.of(16, 8, 3, 3))
                .containsEntry("5.shortcut.0.weight", List.of(16, 8, 1, 1))
                .containsEntry("5.shortcut.1.num_batches_tracked", List.of())
                .containsEntry("9.weight", List.of(3, 144));
        assertThat(tower.parameterCount(INPUT)).isEqualTo(model.parameterCount());
    }

    @Test
    void buildMakesResidualModulesThatFitTheInferredShapes() {
        ArchSpec tower = ArchSpec.parse(TOWER);
        Sequential model = tower.build(INPUT, new Rng(2));
        assertThat(model.get(3)).isInstanceOf(Residual.class);
        Residual identity = (Residual) model.get(3);
        assertThat(identity.body().size()).isEqualTo(5);
        assertThat(identity.shortcut()).isNull();
        Residual projection = (Residual) model.get(5);
        assertThat(projection.shortcut().get(0).toString())
                .isEqualTo("Conv2d(8, 16, kernel_size=(1, 1), stride=(2, 2))");
        Tensor x = Tensor.uniform(new Rng(3), -1f, 1f, 2, 1, 12, 12);
        assertThat(model.forward(x).shape()).containsExactly(2, 3);
        assertThat(model.eval().forward(x).shape()).containsExactly(2, 3);
        assertThat(projection.shortcut().get(1).isTraining()).isFalse();
        assertThat(tower.differences(model, INPUT)).isEmpty();
    }

    @Test
    void differencesLookInsideTheBlocks() {
        int[] input = {2, 3, 3};
        ArchSpec spec = ArchSpec.parse("residual(conv(2,1) leakyrelu(0.1))");
        assertThat(spec.differences(ArchSpec.parse("residual(conv(2,1) leakyrelu(0.2))").build(input, new Rng(1)),
                input)).containsExactly("layer 0.body.1 (leakyrelu(0.1)): the spec builds "
                + "LeakyReLU(negative_slope=0.1), the model has LeakyReLU(negative_slope=0.2)");
        assertThat(ArchSpec.parse("residual(conv(2,1))").differences(
                ArchSpec.parse("residual(conv(2,1) | conv(2,1))").build(input, new Rng(1)), input)).containsExactly(
                "layer 0 (residual(conv(2,1))): the spec has the identity shortcut, the model a projection",
                "the model has 0.shortcut.0.weight [2, 2, 1, 1], the spec does not",
                "the model has 0.shortcut.0.bias [2], the spec does not");
        assertThat(ArchSpec.parse("residual(relu)").differences(
                ArchSpec.parse("residual(relu tanh)").build(input, new Rng(1)), input))
                .containsExactly("layer 0.body: the model has 2 layers, the spec 1");
        assertThat(ArchSpec.parse("residual(relu)").differences(new Sequential(new ReLU()), input))
                .containsExactly("layer 0 (residual(relu)): the spec builds a Residual, the model has ReLU()");
        assertThat(ArchSpec.parse("relu").differences(ArchSpec.parse("residual(relu)").build(input, new Rng(1)), input))
                .containsExactly("layer 0 (relu): the spec builds ReLU(), the model has a Residual");
    }

    @Test
    void summaryShowsEachBlockThenItsLayersByPath() {
        String summary = ArchSpec.parse(TOWER).summary(INPUT);
        List<String> lines = summary.lines().toList();
        assertThat(lines).hasSize(1 + 1 + 10 + 5 + 5 + 2 + 1);
        assertThat(summary).contains("residual, projection").contains("5.shortcut.0")
                .contains(Long.toString(ArchSpec.parse(TOWER).parameterCount(INPUT)));
        // the block's line counts the parameters of its layers: 2 * (8*8*9 + 8) + 2 * (8 + 8)
        assertThat(lines.stream().filter(l -> l.trim().startsWith("3 ")).findFirst().orElseThrow())
                .contains("residual").contains("8x12x12").endsWith(" 1200");
        assertThat(lines.stream().filter(l -> l.contains("3.body.0")).findFirst().orElseThrow())
                .contains("  conv(8,3,pad=1)").endsWith(" 584");
    }

    // ------------------------------------------------------------------------------------ shape errors

    @Test
    void aBodyThatChangesTheShapeNeedsAMatchingProjection() {
        assertBuildFails("conv(8,3,pad=1) residual(conv(16,3,stride=2,pad=1) batchnorm)", 1, 8, 8)
                .hasMessage("arch spec: layer 1 residual(conv(16,3,stride=2,pad=1) batchnorm) does not fit its input "
                        + "shape [8, 8, 8] (the output of layer 0 conv(8,3,pad=1)): its body gives [16, 4, 4] but the "
                        + "identity shortcut gives the input [8, 8, 8], and the two are added; a body that changes "
                        + "the shape needs a projection after '|', e.g. residual(BODY | conv(16,1,stride=2) "
                        + "batchnorm)");
        assertBuildFails("dense(8) residual(dense(6))", 4).hasMessageContaining("e.g. residual(BODY | dense(6)");
        assertBuildFails("residual(conv(16,3,stride=2,pad=1) | conv(16,1))", 8, 8, 8)
                .hasMessageContaining("its body gives [16, 4, 4] but its shortcut gives [16, 8, 8]");
    }

    @Test
    void aLayerInsideABlockThatDoesNotFitIsNamedByItsPath() {
        assertBuildFails("flatten residual(relu conv(4,3))", 1, 4, 4)
                .hasMessageContaining("layer 1.body.1 conv(4,3) does not fit its input shape [16] (the output of "
                        + "layer 1.body.0 relu): conv needs an image input [C, H, W] but gets flat features; conv and "
                        + "pooling layers must come before flatten");
        assertBuildFails("conv(4,3) residual(dense(4))", 1, 5, 5)
                .hasMessageContaining("layer 1.body.0 dense(4) does not fit its input shape [4, 3, 3] (the input of "
                        + "residual block 1): dense needs flat features");
        assertBuildFails("residual(relu | conv(4,9))", 1, 5, 5).hasMessageContaining("layer 0.shortcut.0 conv(4,9)")
                .hasMessageContaining("9x9 kernel is larger than the input 5x5");
    }

    // ------------------------------------------------------------------------------------ training

    @Test
    void aSmallResidualTowerTrains() {
        LabelledImages data = ToyShapes.generate(60, 12, new Rng(4));
        Sequential model = ArchSpec.parse(TOWER).build(INPUT, new Rng(5));
        Adam opt = new Adam(model.parameters(), 0.01f);
        List<Float> losses = new ArrayList<>();
        for (int step = 0; step < 6; step++) {
            opt.zeroGrad();
            Tensor loss = Functional.crossEntropy(model.forward(data.images()), data.labels());
            loss.backward();
            opt.step();
            losses.add(loss.item());
        }
        // gradients reach the weights inside both blocks, and the loss falls
        assertThat(model.stateDict().get("3.body.0.weight").toArray())
                .isNotEqualTo(ArchSpec.parse(TOWER).build(INPUT, new Rng(5)).stateDict().get("3.body.0.weight")
                        .toArray());
        assertThat(losses.get(losses.size() - 1)).as("losses %s", losses).isLessThan(0.5f * losses.get(0));
    }
}
