package org.siamese4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API version of {@link WinogradConv#poolOutput}, behind {@link VectorKernels#winogradReluMaxPool2}.
 *
 * <p>Every tile's outputs depend only on its own 16 products, and for one output channel the products of a band's
 * tiles are contiguous in each M[xi]: so the loop runs over L tiles at a time, across rows of tiles, with 16
 * vector loads and no shuffles. (Along a single row of tiles, 12 to 46 of them in the reference tower, a vector
 * loop would spend most of its time in its scalar tail.) With an even output width a band's tiles are exactly its
 * pooled values, in the same order; with an odd one, each row has one tile more than pooled values, so the row
 * is pooled into a scratch row and copied without its last value.
 *
 * <p>The arithmetic is the reference's, operation for operation (Java does not fuse or reorder float additions),
 * and the pooling uses the same comparisons, so the results are identical to it bit for bit.
 */
final class VectorWinograd {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Per-thread scratch: pooled values and argmax positions (as floats) of one output channel's tiles. */
    private static final class Scratch {
        float[] values = new float[0];
        float[] where = new float[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private VectorWinograd() {
    }

    /** See {@link Kernels#winogradReluMaxPool2}. */
    static void poolOutput(float[] m, int outChannels, int h, int w, int ty0, int ty1, float[] bias, float[] pooled,
                           int pooledOff, byte[] argmax) {
        int tilesW = (w + 1) / 2;
        int bandTiles = (ty1 - ty0) * tilesW;
        int pooledH = h / 2;
        int pooledW = w / 2;
        int rows = Math.min(ty1, pooledH) - ty0;
        int tiles = rows * tilesW;             // the tiles of the band's pooled rows: the first ones of each M[xi]
        if (tiles < L) {
            WinogradConv.poolOutput(m, outChannels, h, w, ty0, ty1, bias, pooled, pooledOff, argmax);
            return;
        }
        int mSize = outChannels * bandTiles;
        boolean inPlace = pooledW == tilesW;    // even width: tile t is pooled value t
        Scratch s = SCRATCH.get();
        if (s.values.length < tiles) {
            s.values = new float[tiles];
            s.where = new float[tiles];
        }
        float[] where = argmax == null ? null : s.where;
        for (int o = 0; o < outChannels; o++) {
            float b = bias == null ? 0f : bias[o];
            int dst = pooledOff + (o * pooledH + ty0) * pooledW;
            float[] values = inPlace ? pooled : s.values;
            int valuesOff = inPlace ? dst : 0;
            // The last step is pulled back to end at the last tile: the tiles it repeats get the same values.
            for (int t = 0; t < tiles; t += L) {
                int t0 = Math.min(t, tiles - L);
                poolTiles(m, mSize, o * bandTiles + t0, b, values, valuesOff + t0, where, t0);
            }
            if (!inPlace) {
                for (int r = 0; r < rows; r++) {
                    System.arraycopy(values, r * tilesW, pooled, dst + r * pooledW, pooledW);
                }
            }
            if (argmax != null) {
                for (int r = 0; r < rows; r++) {
                    for (int x = 0; x < pooledW; x++) {
                        argmax[dst + r * pooledW + x] = (byte) where[r * tilesW + x];
                    }
                }
            }
        }
    }

    /**
     * Tiles q .. q+L-1 of one channel's products (M[xi] at m[xi * mSize + q]): their 2x2 outputs, ReLU and max,
     * to values[at ..] and, when where is not null, the maximum's position 0..3 (or -1) to where[whereAt ..].
     */
    private static void poolTiles(float[] m, int mSize, int q, float b, float[] values, int at, float[] where,
                                  int whereAt) {
        // r = A^T q: top j = q0j + q1j + q2j, bottom j = q1j - q2j - q3j, with qij = M[4i + j]
        FloatVector top0 = load(m, 0, mSize, q).add(load(m, 4, mSize, q)).add(load(m, 8, mSize, q));
        FloatVector top1 = load(m, 1, mSize, q).add(load(m, 5, mSize, q)).add(load(m, 9, mSize, q));
        FloatVector top2 = load(m, 2, mSize, q).add(load(m, 6, mSize, q)).add(load(m, 10, mSize, q));
        FloatVector top3 = load(m, 3, mSize, q).add(load(m, 7, mSize, q)).add(load(m, 11, mSize, q));
        FloatVector bottom0 = load(m, 4, mSize, q).sub(load(m, 8, mSize, q)).sub(load(m, 12, mSize, q));
        FloatVector bottom1 = load(m, 5, mSize, q).sub(load(m, 9, mSize, q)).sub(load(m, 13, mSize, q));
        FloatVector bottom2 = load(m, 6, mSize, q).sub(load(m, 10, mSize, q)).sub(load(m, 14, mSize, q));
        FloatVector bottom3 = load(m, 7, mSize, q).sub(load(m, 11, mSize, q)).sub(load(m, 15, mSize, q));
        // Y = r A (+ b): left = r0 + r1 + r2, right = r1 - r2 - r3 of each row of r
        FloatVector topLeft = top0.add(top1).add(top2).add(b);
        FloatVector topRight = top1.sub(top2).sub(top3).add(b);
        FloatVector bottomLeft = bottom0.add(bottom1).add(bottom2).add(b);
        FloatVector bottomRight = bottom1.sub(bottom2).sub(bottom3).add(b);
        // ReLU and max as ScalarKernels.reluMaxOf4: the first maximum wins, a NaN replaces the best so far
        FloatVector zero = FloatVector.zero(S);
        FloatVector best = topLeft.max(zero);
        FloatVector position = zero;
        FloatVector v = topRight.max(zero);
        VectorMask<Float> take = v.compare(VectorOperators.GT, best).or(v.compare(VectorOperators.NE, v));
        best = best.blend(v, take);
        position = position.blend(1f, take);
        v = bottomLeft.max(zero);
        take = v.compare(VectorOperators.GT, best).or(v.compare(VectorOperators.NE, v));
        best = best.blend(v, take);
        position = position.blend(2f, take);
        v = bottomRight.max(zero);
        take = v.compare(VectorOperators.GT, best).or(v.compare(VectorOperators.NE, v));
        best = best.blend(v, take);
        position = position.blend(3f, take);
        best.intoArray(values, at);
        if (where != null) {
            position.blend(-1f, best.compare(VectorOperators.GT, 0f).not()).intoArray(where, whereAt);
        }
    }

    private static FloatVector load(float[] m, int xi, int mSize, int q) {
        return FloatVector.fromArray(S, m, xi * mSize + q);
    }
}
