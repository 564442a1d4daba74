package org.siamese4j.tensor;

import java.util.Arrays;

/**
 * Movement ops: they rearrange or select values without arithmetic. Backward moves each gradient back to
 * where its value came from (adding, when one value went to several places).
 */
final class MovementOps {
    private MovementOps() {
    }

    /** Same values in a new shape; storage is shared, so this is a view. One dimension may be -1. */
    static Tensor reshape(Tensor x, int[] newShape) {
        int[] shape = newShape.clone();
        int inferred = -1;
        long known = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (inferred >= 0) {
                    throw new IllegalArgumentException("reshape: only one dimension can be -1, got "
                            + Shapes.toString(newShape));
                }
                inferred = i;
            } else if (shape[i] < 0) {
                throw new IllegalArgumentException("reshape: invalid dimension " + shape[i] + " in "
                        + Shapes.toString(newShape));
            } else {
                known *= shape[i];
            }
        }
        if (inferred >= 0) {
            if (known == 0 || x.data.length % known != 0) {
                throw new IllegalArgumentException("reshape: cannot reshape " + Shapes.toString(x.shape) + " ("
                        + x.data.length + " elements) to " + Shapes.toString(newShape));
            }
            shape[inferred] = (int) (x.data.length / known);
        }
        if (Shapes.size(shape) != x.data.length) {
            throw new IllegalArgumentException("reshape: cannot reshape " + Shapes.toString(x.shape) + " ("
                    + x.data.length + " elements) to " + Shapes.toString(newShape) + " (" + Shapes.size(shape)
                    + " elements)");
        }
        Tensor out = new Tensor(x.data, shape);
        // Row-major order is unchanged, so the gradient maps back element for element.
        return out.recordOp("reshape", () -> x.accumulateGrad(out.grad), x);
    }

    /** Flattens dimensions from {@code startDim} on into one: [N, C, H, W] with start 1 becomes [N, C*H*W]. */
    static Tensor flatten(Tensor x, int startDim) {
        if (x.shape.length == 0) {
            return reshape(x, new int[] {1});
        }
        int s = Shapes.axis(startDim, x.shape.length, "flatten");
        int[] shape = new int[s + 1];
        System.arraycopy(x.shape, 0, shape, 0, s);
        int rest = 1;
        for (int i = s; i < x.shape.length; i++) {
            rest *= x.shape[i];
        }
        shape[s] = rest;
        return reshape(x, shape);
    }

    /** Swaps two dimensions (copied into a new contiguous tensor).  Backward swaps them back. */
    static Tensor transpose(Tensor x, int dim0, int dim1) {
        int rank = x.shape.length;
        int a = Shapes.axis(dim0, rank, "transpose");
        int b = Shapes.axis(dim1, rank, "transpose");
        int[] order = identity(rank);
        order[a] = b;
        order[b] = a;
        return permuted(x, order, "transpose");
    }

    /**
     * Reorders the dimensions: output dimension i is input dimension {@code order[i]} (negative entries count
     * from the end). Copied into a new contiguous tensor.
     */
    static Tensor permute(Tensor x, int[] order) {
        int rank = x.shape.length;
        if (order.length != rank) {
            throw new IllegalArgumentException("permute: order " + Arrays.toString(order) + " has " + order.length
                    + " entries but the tensor " + Shapes.toString(x.shape) + " has rank " + rank);
        }
        int[] normalised = new int[rank];
        boolean[] seen = new boolean[rank];
        for (int i = 0; i < rank; i++) {
            int d = order[i] < 0 ? order[i] + rank : order[i];
            if (d < 0 || d >= rank || seen[d]) {
                throw new IllegalArgumentException("permute: order " + Arrays.toString(order)
                        + " is not a permutation of the dimensions 0.." + (rank - 1) + " of "
                        + Shapes.toString(x.shape) + " (entry " + order[i] + " at position " + i
                        + (d >= 0 && d < rank ? " repeats an earlier one)" : " is out of range)"));
            }
            seen[d] = true;
            normalised[i] = d;
        }
        return permuted(x, normalised, "permute");
    }

    private static Tensor permuted(Tensor x, int[] order, String name) {
        int[] shape = new int[order.length];
        for (int i = 0; i < order.length; i++) {
            shape[i] = x.shape[order[i]];
        }
        Tensor out = Tensor.fresh(shape);
        walkPermuted(x.shape, order, x.data, out.data, false);
        // out[i] = x[src(i)], so the gradient goes back along the same map: this is the inverse permutation.
        return out.recordOp(name, () -> walkPermuted(x.shape, order, x.gradBuffer(), out.grad, true), x);
    }

    /**
     * Visits the output of a permutation in row-major order while tracking the input offset it reads.
     * Forward: {@code dst[i] = src[off]}. Backward ({@code accumulateBack}): {@code src[off] += dst[i]}.
     */
    private static void walkPermuted(int[] inShape, int[] order, float[] src, float[] dst, boolean accumulateBack) {
        int rank = order.length;
        int[] inStrides = Shapes.strides(inShape);
        int[] outShape = new int[rank];
        int[] step = new int[rank];
        for (int i = 0; i < rank; i++) {
            outShape[i] = inShape[order[i]];
            step[i] = inStrides[order[i]];
        }
        int[] index = new int[rank];
        int off = 0;
        for (int i = 0; i < dst.length; i++) {
            if (accumulateBack) {
                src[off] += dst[i];
            } else {
                dst[i] = src[off];
            }
            // odometer increment of the output index, keeping off = sum(index * step)
            for (int d = rank - 1; d >= 0; d--) {
                index[d]++;
                off += step[d];
                if (index[d] < outShape[d]) {
                    break;
                }
                off -= step[d] * index[d];
                index[d] = 0;
            }
        }
    }

    /** Rows {@code start} (inclusive) to {@code end} (exclusive) along dimension 0, copied. d/dx = 1 on those rows. */
    static Tensor slice(Tensor x, int start, int end) {
        if (x.shape.length == 0) {
            throw new IllegalArgumentException("slice: cannot slice a 0-dimensional tensor");
        }
        int rows = x.shape[0];
        if (start < 0 || end < start || end > rows) {
            throw new IllegalArgumentException("slice: range start=" + start + ", end=" + end
                    + " is not within dimension 0 of size " + rows + " (need 0 <= start <= end <= " + rows
                    + "), tensor " + Shapes.toString(x.shape));
        }
        int rowSize = rows == 0 ? 0 : x.data.length / rows;
        int[] shape = x.shape.clone();
        shape[0] = end - start;
        Tensor out = Tensor.fresh(shape);
        int base = start * rowSize;
        System.arraycopy(x.data, base, out.data, 0, out.data.length);
        return out.recordOp("slice", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < out.grad.length; i++) {
                dst[base + i] += out.grad[i];
            }
        }, x);
    }

    /**
     * out[o, k, j] = x[o, indices[k], j] with x viewed as [outer, n, inner] around {@code dim}.
     * d/dx[o, i, j] = sum over every k with indices[k] == i of g[o, k, j] (repeats accumulate).
     */
    static Tensor indexSelect(Tensor x, int dim, int[] indices) {
        int d = Shapes.axis(dim, x.shape.length, "indexSelect");
        int n = x.shape[d];
        int[] idx = indices.clone();
        for (int k = 0; k < idx.length; k++) {
            if (idx[k] < 0 || idx[k] >= n) {
                throw new IndexOutOfBoundsException("indexSelect: index " + idx[k] + " at position " + k
                        + " is out of range for dimension " + dim + " of size " + n + " (tensor "
                        + Shapes.toString(x.shape) + ")");
            }
        }
        int outer = ReduceOps.outer(x.shape, d);
        int inner = ReduceOps.inner(x.shape, d);
        int[] shape = x.shape.clone();
        shape[d] = idx.length;
        Tensor out = Tensor.fresh(shape);
        for (int o = 0; o < outer; o++) {
            for (int k = 0; k < idx.length; k++) {
                System.arraycopy(x.data, (o * n + idx[k]) * inner, out.data, (o * idx.length + k) * inner, inner);
            }
        }
        return out.recordOp("index_select", () -> {
            float[] dst = x.gradBuffer();
            for (int o = 0; o < outer; o++) {
                for (int k = 0; k < idx.length; k++) {
                    int from = (o * idx.length + k) * inner;
                    int to = (o * n + idx[k]) * inner;
                    for (int j = 0; j < inner; j++) {
                        dst[to + j] += out.grad[from + j];
                    }
                }
            }
        }, x);
    }

    /**
     * torch.gather: {@code index} (row-major, shape {@code indexShape}, same rank as x) picks along {@code dim};
     * out has shape indexShape and, for dim = 1, out[i][j][k] = x[i][index[i][j][k]][k]. Along the other
     * dimensions indexShape may not exceed x's shape. d/dx: each g[p] is added into the element out[p] read.
     */
    static Tensor gather(Tensor x, int dim, int[] index, int[] indexShape) {
        int rank = x.shape.length;
        int d = Shapes.axis(dim, rank, "gather");
        int[] shape = Shapes.checked(indexShape);
        if (shape.length != rank) {
            throw new IllegalArgumentException("gather: index shape " + Shapes.toString(shape)
                    + " must have the same rank as the input " + Shapes.toString(x.shape));
        }
        if (index.length != Shapes.size(shape)) {
            throw new IllegalArgumentException("gather: index has " + index.length + " values but index shape "
                    + Shapes.toString(shape) + " needs " + Shapes.size(shape));
        }
        for (int i = 0; i < rank; i++) {
            if (i != d && shape[i] > x.shape[i]) {
                throw new IllegalArgumentException("gather: index shape " + Shapes.toString(shape)
                        + " exceeds the input shape " + Shapes.toString(x.shape) + " in dimension " + i
                        + " (only dimension " + d + " may be larger)");
            }
        }
        int[] xStrides = Shapes.strides(x.shape);
        int n = x.shape[d];
        // sources[p] = flat offset in x that out[p] reads: kept for backward.
        int[] sources = new int[index.length];
        int[] pos = new int[rank];
        int base = 0;   // sum over the dimensions other than d of pos * xStrides
        for (int p = 0; p < index.length; p++) {
            int v = index[p];
            if (v < 0 || v >= n) {
                throw new IndexOutOfBoundsException("gather: index value " + v + " at position "
                        + Arrays.toString(pos) + " (flat " + p + ") is out of range for dimension " + dim
                        + " of size " + n + " (input " + Shapes.toString(x.shape) + ")");
            }
            sources[p] = base + v * xStrides[d];
            for (int a = rank - 1; a >= 0; a--) {
                pos[a]++;
                int stride = a == d ? 0 : xStrides[a];
                base += stride;
                if (pos[a] < shape[a]) {
                    break;
                }
                base -= stride * pos[a];
                pos[a] = 0;
            }
        }
        Tensor out = Tensor.fresh(shape);
        for (int p = 0; p < sources.length; p++) {
            out.data[p] = x.data[sources[p]];
        }
        return out.recordOp("gather", () -> {
            float[] dst = x.gradBuffer();
            for (int p = 0; p < sources.length; p++) {
                dst[sources[p]] += out.grad[p];
            }
        }, x);
    }

    /**
     * Joins tensors along an existing dimension; the other dimensions must agree. Viewed as [outer, rest],
     * each output row is the inputs' rows one after the other, so backward cuts the gradient rows apart again.
     */
    static Tensor concat(int dim, Tensor[] tensors) {
        Tensor[] ts = requireTensors("concat", tensors);
        int[] first = ts[0].shape;
        if (first.length == 0) {
            throw new IllegalArgumentException("concat: cannot concatenate 0-dimensional tensors; use stack");
        }
        int d = Shapes.axis(dim, first.length, "concat");
        int total = 0;
        for (int t = 0; t < ts.length; t++) {
            int[] s = ts[t].shape;
            boolean fits = s.length == first.length;
            for (int i = 0; fits && i < s.length; i++) {
                fits = i == d || s[i] == first[i];
            }
            if (!fits) {
                throw new IllegalArgumentException("concat: tensor " + t + " has shape " + Shapes.toString(s)
                        + " but tensor 0 has shape " + Shapes.toString(first)
                        + "; shapes must match except along dimension " + d);
            }
            total += s[d];
        }
        int[] shape = first.clone();
        shape[d] = total;
        int inner = ReduceOps.inner(first, d);
        int[] chunks = new int[ts.length];
        for (int t = 0; t < ts.length; t++) {
            chunks[t] = ts[t].shape[d] * inner;
        }
        return joined("concat", ts, ReduceOps.outer(first, d), chunks, shape);
    }

    /** Joins equal-shaped tensors along a new dimension {@code dim} (0 to rank, negative counts from the end). */
    static Tensor stack(int dim, Tensor[] tensors) {
        Tensor[] ts = requireTensors("stack", tensors);
        int[] first = ts[0].shape;
        for (int t = 1; t < ts.length; t++) {
            if (!Arrays.equals(ts[t].shape, first)) {
                throw new IllegalArgumentException("stack: tensor " + t + " has shape "
                        + Shapes.toString(ts[t].shape) + " but tensor 0 has shape " + Shapes.toString(first)
                        + "; stack needs equal shapes");
            }
        }
        int d = Shapes.axis(dim, first.length + 1, "stack");
        int[] shape = new int[first.length + 1];
        System.arraycopy(first, 0, shape, 0, d);
        shape[d] = ts.length;
        System.arraycopy(first, d, shape, d + 1, first.length - d);
        // Stacking at d is concatenating [.., 1, ..] views at d: each input contributes its trailing block.
        int[] chunks = new int[ts.length];
        Arrays.fill(chunks, product(first, d, first.length));
        return joined("stack", ts, product(first, 0, d), chunks, shape);
    }

    private static Tensor[] requireTensors(String op, Tensor[] tensors) {
        if (tensors == null || tensors.length == 0) {
            throw new IllegalArgumentException(op + ": needs at least one tensor");
        }
        Tensor[] ts = tensors.clone();
        for (int t = 0; t < ts.length; t++) {
            if (ts[t] == null) {
                throw new IllegalArgumentException(op + ": tensor " + t + " is null");
            }
        }
        return ts;
    }

    /**
     * out viewed as [outer, sum(chunks)]: row o is chunk o of tensor 0 (chunks[0] values), then of tensor 1,
     * and so on. d/d ts[t] = the matching pieces of the gradient rows.
     */
    private static Tensor joined(String name, Tensor[] ts, int outer, int[] chunks, int[] shape) {
        Tensor out = Tensor.fresh(shape);
        int row = 0;
        for (int c : chunks) {
            row += c;
        }
        int rowLength = row;
        for (int o = 0, at = 0; o < outer; o++) {
            for (int t = 0; t < ts.length; t++) {
                System.arraycopy(ts[t].data, o * chunks[t], out.data, at, chunks[t]);
                at += chunks[t];
            }
        }
        return out.recordOp(name, () -> {
            int start = 0;
            for (int t = 0; t < ts.length; t++) {
                if (ts[t].requiresGrad) {
                    float[] dst = ts[t].gradBuffer();
                    int c = chunks[t];
                    for (int o = 0; o < outer; o++) {
                        int from = o * rowLength + start;
                        for (int j = 0; j < c; j++) {
                            dst[o * c + j] += out.grad[from + j];
                        }
                    }
                }
                start += chunks[t];
            }
        }, ts);
    }

    /** shape[from] * ... * shape[to - 1]. */
    private static int product(int[] shape, int from, int to) {
        int p = 1;
        for (int i = from; i < to; i++) {
            p *= shape[i];
        }
        return p;
    }

    private static int[] identity(int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        return order;
    }
}
