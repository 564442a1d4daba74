package org.siamese4j.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Tensor;

/** Behaviour common to every optimiser: skipping, zeroGrad, learning-rate changes, state and validation. */
class OptimizerTest {

    @Test
    void parametersWithoutGradientAreSkipped() {
        Tensor used = Tensor.of(1f, 2f).requiresGrad(true);
        Tensor unused = Tensor.of(5f, 6f).requiresGrad(true);
        for (Optimizer opt : List.<Optimizer>of(new SGD(List.of(used, unused), 0.1f, 0.9f),
                new Adam(List.of(used, unused), 0.1f), new AdamW(List.of(used, unused), 0.1f))) {
            opt.zeroGrad();
            used.mul(3f).sum().backward();
            opt.step();
            // AdamW's decay would move the unused weights too if they were not skipped.
            assertThat(unused.toArray()).as(opt.toString()).containsExactly(5f, 6f);
            assertThat(opt.state()).as(opt.toString()).containsOnlyKeys(0);
        }
    }

    @Test
    void zeroGradClearsGradients() {
        Tensor w = Tensor.of(1f, 2f).requiresGrad(true);
        SGD opt = new SGD(List.of(w), 0.1f);
        w.mul(3f).sum().backward();
        assertThat(w.grad()).isNotNull();
        opt.zeroGrad();
        assertThat(w.grad()).isNull();
    }

    @Test
    void gradientsAccumulateWithoutZeroGrad() {
        Tensor w = Tensor.of(0f).requiresGrad(true);
        SGD opt = new SGD(List.of(w), 1f);
        w.mul(2f).sum().backward();
        opt.step();                                  // w = -2
        w.mul(2f).sum().backward();                  // grad is now 4: PyTorch semantics, no implicit zeroing
        opt.step();
        assertThat(w.item()).isEqualTo(-6f);
    }

    @Test
    void learningRateChangeAppliesToTheNextStep() {
        Tensor w = Tensor.of(0f).requiresGrad(true);
        SGD opt = new SGD(List.of(w), 1f);
        opt.setLearningRate(0.25f);
        assertThat(opt.learningRate()).isEqualTo(0.25f);
        w.mul(2f).sum().backward();
        opt.step();
        assertThat(w.item()).isEqualTo(-0.5f);
        assertThatThrownBy(() -> opt.setLearningRate(-1f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1.0");
    }

    @Test
    void restoredStateContinuesExactly() {
        Quadratic q = new Quadratic();
        Tensor a = Quadratic.parameter();
        Adam first = new Adam(List.of(a), 0.05f);
        for (int t = 0; t < 3; t++) {
            first.zeroGrad();
            q.backward(a);
            first.step();
        }
        // A "checkpoint": weights plus optimiser state, restored into fresh objects.
        Tensor b = Tensor.of(a.toArray()).requiresGrad(true);
        Adam second = new Adam(List.of(b), 0.05f);
        Optimizer.ParamState saved = first.state().get(0);
        second.restoreState(0, saved.step(), saved.buffers());
        for (int t = 0; t < 2; t++) {
            first.zeroGrad();
            q.backward(a);
            first.step();
            second.zeroGrad();
            q.backward(b);
            second.step();
        }
        assertThat(b.toArray()).containsExactly(a.toArray());
        assertThat(second.state().get(0).step()).isEqualTo(5);
    }

    @Test
    void restoreStateValidates() {
        Adam opt = new Adam(List.of(Tensor.zeros(3).requiresGrad(true)));
        assertThatThrownBy(() -> opt.restoreState(1, 0, Map.of())).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("index 1");
        assertThatThrownBy(() -> opt.restoreState(0, 1, Map.of("exp_avg", new float[3])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exp_avg_sq");
        assertThatThrownBy(() -> opt.restoreState(0, 1, Map.of("exp_avg", new float[3], "exp_avg_sq", new float[2])))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 values");
    }

    @Test
    void parameterListIsValidated() {
        assertThatThrownBy(() -> new SGD(List.of(), 0.1f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("empty");
        Tensor frozen = Tensor.zeros(2);
        assertThatThrownBy(() -> new Adam(List.of(frozen))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("requiresGrad");
        Tensor w = Tensor.zeros(2).requiresGrad(true);
        assertThatThrownBy(() -> new AdamW(List.of(w, w))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("more than once");
    }
}
