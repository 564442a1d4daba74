package org.siamese4j.siamese.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The update rule of the weight average on a tiny module (a 1x1 convolution and a batch norm): parameters move by
 * {@code s = d_t * s + (1 - d_t) * w} with the warmed-up decay, buffers are copied, and the count of updates drives
 * the warm-up.
 */
class WeightAverageTest {

    /** conv 1 -> 2 channels, 1x1, then batch norm: parameters conv.weight, conv.bias, bn.weight, bn.bias; buffers. */
    private static Sequential tiny() {
        return new Sequential(new Conv2d(1, 2, 1, 1, 0, new Rng(3)), new BatchNorm2d(2));
    }

    private static void setEvery(Sequential m, float value) {
        m.stateDict().values().forEach(t -> t.fill(value));
    }

    @Test
    void theDecayWarmsUpFromOneTenthTowardsTheGivenDecay() {
        WeightAverage average = new WeightAverage(tiny(), 0.99);
        assertThat(average.decayAt(0)).isEqualTo(0.1);
        assertThat(average.decayAt(1)).isEqualTo(2.0 / 11);
        assertThat(average.decayAt(8)).isEqualTo(0.5);
        assertThat(average.decayAt(890)).isEqualTo(891.0 / 900);              // 0.99, both ways
        assertThat(average.decayAt(1000)).isEqualTo(0.99);
        assertThat(new WeightAverage(tiny(), 0.5).decayAt(100)).isEqualTo(0.5);
    }

    @Test
    void parametersMoveByTheRuleAndBuffersAreCopied() {
        Sequential m = tiny();
        setEvery(m, 1f);                                    // the average starts at 1 everywhere
        WeightAverage average = new WeightAverage(m, 0.99);
        Map<String, Tensor> shadow = average.weights();
        assertThat(shadow.keySet()).containsExactlyElementsOf(m.stateDict().keySet());

        setEvery(m, 3f);                                    // a step moved every weight and statistic to 3
        average.update();                                   // d_0 = 0.1: 0.1 * 1 + 0.9 * 3 = 2.8
        setEvery(m, 5f);
        average.update();                                   // d_1 = 2/11: (2/11) * 2.8 + (9/11) * 5 = 4.6
        float d1 = (float) (2.0 / 11);
        float expected = d1 * (0.1f * 1f + 0.9f * 3f) + (float) (1 - 2.0 / 11) * 5f;

        assertThat(average.updates()).isEqualTo(2);
        for (String p : m.namedParameters().keySet()) {
            assertThat(shadow.get(p).data()).as(p).containsOnly(expected);
        }
        assertThat(expected).isCloseTo(4.6f, offset(1e-6f));
        for (String b : m.namedBuffers().keySet()) {        // running mean and variance, the batch counter
            assertThat(shadow.get(b).data()).as(b).containsOnly(5f);
        }
        assertThat(m.namedBuffers()).isNotEmpty();
    }

    @Test
    void theAverageIsItsOwnCopyNotAViewOfTheModel() {
        Sequential m = tiny();
        setEvery(m, 1f);
        WeightAverage average = new WeightAverage(m, 0.9);
        setEvery(m, 7f);
        assertThat(average.weights().values()).allSatisfy(t -> assertThat(t.data()).containsOnly(1f));
        average.weights().values().iterator().next().data()[0] = 9f;   // nor is the model a view of it
        assertThat(m.stateDict().values()).allSatisfy(t -> assertThat(t.data()).containsOnly(7f));
    }

    @Test
    void aDecayOutsideZeroToOneIsRefusedByName() {
        assertThatThrownBy(() -> new WeightAverage(tiny(), 1.0))
                .hasMessageContaining("decay must be in (0, 1), got 1.0");
        assertThatThrownBy(() -> new WeightAverage(tiny(), 0)).hasMessageContaining("got 0.0");
        assertThatThrownBy(() -> new WeightAverage(tiny(), Double.NaN)).hasMessageContaining("got NaN");
    }
}
