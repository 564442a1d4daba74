package org.siamese4j.nn;

import java.util.function.Function;
import org.siamese4j.tensor.Tensor;

/**
 * A parameter-free operation on several values of a {@link Graph}: the joins that a chain of modules cannot
 * express, such as a residual sum or a channel concatenation. The maths is the tensor ops' own (with their
 * broadcasting and their gradients); this class only names the operation and fixes how many inputs it takes,
 * so a graph with the wrong number of inputs is refused when it is built, not when it first runs.
 */
public final class GraphOp {

    /** {@code a + b}, with numpy broadcasting ({@link Tensor#add(Tensor)}). */
    public static final GraphOp ADD = new GraphOp("add", 2, 2, in -> in[0].add(in[1]));

    /** {@code a - b}, with numpy broadcasting ({@link Tensor#sub(Tensor)}). */
    public static final GraphOp SUB = new GraphOp("sub", 2, 2, in -> in[0].sub(in[1]));

    /** {@code a * b} elementwise, with numpy broadcasting ({@link Tensor#mul(Tensor)}). */
    public static final GraphOp MUL = new GraphOp("mul", 2, 2, in -> in[0].mul(in[1]));

    /** {@code a / b} elementwise, with numpy broadcasting ({@link Tensor#div(Tensor)}). */
    public static final GraphOp DIV = new GraphOp("div", 2, 2, in -> in[0].div(in[1]));

    private final String name;
    private final int minInputs;
    private final int maxInputs;
    private final Function<Tensor[], Tensor> apply;

    private GraphOp(String name, int minInputs, int maxInputs, Function<Tensor[], Tensor> apply) {
        this.name = name;
        this.minInputs = minInputs;
        this.maxInputs = maxInputs;
        this.apply = apply;
    }

    /**
     * The inputs joined along dimension {@code dim} of the batched tensors ({@link Tensor#concat}), so
     * {@code concat(1)} stacks the channels of [N, C, H, W] values; negative dims count from the end. One input
     * or more.
     */
    public static GraphOp concat(int dim) {
        return new GraphOp("concat(dim=" + dim + ")", 1, Integer.MAX_VALUE, in -> Tensor.concat(dim, in));
    }

    /** {@code add}, {@code mul}, {@code concat(dim=1)}. */
    public String name() {
        return name;
    }

    public int minInputs() {
        return minInputs;
    }

    public int maxInputs() {
        return maxInputs;
    }

    /** Whether {@code count} inputs suit this op. */
    boolean accepts(int count) {
        return count >= minInputs && count <= maxInputs;
    }

    /** How many inputs it takes, for messages: {@code 2}, {@code at least 1}. */
    String arity() {
        return minInputs == maxInputs ? Integer.toString(minInputs) : "at least " + minInputs;
    }

    /** The op applied to {@code inputs}, which must be as many as it takes. */
    public Tensor apply(Tensor... inputs) {
        if (inputs == null || !accepts(inputs.length)) {
            throw new IllegalArgumentException("GraphOp " + name + ": takes " + arity() + " inputs, got "
                    + (inputs == null ? "null" : Integer.toString(inputs.length)));
        }
        return apply.apply(inputs);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GraphOp && ((GraphOp) o).name.equals(name);
    }

    @Override
    public int hashCode() {
        return name.hashCode();
    }

    @Override
    public String toString() {
        return name;
    }
}
