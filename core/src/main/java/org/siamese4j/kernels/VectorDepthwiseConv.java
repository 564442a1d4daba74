package org.siamese4j.kernels;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The Vector API depthwise convolution behind {@link VectorKernels} (the sums are in the "convolution, depthwise"
 * section of {@link Kernels}), for any kernel size, stride, dilation and padding, on planes of any size.
 *
 * <p><b>Phases.</b> Each input plane is first copied, padded, into sH x sW phase planes: phase (r, q) holds padded
 * pixel (a*sH + r, b*sW + q) at row a, column b, in rows of {@code cols = ceil(paddedW / sW)} (with stride 1 the
 * one phase is the padded plane). Tap (i, j) of output pixel (oy, ox) then reads phase ((i*dH) % sH, (j*dW) % sW)
 * at row oy + (i*dH) / sH and column ox + (j*dW) / sW: a stride-1 read whatever the stride.
 *
 * <p><b>Wide rows.</b> Outputs are computed in rows as wide as a phase row ({@code cols}, which is at least outW plus
 * the largest column shift of a tap), so output p = oy*cols + ox reads element p + shift(tap) of its tap's phase:
 * one contiguous run over the whole plane, across rows, with no row tails and no border tests, even where a row is
 * narrower than a vector (a 7x7 plane is a few vectors in all). The extra columns are computed and dropped when the
 * outW real ones of each row are copied out. The gradients lay the output gradient out the same way with zeros in
 * the extra columns (and around the plane), so those add nothing to the weight gradient's sums; the input gradient
 * of a phase is the same kind of sum read the other way round, element p receiving w(tap) * G[p - shift(tap)] from
 * each tap of the phase, the zeros supplying every border.
 *
 * <p>Written for JDK 17's C2 as {@link VectorConv} is: a vector accumulator lives in one loop only.
 *
 * <p>Each kernel works on one image and never forks, so its scratch buffers can be per thread.
 */
final class VectorDepthwiseConv {
    private static final VectorSpecies<Float> S = VectorKernels.SPECIES;
    private static final int L = S.length();
    /** Weight gradient block: 3 taps share each load of the output gradient. */
    private static final int WG_TAPS = 3;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private VectorDepthwiseConv() {
    }

    // ===================================================================================== forward

    /** See {@link Kernels#depthwiseConvForward}. */
    static void forward(float[] image, int imageOff, ConvGeometry g, int multiplier, float[] weight, float[] bias,
                        float[] out, int outOff) {
        Scratch s = SCRATCH.get();
        Layout l = s.layout(g);
        float[] phases = s.phases(l);
        float[] wide = s.wide(l.wide);
        int pixels = l.outH * l.outW;
        for (int c = 0; c < g.channels(); c++) {
            split(image, imageOff + c * l.plane, l, phases);
            for (int m = 0; m < multiplier; m++) {
                int o = c * multiplier + m;
                shiftedSum(phases, l.tapOffset, weight, o * l.taps, l.taps, bias == null ? 0f : bias[o], wide, 0,
                        l.wide);
                for (int oy = 0; oy < l.outH; oy++) {
                    System.arraycopy(wide, oy * l.cols, out, outOff + o * pixels + oy * l.outW, l.outW);
                }
            }
        }
    }

    /**
     * dst[dstOff + p] = init + sum over k &lt; terms of coef[coefOff + k] * src[base[k] + p], for p &lt; n (a whole
     * number of vectors): forward (the taps over the phases) and the input gradient (the taps of a phase over the
     * output gradient) are both this sum.
     */
    private static void shiftedSum(float[] src, int[] base, float[] coef, int coefOff, int terms, float init,
                                   float[] dst, int dstOff, int n) {
        if (terms == 9) {
            shiftedSum9(src, base, coef, coefOff, init, dst, dstOff, n);
            return;
        }
        FloatVector start = FloatVector.broadcast(S, init);
        for (int p = 0; p < n; p += L) {
            FloatVector acc = start;
            for (int k = 0; k < terms; k++) {
                acc = FloatVector.fromArray(S, src, base[k] + p).fma(FloatVector.broadcast(S, coef[coefOff + k]), acc);
            }
            acc.intoArray(dst, dstOff + p);
        }
    }

