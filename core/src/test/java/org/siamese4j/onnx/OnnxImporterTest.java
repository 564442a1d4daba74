package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.Graph;
import org.siamese4j.onnx.OnnxImporter.ImportedModel;
import org.siamese4j.optim.SGD;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The importer on small graphs written with the phase-1 writer: each operator's maths against the same maths
 * written with tensor ops, the shape computations, names, batch norm in both modes, training, and every refusal.
 */
class OnnxImporterTest {

    // ------------------------------------------------------------------------------------------ building models

    static OnnxValueInfo image(String name, long c, long h, long w) {
        return new OnnxValueInfo(name, OnnxDataType.FLOAT, List.of(OnnxDimension.symbolic("batch"),
                OnnxDimension.of(c), OnnxDimension.of(h), OnnxDimension.of(w)));
    }

    static OnnxValueInfo anyShape(String name) {
        return new OnnxValueInfo(name, OnnxDataType.FLOAT, null);
    }

    static OnnxNode node(String name, String op, List<String> in, String out, OnnxAttribute... attributes) {
        return new OnnxNode(name, op, "", in, List.of(out), List.of(attributes));
    }

    static OnnxModel model(int opset, OnnxValueInfo input, List<OnnxNode> nodes, List<OnnxTensor> weights,
                           String output) {
        OnnxGraph g = new OnnxGraph("test", nodes, weights, List.of(input), List.of(anyShape(output)), List.of());
        return new OnnxModel(8, "test", "", List.of(new OnnxOpset("", opset)), java.util.Map.of(), g);
    }

    static OnnxTensor weight(String name, Rng rng, int... shape) {
        Tensor t = Tensor.uniform(rng, -1f, 1f, shape);
        return OnnxTensor.of(name, t);
    }

    /** {@code m} written by the phase-1 writer, read back, and imported. */
    static ImportedModel imported(OnnxModel m, OnnxImporter.Options options) throws ModelFormatException {
        return OnnxImporter.importModel(OnnxModel.read(m.toBytes(), "test.onnx"), options, "test.onnx");
    }

    static ImportedModel imported(OnnxModel m) throws ModelFormatException {
        return imported(m, OnnxImporter.Options.inference());
    }

    static Tensor run(ImportedModel m, Tensor x) {
        try (var scope = Tensor.noGrad()) {
            return m.graph().forward(x);
        }
    }

    static Tensor tensor(OnnxTensor t) {
        return t.toTensor();
    }

