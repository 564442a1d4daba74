package org.siamese4j.kernels;

import org.siamese4j.kernels.ConvGeometry.PaddingMode;

/**
 * 3x3 convolution, stride 1, zero padding 1 (output H x W), by Winograd's F(4x4, 3x3) (Lavin and Gray, "Fast
 * Algorithms for Convolutional Neural Networks", 2016): a 4x4 block of outputs of one channel pair from the 6x6
 * input tile d around it with 36 multiplies, against 144 done directly (16 outputs x 9 taps) and 64 for four
 * blocks of F(2x2, 3x3). Transform the tile and the filter g,
 * <pre>
 *   V = B^T d B,   U = G g G^T           (both 6x6)
 *   Y = A^T (U .* V) A                    (Y is the 4x4 output block)
 * </pre>
 * with the matrices of the interpolation points 0, 1, -1, 2, -2 (and infinity):
 * <pre>
 *   B^T = | 4  0 -5  0  1  0 |     G = |  1/4     0     0   |     A^T = | 1  1  1  1  1  0 |
 *         | 0 -4 -4  1  1  0 |         | -1/6  -1/6  -1/6   |           | 0  1 -1  2 -2  0 |
 *         | 0  4 -4 -1  1  0 |         | -1/6   1/6  -1/6   |           | 0  1  1  4  4  0 |
 *         | 0 -2 -1  2  1  0 |         |  1/24  1/12  1/6   |           | 0  1 -1  8 -8  1 |
 *         | 0  2 -1 -2  1  0 |         |  1/24 -1/12  1/6   |
 *         | 0  4  0 -5  0  1 |         |  0     0     1     |
 * </pre>
 * Summed over input channels the elementwise products are 36 matrix products M[xi] [O, T] = U[xi] [O, C] *
 * V[xi] [C, T], one per position xi of the 6x6 tile, T the number of 4x4 output tiles: 36 * O * C * H * W / 16
 * = 2.25 * O * C * H * W multiply-adds, 4 times fewer than im2col and 1.78 times fewer than F(2x2, 3x3). The
 * transformed input and products shrink by the same factor. The price is rounding: the transforms multiply by
 * up to 8 and 5 and the filter's by 1/6, so results differ from a direct sum by more float32 ulps than with
 * F(2x2, 3x3) (the convolution tests bound it like any other path).
 *
 * <p>The filter transform writes each U[xi] straight into the row panels of {@link Kernels#gemmPackedA}, so the
 * 36 products of every image skip packing A (for these short products the GEMM's packing costs about as much as
 * the multiply-adds); the GEMM copies each group of V[xi]'s columns into a panel once, for all of U's panels.
 * With a 2x2 max pool after the convolution, {@link #convolveReluMaxPool2} pools the four windows of each tile as
 * soon as its outputs exist.
 *
 * <p>The input gradient of a same 3x3 convolution is itself a same 3x3 convolution, of the output gradient with
 * the filters turned by 180 degrees and their channel axes swapped, so backward reuses {@link #convolve} with
 * {@link #transformFlippedFilters}. The weight gradient is {@link WinogradWeightGradient}.
 */
public final class WinogradConv {
    /** Positions in a transformed 6x6 tile: one GEMM each. */
    static final int XI = 36;
    /** Floats of one band's transformed tiles and products together. */
    static final int BAND_FLOATS = 1 << 20;
    /** The fractions of G (and of the weight gradient's G'), rounded to float once for every implementation. */
    static final float SIXTH = 1f / 6f;
    static final float TWELFTH = 1f / 12f;
    static final float TWENTY_FOURTH = 1f / 24f;
    static final float THIRD = 1f / 3f;

    /** The per-thread scratch arrays of the transforms (see {@link #scratch}). */
    enum Scratch { GATHERED, OUTPUTS, WINDOWS, POSITIONS, ROWS, COMBINED }

    private static final ThreadLocal<float[][]> SCRATCH =
            ThreadLocal.withInitial(() -> new float[Scratch.values().length][0]);

    private WinogradConv() {
    }

