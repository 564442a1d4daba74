package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class AutogradTest {

    @Test
    void chainRuleThroughAWorkedExample() {
        // The example of docs/autograd.md: L = sum((w*x + b)^2)... kept to mul/add/sum so only core ops are used.
        Tensor x = Tensor.of(1f, 2f);
        Tensor w = Tensor.of(3f, -1f).requiresGrad(true);
        Tensor b = Tensor.of(0.5f).requiresGrad(true);
        Tensor y = w.mul(x).add(b);            // [3.5, -1.5]
        Tensor loss = y.mul(y).sum();          // 12.25 + 2.25
        assertThat(loss.item()).isEqualTo(14.5f);
        loss.backward();
        // dL/dw_i = 2 y_i x_i, dL/db = sum 2 y_i
        assertThat(w.grad().toArray()).containsExactly(7f, -6f);
        assertThat(b.grad().toArray()).containsExactly(4f);
        assertThat(x.grad()).isNull();
    }

    @Test
    void gradientsAccumulateAcrossBackwardCallsUntilZeroed() {
        Tensor w = Tensor.of(2f).requiresGrad(true);
        w.mul(3f).sum().backward();
        w.mul(3f).sum().backward();
        assertThat(w.grad().item()).isEqualTo(6f);
        w.zeroGrad();
        assertThat(w.grad()).isNull();
        w.mul(3f).sum().backward();
        assertThat(w.grad().item()).isEqualTo(3f);
    }

    @Test
    void sharedSubgraphIsWalkedOnce() {
        // y is used by two branches; the topological order must run y's backward after both have added in.
        Tensor x = Tensor.of(2f).requiresGrad(true);
        Tensor y = x.mul(x);                     // 4
        Tensor z = y.mul(3f).add(y.mul(y));      // 3y + y^2 -> dz/dy = 3 + 2y = 11, dy/dx = 2x = 4
        z.sum().backward();
        assertThat(x.grad().item()).isEqualTo(44f);
    }

    @Test
    void noGradRecordsNothingAndNests() {
        Tensor w = Tensor.of(1f).requiresGrad(true);
        try (var outer = Tensor.noGrad()) {
            try (var inner = Tensor.noGrad()) {
                assertThat(w.mul(2f).requiresGrad()).isFalse();
            }
            Tensor y = w.mul(2f);
            assertThat(y.requiresGrad()).isFalse();
            assertThat(y.isLeaf()).isTrue();
        }
        assertThat(w.mul(2f).requiresGrad()).isTrue();
    }

    @Test
    void noGradIsPerThread() throws Exception {
        Tensor w = Tensor.of(1f).requiresGrad(true);
        AtomicReference<Boolean> other = new AtomicReference<>();
        try (var scope = Tensor.noGrad()) {
            Thread t = new Thread(() -> other.set(w.mul(2f).requiresGrad()));
            t.start();
            t.join();
        }
        assertThat(other.get()).isTrue();
    }

    @Test
    void detachCutsTheGraphButSharesValues() {
        Tensor w = Tensor.of(3f).requiresGrad(true);
        Tensor d = w.mul(2f).detach();
        assertThat(d.requiresGrad()).isFalse();
        assertThat(d.item()).isEqualTo(6f);
        Tensor loss = w.mul(d).sum();     // d is a constant: dL/dw = 6
        loss.backward();
        assertThat(w.grad().item()).isEqualTo(6f);
    }

    @Test
    void graphIsReleasedAfterBackward() {
        Tensor w = Tensor.of(3f).requiresGrad(true);
        Tensor hidden = w.mul(2f);
        Tensor loss = hidden.sum();
        loss.backward();
        assertThat(hidden.grad()).as("intermediate gradients are freed").isNull();
        assertThatThrownBy(loss::backward).hasMessageContaining("already released");
    }

    @Test
    void retainGradKeepsAnIntermediateGradient() {
        Tensor w = Tensor.of(3f).requiresGrad(true);
        Tensor hidden = w.mul(2f).retainGrad();
        hidden.mul(hidden).sum().backward();
        assertThat(hidden.grad().item()).isEqualTo(12f);
    }

    @Test
    void backwardChecksItsArguments() {
        Tensor w = Tensor.ones(2).requiresGrad(true);
        assertThatThrownBy(() -> w.mul(2f).backward()).hasMessageContaining("scalar").hasMessageContaining("[2]");
        assertThatThrownBy(() -> w.mul(2f).backward(Tensor.ones(3))).hasMessageContaining("[3]")
                .hasMessageContaining("[2]");
        assertThatThrownBy(() -> Tensor.ones(1).mul(2f).backward()).hasMessageContaining("does not require grad");
        assertThatThrownBy(() -> w.mul(2f).requiresGrad(false)).hasMessageContaining("leaf");
    }

    @Test
    void deepGraphsDoNotOverflowTheStack() {
        Tensor x = Tensor.of(1f).requiresGrad(true);
        Tensor y = x;
        for (int i = 0; i < 20_000; i++) {
            y = y.mul(1f);
        }
        y.sum().backward();
        assertThat(x.grad().item()).isEqualTo(1f);
    }

    @Test
    void gradCheckCatchesAWrongGradient() {
        // A deliberately wrong "op": forward 2x, backward claims 3x. The checker must fail it.
        Tensor x = GradAssert.input(1, 3);
        GradCheck.Result r = GradCheck.check(in -> wrongDouble(in[0]), x);
        assertThat(r.passed()).isFalse();
        assertThat(r.analytic()).isNotCloseTo(r.numeric(), org.assertj.core.data.Offset.offset(0.1));
        assertThat(r.toString()).contains("FAILED");
    }

    private static Tensor wrongDouble(Tensor x) {
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < x.data.length; i++) {
            out.data[i] = 2 * x.data[i];
        }
        return out.recordOp("wrong", () -> {
            for (int i = 0; i < x.data.length; i++) {
                x.gradBuffer()[i] += 3 * out.grad[i];
            }
        }, x);
    }

    @Test
    void reductionsForwardAndGradients() {
        Tensor m = Tensor.of(new float[][] {{1, 5, 3}, {4, 2, 6}});
        assertThat(m.sum().item()).isEqualTo(21f);
        assertThat(m.mean().item()).isEqualTo(3.5f);
        assertThat(m.sum(0, false).toArray()).containsExactly(5f, 7f, 9f);
        assertThat(m.sum(1, true).shape()).containsExactly(2, 1);
        assertThat(m.mean(-1, false).toArray()).containsExactly(3f, 4f);
        assertThat(m.max().item()).isEqualTo(6f);
        assertThat(m.max(1, false).toArray()).containsExactly(5f, 6f);
        assertThat(m.argmax(0)).containsExactly(1, 0, 1);
        GradAssert.assertGradientsMatch(in -> in[0].sum(), GradAssert.input(1, 3, 5));
        GradAssert.assertGradientsMatch(in -> in[0].mean(), GradAssert.input(2, 3, 5));
        for (int d = -3; d < 3; d++) {
            int dim = d;
            GradAssert.assertGradientsMatch(in -> in[0].sum(dim, false), GradAssert.input(3, 2, 3, 5));
            GradAssert.assertGradientsMatch(in -> in[0].mean(dim, true), GradAssert.input(4, 2, 3, 5));
        }
        // distinct values far apart, so the +-1e-2 step never changes the winner
        Tensor distinct = Tensor.of(shuffled(30), 2, 3, 5)
                .requiresGrad(true);
        GradAssert.assertGradientsMatch(in -> in[0].max(), distinct);
        GradAssert.assertGradientsMatch(in -> in[0].max(1, false), distinct);
        GradAssert.assertGradientsMatch(in -> in[0].max(-1, true), distinct);
    }

    private static float[] shuffled(int n) {
        int[] p = new Rng(5).permutation(n);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = p[i] * 0.1f;
        }
        return v;
    }
}
