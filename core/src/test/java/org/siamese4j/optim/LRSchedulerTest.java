package org.siamese4j.optim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Tensor;

class LRSchedulerTest {

    private static SGD optimizer(float lr) {
        return new SGD(List.of(Tensor.zeros(2).requiresGrad(true)), lr);
    }

    @Test
    void stepLRDecaysEveryStepSizeEpochs() {
        SGD opt = optimizer(0.1f);
        StepLR sched = new StepLR(opt, 3, 0.5);
        for (int epoch = 0; epoch <= 10; epoch++) {
            double expected = 0.1 * Math.pow(0.5, Math.floor(epoch / 3.0));
            assertThat((double) sched.currentLr()).as("epoch %d", epoch).isCloseTo(expected, within(1e-8));
            assertThat(opt.learningRate()).isEqualTo(sched.currentLr());
            assertThat(sched.epoch()).isEqualTo(epoch);
            sched.step();
        }
        // Hand values: epochs 0-2 at 0.1, 3-5 at 0.05.
        StepLR fresh = new StepLR(optimizer(0.1f), 3, 0.5);
        fresh.setEpoch(2);
        assertThat(fresh.currentLr()).isEqualTo(0.1f);
        fresh.step();
        assertThat(fresh.currentLr()).isEqualTo(0.05f);
    }

    @Test
    void cosineAnnealingFollowsClosedForm() {
        SGD opt = optimizer(0.1f);
        CosineAnnealingLR sched = new CosineAnnealingLR(opt, 10, 0.001);
        for (int epoch = 0; epoch <= 15; epoch++) {
            double expected = 0.001 + (0.1 - 0.001) * (1 + Math.cos(Math.PI * epoch / 10)) / 2;
            assertThat((double) opt.learningRate()).as("epoch %d", epoch).isCloseTo(expected, within(1e-8));
            sched.step();
        }
        sched.setEpoch(0);
        assertThat(sched.currentLr()).isEqualTo(0.1f);
        sched.setEpoch(5);
        assertThat((double) sched.currentLr()).isCloseTo(0.0505, within(1e-8));
        sched.setEpoch(10);
        assertThat((double) opt.learningRate()).isCloseTo(0.001, within(1e-9));
    }

    @Test
    void warmupRisesLinearlyThenCosineDecaysToTheFloor() {
        SGD opt = optimizer(0.1f);
        WarmupCosineLR sched = new WarmupCosineLR(opt, 4, 14, 0.001);
        // Hand values: warm-up 0.1 * (t + 1) / 5 for t = 0..3, then the base rate at t = 4.
        double[] warm = {0.02, 0.04, 0.06, 0.08, 0.1};
        for (int t = 0; t < warm.length; t++) {
            assertThat((double) opt.learningRate()).as("step %d", t).isCloseTo(warm[t], within(1e-8));
            sched.step();
        }
        sched.setEpoch(9);                                  // half-way through the 10 decay steps
        assertThat((double) opt.learningRate()).isCloseTo(0.0505, within(1e-8));
        sched.setEpoch(14);
        assertThat((double) opt.learningRate()).isCloseTo(0.001, within(1e-9));
        sched.setEpoch(40);                                 // past the end it stays at the floor
        assertThat((double) opt.learningRate()).isCloseTo(0.001, within(1e-9));
        assertThatThrownBy(() -> new WarmupCosineLR(optimizer(0.1f), 5, 5, 0)).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("warmup 5").hasMessageContaining("total 5");
    }

    @Test
    void resumingAtAnEpochGivesTheSameRate() {
        CosineAnnealingLR a = new CosineAnnealingLR(optimizer(0.2f), 7);
        for (int i = 0; i < 4; i++) {
            a.step();
        }
        CosineAnnealingLR b = new CosineAnnealingLR(optimizer(0.2f), 7);
        b.setEpoch(4);
        assertThat(b.currentLr()).isEqualTo(a.currentLr());
        assertThat(b.optimizer().learningRate()).isEqualTo(a.optimizer().learningRate());
    }

    @Test
    void invalidSettingsFail() {
        assertThatThrownBy(() -> new StepLR(optimizer(0.1f), 0, 0.5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("step size").hasMessageContaining("0");
        assertThatThrownBy(() -> new StepLR(optimizer(0.1f), 2, -0.5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-0.5");
        assertThatThrownBy(() -> new CosineAnnealingLR(optimizer(0.1f), -3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tMax").hasMessageContaining("-3");
        assertThatThrownBy(() -> new StepLR(optimizer(0.1f), 2).setEpoch(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-1");
    }
}
