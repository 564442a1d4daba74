package org.siamese4j.kernels;

import org.siamese4j.kernels.ConvGeometry.PaddingMode;

/**
 * 3x3 convolution, stride 1, zero padding 1 (a "same" convolution: output H x W), by Winograd's minimal filtering
 * algorithm F(2x2, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
 *
 * <p>A 2x2 block of outputs of one channel pair needs 36 multiplies done directly (4 outputs x 9 taps). Winograd
 * gets it from the 4x4 input tile d that covers it with 16: transform the tile and the filter g,
 * <pre>
 *   V = B^T d B,   U = G g G^T           (both 4x4)
 *   Y = A^T (U .* V) A                    (.* elementwise; Y is the 2x2 output block)
 * </pre>
 * with
 * <pre>
 *   B^T = | 1  0 -1  0 |     G = | 1    0    0   |     A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |         | 1/2  1/2  1/2 |           | 0  1 -1 -1 |
 *         | 0 -1  1  0 |         | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |         | 0    0    1   |
 * </pre>
 * Summed over input channels, the elementwise products become 16 independent matrix products, one per position
 * xi of the 4x4 transformed tile:
 * <pre>
 *   M[xi] [O, T] = U[xi] [O, C] * V[xi] [C, T]      (T = number of 2x2 output tiles)
 * </pre>
 * which run on the GEMM. That is 16 * O * C * T = 4 * O * C * H * W multiply-adds against im2col's
 * 9 * O * C * H * W: 2.25 times fewer. The transforms are additions only (and halves, exact in binary), cheap
 * next to the products once C and O are a few dozen. The filter transform writes each U[xi] straight into the
 * row panels of {@link Kernels#gemmPackedA}, which reads V[xi] in place, so the 16 products of every image skip
 * the GEMM's packing (which for these short products costs about as much as the multiply-adds). With a 2x2 max
 * pool after the convolution, {@link #convolveReluMaxPool2} pools each tile's outputs as they are made.
 *
 * <p>Rounding differs from im2col's (the transforms add and subtract before multiplying), by a few float32 ulps
 * of the sums' magnitudes for these small transforms; the convolution tests bound it like any other path.
 *
 * <p>The input gradient of a same 3x3 convolution is itself a same 3x3 convolution, of the output gradient with
 * the filters turned by 180 degrees and their channel axes swapped, so backward reuses {@link #convolve} with
 * {@link #transformFlippedFilters}. The weight gradient ({@link #weightGradient}) is Winograd's F(3x3, 2x2): each
 * 2x2 tile of the output gradient is the "filter" slid over the same 4x4 input tile, giving a 3x3 contribution
 * to every filter, again 16 products per tile instead of 36.
 */
public final class WinogradConv {
    /** Positions in a transformed 4x4 tile: one GEMM each. */
    static final int XI = 16;
    /** Floats of one band's transformed tiles and products together. */
    static final int BAND_FLOATS = 1 << 20;

    private WinogradConv() {
    }

    /** Whether {@code g} is a convolution this class computes: 3x3, stride 1, no dilation, zero padding 1. */
    public static boolean fits(ConvGeometry g) {
        return g.kH() == 3 && g.kW() == 3 && g.strideH() == 1 && g.strideW() == 1 && g.dilationH() == 1
                && g.dilationW() == 1 && g.padH() == 1 && g.padW() == 1 && g.padding() == PaddingMode.ZEROS;
    }

    /** Floats of {@link #transformFilters}' output for o x c filters. */
    public static int filterSize(Kernels kernels, int outChannels, int channels) {
        return XI * filterMatrixSize(kernels, outChannels, channels);
    }

    /** Floats of one U[xi] [rows, columns] in the kernels' row panels. */
    private static int filterMatrixSize(Kernels kernels, int rows, int columns) {
        return roundUp(rows, kernels.gemmPanelRows()) * columns;
    }

    /** Floats of {@link #convolve}'s scratch for transformed input tiles, or for tile products, of c channels. */
    public static int scratchSize(int c, int h, int w) {
        return XI * c * tiles(h, w);
    }

    /**
     * Rows of 2x2 tiles per band for c channels in and o out on an h x w image: as many as keep a band's
     * transformed tiles and products (BAND_FLOATS together) in L2 between the transforms and the GEMMs.
     */
    public static int bandRows(int c, int o, int h, int w) {
        int tilesW = (w + 1) / 2;
        int tilesH = (h + 1) / 2;
        return Math.max(1, Math.min(tilesH, BAND_FLOATS / (XI * (c + o) * tilesW)));
    }

