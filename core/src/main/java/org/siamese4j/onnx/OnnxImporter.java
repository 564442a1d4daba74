package org.siamese4j.onnx;

import static org.siamese4j.io.ModelFormatException.quoted;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;

import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.nn.BatchNorm;
import org.siamese4j.nn.BatchNorm1d;
import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.BatchNormFolding;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Dropout;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.GlobalAvgPool2d;
import org.siamese4j.nn.Graph;
import org.siamese4j.nn.GraphOp;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.LeakyReLU;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.PReLU;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sigmoid;
import org.siamese4j.nn.Tanh;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Turns an ONNX model ({@link OnnxModel}) into a siamese4j network: a {@link Graph} of the layers of
 * {@code org.siamese4j.nn}, trainable, with a state dict, in evaluation mode when returned.
 *
 * <h2>What is imported</h2>
 * Image embedders: one FLOAT graph input [N, C, H, W] with C, H and W known (N is free: symbolic, or a fixed
 * size that is then taken as any size), one output, the standard operator set ({@code ai.onnx}) at a version
 * from {@link #MIN_OPSET} to {@link #MAX_OPSET}, and the operators of {@link #SUPPORTED_OPERATORS} with the
 * limits docs/model-format.md lists. Everything is checked before anything runs; what cannot be imported is
 * refused with an {@link OnnxImportException} naming the node (index, name, operator, domain).
 *
 * <h2>Shapes are worked out at import</h2>
 * Every value's shape is propagated from the input's, with the batch dimension kept symbolic, so the shape
 * computations exporters write ({@code Shape}, {@code Gather}, {@code Unsqueeze}, {@code Concat}, {@code Cast},
 * arithmetic on them, feeding {@code Reshape} or {@code Expand}) are evaluated here, whatever their pattern, and
 * never run. Values computed from the input keep the batch in dimension 0; an operator that would move or merge
 * it (a Flatten from axis 0, a Transpose of dimension 0, a Reshape fixing the batch size) is refused.
 * Computations on constants alone are folded.
 *
 * <h2>Names</h2>
 * A layer with weights is named after its first weight's initializer: {@code 4.body.0.weight} becomes the node
 * {@code 4_body_0} (a '.' joins state-dict names, so it cannot be in a node name) with parameter {@code weight},
 * state-dict key {@code 4_body_0.weight}. Initializers without such a name (PyTorch's folded
 * {@code onnx::Conv_114}) and parameter-free layers take the node's name instead ({@code /0/Conv} becomes
 * {@code 0_Conv}), or the operator and index when it has none. Every character outside {@code [A-Za-z0-9_]}
 * becomes '_'; a name taken already gets {@code _2}, {@code _3}, ...
 */
public final class OnnxImporter {
    /** The oldest and newest versions of the standard operator set imported. */
    public static final int MIN_OPSET = 9;
    public static final int MAX_OPSET = 21;

    /** The operators imported (of the standard domain), in alphabetical order. */
    public static final List<String> SUPPORTED_OPERATORS = List.copyOf(new TreeSet<>(List.of(
            "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv", "Div",
            "Dropout", "Expand", "Flatten", "Gather", "Gemm", "GlobalAveragePool", "Identity", "LeakyRelu",
            "LpNormalization", "MatMul", "MaxPool", "Mul", "Pad", "Pow", "PRelu", "ReduceL2", "ReduceMean", "ReduceSum",
            "Relu", "Reshape", "Shape", "Sigmoid", "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze")));

    /** The batch dimension in a shape: its size is chosen when the network runs. */
    private static final int BATCH = -1;

    /**
     * The most elements per sample of any value computed from the input (256 MB of floats): 80 times the
     * largest activation of ArcFace's ResNet-100 at 112x112, and a bound on what a hostile file can make an
     * import allocate for the layers' own settings (pooling's rescale, Expand's broadcast).
     */
    private static final int MAX_SAMPLE_ELEMENTS = 1 << 26;

    /** The most elements of a constant the import computes (a folded expression); weights are bounded by the file. */
    private static final int MAX_FOLDED_ELEMENTS = 1 << 24;

    /**
     * How to import.
     *
     * @param foldBatchNorm fold each BatchNormalization that follows a Conv (and is the only reader of its output)
     *                      into that Conv ({@link BatchNormFolding}): faster inference, the same outputs to float
     *                      rounding, but no batch statistics any more, so a caller that fine-tunes turns it off
     */
    public record Options(boolean foldBatchNorm) {
        /** For running the model: batch norm folded. */
        public static Options inference() {
            return new Options(true);
        }

        /** For training it further: every batch norm kept, with its running statistics as buffers. */
        public static Options fineTuning() {
            return new Options(false);
        }
    }

    /**
     * An ONNX model turned into a network by {@link OnnxImporter#load}, with what a caller needs to feed it.
     *
     * @param graph       the network: a {@link org.siamese4j.nn.Module} (trainable, with a state dict, train/eval);
     *                    {@code graph.forward(x)} takes x [N, C, H, W] and returns [N, outputSize] (or the output's
     *                    own rank, with {@code outputSize} elements per sample)
     * @param inputName   the ONNX graph input's name
     * @param inputShape  its {C, H, W}; the batch dimension N is free
     * @param outputName  the ONNX graph output's name
     * @param outputSize  the elements per sample of the output (the embedding size)
     */
    public record ImportedModel(Graph graph, String inputName, int[] inputShape, String outputName, int outputSize) {
        public ImportedModel {
            inputShape = inputShape.clone();
        }

        /** {C, H, W} (a copy). */
        @Override
        public int[] inputShape() {
            return inputShape.clone();
        }
    }

    private OnnxImporter() {
    }

