package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.Function;

/** Test helper: runs {@link GradCheck} and fails with its report. */
final class GradAssert {
    private GradAssert() {
    }

    static void assertGradientsMatch(Function<Tensor[], Tensor> f, Tensor... inputs) {
        GradCheck.Result r = GradCheck.check(f, inputs);
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    /** A leaf of the given shape with values in [-1, 1) that needs a gradient. */
    static Tensor input(long seed, int... shape) {
        return Tensor.uniform(new Rng(seed), -1f, 1f, shape).requiresGrad(true);
    }

    /** Like {@link #input} but every |value| is at least {@code gap}: keeps kinks out of reach of the step. */
    static Tensor inputAwayFromZero(long seed, float gap, int... shape) {
        Tensor t = Tensor.uniform(new Rng(seed), -1f, 1f, shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = Math.copySign(gap + Math.abs(d[i]) * (1f - gap), d[i]);
        }
        return t.requiresGrad(true);
    }
}