    static void assertClose(Tensor actual, Tensor expected) {
        assertThat(actual.shape()).containsExactly(expected.shape());
        for (int i = 0; i < actual.size(); i++) {
            assertThat((double) actual.data()[i]).as("element " + i)
                    .isCloseTo(expected.data()[i], org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    // ------------------------------------------------------------------------------------------ operators

    /**
     * A graph using the operators the fixtures do not: asymmetric-free SAME_UPPER conv, LeakyRelu, Sigmoid, Tanh,
     * average pooling without and with the padding counted, Concat, a Mul and Sub with initializers, a Transpose that
     * only moves a size-1 dimension, the Shape/Gather/Unsqueeze/Concat/Reshape flatten torch writes for
     * {@code x.view(x.size(0), -1)}, Gemm with alpha, beta and an untransposed B, Dropout, Identity, LpNormalization.
     */
    @Test
    void operatorsComputeWhatTheirTensorOpsDo() throws IOException {
        Rng rng = new Rng(18);
        OnnxTensor w = weight("conv.weight", rng, 4, 2, 3, 3);
        OnnxTensor scale = weight("scale.weight", rng, 4, 1, 1);
        OnnxTensor mean = weight("centre.value", rng, 1, 8, 1, 1);
        OnnxTensor b = weight("fc.weight", rng, 8 * 3 * 3, 5);
        OnnxTensor c = weight("fc.bias", rng, 5);
        List<OnnxTensor> weights = List.of(w, scale, mean, b, c, OnnxTensor.ofInt64("zero", new long[0], 0),
                OnnxTensor.ofInt64("minus1", new long[] {1}, -1), OnnxTensor.ofInt64("axes0", new long[] {1}, 0));
        List<OnnxNode> nodes = List.of(
                node("/conv/Conv", "Conv", List.of("x", "conv.weight"), "c0",
                        OnnxAttribute.ofString("auto_pad", "SAME_UPPER"), OnnxAttribute.ofInts("kernel_shape", 3, 3)),
                node("leaky", "LeakyRelu", List.of("c0"), "a1", OnnxAttribute.ofFloat("alpha", 0.2f)),
                node("sig", "Sigmoid", List.of("a1"), "a2"),
                node("tanh", "Tanh", List.of("a1"), "a3"),
                node("mul", "Mul", List.of("a2", "scale.weight"), "a4"),
                node("avg", "AveragePool", List.of("a4"), "p1", OnnxAttribute.ofInts("kernel_shape", 3, 3),
                        OnnxAttribute.ofInts("pads", 1, 1, 1, 1), OnnxAttribute.ofInts("strides", 2, 2)),
                node("avg_counted", "AveragePool", List.of("a3"), "p2", OnnxAttribute.ofInts("kernel_shape", 3, 3),
                        OnnxAttribute.ofInts("pads", 1, 1, 1, 1), OnnxAttribute.ofInts("strides", 2, 2),
                        OnnxAttribute.ofInt("count_include_pad", 1)),
                node("cat", "Concat", List.of("p1", "p2"), "cat", OnnxAttribute.ofInt("axis", 1)),
                node("sub", "Sub", List.of("cat", "centre.value"), "centred"),
                node("shape", "Shape", List.of("centred"), "s"),
                node("gather", "Gather", List.of("s", "zero"), "n"),
                node("unsq", "Unsqueeze", List.of("n", "axes0"), "n1"),
                node("cat_shape", "Concat", List.of("n1", "minus1"), "target", OnnxAttribute.ofInt("axis", 0)),
                node("reshape", "Reshape", List.of("centred", "target"), "flat"),
                node("gemm", "Gemm", List.of("flat", "fc.weight", "fc.bias"), "g",
                        OnnxAttribute.ofFloat("alpha", 0.5f), OnnxAttribute.ofFloat("beta", 2f)),
                node("drop", "Dropout", List.of("g"), "d", OnnxAttribute.ofFloat("ratio", 0.3f)),
                node("id", "Identity", List.of("d"), "i"),
                node("norm", "LpNormalization", List.of("i"), "y", OnnxAttribute.ofInt("axis", 1)));
        ImportedModel m = imported(model(12, image("x", 2, 5, 6), nodes, weights, "y"));
        assertThat(m.outputSize()).isEqualTo(5);
        assertThat(m.inputShape()).containsExactly(2, 5, 6);

        Tensor x = Tensor.uniform(new Rng(1), -1f, 1f, 3, 2, 5, 6);
        Tensor a1 = Functional.conv2d(x, tensor(w), null, 1, 1).leakyRelu(0.2f);
        Tensor a4 = a1.sigmoid().mul(tensor(scale));
        // count_include_pad=0: the mean over the window's elements inside the image
        Tensor p1 = Functional.avgPool2d(a4, 3, 3, 2, 2, 1, 1)
                .div(Functional.avgPool2d(Tensor.ones(1, 1, 5, 6), 3, 3, 2, 2, 1, 1));
        Tensor p2 = Functional.avgPool2d(a1.tanh(), 3, 3, 2, 2, 1, 1);
        Tensor flat = Tensor.concat(1, p1, p2).sub(tensor(mean)).reshape(3, 72);
        Tensor g = flat.matmul(tensor(b)).mul(0.5f).add(tensor(c).mul(2f));
        Tensor expected = Functional.l2Normalize(g, 1, 1e-12f);
        assertClose(run(m, x), expected);
        assertThat(m.graph().stateDict()).containsKeys("conv.weight", "scale.weight", "centre.value", "fc.weight",
                "fc.bias");
    }

    @Test
    void theL2NormalisationTorchWritesAndItsSqrtFormsMatchFNormalize() throws IOException {
        // y = x / sqrt(ReduceSum(Pow(x, 2))) between two computed values, and Clip(ReduceL2) + Expand(Shape) + Div
        OnnxTensor w = weight("fc.weight", new Rng(3), 6, 4);
        List<OnnxNode> nodes = List.of(
                node("flat", "Flatten", List.of("x"), "f"),
                node("fc", "Gemm", List.of("f", "fc.weight"), "e", OnnxAttribute.ofInt("transB", 1)),
                node("pow", "Pow", List.of("e", "two"), "sq"),
                node("sum", "ReduceSum", List.of("sq", "axes"), "ss", OnnxAttribute.ofInt("keepdims", 1)),
                node("sqrt", "Sqrt", List.of("ss"), "n1"),
                node("div1", "Div", List.of("e", "n1"), "u"),
                node("l2", "ReduceL2", List.of("u"), "n2", OnnxAttribute.ofInts("axes", 1)),
                node("clip", "Clip", List.of("n2", "eps", ""), "n3"),
                node("shape", "Shape", List.of("u"), "s"),
                node("expand", "Expand", List.of("n3", "s"), "n4"),
                node("div2", "Div", List.of("u", "n4"), "y"));
        List<OnnxTensor> weights = List.of(w, OnnxTensor.ofFloats("two", new long[0], 2f),
                OnnxTensor.ofInt64("axes", new long[] {1}, 1), OnnxTensor.ofFloats("eps", new long[0], 1e-12f));
        ImportedModel m = imported(model(13, image("x", 1, 2, 2), nodes, weights, "y"));
        Tensor x = Tensor.uniform(new Rng(4), -1f, 1f, 2, 1, 2, 2);
        Tensor expected = Functional.l2Normalize(x.flatten(1).matmul(tensor(w), false, true), 1, 1e-12f);
        assertClose(run(m, x), expected);
    }

    @Test
    void reductionsSqueezesAndCastsOfComputedValues() throws IOException {
        // ReduceMean over H and W (the axes an input from opset 18 on), Unsqueeze then Squeeze of a size-1 axis
        // (axes as inputs from opset 13 on), a Cast to FLOAT that changes nothing, and a MaxPool with ceil_mode=1
        // where it gives the floor's size
        List<OnnxNode> nodes = List.of(
                node("pool", "MaxPool", List.of("x"), "p", OnnxAttribute.ofInts("kernel_shape", 2, 2),
                        OnnxAttribute.ofInts("strides", 2, 2), OnnxAttribute.ofInt("ceil_mode", 1)),
                node("mean", "ReduceMean", List.of("p", "hw"), "m", OnnxAttribute.ofInt("keepdims", 0)),
                node("unsq", "Unsqueeze", List.of("m", "last"), "u"),
                node("sq", "Squeeze", List.of("u", "last"), "s"),
                node("cast", "Cast", List.of("s"), "y", OnnxAttribute.ofInt("to", OnnxDataType.FLOAT.code())));
        List<OnnxTensor> weights = List.of(OnnxTensor.ofInt64("hw", new long[] {2}, -2, -1),
                OnnxTensor.ofInt64("last", new long[] {1}, -1));
        ImportedModel m = imported(model(18, image("x", 2, 4, 6), nodes, weights, "y"));
        Tensor x = Tensor.uniform(new Rng(8), -1f, 1f, 3, 2, 4, 6);
        assertClose(run(m, x), Functional.maxPool2d(x, 2).mean(3, false).mean(2, false));
        // on a 5-wide input ceil_mode=1 adds a third, partial window: refused
        assertRefused(model(18, image("x", 2, 4, 5), nodes, weights, "y"),
                "ceil_mode=1 gives another output size here (3 rather than 2 on axis 3 of [N, 2, 4, 5])");
    }

    @Test
    void aLayoutNoOpTransposeIsAReshapeAndOneThatMovesDataIsRefused() throws IOException {
        List<OnnxNode> ok = List.of(node("t", "Transpose", List.of("x"), "y", OnnxAttribute.ofInts("perm", 0, 2, 1, 3)));
        ImportedModel m = imported(model(13, image("x", 3, 1, 4), ok, List.of(), "y"));
        Tensor x = Tensor.uniform(new Rng(5), -1f, 1f, 2, 3, 1, 4);
        assertThat(run(m, x).shape()).containsExactly(2, 1, 3, 4);
        assertThat(run(m, x).toArray()).containsExactly(x.toArray());
        List<OnnxNode> moving = List.of(node("t", "Transpose", List.of("x"), "y",
                OnnxAttribute.ofInts("perm", 0, 3, 1, 2)));
        assertRefused(model(13, image("x", 3, 1, 4), moving, List.of(), "y"), "node 0 \"t\" (\"Transpose\"",
                "moves data of [N, 3, 1, 4]");
    }

    // ------------------------------------------------------------------------------------------ names and modes

    @Test
    void stateDictNamesFollowTheInitializersWithDotsAsUnderscores() throws IOException {
        ImportedModel unfused = OnnxImporter.load(OnnxImporterParityTest.fixture("resnet_small_opset13_unfused_bn.onnx"),
                OnnxImporter.Options.fineTuning());
        assertThat(unfused.graph().stateDict()).containsKeys("0.weight", "1.weight", "1.bias", "1.running_mean",
                "1.running_var", "4_body_0.weight", "4_body_1.running_var", "6_shortcut_0.weight", "14.weight",
                "14.bias");
        ImportedModel fused = OnnxImporter.load(OnnxImporterParityTest.fixture("resnet_small_opset13.onnx"));
        // torch's folded weights are called onnx::Conv_114: the node's name "/0/Conv" names the layer instead
        assertThat(fused.graph().stateDict()).containsKeys("0_Conv.weight", "0_Conv.bias", "4_body_body_0_Conv.weight",
                "14.weight");
        assertThat(fused.graph().toString()).contains("(0_Conv): Conv2d(1, 8, kernel_size=(3, 3), stride=(2, 2), "
                + "padding=(1, 1)) <- input");
    }

    /** One BatchNormalization node: eval mode uses the running statistics; train mode the batch's and updates them. */
    @Test
    void batchNormalizationIsRightInTrainAndEvalMode() throws IOException {
        Rng rng = new Rng(7);
        float[] gamma = {1.5f, 0.5f};
        float[] beta = {0.1f, -0.2f};
        float[] mean = {0.3f, -0.1f};
        float[] var = {2f, 0.5f};
        List<OnnxTensor> weights = List.of(OnnxTensor.ofFloats("bn.weight", new long[] {2}, gamma),
                OnnxTensor.ofFloats("bn.bias", new long[] {2}, beta),
                OnnxTensor.ofFloats("bn.running_mean", new long[] {2}, mean),
                OnnxTensor.ofFloats("bn.running_var", new long[] {2}, var));
        List<OnnxNode> nodes = List.of(node("bn", "BatchNormalization", List.of("x", "bn.weight", "bn.bias",
                "bn.running_mean", "bn.running_var"), "y", OnnxAttribute.ofFloat("epsilon", 1e-3f),
                OnnxAttribute.ofFloat("momentum", 0.75f)));
        ImportedModel m = imported(model(15, image("x", 2, 3, 3), nodes, weights, "y"), OnnxImporter.Options.fineTuning());
        Tensor x = Tensor.uniform(rng, -2f, 2f, 4, 2, 3, 3);
        Tensor y = run(m, x);
        for (int i = 0; i < x.size(); i++) {
            int ch = (i / 9) % 2;
            double expected = (x.data()[i] - mean[ch]) / Math.sqrt(var[ch] + 1e-3) * gamma[ch] + beta[ch];
            assertThat((double) y.data()[i]).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-5));
        }
        m.graph().train();
        Tensor yTrain = run(m, x);
        double[] batchMean = new double[2];
        double[] batchVar = new double[2];
        for (int i = 0; i < x.size(); i++) {
            batchMean[(i / 9) % 2] += x.data()[i] / 36.0;
        }
        for (int i = 0; i < x.size(); i++) {
            double d = x.data()[i] - batchMean[(i / 9) % 2];
            batchVar[(i / 9) % 2] += d * d / 36.0;
        }
        for (int i = 0; i < x.size(); i++) {
            int ch = (i / 9) % 2;
            double expected = (x.data()[i] - batchMean[ch]) / Math.sqrt(batchVar[ch] + 1e-3) * gamma[ch] + beta[ch];
            assertThat((double) yTrain.data()[i]).isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
        }
        // ONNX's momentum 0.75 keeps 75 % of the old statistics: PyTorch's momentum 0.25
        float[] running = m.graph().stateDict().get("bn.running_mean").toArray();
        for (int ch = 0; ch < 2; ch++) {
            assertThat((double) running[ch]).isCloseTo(0.75 * mean[ch] + 0.25 * batchMean[ch],
                    org.assertj.core.data.Offset.offset(1e-5));
        }
    }

    @Test
    void theImportedResNetTrainsAndItsLossFalls() throws IOException {
        ImportedModel m = OnnxImporter.load(OnnxImporterParityTest.fixture("resnet_small_opset13_unfused_bn.onnx"),
                OnnxImporter.Options.fineTuning());
        Graph g = m.graph();
        g.train();
        Tensor x = OnnxImporterParityTest.io("resnet_small_opset13.onnx")[0];
        // pull the two embeddings towards a fixed target; every parameter must receive a gradient
        Tensor target = Tensor.uniform(new Rng(9), -1f, 1f, 2, 128);
        Tensor t = Functional.l2Normalize(target, 1, 1e-12f);
        SGD sgd = new SGD(g.parameters(), 0.05f);
        List<Float> losses = new ArrayList<>();
        for (int step = 0; step < 5; step++) {
            sgd.zeroGrad();
            Tensor loss = g.forward(x).sub(t).square().sum();
            loss.backward();
            if (step == 0) {
                g.namedParameters().forEach((name, p) ->
                        assertThat(p.grad()).as("gradient of " + name).isNotNull());
            }
            sgd.step();
            losses.add(loss.item());
        }
        assertThat(losses.get(4)).as(losses.toString()).isLessThan(losses.get(0) * 0.9f);
    }

    // ------------------------------------------------------------------------------------------ refusals

    static void assertRefused(OnnxModel m, String... parts) {
        assertThatThrownBy(() -> imported(m)).isInstanceOf(OnnxImportException.class)
                .satisfies(e -> assertThat(e.getMessage()).startsWith("test.onnx: ").contains(parts));
    }

    static OnnxModel relu(int opset, String domain) {
        OnnxNode n = new OnnxNode("r", "Relu", domain, List.of("x"), List.of("y"), List.of());
        OnnxGraph g = new OnnxGraph("t", List.of(n), List.of(), List.of(image("x", 1, 2, 2)),
                List.of(anyShape("y")), List.of());
        List<OnnxOpset> opsets = new ArrayList<>(List.of(new OnnxOpset("", opset)));
        if (!domain.isEmpty()) {
            opsets.add(new OnnxOpset(domain, 1));
        }
        return new OnnxModel(8, "t", "", opsets, java.util.Map.of(), g);
    }

    @Test
    void unsupportedOperatorsAreNamedWithTheSupportedOnes() {
        List<OnnxNode> nodes = List.of(node("r", "Relu", List.of("x"), "a"),
                node("/head/Softmax", "Softmax", List.of("a"), "b"),
                node("lrn", "LRN", List.of("b"), "y"));
        assertRefused(model(13, image("x", 1, 2, 2), nodes, List.of(), "y"),
                "operator \"Softmax\" is not supported; 2 nodes cannot be imported: node 1 \"/head/Softmax\" "
                        + "(\"Softmax\", domain ai.onnx), node 2 \"lrn\" (\"LRN\", domain ai.onnx)",
                "supported operators of ai.onnx: Add, AveragePool, BatchNormalization", "(at node 1 ");
    }

    @Test
    void opsetsOutside9To21AndOtherDomainsAreRefused() throws IOException {
        assertRefused(relu(8, ""), "opset 8 of ai.onnx; opsets 9 to 21 are supported");
        assertRefused(relu(22, ""), "opset 22 of ai.onnx; opsets 9 to 21 are supported");
        assertRefused(relu(13, "com.microsoft"), "operators of domain \"com.microsoft\" are not supported",
                "node 0 \"r\" (\"Relu\", domain \"com.microsoft\")");
        for (int opset = 9; opset <= 21; opset++) {
            assertThat(imported(relu(opset, "")).outputSize()).isEqualTo(4);
        }
    }

    @Test
    void aModelThatIsNotOneImageInAndOneOutIsRefused() {
        OnnxNode add = node("add", "Add", List.of("x", "z"), "y");
        OnnxGraph two = new OnnxGraph("t", List.of(add), List.of(), List.of(image("x", 1, 2, 2), image("z", 1, 2, 2)),
                List.of(anyShape("y")), List.of());
        assertRefused(new OnnxModel(8, "", "", List.of(new OnnxOpset("", 13)), java.util.Map.of(), two),
                "the graph has 2 inputs [\"x\", \"z\"]; one image input [N, C, H, W] is expected");
        OnnxValueInfo flat = new OnnxValueInfo("x", OnnxDataType.FLOAT, List.of(OnnxDimension.symbolic("n"),
                OnnxDimension.of(10)));
        assertRefused(model(13, flat, List.of(node("r", "Relu", List.of("x"), "y")), List.of(), "y"),
                "is not [N, C, H, W] with known C, H and W");
        OnnxValueInfo unknownH = new OnnxValueInfo("x", OnnxDataType.FLOAT, List.of(OnnxDimension.symbolic("n"),
                OnnxDimension.of(3), OnnxDimension.symbolic("h"), OnnxDimension.of(4)));
        assertRefused(model(13, unknownH, List.of(node("r", "Relu", List.of("x"), "y")), List.of(), "y"),
                "is not [N, C, H, W] with known C, H and W");
        assertRefused(model(13, image("x", 1, 2, 2), List.of(node("c", "Constant", List.of(), "y",
                OnnxAttribute.ofFloat("value_float", 1f))), List.of(), "y"), "is a constant, not computed from");
    }

    @Test
    void shapesThatDoNotFitAreRefusedNamingBoth() {
        Rng rng = new Rng(2);
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("conv", "Conv", List.of("x", "w"), "y")),
                List.of(weight("w", rng, 4, 2, 3, 3)), "y"),
                "the weight [4, 2, 3, 3] with group=1 does not fit the input [N, 3, 8, 8]", "node 0 \"conv\"");
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("add", "Add", List.of("x", "b"), "y")),
                List.of(weight("b", rng, 5, 1, 1)), "y"),
                "the shapes [N, 3, 8, 8] and [5, 1, 1] do not broadcast");
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("fc", "MatMul", List.of("f", "w"), "y"),
                node("flat", "Flatten", List.of("x"), "f")), List.of(weight("w", rng, 10, 2)), "y"),
                "input 0 \"f\" is not defined before the node");
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("flat", "Flatten", List.of("x"), "f"),
                node("fc", "MatMul", List.of("f", "w"), "y")), List.of(weight("w", rng, 10, 2)), "y"),
                "A [N, 192] and B [10, 2] do not fit");
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("conv", "Conv", List.of("x", "w"), "y",
                OnnxAttribute.ofInts("pads", 0, 0, 1, 1))), List.of(weight("w", rng, 4, 3, 2, 2)), "y"),
                "asymmetric padding [0, 0, 1, 1]");
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("conv", "Conv", List.of("x", "w"), "y",
                OnnxAttribute.ofString("auto_pad", "SAME_UPPER"))), List.of(weight("w", rng, 4, 3, 2, 2)), "y"),
                "asymmetric padding [0, 0, 1, 1] (top, left, bottom, right, from auto_pad SAME_UPPER");
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("r", "Reshape", List.of("x", "s"), "y")),
                List.of(OnnxTensor.ofInt64("s", new long[] {2}, 2, -1)), "y"),
                "does not keep the batch dimension of [N, 3, 8, 8] first");
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("pad", "Pad", List.of("x", "p"), "y",
                OnnxAttribute.ofString("mode", "reflect"))), List.of(OnnxTensor.ofInt64("p", new long[] {8}, 0, 0, 1,
                1, 0, 0, 1, 1)), "y"), "is supported only as the padding of the one Conv that reads it");
        assertRefused(model(13, image("x", 3, 8, 8), List.of(node("f", "Flatten", List.of("x"), "y",
                OnnxAttribute.ofInt("axis", 0))), List.of(), "y"), "Flatten with axis=0 merges the batch dimension");
        // the declared output shape must be what the layers compute
        OnnxGraph declared = new OnnxGraph("t", List.of(node("r", "Relu", List.of("x"), "y")), List.of(),
                List.of(image("x", 3, 8, 8)), List.of(image("y", 3, 8, 9)), List.of());
        assertRefused(new OnnxModel(8, "", "", List.of(new OnnxOpset("", 13)), java.util.Map.of(), declared),
                "declares y: FLOAT [batch, 3, 8, 9] but the layers compute [N, 3, 8, 8]");
        // and so must an intermediate value's declared in value_info
        OnnxGraph intermediate = new OnnxGraph("t", List.of(node("r", "Relu", List.of("x"), "a"),
                node("s", "Sigmoid", List.of("a"), "y")), List.of(), List.of(image("x", 3, 8, 8)),
                List.of(anyShape("y")), List.of(OnnxValueInfo.floats("a", 1, 4, 8, 8)));
        assertRefused(new OnnxModel(8, "", "", List.of(new OnnxOpset("", 13)), java.util.Map.of(), intermediate),
                "declares a: FLOAT [1, 4, 8, 8] but the layers compute [N, 3, 8, 8] (at node 0 \"r\"");
    }

    @Test
    void loadReadsAFileAndGivesTheGraphInEvalMode() throws IOException {
        ImportedModel m = OnnxImporter.load(OnnxImporterParityTest.fixture("mobilefacenet_like_opset17.onnx"));
        assertThat(m.graph().isTraining()).isFalse();
        assertThat(m.inputShape()).containsExactly(3, 112, 112);
        assertThat(Arrays.asList(m.inputName(), m.outputName())).containsExactly("input", "embedding");
    }
}
