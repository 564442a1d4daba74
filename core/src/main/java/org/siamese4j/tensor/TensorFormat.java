package org.siamese4j.tensor;

import java.util.Locale;

/** PyTorch-like printing: nested brackets, 4 decimals, the middle elided for long dimensions. */
final class TensorFormat {
    private static final int EDGE = 3;
    private static final int FULL_LIMIT = 1000;

    private TensorFormat() {
    }

    static void appendValues(StringBuilder sb, float[] data, int[] shape) {
        if (shape.length == 0) {
            sb.append(format(data[0]));
            return;
        }
        boolean elide = data.length > FULL_LIMIT;
        append(sb, data, shape, Shapes.strides(shape), 0, 0, elide);
    }

    private static void append(StringBuilder sb, float[] data, int[] shape, int[] strides, int dim, int offset,
                               boolean elide) {
        sb.append('[');
        int n = shape[dim];
        for (int i = 0; i < n; i++) {
            if (elide && n > 2 * EDGE && i == EDGE) {
                sb.append("..., ");
                i = n - EDGE;
            }
            if (dim == shape.length - 1) {
                sb.append(format(data[offset + i]));
            } else {
                append(sb, data, shape, strides, dim + 1, offset + i * strides[dim], elide);
            }
            if (i < n - 1) {
                sb.append(dim == shape.length - 1 ? ", " : ",\n" + " ".repeat(dim + 8));
            }
        }
        sb.append(']');
    }

    private static String format(float v) {
        if (Float.isNaN(v) || Float.isInfinite(v)) {
            return Float.toString(v);
        }
        float a = Math.abs(v);
        if (a != 0 && (a < 1e-4f || a >= 1e6f)) {
            return String.format(Locale.ROOT, "%.4e", v);
        }
        return String.format(Locale.ROOT, "%.4f", v);
    }
}
