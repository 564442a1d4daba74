package org.siamese4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API versions of Winograd's transforms ({@link Kernels#winogradInputTransform},
 * {@link Kernels#winogradOutputTransform}, {@link Kernels#winogradGradientTransform},
 * {@link Kernels#winogradWeightOutputTransform}) and pooling ({@link Kernels#reluMaxOf4}). Each runs across many tiles
 * at once, whose values lie in contiguous rows, so L tiles take one vector load per row and no shuffles. (Along a
 * single row of tiles, 6 to 23 of them in the reference tower, a vector loop would spend most of its time in its
 * scalar tail.) The arithmetic and comparisons are the reference's ({@code ScalarKernels}) operation for
 * operation, so the results are identical to it bit for bit, positions and NaN included.
 *
 * <p>Each loop's last step is pulled back to end at the last value (when count is not a multiple of L): it
 * computes some values a second time, from the same inputs, so they come out the same. That needs the rows
 * written not to overlap the rows read, which the callers guarantee.
 */
final class VectorWinograd {
    private static final VectorSpecies<Float> S = VectorKernels.SPECIES;
    private static final int L = S.length();

    private VectorWinograd() {
    }

    /** See {@link Kernels#winogradInputTransform}. */
    static void inputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride, int count) {
        if (count < L) {
            KernelProvider.scalar().winogradInputTransform(in, in0, inStride, out, out0, outStride, count);
            return;
        }
        for (int step = 0; step < count; step += L) {
            int m = Math.min(step, count - L);
            FloatVector d0 = FloatVector.fromArray(S, in, in0 + m);
            FloatVector d1 = FloatVector.fromArray(S, in, in0 + inStride + m);
            FloatVector d2 = FloatVector.fromArray(S, in, in0 + 2 * inStride + m);
            FloatVector d3 = FloatVector.fromArray(S, in, in0 + 3 * inStride + m);
            FloatVector d4 = FloatVector.fromArray(S, in, in0 + 4 * inStride + m);
            FloatVector d5 = FloatVector.fromArray(S, in, in0 + 5 * inStride + m);
            d0.mul(4f).sub(d2.mul(5f)).add(d4).intoArray(out, out0 + m);
            d1.add(d2).mul(-4f).add(d3).add(d4).intoArray(out, out0 + outStride + m);
            d1.sub(d2).mul(4f).sub(d3).add(d4).intoArray(out, out0 + 2 * outStride + m);
            d3.sub(d1).mul(2f).sub(d2).add(d4).intoArray(out, out0 + 3 * outStride + m);
            d1.sub(d3).mul(2f).sub(d2).add(d4).intoArray(out, out0 + 4 * outStride + m);
            d1.mul(4f).sub(d3.mul(5f)).add(d5).intoArray(out, out0 + 5 * outStride + m);
        }
    }

    /** See {@link Kernels#winogradOutputTransform}. */
    static void outputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride, int count) {
        if (count < L) {
            KernelProvider.scalar().winogradOutputTransform(in, in0, inStride, out, out0, outStride, count);
            return;
        }
        for (int step = 0; step < count; step += L) {
            int t = Math.min(step, count - L);
            FloatVector q1 = FloatVector.fromArray(S, in, in0 + inStride + t);
            FloatVector q2 = FloatVector.fromArray(S, in, in0 + 2 * inStride + t);
            FloatVector q3 = FloatVector.fromArray(S, in, in0 + 3 * inStride + t);
            FloatVector q4 = FloatVector.fromArray(S, in, in0 + 4 * inStride + t);
            FloatVector sum12 = q1.add(q2);
            FloatVector diff12 = q1.sub(q2);
            FloatVector sum34 = q3.add(q4);
            FloatVector diff34 = q3.sub(q4);
            FloatVector.fromArray(S, in, in0 + t).add(sum12).add(sum34).intoArray(out, out0 + t);
            diff12.add(diff34.mul(2f)).intoArray(out, out0 + outStride + t);
            sum12.add(sum34.mul(4f)).intoArray(out, out0 + 2 * outStride + t);
            diff12.add(diff34.mul(8f)).add(FloatVector.fromArray(S, in, in0 + 5 * inStride + t))
                    .intoArray(out, out0 + 3 * outStride + t);
        }
    }

    /** See {@link Kernels#winogradGradientTransform}. */
    static void gradientTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                  int count) {
        if (count < L) {
            KernelProvider.scalar().winogradGradientTransform(in, in0, inStride, out, out0, outStride, count);
            return;
        }
        for (int step = 0; step < count; step += L) {
            int m = Math.min(step, count - L);
            FloatVector g0 = FloatVector.fromArray(S, in, in0 + m);
            FloatVector g1 = FloatVector.fromArray(S, in, in0 + inStride + m);
            FloatVector g2 = FloatVector.fromArray(S, in, in0 + 2 * inStride + m);
            FloatVector g3 = FloatVector.fromArray(S, in, in0 + 3 * inStride + m);
            FloatVector even = g0.add(g2);
            FloatVector odd = g1.add(g3);
            g0.mul(0.25f).intoArray(out, out0 + m);
            even.add(odd).mul(-WinogradConv.SIXTH).intoArray(out, out0 + outStride + m);
            even.sub(odd).mul(-WinogradConv.SIXTH).intoArray(out, out0 + 2 * outStride + m);
            FloatVector even4 = g0.mul(WinogradConv.TWENTY_FOURTH).add(g2.mul(WinogradConv.SIXTH));
            FloatVector odd4 = g1.mul(WinogradConv.TWELFTH).add(g3.mul(WinogradConv.THIRD));
            even4.add(odd4).intoArray(out, out0 + 3 * outStride + m);
            even4.sub(odd4).intoArray(out, out0 + 4 * outStride + m);
            g3.intoArray(out, out0 + 5 * outStride + m);
        }
    }

    /** See {@link Kernels#winogradWeightOutputTransform}. */
    static void weightOutputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                      int count) {
        if (count < L) {
            KernelProvider.scalar().winogradWeightOutputTransform(in, in0, inStride, out, out0, outStride, count);
            return;
        }
        for (int step = 0; step < count; step += L) {
            int m = Math.min(step, count - L);
            FloatVector p1 = FloatVector.fromArray(S, in, in0 + inStride + m);
            FloatVector p2 = FloatVector.fromArray(S, in, in0 + 2 * inStride + m);
            FloatVector p3 = FloatVector.fromArray(S, in, in0 + 3 * inStride + m);
            FloatVector p4 = FloatVector.fromArray(S, in, in0 + 4 * inStride + m);
            FloatVector sum12 = p1.add(p2);
            FloatVector sum34 = p3.add(p4);
            FloatVector.fromArray(S, in, in0 + m).add(sum12).add(sum34).intoArray(out, out0 + m);
            p1.sub(p2).add(p3.sub(p4).mul(2f)).intoArray(out, out0 + outStride + m);
            sum12.add(sum34.mul(4f)).add(FloatVector.fromArray(S, in, in0 + 5 * inStride + m))
                    .intoArray(out, out0 + 2 * outStride + m);
        }
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
