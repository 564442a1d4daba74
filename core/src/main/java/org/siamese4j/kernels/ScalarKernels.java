package org.siamese4j.kernels;

/**
 * Plain-Java kernels: the reference implementation. Written to be obviously correct (loops that read like
 * the maths), not fast; every other implementation is tested against this one.
 */
public class ScalarKernels implements Kernels {

    @Override
    public String name() {
        return "scalar";
    }

    // ===================================================================================== matrix multiply

    /** Row panels of height 1: A is plain row-major. */
    @Override
    public int gemmPanelRows() {
        return 1;
    }

    /** As {@link #gemm}'s loop, reading A through the panel layout's index map. */
    @Override
    public void gemmPackedA(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff) {
        int h = gemmPanelRows();
        GemmChecks.checkPackedA(m, n, k, h, a, aOff, b, bOff, c, cOff);
        for (int i = 0; i < m; i++) {
            int aRow = aOff + (i / h) * h * k + i % h;
            int cRow = cOff + i * n;
            java.util.Arrays.fill(c, cRow, cRow + n, 0f);
            for (int p = 0; p < k; p++) {
                float aip = a[aRow + p * h];
                int bRow = bOff + p * n;
                for (int j = 0; j < n; j++) {
                    c[cRow + j] += aip * b[bRow + j];
                }
            }
        }
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k,
                     float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, boolean accumulate) {
        GemmChecks.check(transA, transB, m, n, k, a, aOff, b, bOff, c, cOff);
        // i-p-j order: the inner loop walks rows of B and C contiguously when B is not transposed.
        if (!accumulate) {
            for (int i = 0; i < m; i++) {
                java.util.Arrays.fill(c, cOff + i * n, cOff + i * n + n, 0f);
            }
        }
        for (int i = 0; i < m; i++) {
            int cRow = cOff + i * n;
            for (int p = 0; p < k; p++) {
                float aip = transA ? a[aOff + p * m + i] : a[aOff + i * k + p];
                if (transB) {
                    for (int j = 0; j < n; j++) {
                        c[cRow + j] += aip * b[bOff + j * k + p];
                    }
                } else {
                    int bRow = bOff + p * n;
                    for (int j = 0; j < n; j++) {
                        c[cRow + j] += aip * b[bRow + j];
                    }
                }
            }
        }
    }

    // ===================================================================================== convolution

