package org.siamese4j.kernels;

/**
 * The weight gradient of a 3x3, stride-1, zero-padding-1 convolution ({@link WinogradConv#fits}) by Winograd's
 * F(3x3, 4x4) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016):
 * <pre>
 *   dW[o, c, i, j] = sum over y, x of g[o, y, x] * xpad[c, y + i, x + j]
 * </pre>
 * Split the output gradient g into 4x4 tiles; for each tile the sum is the 4x4 gradient tile g_t slid over the
 * 6x6 input tile d_t around it (the very tile {@link WinogradConv} transforms in forward), a 3x3 result from a
 * 6x6 input and a 4x4 "filter". With forward's B^T and the same interpolation points 0, 1, -1, 2, -2 (and
 * infinity), the filter and output transforms swap roles: G' evaluates the 4x4 tile, A'^T turns the products back
 * into 3x3,
 * <pre>
 *   G' = |  1/4     0      0      0    |     A'^T = | 1  1  1  1  1  0 |
 *        | -1/6   -1/6   -1/6   -1/6   |            | 0  1 -1  2 -2  0 |
 *        | -1/6    1/6   -1/6    1/6   |            | 0  1  1  4  4  1 |
 *        |  1/24   1/12   1/6    1/3   |
 *        |  1/24  -1/12   1/6   -1/3   |
 *        |  0      0      0      1     |
 * </pre>
 * and each tile gives A'^T ((G' g_t G'^T) .* (B^T d_t B)) A'. Summed over the tiles the elementwise products become
 * 36 matrix products, one per position xi of the 6x6 transformed tile: P[xi] [O, C] = sum over t of Ug[xi] [O, T]
 * * V[xi]^T [T, C], then dW[o, c] += A'^T P[.][o][c] A'. That is 36 * O * C * H * W / 16 = 2.25 * O * C * H * W
 * multiply-adds, against im2col's 9 * O * C * H * W.
 */
public final class WinogradWeightGradient {
    private static final int XI = WinogradConv.XI;

    private WinogradWeightGradient() {
    }

    /**
     * Floats of {@link #weightGradient}'s scratch for o x c filters: the 36 summed tile products, then the 18 and
     * 9 rows of their transform back to 3x3.
     */
    public static int productsSize(int outChannels, int channels) {
        return (XI + 18 + 9) * outChannels * channels;
    }

    /**
     * dW [O, C, 3, 3] += the weight gradient of the 3x3 convolution of one image x[xOff ..] [C, H, W] whose
     * output gradient is g[gOff ..] [O, H, W] (see the class comment).
     *
     * @param inputTiles at least {@code WinogradConv.scratchSize(channels, h, w)} floats, contents undefined
     * @param gradTiles  at least {@code WinogradConv.scratchSize(outChannels, h, w)} floats, contents undefined
     * @param products   at least {@code productsSize(outChannels, channels)} floats, contents undefined
     */
    public static void weightGradient(Kernels kernels, float[] x, int xOff, int channels, int h, int w, float[] g,
                                      int gOff, int outChannels, float[] dW, float[] inputTiles, float[] gradTiles,
                                      float[] products) {
        int tilesW = WinogradConv.tilesW(w);
        int tilesH = WinogradConv.tilesH(h);
        int bandRows = WinogradConv.bandRows(channels, outChannels, h, w);
        int pSize = outChannels * channels;
        float[] gathered = WinogradConv.scratch(WinogradConv.Scratch.GATHERED, XI * bandRows * tilesW);
        for (int ty0 = 0; ty0 < tilesH; ty0 += bandRows) {
            int ty1 = Math.min(tilesH, ty0 + bandRows);
            int n = (ty1 - ty0) * tilesW;
            WinogradConv.transformInput(kernels, x, xOff, channels, h, w, tilesW, ty0, ty1, inputTiles, gathered);
            transformGradient(kernels, g, gOff, outChannels, h, w, tilesW, ty0, ty1, gradTiles, gathered);
            for (int xi = 0; xi < XI; xi++) {
                // P[xi] [O, C] (+)= Ug[xi] [O, T] * V[xi]^T [T, C]; V[xi] is stored [C, T] and read transposed
                kernels.gemm(false, true, outChannels, channels, n, gradTiles, xi * outChannels * n, inputTiles,
                        xi * channels * n, products, xi * pSize, ty0 > 0);
            }
        }
        // dW[o, c] += A'^T P A' for all o, c at once: r = A'^T p (3x6) down the columns of p (pkl = P[6k + l]),
        // then y = r A' along the rows of r, each a long loop over the O * C filters
        int rows = XI * pSize;                 // r[6i + l] [O * C]
        int outputs = rows + 18 * pSize;       // y[3i + j] [O * C]
        for (int l = 0; l < 6; l++) {
            kernels.winogradWeightOutputTransform(products, l * pSize, 6 * pSize, products, rows + l * pSize,
                    6 * pSize, pSize);
        }
        for (int i = 0; i < 3; i++) {
            kernels.winogradWeightOutputTransform(products, rows + 6 * i * pSize, pSize, products,
                    outputs + 3 * i * pSize, pSize, pSize);
        }
        for (int oc = 0; oc < pSize; oc++) {
            for (int k = 0; k < 9; k++) {
                dW[oc * 9 + k] += products[outputs + k * pSize + oc];
            }
        }
    }

    /**
     * Ug[xi][o][t] = (G' g G'^T)[xi] for the 4x4 tile g of output gradient plane o at tile t (zeros past the
     * image's edge), for the tile rows ty0 .. ty1-1. As {@link WinogradConv#transformInput}: G' down the four rows
     * of a tile row over the whole width, the four columns of each tile gathered into arrays across the band's
     * tiles (d, 24 arrays), and G' across those.
     */
    private static void transformGradient(Kernels kernels, float[] g, int gOff, int outChannels, int h, int w,
                                          int tilesW, int ty0, int ty1, float[] u, float[] d) {
        int n = (ty1 - ty0) * tilesW;
        int uSize = outChannels * n;
        int width = 4 * tilesW;
        float[] rows = WinogradConv.scratch(WinogradConv.Scratch.ROWS, 4 * width);
        float[] s = WinogradConv.scratch(WinogradConv.Scratch.COMBINED, 6 * width);
        for (int o = 0; o < outChannels; o++) {
            int plane = gOff + o * h * w;
            for (int ty = ty0; ty < ty1; ty++) {
                java.util.Arrays.fill(rows, 0, 4 * width, 0f);
                for (int i = 0; i < 4 && 4 * ty + i < h; i++) {
                    System.arraycopy(g, plane + (4 * ty + i) * w, rows, i * width, w);
                }
                kernels.winogradGradientTransform(rows, 0, width, s, 0, width, width);
                // d[4i + k][t] = s[i][4 tx + k], tile by tile (as in WinogradConv.transformInput)
                int first = (ty - ty0) * tilesW;
                for (int tx = 0; tx < tilesW; tx++) {
                    for (int i = 0; i < 6; i++) {
                        int from = i * width + 4 * tx;
                        int to = 4 * i * n + first + tx;
                        d[to] = s[from];
                        d[to + n] = s[from + 1];
                        d[to + 2 * n] = s[from + 2];
                        d[to + 3 * n] = s[from + 3];
                    }
                }
            }
            for (int i = 0; i < 6; i++) {
                kernels.winogradGradientTransform(d, 4 * i * n, n, u, 6 * i * uSize + o * n, uSize, n);
            }
        }
    }
}
