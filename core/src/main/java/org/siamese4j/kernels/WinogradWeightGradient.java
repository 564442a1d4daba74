package org.siamese4j.kernels;

/**
 * The weight gradient of a 3x3, stride-1, zero-padding-1 convolution ({@link WinogradConv#fits}) by Winograd's
 * F(3x3, 2x2) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
 * <pre>
 *   dW[o, c, i, j] = sum over y, x of g[o, y, x] * xpad[c, y + i, x + j]
 * </pre>
 * Split the output gradient g into 2x2 tiles; for each tile the sum is the 2x2 gradient tile g_t slid over the
 * 4x4 input tile d_t around it, a 3x3 result from a 4x4 input and a 2x2 "filter". With
 * <pre>
 *   B^T = | 1  0 -1  0 |     G' = | 1    0   |     A'^T = | 1  1  1  0 |
 *         | 0  1  1  0 |          | 1/2  1/2 |            | 0  1 -1  0 |
 *         | 0 -1  1  0 |          | 1/2 -1/2 |            | 0  1  1  1 |
 *         | 0  1  0 -1 |          | 0   -1   |
 * </pre>
 * each tile gives A'^T ((G' g_t G'^T) .* (B^T d_t B)) A', and summed over the tiles the elementwise products
 * become 16 matrix products, one per position xi of the 4x4 transformed tile: P[xi] [O, C] = sum over t of
 * Ug[xi] [O, T] * V[xi]^T [T, C], then dW[o, c] += A'^T P[.][o][c] A'. That is 16 * O * C * H * W / 4 = 4 * O *
 * C * H * W multiply-adds, against im2col's 9 * O * C * H * W. The transforms are additions and halves, exact
 * in binary. (Forward uses the larger tiles of F(4x4, 3x3); here the 2x2 gradient tiles keep the transforms
 * exact and the products' sums short.)
 */
public final class WinogradWeightGradient {
    /** Positions in a transformed 4x4 tile: one GEMM each. */
    static final int XI = 16;

    private WinogradWeightGradient() {
    }

    /** Floats of the scratch for transformed input tiles, or for gradient tiles, of c channels on h x w. */
    public static int scratchSize(int c, int h, int w) {
        return XI * c * ((h + 1) / 2) * ((w + 1) / 2);
    }

    /**
     * Rows of 2x2 tiles per band for c channels in and o out on an h x w image: as many as keep a band's
     * transformed input and gradient tiles (WinogradConv.BAND_FLOATS together) in cache for the products.
     */
    public static int bandRows(int c, int o, int h, int w) {
        int tilesW = (w + 1) / 2;
        int tilesH = (h + 1) / 2;
        return Math.max(1, Math.min(tilesH, WinogradConv.BAND_FLOATS / (XI * (c + o) * tilesW)));
    }

    /** Floats of {@link #weightGradient}'s scratch for the summed tile products of o x c filters. */
    public static int weightProductsSize(int outChannels, int channels) {
        return XI * outChannels * channels;
    }

    /**
     * dW [O, C, 3, 3] += the weight gradient of the 3x3 convolution of one image x[xOff ..] [C, H, W] whose
     * output gradient is g[gOff ..] [O, H, W] (see the class comment).
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
     * V[xi][c][t] = (B^T d B)[xi] for the 4x4 tile d of channel c around 2x2 tile t (zeros outside). Organised
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
}
