package org.siamese4j.tensor;

import java.util.Arrays;

/** Small helpers for shapes: sizes, strides, axes, broadcasting, and the text used in error messages. */
public final class Shapes {
    private Shapes() {
    }

    /** Number of elements; fails on negative dimensions or sizes beyond a Java array. */
    public static int size(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + toString(shape));
            }
            n *= d;
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("shape " + toString(shape) + " has more elements than a Java array holds");
            }
        }
        return (int) n;
    }

    /** A validated copy. */
    static int[] checked(int[] shape) {
        size(shape);
        return shape.clone();
    }

    /** Row-major strides: the distance in the flat array between neighbours along each dimension. */
    public static int[] strides(int[] shape) {
        int[] s = new int[shape.length];
        int acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** Normalises a possibly negative axis, failing with the valid range. */
    public static int axis(int axis, int rank, String op) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException(op + ": dimension " + axis + " is out of range for a tensor of rank "
                    + rank + " (valid: " + (-rank) + " to " + (rank - 1) + ")");
        }
        return a;
    }

    static int offset(int[] shape, int[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has " + index.length
                    + " coordinates but the tensor has rank " + shape.length);
        }
        int off = 0;
        for (int i = 0; i < shape.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape "
                        + toString(shape));
            }
            off = off * shape[i] + index[i];
        }
        return off;
    }

    /** The numpy broadcast of two shapes, or an error naming the op and both shapes. */
    public static int[] broadcast(int[] a, int[] b, String op) {
        int rank = Math.max(a.length, b.length);
        int[] out = new int[rank];
        for (int i = 0; i < rank; i++) {
            int da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            int db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException(op + ": shapes " + toString(a) + " and " + toString(b)
                        + " cannot be broadcast (dimension " + i + ": " + da + " vs " + db + ")");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /**
     * Strides for reading a tensor of shape {@code in} as if it had the broadcast shape {@code out}:
     * 0 along dimensions it is repeated over.
     */
    static int[] broadcastStrides(int[] in, int[] out) {
        int[] inStrides = strides(in);
        int[] s = new int[out.length];
        int lead = out.length - in.length;
        for (int i = lead; i < out.length; i++) {
            s[i] = in[i - lead] == 1 ? 0 : inStrides[i - lead];
        }
        return s;
    }

    public static String toString(int[] shape) {
        return Arrays.toString(shape);
    }

    /** Fails with the op and both shapes unless they are equal. */
    public static void requireSame(String op, int[] a, int[] b) {
        if (!Arrays.equals(a, b)) {
            throw new IllegalArgumentException(op + ": shapes " + toString(a) + " and " + toString(b) + " differ");
        }
    }

    /** Fails unless the tensor has the expected rank. */
    public static void requireRank(String op, Tensor t, int rank, String layout) {
        if (t.shape.length != rank) {
            throw new IllegalArgumentException(op + ": expected a rank-" + rank + " tensor " + layout + ", got shape "
                    + toString(t.shape));
        }
    }
}
