package org.siamese4j.onnx;

import java.util.Arrays;
import java.util.Objects;

import org.siamese4j.io.ModelFormatException;
import org.siamese4j.tensor.Tensor;

/**
 * A tensor of an ONNX file ({@code TensorProto}): an initializer (a weight), or the value of a {@code Constant}
 * node or of a tensor attribute. Immutable: the factories copy what they are given and the accessors return
 * copies.
 *
 * <p>Only {@link OnnxDataType#isLoaded() loaded} types are held: {@link OnnxDataType#FLOAT} and
 * {@link OnnxDataType#DOUBLE} as float32 values ({@link #floats()}, doubles rounded to nearest), and
 * {@link OnnxDataType#INT64} and {@link OnnxDataType#INT32} as {@code long} values ({@link #longs()}; shapes for
 * {@code Reshape}, axes). The data type is kept, so a tensor is written back as the type it was read as. Values
 * are kept as they are, NaN and infinities included.
 */
public final class OnnxTensor {
    /** Most elements a tensor may hold: the largest Java array. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private final String name;
    private final OnnxDataType dataType;
    private final long[] dims;
    /** The values of a FLOAT or DOUBLE tensor, else null. */
    private final float[] floats;
    /** The values of an INT32 or INT64 tensor, else null. */
    private final long[] longs;

    /** Takes the arrays as they are: callers pass arrays of their own, checked by {@link #checked}. */
    private OnnxTensor(String name, OnnxDataType dataType, long[] dims, float[] floats, long[] longs) {
        this.name = Objects.requireNonNull(name, "name");
        this.dataType = dataType;
        this.dims = dims;
        this.floats = floats;
        this.longs = longs;
    }

    /** A FLOAT tensor holding a copy of {@code values} with dimensions {@code dims}. */
    public static OnnxTensor ofFloats(String name, long[] dims, float... values) {
        return of(name, OnnxDataType.FLOAT, dims, values);
    }

    /** A FLOAT or DOUBLE tensor holding a copy of {@code values} (a DOUBLE tensor is written as doubles). */
    public static OnnxTensor of(String name, OnnxDataType dataType, long[] dims, float[] values) {
        if (dataType == null || !dataType.isFloating()) {
            throw new IllegalArgumentException("tensor " + ModelFormatException.quoted(String.valueOf(name))
                    + ": float values need the data type FLOAT or DOUBLE, not " + dataType);
        }
        return checked(name, dataType, dims.clone(), values.clone(), null);
    }

    /** An INT64 tensor holding a copy of {@code values}. */
    public static OnnxTensor ofInt64(String name, long[] dims, long... values) {
        return of(name, OnnxDataType.INT64, dims, values);
    }

    /** An INT64 or INT32 tensor holding a copy of {@code values} (those of an INT32 tensor must fit an int). */
    public static OnnxTensor of(String name, OnnxDataType dataType, long[] dims, long[] values) {
        if (dataType != OnnxDataType.INT64 && dataType != OnnxDataType.INT32) {
            throw new IllegalArgumentException("tensor " + ModelFormatException.quoted(String.valueOf(name))
                    + ": integer values need the data type INT64 or INT32, not " + dataType);
        }
        return checked(name, dataType, dims.clone(), null, values.clone());
    }

    /** A FLOAT tensor with the shape and a copy of the values of {@code tensor}. */
    public static OnnxTensor of(String name, Tensor tensor) {
        return ofFloats(name, Arrays.stream(tensor.shape()).asLongStream().toArray(), tensor.data());
    }

    /** For the reader: takes the arrays without copying, after the checks it reports itself. */
    static OnnxTensor read(String name, OnnxDataType dataType, long[] dims, float[] floats, long[] longs) {
        return checked(name, dataType, dims, floats, longs);
    }

