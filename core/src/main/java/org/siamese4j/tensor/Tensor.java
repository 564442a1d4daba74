package org.siamese4j.tensor;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Arrays;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * A float32 N-dimensional array that remembers how it was computed, so gradients can flow back through it.
 *
 * <p>Storage is one row-major contiguous {@code float[]}. Element {@code (i0, i1, ..., ik)} lives at
 * {@code i0*stride0 + ... + ik}, where each stride is the product of the dimensions to its right.
 *
 * <p>Every op (in the {@code *Ops} classes of this package, grouped like tinygrad's banners) computes its
 * output and, when any input needs a gradient, records on the output a backward closure that reads the
 * output's gradient and adds into its inputs' gradients. {@link #backward()} sorts the recorded graph
 * topologically and runs the closures from the output back to the leaves. Gradients accumulate with
 * {@code +=}, so a tensor used twice (a Siamese tower applied to two images) receives both contributions.
 *
 * <p>Tensors are not thread-safe; share a model between threads only for inference inside {@link #noGrad()}.
 */
public final class Tensor {

    /** The values, row-major. Ops read and write this directly; it is never reallocated. */
    final float[] data;
    final int[] shape;

    /** Gradient of the final loss with respect to each element; null until a backward pass reaches it. */
    float[] grad;
    boolean requiresGrad;

    // ---- the recorded graph (null for leaves and after backward released it) ----
    private Tensor[] parents;
    private Runnable backwardFn;
    private String opName;
    private boolean isLeaf = true;
    private boolean retainGrad;

    Tensor(float[] data, int[] shape) {
        int size = Shapes.size(shape);
        if (data.length != size) {
            throw new IllegalArgumentException("data has " + data.length + " values but shape "
                    + Shapes.toString(shape) + " needs " + size);
        }
        this.data = data;
        this.shape = shape;
    }

    // =====================================================================================================
    // Factories
    // =====================================================================================================

    /** A copy of {@code values} viewed with {@code shape}. */
    public static Tensor of(float[] values, int... shape) {
        return new Tensor(values.clone(), Shapes.checked(shape));
    }

    /** A 1-D tensor holding a copy of {@code values}. */
    public static Tensor of(float... values) {
        return new Tensor(values.clone(), new int[] {values.length});
    }

    /** A 2-D tensor from rows, which must all have the same length. */
    public static Tensor of(float[][] rows) {
        int cols = rows.length == 0 ? 0 : rows[0].length;
        float[] data = new float[rows.length * cols];
        for (int r = 0; r < rows.length; r++) {
            if (rows[r].length != cols) {
                throw new IllegalArgumentException("ragged rows: row 0 has " + cols + " values, row " + r
                        + " has " + rows[r].length);
            }
            System.arraycopy(rows[r], 0, data, r * cols, cols);
        }
        return new Tensor(data, new int[] {rows.length, cols});
    }

    /** Wraps {@code values} without copying: later writes to the array show in the tensor. */
    public static Tensor wrap(float[] values, int... shape) {
        return new Tensor(values, Shapes.checked(shape));
    }

    /** A 0-dimensional tensor holding one value. */
    public static Tensor scalar(float value) {
        return new Tensor(new float[] {value}, new int[0]);
    }

    public static Tensor zeros(int... shape) {
        return new Tensor(new float[Shapes.size(Shapes.checked(shape))], shape.clone());
    }

    public static Tensor ones(int... shape) {
        return full(1f, shape);
    }

    public static Tensor full(float value, int... shape) {
        Tensor t = zeros(shape);
        Arrays.fill(t.data, value);
        return t;
    }

    public static Tensor zerosLike(Tensor t) {
        return zeros(t.shape);
    }

    /** 0, 1, ..., n-1. */
    public static Tensor arange(int n) {
        return arange(0, n, 1);
    }

    /** start, start+step, ... while below {@code end} (above it for a negative step), like numpy. */
    public static Tensor arange(float start, float end, float step) {
        if (step == 0 || !Float.isFinite(step)) {
            throw new IllegalArgumentException("arange: step must be finite and non-zero, got " + step);
        }
        int n = (int) Math.max(0, Math.ceil((end - start) / step));
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            d[i] = start + i * step;
        }
        return new Tensor(d, new int[] {n});
    }

    /** Uniform in [low, high). */
    public static Tensor uniform(Rng rng, float low, float high, int... shape) {
        Tensor t = zeros(shape);
        for (int i = 0; i < t.data.length; i++) {
            t.data[i] = low + (high - low) * rng.nextFloat();
        }
        return t;
    }

    /** Uniform in [0, 1). */
    public static Tensor rand(Rng rng, int... shape) {
        return uniform(rng, 0f, 1f, shape);
    }

    /** Normal with the given mean and standard deviation. */
    public static Tensor normal(Rng rng, float mean, float std, int... shape) {
        Tensor t = zeros(shape);
        for (int i = 0; i < t.data.length; i++) {
            t.data[i] = (float) (mean + std * rng.nextGaussian());
        }
        return t;
    }

    /** Standard normal. */
    public static Tensor randn(Rng rng, int... shape) {
        return normal(rng, 0f, 1f, shape);
    }

    // =====================================================================================================
    // Shape and element access
    // =====================================================================================================

    public int[] shape() {
        return shape.clone();
    }

    /** Size of dimension {@code d}; negative {@code d} counts from the end. */
    public int dim(int d) {
        return shape[Shapes.axis(d, shape.length, "dim")];
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements. */
    public int size() {
        return data.length;
    }

    /** The backing array itself (not a copy). Writes bypass autograd: use them for initialisation and I/O. */
    public float[] data() {
        return data;
    }

    public float[] toArray() {
        return data.clone();
    }

    /** The value of a one-element tensor. */
    public float item() {
        if (data.length != 1) {
            throw new IllegalStateException("item() needs a single element, shape is " + Shapes.toString(shape));
        }
        return data[0];
    }

    public float get(int... index) {
        return data[Shapes.offset(shape, index)];
    }

    /** Sets one element in place. Not recorded by autograd. */
    public Tensor set(float value, int... index) {
        data[Shapes.offset(shape, index)] = value;
        return this;
    }

    /** Overwrites all values from {@code src} (same size) in place. Not recorded by autograd. */
    public Tensor copyFrom(Tensor src) {
        if (src.data.length != data.length) {
            throw new IllegalArgumentException("copyFrom: shape " + Shapes.toString(src.shape)
                    + " does not fit " + Shapes.toString(shape));
        }
        System.arraycopy(src.data, 0, data, 0, data.length);
        return this;
    }

    /** Fills in place. Not recorded by autograd. */
    public Tensor fill(float value) {
        Arrays.fill(data, value);
        return this;
    }

    // =====================================================================================================
    // Autograd
    // =====================================================================================================

    /** Marks a leaf tensor as one whose gradient we want (parameters, or inputs in a gradient check). */
    public Tensor requiresGrad(boolean required) {
        if (!isLeaf) {
            throw new IllegalStateException("requiresGrad can only be set on leaf tensors; " + opName
                    + " output is computed. Use detach() to get a leaf.");
        }
        this.requiresGrad = required;
        return this;
    }

    public boolean requiresGrad() {
        return requiresGrad;
    }

    /** True for tensors created directly (parameters, inputs), false for op outputs. */
    public boolean isLeaf() {
        return isLeaf;
    }

    /** The name of the op that produced this tensor, or null for a leaf. */
    public String opName() {
        return opName;
    }

    /** Keep this intermediate tensor's gradient after backward (leaves always keep theirs). */
    public Tensor retainGrad() {
        this.retainGrad = true;
        return this;
    }

    /** The accumulated gradient as a tensor of this shape, or null if no backward pass has reached it. */
    public Tensor grad() {
        return grad == null ? null : new Tensor(grad, shape);
    }

    /** Forgets the accumulated gradient (the next backward starts from zero). */
    public void zeroGrad() {
        grad = null;
    }

    /** A leaf sharing this tensor's values, cut from the graph: no gradient flows through it. */
    public Tensor detach() {
        return new Tensor(data, shape);
    }

    /** A leaf holding a copy of the values. */
    public Tensor copy() {
        return new Tensor(data.clone(), shape);
    }

    /**
     * Starts a scope in which ops record no graph (inference, evaluation, optimiser updates). Use with
     * try-with-resources; scopes nest and are per thread.
     */
    public static GradMode.Scope noGrad() {
        return GradMode.disable();
    }

    /** Back-propagates from this scalar (one-element) tensor, seeding its gradient with 1. */
    public void backward() {
        if (data.length != 1) {
            throw new IllegalStateException("backward() without an argument needs a scalar, shape is "
                    + Shapes.toString(shape) + "; pass the output gradient with backward(gradient)");
        }
        backward(Tensor.full(1f, shape));
    }

    /**
     * Back-propagates with {@code gradient} as d(loss)/d(this), which must have this tensor's shape. Releases
     * the graph afterwards, so each graph can be walked once.
     */
    public void backward(Tensor gradient) {
        if (!Arrays.equals(gradient.shape, shape)) {
            throw new IllegalArgumentException("backward: gradient shape " + Shapes.toString(gradient.shape)
                    + " does not match tensor shape " + Shapes.toString(shape));
        }
        if (!requiresGrad) {
            throw new IllegalStateException("backward: this tensor does not require grad (no input of the "
                    + "graph has requiresGrad(true), or it was computed under noGrad())");
        }
        List<Tensor> order = topologicalOrder();
        accumulateGrad(gradient.data);
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor node = order.get(i);
            if (node.backwardFn != null && node.grad != null) {
                node.backwardFn.run();
            }
        }
        for (Tensor node : order) {
            node.releaseGraph();
        }
    }

    /** Nodes that need a gradient, each after all of its parents (iterative DFS, so deep graphs are fine). */
    private List<Tensor> topologicalOrder() {
        List<Tensor> order = new ArrayList<>();
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Tensor> stack = new ArrayDeque<>();
        Deque<Integer> nextParent = new ArrayDeque<>();
        stack.push(this);
        nextParent.push(0);
        visited.add(this);
        while (!stack.isEmpty()) {
            Tensor node = stack.peek();
            if (!node.isLeaf && node.backwardFn == null) {
                throw new IllegalStateException("backward through a graph that was already released: the "
                        + node.opName + " output was used in an earlier backward(). Recompute the forward pass.");
            }
            int p = nextParent.pop();
            Tensor[] ps = node.parents == null ? new Tensor[0] : node.parents;
            if (p < ps.length) {
                nextParent.push(p + 1);
                Tensor parent = ps[p];
                if (parent.requiresGrad && visited.add(parent)) {
                    stack.push(parent);
                    nextParent.push(0);
                }
            } else {
                stack.pop();
                order.add(node);
            }
        }
        return order;
    }

    private void releaseGraph() {
        if (!isLeaf) {
            parents = null;
            backwardFn = null;
            if (!retainGrad) {
                grad = null;
            }
        }
    }

    // ---- used by the ops of this package ----

    /** The gradient buffer, allocated (zeroed) on first use. */
    float[] gradBuffer() {
        if (grad == null) {
            grad = new float[data.length];
        }
        return grad;
    }

    /** grad += g, elementwise. */
    void accumulateGrad(float[] g) {
        float[] dst = gradBuffer();
        for (int i = 0; i < dst.length; i++) {
            dst[i] += g[i];
        }
    }

    /**
     * Records how this freshly computed tensor came from {@code inputs}, if any input needs a gradient and
     * grad mode is on. The closure must add d(loss)/d(input) into each input that {@code requiresGrad}.
     */
    Tensor recordOp(String name, Runnable backward, Tensor... inputs) {
        this.opName = name;
        if (!GradMode.isEnabled()) {
            return this;
        }
        for (Tensor in : inputs) {
            if (in.requiresGrad) {
                this.requiresGrad = true;
                this.isLeaf = false;
                this.parents = inputs;
                this.backwardFn = backward;
                return this;
            }
        }
        return this;
    }

    /** True when at least one input needs a gradient and grad mode is on: ops skip saving work otherwise. */
    static boolean anyNeedsGrad(Tensor... inputs) {
        if (!GradMode.isEnabled()) {
            return false;
        }
        for (Tensor in : inputs) {
            if (in.requiresGrad) {
                return true;
            }
        }
        return false;
    }

    static Tensor fresh(int... shape) {
        return new Tensor(new float[Shapes.size(shape)], shape);
    }

    // =====================================================================================================
    // Ops (the maths lives in the *Ops classes; these are the fluent forms)
    // =====================================================================================================

    // ---- binary, with numpy broadcasting ----
    public Tensor add(Tensor other) { return BinaryOps.add(this, other); }
    public Tensor sub(Tensor other) { return BinaryOps.sub(this, other); }
    public Tensor mul(Tensor other) { return BinaryOps.mul(this, other); }
    public Tensor div(Tensor other) { return BinaryOps.div(this, other); }
    public Tensor add(float c) { return BinaryOps.addScalar(this, c); }
    public Tensor sub(float c) { return BinaryOps.addScalar(this, -c); }
    public Tensor mul(float c) { return BinaryOps.mulScalar(this, c); }
    public Tensor div(float c) { return BinaryOps.mulScalar(this, 1f / c); }

    // ---- unary ----
    public Tensor neg() { return UnaryOps.neg(this); }
    public Tensor exp() { return UnaryOps.exp(this); }
    /** Natural log; inputs at or below zero are clamped to the smallest normal float, so no -inf or NaN. */
    public Tensor log() { return UnaryOps.log(this); }
    /** Square root; the gradient at zero is taken as 0 instead of infinity. */
    public Tensor sqrt() { return UnaryOps.sqrt(this); }
    public Tensor pow(float exponent) { return UnaryOps.pow(this, exponent); }
    public Tensor abs() { return UnaryOps.abs(this); }
    public Tensor square() { return UnaryOps.pow(this, 2f); }
    public Tensor clamp(float min, float max) { return UnaryOps.clamp(this, min, max); }
    /** max(x, c) elementwise, e.g. {@code max(m - d, 0)} in the contrastive loss. */
    public Tensor maximum(float c) { return UnaryOps.clamp(this, c, Float.POSITIVE_INFINITY); }
    public Tensor minimum(float c) { return UnaryOps.clamp(this, Float.NEGATIVE_INFINITY, c); }

    // ---- activations ----
    public Tensor relu() { return ActivationOps.relu(this); }
    public Tensor leakyRelu(float slope) { return ActivationOps.leakyRelu(this, slope); }
    public Tensor sigmoid() { return ActivationOps.sigmoid(this); }
    public Tensor tanh() { return ActivationOps.tanh(this); }
    public Tensor softplus() { return ActivationOps.softplus(this); }
    public Tensor softmax(int dim) { return SoftmaxOps.softmax(this, dim); }
    public Tensor logSoftmax(int dim) { return SoftmaxOps.logSoftmax(this, dim); }

    // ---- reductions ----
    public Tensor sum() { return ReduceOps.sum(this); }
    public Tensor sum(int dim, boolean keepDim) { return ReduceOps.sum(this, dim, keepDim); }
    public Tensor mean() { return ReduceOps.mean(this); }
    public Tensor mean(int dim, boolean keepDim) { return ReduceOps.mean(this, dim, keepDim); }
    public Tensor max() { return ReduceOps.max(this); }
    public Tensor max(int dim, boolean keepDim) { return ReduceOps.max(this, dim, keepDim).values(); }
    /** Index of the maximum along {@code dim} (no gradient). */
    public int[] argmax(int dim) { return ReduceOps.max(this, dim, false).indices(); }

    // ---- matrix products ----
    public Tensor matmul(Tensor other) { return MatmulOps.matmul(this, other, false, false); }
    public Tensor matmul(Tensor other, boolean transposeThis, boolean transposeOther) {
        return MatmulOps.matmul(this, other, transposeThis, transposeOther);
    }

    // ---- movement ----
    /** Same values, new shape (one dimension may be -1 to infer it); shares storage with this tensor. */
    public Tensor reshape(int... newShape) { return MovementOps.reshape(this, newShape); }
    /** Alias of {@link #reshape}: storage is always contiguous, so every reshape is a view. */
    public Tensor view(int... newShape) { return MovementOps.reshape(this, newShape); }
    /** Keeps dimension 0 and flattens the rest: [N, C, H, W] to [N, C*H*W]. */
    public Tensor flatten() { return MovementOps.flatten(this, 1); }
    public Tensor flatten(int startDim) { return MovementOps.flatten(this, startDim); }
    public Tensor transpose(int dim0, int dim1) { return MovementOps.transpose(this, dim0, dim1); }
    /** Transpose of a 2-D tensor. */
    public Tensor t() { return MovementOps.transpose(this, 0, 1); }
    public Tensor permute(int... order) { return MovementOps.permute(this, order); }
    /** Rows {@code start} (inclusive) to {@code end} (exclusive) along dimension 0, copied. */
    public Tensor slice(int start, int end) { return MovementOps.slice(this, start, end); }
    /** Rows {@code indices} along {@code dim}, in that order (repeats allowed). */
    public Tensor indexSelect(int dim, int... indices) { return MovementOps.indexSelect(this, dim, indices); }
    /** out[i][j] = this[i][index[i][j]] along {@code dim} of a tensor the same rank as index. */
    public Tensor gather(int dim, int[] index, int[] indexShape) {
        return MovementOps.gather(this, dim, index, indexShape);
    }
    public static Tensor concat(int dim, Tensor... tensors) { return MovementOps.concat(dim, tensors); }
    public static Tensor stack(int dim, Tensor... tensors) { return MovementOps.stack(dim, tensors); }

    // =====================================================================================================
    // Printing
    // =====================================================================================================

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("tensor(");
        TensorFormat.appendValues(sb, data, shape);
        sb.append(", shape=").append(Shapes.toString(shape));
        if (opName != null && !isLeaf) {
            sb.append(", grad_fn=").append(opName);
        } else if (requiresGrad) {
            sb.append(", requires_grad=true");
        }
        return sb.append(')').toString();
    }

    /** Short description for error messages: {@code Tensor[2, 3]}. */
    public String describe() {
        return "Tensor" + Shapes.toString(shape);
    }

}
