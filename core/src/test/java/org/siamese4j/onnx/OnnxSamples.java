package org.siamese4j.onnx;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Models shared by the ONNX tests: one built through the API with every kind of field, and PyTorch's file. */
final class OnnxSamples {
    private OnnxSamples() {
    }

    /** The file PyTorch 1.13 wrote ({@code reader/make_tiny_conv.py}). */
    static Path pytorchFile() {
        return resource("tiny_conv.onnx");
    }

    static Path resource(String name) {
        try {
            return Path.of(OnnxSamples.class.getResource("reader/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    static byte[] pytorchBytes() {
        try {
            return Files.readAllBytes(pytorchFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Every attribute type, every loaded tensor type (a scalar, an empty tensor, NaN and negative values), symbolic
     * and unknown dimensions, a value without a shape, two opsets, metadata, non-ASCII names and an omitted optional
     * input.
     */
    static OnnxModel everyKindOfField() {
        OnnxTensor weight = OnnxTensor.ofFloats("conv.weight", new long[] {2, 1, 1, 2}, 0.5f, -1.25f, Float.NaN,
                -0f);
        OnnxTensor bias = OnnxTensor.of("conv.bias", OnnxDataType.DOUBLE, new long[] {2}, new float[] {0.1f, 3e38f});
        OnnxTensor shape = OnnxTensor.ofInt64("shape", new long[] {2}, -1, 8);
        OnnxTensor axes = OnnxTensor.of("axes", OnnxDataType.INT32, new long[] {3}, new long[] {0, -2,
                Integer.MIN_VALUE});
        OnnxTensor scalar = OnnxTensor.ofFloats("", new long[0], 2.5f);
        OnnxTensor empty = OnnxTensor.ofFloats("empty", new long[] {0, 3});
        List<OnnxNode> nodes = List.of(
                new OnnxNode("conv", "Conv", "", List.of("input", "conv.weight", "conv.bias"), List.of("c"), List.of(
                        OnnxAttribute.ofInts("kernel_shape", 1, 2), OnnxAttribute.ofInt("group", 1),
                        OnnxAttribute.ofInts("pads", -1, 0, Long.MAX_VALUE, Long.MIN_VALUE),
                        OnnxAttribute.ofString("auto_pad", "NOTSET"))),
                new OnnxNode("", "Constant", "", List.of(), List.of("k"), List.of(
                        OnnxAttribute.ofTensor("value", scalar))),
                new OnnxNode("clip", "Clip", "", List.of("c", "", "k"), List.of("d"), List.of()),
                new OnnxNode("näme ✓", "Custom", "com.example", List.of("d", "shape", "axes", "empty"),
                        List.of("out", "extra"), List.of(OnnxAttribute.ofFloat("alpha", 0.2f),
                        OnnxAttribute.ofFloats("scales", 1f, -0.5f, Float.NEGATIVE_INFINITY),
                        OnnxAttribute.ofFloats("none"), OnnxAttribute.ofStrings("modes", List.of("a", "", "ç")),
                        OnnxAttribute.ofInt("negative", -7))));
        OnnxGraph graph = new OnnxGraph("every kind", nodes, List.of(weight, bias, shape, axes, empty),
                List.of(new OnnxValueInfo("input", OnnxDataType.FLOAT, List.of(OnnxDimension.symbolic("batch"),
                        OnnxDimension.of(1), OnnxDimension.unknown(), OnnxDimension.of(2))),
                        new OnnxValueInfo("conv.weight", OnnxDataType.FLOAT, null)),
                List.of(OnnxValueInfo.floats("out", 1, 2, 3, 4), new OnnxValueInfo("extra", OnnxDataType.INT64,
                        List.of())),
                List.of(new OnnxValueInfo("c", OnnxDataType.UNDEFINED, null),
                        new OnnxValueInfo("d", OnnxDataType.BOOL, List.of(OnnxDimension.of(0)))));
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("input", "3x112x112");
        metadata.put("mean", "0.5,0.5,0.5");
        return new OnnxModel(8, "siamese4j", "0.1", List.of(new OnnxOpset("", 13), new OnnxOpset("com.example", 1)),
                metadata, graph);
    }
}
