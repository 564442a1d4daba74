package org.siamese4j.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * A named value's type ({@code ValueInfoProto}): a graph input or output, or an intermediate value. Only tensor
 * types are read.
 *
 * @param name     the value's name, as nodes refer to it
 * @param elemType the element type; {@link OnnxDataType#UNDEFINED} when the file gives none
 * @param shape    the dimensions, or null when the file gives no shape (the rank is unknown too)
 */
public record OnnxValueInfo(String name, OnnxDataType elemType, List<OnnxDimension> shape) {
    public OnnxValueInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(elemType, "elemType");
        shape = shape == null ? null : List.copyOf(shape);
    }

    /** A FLOAT tensor of known dimensions. */
    public static OnnxValueInfo floats(String name, long... dims) {
        return new OnnxValueInfo(name, OnnxDataType.FLOAT,
                Arrays.stream(dims).mapToObj(OnnxDimension::of).toList());
    }

    public boolean hasShape() {
        return shape != null;
    }

    /** {@code input: FLOAT [batch, 3, 112, 112]}. */
    @Override
    public String toString() {
        return name + ": " + elemType + " " + (shape == null ? "(no shape)"
                : shape.stream().map(OnnxDimension::toString).collect(Collectors.joining(", ", "[", "]")));
    }
}