    /**
     * This thread's scratch array for {@code use}, of at least size floats, contents undefined: kept from call to
     * call, so that a training step makes no garbage here. A thread-local is safe here, unlike for ConvOps' per-task
     * workspaces, because no value in these arrays lives across a call that could run another task on this thread
     * (the transforms and GEMMs between their uses run inline).
     */
    static float[] scratch(Scratch use, int size) {
        float[][] all = SCRATCH.get();
        if (all[use.ordinal()].length < size) {
            all[use.ordinal()] = new float[size];
        }
        return all[use.ordinal()];
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

    private static int filterMatrixSize(Kernels kernels, int rows, int columns) {
        int h = kernels.gemmPanelRows();
        return (rows + h - 1) / h * h * columns;
    }

    /** Floats of the scratch for transformed input tiles, or for tile products, of c channels on h x w. */
    public static int scratchSize(int c, int h, int w) {
        return XI * c * tilesH(h) * tilesW(w);
    }

    static int tilesH(int h) {
        return (h + 3) / 4;
    }

    static int tilesW(int w) {
        return (w + 3) / 4;
    }

    /** Rows of 4x4 tiles per band: as many as keep a band's transformed tiles and products in L2 together. */
    public static int bandRows(int c, int o, int h, int w) {
        return Math.max(1, Math.min(tilesH(h), BAND_FLOATS / (XI * (c + o) * tilesW(w))));
    }

    /** U[xi][o, c] = (G g G^T)[xi] for each filter g = weight[o][c], in the row panels of gemmPackedA. */
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

    /** The filters of the input gradient: weight[o][c] turned by 180 degrees, as a convolution from O to C. */
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

    /** Where value (i, p) of a [rows, k] matrix sits in row panels of height h (see {@link Kernels#gemmPackedA}). */
    private static int panelIndex(int i, int p, int k, int h) {
        return (i / h) * h * k + p * h + i % h;
    }

    /** U = G g G^T for one 3x3 filter g (gij: row i, column j), to u[xi * stride + index] for xi = 0..35. */
    private static void transformFilter(float[] u, int index, int stride, float g00, float g01, float g02,
                                        float g10, float g11, float g12, float g20, float g21, float g22) {
        // t = G g (6x3), one row of t per row of G, each combining the filter's three rows
        rowOfU(u, index, stride, 0, 0.25f * g00, 0.25f * g01, 0.25f * g02);
        rowOfU(u, index, stride, 1, -SIXTH * (g00 + g10 + g20), -SIXTH * (g01 + g11 + g21),
                -SIXTH * (g02 + g12 + g22));
        rowOfU(u, index, stride, 2, -SIXTH * (g00 - g10 + g20), -SIXTH * (g01 - g11 + g21),
                -SIXTH * (g02 - g12 + g22));
        rowOfU(u, index, stride, 3, TWENTY_FOURTH * g00 + TWELFTH * g10 + SIXTH * g20,
                TWENTY_FOURTH * g01 + TWELFTH * g11 + SIXTH * g21, TWENTY_FOURTH * g02 + TWELFTH * g12 + SIXTH * g22);
        rowOfU(u, index, stride, 4, TWENTY_FOURTH * g00 - TWELFTH * g10 + SIXTH * g20,
                TWENTY_FOURTH * g01 - TWELFTH * g11 + SIXTH * g21, TWENTY_FOURTH * g02 - TWELFTH * g12 + SIXTH * g22);
        rowOfU(u, index, stride, 5, g20, g21, g22);
    }

    /** Row i of U = t G^T from row i of t: the same six combinations of (t0, t1, t2). */
    private static void rowOfU(float[] u, int index, int stride, int i, float t0, float t1, float t2) {
        int at = 6 * i * stride + index;
        u[at] = 0.25f * t0;
        u[at + stride] = -SIXTH * (t0 + t1 + t2);
        u[at + 2 * stride] = -SIXTH * (t0 - t1 + t2);
        u[at + 3 * stride] = TWENTY_FOURTH * t0 + TWELFTH * t1 + SIXTH * t2;
        u[at + 4 * stride] = TWENTY_FOURTH * t0 - TWELFTH * t1 + SIXTH * t2;
        u[at + 5 * stride] = t2;
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
        int tilesW = tilesW(w);
        bands(kernels, x, xOff, channels, h, w, u, outChannels, inputTiles, products,
                (ty0, ty1, y, yOff, stride, n, o) -> {
            float b = bias == null || accumulate ? 0f : bias[o];
            int plane = outOff + o * h * w;
            for (int ty = ty0; ty < ty1; ty++) {
                int first = (ty - ty0) * tilesW;
                for (int i = 0; i < 4 && 4 * ty + i < h; i++) {
                    int row = plane + (4 * ty + i) * w;
                    for (int j = 0; j < 4; j++) {
                        // column j of every tile in the row: out[row + 4 tx + j]
                        int src = yOff + (4 * i + j) * stride + first;
                        int columns = (w - j + 3) / 4;
                        if (accumulate) {
                            for (int tx = 0; tx < columns; tx++) {
                                out[row + 4 * tx + j] += y[src + tx];
                            }
                        } else {
                            for (int tx = 0; tx < columns; tx++) {
                                out[row + 4 * tx + j] = y[src + tx] + b;
                            }
                        }
                    }
                }
            }
        });
    }

    /**
     * {@code maxPool2d(relu(conv + bias), 2)} of one image straight from the tile products: a 4x4 output tile holds
     * four whole 2x2 pooling windows, pooled ({@link Kernels#reluMaxOf4}) across all the tiles of a band as soon as
     * their outputs exist, so the full-size convolution output is never written. Writes pooled[pooledOff ..]
     * [O, H/2, W/2] and, when argmax is not null, argmax[pooledOff ..] as {@link Kernels#reluMaxPool2} does
     * (same choice of maximum, same values). Other arguments as {@link #convolve}.
     */
    public static void convolveReluMaxPool2(Kernels kernels, float[] x, int xOff, int channels, int h, int w,
                                            float[] u, int outChannels, float[] bias, float[] pooled, int pooledOff,
                                            byte[] argmax, float[] inputTiles, float[] products) {
        int tilesW = tilesW(w);
        int pooledH = h / 2;
        int pooledW = w / 2;
        int maxBandTiles = bandRows(channels, outChannels, h, w) * tilesW;
        // window k = 2a + c of every tile (rows 2a, 2a + 1 and columns 2c, 2c + 1 of its 4x4 outputs): its value
        // at windows[k * maxBandTiles + t], the maximum's position at where[..] likewise
        float[] windows = scratch(Scratch.WINDOWS, 4 * maxBandTiles);
        float[] where = argmax == null ? null : scratch(Scratch.POSITIONS, 4 * maxBandTiles);
        bands(kernels, x, xOff, channels, h, w, u, outChannels, inputTiles, products,
                (ty0, ty1, y, yOff, stride, n, o) -> {
            float b = bias == null ? 0f : bias[o];
            for (int k = 0; k < 4; k++) {
                int topLeft = yOff + (8 * (k >> 1) + 2 * (k & 1)) * stride;          // y[2a][2c]
                kernels.reluMaxOf4(y, topLeft, topLeft + stride, topLeft + 4 * stride, topLeft + 5 * stride, n, b,
                        windows, k * maxBandTiles, where);
            }
            for (int ty = ty0; ty < ty1; ty++) {
                int first = (ty - ty0) * tilesW;
                for (int a = 0; a < 2 && 2 * ty + a < pooledH; a++) {
                    int at = pooledOff + (o * pooledH + 2 * ty + a) * pooledW;
                    int left = 2 * a * maxBandTiles + first;
                    int right = left + maxBandTiles;
                    // pooled column 2 tx + c is window (a, c) of tile tx
                    for (int px = 0; px < pooledW; px++) {
                        int src = ((px & 1) == 0 ? left : right) + (px >> 1);
                        pooled[at + px] = windows[src];
                        if (argmax != null) {
                            argmax[at + px] = (byte) where[src];
                        }
                    }
                }
            }
        });
    }

    /**
     * What is done with the 4x4 outputs of channel o's n tiles in a band: row i, column j of tile t at
     * y[yOff + (4i + j) * stride + t].
     */
    private interface BandOutput {
        void write(int ty0, int ty1, float[] y, int yOff, int stride, int n, int o);
    }

    /**
     * Tiles whose products one output transform takes at once: a block of output channels of about this many
     * tiles, so the transform's vector loops run long (one channel of the third block of the reference tower has
     * 42 tiles: three vector steps, the last one mostly repeated).
     */
    private static final int OUTPUT_TRANSFORM_TILES = 256;

    /**
     * Transforms the input and multiplies, by bands of tile rows, then transforms each output channel's products
     * back to 4x4 outputs and hands them to output.
     */
    private static void bands(Kernels kernels, float[] x, int xOff, int channels, int h, int w, float[] u,
                              int outChannels, float[] inputTiles, float[] products, BandOutput output) {
        int tilesW = tilesW(w);
        int tilesH = tilesH(h);
        int bandRows = bandRows(channels, outChannels, h, w);
        int uSize = filterMatrixSize(kernels, outChannels, channels);
        int maxTiles = bandRows * tilesW;
        // the input transform's gathered tiles, then the output transform's first half, [24, channels x tiles]
        float[] gathered = scratch(Scratch.GATHERED, Math.max(XI * maxTiles, 24 * (OUTPUT_TRANSFORM_TILES + maxTiles)));
        float[] y = scratch(Scratch.OUTPUTS, 16 * (OUTPUT_TRANSFORM_TILES + maxTiles));
        for (int ty0 = 0; ty0 < tilesH; ty0 += bandRows) {
            int ty1 = Math.min(tilesH, ty0 + bandRows);
            int n = (ty1 - ty0) * tilesW;
            transformInput(kernels, x, xOff, channels, h, w, tilesW, ty0, ty1, inputTiles, gathered);
            for (int xi = 0; xi < XI; xi++) {
                // M[xi] [O, T] = U[xi] [O, C] * V[xi] [C, T]
                kernels.gemmPackedA(outChannels, n, channels, u, xi * uSize, inputTiles, xi * channels * n,
                        products, xi * outChannels * n);
            }
            // Channels o0 .. o0 + block - 1 lie together in every M[xi]: their products are one run of block * n
            int block = Math.min(outChannels, (OUTPUT_TRANSFORM_TILES + n - 1) / n);
            for (int o0 = 0; o0 < outChannels; o0 += block) {
                int count = Math.min(block, outChannels - o0) * n;
                transformOutput(kernels, products, outChannels * n, o0 * n, count, gathered, y);
                for (int o = o0; o < o0 + count / n; o++) {
                    output.write(ty0, ty1, y, (o - o0) * n, count, n, o);
                }
            }
        }
    }

    /**
     * V[xi][c][t] = (B^T d B)[xi] for the 6x6 tile d of channel c around output tile t (zeros outside), for the
     * tile rows ty0 .. ty1-1. Tile (ty, tx) reads padded rows 4ty .. 4ty + 5 and columns 4tx .. 4tx + 5 (padded
     * row or column m holds input m - 1). So that the arithmetic runs in long loops over contiguous memory (the
     * vector kernels' {@link Kernels#winogradInputTransform}): for each channel, B^T is applied along the height
     * over the whole padded width of each tile row; the six columns each tile needs of the six combined rows are
     * gathered into d, 36 arrays over all the band's tiles; and B is applied along the width across all those
     * tiles at once.
     *
     * @param d scratch of at least 36 * (ty1 - ty0) * tilesW floats
     */
    static void transformInput(Kernels kernels, float[] x, int xOff, int channels, int h, int w, int tilesW,
                               int ty0, int ty1, float[] v, float[] d) {
        int n = (ty1 - ty0) * tilesW;
        int vSize = channels * n;
        int padW = 4 * tilesW + 2;
        float[] rows = scratch(Scratch.ROWS, 6 * padW);   // the six padded input rows of a tile row in a row
        float[] s = scratch(Scratch.COMBINED, 6 * padW);
        for (int c = 0; c < channels; c++) {
            int plane = xOff + c * h * w;
            for (int ty = ty0; ty < ty1; ty++) {
                java.util.Arrays.fill(rows, 0, 6 * padW, 0f);
                for (int i = 0; i < 6; i++) {
                    int row = 4 * ty - 1 + i;
                    if (row >= 0 && row < h) {
                        System.arraycopy(x, plane + row * w, rows, i * padW + 1, w);
                    }
                }
                // s = B^T (the six rows), over the padded width
                kernels.winogradInputTransform(rows, 0, padW, s, 0, padW, padW);
                // d[6i + k][t] = s[i][4 tx + k], tile by tile: a row of tiles is too short (6 to 23 in the
                // tower) for 36 loops along it to pay their overhead
                int first = (ty - ty0) * tilesW;
                for (int tx = 0; tx < tilesW; tx++) {
                    for (int i = 0; i < 6; i++) {
                        int from = i * padW + 4 * tx;
                        int to = 6 * i * n + first + tx;
                        d[to] = s[from];
                        d[to + n] = s[from + 1];
                        d[to + 2 * n] = s[from + 2];
                        d[to + 3 * n] = s[from + 3];
                        d[to + 4 * n] = s[from + 4];
                        d[to + 5 * n] = s[from + 5];
                    }
                }
            }
            // V[6i + j] = (s_i B)[j] across the band's tiles, for each row i of the combined tiles
            for (int i = 0; i < 6; i++) {
                kernels.winogradInputTransform(d, 6 * i * n, n, v, 6 * i * vSize + c * n, vSize, n);
            }
        }
    }

    /**
     * y[(4i + j) * n + t] = (A^T q A)[i][j] for n consecutive columns t of the products (the tiles of a band of
     * one or more output channels), q the 6x6 matrix qkl = m[src + (6k + l) * mSize + t]: A^T down the columns of
     * q into r (scratch, 24 * n floats), then along the rows of r.
     */
    private static void transformOutput(Kernels kernels, float[] m, int mSize, int src, int n, float[] r,
                                        float[] y) {
        for (int l = 0; l < 6; l++) {
            // r[i][l] at (6i + l) * n
            kernels.winogradOutputTransform(m, src + l * mSize, 6 * mSize, r, l * n, 6 * n, n);
        }
        for (int i = 0; i < 4; i++) {
            kernels.winogradOutputTransform(r, 6 * i * n, n, y, 4 * i * n, n, n);
        }
    }
}
