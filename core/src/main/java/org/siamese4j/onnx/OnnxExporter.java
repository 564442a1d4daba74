package org.siamese4j.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

import org.siamese4j.io.ModelFile;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.AvgPool2d;
import org.siamese4j.nn.BatchNorm;
import org.siamese4j.nn.BatchNorm1d;
import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.Concat;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Dropout;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.GlobalAvgPool2d;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.LeakyReLU;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.PReLU;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Residual;
import org.siamese4j.nn.Sequential;
import org.siamese4j.nn.Sigmoid;
import org.siamese4j.nn.Tanh;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Writes a tower of {@link ArchSpec} layers (a {@link Sequential}, as {@link ModelFile} loads it) as an ONNX model,
 * so that it runs in ONNX Runtime and other ONNX tools too. The model computes what the tower computes in
 * evaluation mode, whatever mode it is in: batch norm with its running statistics, dropout left out.
 *
 * <h2>The file</h2>
 * Opset 13 of the standard domain, IR version 7 (what opset 13 needs), producer {@code siamese4j} and this
 * library's version; one input {@value #INPUT} {@code [batch, C, H, W]} (or {@code [batch, features]}) and one
 * output {@value #OUTPUT} {@code [batch, D]}, the batch dimension symbolic ({@value #BATCH}). The weights are
 * initializers named by their state-dict names ({@code 0.weight}, {@code 2.body.1.running_var},
 * {@code 0.branches.1.0.weight}); a node and the value it produces are named by the layer's path ({@code 0},
 * {@code 2.body.3}, {@code 0.branches.1.0}), and the extra nodes and
 * constants a layer needs by that path and a suffix ({@code 0.pad}, {@code 0.pads}). Exporting the same tower
 * twice gives the same bytes.
 *
 * <h2>Layers</h2>
 * <table>
 * <caption>What each layer becomes</caption>
 * <tr><th>layer</th><th>ONNX</th></tr>
 * <tr><td>{@code conv} (groups, dilation, rectangular kernels)</td><td>Conv; with reflect padding,
 *     Pad(mode=reflect) then a Conv without padding</td></tr>
 * <tr><td>{@code batchnorm} (2-D and 1-D)</td><td>BatchNormalization with the running statistics</td></tr>
 * <tr><td>{@code relu}, {@code sigmoid}, {@code tanh}, {@code leakyrelu}</td><td>Relu, Sigmoid, Tanh,
 *     LeakyRelu(alpha)</td></tr>
 * <tr><td>{@code prelu}</td><td>PRelu, the slopes reshaped to [C, 1, 1] on images so they broadcast per
 *     channel</td></tr>
 * <tr><td>{@code maxpool}, {@code avgpool}</td><td>MaxPool, AveragePool (count_include_pad=1: padding counts
 *     as zeros in the mean)</td></tr>
 * <tr><td>{@code globalavgpool}, {@code flatten}</td><td>GlobalAveragePool, Flatten(axis=1)</td></tr>
 * <tr><td>{@code dense}</td><td>Gemm(transB=1) with the weight [out, in] as it is</td></tr>
 * <tr><td>{@code dropout}</td><td>nothing</td></tr>
 * <tr><td>{@code l2norm}</td><td>ReduceL2(keepdims=1), Clip(min=eps), Div: our {@code x / max(||x||, eps)}
 *     exactly, and the form PyTorch writes for {@code F.normalize} (less its Expand, which Div's broadcasting
 *     makes unnecessary). LpNormalization would divide by the norm itself (and give 0 for a zero row), which
 *     differs from ours when the norm is below eps.</td></tr>
 * <tr><td>{@code residual(BODY | SHORTCUT)}</td><td>the body's nodes, the shortcut's, then Add</td></tr>
 * <tr><td>{@code concat(BRANCH | BRANCH[ | ...])}</td><td>each branch's nodes in turn, then Concat(axis=1)</td></tr>
 * </table>
 * Any other module is refused naming its path and class, and so is a layer that does not fit the shape reaching
 * it (the tower is checked against the input shape as {@link ArchSpec} checks a spec), or a tower whose output is
 * not a vector per sample.
 */
public final class OnnxExporter {
    /** The operator set written: ReduceL2 still takes its axes as an attribute, Pad its pads as an input. */
    public static final long OPSET = 13;
    /** The IR version opset 13 came with (ONNX 1.8). */
    public static final long IR_VERSION = 7;
    public static final String PRODUCER = "siamese4j";
    /** The name of the graph input. */
    public static final String INPUT = "input";
    /** The name of the graph output. */
    public static final String OUTPUT = "embedding";
    /** The symbolic batch dimension of the input and the output. */
    public static final String BATCH = "batch";

