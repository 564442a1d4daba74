package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Concat;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Dropout;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Residual;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The structure of exported graphs: nodes, attributes and initializers for a tower of every layer kind, the
 * weights' values, and the refusals. That ONNX Runtime computes what we compute is {@link OnnxExportParityTest}.
 */
class OnnxExporterTest {
    /** Every layer kind of the spec grammar, with reflect padding, groups and a projection shortcut. */
    private static final String EVERY_KIND = "conv(4,3,stride=2,pad=1,pad_mode=reflect) batchnorm relu"
            + " conv(4,3,pad=1,groups=4) leakyrelu(0.2) prelu maxpool(2) avgpool(2,stride=1)"
            + " residual(conv(4,1) batchnorm sigmoid | conv(4,1)) tanh globalavgpool flatten dense(6) batchnorm prelu"
            + " dropout(0.1) dense(5) l2norm";
    private static final int[] INPUT = {3, 12, 10};

    @TempDir
    Path dir;

    private static Sequential everyKind() {
        return ArchSpec.parse(EVERY_KIND).build(INPUT, new Rng(1));
    }

    @Test
    void everyLayerKindBecomesTheNodesAndAttributesOfItsOnnxOperators() {
        OnnxModel model = OnnxExporter.export(everyKind(), INPUT);
        assertThat(model.graph().nodes()).extracting(OnnxNode::toString).containsExactly(
                "Pad \"0.pad\" (input, 0.pads) -> (0.pad) [mode=\"reflect\"]",
                "Conv \"0\" (0.pad, 0.weight, 0.bias) -> (0) [dilations=[1, 1], group=1, kernel_shape=[3, 3],"
                        + " pads=[0, 0, 0, 0], strides=[2, 2]]",
                "BatchNormalization \"1\" (0, 1.weight, 1.bias, 1.running_mean, 1.running_var) -> (1)"
                        + " [epsilon=1.0E-5, momentum=0.9]",
                "Relu \"2\" (1) -> (2)",
                "Conv \"3\" (2, 3.weight, 3.bias) -> (3) [dilations=[1, 1], group=4, kernel_shape=[3, 3],"
                        + " pads=[1, 1, 1, 1], strides=[1, 1]]",
                "LeakyRelu \"4\" (3) -> (4) [alpha=0.2]",
                "PRelu \"5\" (4, 5.weight) -> (5)",
                "MaxPool \"6\" (5) -> (6) [ceil_mode=0, kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[2, 2]]",
                "AveragePool \"7\" (6) -> (7) [ceil_mode=0, count_include_pad=1, kernel_shape=[2, 2],"
                        + " pads=[0, 0, 0, 0], strides=[1, 1]]",
                "Conv \"8.body.0\" (7, 8.body.0.weight, 8.body.0.bias) -> (8.body.0) [dilations=[1, 1], group=1,"
                        + " kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1]]",
                "BatchNormalization \"8.body.1\" (8.body.0, 8.body.1.weight, 8.body.1.bias, 8.body.1.running_mean,"
                        + " 8.body.1.running_var) -> (8.body.1) [epsilon=1.0E-5, momentum=0.9]",
                "Sigmoid \"8.body.2\" (8.body.1) -> (8.body.2)",
                "Conv \"8.shortcut.0\" (7, 8.shortcut.0.weight, 8.shortcut.0.bias) -> (8.shortcut.0)"
                        + " [dilations=[1, 1], group=1, kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1]]",
                "Add \"8\" (8.body.2, 8.shortcut.0) -> (8)",
                "Tanh \"9\" (8) -> (9)",
                "GlobalAveragePool \"10\" (9) -> (10)",
                "Flatten \"11\" (10) -> (11) [axis=1]",
                "Gemm \"12\" (11, 12.weight, 12.bias) -> (12) [alpha=1.0, beta=1.0, transB=1]",
                "BatchNormalization \"13\" (12, 13.weight, 13.bias, 13.running_mean, 13.running_var) -> (13)"
                        + " [epsilon=1.0E-5, momentum=0.9]",
                "PRelu \"14\" (13, 14.weight) -> (14)",
                // the dropout (15) is left out: the identity in evaluation mode
                "Gemm \"16\" (14, 16.weight, 16.bias) -> (16) [alpha=1.0, beta=1.0, transB=1]",
                "ReduceL2 \"17.norm\" (16) -> (17.norm) [axes=[1], keepdims=1]",
                "Clip \"17.clamp\" (17.norm, 17.eps) -> (17.clamp)",
                "Div \"17\" (16, 17.clamp) -> (embedding)");
        assertThat(model.graph().initializers()).extracting(OnnxTensor::toString).containsExactly(
                "\"0.pads\" INT64 [8]", "\"0.weight\" FLOAT [4, 3, 3, 3]", "\"0.bias\" FLOAT [4]",
                "\"1.weight\" FLOAT [4]", "\"1.bias\" FLOAT [4]", "\"1.running_mean\" FLOAT [4]",
                "\"1.running_var\" FLOAT [4]", "\"3.weight\" FLOAT [4, 1, 3, 3]", "\"3.bias\" FLOAT [4]",
                "\"5.weight\" FLOAT [4, 1, 1]",
                "\"8.body.0.weight\" FLOAT [4, 4, 1, 1]", "\"8.body.0.bias\" FLOAT [4]",
                "\"8.body.1.weight\" FLOAT [4]", "\"8.body.1.bias\" FLOAT [4]",
                "\"8.body.1.running_mean\" FLOAT [4]", "\"8.body.1.running_var\" FLOAT [4]",
                "\"8.shortcut.0.weight\" FLOAT [4, 4, 1, 1]", "\"8.shortcut.0.bias\" FLOAT [4]",
                "\"12.weight\" FLOAT [6, 4]", "\"12.bias\" FLOAT [6]",
                "\"13.weight\" FLOAT [6]", "\"13.bias\" FLOAT [6]", "\"13.running_mean\" FLOAT [6]",
                "\"13.running_var\" FLOAT [6]", "\"14.weight\" FLOAT [6]",
                "\"16.weight\" FLOAT [5, 6]", "\"16.bias\" FLOAT [5]", "\"17.eps\" FLOAT []");
        // reflect padding of 1 row and column on both sides of H and W: starts of N, C, H, W, then their ends
        assertThat(model.graph().initializer("0.pads").orElseThrow().longs()).containsExactly(0, 0, 1, 1, 0, 0, 1, 1);
        assertThat(model.graph().initializer("17.eps").orElseThrow().floats()).containsExactly(1e-12f);
    }