    private static OnnxTensor checked(String name, OnnxDataType dataType, long[] dims, float[] floats,
                                      long[] longs) {
        Objects.requireNonNull(name, "name");
        String problem = dimsProblem(dims);
        int count = floats != null ? floats.length : longs.length;
        if (problem == null && count != elementCount(dims)) {
            problem = "dims " + Arrays.toString(dims) + " call for " + elementCount(dims) + " elements but "
                    + count + " values were given";
        }
        if (problem == null && dataType == OnnxDataType.INT32) {
            for (int i = 0; i < longs.length; i++) {
                if (longs[i] != (int) longs[i]) {
                    problem = "value " + longs[i] + " at flat index " + i + " does not fit INT32";
                    break;
                }
            }
        }
        if (problem != null) {
            throw new IllegalArgumentException("tensor " + ModelFormatException.quoted(name) + ": " + problem);
        }
        return new OnnxTensor(name, dataType, dims, floats, longs);
    }

    /**
     * What is wrong with {@code dims} as a tensor's dimensions, or null: each must be at least 0 and their
     * product at most {@link #MAX_ELEMENTS}, computed in {@code long} and stopped before it can overflow.
     */
    static String dimsProblem(long[] dims) {
        long n = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                return "dimension " + i + " is " + dims[i] + ", below 0";
            }
            if (dims[i] > MAX_ELEMENTS) {
                return "dimension " + i + " is " + dims[i] + ", more elements than a Java array holds";
            }
            n *= dims[i]; // both factors at most 2^31: no overflow
            if (n > MAX_ELEMENTS) {
                return "dims " + Arrays.toString(dims) + " call for more elements than a Java array holds ("
                        + MAX_ELEMENTS + ")";
            }
        }
        return null;
    }

    /** The product of valid {@code dims} (see {@link #dimsProblem}). */
    static int elementCount(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return (int) n;
    }

    /** The name: that of an initializer, or empty for a value without one. */
    public String name() {
        return name;
    }

    public OnnxDataType dataType() {
        return dataType;
    }

    /** The dimensions (a copy); empty for a scalar. */
    public long[] dims() {
        return dims.clone();
    }

    public int rank() {
        return dims.length;
    }

    /** The number of elements, the product of the dimensions. */
    public int elementCount() {
        return floats != null ? floats.length : longs.length;
    }

    /** The dimensions as a {@link Tensor} shape (each fits an int, as the element count does). */
    public int[] shape() {
        int[] shape = new int[dims.length];
        for (int i = 0; i < dims.length; i++) {
            shape[i] = (int) dims[i];
        }
        return shape;
    }

    /** Whether the values are float32 ({@link OnnxDataType#FLOAT}, {@link OnnxDataType#DOUBLE}). */
    public boolean isFloating() {
        return floats != null;
    }

    /** A copy of the float32 values, row-major. */
    public float[] floats() {
        return floatValues().clone();
    }

    /** A copy of the integer values, row-major. */
    public long[] longs() {
        return longValues().clone();
    }

    /** The values as a new {@link Tensor} (float32, own copy), for a {@link #isFloating() floating} tensor. */
    public Tensor toTensor() {
        return Tensor.wrap(floats(), shape());
    }

    /** The float values themselves, for the writer; fails for an integer tensor. */
    float[] floatValues() {
        if (floats == null) {
            throw new IllegalStateException("tensor " + ModelFormatException.quoted(name) + " holds " + dataType
                    + " integers, not floats");
        }
        return floats;
    }

    /** The integer values themselves, for the writer; fails for a floating tensor. */
    long[] longValues() {
        if (longs == null) {
            throw new IllegalStateException("tensor " + ModelFormatException.quoted(name) + " holds " + dataType
                    + " floats, not integers");
        }
        return longs;
    }

    /**
     * Same name, data type, dimensions and values (floats compared as by {@link Arrays#equals(float[], float[])}:
     * NaN equals NaN).
     */
    @Override
    public boolean equals(Object o) {
        return o instanceof OnnxTensor t && name.equals(t.name) && dataType == t.dataType
                && Arrays.equals(dims, t.dims) && Arrays.equals(floats, t.floats) && Arrays.equals(longs, t.longs);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dataType, Arrays.hashCode(dims), Arrays.hashCode(floats), Arrays.hashCode(longs));
    }

    /** {@code "conv.weight" FLOAT [8, 3, 3, 3]}. */
    @Override
    public String toString() {
        return ModelFormatException.quoted(name) + " " + dataType + " " + Arrays.toString(dims);
    }
}