    /**
     * {@link #shiftedSum} for the 9 taps of a 3x3 filter (forward, and the input gradient at stride 1), with the
     * weights held in registers: 9 loads and 9 multiply-adds per vector of outputs, nothing else.
     */
    private static void shiftedSum9(float[] src, int[] base, float[] coef, int coefOff, float init, float[] dst,
                                    int dstOff, int n) {
        int b0 = base[0], b1 = base[1], b2 = base[2], b3 = base[3], b4 = base[4];
        int b5 = base[5], b6 = base[6], b7 = base[7], b8 = base[8];
        FloatVector w0 = FloatVector.broadcast(S, coef[coefOff]);
        FloatVector w1 = FloatVector.broadcast(S, coef[coefOff + 1]);
        FloatVector w2 = FloatVector.broadcast(S, coef[coefOff + 2]);
        FloatVector w3 = FloatVector.broadcast(S, coef[coefOff + 3]);
        FloatVector w4 = FloatVector.broadcast(S, coef[coefOff + 4]);
        FloatVector w5 = FloatVector.broadcast(S, coef[coefOff + 5]);
        FloatVector w6 = FloatVector.broadcast(S, coef[coefOff + 6]);
        FloatVector w7 = FloatVector.broadcast(S, coef[coefOff + 7]);
        FloatVector w8 = FloatVector.broadcast(S, coef[coefOff + 8]);
        FloatVector start = FloatVector.broadcast(S, init);
        for (int p = 0; p < n; p += L) {
            FloatVector acc = FloatVector.fromArray(S, src, b0 + p).fma(w0, start);
            acc = FloatVector.fromArray(S, src, b1 + p).fma(w1, acc);
            acc = FloatVector.fromArray(S, src, b2 + p).fma(w2, acc);
            acc = FloatVector.fromArray(S, src, b3 + p).fma(w3, acc);
            acc = FloatVector.fromArray(S, src, b4 + p).fma(w4, acc);
            acc = FloatVector.fromArray(S, src, b5 + p).fma(w5, acc);
            acc = FloatVector.fromArray(S, src, b6 + p).fma(w6, acc);
            acc = FloatVector.fromArray(S, src, b7 + p).fma(w7, acc);
            acc = FloatVector.fromArray(S, src, b8 + p).fma(w8, acc);
            acc.intoArray(dst, dstOff + p);
        }
    }

    // ===================================================================================== weight gradient

    /** See {@link Kernels#depthwiseConvWeightGradAccumulate}. */
    static void weightGrad(float[] image, int imageOff, ConvGeometry g, int multiplier, float[] outGrad,
                           int outGradOff, float[] weightGrad) {
        Scratch s = SCRATCH.get();
        Layout l = s.layout(g);
        float[] phases = s.phases(l);
        float[] grad = s.grads(l.gradSize);
        int pixels = l.outH * l.outW;
        for (int c = 0; c < g.channels(); c++) {
            split(image, imageOff + c * l.plane, l, phases);
            for (int m = 0; m < multiplier; m++) {
                int o = c * multiplier + m;
                widen(outGrad, outGradOff + o * pixels, l, grad, 0);
                for (int t0 = 0; t0 < l.taps; t0 += WG_TAPS) {
                    weightGradBlock(phases, l, grad, o, t0, weightGrad);
                }
            }
        }
    }

    /**
     * dW[o, t] for 3 taps from t0, summed over the wide output in 3 vector accumulators (the extra columns hold zero
     * gradients). Taps past the last repeat it and are not written back.
     */
    private static void weightGradBlock(float[] phases, Layout l, float[] grad, int o, int t0, float[] dW) {
        int last = l.taps - 1;
        int x0 = l.tapOffset[t0];
        int x1 = l.tapOffset[Math.min(t0 + 1, last)];
        int x2 = l.tapOffset[Math.min(t0 + 2, last)];
        int g0 = l.shiftMax;
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0;
        for (int p = 0; p < l.wide; p += L) {
            FloatVector q = FloatVector.fromArray(S, grad, g0 + p);
            s0 = q.fma(FloatVector.fromArray(S, phases, x0 + p), s0);
            s1 = q.fma(FloatVector.fromArray(S, phases, x1 + p), s1);
            s2 = q.fma(FloatVector.fromArray(S, phases, x2 + p), s2);
        }
        int w = o * l.taps + t0;
        dW[w] += VectorKernels.sumInOrder(s0);
        if (t0 + 1 <= last) {
            dW[w + 1] += VectorKernels.sumInOrder(s1);
        }
        if (t0 + 2 <= last) {
            dW[w + 2] += VectorKernels.sumInOrder(s2);
        }
    }