    @Test
    void theModelDeclaresOpset13ProducerAndASymbolicBatchOnInputAndOutput() {
        OnnxModel model = OnnxExporter.export(everyKind(), INPUT);
        assertThat(model.irVersion()).isEqualTo(7);
        assertThat(model.opsetImports()).containsExactly(new OnnxOpset("", 13));
        assertThat(model.producerName()).isEqualTo("siamese4j");
        assertThat(model.producerVersion()).isNotBlank().doesNotContain("${");
        assertThat(model.graph().inputs()).extracting(OnnxValueInfo::toString)
                .containsExactly("input: FLOAT [batch, 3, 12, 10]");
        assertThat(model.graph().outputs()).extracting(OnnxValueInfo::toString)
                .containsExactly("embedding: FLOAT [batch, 5]");
        assertThat(model.metadata()).isEmpty();
    }

    @Test
    void everyWeightIsWrittenWithTheValuesOfItsStateDictEntryAndNumBatchesTrackedIsLeftOut() {
        Sequential tower = everyKind();
        OnnxGraph graph = OnnxExporter.export(tower, INPUT).graph();
        Map<String, Tensor> state = tower.stateDict();
        int compared = 0;
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            if (e.getKey().endsWith("num_batches_tracked")) {
                assertThat(graph.initializer(e.getKey())).isEmpty();
                continue;
            }
            // values as they are (the PReLU slopes of images only get the dimensions [C, 1, 1])
            assertThat(graph.initializer(e.getKey()).orElseThrow().floats()).as(e.getKey())
                    .containsExactly(e.getValue().data());
            compared++;
        }
        assertThat(compared).isEqualTo(graph.initializers().size() - 2); // all but the pads and the eps
    }

    @Test
    void theExportIsEvaluationModeAndTheSameBytesWhateverModeTheTowerIsIn() {
        Sequential tower = everyKind();
        byte[] evaluation = OnnxExporter.export(tower, INPUT).toBytes();
        tower.train();
        assertThat(OnnxExporter.export(tower, INPUT).toBytes()).isEqualTo(evaluation);
        assertThat(OnnxExporter.export(everyKind(), INPUT).toBytes()).isEqualTo(evaluation);
    }

    @Test
    void writtenFilesReadBackEqual() throws IOException {
        OnnxModel model = OnnxExporter.export(everyKind(), INPUT);
        Path file = dir.resolve("tower.onnx");
        model.write(file);
        assertThat(OnnxModel.read(file)).isEqualTo(model);
    }

    @Test
    void aLoadedModelFileCarriesItsArchAndInputAsMetadata() throws IOException {
        Path file = dir.resolve("model.safetensors");
        ArchSpec arch = ArchSpec.parse(EVERY_KIND);
        ModelFile.save(file, arch.build(INPUT, new Rng(1)), arch, INPUT);
        OnnxModel model = OnnxExporter.export(ModelFile.load(file));
        assertThat(model.metadata()).containsExactly(Map.entry("arch", arch.toString()), Map.entry("input", "3x12x10"));
        assertThat(model.graph()).isEqualTo(OnnxExporter.export(everyKind(), INPUT).graph());
    }

    @Test
    void dilationAndRectangularKernelsAreWrittenPerAxis() {
        Sequential tower = new Sequential(new Conv2d(2, 4, new int[] {3, 1}, new int[] {2, 1},
                new int[] {2, 0}, new int[] {2, 1}, 2, PaddingMode.ZEROS, false,
                new Rng(2)), new Flatten());
        OnnxModel model = OnnxExporter.export(tower, new int[] {2, 7, 5});
        assertThat(model.graph().nodes().get(0)).hasToString("Conv \"0\" (input, 0.weight) -> (0) [dilations=[2, 1],"
                + " group=2, kernel_shape=[3, 1], pads=[2, 0, 2, 0], strides=[2, 1]]");
        // H: (7 + 4 - 5) / 2 + 1 = 4, W: 5
        assertThat(model.graph().outputs().get(0)).hasToString("embedding: FLOAT [batch, 80]");
    }

    @Test
    void featureTowersTakeABatchOfVectorsAndPReluSlopesStayFlat() {
        OnnxModel model = OnnxExporter.export(ArchSpec.parse("dense(4) prelu").build(new int[] {3}, new Rng(3)),
                new int[] {3});
        assertThat(model.graph().inputs().get(0)).hasToString("input: FLOAT [batch, 3]");
        assertThat(model.graph().initializer("1.weight").orElseThrow().dims()).containsExactly(4);
    }

    @Test
    void aTowerOfNothingButDropoutIsOneIdentity() {
        OnnxModel model = OnnxExporter.export(new Sequential(new Dropout(0.5f, new Rng(1))), new int[] {6});
        assertThat(model.graph().nodes()).extracting(OnnxNode::toString)
                .containsExactly("Identity \"output\" (input) -> (embedding)");
    }

    // =========================================================================================================
    // Refusals
    // =========================================================================================================

    /** A module the exporter does not know. */
    private static final class Doubling extends Module {
        @Override
        public Tensor forward(Tensor input) {
            return input.add(input);
        }
    }

    @Test
    void anUnknownModuleIsRefusedNamingItsPathItsClassAndTheLayersThatCanBeExported() {
        Sequential inner = new Sequential(new Flatten(), new Doubling());
        assertThatThrownBy(() -> OnnxExporter.export(new Sequential(new Residual(inner)), new int[] {5}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("layer 0.body.1 (Doubling) cannot be exported")
                .hasMessageContaining("Conv2d, BatchNorm2d, BatchNorm1d, ReLU");
        assertThatThrownBy(() -> OnnxExporter.export(new Sequential(new Sequential(new Flatten())), new int[] {5}))
                .hasMessageContaining("layer 0 (Sequential) cannot be exported");
    }

    @Test
    void aLayerThatDoesNotFitItsInputIsRefusedNamingItAndTheShape() {
        assertThatThrownBy(() -> OnnxExporter.export(everyKind(), new int[] {1, 12, 10}))
                .hasMessageContaining("layer 0 (Conv2d(3, 4, kernel_size=(3, 3)")
                .hasMessageContaining("does not fit its input 1x12x10: it takes 3 channels");
        Sequential denseOnImages = new Sequential(new Linear(4, 2, new Rng(1)));
        assertThatThrownBy(() -> OnnxExporter.export(denseOnImages, new int[] {1, 2, 2}))
                .hasMessageContaining("layer 0 (Linear(in_features=4, out_features=2, bias=True)) does not fit its"
                        + " input 1x2x2: it takes 4 features (flatten first)");
        assertThatThrownBy(() -> OnnxExporter.export(new Sequential(new Flatten(2)), new int[] {1, 2, 2}))
                .hasMessageContaining("only start_dim=1 (flatten all but the batch) is exported, got start_dim=2");
        assertThatThrownBy(() -> OnnxExporter.export(ArchSpec.parse("conv(2,3)").build(new int[] {1, 4, 4},
                new Rng(1)), new int[] {1, 2, 2}))
                .hasMessageContaining("the padded input is smaller than the (dilated) kernel");
    }

    @Test
    void aResidualWhoseBranchesDisagreeIsRefusedWithBothShapes() {
        Sequential tower = ArchSpec.parse("residual(conv(2,1) | conv(2,1))").build(new int[] {2, 3, 3}, new Rng(1));
        Residual mismatched = new Residual(((Residual) tower.get(0)).body(),
                new Sequential(new Conv2d(2, 3, 1, new Rng(2))));
        assertThatThrownBy(() -> OnnxExporter.export(new Sequential(mismatched, new Flatten()), new int[] {2, 3, 3}))
                .hasMessageContaining("layer 0 (Residual) does not fit its input 2x3x3: the body gives 2x3x3 but the"
                        + " shortcut 3x3x3");
    }

    @Test
    void aConcatBecomesItsBranchesNodesThenConcatAlongAxisOne() {
        Sequential tower = ArchSpec.parse("concat(conv(3,1) relu | conv(2,3,pad=1) | dropout(0.5)) flatten"
                + " concat(dense(4) | dense(2) sigmoid) l2norm").build(new int[] {2, 2, 2}, new Rng(1));
        OnnxModel model = OnnxExporter.export(tower, new int[] {2, 2, 2});
        assertThat(model.graph().nodes()).extracting(OnnxNode::toString).containsExactly(
                "Conv \"0.branches.0.0\" (input, 0.branches.0.0.weight, 0.branches.0.0.bias) -> (0.branches.0.0)"
                        + " [dilations=[1, 1], group=1, kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1]]",
                "Relu \"0.branches.0.1\" (0.branches.0.0) -> (0.branches.0.1)",
                "Conv \"0.branches.1.0\" (input, 0.branches.1.0.weight, 0.branches.1.0.bias) -> (0.branches.1.0)"
                        + " [dilations=[1, 1], group=1, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1]]",
                // the dropout branch is the input itself in evaluation mode
                "Concat \"0\" (0.branches.0.1, 0.branches.1.0, input) -> (0) [axis=1]",
                "Flatten \"1\" (0) -> (1) [axis=1]",
                "Gemm \"2.branches.0.0\" (1, 2.branches.0.0.weight, 2.branches.0.0.bias) -> (2.branches.0.0)"
                        + " [alpha=1.0, beta=1.0, transB=1]",
                "Gemm \"2.branches.1.0\" (1, 2.branches.1.0.weight, 2.branches.1.0.bias) -> (2.branches.1.0)"
                        + " [alpha=1.0, beta=1.0, transB=1]",
                "Sigmoid \"2.branches.1.1\" (2.branches.1.0) -> (2.branches.1.1)",
                "Concat \"2\" (2.branches.0.0, 2.branches.1.1) -> (2) [axis=1]",
                "ReduceL2 \"3.norm\" (2) -> (3.norm) [axes=[1], keepdims=1]",
                "Clip \"3.clamp\" (3.norm, 3.eps) -> (3.clamp)",
                "Div \"3\" (2, 3.clamp) -> (embedding)");
        assertThat(model.graph().initializer("2.branches.0.0.weight").orElseThrow().toString())
                .isEqualTo("\"2.branches.0.0.weight\" FLOAT [4, 28]");
        assertThat(model.graph().outputs()).extracting(OnnxValueInfo::toString)
                .containsExactly("embedding: FLOAT [batch, 6]");
    }

    @Test
    void aConcatWhoseBranchesDisagreeIsRefusedWithBothShapes() {
        Sequential tower = ArchSpec.parse("concat(conv(2,1) | conv(2,1))").build(new int[] {2, 4, 4}, new Rng(1));
        Concat mismatched = new Concat(((Concat) tower.get(0)).branches().get(0),
                new Sequential(new Conv2d(2, 3, 1, 2, 0, new Rng(2))));
        assertThatThrownBy(() -> OnnxExporter.export(new Sequential(mismatched, new Flatten()), new int[] {2, 4, 4}))
                .hasMessageContaining("layer 0 (Concat) does not fit its input 2x4x4: branch 1 gives 3x2x2 but branch"
                        + " 0 gives 2x4x4");
    }

    @Test
    void aTowerThatEndsInImagesOrABadInputShapeIsRefused() {
        assertThatThrownBy(() -> OnnxExporter.export(ArchSpec.parse("conv(2,1)").build(new int[] {1, 3, 3},
                new Rng(1)), new int[] {1, 3, 3}))
                .hasMessageContaining("the tower gives 2x3x3 per sample, not an embedding vector");
        assertThatThrownBy(() -> OnnxExporter.export(everyKind(), new int[] {3, 12}))
                .hasMessageContaining("the input shape must be C x H x W or features, each at least 1, got [3, 12]");
    }
}