    private static final String SUPPORTED = "Conv2d, BatchNorm2d, BatchNorm1d, ReLU, LeakyReLU, PReLU, Sigmoid, Tanh,"
            + " MaxPool2d, AvgPool2d, GlobalAvgPool2d, Flatten, Linear, Dropout, L2Normalize, Residual, Concat";

    private final List<OnnxNode> nodes = new ArrayList<>();
    private final List<OnnxTensor> initializers = new ArrayList<>();

    private OnnxExporter() {
    }

    /** A value of the graph: its name and the shape of one sample (the batch dimension left out). */
    private record Value(String name, int[] shape) {
    }

    /**
     * The ONNX model of a loaded model file's tower, with its {@code arch} and {@code input} as metadata. The
     * head network of a file, if any, is not part of it.
     */
    public static OnnxModel export(ModelFile.LoadedModel loaded) {
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put(ModelFile.KEY_ARCH, loaded.arch().toString());
        metadata.put(ModelFile.KEY_INPUT, ArchSpec.formatInput(loaded.inputShape()));
        return export(loaded.model(), loaded.inputShape(), metadata);
    }

    /** The ONNX model of {@code tower} for samples of {@code inputShape}, {@code [C, H, W]} or {@code [features]}. */
    public static OnnxModel export(Sequential tower, int[] inputShape) {
        return export(tower, inputShape, Map.of());
    }

    /**
     * As {@link #export(Sequential, int[])}, with {@code metadata} as the model's {@code metadata_props}.
     *
     * @throws IllegalArgumentException a layer that cannot be exported or does not fit its input, naming it
     */
    public static OnnxModel export(Sequential tower, int[] inputShape, Map<String, String> metadata) {
        if (inputShape == null || inputShape.length != 1 && inputShape.length != 3
                || Arrays.stream(inputShape).anyMatch(d -> d < 1)) {
            throw new IllegalArgumentException("ONNX export: the input shape must be C x H x W or features, each at "
                    + "least 1, got " + Arrays.toString(inputShape));
        }
        OnnxExporter exporter = new OnnxExporter();
        Value out = exporter.sequence(tower, "", new Value(INPUT, inputShape.clone()));
        if (out.shape.length != 1) {
            throw new IllegalArgumentException("ONNX export: the tower gives " + sample(out.shape)
                    + " per sample, not an embedding vector; end it with flatten (and dense)");
        }
        List<OnnxNode> nodes = exporter.namedOutput(out.name);
        OnnxGraph graph = new OnnxGraph(PRODUCER, nodes, exporter.initializers,
                List.of(batched(INPUT, inputShape)), List.of(batched(OUTPUT, out.shape)), List.of());
        return new OnnxModel(IR_VERSION, PRODUCER, producerVersion(), List.of(new OnnxOpset("", OPSET)), metadata,
                graph);
    }