    @Override
    public void im2col(float[] image, int imageOff, ConvGeometry g, float[] columns) {
        int outH = g.outH();
        int outW = g.outW();
        int row = 0;
        for (int ch = 0; ch < g.channels(); ch++) {
            int plane = imageOff + ch * g.inH() * g.inW();
            for (int ki = 0; ki < g.kH(); ki++) {
                for (int kj = 0; kj < g.kW(); kj++, row++) {
                    int col = row * outH * outW;
                    for (int oy = 0; oy < outH; oy++) {
                        int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + ki * g.dilationH(),
                                g.inH(), g.padding());
                        for (int ox = 0; ox < outW; ox++, col++) {
                            int x = ConvGeometry.sourceIndex(ox * g.strideW() - g.padW() + kj * g.dilationW(),
                                    g.inW(), g.padding());
                            columns[col] = (y < 0 || x < 0) ? 0f : image[plane + y * g.inW() + x];
                        }
                    }
                }
            }
        }
    }

    @Override
    public void col2imAccumulate(float[] columns, ConvGeometry g, float[] imageGrad, int imageOff) {
        int outH = g.outH();
        int outW = g.outW();
        int row = 0;
        for (int ch = 0; ch < g.channels(); ch++) {
            int plane = imageOff + ch * g.inH() * g.inW();
            for (int ki = 0; ki < g.kH(); ki++) {
                for (int kj = 0; kj < g.kW(); kj++, row++) {
                    int col = row * outH * outW;
                    for (int oy = 0; oy < outH; oy++) {
                        int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + ki * g.dilationH(),
                                g.inH(), g.padding());
                        for (int ox = 0; ox < outW; ox++, col++) {
                            int x = ConvGeometry.sourceIndex(ox * g.strideW() - g.padW() + kj * g.dilationW(),
                                    g.inW(), g.padding());
                            if (y >= 0 && x >= 0) {
                                imageGrad[plane + y * g.inW() + x] += columns[col];
                            }
                        }
                    }
                }
            }
        }
    }

    // ===================================================================================== convolution, direct
    // The reference for the direct kernels: the sums of Kernels' "convolution, direct" section written out,
    // with padding looked up per tap exactly as im2col does; then the bias gradient, and im2col / col2im over a
    // band of output rows.

    @Override
    public void convDirectForward(float[] image, int imageOff, ConvGeometry g, float[] weight, float[] bias,
                                  int outChannels, float[] out, int outOff, int firstRow, int endRow) {
        int outW = g.outW();
        int taps = g.patchSize();
        int o2 = outOff;
        for (int o = 0; o < outChannels; o++) {
            for (int oy = firstRow; oy < endRow; oy++) {
                for (int ox = 0; ox < outW; ox++, o2++) {
                    float s = bias == null ? 0f : bias[o];
                    int t = o * taps;
                    for (int c = 0; c < g.channels(); c++) {
                        int plane = imageOff + c * g.inH() * g.inW();
                        for (int i = 0; i < g.kH(); i++) {
                            int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + i * g.dilationH(),
                                    g.inH(), g.padding());
                            for (int j = 0; j < g.kW(); j++, t++) {
                                int x = ConvGeometry.sourceIndex(ox * g.strideW() - g.padW() + j * g.dilationW(),
                                        g.inW(), g.padding());
                                if (y >= 0 && x >= 0) {
                                    s += weight[t] * image[plane + y * g.inW() + x];
                                }
                            }
                        }
                    }
                    out[o2] = s;
                }
            }
        }
    }

    @Override
    public void convDirectWeightGradAccumulate(float[] image, int imageOff, ConvGeometry g, float[] outGrad,
                                               int outGradOff, int outChannels, float[] weightGrad) {
        int outH = g.outH();
        int outW = g.outW();
        int t = 0;
        for (int o = 0; o < outChannels; o++) {
            int gPlane = outGradOff + o * outH * outW;
            for (int c = 0; c < g.channels(); c++) {
                int plane = imageOff + c * g.inH() * g.inW();
                for (int i = 0; i < g.kH(); i++) {
                    for (int j = 0; j < g.kW(); j++, t++) {
                        float s = 0f;
                        for (int oy = 0; oy < outH; oy++) {
                            int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + i * g.dilationH(),
                                    g.inH(), g.padding());
                            for (int ox = 0; ox < outW; ox++) {
                                int x = ConvGeometry.sourceIndex(ox * g.strideW() - g.padW() + j * g.dilationW(),
                                        g.inW(), g.padding());
                                if (y >= 0 && x >= 0) {
                                    s += outGrad[gPlane + oy * outW + ox] * image[plane + y * g.inW() + x];
                                }
                            }
                        }
                        weightGrad[t] += s;
                    }
                }
            }
        }
    }

    @Override
    public void convDirectInputGradAccumulate(float[] outGrad, int outGradOff, ConvGeometry g, float[] weight,
                                              int outChannels, float[] imageGrad, int imageOff) {
        int outH = g.outH();
        int outW = g.outW();
        int t = 0;
        for (int o = 0; o < outChannels; o++) {
            int gPlane = outGradOff + o * outH * outW;
            for (int c = 0; c < g.channels(); c++) {
                int plane = imageOff + c * g.inH() * g.inW();
                for (int i = 0; i < g.kH(); i++) {
                    for (int j = 0; j < g.kW(); j++, t++) {
                        float w = weight[t];
                        for (int oy = 0; oy < outH; oy++) {
                            int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + i * g.dilationH(),
                                    g.inH(), g.padding());
                            for (int ox = 0; ox < outW; ox++) {
                                int x = ConvGeometry.sourceIndex(ox * g.strideW() - g.padW() + j * g.dilationW(),
                                        g.inW(), g.padding());
                                if (y >= 0 && x >= 0) {
                                    imageGrad[plane + y * g.inW() + x] += w * outGrad[gPlane + oy * outW + ox];
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    public void convBiasGradAccumulate(float[] outGrad, int outGradOff, int outChannels, int pixels,
                                       double[] biasGrad) {
        for (int o = 0; o < outChannels; o++) {
            double s = 0;
            for (int p = 0, i = outGradOff + o * pixels; p < pixels; p++, i++) {
                s += outGrad[i];
            }
            biasGrad[o] += s;
        }
    }

    @Override
    public void im2colRows(float[] image, int imageOff, ConvGeometry g, int oy0, int oy1, float[] columns) {
        int outW = g.outW();
        int col = 0;
        for (int ch = 0; ch < g.channels(); ch++) {
            int plane = imageOff + ch * g.inH() * g.inW();
            for (int ki = 0; ki < g.kH(); ki++) {
                for (int kj = 0; kj < g.kW(); kj++) {
                    for (int oy = oy0; oy < oy1; oy++) {
                        int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + ki * g.dilationH(),
                                g.inH(), g.padding());
                        for (int ox = 0; ox < outW; ox++, col++) {
                            int x = ConvGeometry.sourceIndex(ox * g.strideW() - g.padW() + kj * g.dilationW(),
                                    g.inW(), g.padding());
                            columns[col] = (y < 0 || x < 0) ? 0f : image[plane + y * g.inW() + x];
                        }
                    }
                }
            }
        }
    }

    @Override
    public void col2imRowsAccumulate(float[] columns, ConvGeometry g, int oy0, int oy1, float[] imageGrad,
                                     int imageOff) {
        int outW = g.outW();
        int col = 0;
        for (int ch = 0; ch < g.channels(); ch++) {
            int plane = imageOff + ch * g.inH() * g.inW();
            for (int ki = 0; ki < g.kH(); ki++) {
                for (int kj = 0; kj < g.kW(); kj++) {
                    for (int oy = oy0; oy < oy1; oy++) {
                        int y = ConvGeometry.sourceIndex(oy * g.strideH() - g.padH() + ki * g.dilationH(),
                                g.inH(), g.padding());
                        for (int ox = 0; ox < outW; ox++, col++) {
                            int x = ConvGeometry.sourceIndex(ox * g.strideW() - g.padW() + kj * g.dilationW(),
                                    g.inW(), g.padding());
                            if (y >= 0 && x >= 0) {
                                imageGrad[plane + y * g.inW() + x] += columns[col];
                            }
                        }
                    }
                }
            }
        }
    }

    // ===================================================================================== convolution, depthwise
    // The reference: each input plane is a one-channel convolution with multiplier output channels, so it runs
    // through the direct reference above on that plane, its filters and its slice of the output.

    @Override
    public void depthwiseConvForward(float[] image, int imageOff, ConvGeometry g, int multiplier, float[] weight,
                                     float[] bias, float[] out, int outOff) {
        ConvGeometry plane = g.withChannels(1);
        int filters = multiplier * plane.patchSize();
        float[] w = new float[filters];
        float[] b = bias == null ? null : new float[multiplier];
        for (int c = 0; c < g.channels(); c++) {
            System.arraycopy(weight, c * filters, w, 0, filters);
            if (b != null) {
                System.arraycopy(bias, c * multiplier, b, 0, multiplier);
            }
            convDirectForward(image, imageOff + c * plane.imageSize(), plane, w, b, multiplier, out,
                    outOff + c * multiplier * plane.outPixels(), 0, plane.outH());
        }
    }

    @Override
    public void depthwiseConvWeightGradAccumulate(float[] image, int imageOff, ConvGeometry g, int multiplier,
                                                  float[] outGrad, int outGradOff, float[] weightGrad) {
        ConvGeometry plane = g.withChannels(1);
        int filters = multiplier * plane.patchSize();
        float[] dw = new float[filters];
        for (int c = 0; c < g.channels(); c++) {
            // dw starts at 0, so each of its sums is added into weightGrad exactly as the direct reference adds it
            java.util.Arrays.fill(dw, 0f);
            convDirectWeightGradAccumulate(image, imageOff + c * plane.imageSize(), plane, outGrad,
                    outGradOff + c * multiplier * plane.outPixels(), multiplier, dw);
            for (int t = 0; t < filters; t++) {
                weightGrad[c * filters + t] += dw[t];
            }
        }
    }

    @Override
    public void depthwiseConvInputGradAccumulate(float[] outGrad, int outGradOff, ConvGeometry g, int multiplier,
                                                 float[] weight, float[] imageGrad, int imageOff) {
        ConvGeometry plane = g.withChannels(1);
        int filters = multiplier * plane.patchSize();
        float[] w = new float[filters];
        for (int c = 0; c < g.channels(); c++) {
            System.arraycopy(weight, c * filters, w, 0, filters);
            convDirectInputGradAccumulate(outGrad, outGradOff + c * multiplier * plane.outPixels(), plane, w,
                    multiplier, imageGrad, imageOff + c * plane.imageSize());
        }
    }

    // ===================================================================================== pooling

    @Override
    public void reluMaxPool2(float[] y, int planes, int h, int w, float[] out, int outOff, int outPlaneStride,
                             byte[] argmax) {
        int pooledH = h / 2;
        int pooledW = w / 2;
        for (int p = 0; p < planes; p++) {
            for (int oy = 0; oy < pooledH; oy++) {
                reluMaxPool2Row(y, p * h * w + 2 * oy * w, w, 0, pooledW, out,
                        outOff + p * outPlaneStride + oy * pooledW, argmax);
            }
        }
    }

    /**
     * Pooled outputs ox0 .. ox1-1 of one output row, from the input row pair starting at y[row] (width w), to
     * out[o] onwards: the reference loop, and the vector kernel's tail.
     */
    static void reluMaxPool2Row(float[] y, int row, int w, int ox0, int ox1, float[] out, int o, byte[] argmax) {
        int r0 = row;
        int r1 = row + w;
        for (int ox = ox0; ox < ox1; ox++) {
            int where = reluMaxOf4(y[r0 + 2 * ox], y[r0 + 2 * ox + 1], y[r1 + 2 * ox], y[r1 + 2 * ox + 1], out, o + ox);
            if (argmax != null) {
                argmax[o + ox] = (byte) where;
            }
        }
    }

    /**
     * out[at] = the largest of relu(v0 .. v3), a window's top-left, top-right, bottom-left and bottom-right
     * values. Returns its position 0..3, or -1 when it is not positive (no gradient flows). The first maximum
     * wins, and a NaN replaces the current best, so NaN is never hidden.
     */
    static int reluMaxOf4(float v0, float v1, float v2, float v3, float[] out, int at) {
        float best = Math.max(v0, 0f);     // NaN stays NaN, as in relu
        int where = 0;
        float v = Math.max(v1, 0f);
        if (v > best || v != v) {
            best = v;
            where = 1;
        }
        v = Math.max(v2, 0f);
        if (v > best || v != v) {
            best = v;
            where = 2;
        }
        v = Math.max(v3, 0f);
        if (v > best || v != v) {
            best = v;
            where = 3;
        }
        out[at] = best;
        return best > 0f ? where : -1;
    }

    @Override
    public void reluMaxOf4(float[] v, int first, int second, int third, int fourth, int n, float bias, float[] out,
                           int outOff, float[] where) {
        for (int t = 0; t < n; t++) {
            int position = reluMaxOf4(v[first + t] + bias, v[second + t] + bias, v[third + t] + bias,
                    v[fourth + t] + bias, out, outOff + t);
            if (where != null) {
                where[outOff + t] = position;
            }
        }
    }

    @Override
    public void winogradInputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                       int count) {
        int i1 = in0 + inStride;
        int i2 = i1 + inStride;
        int i3 = i2 + inStride;
        int i4 = i3 + inStride;
        int i5 = i4 + inStride;
        for (int m = 0; m < count; m++) {
            float d0 = in[in0 + m];
            float d1 = in[i1 + m];
            float d2 = in[i2 + m];
            float d3 = in[i3 + m];
            float d4 = in[i4 + m];
            float d5 = in[i5 + m];
            // the rows of B^T: (4 0 -5 0 1 0), (0 -4 -4 1 1 0), (0 4 -4 -1 1 0), (0 -2 -1 2 1 0),
            // (0 2 -1 -2 1 0), (0 4 0 -5 0 1)
            out[out0 + m] = 4f * d0 - 5f * d2 + d4;
            out[out0 + outStride + m] = -4f * (d1 + d2) + d3 + d4;
            out[out0 + 2 * outStride + m] = 4f * (d1 - d2) - d3 + d4;
            out[out0 + 3 * outStride + m] = 2f * (d3 - d1) - d2 + d4;
            out[out0 + 4 * outStride + m] = 2f * (d1 - d3) - d2 + d4;
            out[out0 + 5 * outStride + m] = 4f * d1 - 5f * d3 + d5;
        }
    }

    @Override
    public void winogradOutputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                        int count) {
        int i1 = in0 + inStride;
        int i2 = i1 + inStride;
        int i3 = i2 + inStride;
        int i4 = i3 + inStride;
        int i5 = i4 + inStride;
        for (int t = 0; t < count; t++) {
            float q1 = in[i1 + t];
            float q2 = in[i2 + t];
            float q3 = in[i3 + t];
            float q4 = in[i4 + t];
            // the rows of A^T: (1 1 1 1 1 0), (0 1 -1 2 -2 0), (0 1 1 4 4 0), (0 1 -1 8 -8 1)
            float sum12 = q1 + q2;
            float diff12 = q1 - q2;
            float sum34 = q3 + q4;
            float diff34 = q3 - q4;
            out[out0 + t] = in[in0 + t] + sum12 + sum34;
            out[out0 + outStride + t] = diff12 + 2f * diff34;
            out[out0 + 2 * outStride + t] = sum12 + 4f * sum34;
            out[out0 + 3 * outStride + t] = diff12 + 8f * diff34 + in[i5 + t];
        }
    }

    @Override
    public void winogradGradientTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                          int count) {
        int i1 = in0 + inStride;
        int i2 = i1 + inStride;
        int i3 = i2 + inStride;
        for (int m = 0; m < count; m++) {
            float g0 = in[in0 + m];
            float g1 = in[i1 + m];
            float g2 = in[i2 + m];
            float g3 = in[i3 + m];
            // the rows of G': (1/4 0 0 0), -1/6 (1 1 1 1), -1/6 (1 -1 1 -1), (1/24 1/12 1/6 1/3),
            // (1/24 -1/12 1/6 -1/3), (0 0 0 1)
            float even = g0 + g2;
            float odd = g1 + g3;
            out[out0 + m] = 0.25f * g0;
            out[out0 + outStride + m] = -WinogradConv.SIXTH * (even + odd);
            out[out0 + 2 * outStride + m] = -WinogradConv.SIXTH * (even - odd);
            float even4 = WinogradConv.TWENTY_FOURTH * g0 + WinogradConv.SIXTH * g2;
            float odd4 = WinogradConv.TWELFTH * g1 + WinogradConv.THIRD * g3;
            out[out0 + 3 * outStride + m] = even4 + odd4;
            out[out0 + 4 * outStride + m] = even4 - odd4;
            out[out0 + 5 * outStride + m] = g3;
        }
    }

    @Override
    public void winogradWeightOutputTransform(float[] in, int in0, int inStride, float[] out, int out0,
                                              int outStride, int count) {
        int i1 = in0 + inStride;
        int i2 = i1 + inStride;
        int i3 = i2 + inStride;
        int i4 = i3 + inStride;
        int i5 = i4 + inStride;
        for (int m = 0; m < count; m++) {
            float p1 = in[i1 + m];
            float p2 = in[i2 + m];
            float p3 = in[i3 + m];
            float p4 = in[i4 + m];
            // the rows of A'^T: (1 1 1 1 1 0), (0 1 -1 2 -2 0), (0 1 1 4 4 1)
            float sum12 = p1 + p2;
            float sum34 = p3 + p4;
            out[out0 + m] = in[in0 + m] + sum12 + sum34;
            out[out0 + outStride + m] = p1 - p2 + 2f * (p3 - p4);
            out[out0 + 2 * outStride + m] = sum12 + 4f * sum34 + in[i5 + m];
        }
    }

    @Override
    public void reluMaxPool2Backward(float[] outGrad, byte[] argmax, int outOff, int planes, int h, int w,
                                     float[] yGrad) {
        java.util.Arrays.fill(yGrad, 0, planes * h * w, 0f);
        int pooledH = h / 2;
        int pooledW = w / 2;
        int o = outOff;
        for (int p = 0; p < planes; p++) {
            for (int oy = 0; oy < pooledH; oy++) {
                int r0 = p * h * w + 2 * oy * w;
                for (int ox = 0; ox < pooledW; ox++, o++) {
                    int where = argmax[o];
                    if (where >= 0) {
                        yGrad[r0 + 2 * ox + (where & 1) + (where >> 1) * w] = outGrad[o];
                    }
                }
            }
        }
    }

    @Override
    public void maxPool2d(float[] in, PoolGeometry g, float[] out, int[] argmax) {
        int outH = g.outH();
        int outW = g.outW();
        int o = 0;
        for (int p = 0; p < g.planes(); p++) {
            int plane = p * g.inH() * g.inW();
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++, o++) {
                    float best = Float.NEGATIVE_INFINITY;
                    int bestIndex = -1;
                    for (int ki = 0; ki < g.kH(); ki++) {
                        int y = oy * g.strideH() - g.padH() + ki;
                        if (y < 0 || y >= g.inH()) {
                            continue;
                        }
                        for (int kj = 0; kj < g.kW(); kj++) {
                            int x = ox * g.strideW() - g.padW() + kj;
                            if (x < 0 || x >= g.inW()) {
                                continue;
                            }
                            int idx = plane + y * g.inW() + x;
                            // '>' keeps the first maximum, and a NaN wins so it is not hidden.
                            if (in[idx] > best || bestIndex < 0 || Float.isNaN(in[idx])) {
                                best = in[idx];
                                bestIndex = idx;
                            }
                        }
                    }
                    out[o] = best;
                    argmax[o] = bestIndex;
                }
            }
        }
    }

    @Override
    public void maxPool2dBackwardAccumulate(float[] outGrad, int[] argmax, float[] inGrad) {
        for (int o = 0; o < argmax.length; o++) {
            inGrad[argmax[o]] += outGrad[o];
        }
    }

    @Override
    public void avgPool2d(float[] in, PoolGeometry g, float[] out) {
        int outH = g.outH();
        int outW = g.outW();
        float inv = 1f / (g.kH() * g.kW());
        int o = 0;
        for (int p = 0; p < g.planes(); p++) {
            int plane = p * g.inH() * g.inW();
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++, o++) {
                    float s = 0f;
                    for (int ki = 0; ki < g.kH(); ki++) {
                        int y = oy * g.strideH() - g.padH() + ki;
                        for (int kj = 0; kj < g.kW(); kj++) {
                            int x = ox * g.strideW() - g.padW() + kj;
                            if (y >= 0 && y < g.inH() && x >= 0 && x < g.inW()) {
                                s += in[plane + y * g.inW() + x];
                            }
                        }
                    }
                    out[o] = s * inv;
                }
            }
        }
    }

    @Override
    public void avgPool2dBackwardAccumulate(float[] outGrad, PoolGeometry g, float[] inGrad) {
        int outH = g.outH();
        int outW = g.outW();
        float inv = 1f / (g.kH() * g.kW());
        int o = 0;
        for (int p = 0; p < g.planes(); p++) {
            int plane = p * g.inH() * g.inW();
            for (int oy = 0; oy < outH; oy++) {
                for (int ox = 0; ox < outW; ox++, o++) {
                    float share = outGrad[o] * inv;
                    for (int ki = 0; ki < g.kH(); ki++) {
                        int y = oy * g.strideH() - g.padH() + ki;
                        for (int kj = 0; kj < g.kW(); kj++) {
                            int x = ox * g.strideW() - g.padW() + kj;
                            if (y >= 0 && y < g.inH() && x >= 0 && x < g.inW()) {
                                inGrad[plane + y * g.inW() + x] += share;
                            }
                        }
                    }
                }
            }
        }
    }

    // ===================================================================================== elementwise

    @Override
    public void add(float[] a, float[] b, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = a[i] + b[i];
        }
    }

    @Override
    public void sub(float[] a, float[] b, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = a[i] - b[i];
        }
    }

    @Override
    public void mul(float[] a, float[] b, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = a[i] * b[i];
        }
    }

    @Override
    public void scale(float alpha, float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = alpha * x[i];
        }
    }

    @Override
    public void axpy(float alpha, float[] x, float[] y, int n) {
        for (int i = 0; i < n; i++) {
            y[i] += alpha * x[i];
        }
    }

    @Override
    public void relu(float[] x, float[] out, int n) {
        for (int i = 0; i < n; i++) {
            out[i] = Math.max(x[i], 0f);     // NaN stays NaN, so a diverging run is not hidden
        }
    }

    @Override
    public void reluBackwardAccumulate(float[] x, float[] outGrad, float[] inGrad, int n) {
        for (int i = 0; i < n; i++) {
            if (x[i] > 0f) {
                inGrad[i] += outGrad[i];
            }
        }
    }

    @Override
    public double sum(float[] x, int off, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += x[off + i];
        }
        return s;
    }

    @Override
    public double dot(float[] a, int aOff, float[] b, int bOff, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += (double) a[aOff + i] * b[bOff + i];
        }
        return s;
    }

    @Override
    public void addBias(float[] x, float[] bias, int batch, int channels, int inner) {
        int i = 0;
        for (int b = 0; b < batch; b++) {
            for (int c = 0; c < channels; c++) {
                float v = bias[c];
                for (int j = 0; j < inner; j++, i++) {
                    x[i] += v;
                }
            }
        }
    }

    // ===================================================================================== optimisers

    @Override
    public void adamStep(float[] w, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2,
                         float eps, float bias1, float bias2, float weightDecay, boolean decoupled) {
        float sqrtBias2 = (float) Math.sqrt(bias2);
        for (int i = 0; i < n; i++) {
            float gi = g[i];
            if (decoupled) {
                w[i] -= lr * weightDecay * w[i];
            } else {
                gi += weightDecay * w[i];
            }
            m[i] = beta1 * m[i] + (1f - beta1) * gi;
            v[i] = beta2 * v[i] + (1f - beta2) * gi * gi;
            // PyTorch's form: w -= lr/bias1 * m / (sqrt(v)/sqrt(bias2) + eps)
            w[i] -= (lr / bias1) * m[i] / ((float) Math.sqrt(v[i]) / sqrtBias2 + eps);
        }
    }

    @Override
    public void sgdStep(float[] w, float[] g, float[] buf, int n, float lr, float momentum, float dampening,
                        float weightDecay, boolean nesterov, boolean firstStep) {
        for (int i = 0; i < n; i++) {
            float d = g[i] + weightDecay * w[i];
            if (momentum != 0f) {
                buf[i] = firstStep ? d : momentum * buf[i] + (1f - dampening) * d;
                d = nesterov ? d + momentum * buf[i] : buf[i];
            }
            w[i] -= lr * d;
        }
    }
}
