package org.siamese4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API version of {@link Kernels#reluMaxOf4}: Winograd's pooling runs across the tiles of a band, whose
 * window values lie in four contiguous arrays, so L windows take four vector loads and no shuffles. (Along a
 * single row of tiles, 6 to 23 of them in the reference tower, a vector loop would spend most of its time in its
 * scalar tail.) The comparisons are the reference's ({@code ScalarKernels.reluMaxOf4}), so the results are
 * identical to it bit for bit, positions and NaN included.
 */
final class VectorWinograd {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private VectorWinograd() {
    }

    /** See {@link Kernels#reluMaxOf4}. */
    static void reluMaxOf4(float[] v, int first, int second, int third, int fourth, int n, float bias, float[] out,
                           int outOff, float[] where) {
        if (n < L) {
            KernelProvider.scalar().reluMaxOf4(v, first, second, third, fourth, n, bias, out, outOff, where);
            return;
        }
        FloatVector zero = FloatVector.zero(S);
        // The last step is pulled back to end at the last tile: the windows it repeats get the same values.
        for (int step = 0; step < n; step += L) {
            int t = Math.min(step, n - L);
            FloatVector best = FloatVector.fromArray(S, v, first + t).add(bias).max(zero);   // NaN stays NaN
            FloatVector position = zero;
            FloatVector value = FloatVector.fromArray(S, v, second + t).add(bias).max(zero);
            VectorMask<Float> take = value.compare(VectorOperators.GT, best)
                    .or(value.compare(VectorOperators.NE, value));
            best = best.blend(value, take);
            position = position.blend(1f, take);
            value = FloatVector.fromArray(S, v, third + t).add(bias).max(zero);
            take = value.compare(VectorOperators.GT, best).or(value.compare(VectorOperators.NE, value));
            best = best.blend(value, take);
            position = position.blend(2f, take);
            value = FloatVector.fromArray(S, v, fourth + t).add(bias).max(zero);
            take = value.compare(VectorOperators.GT, best).or(value.compare(VectorOperators.NE, value));
            best = best.blend(value, take);
            position = position.blend(3f, take);
            best.intoArray(out, outOff + t);
            if (where != null) {
                position.blend(-1f, best.compare(VectorOperators.GT, 0f).not()).intoArray(where, outOff + t);
            }
        }
    }
}