    /** This library's version, as written into the files' {@code producer_version}. */
    public static String producerVersion() {
        try (InputStream in = OnnxExporter.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                throw new IllegalStateException("org/siamese4j/onnx/version.properties is missing from the build");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static OnnxValueInfo batched(String name, int[] sampleShape) {
        List<OnnxDimension> dims = new ArrayList<>();
        dims.add(OnnxDimension.symbolic(BATCH));
        Arrays.stream(sampleShape).forEach(d -> dims.add(OnnxDimension.of(d)));
        return new OnnxValueInfo(name, OnnxDataType.FLOAT, dims);
    }

    /**
     * The nodes with the tower's last value renamed {@link #OUTPUT}; an Identity when no node made it (a tower of
     * dropouts only). No node reads the last value, so only the one that makes it changes.
     */
    private List<OnnxNode> namedOutput(String last) {
        if (last.equals(INPUT)) {
            return List.of(node("output", "Identity", List.of(INPUT), OUTPUT));
        }
        List<OnnxNode> renamed = new ArrayList<>();
        for (OnnxNode n : nodes) {
            renamed.add(!n.outputs().equals(List.of(last)) ? n
                    : new OnnxNode(n.name(), n.opType(), n.domain(), n.inputs(), List.of(OUTPUT), n.attributes()));
        }
        return renamed;
    }

    // =========================================================================================================
    // Layers
    // =========================================================================================================

    /** The layers of {@code seq}, child i at path {@code prefix + i}. */
    private Value sequence(Sequential seq, String prefix, Value x) {
        for (int i = 0; i < seq.size(); i++) {
            x = layer(seq.get(i), prefix + i, x);
        }
        return x;
    }

    private Value layer(Module m, String path, Value x) {
        if (m instanceof Conv2d c) {
            return conv(c, path, x);
        } else if (m instanceof BatchNorm bn) {
            return batchNorm(bn, path, x);
        } else if (m instanceof ReLU) {
            return emit(path, "Relu", x.shape, List.of(x.name));
        } else if (m instanceof Sigmoid) {
            return emit(path, "Sigmoid", x.shape, List.of(x.name));
        } else if (m instanceof Tanh) {
            return emit(path, "Tanh", x.shape, List.of(x.name));
        } else if (m instanceof LeakyReLU l) {
            return emit(path, "LeakyRelu", x.shape, List.of(x.name),
                    OnnxAttribute.ofFloat("alpha", l.negativeSlope()));
        } else if (m instanceof PReLU p) {
            return prelu(p, path, x);
        } else if (m instanceof MaxPool2d p) {
            return pool(path, "MaxPool", p.kernelSize(), p.stride(), p.padding(), x);
        } else if (m instanceof AvgPool2d p) {
            return pool(path, "AveragePool", p.kernelSize(), p.stride(), p.padding(), x);
        } else if (m instanceof GlobalAvgPool2d) {
            requireImage(m, path, x);
            return emit(path, "GlobalAveragePool", new int[] {x.shape[0], 1, 1}, List.of(x.name));
        } else if (m instanceof Flatten f) {
            return flatten(f, path, x);
        } else if (m instanceof Linear l) {
            return dense(l, path, x);
        } else if (m instanceof Dropout) {
            return x; // the identity in evaluation mode
        } else if (m instanceof L2Normalize l) {
            return l2Normalize(l, path, x);
        } else if (m instanceof Residual r) {
            return residual(r, path, x);
        } else if (m instanceof Concat c) {
            return concat(c, path, x);
        }
        throw new IllegalArgumentException("ONNX export: layer " + path + " (" + m.getClass().getSimpleName()
                + ") cannot be exported; the layers that can: " + SUPPORTED);
    }

    /** Conv [N, in, H, W] to [N, out, outH, outW]; reflect padding as a Pad node before a Conv without any. */
    private Value conv(Conv2d c, String path, Value x) {
        requireImage(c, path, x);
        requireChannels(c, path, x, c.inChannels());
        int[] k = c.kernelSize();
        int[] s = c.stride();
        int[] p = c.padding();
        int[] d = c.dilation();
        int outH = (x.shape[1] + 2 * p[0] - d[0] * (k[0] - 1) - 1) / s[0] + 1;
        int outW = (x.shape[2] + 2 * p[1] - d[1] * (k[1] - 1) - 1) / s[1] + 1;
        if (x.shape[1] + 2 * p[0] < d[0] * (k[0] - 1) + 1 || x.shape[2] + 2 * p[1] < d[1] * (k[1] - 1) + 1) {
            throw misfit(c, path, x, "the padded input is smaller than the (dilated) kernel");
        }
        String input = x.name;
        long[] pads = {p[0], p[1], p[0], p[1]};
        if (c.paddingMode() == PaddingMode.REFLECT && (p[0] > 0 || p[1] > 0)) {
            if (p[0] >= x.shape[1] || p[1] >= x.shape[2]) {
                throw misfit(c, path, x, "reflect padding must be smaller than the image");
            }
            // Pad's pads: the start of each of the 4 axes (N, C, H, W), then their ends
            String padsName = constant(OnnxTensor.ofInt64(path + ".pads", new long[] {8}, 0, 0, p[0], p[1], 0, 0,
                    p[0], p[1]));
            input = emit(path + ".pad", "Pad", null, List.of(x.name, padsName),
                    OnnxAttribute.ofString("mode", "reflect")).name;
            pads = new long[4];
        }
        List<String> inputs = new ArrayList<>(List.of(input, weight(path + ".weight", c.weight(), null)));
        if (c.bias() != null) {
            inputs.add(weight(path + ".bias", c.bias(), null));
        }
        return emit(path, "Conv", new int[] {c.outChannels(), outH, outW}, inputs,
                OnnxAttribute.ofInts("dilations", d[0], d[1]),
                OnnxAttribute.ofInt("group", c.groups()),
                OnnxAttribute.ofInts("kernel_shape", k[0], k[1]),
                OnnxAttribute.ofInts("pads", pads),
                OnnxAttribute.ofInts("strides", s[0], s[1]));
    }

    /** BatchNormalization in inference form: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias. */
    private Value batchNorm(BatchNorm bn, String path, Value x) {
        if (bn instanceof BatchNorm2d) {
            requireImage(bn, path, x);
        } else if (bn instanceof BatchNorm1d && x.shape.length != 1 && x.shape.length != 2) {
            throw misfit(bn, path, x, "BatchNorm1d takes features or C x L sequences");
        }
        requireChannels(bn, path, x, bn.numFeatures());
        return emit(path, "BatchNormalization", x.shape, List.of(x.name,
                        weight(path + ".weight", bn.weight(), null), weight(path + ".bias", bn.bias(), null),
                        weight(path + ".running_mean", bn.runningMean(), null),
                        weight(path + ".running_var", bn.runningVar(), null)),
                OnnxAttribute.ofFloat("epsilon", bn.eps()),
                OnnxAttribute.ofFloat("momentum", 1 - bn.momentum())); // ONNX keeps the old statistics' share
    }

    /** PRelu; the slopes [C] broadcast from the right, so on C x H x W they become [C, 1, 1]. */
    private Value prelu(PReLU p, String path, Value x) {
        long[] dims = {p.numParameters()};
        if (p.numParameters() != 1) {
            requireChannels(p, path, x, p.numParameters());
            dims = new long[x.shape.length];
            Arrays.fill(dims, 1);
            dims[0] = p.numParameters();
        }
        return emit(path, "PRelu", x.shape, List.of(x.name, weight(path + ".weight", p.weight(), dims)));
    }

    private Value pool(String path, String opType, int k, int s, int p, Value x) {
        if (x.shape.length != 3) {
            throw new IllegalArgumentException("ONNX export: layer " + path + " (" + opType + ") needs C x H x W, got "
                    + sample(x.shape));
        }
        int outH = (x.shape[1] + 2 * p - k) / s + 1;
        int outW = (x.shape[2] + 2 * p - k) / s + 1;
        if (x.shape[1] + 2 * p < k || x.shape[2] + 2 * p < k) {
            throw new IllegalArgumentException("ONNX export: layer " + path + " (" + opType + " " + k + "x" + k
                    + ") does not fit its input " + sample(x.shape));
        }
        List<OnnxAttribute> attributes = new ArrayList<>(List.of(OnnxAttribute.ofInt("ceil_mode", 0)));
        if (opType.equals("AveragePool")) {
            attributes.add(OnnxAttribute.ofInt("count_include_pad", 1)); // our padding counts as zeros
        }
        attributes.add(OnnxAttribute.ofInts("kernel_shape", k, k));
        attributes.add(OnnxAttribute.ofInts("pads", p, p, p, p));
        attributes.add(OnnxAttribute.ofInts("strides", s, s));
        return emit(path, opType, new int[] {x.shape[0], outH, outW}, List.of(x.name),
                attributes.toArray(OnnxAttribute[]::new));
    }

    /** Flatten(axis=1): equal to ours only when ours keeps the batch dimension alone, as every tower does. */
    private Value flatten(Flatten f, String path, Value x) {
        int rank = x.shape.length + 1;
        int start = f.startDim() < 0 ? f.startDim() + rank : f.startDim();
        if (start != 1) {
            throw misfit(f, path, x, "only start_dim=1 (flatten all but the batch) is exported, got start_dim="
                    + f.startDim());
        }
        return emit(path, "Flatten", new int[] {Shapes.size(x.shape)}, List.of(x.name),
                OnnxAttribute.ofInt("axis", 1));
    }

    /** Gemm: x [N, in] times weight [out, in] transposed, plus bias. */
    private Value dense(Linear l, String path, Value x) {
        if (x.shape.length != 1 || x.shape[0] != l.inFeatures()) {
            throw misfit(l, path, x, "it takes " + l.inFeatures() + " features (flatten first)");
        }
        List<String> inputs = new ArrayList<>(List.of(x.name, weight(path + ".weight", l.weight(), null)));
        if (l.bias() != null) {
            inputs.add(weight(path + ".bias", l.bias(), null));
        }
        return emit(path, "Gemm", new int[] {l.outFeatures()}, inputs, OnnxAttribute.ofFloat("alpha", 1f),
                OnnxAttribute.ofFloat("beta", 1f), OnnxAttribute.ofInt("transB", 1));
    }

    /** x / max(||x||, eps) along the layer's dimension: ReduceL2, Clip, Div, as {@code NormOps.l2Normalize}. */
    private Value l2Normalize(L2Normalize l, String path, Value x) {
        int rank = x.shape.length + 1;
        int axis = l.dim() < 0 ? l.dim() + rank : l.dim();
        if (axis < 1 || axis >= rank) {
            throw misfit(l, path, x, "dim=" + l.dim() + " is not a dimension of a sample");
        }
        int[] reduced = x.shape.clone();
        reduced[axis - 1] = 1;
        String norm = emit(path + ".norm", "ReduceL2", reduced, List.of(x.name), OnnxAttribute.ofInts("axes", axis),
                OnnxAttribute.ofInt("keepdims", 1)).name;
        // Clip(min=eps), max left out: max(norm, eps), as torch writes F.normalize, so importers know it
        String eps = constant(OnnxTensor.ofFloats(path + ".eps", new long[0], l.eps()));
        String clamped = emit(path + ".clamp", "Clip", reduced, List.of(norm, eps)).name;
        return emit(path, "Div", x.shape, List.of(x.name, clamped));
    }

    /** The body's nodes, then the shortcut's (none for the identity), then Add. */
    private Value residual(Residual r, String path, Value x) {
        Value body = sequence(r.body(), path + ".body.", x);
        Value skip = r.shortcut() == null ? x : sequence(r.shortcut(), path + ".shortcut.", x);
        if (!Arrays.equals(body.shape, skip.shape)) {
            throw misfit(r, path, x, "the body gives " + sample(body.shape) + " but the "
                    + (r.shortcut() == null ? "identity shortcut " : "shortcut ") + sample(skip.shape));
        }
        return emit(path, "Add", body.shape, List.of(body.name, skip.name));
    }

    /**
     * Each branch's nodes in turn, all reading {@code x}, then Concat(axis=1): axis 1 of [batch, ...] is the first
     * dimension of a sample, the channels or features that Concat joins.
     */
    private Value concat(Concat c, String path, Value x) {
        List<String> inputs = new ArrayList<>();
        int[] first = null;
        int joined = 0;
        for (int k = 0; k < c.size(); k++) {
            Value y = sequence(c.branches().get(k), path + ".branches." + k + ".", x);
            if (k == 0) {
                first = y.shape;
            } else {
                boolean fits = y.shape.length == first.length;
                for (int d = 1; fits && d < first.length; d++) {
                    fits = y.shape[d] == first[d];
                }
                if (!fits) {
                    throw misfit(c, path, x, "branch " + k + " gives " + sample(y.shape) + " but branch 0 gives "
                            + sample(first) + "; they must agree in every dimension but the first");
                }
            }
            inputs.add(y.name);
            joined += y.shape[0];
        }
        int[] shape = first.clone();
        shape[0] = joined;
        return emit(path, "Concat", shape, inputs, OnnxAttribute.ofInt("axis", 1));
    }

    // =========================================================================================================
    // Nodes, weights and checks
    // =========================================================================================================

    /** Appends a node named {@code name} whose one output value is called {@code name} too. */
    private Value emit(String name, String opType, int[] outShape, List<String> inputs, OnnxAttribute... attributes) {
        nodes.add(node(name, opType, inputs, name, attributes));
        return new Value(name, outShape);
    }

    private static OnnxNode node(String name, String opType, List<String> inputs, String output,
                                 OnnxAttribute... attributes) {
        return new OnnxNode(name, opType, "", inputs, List.of(output), List.of(attributes));
    }

    /** Adds {@code t} (float32 values as they are) as an initializer; {@code dims} null keeps its shape. */
    private String weight(String name, Tensor t, long[] dims) {
        long[] shape = dims != null ? dims : Arrays.stream(t.shape()).asLongStream().toArray();
        return constant(OnnxTensor.ofFloats(name, shape, t.data()));
    }

    private String constant(OnnxTensor t) {
        initializers.add(t);
        return t.name();
    }

    private static void requireImage(Module m, String path, Value x) {
        if (x.shape.length != 3) {
            throw misfit(m, path, x, "it takes C x H x W images");
        }
    }

    private static void requireChannels(Module m, String path, Value x, int channels) {
        if (x.shape[0] != channels) {
            throw misfit(m, path, x, "it takes " + channels + " channels");
        }
    }

    private static IllegalArgumentException misfit(Module m, String path, Value x, String why) {
        // a block's toString spans lines
        String layer = m instanceof Residual || m instanceof Concat ? m.getClass().getSimpleName() : m.toString();
        return new IllegalArgumentException("ONNX export: layer " + path + " (" + layer + ") does not fit its input "
                + sample(x.shape) + ": " + why);
    }

    /** {@code 8x56x46}: one sample's shape. */
    private static String sample(int[] shape) {
        StringBuilder sb = new StringBuilder();
        for (int d = 0; d < shape.length; d++) {
            sb.append(d == 0 ? "" : "x").append(shape[d]);
        }
        return sb.toString();
    }
}