    /**
     * The elements of a shape without its batch dimension, or -1 beyond {@link OnnxTensor#MAX_ELEMENTS} (a
     * constant of a hostile shape computation); callers that allocate check it with {@code Import.size}.
     */
    private static int numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= Math.max(d, 0);
            if (n > OnnxTensor.MAX_ELEMENTS) {
                return -1;
            }
        }
        return (int) n;
    }

    /** Reads and imports an {@code .onnx} file with {@link Options#inference()}; the graph is in eval mode. */
    public static ImportedModel load(Path onnxFile) throws IOException {
        return load(onnxFile, Options.inference());
    }

    /** Reads and imports an {@code .onnx} file; the graph is in eval mode. */
    public static ImportedModel load(Path onnxFile, Options options) throws IOException {
        return importModel(OnnxModel.read(onnxFile), options, onnxFile.toString());
    }

    /**
     * Imports a model read before; {@code source} names it in messages. The graph is in eval mode.
     *
     * @throws OnnxImportException what the model holds cannot be imported (nothing has run)
     */
    public static ImportedModel importModel(OnnxModel model, Options options, String source)
            throws OnnxImportException {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(options, "options");
        return new Import(model, options, String.valueOf(source)).run();
    }

    // =========================================================================================================
    // What is known of a value at import time
    // =========================================================================================================

    /**
     * A value of the ONNX graph: computed when the network runs ({@code graphName} is its name in the Graph, its
     * shape has {@link #BATCH} in dimension 0), or a constant known now: floats, or integers of which those marked
     * in {@code batch} stand for the batch size (what {@code Shape} of a computed value gives).
     */
    private record Value(String graphName, int[] shape, float[] floats, long[] longs, boolean[] batch,
                         String initializer) {
        static Value runtime(String graphName, int[] shape) {
            return new Value(graphName, shape, null, null, null, null);
        }

        static Value floats(int[] shape, float[] values, String initializer) {
            return new Value(null, shape, values, null, null, initializer);
        }

        static Value longs(int[] shape, long[] values, boolean[] batch) {
            return new Value(null, shape, null, values, batch, null);
        }

        boolean isRuntime() {
            return graphName != null;
        }

        int rank() {
            return shape.length;
        }

        int count() {
            return OnnxImporter.numel(shape);
        }

        boolean anyBatch() {
            if (batch != null) {
                for (boolean b : batch) {
                    if (b) {
                        return true;
                    }
                }
            }
            return false;
        }

        Tensor tensor() {
            return Tensor.of(floats.clone(), shape.clone());
        }
    }

    // =========================================================================================================
    // One import
    // =========================================================================================================

    private static final class Import {
        private final OnnxModel model;
        private final OnnxGraph onnx;
        private final Options options;
        private final String source;
        private final Map<String, Value> values = new HashMap<>();
        /** The nodes reading each value, by index. */
        private final Map<String, List<Integer>> readers = new HashMap<>();
        private final Set<String> graphNames = new HashSet<>();
        /** Pad nodes to be folded into the Conv reading them, by their output's name. */
        private final Map<String, PendingPad> pads = new HashMap<>();
        /** BatchNormalization nodes folded into the Conv before them, by index. */
        private final Set<Integer> folded = new HashSet<>();
        private final Set<String> outputs = new HashSet<>();
        /** The value_info entries by value name (the first, if a file lists a value twice). */
        private final Map<String, OnnxValueInfo> declared = new HashMap<>();
        private Graph.Builder builder;
        /** The batch size the input declares, or -1 when it is symbolic. */
        private long declaredBatch = -1;
        private OnnxNode node;
        private int index = -1;

        Import(OnnxModel model, Options options, String source) {
            this.model = model;
            this.onnx = model.graph();
            this.options = options;
            this.source = source;
        }

        ImportedModel run() throws OnnxImportException {
            checkOpset();
            checkOperators();
            OnnxValueInfo input = theInput();
            OnnxValueInfo output = theOutput();
            for (OnnxTensor t : onnx.initializers()) {
                values.put(t.name(), constant(t, t.name()));
            }
            int[] chw = inputShape(input);
            String inputGraphName = uniqueName(sanitise(input.name()), "input");
            builder = Graph.builder(inputGraphName);
            values.put(input.name(), Value.runtime(inputGraphName, new int[] {BATCH, chw[0], chw[1], chw[2]}));
            outputs.add(output.name());
            for (OnnxValueInfo info : onnx.valueInfo()) {
                declared.putIfAbsent(info.name(), info);
            }
            List<OnnxNode> nodes = onnx.nodes();
            for (int k = 0; k < nodes.size(); k++) {
                for (String in : nodes.get(k).inputs()) {
                    readers.computeIfAbsent(in, x -> new ArrayList<>()).add(k);
                }
            }
            boolean[] live = liveNodes(output.name());
            for (index = 0; index < nodes.size(); index++) {
                node = nodes.get(index);
                if (live[index]) {
                    try {
                        convert();
                    } catch (IllegalArgumentException | ArithmeticException e) {
                        // A layer refusing its settings (checked here first where the message can say more).
                        throw fail("the layer cannot be built: " + e.getMessage());
                    }
                    checkDeclaredShapes();
                }
            }
            node = null;
            Value out = values.get(output.name());
            if (out == null || !out.isRuntime()) {
                throw whole("the output " + quoted(output.name()) + " is " + (out == null ? "never computed"
                        : "a constant, not computed from the input " + quoted(input.name())));
            }
            checkDeclared(output, out);
            Graph graph;
            try {
                graph = builder.build(out.graphName());
            } catch (IllegalArgumentException e) {
                throw whole("the graph does not wire up: " + e.getMessage());
            }
            graph.eval();
            int size = numel((Arrays.copyOfRange(out.shape(), 1, out.rank())));
            return new ImportedModel(graph, input.name(), chw, output.name(), size);
        }

        // ---- the model as a whole ----

        private void checkOpset() throws OnnxImportException {
            OptionalLong version = model.opsetVersion("");
            if (version.isEmpty()) {
                throw whole("the model imports no version of the standard operator set (ai.onnx); opsets "
                        + MIN_OPSET + " to " + MAX_OPSET + " are supported");
            }
            if (version.getAsLong() < MIN_OPSET || version.getAsLong() > MAX_OPSET) {
                throw whole("the model uses opset " + version.getAsLong() + " of ai.onnx; opsets " + MIN_OPSET
                        + " to " + MAX_OPSET + " are supported (re-export it, or convert it with onnx's "
                        + "version_converter)");
            }
        }

        /** Every node's operator and domain, all unsupported ones named in one message. */
        private void checkOperators() throws OnnxImportException {
            List<String> refused = new ArrayList<>();
            int first = -1;
            List<OnnxNode> nodes = onnx.nodes();
            for (int k = 0; k < nodes.size(); k++) {
                OnnxNode n = nodes.get(k);
                if (!OnnxOpset.isDefaultDomain(n.domain()) || !SUPPORTED_OPERATORS.contains(n.opType())) {
                    if (first < 0) {
                        first = k;
                    }
                    if (refused.size() < 10) {
                        refused.add(OnnxImportException.describe(n, k));
                    }
                }
            }
            if (first >= 0) {
                long count = nodes.stream().filter(n -> !OnnxOpset.isDefaultDomain(n.domain())
                        || !SUPPORTED_OPERATORS.contains(n.opType())).count();
                OnnxNode n = nodes.get(first);
                String why = !OnnxOpset.isDefaultDomain(n.domain())
                        ? "operators of domain " + quoted(n.domain()) + " are not supported (only the standard "
                        + "domain ai.onnx is)" : "operator " + quoted(n.opType()) + " is not supported";
                throw new OnnxImportException(source, why + "; " + count + " node" + (count == 1 ? "" : "s")
                        + " cannot be imported: " + String.join(", ", refused) + (count > refused.size() ? ", ..."
                        : "") + "; supported operators of ai.onnx: " + String.join(", ", SUPPORTED_OPERATORS),
                        n, first);
            }
        }

        private OnnxValueInfo theInput() throws OnnxImportException {
            List<OnnxValueInfo> inputs = onnx.dataInputs();
            if (inputs.size() != 1) {
                throw whole("the graph has " + inputs.size() + " inputs " + names(inputs) + "; one image input"
                        + " [N, C, H, W] is expected");
            }
            return inputs.get(0);
        }

        private OnnxValueInfo theOutput() throws OnnxImportException {
            if (onnx.outputs().size() != 1) {
                throw whole("the graph has " + onnx.outputs().size() + " outputs " + names(onnx.outputs())
                        + "; one output (the embedding) is expected");
            }
            return onnx.outputs().get(0);
        }

        private static String names(List<OnnxValueInfo> infos) {
            return infos.stream().map(v -> quoted(v.name())).toList().toString();
        }

        private int[] inputShape(OnnxValueInfo input) throws OnnxImportException {
            if (input.elemType() != OnnxDataType.FLOAT) {
                throw whole("the input " + input + " is not FLOAT; an image input of floats is expected");
            }
            List<OnnxDimension> dims = input.shape();
            if (dims == null || dims.size() != 4 || !dims.get(1).isKnown() || !dims.get(2).isKnown()
                    || !dims.get(3).isKnown()) {
                throw whole("the input " + input + " is not [N, C, H, W] with known C, H and W");
            }
            int[] chw = new int[3];
            for (int i = 0; i < 3; i++) {
                long d = dims.get(i + 1).value();
                if (d < 1 || d > 1 << 20) {
                    throw whole("the input " + input + " has dimension " + (i + 1) + " = " + d
                            + "; between 1 and 2^20 is expected");
                }
                chw[i] = (int) d;
            }
            if ((long) chw[0] * chw[1] * chw[2] > MAX_SAMPLE_ELEMENTS) {
                throw whole("the input " + input + " has more than " + MAX_SAMPLE_ELEMENTS + " elements per sample");
            }
            declaredBatch = dims.get(0).value();
            return chw;
        }

        /** Which nodes the output depends on; the others are not converted (their operators were checked). */
        private boolean[] liveNodes(String output) {
            List<OnnxNode> nodes = onnx.nodes();
            boolean[] live = new boolean[nodes.size()];
            Set<String> needed = new HashSet<>(Set.of(output));
            for (int k = nodes.size() - 1; k >= 0; k--) {
                for (String out : nodes.get(k).outputs()) {
                    if (needed.contains(out)) {
                        live[k] = true;
                        needed.addAll(nodes.get(k).inputs());
                        break;
                    }
                }
            }
            return live;
        }

        // ---- errors ----

        private OnnxImportException fail(String problem) {
            return new OnnxImportException(source, problem, node, index);
        }

        private OnnxImportException whole(String problem) {
            return new OnnxImportException(source, problem, null, -1);
        }

        // ---- the nodes ----

        private void convert() throws OnnxImportException {
            if (node.outputs().isEmpty() || node.outputs().get(0).isEmpty()) {
                throw fail("the node has no output");
            }
            switch (node.opType()) {
                case "Conv" -> conv();
                case "BatchNormalization" -> batchNorm();
                case "Relu" -> unary(new ReLU(), x -> x.relu());
                case "Sigmoid" -> unary(new Sigmoid(), x -> x.sigmoid());
                case "Tanh" -> unary(new Tanh(), x -> x.tanh());
                case "LeakyRelu" -> {
                    float alpha = floatAttr("alpha", 0.01f);
                    unary(new LeakyReLU(alpha), x -> x.leakyRelu(alpha));
                }
                case "Sqrt" -> unary(new OnnxFunction("Sqrt", "", Tensor::sqrt), Tensor::sqrt);
                case "PRelu" -> prelu();
                case "MaxPool", "AveragePool" -> pool(node.opType().equals("MaxPool"));
                case "GlobalAveragePool" -> globalAveragePool();
                case "Gemm" -> gemm();
                case "MatMul" -> matMul();
                case "Add" -> binary(GraphOp.ADD, Tensor::add, (a, b) -> a + b);
                case "Sub" -> binary(GraphOp.SUB, Tensor::sub, (a, b) -> a - b);
                case "Mul" -> binary(GraphOp.MUL, Tensor::mul, (a, b) -> a * b);
                case "Div" -> binary(GraphOp.DIV, Tensor::div, null);
                case "Pow" -> pow();
                case "Flatten" -> flatten();
                case "Reshape" -> reshape();
                case "Transpose" -> transpose();
                case "Squeeze", "Unsqueeze" -> squeeze(node.opType().equals("Unsqueeze"));
                case "Concat" -> concat();
                case "Pad" -> pad();
                case "Constant" -> define(constantNode());
                case "Identity" -> define(input(0));
                case "Cast" -> cast();
                case "Dropout" -> dropout();
                case "LpNormalization" -> lpNormalization();
                case "ReduceL2", "ReduceSum", "ReduceMean" -> reduce();
                case "Clip" -> clip();
                case "Expand" -> expand();
                case "Shape" -> shape();
                case "Gather" -> gather();
                default -> throw fail("operator " + quoted(node.opType()) + " is not supported");
            }
        }

        // ---- convolution and batch norm ----

        private void conv() throws OnnxImportException {
            PendingPad padded = pads.get(node.inputs().get(0));
            Value x = padded != null ? padded.source() : runtime(0, "X");
            requireRank(x, 4, "X");
            Value w = floatConstant(1, "the weight W");
            Value b = node.inputs().size() > 2 && !node.inputs().get(2).isEmpty() ? floatConstant(2, "the bias B")
                    : null;
            if (w.rank() != 4) {
                throw fail("the weight W has shape " + Shapes.toString(w.shape()) + "; 2-D convolution with W "
                        + "[M, C/group, kH, kW] is supported");
            }
            int group = intAttr("group", 1);
            int c = x.shape()[1];
            int m = w.shape()[0];
            if (group < 1 || w.shape()[1] * group != c || m % group != 0) {
                throw fail("the weight " + Shapes.toString(w.shape()) + " with group=" + group + " does not fit "
                        + "the input " + shapeText(x) + " (W [M, C/group, kH, kW], M divisible by group)");
            }
            if (b != null && (b.rank() != 1 || b.shape()[0] != m)) {
                throw fail("the bias B has shape " + Shapes.toString(b.shape()) + "; [" + m + "] is expected");
            }
            int[] kernel = {w.shape()[2], w.shape()[3]};
            long[] declared = intsAttr("kernel_shape", null);
            if (declared != null && !Arrays.equals(declared, new long[] {kernel[0], kernel[1]})) {
                throw fail("kernel_shape " + Arrays.toString(declared) + " differs from the weight's "
                        + Arrays.toString(kernel));
            }
            int[] stride = pair("strides");
            int[] dilation = pair("dilations");
            int[] pad = pads(padded != null ? input(0) : x, kernel, stride, dilation);
            PaddingMode mode = PaddingMode.ZEROS;
            if (padded != null) {
                if (padded.reflect() && (pad[0] != 0 || pad[1] != 0)) {
                    throw fail("a reflecting Pad before a Conv that pads with zeros too is not supported");
                }
                pad = new int[] {pad[0] + padded.padH(), pad[1] + padded.padW()};
                mode = padded.reflect() ? PaddingMode.REFLECT : PaddingMode.ZEROS;
            }
            int[] out = windowOutput(x, kernel, stride, dilation, pad, false);
            Conv2d conv = new Conv2d(c, m, kernel, stride, pad, dilation, group, mode, b != null, new Rng(0));
            copy(w, conv.weight());
            if (b != null) {
                copy(b, conv.bias());
            }
            Module layer = conv;
            int bn = foldableBatchNorm();
            if (bn >= 0) {
                OnnxNode convNode = node;
                int convIndex = index;
                node = onnx.nodes().get(bn);
                index = bn;
                BatchNorm norm = batchNormModule(4, m);
                node = convNode;
                index = convIndex;
                layer = BatchNormFolding.fold(conv, (BatchNorm2d) norm);
                folded.add(bn);
            }
            String name = addNode(w, layer, x);
            Value result = Value.runtime(name, new int[] {BATCH, m, out[0], out[1]});
            define(result);
            if (bn >= 0) {
                values.put(onnx.nodes().get(bn).outputs().get(0), result);
            }
        }

        /** The index of the BatchNormalization to fold into this Conv, or -1. */
        private int foldableBatchNorm() {
            String out = node.outputs().get(0);
            List<Integer> by = readers.getOrDefault(out, List.of());
            if (!options.foldBatchNorm() || by.size() != 1 || outputs.contains(out)) {
                return -1;
            }
            OnnxNode next = onnx.nodes().get(by.get(0));
            boolean simple = next.opType().equals("BatchNormalization") && OnnxOpset.isDefaultDomain(next.domain())
                    && next.inputs().size() == 5 && next.inputs().get(0).equals(out)
                    && next.outputs().stream().skip(1).allMatch(String::isEmpty);
            if (!simple) {
                return -1;
            }
            for (int i = 1; i < 5; i++) {
                Value v = values.get(next.inputs().get(i));
                if (v == null || v.floats() == null) {
                    return -1;
                }
            }
            return by.get(0);
        }

        private void batchNorm() throws OnnxImportException {
            if (folded.contains(index)) {
                return; // its output was defined with the Conv it was folded into
            }
            Value x = runtime(0, "X");
            if (x.rank() < 2 || x.rank() > 4) {
                throw fail("the input is " + shapeText(x) + "; [N, C], [N, C, L] or [N, C, H, W] is expected");
            }
            BatchNorm norm = batchNormModule(x.rank(), x.shape()[1]);
            define(Value.runtime(addNode(floatConstant(1, "the scale"), norm, x), x.shape()));
        }

        /** The batch norm of the current node, its statistics loaded, for an input of {@code rank}. */
        private BatchNorm batchNormModule(int rank, int channels) throws OnnxImportException {
            if (node.inputs().size() != 5) {
                throw fail("BatchNormalization needs 5 inputs (X, scale, B, mean, var), got " + node.inputs().size());
            }
            if (node.outputs().stream().skip(1).anyMatch(o -> !o.isEmpty()) || intAttr("training_mode", 0) != 0) {
                throw fail("batch statistics as outputs (training_mode=1) are not supported; import for "
                        + "training with Options.fineTuning() instead");
            }
            if (intAttr("spatial", 1) != 1) {
                throw fail("spatial=0 (statistics per element, not per channel) is not supported");
            }
            float eps = floatAttr("epsilon", 1e-5f);
            float momentum = 1f - floatAttr("momentum", 0.9f); // ONNX keeps (momentum) of the old statistics
            if (!(eps > 0) || !(momentum >= 0 && momentum <= 1)) {
                throw fail("epsilon " + eps + " must be positive and momentum " + (1 - momentum) + " in [0, 1]");
            }
            String[] roles = {"the scale", "the bias B", "the mean", "the variance"};
            Value[] stats = new Value[4];
            for (int i = 0; i < 4; i++) {
                stats[i] = floatConstant(i + 1, roles[i]);
                if (stats[i].count() != channels) {
                    throw fail(roles[i] + " has shape " + Shapes.toString(stats[i].shape()) + "; " + channels
                            + " values (one per channel) are expected");
                }
            }
            BatchNorm norm = rank == 4 ? new BatchNorm2d(channels, eps, momentum)
                    : new BatchNorm1d(channels, eps, momentum);
            copy(stats[0], norm.weight());
            copy(stats[1], norm.bias());
            copy(stats[2], norm.runningMean());
            copy(stats[3], norm.runningVar());
            return norm;
        }

        /** A Pad folded into the Conv that reads it: the padded value's source and the padding per side. */
        private record PendingPad(Value source, int padH, int padW, boolean reflect) {
        }

        /**
         * Pad: supported where a Conv alone reads it and it pads H and W the same on both sides, with zeros
         * (mode constant, value 0) or mirrored (mode reflect, PyTorch's {@code padding_mode='reflect'}); it becomes
         * that Conv's padding. The value is defined with its padded shape for the shape checks.
         */
        private void pad() throws OnnxImportException {
            Value x = runtime(0, "data");
            requireRank(x, 4, "data");
            String mode = stringAttr("mode", "constant");
            long[] p = intsAttr("pads", null);
            if (p == null && node.inputs().size() > 1 && !node.inputs().get(1).isEmpty()) {
                p = intConstant(1, "the pads").longs();
            }
            float value = floatAttr("value", 0f);
            if (node.inputs().size() > 2 && !node.inputs().get(2).isEmpty()) {
                value = scalar(2, "the constant value");
            }
            if (node.inputs().size() > 3 && !node.inputs().get(3).isEmpty()) {
                throw fail("Pad with axes is not supported");
            }
            List<Integer> by = readers.getOrDefault(node.outputs().get(0), List.of());
            OnnxNode reader = by.size() == 1 ? onnx.nodes().get(by.get(0)) : null;
            boolean beforeConv = reader != null && reader.opType().equals("Conv")
                    && OnnxOpset.isDefaultDomain(reader.domain()) && reader.inputs().get(0).equals(node.outputs().get(0))
                    && !outputs.contains(node.outputs().get(0));
            boolean supportedMode = mode.equals("reflect") || mode.equals("constant") && value == 0f;
            if (p == null || p.length != 8 || p[0] != 0 || p[1] != 0 || p[4] != 0 || p[5] != 0 || p[2] != p[6]
                    || p[3] != p[7] || p[2] < 0 || p[3] < 0 || p[2] > 1 << 16 || p[3] > 1 << 16 || !supportedMode
                    || !beforeConv) {
                throw fail("Pad (mode " + quoted(mode) + ", pads " + Arrays.toString(p) + ", value " + value + ") is "
                        + "supported only as the padding of the one Conv that reads it: the same padding before and "
                        + "after H and W, none on N and C, with zeros or reflected");
            }
            int padH = (int) p[2];
            int padW = (int) p[3];
            if (mode.equals("reflect") && (padH >= x.shape()[2] || padW >= x.shape()[3])) {
                throw fail("reflecting " + padH + " and " + padW + " rows and columns needs more of " + shapeText(x));
            }
            pads.put(node.outputs().get(0), new PendingPad(x, padH, padW, mode.equals("reflect")));
            define(Value.runtime(x.graphName(), new int[] {BATCH, x.shape()[1], x.shape()[2] + 2 * padH,
                x.shape()[3] + 2 * padW}));
        }

        // ---- activations ----

        /** A one-input layer on a computed value, or folded when the input is a float constant. */
        private void unary(Module layer, UnaryOperator<Tensor> onConstant) throws OnnxImportException {
            Value x = input(0);
            if (!x.isRuntime()) {
                define(foldFloats(x, onConstant));
                return;
            }
            define(Value.runtime(addNode(null, layer, x), x.shape()));
        }

        private Value foldFloats(Value x, UnaryOperator<Tensor> f) throws OnnxImportException {
            if (x.floats() == null) {
                throw fail("the input is an integer constant; floats are expected");
            }
            Tensor t = f.apply(x.tensor());
            return Value.floats(t.shape(), t.toArray(), null);
        }

        private void prelu() throws OnnxImportException {
            Value x = runtime(0, "X");
            Value slope = floatConstant(1, "the slope");
            int channels = x.rank() >= 2 ? x.shape()[1] : 1;
            int n = slope.count();
            boolean fits = n == 1;
            if (!fits && n == channels && slope.rank() <= x.rank()) {
                int at = -1; // where the slope's non-1 dimension lands in x's dimensions, right-aligned
                for (int i = 0; i < slope.rank(); i++) {
                    if (slope.shape()[i] != 1) {
                        at = x.rank() - slope.rank() + i;
                    }
                }
                fits = at == 1 || channels == 1;
            }
            if (!fits) {
                throw fail("the slope " + Shapes.toString(slope.shape()) + " does not broadcast over the channels "
                        + "of " + shapeText(x) + "; one slope, or one per channel ([C], [C, 1, 1]) is supported");
            }
            PReLU layer = new PReLU(n);
            copy(slope, layer.weight());
            define(Value.runtime(addNode(slope, layer, x), x.shape()));
        }

        // ---- pooling ----

        private void pool(boolean max) throws OnnxImportException {
            Value x = runtime(0, "X");
            requireRank(x, 4, "X");
            if (node.outputs().size() > 1 && !node.outputs().get(1).isEmpty()) {
                throw fail("the Indices output is not supported");
            }
            long[] k = intsAttr("kernel_shape", null);
            if (k == null || k.length != 2 || k[0] < 1 || k[1] < 1 || k[0] > x.shape()[2] + 64
                    || k[1] > x.shape()[3] + 64) {
                throw fail("kernel_shape " + (k == null ? "is missing" : Arrays.toString(k) + " is not a 2-D "
                        + "window that fits " + shapeText(x)));
            }
            int[] kernel = {(int) k[0], (int) k[1]};
            int[] stride = pair("strides");
            int[] dilation = pair("dilations");
            if (dilation[0] != 1 || dilation[1] != 1) {
                throw fail("dilated pooling (dilations " + Arrays.toString(dilation) + ") is not supported");
            }
            int[] pad = pads(x, kernel, stride, dilation);
            if (2 * pad[0] > kernel[0] || 2 * pad[1] > kernel[1]) {
                throw fail("pads " + Arrays.toString(pad) + " are more than half the window " + Arrays.toString(k)
                        + ", so a window could lie entirely in the padding; this is not supported");
            }
            boolean ceil = intAttr("ceil_mode", 0) != 0;
            int[] out = windowOutput(x, kernel, stride, dilation, pad, ceil);
            String settings = "kernel_shape=" + Arrays.toString(kernel) + ", strides=" + Arrays.toString(stride)
                    + ", pads=" + Arrays.toString(pad);
            Module layer;
            if (max) {
                layer = new OnnxFunction("MaxPool", settings, t -> Functional.maxPool2d(t, kernel[0], kernel[1],
                        stride[0], stride[1], pad[0], pad[1]));
            } else if (intAttr("count_include_pad", 0) != 0 || pad[0] == 0 && pad[1] == 0) {
                layer = new OnnxFunction("AveragePool", settings + ", count_include_pad=1",
                        t -> Functional.avgPool2d(t, kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1]));
            } else {
                // The mean over the window's elements inside the image: the mean with zeros, rescaled per output
                // position by window size / elements inside.
                Tensor rescale = Tensor.zeros(out[0], out[1]);
                for (int i = 0; i < out[0]; i++) {
                    int rows = inside(i * stride[0] - pad[0], kernel[0], x.shape()[2]);
                    for (int j = 0; j < out[1]; j++) {
                        int cols = inside(j * stride[1] - pad[1], kernel[1], x.shape()[3]);
                        rescale.data()[i * out[1] + j] = (float) kernel[0] * kernel[1] / (rows * cols);
                    }
                }
                layer = new OnnxFunction("AveragePool", settings + ", count_include_pad=0",
                        t -> Functional.avgPool2d(t, kernel[0], kernel[1], stride[0], stride[1], pad[0], pad[1])
                                .mul(rescale));
            }
            define(Value.runtime(addNode(null, layer, x), new int[] {BATCH, x.shape()[1], out[0], out[1]}));
        }

        /** How many of the window's {@code k} positions from {@code start} lie in [0, size). */
        private static int inside(int start, int k, int size) {
            return Math.max(0, Math.min(start + k, size) - Math.max(start, 0));
        }

        private void globalAveragePool() throws OnnxImportException {
            Value x = runtime(0, "X");
            requireRank(x, 4, "X");
            define(Value.runtime(addNode(null, new GlobalAvgPool2d(), x), new int[] {BATCH, x.shape()[1], 1, 1}));
        }

        /** {height, width} of an attribute of two positive ints, 1s when it is absent. */
        private int[] pair(String name) throws OnnxImportException {
            long[] v = intsAttr(name, new long[] {1, 1});
            if (v.length != 2 || v[0] < 1 || v[1] < 1 || v[0] > 1 << 16 || v[1] > 1 << 16) {
                throw fail(name + " " + Arrays.toString(v) + ": two positive values (height, width) are expected");
            }
            return new int[] {(int) v[0], (int) v[1]};
        }

        /** The padding {height, width} from pads or auto_pad; asymmetric padding is refused. */
        private int[] pads(Value x, int[] kernel, int[] stride, int[] dilation) throws OnnxImportException {
            String autoPad = stringAttr("auto_pad", "NOTSET");
            long[] p;
            switch (autoPad) {
                case "NOTSET" -> {
                    p = intsAttr("pads", new long[4]);
                    if (p.length != 4) {
                        throw fail("pads " + Arrays.toString(p) + ": four values (top, left, bottom, right) are "
                                + "expected for a 2-D window");
                    }
                }
                case "VALID" -> p = new long[4];
                case "SAME_UPPER", "SAME_LOWER" -> {
                    p = new long[4];
                    for (int a = 0; a < 2; a++) {
                        long size = x.shape()[2 + a];
                        long out = (size + stride[a] - 1) / stride[a];
                        long total = Math.max(0, (out - 1) * stride[a] + (long) (kernel[a] - 1) * dilation[a] + 1
                                - size);
                        long small = total / 2;
                        p[a] = autoPad.equals("SAME_UPPER") ? small : total - small;
                        p[a + 2] = total - p[a];
                    }
                }
                default -> throw fail("auto_pad " + quoted(autoPad) + " is not one of NOTSET, VALID, SAME_UPPER, "
                        + "SAME_LOWER");
            }
            for (long v : p) {
                if (v < 0 || v > 1 << 16) {
                    throw fail("pads " + Arrays.toString(p) + ": values from 0 to 65536 are expected");
                }
            }
            if (p[0] != p[2] || p[1] != p[3]) {
                throw fail("asymmetric padding " + Arrays.toString(p) + " (top, left, bottom, right"
                        + (autoPad.equals("NOTSET") ? "" : ", from auto_pad " + autoPad + " on " + shapeText(x))
                        + ") is not supported: only the same padding before and after on each axis is");
            }
            return new int[] {(int) p[0], (int) p[1]};
        }

        /** The output {height, width} of a window; refused when it would be empty. */
        private int[] windowOutput(Value x, int[] kernel, int[] stride, int[] dilation, int[] pad, boolean ceil)
                throws OnnxImportException {
            int[] out = new int[2];
            for (int a = 0; a < 2; a++) {
                long span = (long) x.shape()[2 + a] + 2L * pad[a] - (long) dilation[a] * (kernel[a] - 1) - 1;
                if (span < 0) {
                    throw fail("the window " + Arrays.toString(kernel) + " (dilation " + Arrays.toString(dilation)
                            + ", pads " + Arrays.toString(pad) + ") is larger than the input " + shapeText(x));
                }
                long floor = span / stride[a] + 1;
                long ceiled = (span + stride[a] - 1) / stride[a] + 1;
                if (ceil && ceiled != floor && (ceiled - 1) * stride[a] < x.shape()[2 + a] + pad[a]) {
                    throw fail("ceil_mode=1 gives another output size here (" + ceiled + " rather than " + floor
                            + " on axis " + (2 + a) + " of " + shapeText(x) + "); only ceil_mode=0 is supported");
                }
                out[a] = (int) floor;
            }
            return out;
        }

        // ---- fully connected ----

        private void gemm() throws OnnxImportException {
            Value a = runtime(0, "A");
            requireRank(a, 2, "A");
            Value b = floatConstant(1, "B");
            if (intAttr("transA", 0) != 0) {
                throw fail("transA=1 would move the batch dimension of A; it is not supported");
            }
            boolean transB = intAttr("transB", 0) != 0;
            float alpha = floatAttr("alpha", 1f);
            float beta = floatAttr("beta", 1f);
            int k = a.shape()[1];
            if (b.rank() != 2 || b.shape()[transB ? 1 : 0] != k) {
                throw fail("B " + Shapes.toString(b.shape()) + (transB ? " (transposed)" : "") + " does not fit A "
                        + shapeText(a));
            }
            int m = b.shape()[transB ? 0 : 1];
            Value c = node.inputs().size() > 2 && !node.inputs().get(2).isEmpty() ? floatConstant(2, "C") : null;
            if (c != null && !(c.count() == m || c.count() == 1) || c != null && c.rank() == 2 && c.shape()[0] != 1) {
                throw fail("C " + Shapes.toString(c.shape()) + " is not a bias of " + m + " values (or one)");
            }
            Linear fc = new Linear(k, m, c != null, new Rng(0));
            float[] w = fc.weight().data();
            for (int o = 0; o < m; o++) {
                for (int i = 0; i < k; i++) {
                    w[o * k + i] = alpha * b.floats()[transB ? o * k + i : i * m + o];
                }
            }
            if (c != null) {
                for (int o = 0; o < m; o++) {
                    fc.bias().data()[o] = beta * c.floats()[c.count() == 1 ? 0 : o];
                }
            }
            define(Value.runtime(addNode(b, fc, a), new int[] {BATCH, m}));
        }

        private void matMul() throws OnnxImportException {
            Value a = input(0);
            Value b = input(1);
            if (!a.isRuntime() || b.isRuntime() || b.floats() == null) {
                throw fail("MatMul of a computed value by a weight (an initializer or constant) is supported; here"
                        + " A is " + describe(a) + " and B " + describe(b));
            }
            if (a.rank() < 2 || a.rank() > 3 || b.rank() != 2 || b.shape()[0] != a.shape()[a.rank() - 1]) {
                throw fail("A " + shapeText(a) + " and B " + Shapes.toString(b.shape()) + " do not fit: A [N, K]"
                        + " or [N, T, K] by B [K, M] is supported");
            }
            int k = b.shape()[0];
            int m = b.shape()[1];
            Linear fc = new Linear(k, m, false, new Rng(0));
            float[] w = fc.weight().data();
            for (int o = 0; o < m; o++) {
                for (int i = 0; i < k; i++) {
                    w[o * k + i] = b.floats()[i * m + o];
                }
            }
            int[] shape = a.shape().clone();
            shape[shape.length - 1] = m;
            define(Value.runtime(addNode(b, fc, a), shape));
        }

        // ---- elementwise with two operands ----

        /**
         * Add, Sub, Mul, Div: between two computed values a {@link GraphOp}; with a float constant a
         * {@link ConstantOperand}; between constants folded ({@code onLongs} null: integer division).
         */
        private void binary(GraphOp op, BinaryOperator<Tensor> onTensors, LongBinary onLongs)
                throws OnnxImportException {
            Value a = input(0);
            Value b = input(1);
            int[] shape = broadcast(a, b);
            if (!a.isRuntime() && !b.isRuntime()) {
                folded(numel(shape), shape);
                if (a.floats() != null && b.floats() != null) {
                    Tensor t = onTensors.apply(a.tensor(), b.tensor());
                    define(Value.floats(t.shape(), t.toArray(), null));
                } else if (a.longs() != null && b.longs() != null) {
                    define(longBinary(a, b, shape, onLongs));
                } else {
                    throw fail("the operands mix integer and float constants");
                }
                return;
            }
            if (a.isRuntime() && b.isRuntime()) {
                String name = uniqueName(nodeName(null), node.opType());
                builder.op(name, op, a.graphName(), b.graphName());
                define(Value.runtime(name, shape));
                return;
            }
            Value constant = a.isRuntime() ? b : a;
            Value x = a.isRuntime() ? a : b;
            if (constant.floats() == null) {
                throw fail("a computed value and an integer constant: floats are expected");
            }
            String operand = constant.initializer() == null ? "value" : parameterName(constant.initializer());
            Module layer = new ConstantOperand(node.opType(), operand, constant.tensor(),
                    constant.initializer() != null, !a.isRuntime(), onTensors);
            define(Value.runtime(addNode(constant, layer, x), shape));
        }

        /** {@code n} elements of a constant to compute, refused beyond {@link #MAX_FOLDED_ELEMENTS}. */
        private int folded(int n, int[] shape) throws OnnxImportException {
            if (n < 0 || n > MAX_FOLDED_ELEMENTS) {
                throw fail("the constant computed here would have shape " + Arrays.toString(shape) + ", more than "
                        + MAX_FOLDED_ELEMENTS + " elements");
            }
            return n;
        }

        private interface LongBinary {
            long apply(long a, long b);
        }

        private Value longBinary(Value a, Value b, int[] shape, LongBinary f) throws OnnxImportException {
            int n = folded(numel(shape), shape);
            long[] out = new long[n];
            boolean[] batch = new boolean[n];
            for (int i = 0; i < n; i++) {
                int ia = broadcastIndex(i, shape, a.shape());
                int ib = broadcastIndex(i, shape, b.shape());
                boolean ba = a.batch()[ia];
                boolean bb = b.batch()[ib];
                long va = a.longs()[ia];
                long vb = b.longs()[ib];
                String op = node.opType();
                if (ba || bb) {
                    // The batch size survives only an identity: + 0, - 0, * 1, / 1.
                    long other = ba ? vb : va;
                    boolean identity = !(ba && bb) && ((op.equals("Add") && other == 0)
                            || (op.equals("Sub") && ba && other == 0) || (op.equals("Mul") && other == 1)
                            || (op.equals("Div") && ba && other == 1));
                    if (!identity) {
                        throw fail("the shape computation applies " + op + " to the batch size; only shapes that "
                                + "keep the batch size as it is are supported");
                    }
                    batch[i] = true;
                    continue;
                }
                if (f == null) {
                    if (vb == 0) {
                        throw fail("integer division by zero in a shape computation");
                    }
                    out[i] = va / vb;
                } else {
                    out[i] = f.apply(va, vb);
                }
            }
            return Value.longs(shape, out, batch);
        }

        /** The flat index in {@code from} (numpy-broadcast to {@code to}) of flat index {@code i} of {@code to}. */
        private static int broadcastIndex(int i, int[] to, int[] from) {
            int index = 0;
            int stride = 1;
            int rest = i;
            for (int d = to.length - 1; d >= 0; d--) {
                int coordinate = rest % to[d];
                rest /= to[d];
                int fd = d - (to.length - from.length);
                if (fd >= 0) {
                    if (from[fd] != 1) {
                        index += coordinate * stride;
                    }
                    stride *= from[fd];
                }
            }
            return index;
        }

        /** The numpy broadcast of two shapes; the batch dimension matches the batch or 1 only. */
        private int[] broadcast(Value a, Value b) throws OnnxImportException {
            int[] sa = a.shape();
            int[] sb = b.shape();
            if ((!a.isRuntime() && sa.length > sb.length && b.isRuntime())
                    || (!b.isRuntime() && sb.length > sa.length && a.isRuntime())) {
                throw fail("the constant " + Shapes.toString(a.isRuntime() ? sb : sa) + " has more dimensions "
                        + "than the computed value " + shapeText(a.isRuntime() ? a : b) + ", which would move its "
                        + "batch dimension");
            }
            int rank = Math.max(sa.length, sb.length);
            int[] out = new int[rank];
            for (int d = 0; d < rank; d++) {
                int da = d - (rank - sa.length) >= 0 ? sa[d - (rank - sa.length)] : 1;
                int db = d - (rank - sb.length) >= 0 ? sb[d - (rank - sb.length)] : 1;
                if (da == db || db == 1) {
                    out[d] = da;
                } else if (da == 1) {
                    out[d] = db;
                } else {
                    throw fail("the shapes " + shapeText(a) + " and " + shapeText(b) + " do not broadcast");
                }
            }
            return out;
        }

        private void pow() throws OnnxImportException {
            Value x = input(0);
            Value e = floatConstant(1, "the exponent Y");
            if (e.count() != 1) {
                throw fail("the exponent " + Shapes.toString(e.shape()) + " is not one number");
            }
            float p = e.floats()[0];
            unary(new OnnxFunction("Pow", "exponent=" + p, t -> t.pow(p)), t -> t.pow(p));
        }

        // ---- shapes ----

        private void flatten() throws OnnxImportException {
            Value x = input(0);
            int axis = axis(intAttr("axis", 1), x.rank() + 1, "axis");
            int[] shape = {numel(Arrays.copyOfRange(x.shape(), 0, axis)),
                numel(Arrays.copyOfRange(x.shape(), axis, x.rank()))};
            if (!x.isRuntime()) {
                define(reshaped(x, shape));
                return;
            }
            if (axis != 1) {
                throw fail("Flatten with axis=" + axis + " merges the batch dimension of " + shapeText(x)
                        + " with others; only axis=1 is supported");
            }
            shape[0] = BATCH;
            define(Value.runtime(addNode(null, new Flatten(1), x), shape));
        }

        private void reshape() throws OnnxImportException {
            Value x = input(0);
            Value target = intConstant(1, "the shape");
            if (target.rank() != 1) {
                throw fail("the shape is a constant of shape " + Shapes.toString(target.shape()) + ", not a list");
            }
            boolean allowZero = intAttr("allowzero", 0) != 0;
            long[] t = target.longs();
            int[] shape = new int[t.length];
            int infer = -1;
            for (int i = 0; i < t.length; i++) {
                if (target.batch()[i]) {
                    shape[i] = BATCH;
                } else if (t[i] == 0 && !allowZero) {
                    if (i >= x.rank()) {
                        throw fail("the shape " + shapeText(target) + " copies dimension " + i + " of " + shapeText(x)
                                + ", which it does not have");
                    }
                    shape[i] = x.shape()[i];
                } else if (t[i] == -1 && infer < 0) {
                    infer = i;
                } else if (t[i] < 0 || t[i] > Integer.MAX_VALUE) {
                    throw fail("the shape " + shapeText(target) + " has the size " + t[i] + " at " + i);
                } else {
                    shape[i] = (int) t[i];
                }
            }
            if (!x.isRuntime()) {
                if (x.anyBatch() || Arrays.stream(shape).anyMatch(d -> d == BATCH)) {
                    throw fail("reshaping a shape computation by the batch size is not supported");
                }
                define(reshaped(x, inferred(shape, infer, x.count(), target, x)));
                return;
            }
            // The batch stays in dimension 0: given as the batch, copied by a 0, inferred by the -1, or the
            // declared fixed batch size written as a number.
            if (shape.length == 0 || (shape[0] != BATCH && infer != 0
                    && !(declaredBatch > 0 && t[0] == declaredBatch && !target.batch()[0]))) {
                throw fail("the shape " + shapeText(target) + " does not keep the batch dimension of " + shapeText(x)
                        + " first; only reshapes of each sample are supported");
            }
            int[] rest = Arrays.copyOfRange(shape, 1, shape.length);
            for (int d : rest) {
                if (d == BATCH) {
                    throw fail("the shape " + shapeText(target) + " puts the batch size after dimension 0");
                }
            }
            int perSample = numel(Arrays.copyOfRange(x.shape(), 1, x.rank()));
            int[] sample = inferred(rest, infer > 0 ? infer - 1 : -1, perSample, target, x);
            define(reshapeRuntime(x, sample));
        }

        /** {@code shape} with the dimension {@code infer} (or none, -1) set so that it holds {@code count}. */
        private int[] inferred(int[] shape, int infer, int count, Value target, Value x) throws OnnxImportException {
            long known = 1;
            for (int i = 0; i < shape.length; i++) {
                if (i != infer) {
                    known *= shape[i];
                }
            }
            int[] out = shape.clone();
            if (infer >= 0) {
                if (known == 0 || count % known != 0) {
                    throw fail("the shape " + shapeText(target) + " does not fit the " + count + " elements (per "
                            + "sample) of " + shapeText(x));
                }
                out[infer] = (int) (count / known);
            } else if (known != count) {
                throw fail("the shape " + shapeText(target) + " does not hold the " + count + " elements (per "
                        + "sample) of " + shapeText(x));
            }
            return out;
        }

        /** A computed value reshaped to [N, sample...] (or defined as itself when nothing changes). */
        private Value reshapeRuntime(Value x, int[] sample) {
            int[] shape = new int[sample.length + 1];
            shape[0] = BATCH;
            System.arraycopy(sample, 0, shape, 1, sample.length);
            if (Arrays.equals(shape, x.shape())) {
                return x;
            }
            int[] target = shape.clone();
            String text = Shapes.toString(sample).replace("[", "[N, ").replace("[N, ]", "[N]");
            Module layer = new OnnxFunction("Reshape", "shape=" + text, t -> {
                target[0] = t.dim(0);
                return t.reshape(target.clone());
            });
            return Value.runtime(addNode(null, layer, x), shape);
        }

        private static Value reshaped(Value c, int[] shape) {
            return new Value(null, shape, c.floats(), c.longs(), c.batch(), c.initializer());
        }

        private void transpose() throws OnnxImportException {
            Value x = input(0);
            long[] perm = intsAttr("perm", null);
            int[] p = new int[x.rank()];
            for (int i = 0; i < p.length; i++) {
                p[i] = perm == null ? p.length - 1 - i : (int) Math.max(-1, Math.min(perm[i], Integer.MAX_VALUE));
            }
            if (perm != null && perm.length != x.rank()
                    || !Arrays.equals(Arrays.stream(p).sorted().toArray(), java.util.stream.IntStream.range(0,
                    p.length).toArray())) {
                throw fail("perm " + Arrays.toString(perm) + " is not a permutation of the " + x.rank()
                        + " dimensions of " + shapeText(x));
            }
            int[] shape = new int[p.length];
            for (int i = 0; i < p.length; i++) {
                shape[i] = x.shape()[p[i]];
            }
            if (!x.isRuntime()) {
                define(transposed(x, p, shape));
                return;
            }
            // A layout no-op: the dimensions larger than 1 keep their order, and the batch stays first.
            int last = -1;
            boolean keepsOrder = p.length == 0 || p[0] == 0;
            for (int d : p) {
                if (x.shape()[d] != 1) {
                    keepsOrder &= d > last;
                    last = d;
                }
            }
            if (!keepsOrder) {
                throw fail("perm " + Arrays.toString(p) + " moves data of " + shapeText(x) + "; only transposes that"
                        + " keep the batch first and move dimensions of size 1 (a reshape) are supported");
            }
            define(reshapeRuntime(x, Arrays.copyOfRange(shape, 1, shape.length)));
        }

        private Value transposed(Value c, int[] p, int[] shape) {
            int n = c.count();
            float[] f = c.floats() == null ? null : new float[n];
            long[] l = c.longs() == null ? null : new long[n];
            boolean[] b = c.batch() == null ? null : new boolean[n];
            int[] strides = new int[c.rank()];
            for (int d = c.rank() - 1, s = 1; d >= 0; s *= c.shape()[d], d--) {
                strides[d] = s;
            }
            for (int i = 0; i < n; i++) {
                int rest = i;
                int from = 0;
                for (int d = shape.length - 1; d >= 0; d--) {
                    from += (rest % shape[d]) * strides[p[d]];
                    rest /= shape[d];
                }
                if (f != null) {
                    f[i] = c.floats()[from];
                } else {
                    l[i] = c.longs()[from];
                    b[i] = c.batch()[from];
                }
            }
            return new Value(null, shape, f, l, b, c.initializer());
        }

        private void squeeze(boolean unsqueeze) throws OnnxImportException {
            Value x = input(0);
            long[] axes = intsAttr("axes", null);
            if (axes == null && node.inputs().size() > 1 && !node.inputs().get(1).isEmpty()) {
                axes = intConstant(1, "the axes").longs();
            }
            List<Integer> shape = new ArrayList<>();
            for (int d : x.shape()) {
                shape.add(d);
            }
            if (unsqueeze) {
                if (axes == null) {
                    throw fail("Unsqueeze needs axes");
                }
                int rank = x.rank() + axes.length;
                int[] sorted = new int[axes.length];
                for (int i = 0; i < axes.length; i++) {
                    sorted[i] = axis(axes[i], rank, "axes");
                }
                Arrays.sort(sorted);
                for (int a : sorted) {
                    shape.add(a, 1);
                }
            } else {
                Set<Integer> drop = new HashSet<>();
                for (int i = 0; i < x.rank(); i++) {
                    boolean listed = false;
                    if (axes != null) {
                        for (long a : axes) {
                            listed |= axis(a, x.rank(), "axes") == i;
                        }
                    }
                    if (axes == null ? x.shape()[i] == 1 : listed) {
                        if (x.shape()[i] != 1) {
                            throw fail("axis " + i + " of " + shapeText(x) + " has size " + x.shape()[i] + ", not 1");
                        }
                        drop.add(i);
                    }
                }
                List<Integer> kept = new ArrayList<>();
                for (int i = 0; i < x.rank(); i++) {
                    if (!drop.contains(i)) {
                        kept.add(shape.get(i));
                    }
                }
                shape = kept;
            }
            int[] out = shape.stream().mapToInt(Integer::intValue).toArray();
            if (!x.isRuntime()) {
                define(reshaped(x, out));
                return;
            }
            if (out.length == 0 || out[0] != BATCH || Arrays.stream(out).skip(1).anyMatch(d -> d == BATCH)) {
                throw fail(node.opType() + " with axes " + Arrays.toString(axes) + " moves the batch dimension of "
                        + shapeText(x));
            }
            define(reshapeRuntime(x, Arrays.copyOfRange(out, 1, out.length)));
        }

        private void concat() throws OnnxImportException {
            List<Value> in = new ArrayList<>();
            for (int i = 0; i < node.inputs().size(); i++) {
                in.add(input(i));
            }
            if (in.isEmpty()) {
                throw fail("Concat has no inputs");
            }
            Value first = in.get(0);
            int axis = axis(intAttr("axis", Long.MIN_VALUE), first.rank(), "axis");
            int[] shape = first.shape().clone();
            shape[axis] = 0;
            for (Value v : in) {
                if (v.isRuntime() != first.isRuntime() || v.rank() != first.rank()) {
                    throw fail("Concat of computed values with constants, or of different ranks, is not supported"
                            + " (" + in.stream().map(this::shapeText).toList() + ")");
                }
                for (int d = 0; d < shape.length; d++) {
                    if (d != axis && v.shape()[d] != first.shape()[d]) {
                        throw fail("the inputs " + in.stream().map(this::shapeText).toList() + " differ outside "
                                + "axis " + axis);
                    }
                }
                shape[axis] += v.shape()[axis];
            }
            if (!first.isRuntime()) {
                define(concatConstants(in, axis, shape));
                return;
            }
            if (axis == 0) {
                throw fail("Concat along the batch dimension is not supported");
            }
            String name = uniqueName(nodeName(null), "Concat");
            builder.op(name, GraphOp.concat(axis), in.stream().map(Value::graphName).toArray(String[]::new));
            define(Value.runtime(name, shape));
        }

        private Value concatConstants(List<Value> in, int axis, int[] shape) throws OnnxImportException {
            boolean floats = in.get(0).floats() != null;
            int outer = numel(Arrays.copyOfRange(shape, 0, axis));
            int inner = numel(Arrays.copyOfRange(shape, axis + 1, shape.length));
            int n = folded(numel(shape), shape);
            float[] f = floats ? new float[n] : null;
            long[] l = floats ? null : new long[n];
            boolean[] b = floats ? null : new boolean[n];
            int at = 0;
            for (int o = 0; o < outer; o++) {
                for (Value v : in) {
                    if ((v.floats() != null) != floats) {
                        throw fail("Concat of float and integer constants");
                    }
                    int run = v.shape()[axis] * inner;
                    if (floats) {
                        System.arraycopy(v.floats(), o * run, f, at, run);
                    } else {
                        System.arraycopy(v.longs(), o * run, l, at, run);
                        System.arraycopy(v.batch(), o * run, b, at, run);
                    }
                    at += run;
                }
            }
            return new Value(null, shape, f, l, b, null);
        }

        private void shape() throws OnnxImportException {
            Value x = input(0);
            int rank = x.rank();
            int start = clampAxis(intAttr("start", 0), rank);
            int end = clampAxis(intAttr("end", rank), rank);
            int n = Math.max(0, end - start);
            long[] dims = new long[n];
            boolean[] batch = new boolean[n];
            for (int i = 0; i < n; i++) {
                int d = x.shape()[start + i];
                batch[i] = x.isRuntime() && d == BATCH;
                dims[i] = batch[i] ? 0 : d;
            }
            define(Value.longs(new int[] {n}, dims, batch));
        }

        private static int clampAxis(long a, int rank) {
            long v = a < 0 ? a + rank : a;
            return (int) Math.max(0, Math.min(rank, v));
        }

        private void gather() throws OnnxImportException {
            Value data = input(0);
            Value indices = intConstant(1, "the indices");
            if (data.isRuntime()) {
                throw fail("Gather from a computed value is not supported (only from constants and shapes)");
            }
            int axis = axis(intAttr("axis", 0), data.rank(), "axis");
            int size = data.shape()[axis];
            int outer = numel(Arrays.copyOfRange(data.shape(), 0, axis));
            int inner = numel(Arrays.copyOfRange(data.shape(), axis + 1, data.rank()));
            List<Integer> shape = new ArrayList<>();
            for (int d = 0; d < axis; d++) {
                shape.add(data.shape()[d]);
            }
            for (int d : indices.shape()) {
                shape.add(d);
            }
            for (int d = axis + 1; d < data.rank(); d++) {
                shape.add(data.shape()[d]);
            }
            int[] out = shape.stream().mapToInt(Integer::intValue).toArray();
            int n = folded(numel(out), out);
            boolean floats = data.floats() != null;
            float[] f = floats ? new float[n] : null;
            long[] l = floats ? null : new long[n];
            boolean[] b = floats ? null : new boolean[n];
            int at = 0;
            for (int o = 0; o < outer; o++) {
                for (int j = 0; j < indices.count(); j++) {
                    if (indices.batch()[j]) {
                        throw fail("the batch size used as an index");
                    }
                    long i = indices.longs()[j];
                    if (i < -size || i >= size) {
                        throw fail("index " + i + " is out of range for dimension " + axis + " of size " + size);
                    }
                    int from = (o * size + (int) (i < 0 ? i + size : i)) * inner;
                    if (floats) {
                        System.arraycopy(data.floats(), from, f, at, inner);
                    } else {
                        System.arraycopy(data.longs(), from, l, at, inner);
                        System.arraycopy(data.batch(), from, b, at, inner);
                    }
                    at += inner;
                }
            }
            define(new Value(null, out, f, l, b, null));
        }

        private void cast() throws OnnxImportException {
            Value x = input(0);
            long to = intAttr("to", -1);
            OnnxDataType type = OnnxDataType.ofCode(to);
            boolean toFloat = type == OnnxDataType.FLOAT || type == OnnxDataType.DOUBLE;
            boolean toInt = type == OnnxDataType.INT64 || type == OnnxDataType.INT32;
            if (x.isRuntime()) {
                if (!toFloat) {
                    throw fail("casting a computed value to " + OnnxDataType.describe(to) + " is not supported (to "
                            + "FLOAT is, as nothing)");
                }
                define(x);
            } else if (toFloat) {
                if (x.anyBatch()) {
                    throw fail("casting the batch size to a float is not supported");
                }
                float[] f = x.floats() != null ? x.floats() : new float[x.count()];
                for (int i = 0; x.longs() != null && i < f.length; i++) {
                    f[i] = x.longs()[i];
                }
                define(Value.floats(x.shape(), f, null));
            } else if (toInt) {
                if (x.longs() != null) {
                    define(x);
                    return;
                }
                long[] l = new long[x.count()];
                for (int i = 0; i < l.length; i++) {
                    l[i] = (long) x.floats()[i];
                }
                define(Value.longs(x.shape(), l, new boolean[l.length]));
            } else {
                throw fail("Cast to " + OnnxDataType.describe(to) + " is not supported (FLOAT, DOUBLE, INT32, "
                        + "INT64 are)");
            }
        }

        private void expand() throws OnnxImportException {
            Value x = input(0);
            Value target = intConstant(1, "the shape");
            if (target.rank() != 1) {
                throw fail("the shape is a constant of shape " + Shapes.toString(target.shape()) + ", not a list");
            }
            int[] t = new int[target.count()];
            for (int i = 0; i < t.length; i++) {
                long v = target.longs()[i];
                if (target.batch()[i]) {
                    t[i] = BATCH;
                } else if (v < 0 || v > Integer.MAX_VALUE) {
                    throw fail("the shape " + shapeText(target) + " has the size " + v);
                } else {
                    t[i] = (int) v;
                }
            }
            if (!x.isRuntime()) {
                if (target.anyBatch()) {
                    throw fail("expanding a constant to the batch size is not supported");
                }
                folded(numel(t), t);
                Value ones = Value.floats(t, filled(t), null);
                int[] shape = broadcast(x, ones);
                if (x.floats() == null) {
                    define(longBinary(x, Value.longs(t, new long[ones.count()], new boolean[ones.count()]), shape,
                            (a, b) -> a + b));
                } else {
                    Tensor r = x.tensor().mul(Tensor.ones(shape));
                    define(Value.floats(shape, r.toArray(), null));
                }
                return;
            }
            Value shapeOnly = Value.runtime("", t);
            int[] shape = broadcast(x, shapeOnly);
            if (shape.length != x.rank() || shape[0] != BATCH) {
                throw fail("Expand to " + shapeText(target) + " moves the batch dimension of " + shapeText(x));
            }
            if (Arrays.equals(shape, x.shape())) {
                define(x); // Expand to its own shape: nothing to do (a Div after it broadcasts anyway)
                return;
            }
            int[] sample = shape.clone();
            sample[0] = 1;
            Tensor zeros = Tensor.zeros(sample);
            define(Value.runtime(addNode(null, new OnnxFunction("Expand", "shape=" + shapeText(target),
                    v -> v.add(zeros)), x), shape));
        }

        private static float[] filled(int[] shape) {
            float[] f = new float[numel(shape)];
            Arrays.fill(f, 1f);
            return f;
        }

        // ---- normalisation and reductions ----

        private void dropout() throws OnnxImportException {
            Value x = runtime(0, "data");
            if (node.outputs().size() > 1 && !node.outputs().get(1).isEmpty()
                    && !readers.getOrDefault(node.outputs().get(1), List.of()).isEmpty()) {
                throw fail("the mask output of Dropout is read; it is not supported");
            }
            float ratio = floatAttr("ratio", 0.5f);
            if (node.inputs().size() > 1 && !node.inputs().get(1).isEmpty()) {
                Value r = floatConstant(1, "the ratio");
                ratio = r.floats().length == 1 ? r.floats()[0] : -1;
            }
            if (!(ratio >= 0 && ratio < 1)) {
                throw fail("the dropout ratio " + ratio + " is not in [0, 1)");
            }
            // In eval mode (how the graph is returned) the identity; in train mode the dropout the file asks for.
            define(Value.runtime(addNode(null, new Dropout(ratio, new Rng(index)), x), x.shape()));
        }

        private void lpNormalization() throws OnnxImportException {
            Value x = runtime(0, "input");
            int axis = axis(intAttr("axis", -1), x.rank(), "axis");
            if (intAttr("p", 2) != 2) {
                throw fail("p=" + intAttr("p", 2) + " is not supported; only the L2 norm (p=2) is");
            }
            if (axis == 0) {
                throw fail("normalising along the batch dimension is not supported");
            }
            // x / ||x||; the eps only matters for a zero vector, which ONNX would turn into NaNs.
            define(Value.runtime(addNode(null, new L2Normalize(axis, 1e-12f), x), x.shape()));
        }

        private void reduce() throws OnnxImportException {
            Value x = runtime(0, "data");
            long[] axes = intsAttr("axes", null);
            if (axes == null && node.inputs().size() > 1 && !node.inputs().get(1).isEmpty()) {
                axes = intConstant(1, "the axes").longs();
            }
            if (axes == null || axes.length == 0) {
                throw fail(node.opType() + " over every axis (no axes) reduces the batch dimension; it is not "
                        + "supported");
            }
            boolean keep = intAttr("keepdims", 1) != 0;
            TreeSet<Integer> sorted = new TreeSet<>();
            for (long a : axes) {
                int d = axis(a, x.rank(), "axes");
                if (d == 0) {
                    throw fail(node.opType() + " over the batch dimension is not supported");
                }
                sorted.add(d);
            }
            List<Integer> descending = new ArrayList<>(sorted.descendingSet());
            String op = node.opType();
            Module layer = new OnnxFunction(op, "axes=" + sorted + ", keepdims=" + (keep ? 1 : 0), t -> {
                if (op.equals("ReduceL2") && descending.size() == 1) {
                    // the norm as L2Normalize computes it, so Div(x, Clip(ReduceL2(x))) gives its bits
                    return Functional.l2Norm(t, descending.get(0), keep);
                }
                Tensor r = op.equals("ReduceL2") ? t.square() : t;
                for (int d : descending) {
                    r = op.equals("ReduceMean") ? r.mean(d, keep) : r.sum(d, keep);
                }
                return op.equals("ReduceL2") ? r.sqrt() : r;
            });
            List<Integer> shape = new ArrayList<>();
            for (int d = 0; d < x.rank(); d++) {
                if (!sorted.contains(d)) {
                    shape.add(x.shape()[d]);
                } else if (keep) {
                    shape.add(1);
                }
            }
            define(Value.runtime(addNode(null, layer, x), shape.stream().mapToInt(Integer::intValue).toArray()));
        }

        private void clip() throws OnnxImportException {
            Value x = input(0);
            float min = floatAttr("min", Float.NEGATIVE_INFINITY);
            float max = floatAttr("max", Float.POSITIVE_INFINITY);
            if (node.inputs().size() > 1 && !node.inputs().get(1).isEmpty()) {
                min = scalar(1, "min");
            }
            if (node.inputs().size() > 2 && !node.inputs().get(2).isEmpty()) {
                max = scalar(2, "max");
            }
            if (Float.isNaN(min) || Float.isNaN(max) || min > max) {
                throw fail("Clip to [" + min + ", " + max + "] is not a range");
            }
            float lo = min;
            float hi = max;
            String settings = (lo == Float.NEGATIVE_INFINITY ? "" : "min=" + lo)
                    + (hi == Float.POSITIVE_INFINITY ? "" : (lo == Float.NEGATIVE_INFINITY ? "" : ", ") + "max=" + hi);
            unary(new OnnxFunction("Clip", settings, t -> t.clamp(lo, hi)), t -> t.clamp(lo, hi));
        }

        private float scalar(int i, String role) throws OnnxImportException {
            Value v = floatConstant(i, role);
            if (v.count() != 1) {
                throw fail(role + " is " + Shapes.toString(v.shape()) + ", not one number");
            }
            return v.floats()[0];
        }

        // ---- constants ----

        private Value constantNode() throws OnnxImportException {
            if (node.attributes().size() != 1) {
                throw fail("a Constant needs exactly one value attribute, got " + node.attributes().size());
            }
            OnnxAttribute a = node.attributes().get(0);
            return switch (a.name()) {
                case "value" -> {
                    if (a.type() != OnnxAttribute.Type.TENSOR) {
                        throw fail("the attribute value is " + a.type() + ", not a TENSOR");
                    }
                    yield constant(a.asTensor(), null);
                }
                case "value_float" -> Value.floats(new int[0], new float[] {attrFloat(a)}, null);
                case "value_floats" -> Value.floats(new int[] {attrFloats(a).length}, attrFloats(a), null);
                case "value_int" -> Value.longs(new int[0], new long[] {attrInt(a)}, new boolean[1]);
                case "value_ints" -> Value.longs(new int[] {attrInts(a).length}, attrInts(a),
                        new boolean[attrInts(a).length]);
                default -> throw fail("a Constant with attribute " + quoted(a.name()) + " is not supported "
                        + "(value, value_float(s) and value_int(s) are)");
            };
        }

        private static Value constant(OnnxTensor t, String initializer) {
            return t.isFloating() ? Value.floats(t.shape(), t.floats(), initializer)
                    : Value.longs(t.shape(), t.longs(), new boolean[t.elementCount()]);
        }

        // ---- inputs, outputs and graph nodes ----

        private Value input(int i) throws OnnxImportException {
            if (i >= node.inputs().size() || node.inputs().get(i).isEmpty()) {
                throw fail("input " + i + " is missing");
            }
            String name = node.inputs().get(i);
            Value v = values.get(name);
            if (v == null) {
                throw fail("input " + i + " " + quoted(name) + " is not defined before the node (not a graph "
                        + "input, initializer or earlier node's output)");
            }
            return v;
        }

        private Value runtime(int i, String role) throws OnnxImportException {
            return input(i, role, Value::isRuntime, "a value computed from the input");
        }

        private Value floatConstant(int i, String role) throws OnnxImportException {
            return input(i, role, v -> v.floats() != null, "a float constant (an initializer)");
        }

        private Value intConstant(int i, String role) throws OnnxImportException {
            return input(i, role, v -> v.longs() != null, "an integer constant");
        }

        /** Input {@code i}, when it is of the {@code kind} the operator needs there. */
        private Value input(int i, String role, java.util.function.Predicate<Value> kind, String expected)
                throws OnnxImportException {
            Value v = input(i);
            if (!kind.test(v)) {
                throw fail(role + " " + quoted(node.inputs().get(i)) + " is " + describe(v) + "; " + expected
                        + " is expected");
            }
            return v;
        }

        private String describe(Value v) {
            return v.isRuntime() ? "computed (" + shapeText(v) + ")" : (v.floats() != null ? "a float" : "an integer")
                    + " constant " + Shapes.toString(v.shape());
        }

        private void requireRank(Value v, int rank, String role) throws OnnxImportException {
            if (v.rank() != rank) {
                throw fail(role + " is " + shapeText(v) + "; rank " + rank + " is expected");
            }
        }

        /** A shape for messages, the batch written N; a shape constant's values, the batch size written N. */
        private String shapeText(Value v) {
            if (v.longs() != null && v.rank() == 1) {
                StringBuilder sb = new StringBuilder("[");
                for (int i = 0; i < v.count(); i++) {
                    sb.append(i == 0 ? "" : ", ").append(v.batch()[i] ? "N" : Long.toString(v.longs()[i]));
                }
                return sb.append(']').toString();
            }
            return Arrays.toString(v.shape()).replace(Integer.toString(BATCH), "N");
        }

        private void define(Value v) throws OnnxImportException {
            String name = node.outputs().get(0);
            for (int i = 1; i < node.outputs().size(); i++) {
                String extra = node.outputs().get(i);
                if (!extra.isEmpty() && !readers.getOrDefault(extra, List.of()).isEmpty()) {
                    throw fail("output " + i + " " + quoted(extra) + " is read by other nodes; only the first "
                            + "output of " + node.opType() + " is supported");
                }
            }
            if (values.containsKey(name)) {
                throw fail("the output " + quoted(name) + " is defined a second time");
            }
            if (v.isRuntime()) {
                int perSample = numel(Arrays.copyOfRange(v.shape(), 1, v.rank()));
                if (perSample < 0 || perSample > MAX_SAMPLE_ELEMENTS) {
                    throw fail("the output " + shapeText(v) + " would hold more than " + MAX_SAMPLE_ELEMENTS
                            + " elements per sample");
                }
            }
            values.put(name, v);
        }

        /** Adds a module node and returns its (unique) name, see the class comment. */
        private String addNode(Value weight, Module layer, Value x) {
            String name = uniqueName(nodeName(weight == null ? null : weight.initializer()), node.opType());
            builder.node(name, layer, x.graphName());
            return name;
        }

        private String nodeName(String initializer) {
            if (initializer != null) {
                int dot = initializer.lastIndexOf('.');
                String base = dot > 0 ? sanitise(initializer.substring(0, dot)) : "";
                if (!base.isEmpty() && !initializer.startsWith("onnx::")) {
                    return base;
                }
            }
            return sanitise(node.name());
        }

        /** The state-dict name of a constant operand: the initializer's last part, if it is a plain word. */
        private static String parameterName(String initializer) {
            String last = initializer.substring(initializer.lastIndexOf('.') + 1);
            return last.matches("[A-Za-z][A-Za-z0-9_]{0,63}") && initializer.contains(".")
                    && !initializer.startsWith("onnx::") ? last : "value";
        }

        private String uniqueName(String base, String fallback) {
            String stem = base.isEmpty() ? sanitise(fallback) + "_" + Math.max(index, 0) : base;
            String name = stem;
            for (int k = 2; !graphNames.add(name); k++) {
                name = stem + "_" + k;
            }
            return name;
        }

        /** Characters outside [A-Za-z0-9_] become '_', runs of '_' one, none at the ends; at most 100 long. */
        private static String sanitise(String name) {
            String s = name.replaceAll("[^A-Za-z0-9_]+", "_").replaceAll("_+", "_").replaceAll("^_|_$", "");
            return s.length() > 100 ? s.substring(0, 100) : s;
        }

        /** Each computed value the file declares a shape for (value_info) must have it. */
        private void checkDeclaredShapes() throws OnnxImportException {
            OnnxValueInfo info = declared.get(node.outputs().get(0));
            Value v = info == null ? null : values.get(info.name());
            if (v != null && v.isRuntime()) {
                checkDeclared(info, v);
            }
        }

        private void checkDeclared(OnnxValueInfo info, Value v) throws OnnxImportException {
            List<OnnxDimension> dims = info.shape();
            if (dims == null) {
                return;
            }
            boolean fits = dims.size() == v.rank();
            for (int d = 1; fits && d < dims.size(); d++) {
                fits = !dims.get(d).isKnown() || dims.get(d).value() == v.shape()[d];
            }
            if (!fits) {
                String problem = "the file declares " + info + " but the layers compute " + shapeText(v);
                throw node == null ? whole(problem) : fail(problem);
            }
        }

        // ---- attributes ----

        private OnnxAttribute attr(String name) {
            return node.attribute(name).orElse(null);
        }

        private int intAttr(String name, long fallback) throws OnnxImportException {
            OnnxAttribute a = attr(name);
            long v = a == null ? fallback : attrInt(a);
            if (v == Long.MIN_VALUE) {
                throw fail("the attribute " + name + " is missing");
            }
            if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
                throw fail("the attribute " + name + " = " + v + " is out of range");
            }
            return (int) v;
        }

        private float floatAttr(String name, float fallback) throws OnnxImportException {
            OnnxAttribute a = attr(name);
            return a == null ? fallback : attrFloat(a);
        }

        private long[] intsAttr(String name, long[] fallback) throws OnnxImportException {
            OnnxAttribute a = attr(name);
            return a == null ? fallback : attrInts(a);
        }

        private String stringAttr(String name, String fallback) throws OnnxImportException {
            OnnxAttribute a = attr(name);
            if (a == null) {
                return fallback;
            }
            return typed(a, OnnxAttribute.Type.STRING).asString();
        }

        private long attrInt(OnnxAttribute a) throws OnnxImportException {
            return typed(a, OnnxAttribute.Type.INT).asInt();
        }

        private float attrFloat(OnnxAttribute a) throws OnnxImportException {
            return typed(a, OnnxAttribute.Type.FLOAT).asFloat();
        }

        private long[] attrInts(OnnxAttribute a) throws OnnxImportException {
            return typed(a, OnnxAttribute.Type.INTS).asInts();
        }

        private float[] attrFloats(OnnxAttribute a) throws OnnxImportException {
            return typed(a, OnnxAttribute.Type.FLOATS).asFloats();
        }

        /** {@code a}, when it has the type the operator defines for it. */
        private OnnxAttribute typed(OnnxAttribute a, OnnxAttribute.Type expected) throws OnnxImportException {
            if (a.type() != expected) {
                throw typeFail(a, expected.name());
            }
            return a;
        }

        private OnnxImportException typeFail(OnnxAttribute a, String expected) {
            return fail("the attribute " + quoted(a.name()) + " is " + a.type() + "; " + expected + " is expected");
        }

        /** An axis in [-rank, rank) as an index in [0, rank). */
        private int axis(long a, int rank, String what) throws OnnxImportException {
            if (a == Long.MIN_VALUE) {
                throw fail("the attribute " + what + " is missing");
            }
            if (a < -rank || a >= rank) {
                throw fail(what + " " + a + " is out of range for rank " + rank);
            }
            return (int) (a < 0 ? a + rank : a);
        }

        private static void copy(Value from, Tensor to) {
            System.arraycopy(from.floats(), 0, to.data(), 0, to.size());
        }
    }
}
