package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.nn.ArchSpec.Kind;
import org.siamese4j.nn.ArchSpec.Layer;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** The one-line architecture spec: grammar, defaults, canonical printing, shape inference, building, errors. */
class ArchSpecTest {

    static final String REFERENCE = "conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu maxpool(2) "
            + "conv(128,3,pad=1) relu maxpool(2) flatten dense(256) relu dense(128) l2norm";

    /** Every layer kind, on a 3x9x7 input: batchnorm appears both as 2d (after conv) and as 1d (after dense). */
    static final String ALL_KINDS = "conv(4,3,pad=1,pad_mode=reflect) batchnorm leakyrelu(0.1) maxpool(2) "
            + "conv(5,2,stride=2) avgpool(1) tanh dropout(0.25) flatten dense(6) batchnorm sigmoid relu l2norm";

    static final int[] ALL_KINDS_INPUT = {3, 9, 7};

    static AbstractThrowableAssert<?, ? extends Throwable> assertParseFails(String spec) {
        return assertThatThrownBy(() -> ArchSpec.parse(spec)).isInstanceOf(IllegalArgumentException.class);
    }

    static AbstractThrowableAssert<?, ? extends Throwable> assertBuildFails(String spec, int... input) {
        ArchSpec arch = ArchSpec.parse(spec);
        return assertThatThrownBy(() -> arch.build(input, new Rng(1))).isInstanceOf(IllegalArgumentException.class);
    }

