package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.AbstractThrowableAssert;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** Graphs of named values: wiring, gradients through shared values, names, modes and every builder error. */
class GraphTest {

    private static void assertGradients(GradCheck.Result r) {
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertFails(ThrowingCallable call) {
        return assertThatThrownBy(call).isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * A diamond with a value read twice: x feeds two branches a and b, ta = tanh(a) is read by both the product
     * and the sum, and the output concatenates the sum with branch b.
     * <pre>
     *        x
     *      /   \
     *  a=fc1   b=fc2
     *    |      |  \
     *   ta      |   |
     *   | \    /    |
     *   |  prod     |
     *    \  |       |
     *     sum       |
     *        \     /
     *         cat
     * </pre>
     */
    private static final class Diamond {
        final Linear fc1;
        final Linear fc2;
        final Graph graph;

        Diamond(long seed) {
            Rng rng = new Rng(seed);
            fc1 = new Linear(4, 5, rng);
            fc2 = new Linear(4, 5, rng);
            graph = Graph.builder("x")
                    .node("a", fc1, "x")
                    .node("ta", new Tanh(), "a")
                    .node("b", fc2, "x")
                    .op("prod", GraphOp.MUL, "ta", "b")
                    .op("sum", GraphOp.ADD, "prod", "ta")
                    .op("cat", GraphOp.concat(1), "sum", "b")
                    .build("cat");
        }

        /** The same maths written out as one expression. */
        Tensor byHand(Tensor x) {
            Tensor ta = fc1.forward(x).tanh();
            Tensor b = fc2.forward(x);
            return Tensor.concat(1, ta.mul(b).add(ta), b);
        }
    }

    // ------------------------------------------------------------------------------------ forward and gradients

    @Test
    void diamondComputesTheExpressionItWires() {
        Diamond d = new Diamond(1);
        Tensor x = Tensor.uniform(new Rng(2), -1f, 1f, 3, 4);
        Tensor y = d.graph.forward(x);
        assertThat(y.shape()).containsExactly(3, 10);
        assertThat(y.toArray()).containsExactly(d.byHand(x).toArray());
        assertThat(d.graph.inputNames()).containsExactly("x");
        assertThat(d.graph.outputNames()).containsExactly("cat");
        assertThat(d.graph.nodeNames()).containsExactly("a", "ta", "b", "prod", "sum", "cat");
    }

    @Test
    void gradientsThroughTheDiamondMatchFiniteDifferences() {
        Diamond d = new Diamond(3);
        Tensor x = Tensor.uniform(new Rng(4), -1f, 1f, 3, 4).requiresGrad(true);
        // x is read by two nodes and ta by two nodes: each gets the sum of both paths' gradients
        assertGradients(GradCheck.check(in -> d.graph.forward(in[0]), x, d.fc1.weight(), d.fc1.bias(),
                d.fc2.weight(), d.fc2.bias()));
    }

    @Test
    void subAndDivBroadcastAndMatchFiniteDifferences() {
        // (a - m) / s with m [N, 1] and s [N, 5] kept in (1, 2): the joins an imported normalisation wires
        // between two computed values; m and s broadcast over a's columns
        Linear fcA = new Linear(4, 5, new Rng(11));
        Linear fcM = new Linear(4, 1, new Rng(12));
        Linear fcS = new Linear(4, 5, new Rng(13));
        Graph g = Graph.builder("x")
                .node("a", fcA, "x")
                .node("m", fcM, "x")
                .node("s0", fcS, "x")
                .node("s1", new Sigmoid(), "s0")
                .op("s", GraphOp.ADD, "s1", "s1")
                .op("centred", GraphOp.SUB, "a", "m")
                .op("y", GraphOp.DIV, "centred", "s")
                .build("y");
        Tensor x = Tensor.uniform(new Rng(14), -1f, 1f, 3, 4).requiresGrad(true);
        Tensor s = fcS.forward(x).sigmoid().mul(2f);
        assertThat(g.forward(x).toArray())
                .containsExactly(fcA.forward(x).sub(fcM.forward(x)).div(s).toArray());
        assertGradients(GradCheck.check(in -> g.forward(in[0]), x, fcA.weight(), fcM.weight(), fcM.bias(),
                fcS.weight()));
        assertThat(GraphOp.SUB.name()).isEqualTo("sub");
        assertThat(GraphOp.DIV.name()).isEqualTo("div");
    }

    @Test
    void aValueReadByTwoNodesAccumulatesBothGradients() {
        Linear fc = new Linear(3, 3, new Rng(5));
        Graph twice = Graph.builder("x")
                .node("h", fc, "x")
                .op("sum", GraphOp.ADD, "h", "h")
                .op("y", GraphOp.MUL, "sum", "x")
                .build("y");
        Tensor x = Tensor.uniform(new Rng(6), -1f, 1f, 2, 3).requiresGrad(true);
        twice.forward(x).sum().backward();
        // y = 2 * fc(x) * x, so dL/db_j = sum over rows of 2 * x_ij: both reads of h contributed
        float[] x0 = x.toArray();
        float[] db = fc.bias().grad().toArray();
        for (int j = 0; j < 3; j++) {
            assertThat(db[j]).isCloseTo(2 * (x0[j] + x0[3 + j]), offset(1e-6f));
        }
        assertGradients(GradCheck.check(in -> twice.forward(in[0]), x, fc.weight(), fc.bias()));
    }

    @Test
    void aGraphResidualBlockEqualsTheResidualModule() {
        Rng rng = new Rng(7);
        Conv2d c1 = new Conv2d(2, 2, 3, 1, 1, 1, PaddingMode.ZEROS, true, rng);
        Conv2d c2 = new Conv2d(2, 2, 3, 1, 1, 1, PaddingMode.ZEROS, true, rng);
        Graph graph = Graph.builder("x")
                .node("c1", c1, "x")
                .node("r", new ReLU(), "c1")
                .node("c2", c2, "r")
                .op("sum", GraphOp.ADD, "c2", "x")
                .build("sum");
        Residual residual = new Residual(new Sequential(c1, new ReLU(), c2));
        Tensor x = Tensor.uniform(new Rng(8), -1f, 1f, 2, 2, 5, 4);
        assertThat(graph.forward(x).toArray()).containsExactly(residual.forward(x).toArray());
    }

    // ------------------------------------------------------------------------------------ named inputs and outputs

    @Test
    void namedInputsAndOutputsGoInAndComeOutByName() {
        Linear left = new Linear(3, 2, new Rng(9));
        Graph g = Graph.builder("left", "right")
                .node("features", left, "left")
                .op("both", GraphOp.concat(-1), "features", "right")
                .build("both", "features", "right");
        Tensor l = Tensor.uniform(new Rng(10), -1f, 1f, 4, 3);
        Tensor r = Tensor.uniform(new Rng(11), -1f, 1f, 4, 5);
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("right", r);
        in.put("left", l);
        LinkedHashMap<String, Tensor> out = g.forward(in);
        assertThat(out.keySet()).containsExactly("both", "features", "right");
        assertThat(out.get("features").toArray()).containsExactly(left.forward(l).toArray());
        assertThat(out.get("both").shape()).containsExactly(4, 7);
        assertThat(out.get("right")).isSameAs(r); // an input may be an output as it is

        assertFails(() -> g.forward(Map.of("left", l))).hasMessageContaining("takes inputs [left, right]")
                .hasMessageContaining("missing (or null): [right]");
        assertFails(() -> g.forward(Map.of("left", l, "right", r, "extra", r)))
                .hasMessageContaining("not inputs of this graph: [extra]");
        assertFails(() -> g.forward(l)).hasMessageContaining("inputs [left, right] and outputs [both, features, right]")
                .hasMessageContaining("forward(Map)");
        assertFails(() -> g.forward((Map<String, Tensor>) null)).hasMessageContaining("null");
    }

    @Test
    void aFailingNodeIsNamedWithTheShapesItGot() {
        Graph g = Graph.builder("x").node("fc", new Linear(3, 2, new Rng(1)), "x")
                .op("sum", GraphOp.ADD, "fc", "x").build("sum");
        assertFails(() -> g.forward(Tensor.zeros(2, 4))).hasMessageContaining("node 'fc' (Linear)")
                .hasMessageContaining("'x' [2, 4]");
        // [2, 2] + [2, 3] does not broadcast
        assertFails(() -> g.forward(Tensor.zeros(2, 3))).hasMessageContaining("node 'sum' (add)")
                .hasMessageContaining("'fc' [2, 2], 'x' [2, 3]");
    }

    // ------------------------------------------------------------------------------------ names, modes, printing

    @Test
    void stateDictNamesAreTheNodeNames() {
        Rng rng = new Rng(12);
        Linear shared = new Linear(3, 3, rng);
        Graph g = Graph.builder("x")
                .node("stem", new Linear(3, 3, rng), "x")
                .node("norm", new BatchNorm1d(3), "stem")
                .node("tied_a", shared, "norm")
                .node("tied_b", shared, "tied_a")
                .op("out", GraphOp.ADD, "tied_b", "stem")
                .build("out");
        assertThat(g.stateDict().keySet()).containsExactly("stem.weight", "stem.bias", "norm.weight", "norm.bias",
                "norm.running_mean", "norm.running_var", "norm.num_batches_tracked", "tied_a.weight", "tied_a.bias",
                "tied_b.weight", "tied_b.bias");
        // a module used by two nodes is one set of parameters, listed once (as in PyTorch)
        assertThat(g.namedParameters().keySet()).containsExactly("stem.weight", "stem.bias", "norm.weight",
                "norm.bias", "tied_a.weight", "tied_a.bias");
        assertThat(g.namedChildren().keySet()).containsExactly("stem", "norm", "tied_a", "tied_b");
        assertThat(g.toString()).contains("inputs: x")
                .contains("(stem): Linear(in_features=3, out_features=3, bias=True) <- x")
                .contains("(out): add <- tied_b, stem").contains("outputs: out");
    }

    @Test
    void trainAndEvalReachTheNodeModules() {
        BatchNorm1d bn = new BatchNorm1d(3);
        Dropout drop = new Dropout(0.5f, new Rng(13));
        Graph g = Graph.builder("x").node("bn", bn, "x").node("drop", drop, "bn").build("drop");
        assertThat(bn.isTraining()).isTrue();
        g.eval();
        assertThat(List.of(g.isTraining(), bn.isTraining(), drop.isTraining())).containsOnly(false);
        // in evaluation mode batch norm uses its running statistics (0 and 1) and dropout is the identity
        Tensor x = Tensor.uniform(new Rng(14), 1f, 2f, 4, 3);
        float[] y = g.forward(x).toArray();
        float[] xs = x.toArray();
        for (int i = 0; i < xs.length; i++) {
            assertThat(y[i]).isCloseTo(xs[i] / (float) Math.sqrt(1 + 1e-5), offset(1e-6f));
        }
        g.train();
        assertThat(List.of(g.isTraining(), bn.isTraining(), drop.isTraining())).containsOnly(true);
    }

    // ------------------------------------------------------------------------------------ builder errors

    @Test
    void aNodeReadingAnUnknownOrLaterValueIsRefused() {
        assertFails(() -> Graph.builder("x").node("a", new ReLU(), "x").node("c", new ReLU(), "b"))
                .hasMessageContaining("node 'c' reads 'b', which is not defined before it")
                .hasMessageContaining("topological order").hasMessageContaining("defined so far: x, a");
        assertFails(() -> Graph.builder("x").op("s", GraphOp.ADD, "x", "y"))
                .hasMessageContaining("node 's' reads 'y'");
        assertFails(() -> Graph.builder("x").node("a", new ReLU(), "a"))
                .hasMessageContaining("node 'a' reads 'a', which is not defined before it");
    }

    @Test
    void duplicateNamesAreRefused() {
        assertFails(() -> Graph.builder("x").node("a", new ReLU(), "x").node("a", new Tanh(), "x"))
                .hasMessageContaining("the name 'a' (node 1) is already defined by node 0");
        assertFails(() -> Graph.builder("x").node("x", new ReLU(), "x"))
                .hasMessageContaining("the name 'x' (node 0) is already defined by the graph input");
        assertFails(() -> Graph.builder("x", "x")).hasMessageContaining("the name 'x' (the graph input) is already");
        assertFails(() -> Graph.builder("x").node("a", new ReLU(), "x").build("a", "a"))
                .hasMessageContaining("output 'a' is listed twice");
    }

    @Test
    void namesWithADotOrEmptyAreRefused() {
        assertFails(() -> Graph.builder("x").node("layer1.conv", new ReLU(), "x"))
                .hasMessageContaining("the name 'layer1.conv' (node 0) contains '.'")
                .hasMessageContaining("state-dict names").hasMessageContaining("'_'");
        assertFails(() -> Graph.builder("in.put")).hasMessageContaining("'in.put' (the graph input) contains '.'");
        assertFails(() -> Graph.builder("x").node("", new ReLU(), "x"))
                .hasMessageContaining("node 0 has an empty name");
        assertFails(() -> Graph.builder("x").node(null, new ReLU(), "x")).hasMessageContaining("a null name");
        assertFails(Graph::builder).hasMessageContaining("at least one input name");
    }

    @Test
    void outputsMustBeDefinedAndEverythingMustReachOne() {
        assertFails(() -> Graph.builder("x").node("a", new ReLU(), "x").build("b"))
                .hasMessageContaining("output 'b' is never defined; defined: x, a");
        assertFails(() -> Graph.builder("x").node("a", new ReLU(), "x").build())
                .hasMessageContaining("at least one output");
        assertFails(() -> Graph.builder("x").node("a", new ReLU(), "x").node("dead", new Tanh(), "x")
                .node("deader", new Tanh(), "dead").build("a"))
                .hasMessageContaining("no output [a] depends on 'dead' (node 1), 'deader' (node 2)")
                .hasMessageContaining("remove them or make them outputs");
        assertFails(() -> Graph.builder("x", "unused").node("a", new ReLU(), "x").build("a"))
                .hasMessageContaining("no output [a] depends on 'unused' (the graph input)")
                .hasMessageContaining("remove it or make it an output");
    }

    @Test
    void opsCheckTheirInputCountAndNullsAreRefused() {
        assertFails(() -> Graph.builder("x").op("s", GraphOp.ADD, "x"))
                .hasMessageContaining("node 's': add takes 2 inputs, got 1 [x]");
        assertFails(() -> Graph.builder("x").op("c", GraphOp.concat(1)))
                .hasMessageContaining("concat(dim=1) takes at least 1 inputs, got 0");
        assertFails(() -> Graph.builder("x").op("s", null, "x")).hasMessageContaining("node 's' has a null op");
        assertFails(() -> Graph.builder("x").node("m", null, "x")).hasMessageContaining("node 'm' has a null module");
        assertFails(() -> GraphOp.MUL.apply(Tensor.zeros(1))).hasMessageContaining("mul: takes 2 inputs, got 1");
        assertThat(GraphOp.concat(1)).isEqualTo(GraphOp.concat(1)).isNotEqualTo(GraphOp.concat(0));
        assertThat(GraphOp.ADD.toString()).isEqualTo("add");
    }
}
