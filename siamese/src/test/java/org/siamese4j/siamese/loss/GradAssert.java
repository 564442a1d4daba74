package org.siamese4j.siamese.loss;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.Function;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Test helper for the siamese module (core's test helper of the same name is not visible here): runs
 * {@link GradCheck} with its default tolerances and fails with its report. Public so the distance tests in the
 * parent package can use it too.
 */
public final class GradAssert {
    private GradAssert() {
    }

    public static void assertGradientsMatch(Function<Tensor[], Tensor> f, Tensor... inputs) {
        GradCheck.Result r = GradCheck.check(f, inputs);
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    /** A leaf of the given shape with values in [-1, 1) that needs a gradient. */
    public static Tensor input(long seed, int... shape) {
        return Tensor.uniform(new Rng(seed), -1f, 1f, shape).requiresGrad(true);
    }

    /** A leaf with values in [low, high) that needs a gradient. */
    public static Tensor uniform(long seed, float low, float high, int... shape) {
        return Tensor.uniform(new Rng(seed), low, high, shape).requiresGrad(true);
    }

    /** Every element of every tensor is finite (no NaN, no infinity). */
    public static void assertAllFinite(String what, float[] values) {
        for (int i = 0; i < values.length; i++) {
            assertThat(Float.isFinite(values[i])).as(what + "[" + i + "] = " + values[i] + " is not finite").isTrue();
        }
    }
}
