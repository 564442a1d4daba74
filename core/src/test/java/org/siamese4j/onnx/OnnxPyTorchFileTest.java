package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file PyTorch 1.13 wrote ({@code reader/make_tiny_conv.py}): a small conv net with folded batch norm, PReLU,
 * max pooling, a depthwise convolution in a residual block, global average pooling, a reshape by a Constant and a
 * linear layer. {@code tiny_conv.txt} is what that script's own protobuf decoder found in the file, checked there
 * against the network's weights; this test renders what the Java reader found in the same form and compares.
 */
class OnnxPyTorchFileTest {
    @TempDir
    Path dir;

    @Test
    void theReaderFindsWhatPythonDecodedNodesOpsetsAndInitializersBitForBit() throws IOException {
        OnnxModel model = OnnxModel.read(OnnxSamples.pytorchFile());
        List<String> expected = Files.readAllLines(OnnxSamples.resource("tiny_conv.txt"));
        assertThat(render(model)).containsExactlyElementsOf(expected);
        // the counts, so that an empty rendering of an empty file cannot match an empty expectation
        assertThat(expected).hasSizeGreaterThan(30);
        assertThat(model.graph().nodes()).extracting(OnnxNode::opType).containsExactly("Conv", "PRelu", "MaxPool",
                "Conv", "Relu", "Add", "GlobalAveragePool", "Constant", "Reshape", "Gemm");
        assertThat(model.graph().initializers()).hasSize(7);
        assertThat(model.opsetVersion("")).hasValue(13);
        assertThat(model.graph().nodes().get(3).attribute("group").orElseThrow().asInt()).isEqualTo(8);
        assertThat(model.graph().initializer("fc.weight").orElseThrow().toTensor().shape()).containsExactly(4, 8);
    }

    @Test
    void describeListsProducerOpsetShapesAndOperators() throws IOException {
        // parameters: conv 216 + 8 (batch norm folded in), PReLU 8, depthwise 72 + 8, linear 32 + 4
        assertThat(OnnxModel.read(OnnxSamples.pytorchFile()).describe()).isEqualTo("""
                producer:   pytorch 1.13.0, IR version 7
                opsets:     ai.onnx 13
                graph:      "torch_jit", 10 nodes, 7 initializers, 348 parameters
                input:      input: FLOAT [batch, 3, 16, 16]
                output:     embedding: FLOAT [batch, 4]
                operators:  Conv 2, PRelu 1, MaxPool 1, Relu 1, Add 1, GlobalAveragePool 1, Constant 1, Reshape 1, Gemm 1
                """);
    }

    @Test
    void whatWeWriteBackReadsEqual() throws IOException {
        OnnxModel model = OnnxModel.read(OnnxSamples.pytorchFile());
        Path copy = dir.resolve("copy.onnx");
        model.write(copy);
        assertThat(OnnxModel.read(copy)).isEqualTo(model);
        // PyTorch writes the same fields in the same order, unpacked, as this writer does, but leaves out none
        // of the empty strings (the Constant's node has no input, its tensor no name): within a few bytes
        assertThat(Files.size(copy)).isBetween(Files.size(OnnxSamples.pytorchFile()) - 16,
                Files.size(OnnxSamples.pytorchFile()));
    }

    /** The model in the tab-separated form of {@code make_tiny_conv.py}'s {@code render}. */
    static List<String> render(OnnxModel m) {
        List<String> lines = new ArrayList<>();
        lines.add("producer\t" + m.producerName() + "\t" + m.producerVersion());
        lines.add("ir_version\t" + m.irVersion());
        m.opsetImports().forEach(o -> lines.add("opset\t" + o.domain() + "\t" + o.version()));
        lines.add("graph\t" + m.graph().name());
        m.graph().inputs().forEach(v -> lines.add("input\t" + valueInfo(v)));
        m.graph().outputs().forEach(v -> lines.add("output\t" + valueInfo(v)));
        for (OnnxNode n : m.graph().nodes()) {
            lines.add("node\t" + n.opType() + "\t" + n.name() + "\t" + n.domain() + "\t" + String.join(",", n.inputs())
                    + "\t" + String.join(",", n.outputs()));
            for (OnnxAttribute a : n.attributes()) {
                String value = switch (a.type()) {
                    case FLOAT -> hex(a.asFloat());
                    case INT -> Long.toString(a.asInt());
                    case STRING -> a.asString();
                    case TENSOR -> tensor(a.asTensor());
                    case FLOATS -> hex(a.asFloats());
                    case INTS -> longs(a.asInts());
                    case STRINGS -> String.join(",", a.asStrings());
                };
                lines.add(" attribute\t" + a.name() + "\t" + a.type() + "\t" + value);
            }
        }
        m.graph().initializers().forEach(t -> lines.add("initializer\t" + tensor(t)));
        return lines;
    }

    private static String valueInfo(OnnxValueInfo v) {
        return v.name() + "\t" + v.elemType() + "\t"
                + v.shape().stream().map(OnnxDimension::toString).collect(Collectors.joining(","));
    }

    private static String tensor(OnnxTensor t) {
        return t.name() + "\t" + t.dataType() + "\t" + longs(t.dims()) + "\t"
                + (t.isFloating() ? hex(t.floats()) : longs(t.longs()));
    }

    private static String longs(long[] values) {
        return LongStream.of(values).mapToObj(Long::toString).collect(Collectors.joining(","));
    }

    private static String hex(float... values) {
        String[] out = new String[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = String.format("%08x", Float.floatToRawIntBits(values[i]));
        }
        return String.join(",", Arrays.asList(out));
    }
}
