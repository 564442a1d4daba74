package org.siamese4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * A network that is a directed acyclic graph of named values rather than a chain: what residual towers and
 * imported models are. Each node computes one value from values defined before it, either with a module of one
 * input ({@link Builder#node}) or with a parameter-free op of several ({@link Builder#op}, such as
 * {@link GraphOp#ADD}). The order nodes are added in is the order they run in, so it must be topological; the
 * builder refuses a node that reads a value not yet defined.
 *
 * <pre>{@code
 * Graph block = Graph.builder("x")
 *         .node("conv1", new Conv2d(8, 8, 3, 1, 1, rng), "x")
 *         .node("relu1", new ReLU(), "conv1")
 *         .node("conv2", new Conv2d(8, 8, 3, 1, 1, rng), "relu1")
 *         .op("sum", GraphOp.ADD, "conv2", "x")   // x is read twice: its gradient gets both contributions
 *         .build("sum");
 * }</pre>
 *
 * <p>A node's module is registered as the child of the same name, so the state-dict names are the node names
 * ({@code conv1.weight}) and {@link #train()}/{@link #eval()} reach every module. Node names therefore hold no
 * '.'. Autograd flows through the graph as through any tensor expression: a value read by several nodes
 * accumulates the gradient of each.
 *
 * <p>During a forward pass a value is dropped as soon as the last node reading it has run (unless it is an
 * output), so inference without a recorded graph keeps only the values still needed.
 */
public final class Graph extends Module {

    /** One node: a module on one value, or an op on several; {@code freeAfter} are the values it reads last. */
    private record Node(String name, Module module, GraphOp op, List<String> inputs, List<String> freeAfter) {

        String describe() {
            return module != null ? module.getClass().getSimpleName() : op.name();
        }
    }

    private final List<String> inputs;
    private final List<Node> nodes;
    private final List<String> outputs;

    private Graph(List<String> inputs, List<Node> nodes, List<String> outputs) {
        this.inputs = List.copyOf(inputs);
        this.nodes = List.copyOf(nodes);
        this.outputs = List.copyOf(outputs);
        for (Node n : nodes) {
            if (n.module != null) {
                registerModule(n.name, n.module);
            }
        }
    }

    /** Starts a graph whose inputs are named {@code inputs}, in the order {@link #inputNames()} lists them. */
    public static Builder builder(String... inputs) {
        return new Builder(inputs);
    }

    /** The graph inputs' names, in the order given to {@link #builder}. */
    public List<String> inputNames() {
        return inputs;
    }

    /** The outputs' names, in the order given to {@link Builder#build}. */
    public List<String> outputNames() {
        return outputs;
    }

    /** Every node's name, in the order they run. */
    public List<String> nodeNames() {
        List<String> out = new ArrayList<>(nodes.size());
        for (Node n : nodes) {
            out.add(n.name);
        }
        return out;
    }

    /** The output of a graph with one input and one output. */
    @Override
    public Tensor forward(Tensor input) {
        if (inputs.size() != 1 || outputs.size() != 1) {
            throw new IllegalArgumentException("Graph.forward: this graph has inputs " + inputs + " and outputs "
                    + outputs + "; forward(Tensor) needs one of each, use forward(Map) with the values by name");
        }
        Map<String, Tensor> in = new HashMap<>();
        in.put(inputs.get(0), input);
        return forward(in).get(outputs.get(0));
    }

    /**
     * Runs the graph on the inputs by name and returns the outputs by name, in {@link #outputNames()} order.
     *
     * @throws IllegalArgumentException when an input is missing, null or not one of the graph's, or when a node
     *                                  fails (naming the node, what it is and the shapes it was given)
     */
    public LinkedHashMap<String, Tensor> forward(Map<String, Tensor> inputValues) {
        if (inputValues == null) {
            throw new IllegalArgumentException("Graph.forward: the inputs are null; expected " + inputs);
        }
        List<String> missing = new ArrayList<>();
        for (String name : inputs) {
            if (inputValues.get(name) == null) {
                missing.add(name);
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String name : inputValues.keySet()) {
            if (!inputs.contains(name)) {
                unexpected.add(name);
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty()) {
            throw new IllegalArgumentException("Graph.forward: the graph takes inputs " + inputs
                    + (missing.isEmpty() ? "" : "; missing (or null): " + missing)
                    + (unexpected.isEmpty() ? "" : "; not inputs of this graph: " + unexpected));
        }
        Map<String, Tensor> values = new HashMap<>(inputValues);
        for (Node n : nodes) {
            Tensor[] args = new Tensor[n.inputs.size()];
            for (int i = 0; i < args.length; i++) {
                args[i] = values.get(n.inputs.get(i));
            }
            values.put(n.name, run(n, args));
            for (String done : n.freeAfter) {
                values.remove(done);
            }
        }
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        for (String name : outputs) {
            out.put(name, values.get(name));
        }
        return out;
    }

    private static Tensor run(Node n, Tensor[] args) {
        try {
            return n.module != null ? n.module.forward(args[0]) : n.op.apply(args);
        } catch (IllegalArgumentException e) {
            StringBuilder given = new StringBuilder();
            for (int i = 0; i < args.length; i++) {
                given.append(i == 0 ? "" : ", ").append('\'').append(n.inputs.get(i)).append("' ")
                        .append(Shapes.toString(args[i].shape()));
            }
            throw new IllegalArgumentException("Graph: node '" + n.name + "' (" + n.describe() + ") failed on "
                    + given + ": " + e.getMessage(), e);
        }
    }

    /**
     * The wiring, one line per node, modules as PyTorch prints them:
     * <pre>
     * Graph(
     *   inputs: x
     *   (conv1): Conv2d(8, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)) &lt;- x
     *   (sum): add &lt;- conv1, x
     *   outputs: sum
     * )
     * </pre>
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Graph(\n  inputs: ").append(String.join(", ", inputs));
        for (Node n : nodes) {
            String what = n.module != null ? n.module.toString().replace("\n", "\n  ") : n.op.name();
            sb.append("\n  (").append(n.name).append("): ").append(what).append(" <- ")
                    .append(String.join(", ", n.inputs));
        }
        return sb.append("\n  outputs: ").append(String.join(", ", outputs)).append("\n)").toString();
    }

    // =====================================================================================================
    // Building
    // =====================================================================================================

    /**
     * Collects the nodes of a {@link Graph} in the order they will run. Every name (graph inputs and nodes) is
     * defined once, holds no '.', and must be defined before a node reads it; {@link #build} then refuses
     * outputs that are not defined and nodes or inputs no output depends on. Each mistake fails at once with
     * an {@link IllegalArgumentException} naming it.
     */
    public static final class Builder {
        /** Names listed in full in a message; an imported graph may have thousands. */
        private static final int MAX_LISTED = 12;

        private final List<String> inputs = new ArrayList<>();
        private final List<Node> nodes = new ArrayList<>();
        /** Every name defined so far, with what defined it, for messages. */
        private final LinkedHashMap<String, String> defined = new LinkedHashMap<>();

        private Builder(String[] inputs) {
            if (inputs == null || inputs.length == 0) {
                throw new IllegalArgumentException("Graph.builder: a graph needs at least one input name");
            }
            for (String name : inputs) {
                define(name, "the graph input");
                this.inputs.add(name);
            }
        }

        /**
         * Adds a node computing {@code module.forward(input)}, a value named {@code name}; the module becomes
         * the child {@code name} (state-dict names {@code name.weight}, ...). Returns this.
         */
        public Builder node(String name, Module module, String input) {
            if (module == null) {
                throw new IllegalArgumentException("Graph.Builder: node '" + name + "' has a null module");
            }
            return add(name, module, null, new String[] {input});
        }

        /** Adds a node computing {@code op} on {@code inputs} (in that order), a value named {@code name}. */
        public Builder op(String name, GraphOp op, String... inputs) {
            if (op == null) {
                throw new IllegalArgumentException("Graph.Builder: node '" + name + "' has a null op");
            }
            if (inputs == null || !op.accepts(inputs.length)) {
                throw new IllegalArgumentException("Graph.Builder: node '" + name + "': " + op.name() + " takes "
                        + op.arity() + " inputs, got " + (inputs == null ? "null" : inputs.length + " "
                        + Arrays.toString(inputs)));
            }
            return add(name, null, op, inputs);
        }

        private Builder add(String name, Module module, GraphOp op, String[] inputs) {
            for (String in : inputs) {
                if (!defined.containsKey(in)) {
                    throw new IllegalArgumentException("Graph.Builder: node '" + name + "' reads '" + in
                            + "', which is not defined before it (a node reads graph inputs or earlier nodes: add "
                            + "nodes in topological order); defined so far: " + listed(defined.keySet()));
                }
            }
            define(name, "node " + nodes.size());
            nodes.add(new Node(name, module, op, List.of(inputs), List.of()));
            return this;
        }

        private void define(String name, String what) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("Graph.Builder: " + what + " has " + (name == null ? "a null"
                        : "an empty") + " name");
            }
            if (name.contains(".")) {
                throw new IllegalArgumentException("Graph.Builder: the name '" + name + "' (" + what + ") contains "
                        + "'.', which joins the parts of state-dict names ('" + name + ".weight' would not say "
                        + "which part is the node); use another character such as '_'");
            }
            String before = defined.putIfAbsent(name, what);
            if (before != null) {
                throw new IllegalArgumentException("Graph.Builder: the name '" + name + "' (" + what + ") is "
                        + "already defined by " + before + "; every value needs its own name");
            }
        }

        /**
         * The graph computing {@code outputs} (at least one, each defined, none twice). Every node and input
         * must be needed by some output: dangling structure is refused, as it is almost always a wiring
         * mistake (and would cost time on every forward pass).
         */
        public Graph build(String... outputs) {
            if (outputs == null || outputs.length == 0) {
                throw new IllegalArgumentException("Graph.Builder.build: a graph needs at least one output; "
                        + "defined: " + listed(defined.keySet()));
            }
            Set<String> seen = new HashSet<>();
            for (String out : outputs) {
                if (!defined.containsKey(out)) {
                    throw new IllegalArgumentException("Graph.Builder.build: output '" + out + "' is never "
                            + "defined; defined: " + listed(defined.keySet()));
                }
                if (!seen.add(out)) {
                    throw new IllegalArgumentException("Graph.Builder.build: output '" + out + "' is listed twice");
                }
            }
            // Walk back from the outputs: what is needed, and at which node each value is read for the last time.
            Set<String> needed = new HashSet<>(List.of(outputs));
            Map<String, Integer> lastRead = new HashMap<>();
            for (int k = nodes.size() - 1; k >= 0; k--) {
                Node n = nodes.get(k);
                if (needed.contains(n.name)) {
                    for (String in : n.inputs) {
                        needed.add(in);
                        lastRead.putIfAbsent(in, k);
                    }
                }
            }
            List<String> unused = new ArrayList<>();
            for (Map.Entry<String, String> e : defined.entrySet()) {
                if (!needed.contains(e.getKey())) {
                    unused.add("'" + e.getKey() + "' (" + e.getValue() + ")");
                }
            }
            if (!unused.isEmpty()) {
                throw new IllegalArgumentException("Graph.Builder.build: no output " + Arrays.toString(outputs)
                        + " depends on " + listed(unused) + "; remove " + (unused.size() == 1 ? "it" : "them")
                        + " or make " + (unused.size() == 1 ? "it an output" : "them outputs"));
            }
            List<Node> planned = new ArrayList<>(nodes.size());
            for (int k = 0; k < nodes.size(); k++) {
                Node n = nodes.get(k);
                List<String> free = new ArrayList<>();
                for (String in : new LinkedHashSet<>(n.inputs)) {
                    if (lastRead.get(in) == k && !seen.contains(in)) {
                        free.add(in);
                    }
                }
                planned.add(new Node(n.name, n.module, n.op, n.inputs, free));
            }
            return new Graph(inputs, planned, List.of(outputs));
        }

        private static String listed(Collection<String> names) {
            if (names.size() <= MAX_LISTED) {
                return String.join(", ", names);
            }
            return String.join(", ", new ArrayList<>(names).subList(0, MAX_LISTED)) + ", ... (" + names.size()
                    + " in all)";
        }
    }
}
