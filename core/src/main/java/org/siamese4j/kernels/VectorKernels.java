package org.siamese4j.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Kernels on the JDK Vector API: each loop is a SIMD body over {@link #SPECIES} lanes plus a scalar tail.
 * Loaded only by {@link KernelProvider}, and only after it has seen the {@code jdk.incubator.vector} module,
 * so this class never fails to link. Kernels not overridden here are the scalar reference ones: they are
 * memory-bound index shuffles that SIMD does not speed up in this simple form.
 */
final class VectorKernels extends ScalarKernels {
    /**
     * The vector shape of every Vector API kernel: the machine's widest ({@code FloatVector.SPECIES_PREFERRED}),
     * or 256 or 512 bits when {@code -Dsiamese4j.vector.bits} says so (to compare the two on one machine, and to
     * test both paths). A constant, so the JIT compiles only the shape in use.
     */
    static final VectorSpecies<Float> SPECIES = species(KernelProvider.vectorBits());
    private static final int LANES = SPECIES.length();
    /** Products with fewer rows than this (matrix-vector-like) skip packing. */
    private static final int PACKED_MIN_ROWS = 4;
    /** Products with fewer multiply-adds than this skip packing. */
    private static final long PACKED_MIN_WORK = 16L * 16 * 16;
    /** Pooling outputs above which the planes are split across threads. */
    private static final long POOL_PARALLEL_OUTPUTS = 1L << 18;

    @Override
    public String name() {
        return "vector-" + SPECIES.vectorBitSize();
    }

    private static VectorSpecies<Float> species(int bits) {
        switch (bits) {
            case 256:
                return FloatVector.SPECIES_256;
            case 512:
                return FloatVector.SPECIES_512;
            default:
                return FloatVector.SPECIES_PREFERRED;
        }
    }

    // ===================================================================================== matrix multiply

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, boolean accumulate) {
        GemmChecks.check(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff);
        if (m >= PACKED_MIN_ROWS && (long) m * n * k >= PACKED_MIN_WORK) {
            VectorGemm.gemm(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff, accumulate);
            return;
        }
        // Small or very short products: packing would cost more than the multiply-adds it organises.
        if (transB) {
            gemmDotRows(transA, m, n, k, a, aOff, b, bOff, c, cOff, accumulate);
            return;
        }
        // C row i += A[i, p] * B row p: broadcast one A value, FMA along a contiguous row of B.
        int upper = SPECIES.loopBound(n);
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * n;
            if (!accumulate) {
                java.util.Arrays.fill(c, cRow, cRow + n, 0f);
            }
            for (int p = 0; p < k; p++) {
                float aip = transA ? a[aOff + p * m + i] : a[aOff + i * k + p];
                FloatVector av = FloatVector.broadcast(SPECIES, aip);
                int bRow = bOff + p * n;
                int j = 0;
                for (; j < upper; j += LANES) {
                    FloatVector cv = FloatVector.fromArray(SPECIES, c, cRow + j);
                    av.fma(FloatVector.fromArray(SPECIES, b, bRow + j), cv).intoArray(c, cRow + j);
                }
                for (; j < n; j++) {
                    c[cRow + j] += aip * b[bRow + j];
                }
            }
        }
    }

    /** The micro-kernel's row panels: its A operand, packed. */
    @Override
    public int gemmPanelRows() {
        return VectorGemm.MR;
    }

    @Override
    public void gemmPackedA(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        GemmChecks.checkPackedA(m, n, k, VectorGemm.MR, a, aOff, b, bOff, c, cOff);
        VectorGemm.gemmPackedA(m, n, k, a, aOff, b, bOff, c, cOff);
    }

    @Override
    public void reluMaxOf4(float[] v, int first, int second, int third, int fourth, int n, float bias, float[] out,
                           int outOff, float[] where) {
        VectorWinograd.reluMaxOf4(v, first, second, third, fourth, n, bias, out, outOff, where);
    }

    @Override
    public void winogradInputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                       int count) {
        VectorWinograd.inputTransform(in, in0, inStride, out, out0, outStride, count);
    }

    @Override
    public void winogradOutputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                        int count) {
        VectorWinograd.outputTransform(in, in0, inStride, out, out0, outStride, count);
    }

    @Override
    public void winogradGradientTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                          int count) {
        VectorWinograd.gradientTransform(in, in0, inStride, out, out0, outStride, count);
    }

    @Override
    public void winogradWeightOutputTransform(float[] in, int in0, int inStride, float[] out, int out0,
                                              int outStride, int count) {
        VectorWinograd.weightOutputTransform(in, in0, inStride, out, out0, outStride, count);
    }

    /**
     * B transposed: C[i, j] is the dot product of row i of op(A) with row j of B (both length k). Eight rows of
     * B at a time (the last few one by one): each load of A's row then feeds eight multiply-adds, and the eight
     * independent accumulators hide the multiply-add latency that a single running sum waits on at every step.
     * For a dense layer on one input (a matrix-vector product) this is the whole cost, and it is bound by
     * reading B once.
     */
    private void gemmDotRows(boolean transA, int m, int n, int k, float[] a, int aOff, float[] b, int bOff,
                             float[] c, int cOff, boolean accumulate) {
        float[] gathered = transA ? new float[k] : null;
        for (int i = 0; i < m; i++) {
            float[] x = a;
            int xOff = aOff + i * k;
            if (transA) {
                for (int p = 0; p < k; p++) {
                    gathered[p] = a[aOff + p * m + i];
                }
                x = gathered;
                xOff = 0;
            }
            int cRow = cOff + i * n;
            int j = 0;
            for (; j + 8 <= n; j += 8) {
                dotEightRows(x, xOff, b, bOff + j * k, k, c, cRow + j, accumulate);
            }
            for (; j < n; j++) {
                float d = dotFloat(x, xOff, b, bOff + j * k, k);
                c[cRow + j] = accumulate ? c[cRow + j] + d : d;
            }
        }
    }

    /**
     * out[outOff + r] (+)= x . y[yOff + r*n ..] for the eight consecutive rows r = 0..7 of y, each of length n: each
     * row's sum exactly as {@link #dotFloat} makes it. Eight streams of B in flight instead of four keep more
     * memory reads under way: the reference tower's dense layer at batch 1 (20 MB of weights) got about a quarter
     * faster on AMD Zen 5 (benchmarks.md, 2026-12-07).
     */
    private static void dotEightRows(float[] x, int xOff, float[] y, int yOff, int n, float[] out, int outOff,
                                     boolean accumulate) {
        FloatVector acc0 = FloatVector.zero(SPECIES);
        FloatVector acc1 = acc0;
        FloatVector acc2 = acc0;
        FloatVector acc3 = acc0;
        FloatVector acc4 = acc0;
        FloatVector acc5 = acc0;
        FloatVector acc6 = acc0;
        FloatVector acc7 = acc0;
        int upper = SPECIES.loopBound(n);
        int i = 0;
        for (; i < upper; i += LANES) {
            FloatVector xv = FloatVector.fromArray(SPECIES, x, xOff + i);
            acc0 = xv.fma(FloatVector.fromArray(SPECIES, y, yOff + i), acc0);
            acc1 = xv.fma(FloatVector.fromArray(SPECIES, y, yOff + n + i), acc1);
            acc2 = xv.fma(FloatVector.fromArray(SPECIES, y, yOff + 2 * n + i), acc2);
            acc3 = xv.fma(FloatVector.fromArray(SPECIES, y, yOff + 3 * n + i), acc3);
            acc4 = xv.fma(FloatVector.fromArray(SPECIES, y, yOff + 4 * n + i), acc4);
            acc5 = xv.fma(FloatVector.fromArray(SPECIES, y, yOff + 5 * n + i), acc5);
            acc6 = xv.fma(FloatVector.fromArray(SPECIES, y, yOff + 6 * n + i), acc6);
            acc7 = xv.fma(FloatVector.fromArray(SPECIES, y, yOff + 7 * n + i), acc7);
        }
        float[] sums = {sumInOrder(acc0), sumInOrder(acc1), sumInOrder(acc2), sumInOrder(acc3), sumInOrder(acc4),
            sumInOrder(acc5), sumInOrder(acc6), sumInOrder(acc7)};
        for (int r = 0; r < 8; r++) {
            float s = sums[r];
            int row = yOff + r * n;
            for (int t = i; t < n; t++) {
                s += x[xOff + t] * y[row + t];
            }
            out[outOff + r] = accumulate ? out[outOff + r] + s : s;
        }
    }

    private static float dotFloat(float[] x, int xOff, float[] y, int yOff, int n) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int upper = SPECIES.loopBound(n);
        int i = 0;
        for (; i < upper; i += LANES) {
            acc = FloatVector.fromArray(SPECIES, x, xOff + i).fma(FloatVector.fromArray(SPECIES, y, yOff + i), acc);
        }
        float s = sumInOrder(acc);
        for (; i < n; i++) {
            s += x[xOff + i] * y[yOff + i];
        }
        return s;
    }

    /**
     * The sum of v's lanes, added from lane 0 up. {@code reduceLanes(ADD)} leaves the order of the additions to
     * the implementation, and JDK 25 adds in one order while a loop still runs interpreted and in another once it
     * is compiled: the same call would give different last bits before and after the JIT warms up, and a training
     * run would not repeat bit for bit.
     */
    static float sumInOrder(FloatVector v) {
        float[] lanes = v.toArray();
        float s = 0f;
        for (float lane : lanes) {
            s += lane;
        }
        return s;
    }

    // ===================================================================================== pooling

    /**
     * The 2x2, stride 2, unpadded window (every conv tower's pooling) takes LANES windows per step, their four
     * corners deinterleaved from contiguous vectors as in {@link #reluMaxPool2} (or gathered, for planes
     * narrower than a vector of pooled values), and the reference's choice rule applied lanewise in window
     * order: a corner replaces the best so far when it is greater or NaN, so the first maximum wins and NaN is
     * never hidden. Written with branches, that rule cost a mispredicted jump on every other window: the
     * default tower's first pooling, 48 x 16 planes of 56 x 46, took 7.3 ms that way and 2.4 ms this way (one
     * thread, AMD Zen 5, JDK 17). The rule is written out at each corner: as a method returning the mask it was
     * 1.5x slower on JDK 17. Other windows, and planes of fewer than LANES pooled values, use the reference
     * loops. Parallel over planes when there is enough work.
     */
    @Override
    public void maxPool2d(float[] in, PoolGeometry g, float[] out, int[] argmax) {
        int outW = g.outW();
        int planeOut = g.outH() * outW;
        if (g.kH() != 2 || g.kW() != 2 || g.strideH() != 2 || g.strideW() != 2 || g.padH() != 0 || g.padW() != 0
                || planeOut < LANES) {
            super.maxPool2d(in, g, out, argmax);
            return;
        }
        int planes = g.planes();
        int chunks = (long) planes * planeOut >= POOL_PARALLEL_OUTPUTS ? Math.min(planes, 4 * Parallel.threads()) : 1;
        Parallel.forEach(chunks, chunk -> {
            int p0 = (int) ((long) planes * chunk / chunks);
            int p1 = (int) ((long) planes * (chunk + 1) / chunks);
            if (outW >= LANES) {
                maxPool2Rows(in, g, p0, p1, out, argmax);
            } else {
                maxPool2Gathered(in, g, p0, p1, out, argmax);
            }
        });
    }

    /** Planes [p0, p1) of {@link #maxPool2d}, LANES pooled values of one row per step. */
    private static void maxPool2Rows(float[] in, PoolGeometry g, int p0, int p1, float[] out, int[] argmax) {
        int outH = g.outH();
        int outW = g.outW();
        int inW = g.inW();
        int planeIn = g.inH() * inW;
        // lane j's corners as offsets from the step's first input: window j starts 2j further on (exact in floats)
        FloatVector topLeftAt = TWICE_LANE;
        FloatVector topRightAt = TWICE_LANE.add(1f);
        FloatVector bottomLeftAt = TWICE_LANE.add(inW);
        FloatVector bottomRightAt = TWICE_LANE.add(inW + 1f);
        float[] at = new float[LANES];
        int last = outW - LANES;
        for (int p = p0; p < p1; p++) {
            for (int oy = 0; oy < outH; oy++) {
                int top = p * planeIn + 2 * oy * inW;
                int bottom = top + inW;
                int o = (p * outH + oy) * outW;
                // a row's last step is moved back to end at its end, recomputing a few values
                for (int ox = 0; ; ox = Math.min(ox + LANES, last)) {
                    FloatVector t0 = FloatVector.fromArray(SPECIES, in, top + 2 * ox);
                    FloatVector t1 = FloatVector.fromArray(SPECIES, in, top + 2 * ox + LANES);
                    FloatVector b0 = FloatVector.fromArray(SPECIES, in, bottom + 2 * ox);
                    FloatVector b1 = FloatVector.fromArray(SPECIES, in, bottom + 2 * ox + LANES);
                    FloatVector best = evenLanes(t0, t1);
                    FloatVector where = topLeftAt;
                    FloatVector corner = oddLanes(t0, t1);
                    VectorMask<Float> take = corner.compare(VectorOperators.GT, best)
                            .or(corner.compare(VectorOperators.NE, corner));
                    best = best.blend(corner, take);
                    where = where.blend(topRightAt, take);
                    corner = evenLanes(b0, b1);
                    take = corner.compare(VectorOperators.GT, best)
                            .or(corner.compare(VectorOperators.NE, corner));
                    best = best.blend(corner, take);
                    where = where.blend(bottomLeftAt, take);
                    corner = oddLanes(b0, b1);
                    take = corner.compare(VectorOperators.GT, best)
                            .or(corner.compare(VectorOperators.NE, corner));
                    best = best.blend(corner, take);
                    where = where.blend(bottomRightAt, take);
                    best.intoArray(out, o + ox);
                    where.intoArray(at, 0);
                    int first = top + 2 * ox;
                    for (int j = 0; j < LANES; j++) {
                        argmax[o + ox + j] = first + (int) at[j];
                    }
                    if (ox == last) {
                        break;
                    }
                }
            }
        }
    }

    /**
     * Planes [p0, p1) of {@link #maxPool2d} whose rows are narrower than a vector: each corner gathered, lane j
     * reading the window of pooled value q + j of the plane, so the steps run over a whole plane with no tail
     * per row (a plane's last step is moved back to end at its end).
     */
    private static void maxPool2Gathered(float[] in, PoolGeometry g, int p0, int p1, float[] out, int[] argmax) {
        int outW = g.outW();
        int inW = g.inW();
        int planeIn = g.inH() * inW;
        int planeOut = g.outH() * outW;
        int[] start = new int[planeOut];
        for (int q = 0; q < planeOut; q++) {
            start[q] = 2 * (q / outW) * inW + 2 * (q % outW);
        }
        // each corner's offset from its window's top-left corner
        FloatVector topRightAt = FloatVector.broadcast(SPECIES, 1f);
        FloatVector bottomLeftAt = FloatVector.broadcast(SPECIES, inW);
        FloatVector bottomRightAt = FloatVector.broadcast(SPECIES, inW + 1f);
        float[] at = new float[LANES];
        int last = planeOut - LANES;
        for (int p = p0; p < p1; p++) {
            int base = p * planeIn;
            int o = p * planeOut;
            for (int q = 0; ; q = Math.min(q + LANES, last)) {
                FloatVector best = FloatVector.fromArray(SPECIES, in, base, start, q);
                FloatVector where = FloatVector.zero(SPECIES);
                FloatVector corner = FloatVector.fromArray(SPECIES, in, base + 1, start, q);
                VectorMask<Float> take = corner.compare(VectorOperators.GT, best)
                        .or(corner.compare(VectorOperators.NE, corner));
                best = best.blend(corner, take);
                where = where.blend(topRightAt, take);
                corner = FloatVector.fromArray(SPECIES, in, base + inW, start, q);
                take = corner.compare(VectorOperators.GT, best)
                        .or(corner.compare(VectorOperators.NE, corner));
                best = best.blend(corner, take);
                where = where.blend(bottomLeftAt, take);
                corner = FloatVector.fromArray(SPECIES, in, base + inW + 1, start, q);
                take = corner.compare(VectorOperators.GT, best)
                        .or(corner.compare(VectorOperators.NE, corner));
                best = best.blend(corner, take);
                where = where.blend(bottomRightAt, take);
                best.intoArray(out, o + q);
                where.intoArray(at, 0);
                for (int j = 0; j < LANES; j++) {
                    argmax[o + q + j] = base + start[q + j] + (int) at[j];
                }
                if (q == last) {
                    break;
                }
            }
        }
    }

    /**
     * LANES pooled values per step from two vectors of each of the window's two rows: the top-left corners are
     * the even lanes of the top row's pair of vectors, the top-right ones its odd lanes, and so on. Each corner
     * is gathered into one vector by two single-vector rearranges and a blend, a permute each. With a gather
     * per corner instead (as {@link #reluMaxPool2Narrow} does) the pooling of the reference tower's first layer
     * took 0.23 ms an image on AMD Zen 5 and JDK 17, four times as long as its convolution; this way 0.056 ms.
     * A row's last step is moved back to end at its end, recomputing a few values. Planes narrower than one
     * vector of pooled values (the reference tower's last block pools 23 columns to 11) take the gathers.
     */
    @Override
    public void reluMaxPool2(float[] y, int planes, int h, int w, float[] out, int outOff, int outPlaneStride,
                             byte[] argmax) {
        int pooledH = h / 2;
        int pooledW = w / 2;
        if (pooledW < LANES) {
            reluMaxPool2Narrow(y, planes, h, w, out, outOff, outPlaneStride, argmax);
            return;
        }
        float[] where = new float[LANES];
        int last = pooledW - LANES;
        for (int p = 0; p < planes; p++) {
            for (int oy = 0; oy < pooledH; oy++) {
                int top = (p * h + 2 * oy) * w;
                int bottom = top + w;
                int o = outOff + p * outPlaneStride + oy * pooledW;
                for (int ox = 0; ; ox = Math.min(ox + LANES, last)) {
                    FloatVector t0 = FloatVector.fromArray(SPECIES, y, top + 2 * ox);
                    FloatVector t1 = FloatVector.fromArray(SPECIES, y, top + 2 * ox + LANES);
                    FloatVector b0 = FloatVector.fromArray(SPECIES, y, bottom + 2 * ox);
                    FloatVector b1 = FloatVector.fromArray(SPECIES, y, bottom + 2 * ox + LANES);
                    FloatVector topLeft = evenLanes(t0, t1);
                    FloatVector topRight = oddLanes(t0, t1);
                    FloatVector bottomLeft = evenLanes(b0, b1);
                    FloatVector bottomRight = oddLanes(b0, b1);
                    // From here the same as the narrow loop's body: written out in both, since JDK 17's C2 does
                    // not inline a shared method that takes the four vectors and then boxes them (3x slower).
                    // lanewise MAX keeps NaN, as Math.max does
                    FloatVector best = topLeft.max(topRight).max(bottomLeft.max(bottomRight)).max(0f);
                    best.intoArray(out, o + ox);
                    if (argmax != null) {
                        windowPositions(topLeft, topRight, bottomLeft, best, where);
                        for (int j = 0; j < LANES; j++) {
                            argmax[o + ox + j] = (byte) where[j];
                        }
                    }
                    if (ox == last) {
                        break;
                    }
                }
            }
        }
    }

    /**
     * Lane i takes lane 2i mod LANES: the even lanes of a vector in its low half, and again in its high half,
     * where the blend of {@link #evenLanes} takes them from the second vector.
     */
    /** Lane i holds 2i: the offset of window i's top-left corner from window 0's in a row. */
    private static final FloatVector TWICE_LANE = FloatVector.fromArray(SPECIES, twiceLane(), 0);
    private static final VectorShuffle<Float> EVENS = VectorShuffle.fromOp(SPECIES, i -> 2 * i % LANES);
    private static final VectorShuffle<Float> ODDS = VectorShuffle.fromOp(SPECIES, i -> (2 * i + 1) % LANES);
    /** Lanes LANES/2 .. LANES-1 (bit i of the long is lane i). */
    private static final VectorMask<Float> HIGH_HALF = VectorMask.fromLong(SPECIES,
            (-1L >>> (64 - LANES)) & (-1L << (LANES / 2)));

    private static float[] twiceLane() {
        float[] v = new float[LANES];
        for (int i = 0; i < LANES; i++) {
            v[i] = 2 * i;
        }
        return v;
    }

    /** Lanes 0, 2, 4, .. of the 2 * LANES values a then b. */
    private static FloatVector evenLanes(FloatVector a, FloatVector b) {
        return a.rearrange(EVENS).blend(b.rearrange(EVENS), HIGH_HALF);
    }

    /** Lanes 1, 3, 5, .. of the 2 * LANES values a then b. */
    private static FloatVector oddLanes(FloatVector a, FloatVector b) {
        return a.rearrange(ODDS).blend(b.rearrange(ODDS), HIGH_HALF);
    }

    /**
     * where[j] = the window position (0..3) of lane j's maximum {@code best}, as {@link ScalarKernels#reluMaxOf4}
     * gives it: the first maximum in window order wins, -1 where it is not positive. Later positions are blended
     * in first and overwritten by earlier ones.
     */
    private static void windowPositions(FloatVector topLeft, FloatVector topRight, FloatVector bottomLeft,
                                        FloatVector best, float[] where) {
        FloatVector.broadcast(SPECIES, 3f)
                .blend(2f, bottomLeft.eq(best))
                .blend(1f, topRight.eq(best))
                .blend(0f, topLeft.eq(best))
                .blend(-1f, best.compare(VectorOperators.GT, 0f).not())
                .intoArray(where, 0);
    }

    /**
     * Planes of fewer than LANES pooled columns: each corner fetched by a gather, lane j reading
     * y[base + corner + start[q + j]], where start[q] is the offset of pooled value q's window in its plane. The
     * steps run over a whole plane as one flat sequence, so there is no scalar tail per row; a plane's last step
     * is moved back to end at its end.
     */
    private void reluMaxPool2Narrow(float[] y, int planes, int h, int w, float[] out, int outOff, int outPlaneStride,
                                    byte[] argmax) {
        int pooledH = h / 2;
        int pooledW = w / 2;
        int perPlane = pooledH * pooledW;
        if (perPlane < LANES) {
            super.reluMaxPool2(y, planes, h, w, out, outOff, outPlaneStride, argmax);
            return;
        }
        int[] start = new int[perPlane];
        for (int q = 0; q < perPlane; q++) {
            start[q] = 2 * (q / pooledW) * w + 2 * (q % pooledW);
        }
        float[] where = new float[LANES];
        int last = perPlane - LANES;
        for (int p = 0; p < planes; p++) {
            int base = p * h * w;
            int o = outOff + p * outPlaneStride;
            for (int q = 0; ; q = Math.min(q + LANES, last)) {
                FloatVector topLeft = FloatVector.fromArray(SPECIES, y, base, start, q);
                FloatVector topRight = FloatVector.fromArray(SPECIES, y, base + 1, start, q);
                FloatVector bottomLeft = FloatVector.fromArray(SPECIES, y, base + w, start, q);
                FloatVector bottomRight = FloatVector.fromArray(SPECIES, y, base + w + 1, start, q);
                // lanewise MAX keeps NaN, as Math.max does
                FloatVector best = topLeft.max(topRight).max(bottomLeft.max(bottomRight)).max(0f);
                best.intoArray(out, o + q);
                if (argmax != null) {
                    windowPositions(topLeft, topRight, bottomLeft, best, where);
                    for (int j = 0; j < LANES; j++) {
                        argmax[o + q + j] = (byte) where[j];
                    }
                }
                if (q == last) {
                    break;
                }
            }
        }
    }

    // ===================================================================================== elementwise

    @Override
    public void add(float[] a, float[] b, float[] out, int n) {
        int i = 0;
        for (int upper = SPECIES.loopBound(n); i < upper; i += LANES) {
            FloatVector.fromArray(SPECIES, a, i).add(FloatVector.fromArray(SPECIES, b, i)).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = a[i] + b[i];
        }
    }

    @Override
    public void sub(float[] a, float[] b, float[] out, int n) {
        int i = 0;
        for (int upper = SPECIES.loopBound(n); i < upper; i += LANES) {
            FloatVector.fromArray(SPECIES, a, i).sub(FloatVector.fromArray(SPECIES, b, i)).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = a[i] - b[i];
        }
    }

    @Override
    public void mul(float[] a, float[] b, float[] out, int n) {
        int i = 0;
        for (int upper = SPECIES.loopBound(n); i < upper; i += LANES) {
            FloatVector.fromArray(SPECIES, a, i).mul(FloatVector.fromArray(SPECIES, b, i)).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = a[i] * b[i];
        }
    }

    @Override
    public void scale(float alpha, float[] x, float[] out, int n) {
        int i = 0;
        for (int upper = SPECIES.loopBound(n); i < upper; i += LANES) {
            FloatVector.fromArray(SPECIES, x, i).mul(alpha).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = alpha * x[i];
        }
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int n) {
        FloatVector av = FloatVector.broadcast(SPECIES, alpha);
        int i = 0;
        for (int upper = SPECIES.loopBound(n); i < upper; i += LANES) {
            av.fma(FloatVector.fromArray(SPECIES, x, i), FloatVector.fromArray(SPECIES, y, i)).intoArray(y, i);
        }
        for (; i < n; i++) {
            y[i] += alpha * x[i];
        }
    }

    @Override
    public void relu(float[] x, float[] out, int n) {
        int i = 0;
        for (int upper = SPECIES.loopBound(n); i < upper; i += LANES) {
            FloatVector.fromArray(SPECIES, x, i).max(0f).intoArray(out, i);
        }
        for (; i < n; i++) {
            out[i] = Math.max(x[i], 0f);
        }
    }

    @Override
    public void reluBackwardAccumulate(float[] x, float[] outGrad, float[] inGrad, int n) {
        int i = 0;
        for (int upper = SPECIES.loopBound(n); i < upper; i += LANES) {
            FloatVector xv = FloatVector.fromArray(SPECIES, x, i);
            FloatVector gv = FloatVector.fromArray(SPECIES, outGrad, i);
            FloatVector acc = FloatVector.fromArray(SPECIES, inGrad, i);
            acc.add(gv, xv.compare(VectorOperators.GT, 0f)).intoArray(inGrad, i);
        }
        for (; i < n; i++) {
            if (x[i] > 0f) {
                inGrad[i] += outGrad[i];
            }
        }
    }

    @Override
    public void addBias(float[] x, float[] bias, int batch, int channels, int inner) {
        int i = 0;
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < channels; c++) {
                float v = bias[c];
                int end = i + inner;
                int j = i;
                for (int upper = i + SPECIES.loopBound(inner); j < upper; j += LANES) {
                    FloatVector.fromArray(SPECIES, x, j).add(v).intoArray(x, j);
                }
                for (; j < end; j++) {
                    x[j] += v;
                }
                i = end;
            }
        }
    }

    // ===================================================================================== convolution, direct
    // (plus the bias gradient and the row-wise im2col / col2im, added with it): the Vector API versions live in
    // VectorConv; geometries they do not handle (stride along the width, rows narrower than one vector) use the
    // scalar reference.

    @Override
    public void convDirectForward(float[] image, int imageOff, ConvGeometry g, float[] weight, float[] bias,
                                  int outChannels, float[] out, int outOff, int firstRow, int endRow) {
        if (VectorConv.supports(g)) {
            VectorConv.forward(image, imageOff, g, weight, bias, outChannels, out, outOff, firstRow, endRow);
        } else {
            super.convDirectForward(image, imageOff, g, weight, bias, outChannels, out, outOff, firstRow, endRow);
        }
    }

    @Override
    public void convDirectWeightGradAccumulate(float[] image, int imageOff, ConvGeometry g, float[] outGrad,
                                               int outGradOff, int outChannels, float[] weightGrad) {
        if (VectorConv.supports(g)) {
            VectorConv.weightGrad(image, imageOff, g, outGrad, outGradOff, outChannels, weightGrad);
        } else {
            super.convDirectWeightGradAccumulate(image, imageOff, g, outGrad, outGradOff, outChannels, weightGrad);
        }
    }

    @Override
    public void convDirectInputGradAccumulate(float[] outGrad, int outGradOff, ConvGeometry g, float[] weight,
                                              int outChannels, float[] imageGrad, int imageOff) {
        if (VectorConv.supports(g)) {
            VectorConv.inputGrad(outGrad, outGradOff, g, weight, outChannels, imageGrad, imageOff);
        } else {
            super.convDirectInputGradAccumulate(outGrad, outGradOff, g, weight, outChannels, imageGrad, imageOff);
        }
    }

    @Override
    public void convBiasGradAccumulate(float[] outGrad, int outGradOff, int outChannels, int pixels,
                                       double[] biasGrad) {
        VectorConv.biasGrad(outGrad, outGradOff, outChannels, pixels, biasGrad);
    }

    @Override
    public void im2col(float[] image, int imageOff, ConvGeometry g, float[] columns) {
        im2colRows(image, imageOff, g, 0, g.outH(), columns);
    }

    @Override
    public void col2imAccumulate(float[] columns, ConvGeometry g, float[] imageGrad, int imageOff) {
        col2imRowsAccumulate(columns, g, 0, g.outH(), imageGrad, imageOff);
    }

    @Override
    public void im2colRows(float[] image, int imageOff, ConvGeometry g, int oy0, int oy1, float[] columns) {
        if (g.strideW() == 1) {
            VectorConv.im2colRows(image, imageOff, g, oy0, oy1, columns);
        } else {
            super.im2colRows(image, imageOff, g, oy0, oy1, columns);
        }
    }

    @Override
    public void col2imRowsAccumulate(float[] columns, ConvGeometry g, int oy0, int oy1, float[] imageGrad,
                                     int imageOff) {
        if (g.strideW() == 1) {
            VectorConv.col2imRowsAccumulate(columns, g, oy0, oy1, imageGrad, imageOff);
        } else {
            super.col2imRowsAccumulate(columns, g, oy0, oy1, imageGrad, imageOff);
        }
    }

    // ===================================================================================== convolution, depthwise
    // In VectorDepthwiseConv, for every geometry.

    @Override
    public void depthwiseConvForward(float[] image, int imageOff, ConvGeometry g, int multiplier, float[] weight,
                                     float[] bias, float[] out, int outOff) {
        VectorDepthwiseConv.forward(image, imageOff, g, multiplier, weight, bias, out, outOff);
    }

    @Override
    public void depthwiseConvWeightGradAccumulate(float[] image, int imageOff, ConvGeometry g, int multiplier,
                                                  float[] outGrad, int outGradOff, float[] weightGrad) {
        VectorDepthwiseConv.weightGrad(image, imageOff, g, multiplier, outGrad, outGradOff, weightGrad);
    }

    @Override
    public void depthwiseConvInputGradAccumulate(float[] outGrad, int outGradOff, ConvGeometry g, int multiplier,
                                                 float[] weight, float[] imageGrad, int imageOff) {
        VectorDepthwiseConv.inputGrad(outGrad, outGradOff, g, multiplier, weight, imageGrad, imageOff);
    }
}
