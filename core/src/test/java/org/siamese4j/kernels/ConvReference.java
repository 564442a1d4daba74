package org.siamese4j.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import org.siamese4j.kernels.ConvGeometry.PaddingMode;

/**
 * Test helper: a grouped 2-D convolution and its three gradients written out from the definition and computed in
 * double, with the sum of |terms| of every value (what float32 rounding is measured against). For x [N, C, H, W]
 * (C = g.channels()), weight [O, C/groups, kH, kW], bias [O] (may be null) and an output gradient G:
 * <pre>
 *   out[n, o, oy, ox] = b[o] + sum over the channels c of o's group, i, j of w[o, c', i, j] * xpad[n, c, oy*sH + i*dH, ox*sW + j*dW]
 *   dW[o, c', i, j]  = sum over n, oy, ox of G[n, o, oy, ox] * xpad[...]       dx[...] = sum of G * w       db[o] = sum of G
 * </pre>
 * with c' = c - group*C/groups and xpad read through {@link #source} (a reflected position adds into the pixel it
 * mirrors).
 */
public final class ConvReference {
    public final double[] out;
    public final double[] outMagnitude;
    public final double[] dx;
    public final double[] dxMagnitude;
    public final double[] dw;
    public final double[] dwMagnitude;
    public final double[] db;
    public final double[] dbMagnitude;

    public ConvReference(ConvGeometry g, int images, int outChannels, int groups, float[] x, float[] w, float[] bias,
                         float[] outGrad) {
        int outH = g.outH();
        int outW = g.outW();
        int groupIn = g.channels() / groups;
        int groupOut = outChannels / groups;
        int channels = g.channels();
        out = new double[images * outChannels * outH * outW];
        outMagnitude = new double[out.length];
        dx = new double[x.length];
        dxMagnitude = new double[x.length];
        dw = new double[w.length];
        dwMagnitude = new double[w.length];
        db = new double[outChannels];
        dbMagnitude = new double[outChannels];
        for (int n = 0; n < images; n++) {
            for (int o = 0; o < outChannels; o++) {
                int group = o / groupOut;
                for (int oy = 0; oy < outH; oy++) {
                    for (int ox = 0; ox < outW; ox++) {
                        int yi = ((n * outChannels + o) * outH + oy) * outW + ox;
                        double gv = outGrad[yi];
                        double s = bias == null ? 0 : bias[o];
                        double mag = Math.abs(s);
                        db[o] += gv;
                        dbMagnitude[o] += Math.abs(gv);
                        for (int ci = 0; ci < groupIn; ci++) {
                            int c = group * groupIn + ci;
                            for (int i = 0; i < g.kH(); i++) {
                                int y = source(oy * g.strideH() - g.padH() + i * g.dilationH(), g.inH(), g.padding());
                                for (int j = 0; j < g.kW(); j++) {
                                    int xx = source(ox * g.strideW() - g.padW() + j * g.dilationW(), g.inW(),
                                            g.padding());
                                    if (y < 0 || xx < 0) {
                                        continue;
                                    }
                                    int xi = ((n * channels + c) * g.inH() + y) * g.inW() + xx;
                                    int wi = ((o * groupIn + ci) * g.kH() + i) * g.kW() + j;
                                    double product = (double) w[wi] * x[xi];
                                    s += product;
                                    mag += Math.abs(product);
                                    dw[wi] += gv * x[xi];
                                    dwMagnitude[wi] += Math.abs(gv * x[xi]);
                                    dx[xi] += gv * w[wi];
                                    dxMagnitude[xi] += Math.abs(gv * w[wi]);
                                }
                            }
                        }
                        out[yi] = s;
                        outMagnitude[yi] = mag;
                    }
                }
            }
        }
    }

    /** Where padded coordinate p reads from in an axis of length n, or -1 for a zero; from the definition. */
    public static int source(int p, int n, PaddingMode mode) {
        if (p >= 0 && p < n) {
            return p;
        }
        if (mode == PaddingMode.ZEROS) {
            return -1;
        }
        // reflect about the edge element, which is not repeated: index -1 reads 1, index n reads n-2
        return p < 0 ? -p : 2 * (n - 1) - p;
    }

    /**
     * actual[off + i] is within 1e-5 * magnitude[i] + 1e-6 of expected[i] for every i. float32 summation of n
     * terms errs by at most about n * 6e-8 * sum|terms|, so this holds for sums of up to a few thousand terms, while
     * a missing, doubled or misplaced term is off by about sum|terms| / n.
     */
    public static void assertClose(float[] actual, int off, double[] expected, double[] magnitude, String what) {
        assertThat(actual.length).as("%s: length", what).isGreaterThanOrEqualTo(off + expected.length);
        for (int i = 0; i < expected.length; i++) {
            double tol = 1e-5 * magnitude[i] + 1e-6;
            assertThat(Math.abs(actual[off + i] - expected[i]))
                    .as("%s element %d: %s vs %s", what, i, actual[off + i], expected[i])
                    .isLessThanOrEqualTo(tol);
        }
    }
}