    // ===================================================================================== input gradient

    /** See {@link Kernels#depthwiseConvInputGradAccumulate}. */
    static void inputGrad(float[] outGrad, int outGradOff, ConvGeometry g, int multiplier, float[] weight,
                          float[] imageGrad, int imageOff) {
        Scratch s = SCRATCH.get();
        Layout l = s.layout(g);
        float[] grads = s.grads(multiplier * l.gradSize);
        float[] dPhases = s.phaseGrads(l.phases * l.phaseArea);
        int[] base = s.base(multiplier * l.taps);
        float[] coef = s.coef(multiplier * l.taps);
        int pixels = l.outH * l.outW;
        for (int c = 0; c < g.channels(); c++) {
            for (int m = 0; m < multiplier; m++) {
                widen(outGrad, outGradOff + (c * multiplier + m) * pixels, l, grads, m * l.gradSize);
            }
            for (int f = 0; f < l.phases; f++) {
                // element p of phase f receives w[o, t] * G_o[p - shift(t)] for every tap t of the phase and every
                // output channel o of plane c
                int terms = 0;
                for (int m = 0; m < multiplier; m++) {
                    int o = c * multiplier + m;
                    for (int t : l.phaseTaps[f]) {
                        base[terms] = m * l.gradSize + l.shiftMax - l.tapShift[t];
                        coef[terms] = weight[o * l.taps + t];
                        terms++;
                    }
                }
                shiftedSum(grads, base, coef, 0, terms, 0f, dPhases, f * l.phaseArea, l.phaseArea);
            }
            foldAccumulate(dPhases, l, imageGrad, imageOff + c * l.plane);
        }
    }

    // ===================================================================================== layout

    /** Where one geometry's phases, wide rows and taps sit in the scratch buffers. */
    private static final class Layout {
        final ConvGeometry g;
        final int plane;         // H*W of an input plane
        final int taps;          // kH*kW
        final int outH;
        final int outW;
        final int rows;          // of a phase: ceil(paddedH / sH)
        final int cols;          // of a phase: ceil(paddedW / sW), also the width of the wide output rows
        final int phases;        // sH*sW
        final int[] tapShift;    // tap t reads element p + tapShift[t] of its phase for output p
        final int[] tapOffset;   // ... which sits at tapOffset[t] + p in the forward buffer of all phases
        final int[][] phaseTaps; // the taps of each phase
        final int shiftMax;
        final int wide;          // outputs computed: outH*cols rounded up to whole vectors
        final int phaseArea;     // rows*cols rounded up to whole vectors: a phase of the input gradient
        final int phaseSize;     // floats per phase in the forward buffer: its rows, then zeros the last reads see
        final int gradSize;      // floats of one channel's wide output gradient: shiftMax zeros, then phaseArea
        /** [q*cols + b]: the image column that padded column b*sW + q reads, or -1 where it is a zero. */
        final int[] columnSource;
        /** Per column phase q: columns [interiorFrom[q], interiorTo[q]) read image columns b*sW + q - padW. */
        final int[] interiorFrom;
        final int[] interiorTo;

