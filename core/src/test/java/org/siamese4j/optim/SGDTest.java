package org.siamese4j.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Tensor;

class SGDTest {
    private static final int STEPS = 8;

    /**
     * torch.optim.SGD as written in its documentation, in double precision:
     * g += wd * w; b = g on the first step, else b = mu * b + (1 - tau) * g;
     * g = nesterov ? g + mu * b : b; w -= lr * g.
     */
    private static double[] reference(double lr, double momentum, double dampening, double weightDecay,
                                      boolean nesterov) {
        Quadratic q = new Quadratic();
        double[] w = Quadratic.start();
        double[] buf = new double[w.length];
        for (int t = 1; t <= STEPS; t++) {
            double[] g = q.grad(w);
            for (int i = 0; i < w.length; i++) {
                double gi = g[i] + weightDecay * w[i];
                if (momentum != 0) {
                    buf[i] = t == 1 ? gi : momentum * buf[i] + (1 - dampening) * gi;
                    gi = nesterov ? gi + momentum * buf[i] : buf[i];
                }
                w[i] -= lr * gi;
            }
        }
        return w;
    }

    private static float[] run(SGD.Builder settings, Tensor w) {
        SGD opt = settings.build();
        Quadratic q = new Quadratic();
        for (int t = 0; t < STEPS; t++) {
            opt.zeroGrad();
            q.backward(w);
            opt.step();
        }
        return w.toArray();
    }

    /**
     * Float32 against double over 8 steps on values of order one: each step adds a few ulps (~1e-7) of
     * rounding, so 1e-5 is a wide margin, while a wrong formula (dampening on the first step, Nesterov's
     * extra term missing) moves the weights by 1e-2 or more.
     */
    private static void assertMatches(float[] actual, double[] expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("w[%d]", i).isCloseTo(expected[i], within(1e-5));
        }
    }

    @Test
    void plain() {
        Tensor w = Quadratic.parameter();
        assertMatches(run(SGD.builder(List.of(w)).lr(0.1f), w), reference(0.1, 0, 0, 0, false));
    }

    @Test
    void momentumWithDampening() {
        Tensor w = Quadratic.parameter();
        assertMatches(run(SGD.builder(List.of(w)).lr(0.05f).momentum(0.9f).dampening(0.3f), w),
                reference(0.05, 0.9, 0.3, 0, false));
    }

    @Test
    void nesterov() {
        Tensor w = Quadratic.parameter();
        assertMatches(run(SGD.builder(List.of(w)).lr(0.05f).momentum(0.8f).nesterov(true), w),
                reference(0.05, 0.8, 0, 0, true));
    }

    @Test
    void weightDecay() {
        Tensor w = Quadratic.parameter();
        assertMatches(run(SGD.builder(List.of(w)).lr(0.1f).weightDecay(0.2f), w), reference(0.1, 0, 0, 0.2, false));
        Tensor w2 = Quadratic.parameter();
        assertMatches(run(SGD.builder(List.of(w2)).lr(0.05f).momentum(0.9f).weightDecay(0.1f), w2),
                reference(0.05, 0.9, 0, 0.1, false));
    }

    @Test
    void oneHandComputedStep() {
        Tensor w = Tensor.of(1f, -2f).requiresGrad(true);
        w.mul(Tensor.of(3f, 4f)).sum().backward();          // grad = (3, 4)
        new SGD(List.of(w), 0.5f).step();
        assertThat(w.toArray()).containsExactly(1f - 1.5f, -2f - 2f);
    }

    @Test
    void momentumBufferIsExposedAsState() {
        Tensor w = Quadratic.parameter();
        SGD opt = new SGD(List.of(w), 0.1f, 0.9f);
        new Quadratic().backward(w);
        float[] grad = w.grad().toArray();
        opt.step();
        Optimizer.ParamState s = opt.state().get(0);
        assertThat(s.step()).isEqualTo(1);
        assertThat(s.buffers().keySet()).containsExactly("momentum_buffer");
        // The first step stores the gradient itself.
        assertThat(s.buffer("momentum_buffer")).containsExactly(grad);
        SGD plain = new SGD(List.of(Quadratic.parameter()), 0.1f);
        plain.parameters().get(0).mul(2f).sum().backward();
        plain.step();
        assertThat(plain.state().get(0).buffers()).isEmpty();
    }

    @Test
    void invalidSettingsFailNamingTheValue() {
        List<Tensor> p = List.of(Quadratic.parameter());
        assertThatThrownBy(() -> new SGD(p, -0.1f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("learning rate").hasMessageContaining("-0.1");
        assertThatThrownBy(() -> new SGD(p, Float.NaN)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NaN");
        assertThatThrownBy(() -> new SGD(p, 0.1f, -0.5f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("momentum").hasMessageContaining("-0.5");
        assertThatThrownBy(() -> SGD.builder(p).weightDecay(-1f).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("weight decay").hasMessageContaining("-1.0");
        assertThatThrownBy(() -> SGD.builder(p).nesterov(true).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Nesterov").hasMessageContaining("momentum 0.0");
        assertThatThrownBy(() -> SGD.builder(p).momentum(0.9f).dampening(0.1f).nesterov(true).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Nesterov").hasMessageContaining("dampening 0.1");
    }

    @Test
    void builderHasPyTorchDefaults() {
        SGD opt = SGD.builder(List.of(Quadratic.parameter())).build();
        assertThat(opt.learningRate()).isEqualTo(1e-3f);
        assertThat(opt.momentum()).isZero();
        assertThat(opt.dampening()).isZero();
        assertThat(opt.weightDecay()).isZero();
        assertThat(opt.nesterov()).isFalse();
    }
}
