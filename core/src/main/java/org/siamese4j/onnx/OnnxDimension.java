package org.siamese4j.onnx;

import java.util.Objects;

import org.siamese4j.io.ModelFormatException;

/**
 * One dimension of a graph input's or output's shape ({@code TensorShapeProto.Dimension}): a size, a symbolic
 * name such as {@code "batch"} (a size chosen at run time), or neither (unknown).
 *
 * @param value the size, at least 0, or -1 when the dimension is symbolic or unknown
 * @param param the symbolic name, or empty
 */
public record OnnxDimension(long value, String param) {
    public OnnxDimension {
        Objects.requireNonNull(param, "param");
        if (value < -1 || value >= 0 && !param.isEmpty()) {
            throw new IllegalArgumentException("a dimension is a size (at least 0), a symbolic name or neither, not "
                    + value + " and " + ModelFormatException.quoted(param));
        }
    }

    public static OnnxDimension of(long value) {
        return new OnnxDimension(value, "");
    }

    public static OnnxDimension symbolic(String param) {
        return new OnnxDimension(-1, param);
    }

    public static OnnxDimension unknown() {
        return new OnnxDimension(-1, "");
    }

    public boolean isKnown() {
        return value >= 0;
    }

    /** {@code 112}, {@code batch}, or {@code ?}. */
    @Override
    public String toString() {
        return value >= 0 ? Long.toString(value) : param.isEmpty() ? "?" : param;
    }
}