        Layout(ConvGeometry g) {
            this.g = g;
            int sH = g.strideH();
            int sW = g.strideW();
            int paddedH = g.inH() + 2 * g.padH();
            int paddedW = g.inW() + 2 * g.padW();
            plane = g.inH() * g.inW();
            taps = g.kH() * g.kW();
            outH = g.outH();
            outW = g.outW();
            rows = (paddedH + sH - 1) / sH;
            cols = (paddedW + sW - 1) / sW;
            phases = sH * sW;
            int[] tapPhase = new int[taps];
            tapShift = new int[taps];
            int[] perPhase = new int[phases];
            int maxShift = 0;
            for (int i = 0; i < g.kH(); i++) {
                for (int j = 0; j < g.kW(); j++) {
                    int t = i * g.kW() + j;
                    int dy = i * g.dilationH();
                    int dx = j * g.dilationW();
                    tapPhase[t] = (dy % sH) * sW + dx % sW;
                    tapShift[t] = (dy / sH) * cols + dx / sW;
                    maxShift = Math.max(maxShift, tapShift[t]);
                    perPhase[tapPhase[t]]++;
                }
            }
            shiftMax = maxShift;
            phaseTaps = new int[phases][];
            for (int f = 0; f < phases; f++) {
                phaseTaps[f] = new int[perPhase[f]];
                perPhase[f] = 0;
            }
            for (int t = 0; t < taps; t++) {
                phaseTaps[tapPhase[t]][perPhase[tapPhase[t]]++] = t;
            }
            wide = wholeVectors(outH * cols);
            phaseArea = wholeVectors(rows * cols);
            phaseSize = Math.max(rows * cols, wide + shiftMax);
            gradSize = shiftMax + phaseArea;
            tapOffset = new int[taps];
            for (int t = 0; t < taps; t++) {
                tapOffset[t] = tapPhase[t] * phaseSize + tapShift[t];
            }
            columnSource = new int[sW * cols];
            interiorFrom = new int[sW];
            interiorTo = new int[sW];
            for (int q = 0; q < sW; q++) {
                for (int b = 0; b < cols; b++) {
                    int xq = b * sW + q;
                    columnSource[q * cols + b] = xq < paddedW
                            ? ConvGeometry.sourceIndex(xq - g.padW(), g.inW(), g.padding()) : -1;
                }
                // the first b with b*sW + q >= padW, and the first with b*sW + q >= padW + inW
                interiorFrom[q] = Math.max(0, (g.padW() - q + sW - 1) / sW);
                interiorTo[q] = Math.max(interiorFrom[q], (g.padW() + g.inW() - q + sW - 1) / sW);
            }
        }

        private static int wholeVectors(int n) {
            return (n + L - 1) / L * L;
        }
    }

    /**
     * Copies one padded input plane into its phases (the forward buffer: phase f at f*phaseSize). Padded positions
     * read 0 or the mirrored pixel; phase rows and columns past the padded plane read 0.
     */
    private static void split(float[] image, int planeOff, Layout l, float[] phases) {
        ConvGeometry g = l.g;
        int sH = g.strideH();
        int sW = g.strideW();
        int paddedH = g.inH() + 2 * g.padH();
        int[] source = l.columnSource;
        for (int yp = 0; yp < l.rows * sH; yp++) {
            int y = yp < paddedH ? ConvGeometry.sourceIndex(yp - g.padH(), g.inH(), g.padding()) : -1;
            int row = planeOff + y * g.inW();
            for (int q = 0; q < sW; q++) {
                int dst = ((yp % sH) * sW + q) * l.phaseSize + (yp / sH) * l.cols;
                if (y < 0) {
                    Arrays.fill(phases, dst, dst + l.cols, 0f);
                    continue;
                }
                int s0 = q * l.cols;
                int from = l.interiorFrom[q];
                int to = l.interiorTo[q];
                for (int b = 0; b < from; b++) {
                    int x = source[s0 + b];
                    phases[dst + b] = x < 0 ? 0f : image[row + x];
                }
                // inside the image, phase column b reads image column b*sW + q - padW: a run at stride 1, every
                // sW-th value otherwise (a Vector API gather measured no faster than this loop)
                int first = row + from * sW + q - g.padW();
                if (sW == 1) {
                    System.arraycopy(image, first, phases, dst + from, to - from);
                } else {
                    for (int b = from; b < to; b++) {
                        phases[dst + b] = image[first + (b - from) * sW];
                    }
                }
                for (int b = to; b < l.cols; b++) {
                    int x = source[s0 + b];
                    phases[dst + b] = x < 0 ? 0f : image[row + x];
                }
            }
        }
    }