    static Map<String, List<Integer>> shapesOf(Map<String, Tensor> stateDict) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        stateDict.forEach((name, t) -> out.put(name, boxed(t.shape())));
        return out;
    }

    static List<Integer> boxed(int[] shape) {
        List<Integer> out = new ArrayList<>();
        for (int d : shape) {
            out.add(d);
        }
        return out;
    }

    // ------------------------------------------------------------------------------------ reference tower

    @Test
    void activationElementsCountTheInputAndEveryLayerOutput() {
        // 1x112x92 input, then conv 32x112x92 and its relu, pool 32x56x46, conv 64x56x46 and relu, pool 64x28x23,
        // conv 128x28x23 and relu, pool 128x14x11 and flatten, dense 256 and relu, dense 128 and l2norm
        long reference = 10304 + 2 * 329728 + 82432 + 2 * 164864 + 41216 + 2 * 82432 + 2 * 19712 + 2 * 256 + 2 * 128;
        assertThat(ArchSpec.parse(REFERENCE).activationElements(ArchSpec.parseInput("1x112x92")))
                .isEqualTo(reference).isEqualTo(1_328_192L);
        // The CLI's default tower (CliData.DEFAULT_ARCH) on 1x56x46: under a megabyte of floats.
        ArchSpec small = ArchSpec.parse("conv(16,3,pad=1) batchnorm relu maxpool(2) conv(32,3,pad=1) batchnorm relu "
                + "maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten dense(64) l2norm");
        assertThat(small.activationElements(ArchSpec.parseInput("1x56x46"))).isEqualTo(237_456L);
        // Issue 16: a few bytes of spec, 1.3 G floats for one image.
        assertThat(ArchSpec.parse("conv(20,1)").activationElements(new int[] {1, 8000, 8000}))
                .isEqualTo(21L * 8000 * 8000);
        assertThatThrownBy(() -> ArchSpec.parse("dense(2)").activationElements(new int[] {1, 4, 4}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("put flatten before it");
    }

    @Test
    void referenceSpecBuildsTheReferenceTower() {
        ArchSpec arch = ArchSpec.parse(REFERENCE);
        int[] input = ArchSpec.parseInput("1x112x92");
        Sequential tower = arch.build(input, new Rng(7));

        assertThat(tower.size()).isEqualTo(14);
        Map<String, List<Integer>> expected = new LinkedHashMap<>();
        expected.put("0.weight", List.of(32, 1, 3, 3));
        expected.put("0.bias", List.of(32));
        expected.put("3.weight", List.of(64, 32, 3, 3));
        expected.put("3.bias", List.of(64));
        expected.put("6.weight", List.of(128, 64, 3, 3));
        expected.put("6.bias", List.of(128));
        expected.put("10.weight", List.of(256, 19712));
        expected.put("10.bias", List.of(256));
        expected.put("12.weight", List.of(128, 256));
        expected.put("12.bias", List.of(128));
        assertThat(shapesOf(tower.stateDict())).containsExactlyEntriesOf(expected);
        assertThat(tower.parameterCount()).isEqualTo(5_172_096L);
        assertThat(arch.parameterCount(input)).isEqualTo(5_172_096L);

        // the modules Towers.reference uses, in its order
        List<Class<?>> classes = new ArrayList<>();
        for (int i = 0; i < tower.size(); i++) {
            classes.add(tower.get(i).getClass());
        }
        assertThat(classes).containsExactly(Conv2d.class, ReLU.class, MaxPool2d.class, Conv2d.class, ReLU.class,
                MaxPool2d.class, Conv2d.class, ReLU.class, MaxPool2d.class, Flatten.class, Linear.class, ReLU.class,
                Linear.class, L2Normalize.class);
        assertThat(tower.get(0).toString())
                .isEqualTo("Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))");
        assertThat(tower.get(2).toString()).isEqualTo("MaxPool2d(kernel_size=2, stride=2, padding=0)");

        List<int[]> shapes = arch.layerShapes(input);
        assertThat(shapes.get(8)).containsExactly(128, 14, 11);
        assertThat(shapes.get(9)).containsExactly(19712);
        assertThat(arch.outputShape(input)).containsExactly(128);

        Tensor y = tower.eval().forward(Tensor.uniform(new Rng(3), 0f, 1f, 1, 1, 112, 92));
        assertThat(y.shape()).containsExactly(1, 128);
        double norm = 0;
        for (float v : y.toArray()) {
            norm += v * v;
        }
        assertThat(Math.sqrt(norm)).isCloseTo(1.0, within(1e-5));
    }

    @Test
    void referenceSpecIsAlreadyCanonical() {
        assertThat(ArchSpec.parse(REFERENCE).toString()).isEqualTo(REFERENCE);
    }

    @Test
    void summaryListsEveryLayerWithItsShapeAndParameters() {
        String summary = ArchSpec.parse(REFERENCE).summary(new int[] {1, 112, 92});
        assertThat(summary).contains("1x112x92").contains("conv(32,3,pad=1)").contains("32x112x92")
                .contains("128x14x11").contains("19712").contains("5046528").contains("5172096");
        assertThat(summary.lines().count()).isEqualTo(1 + 1 + 14 + 1);
        assertThat(summary.lines()).allSatisfy(line -> assertThat(line).doesNotEndWith(" "));
    }

    @Test
    void theExamplesOfTheModelFormatDocBuild() {
        assertThat(ArchSpec.parse("conv(16,3,pad=1) batchnorm relu maxpool(2) conv(32,3,pad=1) batchnorm relu "
                + "maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten dense(64) l2norm")
                .layerShapes(new int[] {1, 56, 46}).get(11)).containsExactly(64, 7, 5);
        ArchSpec strided = ArchSpec.parse(
                "conv(16,5,stride=2,pad=2,pad_mode=reflect) leakyrelu(0.1) avgpool(2) flatten dropout(0.5) dense(10)");
        assertThat(strided.layerShapes(new int[] {3, 32, 32}).get(0)).containsExactly(16, 16, 16);
        assertThat(strided.outputShape(new int[] {3, 32, 32})).containsExactly(10);
        assertThat(ArchSpec.parse("dense(8) tanh dense(1) sigmoid").outputShape(new int[] {2})).containsExactly(1);
        ArchSpec resnet = ArchSpec.parse("conv(16,3,pad=1) batchnorm relu residual(conv(16,3,pad=1) batchnorm relu "
                + "conv(16,3,pad=1) batchnorm) relu residual(conv(32,3,stride=2,pad=1) batchnorm relu conv(32,3,pad=1) "
                + "batchnorm | conv(32,1,stride=2) batchnorm) relu globalavgpool flatten dense(64) l2norm");
        assertThat(resnet.layerShapes(new int[] {1, 56, 46}).get(5)).containsExactly(32, 28, 23);
        assertThat(resnet.outputShape(new int[] {1, 56, 46})).containsExactly(64);
        ArchSpec blocks = ArchSpec.parse("residual(conv(64,3,pad=1) batchnorm relu conv(64,3,pad=1) batchnorm) relu "
                + "residual(conv(128,3,stride=2,pad=1) batchnorm relu conv(128,3,pad=1) batchnorm | "
                + "conv(128,1,stride=2) batchnorm) relu");
        assertThat(blocks.outputShape(new int[] {64, 14, 14})).containsExactly(128, 7, 7);
        assertThat(ArchSpec.parse("conv(64,3,pad=1,groups=64) batchnorm prelu conv(128,1) batchnorm prelu")
                .outputShape(new int[] {64, 14, 14})).containsExactly(128, 14, 14);
    }

    // ------------------------------------------------------------------------------------ every layer kind

    @Test
    void everyLayerKindBuildsItsModuleWithInferredSizes() {
        ArchSpec arch = ArchSpec.parse(ALL_KINDS);
        Sequential model = arch.build(ALL_KINDS_INPUT, new Rng(5));
        List<String> reprs = new ArrayList<>();
        for (int i = 0; i < model.size(); i++) {
            reprs.add(model.get(i).toString());
        }
        assertThat(reprs).containsExactly(
                "Conv2d(3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), padding_mode='reflect')",
                "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
                "LeakyReLU(negative_slope=0.1)",
                "MaxPool2d(kernel_size=2, stride=2, padding=0)",
                "Conv2d(4, 5, kernel_size=(2, 2), stride=(2, 2))",
                "AvgPool2d(kernel_size=1, stride=1, padding=0)",
                "Tanh()",
                "Dropout(p=0.25)",
                "Flatten(start_dim=1, end_dim=-1)",
                "Linear(in_features=10, out_features=6, bias=True)",
                "BatchNorm1d(6, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
                "Sigmoid()",
                "ReLU()",
                "L2Normalize(dim=1, eps=1e-12)");

        List<int[]> shapes = arch.layerShapes(ALL_KINDS_INPUT);
        assertThat(shapes.get(0)).containsExactly(4, 9, 7);
        assertThat(shapes.get(3)).containsExactly(4, 4, 3);
        assertThat(shapes.get(4)).containsExactly(5, 2, 1);
        assertThat(shapes.get(8)).containsExactly(10);
        assertThat(arch.outputShape(ALL_KINDS_INPUT)).containsExactly(6);

        // the shapes it predicts are the ones the modules produce, in training and in evaluation mode
        Tensor x = Tensor.uniform(new Rng(6), -1f, 1f, 2, 3, 9, 7);
        assertThat(model.forward(x).shape()).containsExactly(2, 6);
        assertThat(model.eval().forward(x).shape()).containsExactly(2, 6);
    }

    @Test
    void stateShapesAndParameterCountMatchTheBuiltModelWithoutBuildingIt() {
        ArchSpec arch = ArchSpec.parse(ALL_KINDS);
        Sequential model = arch.build(ALL_KINDS_INPUT, new Rng(5));
        Map<String, List<Integer>> predicted = new LinkedHashMap<>();
        arch.stateShapes(ALL_KINDS_INPUT).forEach((name, shape) -> predicted.put(name, boxed(shape)));
        assertThat(predicted).containsExactlyEntriesOf(shapesOf(model.stateDict()));
        assertThat(predicted).containsKeys("1.running_mean", "1.num_batches_tracked", "10.running_var");
        assertThat(predicted.get("1.num_batches_tracked")).isEmpty();
        assertThat(arch.parameterCount(ALL_KINDS_INPUT)).isEqualTo(model.parameterCount());
    }

    @Test
    void featureInputBuildsAnMlp() {
        ArchSpec arch = ArchSpec.parse("dense(8) batchnorm tanh dropout(0.5) dense(1) sigmoid");
        Sequential mlp = arch.build(ArchSpec.parseInput("2"), new Rng(1));
        assertThat(mlp.get(0)).isInstanceOf(Linear.class);
        assertThat(((Linear) mlp.get(0)).inFeatures()).isEqualTo(2);
        assertThat(mlp.get(1)).isInstanceOf(BatchNorm1d.class);
        assertThat(((Linear) mlp.get(4)).inFeatures()).isEqualTo(8);
        assertThat(mlp.forward(Tensor.zeros(5, 2)).shape()).containsExactly(5, 1);
        // flatten of flat features is a no-op, as in PyTorch
        assertThat(ArchSpec.parse("flatten dense(3)").outputShape(new int[] {4})).containsExactly(3);
    }

    @Test
    void buildIsDeterministicAndDropoutDrawsFromTheGivenRng() {
        ArchSpec arch = ArchSpec.parse("dense(4) dropout(0.5)");
        Sequential a = arch.build(new int[] {3}, new Rng(42));
        Rng rng = new Rng(42);
        Sequential b = arch.build(new int[] {3}, rng);
        assertThat(b.stateDict().get("0.weight").toArray()).containsExactly(a.stateDict().get("0.weight").toArray());
        long before = rng.state();
        b.train().forward(Tensor.ones(2, 3));
        assertThat(rng.state()).as("dropout's masks come from the rng given to build").isNotEqualTo(before);
    }

    @Test
    void differencesIsEmptyForTheBuiltModelAndListsEachMismatch() {
        ArchSpec arch = ArchSpec.parse(ALL_KINDS);
        assertThat(arch.differences(arch.build(ALL_KINDS_INPUT, new Rng(1)), ALL_KINDS_INPUT)).isEmpty();
        Sequential other = ArchSpec.parse(ALL_KINDS.replace("leakyrelu(0.1)", "leakyrelu(0.2)")
                .replace("dropout(0.25)", "dropout(0.5)")).build(ALL_KINDS_INPUT, new Rng(1));
        assertThat(arch.differences(other, ALL_KINDS_INPUT)).containsExactly(
                "layer 2 (leakyrelu(0.1)): the spec builds LeakyReLU(negative_slope=0.1), the model has "
                        + "LeakyReLU(negative_slope=0.2)",
                "layer 7 (dropout(0.25)): the spec builds Dropout(p=0.25), the model has Dropout(p=0.5)");
        Sequential wider = ArchSpec.parse("dense(5)").build(new int[] {3}, new Rng(1));
        assertThat(ArchSpec.parse("dense(4)").differences(wider, new int[] {3})).containsExactly(
                "layer 0 (dense(4)): the spec builds Linear(in_features=3, out_features=4, bias=True), the model "
                        + "has Linear(in_features=3, out_features=5, bias=True)",
                "0.weight is [5, 3] in the model, [4, 3] in the spec",
                "0.bias is [5] in the model, [4] in the spec");
        assertThat(ArchSpec.parse("relu").differences(new ReLU(), new int[] {3}))
                .containsExactly("the model is a ReLU, the spec builds a Sequential of 1 layer");
    }

    // ------------------------------------------------------------------------------------ grammar and defaults

    @Test
    void defaultsAreStrideOnePadZeroZerosAndPoolStrideEqualsKernel() {
        Layer conv = ArchSpec.parse("conv(8,3)").layers().get(0);
        assertThat(conv).isEqualTo(new Layer(Kind.CONV, 8, 3, 1, 0, PaddingMode.ZEROS, 0f));
        assertThat(ArchSpec.parse("maxpool(3)").layers().get(0)).isEqualTo(Layer.maxPool(3, 3));
        assertThat(ArchSpec.parse("avgpool(2)").layers().get(0)).isEqualTo(Layer.avgPool(2, 2));
        assertThat(ArchSpec.parse("maxpool(3,stride=1)").layers().get(0).stride()).isEqualTo(1);
    }

    @Test
    void writtenOutDefaultsParseToTheSameSpecAndPrintCanonically() {
        ArchSpec verbose = ArchSpec.parse("conv(8,3,stride=1,pad=0,pad_mode=zeros) maxpool(2,stride=2) "
                + "avgpool(3,stride=3)");
        assertThat(verbose).isEqualTo(ArchSpec.parse("conv(8,3) maxpool(2) avgpool(3)"));
        assertThat(verbose.toString()).isEqualTo("conv(8,3) maxpool(2) avgpool(3)");
    }

    @Test
    void whitespaceAndNamedRequiredArgumentsAreAccepted() {
        ArchSpec loose = ArchSpec.parse("  conv( out = 8 , k=3 ,pad = 1 )\trelu\n\nmaxpool (2)  flatten dense( out=4 ) ");
        assertThat(loose.toString()).isEqualTo("conv(8,3,pad=1) relu maxpool(2) flatten dense(4)");
        assertThat(ArchSpec.parse("relu() tanh( )")).isEqualTo(ArchSpec.parse("relu tanh"));
        assertThat(ArchSpec.parse("dropout(p=.5) leakyrelu(slope=-2E-1)").toString())
                .isEqualTo("dropout(0.5) leakyrelu(-0.2)");
    }

    @Test
    void toStringRoundTrips() {
        List<String> specs = List.of(REFERENCE, ALL_KINDS,
                "conv(16,5,stride=2,pad=2,pad_mode=reflect) maxpool(3,stride=2) avgpool(2,stride=1)",
                "dense(3) leakyrelu(1e-05) dropout(0.1) dropout(0.0) dropout(1.0) leakyrelu(-3.5)",
                "batchnorm sigmoid tanh relu flatten l2norm");
        for (String s : specs) {
            ArchSpec spec = ArchSpec.parse(s);
            assertThat(ArchSpec.parse(spec.toString())).as(s).isEqualTo(spec);
            assertThat(ArchSpec.parse(spec.toString()).toString()).as(s).isEqualTo(spec.toString());
            assertThat(ArchSpec.parse(spec.toString()).hashCode()).as(s).isEqualTo(spec.hashCode());
        }
        assertThat(ArchSpec.parse("leakyrelu(0.00001) dropout(0.10) leakyrelu(-0.0)").toString())
                .isEqualTo("leakyrelu(1e-05) dropout(0.1) leakyrelu(0.0)");
    }

    @Test
    void programmaticSpecsEqualParsedOnes() {
        ArchSpec built = ArchSpec.of(Layer.conv(32, 3, 1, 1, PaddingMode.ZEROS), Layer.of(Kind.RELU),
                Layer.maxPool(2), Layer.of(Kind.FLATTEN), Layer.dense(10), Layer.dropout(0.5f),
                Layer.leakyRelu(0.2f), Layer.avgPool(1), Layer.conv(3, 1));
        assertThat(built).isEqualTo(ArchSpec.parse(
                "conv(32,3,pad=1) relu maxpool(2) flatten dense(10) dropout(0.5) leakyrelu(0.2) avgpool(1) conv(3,1)"));
        assertThat(built.size()).isEqualTo(9);
        assertThat(Kind.CONV.usage())
                .isEqualTo("conv(out,k[,stride=s][,pad=p][,pad_mode=zeros|reflect][,groups=g])");
        assertThat(Kind.MAXPOOL.usage()).isEqualTo("maxpool(k[,stride=s])");
        assertThat(Kind.RELU.usage()).isEqualTo("relu");
    }

    @Test
    void layerFactoriesCheckTheirValues() {
        assertThatThrownBy(() -> Layer.conv(0, 3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("out").hasMessageContaining("0");
        assertThatThrownBy(() -> Layer.maxPool(2, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stride");
        assertThatThrownBy(() -> Layer.dropout(1.5f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1.5");
        assertThatThrownBy(() -> Layer.leakyRelu(Float.NaN)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NaN");
        assertThatThrownBy(() -> Layer.of(Kind.DENSE)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("dense(out)");
        assertThatThrownBy(() -> new Layer(Kind.RELU, 3, 0, 0, 0, null, 0f)).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("relu takes no out");
        assertThatThrownBy(ArchSpec::of).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one layer");
    }

    // ------------------------------------------------------------------------------------ groups, prelu, globalavgpool

    /** A depthwise separable block with PReLU, then global pooling: what MobileFaceNet-like towers are made of. */
    static final String DEPTHWISE = "conv(16,3,stride=2,pad=1) prelu conv(16,3,pad=1,groups=16) prelu conv(32,1) "
            + "conv(32,3,groups=4) globalavgpool flatten dense(8) prelu";

    @Test
    void groupsPreluAndGlobalAvgPoolParseAndPrintCanonically() {
        ArchSpec spec = ArchSpec.parse(DEPTHWISE);
        assertThat(spec.toString()).isEqualTo(DEPTHWISE);
        assertThat(ArchSpec.parse(spec.toString())).isEqualTo(spec);
        assertThat(spec.layers().get(2)).isEqualTo(Layer.conv(16, 3, 1, 1, PaddingMode.ZEROS, 16));
        assertThat(spec.layers().get(2).groups()).isEqualTo(16);
        assertThat(spec.layers().get(4).groups()).as("the default").isEqualTo(1);
        assertThat(spec.layers().get(1)).isEqualTo(Layer.of(Kind.PRELU));
        assertThat(spec.layers().get(6)).isEqualTo(Layer.of(Kind.GLOBALAVGPOOL));
        assertThat(ArchSpec.parse("conv(8,3,groups=1) prelu() globalavgpool( )").toString())
                .isEqualTo("conv(8,3) prelu globalavgpool");
        assertThat(ArchSpec.parse("conv(out=8,k=3,groups=2,pad=1)").toString()).isEqualTo("conv(8,3,pad=1,groups=2)");
        assertThat(Kind.PRELU.usage()).isEqualTo("prelu");
        assertThat(Kind.GLOBALAVGPOOL.usage()).isEqualTo("globalavgpool");
    }

    @Test
    void groupsMustDivideTheOutputWhenParsedAndTheInputWhenShaped() {
        assertParseFails("conv(8,3,groups=3)").hasMessageContaining("layer 0 'conv(8,3,groups=3)'")
                .hasMessageContaining("groups 3 must divide the output channels 8");
        assertParseFails("conv(8,3,groups=0)").hasMessageContaining("groups must be at least 1, got 0");
        assertParseFails("prelu(2)").hasMessageContaining("prelu takes no arguments");
        assertParseFails("gap").hasMessageContaining("did you mean 'globalavgpool'");
        assertThatThrownBy(() -> Layer.conv(8, 3, 1, 0, PaddingMode.ZEROS, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("groups 3 must divide");
        assertThatThrownBy(() -> new Layer(Kind.RELU, 0, 0, 0, 0, null, 0f, 2, null, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("relu takes no groups");
        ArchSpec grouped = ArchSpec.parse("conv(6,3,groups=3)");
        assertThatThrownBy(() -> grouped.layerShapes(new int[] {4, 5, 5})).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("layer 0 conv(6,3,groups=3)")
                .hasMessageContaining("[4, 5, 5]").hasMessageContaining("groups 3 must divide the input channels 4");
        assertThat(grouped.outputShape(new int[] {3, 5, 5})).containsExactly(6, 3, 3);
        assertThatThrownBy(() -> ArchSpec.parse("flatten globalavgpool").layerShapes(new int[] {2, 3, 3}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layer 1 globalavgpool")
                .hasMessageContaining("needs an image input");
    }

    @Test
    void groupsPreluAndGlobalAvgPoolInferShapesAndStateShapes() {
        ArchSpec spec = ArchSpec.parse(DEPTHWISE);
        int[] input = {3, 12, 11};
        List<int[]> shapes = spec.layerShapes(input);
        assertThat(shapes.get(0)).containsExactly(16, 6, 6);
        assertThat(shapes.get(1)).containsExactly(16, 6, 6);
        assertThat(shapes.get(5)).containsExactly(32, 4, 4);
        assertThat(shapes.get(6)).containsExactly(32, 1, 1);
        assertThat(shapes.get(7)).containsExactly(32);
        assertThat(spec.outputShape(input)).containsExactly(8);
        Map<String, List<Integer>> state = new LinkedHashMap<>();
        spec.stateShapes(input).forEach((name, shape) -> state.put(name, boxed(shape)));
        Map<String, List<Integer>> expected = new LinkedHashMap<>();
        expected.put("0.weight", List.of(16, 3, 3, 3));
        expected.put("0.bias", List.of(16));
        expected.put("1.weight", List.of(16));              // PyTorch's nn.PReLU(16): one slope per channel
        expected.put("2.weight", List.of(16, 1, 3, 3));     // depthwise: in/groups = 1
        expected.put("2.bias", List.of(16));
        expected.put("3.weight", List.of(16));
        expected.put("4.weight", List.of(32, 16, 1, 1));
        expected.put("4.bias", List.of(32));
        expected.put("5.weight", List.of(32, 8, 3, 3));     // 4 groups of 32/4 = 8 input channels
        expected.put("5.bias", List.of(32));
        expected.put("8.weight", List.of(8, 32));
        expected.put("8.bias", List.of(8));
        expected.put("9.weight", List.of(8));               // on features: one slope per feature
        assertThat(state).containsExactlyEntriesOf(expected);
        long params = 16 * 27 + 16 + 16 + 16 * 9 + 16 + 16 + 32 * 16 + 32 + 32 * 8 * 9 + 32 + 8 * 32 + 8 + 8;
        assertThat(spec.parameterCount(input)).isEqualTo(params);
        // activations: input, then each layer's output
        long activations = 3 * 12 * 11 + 4 * (16 * 6 * 6) + 32 * 6 * 6 + 32 * 4 * 4 + 32 + 32 + 8 + 8;
        assertThat(spec.activationElements(input)).isEqualTo(activations);
    }

    @Test
    void groupsPreluAndGlobalAvgPoolBuildTheLayersTheirStateShapesPredict() {
        ArchSpec spec = ArchSpec.parse(DEPTHWISE);
        int[] input = {3, 12, 11};
        Sequential model = spec.build(input, new Rng(3));
        assertThat(model.get(2)).isInstanceOf(Conv2d.class);
        assertThat(((Conv2d) model.get(2)).groups()).isEqualTo(16);
        assertThat(((Conv2d) model.get(5)).groups()).isEqualTo(4);
        assertThat(model.get(1)).isInstanceOf(PReLU.class);
        assertThat(model.get(6)).isInstanceOf(GlobalAvgPool2d.class);
        Map<String, List<Integer>> built = new LinkedHashMap<>();
        model.stateDict().forEach((name, t) -> built.put(name, boxed(t.shape())));
        Map<String, List<Integer>> predicted = new LinkedHashMap<>();
        spec.stateShapes(input).forEach((name, shape) -> predicted.put(name, boxed(shape)));
        assertThat(built).containsExactlyEntriesOf(predicted);
        Tensor out = model.forward(Tensor.randn(new Rng(4), 2, 3, 12, 11));
        assertThat(out.shape()).containsExactly(2, 8);
    }

    @Test
    void aMobileFaceNetStyleResidualTowerBuildsAndTrains() {
        ArchSpec spec = ArchSpec.parse("conv(8,3,stride=2,pad=1) batchnorm prelu residual(conv(16,1) batchnorm prelu "
                + "conv(16,3,pad=1,groups=16) batchnorm prelu conv(8,1) batchnorm) conv(16,1) batchnorm prelu "
                + "globalavgpool flatten dense(4) l2norm");
        Sequential model = spec.build(new int[] {3, 10, 9}, new Rng(5));
        Tensor x = Tensor.randn(new Rng(6), 3, 3, 10, 9);
        Tensor target = Tensor.randn(new Rng(7), 3, 4);
        org.siamese4j.optim.Adam adam = new org.siamese4j.optim.Adam(model.parameters(), 0.01f);
        float first = Float.NaN;
        float last = Float.NaN;
        for (int step = 0; step < 8; step++) {
            adam.zeroGrad();
            Tensor loss = model.forward(x).sub(target).pow(2).mean();
            loss.backward();
            adam.step();
            last = loss.item();
            if (step == 0) {
                first = last;
            }
        }
        assertThat(last).isLessThan(first);
    }

    // ------------------------------------------------------------------------------------ parse errors

    @Test
    void emptyOrNullSpecIsRejected() {
        assertParseFails("").hasMessageContaining("empty").hasMessageContaining("valid layers");
        assertParseFails("   \t ").hasMessageContaining("empty");
        assertParseFails(null).hasMessageContaining("null");
    }

    @Test
    void unknownLayerNamesTheIndexTokenAndValidLayers() {
        assertParseFails("relu relu linear(3)").hasMessageContaining("layer 2 'linear(3)'")
                .hasMessageContaining("unknown layer 'linear'").hasMessageContaining("did you mean 'dense'")
                .hasMessageContaining("conv(out,k[,stride=s][,pad=p][,pad_mode=zeros|reflect][,groups=g])")
                .hasMessageContaining("l2norm");
        assertParseFails("Conv(8,3)").hasMessageContaining("layer 0").hasMessageContaining("did you mean 'conv'");
        assertParseFails("relu softmax").hasMessageContaining("layer 1 'softmax'")
                .hasMessageNotContaining("did you mean").hasMessageContaining("valid layers");
    }

    @Test
    void argumentCountErrorsShowTheUsage() {
        assertParseFails("relu(2)").hasMessageContaining("layer 0 'relu(2)'").hasMessageContaining("no arguments");
        assertParseFails("relu conv").hasMessageContaining("layer 1 'conv'")
                .hasMessageContaining("needs arguments: conv(out,k[,stride=s]");
        assertParseFails("conv(8)").hasMessageContaining("missing argument 'k'");
        assertParseFails("dense()").hasMessageContaining("argument 1 is empty").hasMessageContaining("dense(out)");
        assertParseFails("conv(8,,3)").hasMessageContaining("argument 2 is empty");
        assertParseFails("conv(8,3,)").hasMessageContaining("argument 3 is empty");
        assertParseFails("conv(8,3,1)").hasMessageContaining("too many positional arguments at '1'")
                .hasMessageContaining("conv takes 2 (out, k)").hasMessageContaining("stride=1");
        assertParseFails("dense(8,3)").hasMessageContaining("too many positional").hasMessageContaining("dense(out)");
    }

    @Test
    void argumentNameErrorsListTheValidNames() {
        assertParseFails("relu conv(64,3,pid=1)").hasMessageContaining("layer 1 'conv(64,3,pid=1)'")
                .hasMessageContaining("unknown argument 'pid'")
                .hasMessageContaining("conv takes out, k, stride, pad, pad_mode");
        assertParseFails("conv(8,3,pad=1,pad=2)").hasMessageContaining("'pad' is given twice");
        assertParseFails("conv(8,k=3,out=4)").hasMessageContaining("'out' is given twice");
        assertParseFails("conv(out=8,3)").hasMessageContaining("positional argument '3' follows a named one");
        assertParseFails("conv(8,3,pad=)").hasMessageContaining("'pad' has no value");
    }

    @Test
    void argumentValueErrorsNameTheArgumentAndValue() {
        assertParseFails("conv(0,3)").hasMessageContaining("out must be at least 1, got 0");
        assertParseFails("conv(8,3,stride=0)").hasMessageContaining("stride must be at least 1, got 0");
        assertParseFails("conv(8,3,pad=-1)").hasMessageContaining("pad must be an integer >= 0, got '-1'");
        assertParseFails("conv(8,3.5)").hasMessageContaining("k must be an integer >= 1, got '3.5'");
        assertParseFails("dense(99999999999)").hasMessageContaining("too large");
        assertParseFails("conv(8,3,pad_mode=circular)")
                .hasMessageContaining("pad_mode must be zeros or reflect, got 'circular'");
        assertParseFails("dropout(1.5)").hasMessageContaining("p must be a probability in [0, 1], got 1.5");
        assertParseFails("dropout(-0.1)").hasMessageContaining("[0, 1]");
        assertParseFails("dropout(NaN)").hasMessageContaining("p must be a decimal number, got 'NaN'");
        assertParseFails("leakyrelu(0x1p3)").hasMessageContaining("decimal number");
        assertParseFails("leakyrelu(1f)").hasMessageContaining("decimal number");
        assertParseFails("leakyrelu(1e99)").hasMessageContaining("out of the float range");
    }

    @Test
    void tokenizerErrorsGiveTheCharacterPosition() {
        assertParseFails("conv(8,3 relu").hasMessageContaining("layer 0")
                .hasMessageContaining("missing ')' for the '(' at character 4");
        assertParseFails("conv(8,(3)) relu").hasMessageContaining("unexpected '(' at character 7");
        assertParseFails("conv(8,3)relu").hasMessageContaining("layer 0 'conv(8,3)'")
                .hasMessageContaining("expected a space or the end after it, got 'r' at character 9");
        assertParseFails("relu, tanh").hasMessageContaining("got ',' at character 4");
        assertParseFails("relu )").hasMessageContaining("layer 1: expected a layer name at character 5, got ')'");
        assertParseFails("relu \u0000").hasMessageContaining("U+0000");
    }

    @Test
    void longHostileTokensAreShortenedInMessages() {
        String junk = "x".repeat(10_000);
        assertThatThrownBy(() -> ArchSpec.parse(junk)).isInstanceOf(IllegalArgumentException.class)
                .satisfies(e -> assertThat(e.getMessage().length()).isLessThan(1_000));
    }

    // ------------------------------------------------------------------------------------ shape errors

    @Test
    void denseOnAnImageAsksForFlattenAndShowsBothShapes() {
        assertBuildFails("conv(8,3) relu maxpool(2) dense(10)", 1, 8, 8)
                .hasMessageContaining("layer 3 dense(10)")
                .hasMessageContaining("input shape [8, 3, 3]")
                .hasMessageContaining("the output of layer 2 maxpool(2)")
                .hasMessageContaining("needs flat features [features]")
                .hasMessageContaining("put flatten before it")
                .hasMessageContaining("[72]");
    }

    @Test
    void convAndPoolNeedAnImage() {
        assertBuildFails("flatten conv(4,3)", 1, 8, 8).hasMessageContaining("layer 1 conv(4,3)")
                .hasMessageContaining("[64]").hasMessageContaining("needs an image input [C, H, W]")
                .hasMessageContaining("before flatten");
        assertBuildFails("maxpool(2)", 16).hasMessageContaining("layer 0 maxpool(2)")
                .hasMessageContaining("the model input").hasMessageContaining("give an input shape CxHxW");
    }

    @Test
    void kernelOrWindowLargerThanTheInputNamesBothSizes() {
        assertBuildFails("conv(4,3) conv(4,5)", 1, 6, 6).hasMessageContaining("layer 1 conv(4,5)")
                .hasMessageContaining("[4, 4, 4]").hasMessageContaining("5x5 kernel is larger than the input 4x4");
        assertBuildFails("conv(4,7,pad=1)", 1, 4, 9).hasMessageContaining("larger than the padded input 6x11");
        assertBuildFails("maxpool(2) maxpool(2) avgpool(3)", 2, 8, 9).hasMessageContaining("layer 2 avgpool(3)")
                .hasMessageContaining("[2, 2, 2]").hasMessageContaining("3x3 window is larger than the input 2x2");
        assertBuildFails("conv(4,3,pad=3,pad_mode=reflect)", 1, 3, 8)
                .hasMessageContaining("reflection padding 3 must be smaller").hasMessageContaining("3x8");
    }

    @Test
    void absurdSizesFailBeforeAnythingIsAllocated() {
        assertBuildFails("flatten dense(2000000000)", 1, 1000, 1000).hasMessageContaining("layer 1")
                .hasMessageContaining("weight [2000000000, 1000000]").hasMessageContaining("more elements");
        assertBuildFails("conv(2000000000,3,pad=2000000000)", 1, 3, 3).hasMessageContaining("layer 0")
                .hasMessageContaining("more elements");
        ArchSpec huge = ArchSpec.parse("flatten dense(2000000000) dense(2000000000)");
        assertThatThrownBy(() -> huge.stateShapes(new int[] {1})).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layer 2");
    }

    @Test
    void badInputShapesAreRejected() {
        ArchSpec arch = ArchSpec.parse("relu");
        assertThatThrownBy(() -> arch.build(new int[] {1, 2}, new Rng(1))).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("[C, H, W] or [features]")
                .hasMessageContaining("[1, 2]");
        assertThatThrownBy(() -> arch.build(new int[] {1, 0, 2}, new Rng(1))).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("positive");
        assertThatThrownBy(() -> arch.build(new int[] {65536, 65536, 1}, new Rng(1))).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("elements");
        assertThatThrownBy(() -> arch.build(new int[] {3}, null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rng is null");
    }

    // ------------------------------------------------------------------------------------ input shapes

    @Test
    void inputShapesParseAndFormat() {
        assertThat(ArchSpec.parseInput("1x112x92")).containsExactly(1, 112, 92);
        assertThat(ArchSpec.parseInput(" 16 ")).containsExactly(16);
        assertThat(ArchSpec.formatInput(new int[] {3, 32, 32})).isEqualTo("3x32x32");
        assertThat(ArchSpec.formatInput(new int[] {7})).isEqualTo("7");
        assertThat(ArchSpec.parseInput("1x2x3\n")).containsExactly(1, 2, 3); // outer blanks are trimmed
        for (String bad : new String[] {"1x112", "1x2x3x4", "", "x", "0x3x3", "ax3x3", "-1x3x3", "1X2X3",
                                        "1 x2x3", "+1x2x3", "99999999999x1x1", "65536x65536x1"}) {
            assertThatThrownBy(() -> ArchSpec.parseInput(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("input shape");
        }
        assertThatThrownBy(() -> ArchSpec.parseInput("1x112")).hasMessageContaining("1x112")
                .hasMessageContaining("2 dimensions").hasMessageContaining("CxHxW");
        assertThatThrownBy(() -> ArchSpec.parseInput(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
