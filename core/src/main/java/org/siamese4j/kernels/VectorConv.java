package org.siamese4j.kernels;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API convolution kernels behind {@link VectorKernels}: the direct convolution (see the "convolution,
 * direct" section of {@link Kernels} for the sums) and a row-wise im2col / col2im.
 *
 * <p>The direct kernels first copy the image into a padded scratch image, so the inner loops never test a border:
 * every tap of an output row reads one contiguous run of a padded row. With stride 1 along the width, output
 * pixels ox .. ox+L-1 read padded pixels ox+j*dW .. ox+j*dW+L-1, so a row is vectorised along the output width
 * and each tap costs one vector load shared by a block of output channels (forward) or a block of taps shares a
 * load of the output gradient (weight gradient). A row whose width is not a multiple of L ends with a vector that
 * overlaps the previous one: the forward pass just writes the overlapped pixels twice with the same value, the
 * sums over pixels multiply the overlapped lanes by zero so they count once. Other strides along the width, and
 * rows narrower than one vector, use the scalar reference.
 *
 * <p>Written for JDK 17's C2, which keeps FloatVector values in registers only in simple shapes: vector
 * accumulators are carried through one loop (never through nested or consecutive loops, nor chosen by a
 * branch), or the vectors are boxed on the heap and the kernel runs ten times slower.
 *
 * <p>Each kernel works on one image and never forks, so its scratch buffers can be per thread.
 */
final class VectorConv {
    private static final VectorSpecies<Float> S = VectorKernels.SPECIES;
    private static final int L = S.length();
    /** Forward block: 8 channels x 2 vectors = 16 accumulators, 2 loads and 8 broadcasts per 16 FMAs. */
    private static final int FWD_CHANNELS = 8;
    /** Weight gradient block: 4 channels x 3 taps = 12 accumulators, 7 loads (+ 3 tail multiplies) per 12 FMAs. */
    private static final int WG_CHANNELS = 4;
    private static final int WG_TAPS = 3;
    /** Input gradient block: 4 taps x 2 vectors = 8 accumulators, 2 loads + 4 broadcasts per 8 FMAs. */
    private static final int IG_TAPS = 4;

    /** Per-thread scratch: the padded image, its gradient and the tap offsets. */
    private static final class Scratch {
        float[] padded = new float[0];
        float[] paddedGrad = new float[0];
        int[] taps = new int[0];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private VectorConv() {
    }

    /** Whether the vector kernels handle this geometry; the caller uses the scalar reference otherwise. */
    static boolean supports(ConvGeometry g) {
        return g.strideW() == 1 && g.outW() >= L;
    }

    // ===================================================================================== direct, forward

    /** See {@link Kernels#convDirectForward}; requires {@link #supports}. */
    static void forward(float[] image, int imageOff, ConvGeometry g, float[] weight, float[] bias, int outChannels,
                        float[] out, int outOff, int firstRow, int endRow) {
        Scratch s = SCRATCH.get();
        // Only the padded rows these output rows read, so a band of rows costs its own share of the padding.
        int rowStep = g.strideH() * paddedW(g);
        int paddedRows = (endRow - 1 - firstRow) * g.strideH() + (g.kH() - 1) * g.dilationH() + 1;
        float[] xp = pad(image, imageOff, g, s, firstRow * g.strideH(), paddedRows);
        int[] taps = tapOffsets(g, s, paddedRows);
        int k = g.patchSize();
        int outW = g.outW();
        int pixels = (endRow - firstRow) * outW;
        int vectors = (outW + L - 1) / L;
        for (int oy = firstRow; oy < endRow; oy++) {
            int inRow = (oy - firstRow) * rowStep;
            int outRow = outOff + (oy - firstRow) * outW;
            // Two vectors per block; the last ones are pulled back to end at the row's end (overlapping: same
            // values are written twice), and an odd count repeats the last vector.
            for (int v = 0; v < vectors; v += 2) {
                int x0 = Math.min(v * L, outW - L);
                int x1 = Math.min((v + 1) * L, outW - L);
                for (int o0 = 0; o0 < outChannels; o0 += FWD_CHANNELS) {
                    forwardBlock(xp, taps, k, inRow + x0, inRow + x1, weight, bias, outChannels, o0, out,
                            outRow + x0, outRow + x1, pixels);
                }
            }
        }
    }

    /**
     * 8 output channels x 2 vectors of one output row. A block past the last channel repeats the last channel
     * (same value written twice) so there is no ragged variant.
     */
    private static void forwardBlock(float[] xp, int[] taps, int k, int in0, int in1, float[] w, float[] bias,
                                     int outChannels, int o0, float[] out, int out0, int out1, int pixels) {
        int last = outChannels - 1;
        int c0 = o0, c1 = Math.min(o0 + 1, last), c2 = Math.min(o0 + 2, last), c3 = Math.min(o0 + 3, last);
        int c4 = Math.min(o0 + 4, last), c5 = Math.min(o0 + 5, last), c6 = Math.min(o0 + 6, last);
        int c7 = Math.min(o0 + 7, last);
        FloatVector a0 = start(bias, c0), b0 = a0, a1 = start(bias, c1), b1 = a1;
        FloatVector a2 = start(bias, c2), b2 = a2, a3 = start(bias, c3), b3 = a3;
        FloatVector a4 = start(bias, c4), b4 = a4, a5 = start(bias, c5), b5 = a5;
        FloatVector a6 = start(bias, c6), b6 = a6, a7 = start(bias, c7), b7 = a7;
        int w0 = c0 * k, w1 = c1 * k, w2 = c2 * k, w3 = c3 * k, w4 = c4 * k, w5 = c5 * k, w6 = c6 * k, w7 = c7 * k;
        for (int t = 0; t < k; t++) {
            int tap = taps[t];
            FloatVector xa = FloatVector.fromArray(S, xp, tap + in0);
            FloatVector xb = FloatVector.fromArray(S, xp, tap + in1);
            FloatVector wv = FloatVector.broadcast(S, w[w0 + t]);
            a0 = xa.fma(wv, a0);
            b0 = xb.fma(wv, b0);
            wv = FloatVector.broadcast(S, w[w1 + t]);
            a1 = xa.fma(wv, a1);
            b1 = xb.fma(wv, b1);
            wv = FloatVector.broadcast(S, w[w2 + t]);
            a2 = xa.fma(wv, a2);
            b2 = xb.fma(wv, b2);
            wv = FloatVector.broadcast(S, w[w3 + t]);
            a3 = xa.fma(wv, a3);
            b3 = xb.fma(wv, b3);
            wv = FloatVector.broadcast(S, w[w4 + t]);
            a4 = xa.fma(wv, a4);
            b4 = xb.fma(wv, b4);
            wv = FloatVector.broadcast(S, w[w5 + t]);
            a5 = xa.fma(wv, a5);
            b5 = xb.fma(wv, b5);
            wv = FloatVector.broadcast(S, w[w6 + t]);
            a6 = xa.fma(wv, a6);
            b6 = xb.fma(wv, b6);
            wv = FloatVector.broadcast(S, w[w7 + t]);
            a7 = xa.fma(wv, a7);
            b7 = xb.fma(wv, b7);
        }
        // Stored in reverse so that, where channels repeat, the real channel's store is the one that stays
        // (they hold the same values anyway).
        a7.intoArray(out, out0 + c7 * pixels);
        b7.intoArray(out, out1 + c7 * pixels);
        a6.intoArray(out, out0 + c6 * pixels);
        b6.intoArray(out, out1 + c6 * pixels);
        a5.intoArray(out, out0 + c5 * pixels);
        b5.intoArray(out, out1 + c5 * pixels);
        a4.intoArray(out, out0 + c4 * pixels);
        b4.intoArray(out, out1 + c4 * pixels);
        a3.intoArray(out, out0 + c3 * pixels);
        b3.intoArray(out, out1 + c3 * pixels);
        a2.intoArray(out, out0 + c2 * pixels);
        b2.intoArray(out, out1 + c2 * pixels);
        a1.intoArray(out, out0 + c1 * pixels);
        b1.intoArray(out, out1 + c1 * pixels);
        a0.intoArray(out, out0 + c0 * pixels);
        b0.intoArray(out, out1 + c0 * pixels);
    }

    private static FloatVector start(float[] bias, int channel) {
        return bias == null ? FloatVector.zero(S) : FloatVector.broadcast(S, bias[channel]);
    }

    // ===================================================================================== direct, weight gradient

    /** See {@link Kernels#convDirectWeightGradAccumulate}; requires {@link #supports}. */
    static void weightGrad(float[] image, int imageOff, ConvGeometry g, float[] outGrad, int outGradOff,
                           int outChannels, float[] weightGrad) {
        Scratch s = SCRATCH.get();
        float[] xp = pad(image, imageOff, g, s, 0, paddedH(g));
        int[] taps = tapOffsets(g, s, paddedH(g));
        int k = g.patchSize();
        for (int o0 = 0; o0 < outChannels; o0 += WG_CHANNELS) {
            for (int t0 = 0; t0 < k; t0 += WG_TAPS) {
                weightGradBlock(xp, taps, k, g, outGrad, outGradOff, outChannels, o0, t0, weightGrad);
            }
        }
    }

    /**
     * dW for 4 channels x 3 taps, summed over every output pixel of the image in 12 vector accumulators.
     * Channels and taps past the end repeat the last one and are not written back.
     */
    private static void weightGradBlock(float[] xp, int[] taps, int k, ConvGeometry g, float[] gOut, int gOff,
                                        int outChannels, int o0, int t0, float[] dW) {
        int outH = g.outH();
        int outW = g.outW();
        int pixels = outH * outW;
        int rowStep = g.strideH() * paddedW(g);
        int tailX = outW - L;
        int lastO = outChannels - 1;
        int lastT = k - 1;
        int g0 = gOff + o0 * pixels;
        int g1 = gOff + Math.min(o0 + 1, lastO) * pixels;
        int g2 = gOff + Math.min(o0 + 2, lastO) * pixels;
        int g3 = gOff + Math.min(o0 + 3, lastO) * pixels;
        int x0 = taps[t0];
        int x1 = taps[Math.min(t0 + 1, lastT)];
        int x2 = taps[Math.min(t0 + 2, lastT)];
        FloatVector zero = FloatVector.zero(S);
        FloatVector s00 = zero, s01 = zero, s02 = zero, s10 = zero, s11 = zero, s12 = zero;
        FloatVector s20 = zero, s21 = zero, s22 = zero, s30 = zero, s31 = zero, s32 = zero;
        // One flat loop over every vector of every row, the row change a scalar branch: JDK 17's C2 boxes vector
        // accumulators carried through nested or consecutive loops, ten times slower. Every step multiplies its
        // input vectors by a 0/1 vector, all ones except at a ragged row end (see keepLanes).
        int x = 0;
        int keepOff = L;
        int gRow = 0;
        int xRow = 0;
        for (int step = outH * ((outW + L - 1) / L); step > 0; step--) {
            FloatVector keep = FloatVector.fromArray(S, KEEP, keepOff);
            FloatVector p0 = FloatVector.fromArray(S, xp, x0 + xRow + x).mul(keep);
            FloatVector p1 = FloatVector.fromArray(S, xp, x1 + xRow + x).mul(keep);
            FloatVector p2 = FloatVector.fromArray(S, xp, x2 + xRow + x).mul(keep);
            FloatVector q = FloatVector.fromArray(S, gOut, g0 + gRow + x);
            s00 = q.fma(p0, s00);
            s01 = q.fma(p1, s01);
            s02 = q.fma(p2, s02);
            q = FloatVector.fromArray(S, gOut, g1 + gRow + x);
            s10 = q.fma(p0, s10);
            s11 = q.fma(p1, s11);
            s12 = q.fma(p2, s12);
            q = FloatVector.fromArray(S, gOut, g2 + gRow + x);
            s20 = q.fma(p0, s20);
            s21 = q.fma(p1, s21);
            s22 = q.fma(p2, s22);
            q = FloatVector.fromArray(S, gOut, g3 + gRow + x);
            s30 = q.fma(p0, s30);
            s31 = q.fma(p1, s31);
            s32 = q.fma(p2, s32);
            int next = x + L;
            if (next >= outW) {
                x = 0;
                keepOff = L;
                gRow += outW;
                xRow += rowStep;
            } else if (next > tailX) {
                // The last vector of the row ends at the row's end; its first next - tailX lanes are counted.
                x = tailX;
                keepOff = L - (next - tailX);
            } else {
                x = next;
            }
        }
        addBack(dW, k, outChannels, o0, t0, 0, s00, s01, s02);
        addBack(dW, k, outChannels, o0, t0, 1, s10, s11, s12);
        addBack(dW, k, outChannels, o0, t0, 2, s20, s21, s22);
        addBack(dW, k, outChannels, o0, t0, 3, s30, s31, s32);
    }

    private static void addBack(float[] dW, int k, int outChannels, int o0, int t0, int row, FloatVector s0,
                                FloatVector s1, FloatVector s2) {
        int o = o0 + row;
        if (o >= outChannels) {
            return;
        }
        int base = o * k + t0;
        dW[base] += VectorKernels.sumInOrder(s0);
        if (t0 + 1 < k) {
            dW[base + 1] += VectorKernels.sumInOrder(s1);
        }
        if (t0 + 2 < k) {
            dW[base + 2] += VectorKernels.sumInOrder(s2);
        }
    }

    // ===================================================================================== direct, input gradient

    /** See {@link Kernels#convDirectInputGradAccumulate}; requires {@link #supports}. */
    static void inputGrad(float[] outGrad, int outGradOff, ConvGeometry g, float[] weight, int outChannels,
                          float[] imageGrad, int imageOff) {
        Scratch s = SCRATCH.get();
        int paddedSize = g.channels() * paddedH(g) * paddedW(g);
        if (s.paddedGrad.length < paddedSize) {
            s.paddedGrad = new float[paddedSize];
        }
        float[] dxp = s.paddedGrad;
        Arrays.fill(dxp, 0, paddedSize, 0f);
        int[] taps = tapOffsets(g, s, paddedH(g));
        int k = g.patchSize();
        int outH = g.outH();
        int outW = g.outW();
        int rowStep = g.strideH() * paddedW(g);
        int vectors = (outW + L - 1) / L;
        for (int t0 = 0; t0 < k; t0 += IG_TAPS) {
            for (int oy = 0; oy < outH; oy++) {
                for (int v = 0; v < vectors; v += 2) {
                    inputGradBlock(outGrad, outGradOff, g, weight, outChannels, taps, k, t0, oy, oy * rowStep, v,
                            dxp);
                }
            }
        }
        unpadAccumulate(dxp, g, imageGrad, imageOff);
    }

    /**
     * For 4 taps and 2 vectors of output row oy: sum over the output channels of w[o, tap] * G[o, oy, x..], then
     * add each into the padded gradient row the tap reads. Lanes already covered by an earlier vector of the row
     * are zeroed in the sums (a 0/1 multiplier distributes over the sum exactly), so the overlapping tail vector
     * adds zeros there.
     */
    private static void inputGradBlock(float[] gOut, int gOff, ConvGeometry g, float[] w, int outChannels,
                                       int[] taps, int k, int t0, int oy, int inRow, int v, float[] dxp) {
        int outW = g.outW();
        int pixels = g.outH() * outW;
        int x0 = Math.min(v * L, outW - L);
        int x1 = Math.min((v + 1) * L, outW - L);
        FloatVector keep0 = keepLanes(v * L - x0);
        FloatVector keep1 = keepLanes((v + 1) * L - x1);
        int lastT = k - 1;
        int t1 = Math.min(t0 + 1, lastT), t2 = Math.min(t0 + 2, lastT), t3 = Math.min(t0 + 3, lastT);
        FloatVector zero = FloatVector.zero(S);
        FloatVector a0 = zero, b0 = zero, a1 = zero, b1 = zero, a2 = zero, b2 = zero, a3 = zero, b3 = zero;
        int gRow = gOff + oy * outW;
        for (int o = 0; o < outChannels; o++) {
            int go = gRow + o * pixels;
            FloatVector ga = FloatVector.fromArray(S, gOut, go + x0);
            FloatVector gb = FloatVector.fromArray(S, gOut, go + x1);
            int wo = o * k;
            FloatVector wv = FloatVector.broadcast(S, w[wo + t0]);
            a0 = ga.fma(wv, a0);
            b0 = gb.fma(wv, b0);
            wv = FloatVector.broadcast(S, w[wo + t1]);
            a1 = ga.fma(wv, a1);
            b1 = gb.fma(wv, b1);
            wv = FloatVector.broadcast(S, w[wo + t2]);
            a2 = ga.fma(wv, a2);
            b2 = gb.fma(wv, b2);
            wv = FloatVector.broadcast(S, w[wo + t3]);
            a3 = ga.fma(wv, a3);
            b3 = gb.fma(wv, b3);
        }
        // x1 may overlap x0, so each add reads what the previous one stored.
        addInto(dxp, taps[t0] + inRow, x0, x1, a0.mul(keep0), b0.mul(keep1));
        if (t0 + 1 < k) {
            addInto(dxp, taps[t1] + inRow, x0, x1, a1.mul(keep0), b1.mul(keep1));
        }
        if (t0 + 2 < k) {
            addInto(dxp, taps[t2] + inRow, x0, x1, a2.mul(keep0), b2.mul(keep1));
        }
        if (t0 + 3 < k) {
            addInto(dxp, taps[t3] + inRow, x0, x1, a3.mul(keep0), b3.mul(keep1));
        }
    }

    private static void addInto(float[] dxp, int base, int x0, int x1, FloatVector a, FloatVector b) {
        FloatVector.fromArray(S, dxp, base + x0).add(a).intoArray(dxp, base + x0);
        FloatVector.fromArray(S, dxp, base + x1).add(b).intoArray(dxp, base + x1);
    }

    /** L zeros then L ones: a window of it is a 0/1 multiplier that drops a vector's first lanes. */
    private static final float[] KEEP = new float[2 * L];

    static {
        java.util.Arrays.fill(KEEP, L, 2 * L, 1f);
    }

    /**
     * 0 in the first {@code covered} lanes (clamped to 0..L: those an earlier vector of the row has already
     * counted), 1 in the rest. A window of a constant array rather than a mask, so a step can pick it by a
     * scalar offset with no branch on vectors; x * 1 is exact. (A non-finite value in a dropped lane turns into
     * NaN instead of 0 there, but it has already made that sum non-finite where the lane was counted.)
     */
    private static FloatVector keepLanes(int covered) {
        return FloatVector.fromArray(S, KEEP, L - Math.max(0, Math.min(L, covered)));
    }

    // ===================================================================================== bias gradient

    /** Vectors summed in float (by 4 accumulators, so 16 values per lane) before a flush into the double total. */
    private static final int BIAS_CHUNK = 4 * 16;

    /**
     * See {@link Kernels#convBiasGradAccumulate}. A double add per element would be latency-bound at one element
     * per 4 cycles; float lanes over short chunks (16 values per lane before each flush into the double total)
     * run at memory speed and keep the rounding to that of 16-term float sums.
     */
    static void biasGrad(float[] outGrad, int outGradOff, int outChannels, int pixels, double[] biasGrad) {
        int chunk = BIAS_CHUNK * L;
        for (int o = 0; o < outChannels; o++) {
            int start = outGradOff + o * pixels;
            int end = start + pixels;
            double total = 0;
            int i = start;
            for (; i + chunk <= end; i += chunk) {
                FloatVector a = FloatVector.zero(S);
                FloatVector b = a, c = a, d = a;
                for (int j = i; j < i + chunk; j += 4 * L) {
                    a = a.add(FloatVector.fromArray(S, outGrad, j));
                    b = b.add(FloatVector.fromArray(S, outGrad, j + L));
                    c = c.add(FloatVector.fromArray(S, outGrad, j + 2 * L));
                    d = d.add(FloatVector.fromArray(S, outGrad, j + 3 * L));
                }
                total += VectorKernels.sumInOrder(a.add(b).add(c.add(d)));
            }
            for (; i < end; i++) {
                total += outGrad[i];
            }
            biasGrad[o] += total;
        }
    }

    // ===================================================================================== padding

    private static int paddedH(ConvGeometry g) {
        return g.inH() + 2 * g.padH();
    }

    private static int paddedW(ConvGeometry g) {
        return g.inW() + 2 * g.padW();
    }

    /**
     * Offset of tap t = (c, i, j), the order of the weight's last three axes, from a pixel's top-left corner in a
     * padded image of {@code hp} rows per channel.
     */
    private static int[] tapOffsets(ConvGeometry g, Scratch s, int hp) {
        int k = g.patchSize();
        if (s.taps.length < k) {
            s.taps = new int[k];
        }
        int wp = paddedW(g);
        int t = 0;
        for (int c = 0; c < g.channels(); c++) {
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++, t++) {
                    s.taps[t] = c * hp * wp + i * g.dilationH() * wp + j * g.dilationW();
                }
            }
        }
        return s.taps;
    }

    /**
     * Copies rows [firstRow, firstRow + rows) of the padded image [C, H + 2pH, W + 2pW] into the scratch buffer as
     * [C, rows, W + 2pW], the padding materialised.
     */
    private static float[] pad(float[] image, int imageOff, ConvGeometry g, Scratch s, int firstRow, int rows) {
        int h = g.inH();
        int w = g.inW();
        int wp = paddedW(g);
        int size = g.channels() * rows * wp;
        if (s.padded.length < size) {
            s.padded = new float[size];
        }
        float[] xp = s.padded;
        for (int c = 0; c < g.channels(); c++) {
            int plane = imageOff + c * h * w;
            for (int r = 0; r < rows; r++) {
                int dst = (c * rows + r) * wp;
                int y = ConvGeometry.sourceIndex(firstRow + r - g.padH(), h, g.padding());
                if (y < 0) {
                    Arrays.fill(xp, dst, dst + wp, 0f);
                    continue;
                }
                int src = plane + y * w;
                for (int xq = 0; xq < g.padW(); xq++) {
                    xp[dst + xq] = read(image, src, xq - g.padW(), w, g);
                    xp[dst + wp - 1 - xq] = read(image, src, w + g.padW() - 1 - xq, w, g);
                }
                System.arraycopy(image, src, xp, dst + g.padW(), w);
            }
        }
        return xp;
    }

    private static float read(float[] image, int rowStart, int x, int w, ConvGeometry g) {
        int sx = ConvGeometry.sourceIndex(x, w, g.padding());
        return sx < 0 ? 0f : image[rowStart + sx];
    }

    /** The adjoint of {@link #pad}: each padded position adds into the pixel it was copied from (if any). */
    private static void unpadAccumulate(float[] dxp, ConvGeometry g, float[] imageGrad, int imageOff) {
        int h = g.inH();
        int w = g.inW();
        int hp = paddedH(g);
        int wp = paddedW(g);
        for (int c = 0; c < g.channels(); c++) {
            int plane = imageOff + c * h * w;
            for (int yp = 0; yp < hp; yp++) {
                int y = ConvGeometry.sourceIndex(yp - g.padH(), h, g.padding());
                if (y < 0) {
                    continue;
                }
                int src = (c * hp + yp) * wp;
                int dst = plane + y * w;
                for (int xq = 0; xq < wp; xq++) {
                    int x = ConvGeometry.sourceIndex(xq - g.padW(), w, g.padding());
                    if (x >= 0) {
                        imageGrad[dst + x] += dxp[src + xq];
                    }
                }
            }
        }
    }

    // ===================================================================================== im2col, row-wise

    /**
     * {@link Kernels#im2colRows} for stride 1 along the width: each (tap, output row) of the column matrix is one
     * contiguous run of an input row, copied with arraycopy; only the few padded pixels at its ends are looked
     * up one by one. Writes exactly the values of the scalar reference.
     */
    static void im2colRows(float[] image, int imageOff, ConvGeometry g, int oy0, int oy1, float[] columns) {
        int rows = oy1 - oy0;
        int outW = g.outW();
        int h = g.inH();
        int w = g.inW();
        int row = 0;
        for (int c = 0; c < g.channels(); c++) {
            int plane = imageOff + c * h * w;
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++, row++) {
                    int shift = j * g.dilationW() - g.padW();          // input x = ox + shift
                    int lo = Math.min(outW, Math.max(0, -shift));       // first ox inside the image
                    int hi = Math.max(lo, Math.min(outW, w - shift));    // first ox past it
                    for (int oy = oy0; oy < oy1; oy++) {
                        int dst = (row * rows + oy - oy0) * outW;
                        int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + i * g.dilationH(), h,
                                g.padding());
                        if (y < 0) {
                            Arrays.fill(columns, dst, dst + outW, 0f);
                            continue;
                        }
                        int src = plane + y * w;
                        for (int ox = 0; ox < lo; ox++) {
                            columns[dst + ox] = read(image, src, ox + shift, w, g);
                        }
                        System.arraycopy(image, src + lo + shift, columns, dst + lo, hi - lo);
                        for (int ox = hi; ox < outW; ox++) {
                            columns[dst + ox] = read(image, src, ox + shift, w, g);
                        }
                    }
                }
            }
        }
    }

    /**
     * {@link Kernels#col2imRowsAccumulate} for stride 1 along the width, the adjoint of {@link #im2colRows}: the
     * middle of each run is a vector add. Every image element receives its additions in the reference's order,
     * so the result is bit for bit the reference's.
     */
    static void col2imRowsAccumulate(float[] columns, ConvGeometry g, int oy0, int oy1, float[] imageGrad,
                                     int imageOff) {
        int rows = oy1 - oy0;
        int outW = g.outW();
        int h = g.inH();
        int w = g.inW();
        int row = 0;
        for (int c = 0; c < g.channels(); c++) {
            int plane = imageOff + c * h * w;
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++, row++) {
                    int shift = j * g.dilationW() - g.padW();
                    int lo = Math.min(outW, Math.max(0, -shift));
                    int hi = Math.max(lo, Math.min(outW, w - shift));
                    int vecEnd = lo + S.loopBound(hi - lo);
                    for (int oy = oy0; oy < oy1; oy++) {
                        int col = (row * rows + oy - oy0) * outW;
                        int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + i * g.dilationH(), h,
                                g.padding());
                        if (y < 0) {
                            continue;
                        }
                        int dst = plane + y * w + shift;     // imageGrad index of output pixel ox is dst + ox
                        for (int ox = 0; ox < lo; ox++) {
                            addAt(imageGrad, plane + y * w, ox + shift, w, g, columns[col + ox]);
                        }
                        int ox = lo;
                        for (; ox < vecEnd; ox += L) {
                            FloatVector.fromArray(S, imageGrad, dst + ox)
                                    .add(FloatVector.fromArray(S, columns, col + ox))
                                    .intoArray(imageGrad, dst + ox);
                        }
                        for (; ox < hi; ox++) {
                            imageGrad[dst + ox] += columns[col + ox];
                        }
                        for (ox = hi; ox < outW; ox++) {
                            addAt(imageGrad, plane + y * w, ox + shift, w, g, columns[col + ox]);
                        }
                    }
                }
            }
        }
    }

    private static void addAt(float[] imageGrad, int rowStart, int x, int w, ConvGeometry g, float v) {
        int sx = ConvGeometry.sourceIndex(x, w, g.padding());
        if (sx >= 0) {
            imageGrad[rowStart + sx] += v;
        }
    }
}
