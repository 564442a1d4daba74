package org.siamese4j.onnx;

/**
 * ONNX's element types ({@code TensorProto.DataType} in {@code onnx/onnx.proto}, see {@link OnnxSchema}), with the
 * code each has in a file. Tensors of {@link #FLOAT}, {@link #DOUBLE}, {@link #INT32} and {@link #INT64} are
 * loaded (the floating ones as float32, the integer ones as {@code long}); every type may appear as the element
 * type of a graph input or output.
 */
public enum OnnxDataType {
    UNDEFINED(0, 0), FLOAT(1, 4), UINT8(2, 1), INT8(3, 1), UINT16(4, 2), INT16(5, 2), INT32(6, 4), INT64(7, 8),
    STRING(8, 0), BOOL(9, 1), FLOAT16(10, 2), DOUBLE(11, 8), UINT32(12, 4), UINT64(13, 8), COMPLEX64(14, 8),
    COMPLEX128(15, 16), BFLOAT16(16, 2), FLOAT8E4M3FN(17, 1), FLOAT8E4M3FNUZ(18, 1), FLOAT8E5M2(19, 1),
    FLOAT8E5M2FNUZ(20, 1), UINT4(21, 0), INT4(22, 0);

    /** The types whose tensors this package loads, for messages. */
    static final String LOADED = "FLOAT, DOUBLE, INT32 and INT64";

    private final int code;
    private final int rawBytes;

    OnnxDataType(int code, int rawBytes) {
        this.code = code;
        this.rawBytes = rawBytes;
    }

    /** The number a file stores for this type. */
    public int code() {
        return code;
    }

    /** Bytes per element in {@code raw_data} (0 where it is not a whole number, or not used). */
    int rawBytes() {
        return rawBytes;
    }

    /** Whether tensors of this type are loaded: {@link #FLOAT}, {@link #DOUBLE}, {@link #INT32}, {@link #INT64}. */
    public boolean isLoaded() {
        return this == FLOAT || this == DOUBLE || this == INT32 || this == INT64;
    }

    /** Whether tensors of this type load as float32 ({@link #FLOAT}, {@link #DOUBLE}); else as {@code long}. */
    public boolean isFloating() {
        return this == FLOAT || this == DOUBLE;
    }

    /** The type with this code, or null for a code this version of the format does not define. */
    public static OnnxDataType ofCode(long code) {
        for (OnnxDataType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }

    /** {@code "BOOL (9)"}, or {@code "unknown (99)"} for a code with no type: for messages. */
    static String describe(long code) {
        OnnxDataType t = ofCode(code);
        return (t == null ? "unknown" : t.name()) + " (" + code + ")";
    }
}