    private static int tiles(int h, int w) {
        return ((h + 1) / 2) * ((w + 1) / 2);
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    /**
     * U[xi][o, c] = (G g G^T)[xi] for each filter g = weight[o][c] (3x3, row-major at weight[(o*C + c)*9]), each
     * U[xi] [O, C] in the row panels of {@code kernels}' {@link Kernels#gemmPackedA}.
     */
    public static void transformFilters(Kernels kernels, float[] weight, int outChannels, int channels, float[] u) {
        int h = kernels.gemmPanelRows();
        int stride = filterMatrixSize(kernels, outChannels, channels);
        for (int o = 0; o < outChannels; o++) {
            for (int c = 0; c < channels; c++) {
                int g = (o * channels + c) * 9;
                transformFilter(u, panelIndex(o, c, channels, h), stride,
                        weight[g], weight[g + 1], weight[g + 2],
                        weight[g + 3], weight[g + 4], weight[g + 5],
                        weight[g + 6], weight[g + 7], weight[g + 8]);
            }
        }
    }

    /** Where value (i, p) of a [rows, k] matrix sits in row panels of height h (see {@link Kernels#gemmPackedA}). */
    private static int panelIndex(int i, int p, int k, int h) {
        return (i / h) * h * k + p * h + i % h;
    }

    /**
     * The filters of the input gradient: u[xi][c][o] = (G g' G^T)[xi] with g' = weight[o][c] turned by 180
     * degrees, i.e. the transformed filters of a convolution from O channels to C.
     */
    public static void transformFlippedFilters(Kernels kernels, float[] weight, int outChannels, int channels,
                                               float[] u) {
        int h = kernels.gemmPanelRows();
        int stride = filterMatrixSize(kernels, channels, outChannels);
        for (int c = 0; c < channels; c++) {
            for (int o = 0; o < outChannels; o++) {
                int g = (o * channels + c) * 9;
                transformFilter(u, panelIndex(c, o, outChannels, h), stride,
                        weight[g + 8], weight[g + 7], weight[g + 6],
                        weight[g + 5], weight[g + 4], weight[g + 3],
                        weight[g + 2], weight[g + 1], weight[g]);
            }
        }
    }

    /**
     * U = G g G^T for one 3x3 filter g (gij: row i, column j), written to u[xi * stride + index] for xi = 0..15.
     * Straight-line code on locals: a filter is a few dozen additions, and a layer has thousands of filters.
     */
    private static void transformFilter(float[] u, int index, int stride, float g00, float g01, float g02,
                                        float g10, float g11, float g12, float g20, float g21, float g22) {
        // t = G g (4x3): rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2 of the filter's columns
        float t10 = 0.5f * (g00 + g10 + g20);
        float t11 = 0.5f * (g01 + g11 + g21);
        float t12 = 0.5f * (g02 + g12 + g22);
        float t20 = 0.5f * (g00 - g10 + g20);
        float t21 = 0.5f * (g01 - g11 + g21);
        float t22 = 0.5f * (g02 - g12 + g22);
        // U = t G^T (4x4): the same combination along each row of t
        rowOfU(u, index, stride, 0, g00, g01, g02);
        rowOfU(u, index, stride, 1, t10, t11, t12);
        rowOfU(u, index, stride, 2, t20, t21, t22);
        rowOfU(u, index, stride, 3, g20, g21, g22);
    }

    /** Row i of U from row i of t = G g: t0, (t0+t1+t2)/2, (t0-t1+t2)/2, t2. */
    private static void rowOfU(float[] u, int index, int stride, int i, float t0, float t1, float t2) {
        u[(4 * i) * stride + index] = t0;
        u[(4 * i + 1) * stride + index] = 0.5f * (t0 + t1 + t2);
        u[(4 * i + 2) * stride + index] = 0.5f * (t0 - t1 + t2);
        u[(4 * i + 3) * stride + index] = t2;
    }

    /**
     * out[outOff ..] [O, H, W] (+)= the same 3x3 convolution of x[xOff ..] [C, H, W] with the filters whose
     * transform is u ({@link #transformFilters} with the same kernels), plus bias[o] when bias is not null (only
     * without accumulate).
     *
     * @param inputTiles at least {@code scratchSize(channels, h, w)} floats, contents undefined
     * @param products   at least {@code scratchSize(outChannels, h, w)} floats, contents undefined
     */
    public static void convolve(Kernels kernels, float[] x, int xOff, int channels, int h, int w, float[] u,
                                int outChannels, float[] bias, float[] out, int outOff, boolean accumulate,
                                float[] inputTiles, float[] products) {
        bands(kernels, x, xOff, channels, h, w, u, outChannels, inputTiles, products, (ty0, ty1) ->
                transformOutput(products, outChannels, h, w, (w + 1) / 2, ty0, ty1, bias, out, outOff, accumulate));
    }

    /**
     * {@code maxPool2d(relu(conv + bias), 2)} of one image, straight from the tile products: a 2x2 output tile is
     * exactly a 2x2 pooling window, so each window is pooled as soon as its four outputs exist and the full-size
     * convolution output is never written. Writes pooled[pooledOff ..] [O, H/2, W/2] and, when argmax is not
     * null, argmax[pooledOff ..] as {@link Kernels#reluMaxPool2} does (same choice of maximum, same values).
     * Other arguments as {@link #convolve}.
     */
    public static void convolveReluMaxPool2(Kernels kernels, float[] x, int xOff, int channels, int h, int w,
                                            float[] u, int outChannels, float[] bias, float[] pooled, int pooledOff,
                                            byte[] argmax, float[] inputTiles, float[] products) {
        bands(kernels, x, xOff, channels, h, w, u, outChannels, inputTiles, products, (ty0, ty1) ->
                kernels.winogradReluMaxPool2(products, outChannels, h, w, ty0, ty1, bias, pooled, pooledOff, argmax));
    }

    /** What is done with a band's tile products M (rows of tiles ty0 .. ty1-1), once they are computed. */
    private interface BandOutput {
        void write(int ty0, int ty1);
    }

    /** Transforms the input and multiplies, by bands of tile rows, handing each band's products to output. */
    private static void bands(Kernels kernels, float[] x, int xOff, int channels, int h, int w, float[] u,
                              int outChannels, float[] inputTiles, float[] products, BandOutput output) {
        int tilesW = (w + 1) / 2;
        int tilesH = (h + 1) / 2;
        int bandRows = bandRows(channels, outChannels, h, w);
        int uSize = filterMatrixSize(kernels, outChannels, channels);
        for (int ty0 = 0; ty0 < tilesH; ty0 += bandRows) {
            int ty1 = Math.min(tilesH, ty0 + bandRows);
            int bandTiles = (ty1 - ty0) * tilesW;
            transformInput(x, xOff, channels, h, w, tilesW, ty0, ty1, inputTiles);
            for (int xi = 0; xi < XI; xi++) {
                // M[xi] [O, T] = U[xi] [O, C] * V[xi] [C, T]
                kernels.gemmPackedA(outChannels, bandTiles, channels, u, xi * uSize, inputTiles,
                        xi * channels * bandTiles, products, xi * outChannels * bandTiles);
            }
            output.write(ty0, ty1);
        }
    }

    /** Floats of {@link #weightGradient}'s scratch for the summed tile products of o x c filters. */
    public static int weightProductsSize(int outChannels, int channels) {
        return XI * outChannels * channels;
    }

    /**
     * dW [O, C, 3, 3] += the weight gradient of the same 3x3 convolution of one image x[xOff ..] [C, H, W] whose
     * output gradient is g[gOff ..] [O, H, W]:
     * <pre>
     *   dW[o, c, i, j] += sum over y, x of g[o, y, x] * xpad[c, y + i, x + j]
     * </pre>
     * Split into 2x2 output tiles t, that sum is, for each tile, the 2x2 gradient tile g_t slid over the 4x4 input
     * tile d_t that {@link #convolve} transforms: a 3x3 result from a 4x4 input and a 2x2 "filter", Winograd's
     * F(3x3, 2x2). With the same V = B^T d B as forward and
     * <pre>
     *   G' = | 1    0   |     A'^T = | 1  1  1  0 |
     *        | 1/2  1/2 |            | 0  1 -1  0 |
     *        | 1/2 -1/2 |            | 0  1  1  1 |
     *        | 0   -1   |
     * </pre>
     * each tile gives A'^T ((G' g_t G'^T) .* V_t) A', and summed over tiles the elementwise products become 16
     * matrix products again: P[xi] [O, C] = sum over t of Ug[xi] [O, T] * V[xi]^T [T, C], then dW[o, c] +=
     * A'^T P[.][o][c] A'. 4 * O * C * H * W multiply-adds, against im2col's 9 * O * C * H * W.
     *
     * @param inputTiles at least {@code scratchSize(channels, h, w)} floats, contents undefined
     * @param gradTiles  at least {@code scratchSize(outChannels, h, w)} floats, contents undefined
     * @param products   at least {@code weightProductsSize(outChannels, channels)} floats, contents undefined
     */
    public static void weightGradient(Kernels kernels, float[] x, int xOff, int channels, int h, int w, float[] g,
                                      int gOff, int outChannels, float[] dW, float[] inputTiles, float[] gradTiles,
                                      float[] products) {
        int tilesW = (w + 1) / 2;
        int tilesH = (h + 1) / 2;
        int bandRows = bandRows(channels, outChannels, h, w);
        int pSize = outChannels * channels;
        for (int ty0 = 0; ty0 < tilesH; ty0 += bandRows) {
            int ty1 = Math.min(tilesH, ty0 + bandRows);
            int bandTiles = (ty1 - ty0) * tilesW;
            transformInput(x, xOff, channels, h, w, tilesW, ty0, ty1, inputTiles);
            transformGradient(g, gOff, outChannels, h, w, tilesW, ty0, ty1, gradTiles);
            for (int xi = 0; xi < XI; xi++) {
                // P[xi] [O, C] (+)= Ug[xi] [O, T] * V[xi]^T [T, C]; V[xi] is stored [C, T] and read transposed
                kernels.gemm(false, true, outChannels, channels, bandTiles, gradTiles, xi * outChannels * bandTiles,
                        inputTiles, xi * channels * bandTiles, products, xi * pSize, ty0 > 0);
            }
        }
        // dW[o, c] += A'^T P A': r = A'^T p (3x4) with rows p0 + p1 + p2, p1 - p2, p1 + p2 + p3 of p (pij =
        // P[4i + j]), then the same combination along each row of r
        float[] r = new float[12];
        for (int oc = 0; oc < pSize; oc++) {
            int at = oc * 9;
            for (int j = 0; j < 4; j++) {
                float p0 = products[j * pSize + oc];
                float p1 = products[(4 + j) * pSize + oc];
                float p2 = products[(8 + j) * pSize + oc];
                float p3 = products[(12 + j) * pSize + oc];
                r[j] = p0 + p1 + p2;
                r[4 + j] = p1 - p2;
                r[8 + j] = p1 + p2 + p3;
            }
            for (int i = 0; i < 3; i++) {
                float r0 = r[4 * i];
                float r1 = r[4 * i + 1];
                float r2 = r[4 * i + 2];
                float r3 = r[4 * i + 3];
                dW[at + 3 * i] += r0 + r1 + r2;
                dW[at + 3 * i + 1] += r1 - r2;
                dW[at + 3 * i + 2] += r1 + r2 + r3;
            }
        }
    }

    /**
     * Ug[xi][o][t] = (G' g G'^T)[xi] for the 2x2 tile g of output gradient plane o at tile t (zeros past the
     * image's edge), for the tile rows ty0 .. ty1-1.
     */
    private static void transformGradient(float[] g, int gOff, int outChannels, int h, int w, int tilesW, int ty0,
                                          int ty1, float[] u) {
        int bandTiles = (ty1 - ty0) * tilesW;
        int uSize = outChannels * bandTiles;
        for (int o = 0; o < outChannels; o++) {
            int plane = gOff + o * h * w;
            for (int ty = ty0; ty < ty1; ty++) {
                int y = 2 * ty;
                boolean secondRow = y + 1 < h;
                int dst = o * bandTiles + (ty - ty0) * tilesW;
                for (int tx = 0; tx < tilesW; tx++) {
                    int x = 2 * tx;
                    boolean secondColumn = x + 1 < w;
                    int at = plane + y * w + x;
                    float g00 = g[at];
                    float g01 = secondColumn ? g[at + 1] : 0f;
                    float g10 = secondRow ? g[at + w] : 0f;
                    float g11 = secondRow && secondColumn ? g[at + w + 1] : 0f;
                    // t = G' g (4x2): rows g0, (g0 + g1)/2, (g0 - g1)/2, -g1 of the tile's columns
                    int t = dst + tx;
                    gradientRow(u, uSize, t, 0, g00, g01);
                    gradientRow(u, uSize, t, 1, 0.5f * (g00 + g10), 0.5f * (g01 + g11));
                    gradientRow(u, uSize, t, 2, 0.5f * (g00 - g10), 0.5f * (g01 - g11));
                    gradientRow(u, uSize, t, 3, -g10, -g11);
                }
            }
        }
    }

    /** Row i of Ug = t G'^T from row i of t: t0, (t0 + t1)/2, (t0 - t1)/2, -t1, to u[(4i + j) * uSize + t]. */
    private static void gradientRow(float[] u, int uSize, int t, int i, float t0, float t1) {
        u[(4 * i) * uSize + t] = t0;
        u[(4 * i + 1) * uSize + t] = 0.5f * (t0 + t1);
        u[(4 * i + 2) * uSize + t] = 0.5f * (t0 - t1);
        u[(4 * i + 3) * uSize + t] = -t1;
    }

    /**
     * V[xi][c][t] = (B^T d B)[xi] for the 4x4 tile d of channel c around output tile t (zeros outside). Organised
     * by rows of tiles so that every inner loop runs along contiguous memory (which the JIT vectorises): the four
     * input rows of a tile row are combined by B^T first, over the whole padded width; each combined row is then
     * split into its even and odd columns, and B along the width is two adjacent elements of those.
     */
    private static void transformInput(float[] x, int xOff, int channels, int h, int w, int tilesW, int ty0,
                                       int ty1, float[] v) {
        int bandTiles = (ty1 - ty0) * tilesW;
        int vSize = channels * bandTiles;
        int padW = 2 * tilesW + 2;             // padded column m holds input column m - 1
        float[][] rows = new float[4][padW];
        float[][] combined = new float[4][padW];
        float[] even = new float[tilesW + 1];
        float[] odd = new float[tilesW + 1];
        for (int c = 0; c < channels; c++) {
            int plane = xOff + c * h * w;
            for (int ty = ty0; ty < ty1; ty++) {
                for (int i = 0; i < 4; i++) {
                    int y = 2 * ty - 1 + i;
                    java.util.Arrays.fill(rows[i], 0f);
                    if (y >= 0 && y < h) {
                        System.arraycopy(x, plane + y * w, rows[i], 1, w);
                    }
                }
                // B^T d along the height: d0 - d2, d1 + d2, d2 - d1, d1 - d3
                float[] r0 = rows[0];
                float[] r1 = rows[1];
                float[] r2 = rows[2];
                float[] r3 = rows[3];
                float[] s0 = combined[0];
                float[] s1 = combined[1];
                float[] s2 = combined[2];
                float[] s3 = combined[3];
                for (int m = 0; m < padW; m++) {
                    s0[m] = r0[m] - r2[m];
                    s1[m] = r1[m] + r2[m];
                    s2[m] = r2[m] - r1[m];
                    s3[m] = r1[m] - r3[m];
                }
                int dst = c * bandTiles + (ty - ty0) * tilesW;
                for (int i = 0; i < 4; i++) {
                    float[] si = combined[i];
                    for (int k = 0; k <= tilesW; k++) {
                        even[k] = si[2 * k];
                        odd[k] = si[2 * k + 1];
                    }
                    // ... B along the width: tile tx sees columns e[tx], o[tx], e[tx+1], o[tx+1]
                    int v0 = (4 * i) * vSize + dst;
                    int v1 = v0 + vSize;
                    int v2 = v1 + vSize;
                    int v3 = v2 + vSize;
                    for (int tx = 0; tx < tilesW; tx++) {
                        v[v0 + tx] = even[tx] - even[tx + 1];
                        v[v1 + tx] = odd[tx] + even[tx + 1];
                        v[v2 + tx] = even[tx + 1] - odd[tx];
                        v[v3 + tx] = odd[tx] - odd[tx + 1];
                    }
                }
            }
        }
    }

    /**
     * out[o] 2x2 block of tile t (+)= A^T M[.][o][t] A (+ bias), cut at the image's edge; a row of tiles at a
     * time, contiguous along the row, then interleaved into the two output rows.
     */
    private static void transformOutput(float[] m, int outChannels, int h, int w, int tilesW, int ty0, int ty1,
                                        float[] bias, float[] out, int outOff, boolean accumulate) {
        int bandTiles = (ty1 - ty0) * tilesW;
        float[][] r = new float[8][tilesW];
        float[][] y = new float[4][tilesW];
        for (int o = 0; o < outChannels; o++) {
            float b = bias == null || accumulate ? 0f : bias[o];
            int plane = outOff + o * h * w;
            for (int ty = ty0; ty < ty1; ty++) {
                tileRowOutputs(m, outChannels * bandTiles, o * bandTiles + (ty - ty0) * tilesW, tilesW, b, r, y);
                int oy = 2 * ty;
                writeRow(y[0], y[1], w, out, plane + oy * w, accumulate);
                if (oy + 1 < h) {
                    writeRow(y[2], y[3], w, out, plane + (oy + 1) * w, accumulate);
                }
            }
        }
    }

    /**
     * pooled[o, ty, tx] = the largest of relu(the 2x2 outputs of tile (ty, tx) + bias), with its position in
     * argmax, for the whole windows of the band: a last odd output row or column is not pooled, so its tiles are
     * skipped. The reference of {@link Kernels#winogradReluMaxPool2}.
     */
    static void poolOutput(float[] m, int outChannels, int h, int w, int ty0, int ty1, float[] bias, float[] pooled,
                           int pooledOff, byte[] argmax) {
        int tilesW = (w + 1) / 2;
        int bandTiles = (ty1 - ty0) * tilesW;
        int pooledH = h / 2;
        int pooledW = w / 2;
        float[][] r = new float[8][tilesW];
        float[][] y = new float[4][tilesW];
        for (int o = 0; o < outChannels; o++) {
            float b = bias == null ? 0f : bias[o];
            for (int ty = ty0; ty < Math.min(ty1, pooledH); ty++) {
                tileRowOutputs(m, outChannels * bandTiles, o * bandTiles + (ty - ty0) * tilesW, tilesW, b, r, y);
                int at = pooledOff + (o * pooledH + ty) * pooledW;
                for (int tx = 0; tx < pooledW; tx++) {
                    ScalarKernels.reluMaxOf4(y[0][tx], y[1][tx], y[2][tx], y[3][tx], pooled, argmax, at + tx);
                }
            }
        }
    }

    /**
     * The 2x2 outputs Y = A^T q A (+ b) of the tiles of one row, q the 4x4 matrix qij = M[4i + j] of each tile
     * (M[xi] is [O, T], mSize floats, and the row's first tile is at src): y[0] and y[1] get the left and right
     * outputs of the tiles' top row, y[2] and y[3] of their bottom row. r is scratch [8][tilesW].
     */
    private static void tileRowOutputs(float[] m, int mSize, int src, int tilesW, float b, float[][] r,
                                       float[][] y) {
        // r = A^T q: r0j = q0j + q1j + q2j, r1j = q1j - q2j - q3j
        for (int j = 0; j < 4; j++) {
            float[] top = r[j];
            float[] bottom = r[4 + j];
            int q0 = src + j * mSize;
            int q1 = q0 + 4 * mSize;
            int q2 = q1 + 4 * mSize;
            int q3 = q2 + 4 * mSize;
            for (int tx = 0; tx < tilesW; tx++) {
                float middle = m[q1 + tx];
                float third = m[q2 + tx];
                top[tx] = m[q0 + tx] + middle + third;
                bottom[tx] = middle - third - m[q3 + tx];
            }
        }
        // Y = r A: yi0 = ri0 + ri1 + ri2, yi1 = ri1 - ri2 - ri3
        for (int i = 0; i < 2; i++) {
            float[] ri0 = r[4 * i];
            float[] ri1 = r[4 * i + 1];
            float[] ri2 = r[4 * i + 2];
            float[] ri3 = r[4 * i + 3];
            float[] left = y[2 * i];
            float[] right = y[2 * i + 1];
            for (int tx = 0; tx < tilesW; tx++) {
                left[tx] = ri0[tx] + ri1[tx] + ri2[tx] + b;
                right[tx] = ri1[tx] - ri2[tx] - ri3[tx] + b;
            }
        }
    }

    /** out[at + 2k] (+)= left[k], out[at + 2k + 1] (+)= right[k], for the w columns of one output row. */
    private static void writeRow(float[] left, float[] right, int w, float[] out, int at, boolean accumulate) {
        int pairs = w / 2;
        if (accumulate) {
            for (int k = 0; k < pairs; k++) {
                out[at + 2 * k] += left[k];
                out[at + 2 * k + 1] += right[k];
            }
            if ((w & 1) != 0) {
                out[at + w - 1] += left[pairs];
            }
        } else {
            for (int k = 0; k < pairs; k++) {
                out[at + 2 * k] = left[k];
                out[at + 2 * k + 1] = right[k];
            }
            if ((w & 1) != 0) {
                out[at + w - 1] = left[pairs];
            }
        }
    }
}