    /**
     * The adjoint of {@link #split} for the input gradient's phases (phase f at f*phaseArea): each padded position
     * adds into the pixel it was read from, if any.
     */
    private static void foldAccumulate(float[] dPhases, Layout l, float[] imageGrad, int planeOff) {
        ConvGeometry g = l.g;
        int sH = g.strideH();
        int sW = g.strideW();
        int paddedH = g.inH() + 2 * g.padH();
        int[] source = l.columnSource;
        for (int yp = 0; yp < paddedH; yp++) {
            int y = ConvGeometry.sourceIndex(yp - g.padH(), g.inH(), g.padding());
            if (y < 0) {
                continue;
            }
            int row = planeOff + y * g.inW();
            for (int q = 0; q < sW; q++) {
                int src = ((yp % sH) * sW + q) * l.phaseArea + (yp / sH) * l.cols;
                int s0 = q * l.cols;
                int from = l.interiorFrom[q];
                int to = l.interiorTo[q];
                for (int b = 0; b < from; b++) {
                    int x = source[s0 + b];
                    if (x >= 0) {
                        imageGrad[row + x] += dPhases[src + b];
                    }
                }
                int first = row + from * sW + q - g.padW();
                if (sW == 1) {
                    addRun(dPhases, src + from, imageGrad, first, to - from);
                } else {
                    for (int b = from; b < to; b++) {
                        imageGrad[first + (b - from) * sW] += dPhases[src + b];
                    }
                }
                for (int b = to; b < l.cols; b++) {
                    int x = source[s0 + b];
                    if (x >= 0) {
                        imageGrad[row + x] += dPhases[src + b];
                    }
                }
            }
        }
    }

    /** dst[dstOff + i] += src[srcOff + i] for i &lt; n. */
    private static void addRun(float[] src, int srcOff, float[] dst, int dstOff, int n) {
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(S, dst, dstOff + i).add(FloatVector.fromArray(S, src, srcOff + i))
                    .intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] += src[srcOff + i];
        }
    }

    /**
     * buffer[off ..] = shiftMax zeros, then the output gradient of one channel in wide rows (zeros in the extra
     * columns), then zeros up to gradSize floats.
     */
    private static void widen(float[] outGrad, int gradOff, Layout l, float[] buffer, int off) {
        Arrays.fill(buffer, off, off + l.shiftMax, 0f);
        int dst = off + l.shiftMax;
        for (int oy = 0; oy < l.outH; oy++, dst += l.cols) {
            System.arraycopy(outGrad, gradOff + oy * l.outW, buffer, dst, l.outW);
            Arrays.fill(buffer, dst + l.outW, dst + l.cols, 0f);
        }
        Arrays.fill(buffer, dst, off + l.gradSize, 0f);
    }

    /** Per-thread buffers, grown to the largest layer seen, and the layout of the last geometry. */
    private static final class Scratch {
        private Layout layout;
        private float[] phases = new float[0];
        private float[] wide = new float[0];
        private float[] grads = new float[0];
        private float[] phaseGrads = new float[0];
        private int[] base = new int[0];
        private float[] coef = new float[0];

        Layout layout(ConvGeometry g) {
            if (layout == null || !layout.g.equals(g)) {
                layout = new Layout(g);
            }
            return layout;
        }

        /** The forward buffer of all phases, with the zeros past each phase's rows written. */
        float[] phases(Layout l) {
            int size = l.phases * l.phaseSize;
            if (phases.length < size) {
                phases = new float[size];
            }
            for (int f = 0; f < l.phases; f++) {
                Arrays.fill(phases, f * l.phaseSize + l.rows * l.cols, (f + 1) * l.phaseSize, 0f);
            }
            return phases;
        }

        float[] wide(int size) {
            if (wide.length < size) {
                wide = new float[size];
            }
            return wide;
        }

        float[] grads(int size) {
            if (grads.length < size) {
                grads = new float[size];
            }
            return grads;
        }

        float[] phaseGrads(int size) {
            if (phaseGrads.length < size) {
                phaseGrads = new float[size];
            }
            return phaseGrads;
        }

        int[] base(int size) {
            if (base.length < size) {
                base = new int[size];
            }
            return base;
        }

        float[] coef(int size) {
            if (coef.length < size) {
                coef = new float[size];
            }
            return coef;
        }
    }
}
