package org.siamese4j.onnx;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import org.siamese4j.io.ModelFormatException;

/**
 * A named attribute of a node ({@code AttributeProto}): {@code kernel_shape=[3, 3]}, {@code epsilon=1e-5},
 * {@code auto_pad="NOTSET"}, or the tensor of a {@code Constant}. Immutable: the factories copy what they are
 * given and the accessors return copies.
 *
 * <p>Only the {@link Type types} CNN embedders use are held; the reader refuses the others (subgraphs, lists of
 * tensors, sparse tensors, type protos) naming the attribute.
 */
public final class OnnxAttribute {
    /** The attribute types held, with their codes in {@code AttributeProto.AttributeType}. */
    public enum Type {
        FLOAT(1), INT(2), STRING(3), TENSOR(4), FLOATS(6), INTS(7), STRINGS(8);

        private final int code;

        Type(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        /** The type with this code, or null for one not held here (or not defined). */
        static Type ofCode(long code) {
            for (Type t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            return null;
        }
    }

    /** Every {@code AttributeType} of {@code onnx.proto}, by code, for naming the refused ones. */
    private static final String[] TYPE_NAMES = {"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS",
        "INTS", "STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO", "TYPE_PROTOS"};

    private final String name;
    private final Type type;
    /** Float, Long, String, OnnxTensor, float[], long[] or List of String, by type; arrays are never shared. */
    private final Object value;

    private OnnxAttribute(String name, Type type, Object value) {
        this.name = Objects.requireNonNull(name, "name");
        this.type = type;
        this.value = Objects.requireNonNull(value, "value");
    }

    public static OnnxAttribute ofFloat(String name, float value) {
        return new OnnxAttribute(name, Type.FLOAT, value);
    }

    public static OnnxAttribute ofInt(String name, long value) {
        return new OnnxAttribute(name, Type.INT, value);
    }

    public static OnnxAttribute ofString(String name, String value) {
        return new OnnxAttribute(name, Type.STRING, value);
    }

    public static OnnxAttribute ofTensor(String name, OnnxTensor value) {
        return new OnnxAttribute(name, Type.TENSOR, value);
    }

    public static OnnxAttribute ofFloats(String name, float... values) {
        return new OnnxAttribute(name, Type.FLOATS, values.clone());
    }

    public static OnnxAttribute ofInts(String name, long... values) {
        return new OnnxAttribute(name, Type.INTS, values.clone());
    }

    public static OnnxAttribute ofStrings(String name, List<String> values) {
        return new OnnxAttribute(name, Type.STRINGS, List.copyOf(values));
    }

    /** For the reader: arrays it allocated itself, not copied again. */
    static OnnxAttribute read(String name, Type type, Object value) {
        return new OnnxAttribute(name, type, value);
    }

    /** {@code "GRAPH (5)"}, {@code "unknown (99)"}: any attribute type code, for messages. */
    static String typeName(long code) {
        return (code >= 0 && code < TYPE_NAMES.length ? TYPE_NAMES[(int) code] : "unknown") + " (" + code + ")";
    }

    public String name() {
        return name;
    }

    public Type type() {
        return type;
    }

    public float asFloat() {
        return (Float) as(Type.FLOAT);
    }

    public long asInt() {
        return (Long) as(Type.INT);
    }

    public String asString() {
        return (String) as(Type.STRING);
    }

    public OnnxTensor asTensor() {
        return (OnnxTensor) as(Type.TENSOR);
    }

    /** A copy of the values. */
    public float[] asFloats() {
        return ((float[]) as(Type.FLOATS)).clone();
    }

    /** A copy of the values. */
    public long[] asInts() {
        return ((long[]) as(Type.INTS)).clone();
    }

    /** The values (an unmodifiable list). */
    @SuppressWarnings("unchecked")
    public List<String> asStrings() {
        return (List<String>) as(Type.STRINGS);
    }

    /** The value itself, for the writer and for equality. */
    Object value() {
        return value;
    }

    private Object as(Type wanted) {
        if (type != wanted) {
            throw new IllegalStateException("attribute " + ModelFormatException.quoted(name) + " is " + type
                    + ", not " + wanted);
        }
        return value;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof OnnxAttribute a) || !name.equals(a.name) || type != a.type) {
            return false;
        }
        return switch (type) {
            case FLOATS -> Arrays.equals((float[]) value, (float[]) a.value);
            case INTS -> Arrays.equals((long[]) value, (long[]) a.value);
            default -> value.equals(a.value); // Float.equals compares bits, as Arrays.equals does
        };
    }

    @Override
    public int hashCode() {
        int h = switch (type) {
            case FLOATS -> Arrays.hashCode((float[]) value);
            case INTS -> Arrays.hashCode((long[]) value);
            default -> value.hashCode();
        };
        return Objects.hash(name, type, h);
    }

    /** {@code kernel_shape=[3, 3]}, {@code auto_pad="NOTSET"}, {@code value=<"" FLOAT [2]>}. */
    @Override
    public String toString() {
        String shown = switch (type) {
            case FLOATS -> Arrays.toString((float[]) value);
            case INTS -> Arrays.toString((long[]) value);
            case STRING -> ModelFormatException.quoted((String) value);
            case STRINGS -> asStrings().stream().map(ModelFormatException::quoted).toList().toString();
            case TENSOR -> "<" + value + ">";
            default -> value.toString();
        };
        return name + "=" + shown;
    }
}
