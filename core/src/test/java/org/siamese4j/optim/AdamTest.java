package org.siamese4j.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Tensor;

class AdamTest {
    private static final int STEPS = 10;

    /**
     * torch.optim.Adam / AdamW as written in their documentation, in double precision. Adam:
     * g += wd * w. AdamW: w -= lr * wd * w. Both then: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
     * w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
     */
    private static double[] reference(double lr, double beta1, double beta2, double eps, double weightDecay,
                                      boolean decoupled) {
        Quadratic q = new Quadratic();
        double[] w = Quadratic.start();
        double[] m = new double[w.length];
        double[] v = new double[w.length];
        for (int t = 1; t <= STEPS; t++) {
            double[] g = q.grad(w);
            for (int i = 0; i < w.length; i++) {
                double gi = g[i];
                if (decoupled) {
                    w[i] -= lr * weightDecay * w[i];
                } else {
                    gi += weightDecay * w[i];
                }
                m[i] = beta1 * m[i] + (1 - beta1) * gi;
                v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
                double mHat = m[i] / (1 - Math.pow(beta1, t));
                double vHat = v[i] / (1 - Math.pow(beta2, t));
                w[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
            }
        }
        return w;
    }

    private static float[] run(Adam opt) {
        Tensor w = opt.parameters().get(0);
        Quadratic q = new Quadratic();
        for (int t = 0; t < STEPS; t++) {
            opt.zeroGrad();
            q.backward(w);
            opt.step();
        }
        return w.toArray();
    }

    /**
     * Float32 against double over 10 steps of size ~lr = 0.05: Adam's step is close to lr * sign(g) and
     * each update carries a few ulps of rounding, so 2e-5 is a wide margin; a wrong bias correction or a
     * coupled-versus-decoupled mix-up changes the weights by 1e-3 or more.
     */
    private static void assertMatches(float[] actual, double[] expected) {
        for (int i = 0; i < expected.length; i++) {
            assertThat((double) actual[i]).as("w[%d]", i).isCloseTo(expected[i], within(2e-5));
        }
    }

    @Test
    void adamDefaultsBetas() {
        Adam opt = new Adam(List.of(Quadratic.parameter()), 0.05f);
        assertMatches(run(opt), reference(0.05, 0.9, 0.999, 1e-8, 0, false));
    }

    @Test
    void adamCustomBetasAndL2WeightDecay() {
        Adam opt = Adam.builder(List.of(Quadratic.parameter())).lr(0.05f).betas(0.8f, 0.99f).eps(1e-3f)
                .weightDecay(0.1f).build();
        assertMatches(run(opt), reference(0.05, 0.8, 0.99, 1e-3, 0.1, false));
    }

    @Test
    void adamWDecouplesWeightDecay() {
        AdamW opt = AdamW.builder(List.of(Quadratic.parameter())).lr(0.05f).weightDecay(0.3f).build();
        assertMatches(run(opt), reference(0.05, 0.9, 0.999, 1e-8, 0.3, true));
        // Decoupled and L2 decay really differ on this problem, so the test above tells them apart.
        double[] coupled = reference(0.05, 0.9, 0.999, 1e-8, 0.3, false);
        double[] decoupled = reference(0.05, 0.9, 0.999, 1e-8, 0.3, true);
        assertThat(Math.abs(coupled[2] - decoupled[2])).isGreaterThan(1e-3);
    }

    @Test
    void adamWDefaultWeightDecayIsOneHundredth() {
        AdamW opt = new AdamW(List.of(Quadratic.parameter()));
        assertThat(opt.weightDecay()).isEqualTo(1e-2f);
        assertThat(opt.learningRate()).isEqualTo(1e-3f);
        assertMatches(run(opt), reference(1e-3, 0.9, 0.999, 1e-8, 1e-2, true));
        assertThat(new Adam(List.of(Quadratic.parameter())).weightDecay()).isZero();
    }

    @Test
    void firstStepMovesEachWeightByLearningRate() {
        // With m and v bias-corrected, step 1 is lr * g / (|g| + eps): lr times the sign of g.
        Tensor w = Tensor.of(1f, -2f, 3f).requiresGrad(true);
        w.mul(Tensor.of(3f, -4f, 0.01f)).sum().backward();
        new Adam(List.of(w), 0.1f).step();
        assertThat(w.toArray()).containsExactly(new float[] {0.9f, -1.9f, 2.9f}, org.assertj.core.data.Offset.offset(1e-6f));
    }

    @Test
    void stateHoldsStepCountAndMoments() {
        Tensor w = Quadratic.parameter();
        Adam opt = new Adam(List.of(w), 0.05f);
        for (int t = 0; t < 3; t++) {
            opt.zeroGrad();
            new Quadratic().backward(w);
            opt.step();
        }
        Optimizer.ParamState s = opt.state().get(0);
        assertThat(s.step()).isEqualTo(3);
        assertThat(s.buffers().keySet()).containsExactly("exp_avg", "exp_avg_sq");
        assertThat(s.buffer("exp_avg")).hasSize(5);
        for (float v : s.buffer("exp_avg_sq")) {
            assertThat(v).isPositive();
        }
    }

    @Test
    void invalidSettingsFailNamingTheValue() {
        List<Tensor> p = List.of(Quadratic.parameter());
        assertThatThrownBy(() -> new Adam(p, -1e-3f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Adam").hasMessageContaining("learning rate").hasMessageContaining("-0.001");
        assertThatThrownBy(() -> Adam.builder(p).betas(1f, 0.999f).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("beta1").hasMessageContaining("1.0");
        assertThatThrownBy(() -> Adam.builder(p).betas(0.9f, -0.1f).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("beta2").hasMessageContaining("-0.1");
        assertThatThrownBy(() -> Adam.builder(p).eps(-1f).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("eps").hasMessageContaining("-1.0");
        assertThatThrownBy(() -> AdamW.builder(p).weightDecay(-0.01f).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("AdamW").hasMessageContaining("weight decay").hasMessageContaining("-0.01");
    }
}
