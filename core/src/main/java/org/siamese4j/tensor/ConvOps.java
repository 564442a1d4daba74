package org.siamese4j.tensor;

import java.util.ArrayDeque;
import java.util.Arrays;
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.ConvGeometry;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Kernels;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.kernels.WinogradConv;
import org.siamese4j.kernels.WinogradWeightGradient;

/**
 * 2-D convolution, by im2col + GEMM, directly, or by Winograd (F(4x4, 3x3)), grouped or depthwise; and the fused
 * conv + ReLU + 2x2 max pool block ({@link #conv2dReluMaxPool2}).
 *
 * <p><b>im2col + GEMM.</b> Per image n, with K = C*kH*kW taps and P = outH*outW output pixels:
 * <pre>
 *   cols_n [K, P]  = im2col(x_n)                 (row (c, i, j) = what tap (i, j) of channel c sees at each pixel)
 *   out_n  [O, P]  = W [O, K] * cols_n [K, P]  + b[o]
 * </pre>
 * so the gradients are three more GEMMs and the adjoint of im2col:
 * <pre>
 *   dW   [O, K]   += G_n [O, P] * cols_n^T [P, K]
 *   dcols_n [K, P] = W^T [K, O] * G_n [O, P]        then  dx_n += col2im(dcols_n)
 *   db[o]         += sum over n and p of G_n[o, p]
 * </pre>
 * Each image is processed in bands of output rows ({@link #bandRows}) so that a band's columns stay in L2.
 *
 * <p><b>Direct.</b> With few input channels K is tiny (9 for a grey image and a 3x3 filter) and the GEMM cannot
 * amortise its packing, so the same sums are computed by sliding the filter over the image (the "convolution,
 * direct" kernels).
 *
 * <p><b>Winograd.</b> 3x3, stride-1, zero-padding-1 layers compute forward and the input gradient with F(4x4, 3x3)
 * ({@link WinogradConv}) and the weight gradient with F(3x3, 4x4) ({@link WinogradWeightGradient}): 4x fewer
 * multiplies than im2col.
 *
 * <p><b>Grouped and depthwise.</b> With {@code groups} &gt; 1 the channels are cut into groups that do not mix. A
 * depthwise layer (groups = C, as in MobileNet-style towers) does kH*kW multiply-adds per output against one value read
 * and written, with nothing for a GEMM to reuse, so it has kernels of its own ({@code Kernels.depthwiseConv*},
 * convolving each plane directly); any other group count runs im2col + GEMM once per group, on the group's contiguous
 * slices of the image, the weight [O, C/groups, kH, kW] and the output.
 *
 * <p>Which path: {@link ConvAlgorithm#resolve}, by default (with the SIMD kernels) direct for at most 3 input
 * channels and stride 1 along the width, Winograd for the other layers it fits, im2col otherwise;
 * {@code -Dsiamese4j.conv} or {@link ConvAlgorithm#use} force one. A grouped layer always takes im2col per group, a
 * depthwise layer its own kernels unless im2col is forced.
 *
 * <p><b>Threads.</b> Forward splits the batch into {@link #batchTasks} contiguous ranges of images, one per
 * thread, each with its own buffers (pooled, reused across calls), so every GEMM runs on one core without
 * hand-offs. Backward sums the weight and bias gradients over a fixed number of chunks of images that depends on
 * the batch size alone ({@link #gradientChunks}), in chunk order, so a seeded training run gives the same bits on
 * 1, 2 or 16 threads; the threads only share out the chunks.
 */
final class ConvOps {
    /**
     * Floats of a band's column matrix: 1 MB. Measured with 32 -> 64 channels at 56x46 (a 3 MB matrix per image),
     * three bands made the layer ~15% faster on one core; with 64 -> 128 at 28x23 (1.5 MB) splitting did not help.
     */
    static final int BAND_FLOATS = 256 * 1024;
    /** Output floats of one band of the direct convolution in conv + ReLU + pool: 128 KB, well inside L2. */
    private static final int POOL_BAND_FLOATS = 32 * 1024;
    /** See {@link #gradientChunks}. */
    static final int GRADIENT_CHUNKS = 16;

    private ConvOps() {
    }

    /**
     * x [N, C, H, W] cross-correlated with weight [O, C, kH, kW], plus bias [O] (may be null):
     * out [N, O, outH, outW], {@code outH = (H + 2*padH - dilationH*(kH-1) - 1) / strideH + 1} (likewise W).
     */
    static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW,
                         int dilationH, int dilationW, PaddingMode padding) {
        return conv2d(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, padding, 1);
    }

    /**
     * Grouped: the C input channels and the O output channels are cut into {@code groups} equal runs, and output
     * run k sees input run k only, through weight [O, C/groups, kH, kW] (PyTorch's {@code groups}). With groups = C
     * it is a depthwise convolution: each output channel filters one input channel.
     */
    static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW,
                         int dilationH, int dilationW, PaddingMode padding, int groups) {
        return conv2d(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, padding, groups,
                ConvAlgorithm.current());
    }

    /** As above, with the algorithm given (tests run every path through this). */
    static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW,
                         int dilationH, int dilationW, PaddingMode padding, ConvAlgorithm algorithm) {
        return conv2d(x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, padding, 1, algorithm);
    }

    /** As above, grouped, with the algorithm given. */
    static Tensor conv2d(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW,
                         int dilationH, int dilationW, PaddingMode padding, int groups, ConvAlgorithm algorithm) {
        Layer layer = layer("conv2d", x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW, padding,
                groups, algorithm);
        ConvGeometry g = layer.g;
        int n = x.shape[0];
        int outChannels = layer.outChannels;
        Tensor out = Tensor.fresh(n, outChannels, g.outH(), g.outW());
        float[] biasData = bias == null ? null : bias.data;
        Workspace[] ws = Workspace.acquire(batchTasks(n));
        try {
            forEachRange(ws, n, (w, first, end) -> {
                for (int i = first; i < end; i++) {
                    layer.forward(w, x.data, i, weight.data, biasData, out.data, i * layer.outImageSize);
                }
            });
        } finally {
            Workspace.release(ws);
        }

        // The columns are recomputed in backward rather than kept for every image: they take K*P floats per
        // image, kH*kW times the input (a 3x3 conv over a batch of 32 64-channel 56x56 maps would hold
        // ~230 MB), while im2col costs O(K*P), a factor O cheaper than the GEMMs that use the columns.
        // Backward therefore reads x.data and weight.data as they are then: do not modify them in place between
        // forward and backward.
        Tensor[] inputs = bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        return out.recordOp("conv2d", () -> backward(layer, x, weight, bias,
                (w, i) -> layer.backward(w, x.data, i, weight.data, out.grad, i * layer.outImageSize, w.dW, w.dB,
                        w.dX)), inputs);
    }

    /**
     * conv2d, then ReLU, then a 2x2 max pool with stride 2, as one op: {@code maxPool2d(relu(conv2d(x)), 2)}, the
     * block every layer of a VGG-style tower repeats. Values and gradients are exactly those of the three ops in a
     * row (ReLU and max are exact, and the convolution runs the same kernels image by image), but each image's
     * convolution output lives only in a per-thread buffer while it is pooled, so the full-size [N, O, outH, outW]
     * output and its ReLU, and their gradients, are never allocated: for the first layer of the reference tower
     * that is 126 MB per tensor per training step, and four memory-bound passes over them.
     *
     * <p>Backward needs only where each pooled maximum came from: one byte per pooled value, the position in its
     * window, or -1 when the maximum was not positive (ReLU passed no gradient there). The convolution's output
     * gradient is rebuilt per image from it, and the convolution backward runs on that.
     */
    static Tensor conv2dReluMaxPool2(Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH,
                                     int padW, int dilationH, int dilationW, PaddingMode padding, int groups) {
        Layer layer = layer("conv2dReluMaxPool2", x, weight, bias, strideH, strideW, padH, padW, dilationH, dilationW,
                padding, groups, ConvAlgorithm.current());
        ConvGeometry g = layer.g;
        if (g.outH() < 2 || g.outW() < 2) {
            throw new IllegalArgumentException("conv2dReluMaxPool2: the convolution's output " + g.outH() + "x"
                    + g.outW() + " (of input " + Shapes.toString(x.shape) + ") is smaller than the 2x2 pool window");
        }
        int n = x.shape[0];
        int pooledH = g.outH() / 2;
        int pooledW = g.outW() / 2;
        int pooledImage = layer.outChannels * pooledH * pooledW;
        Tensor out = Tensor.fresh(n, layer.outChannels, pooledH, pooledW);
        float[] biasData = bias == null ? null : bias.data;
        boolean recordsGrad = GradMode.isEnabled()
                && (x.requiresGrad || weight.requiresGrad || (bias != null && bias.requiresGrad));
        byte[] argmax = recordsGrad ? new byte[out.data.length] : null;
        Workspace[] ws = Workspace.acquire(batchTasks(n));
        try {
            forEachRange(ws, n, (w, first, end) -> {
                for (int i = first; i < end; i++) {
                    layer.forwardReluMaxPool2(w, x.data, i, weight.data, biasData, out.data, i * pooledImage, argmax);
                }
            });
        } finally {
            Workspace.release(ws);
        }
        if (!recordsGrad) {
            return out;
        }
        Tensor[] inputs = bias == null ? new Tensor[] {x, weight} : new Tensor[] {x, weight, bias};
        return out.recordOp("conv2d_relu_max_pool2d", () -> backward(layer, x, weight, bias, (w, i) -> {
            float[] convGrad = w.imageOutputGrad(layer.outImageSize);
            layer.kernels.reluMaxPool2Backward(out.grad, argmax, i * pooledImage, layer.outChannels, g.outH(),
                    g.outW(), convGrad);
            layer.backward(w, x.data, i, weight.data, convGrad, 0, w.dW, w.dB, w.dX);
        }), inputs);
    }

    /** The backward of one image: adds its contribution into the task's w.dW, w.dB and w.dX (each may be null). */
    private interface ImageBackward {
        void run(Workspace w, int image);
    }

    /**
     * Runs {@code image} for every image of the batch and sums the weight and bias gradients the same way at any
     * thread count: the images are cut into {@link #gradientChunks} contiguous chunks, a number that depends on the
     * batch alone, each chunk sums its images in order into its own buffers, and the chunk sums are added in chunk
     * order. Threads only decide who computes which chunk, so the bits never change with them.
     */
    private static void backward(Layer layer, Tensor x, Tensor weight, Tensor bias, ImageBackward image) {
        int n = x.shape[0];
        int outChannels = layer.outChannels;
        boolean needW = weight.requiresGrad;
        boolean needB = bias != null && bias.requiresGrad;
        // null for a network's first layer, whose input needs no gradient: that work is skipped.
        // Allocated here, before the tasks add into disjoint images of it.
        float[] xGrad = x.requiresGrad ? x.gradBuffer() : null;
        if (xGrad != null) {
            layer.prepare(weight.data, false);
        }
        int chunks = gradientChunks(n);
        float[][] chunkW = new float[needW ? chunks : 0][];
        double[][] chunkB = new double[needB ? chunks : 0][];
        Workspace[] bws = Workspace.acquire(Math.min(chunks, batchTasks(n)));
        try {
            int tasks = bws.length;
            Parallel.forEach(tasks, t -> {
                Workspace w = bws[t];
                w.dX = xGrad;
                for (int c = t * chunks / tasks; c < (t + 1) * chunks / tasks; c++) {
                    w.dW = needW ? (chunkW[c] = new float[layer.weightSize]) : null;
                    w.dB = needB ? (chunkB[c] = new double[outChannels]) : null;
                    for (int i = c * n / chunks; i < (c + 1) * n / chunks; i++) {
                        image.run(w, i);
                    }
                }
            });
            if (needW) {
                float[] wGrad = weight.gradBuffer();
                for (float[] partial : chunkW) {
                    layer.kernels.axpy(1f, partial, wGrad, layer.weightSize);
                }
            }
            if (needB) {
                float[] bGrad = bias.gradBuffer();
                for (int o = 0; o < outChannels; o++) {
                    double s = 0;
                    for (double[] partial : chunkB) {
                        s += partial[o];
                    }
                    bGrad[o] += (float) s;
                }
            }
        } finally {
            for (Workspace w : bws) {
                w.dW = null;
                w.dB = null;
                w.dX = null;
            }
            Workspace.release(bws);
        }
    }

    /** Checks the shapes and settles the geometry and path of one convolution; {@code op} names it in errors. */
    private static Layer layer(String op, Tensor x, Tensor weight, Tensor bias, int strideH, int strideW, int padH,
                               int padW, int dilationH, int dilationW, PaddingMode padding, int groups,
                               ConvAlgorithm algorithm) {
        Shapes.requireRank(op, x, 4, "input [N, C, H, W]");
        Shapes.requireRank(op, weight, 4, groups == 1 ? "weight [O, C, kH, kW]" : "weight [O, C/groups, kH, kW]");
        if (padding == null) {
            throw new IllegalArgumentException(op + ": padding mode must not be null (use ZEROS or REFLECT)");
        }
        int channels = x.shape[1];
        int outChannels = weight.shape[0];
        if (groups < 1) {
            throw new IllegalArgumentException(op + ": groups must be positive, got " + groups);
        }
        if (channels % groups != 0 || outChannels % groups != 0) {
            throw new IllegalArgumentException(op + ": groups=" + groups + " must divide both the " + channels
                    + " input channels of input " + Shapes.toString(x.shape) + " and the " + outChannels
                    + " output channels of weight " + Shapes.toString(weight.shape));
        }
        if (weight.shape[1] != channels / groups) {
            throw new IllegalArgumentException(op + ": input " + Shapes.toString(x.shape) + " has " + channels
                    + " channels but weight " + Shapes.toString(weight.shape) + " expects "
                    + (groups == 1 ? weight.shape[1] : weight.shape[1] + " per group, " + weight.shape[1] * groups
                    + " in all with groups=" + groups));
        }
        if (bias != null && (bias.shape.length != 1 || bias.shape[0] != outChannels)) {
            throw new IllegalArgumentException(op + ": bias must have shape [" + outChannels + "] (one value per "
                    + "output channel of weight " + Shapes.toString(weight.shape) + "), got "
                    + Shapes.toString(bias.shape));
        }
        ConvGeometry g = new ConvGeometry(channels, x.shape[2], x.shape[3], weight.shape[2], weight.shape[3],
                strideH, strideW, padH, padW, dilationH, dilationW, padding);
        Layer layer = new Layer(g, outChannels, groups, algorithm);
        layer.prepare(weight.data, true);
        return layer;
    }

    /**
     * One layer's forward and backward for one image, on the path chosen for it. A depthwise layer (groups = C) takes
     * the depthwise kernels, unless im2col is forced; other grouped layers run im2col + GEMM once per group, on the
     * group's slices of the image, weight and output (each a contiguous run).
     */
    private static final class Layer {
        /** The geometry of one group (of the whole layer when groups = 1); over all C channels when depthwise. */
        final ConvGeometry g;
        final Kernels kernels = KernelProvider.kernels();
        final boolean direct;
        /** Forward and input gradient by Winograd F(4x4, 3x3), the weight gradient by F(3x3, 4x4). */
        final boolean winograd;
        final boolean depthwise;
        final int groups;
        final int outChannels;
        final int groupOut;      // O/groups
        final int taps;          // K of one group: C/groups*kH*kW, a row of the weight
        final int pixels;        // P
        final int outW;
        final int imageSize;     // C*H*W
        final int groupImageSize; // C/groups*H*W
        final int outImageSize;  // O*P
        final int weightSize;    // O*K
        final int bandRows;
        final boolean banded;
        final int bandColumns;   // floats of one band's column matrix [K, bandRows*outW]
        final int bandOut;       // floats of one band's output (or output gradient) [O, bandRows*outW]
        /** Winograd only: the transformed filters of forward and of the input gradient, made when first needed. */
        private float[] winogradFilters;
        private float[] winogradFlippedFilters;

        Layer(ConvGeometry whole, int outChannels, int groups, ConvAlgorithm algorithm) {
            this.groups = groups;
            this.depthwise = groups > 1 && groups == whole.channels() && algorithm != ConvAlgorithm.IM2COL;
            this.g = groups == 1 || depthwise ? whole : whole.withChannels(whole.channels() / groups);
            ConvAlgorithm path = groups == 1 ? algorithm.resolve(g) : ConvAlgorithm.IM2COL;
            this.direct = path == ConvAlgorithm.DIRECT;
            this.winograd = path == ConvAlgorithm.WINOGRAD;
            this.outChannels = outChannels;
            groupOut = outChannels / groups;
            taps = whole.patchSize() / groups;
            pixels = g.outPixels();
            outW = g.outW();
            imageSize = whole.imageSize();
            groupImageSize = imageSize / groups;
            outImageSize = outChannels * pixels;
            weightSize = outChannels * taps;
            bandRows = bandRows(g);
            banded = bandRows < g.outH();
            long columns = (long) taps * bandRows * outW;
            if (!direct && !depthwise && columns > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("conv2d: one output row of " + g + " lowers to " + columns
                        + " column floats, more than a Java array holds");
            }
            bandColumns = (int) columns;
            bandOut = outChannels * bandRows * outW;
        }

        /**
         * Gets the filters of the Winograd path (from {@link WinogradFilters}: transformed again only when the
         * weights changed) once per forward (or backward), before the tasks start, so that they only read them.
         * Does nothing on the other paths.
         */
        void prepare(float[] w, boolean forward) {
            if (!winograd) {
                return;
            }
            if (forward) {
                winogradFilters = WinogradFilters.forward(kernels, w, outChannels, g.channels());
            } else {
                // The input gradient convolves O channels into C: its filter matrices are [C, O].
                winogradFlippedFilters = WinogradFilters.flipped(kernels, w, outChannels, g.channels());
            }
        }

        /**
         * out[outOff ..] = maxPool2(relu(conv(x_n) + b)), for image n = i, with the pool's choices in argmax (when
         * not null) at the same offsets. Winograd pools straight from its tile products; the other paths write
         * the convolution into a per-image buffer and pool that.
         */
        void forwardReluMaxPool2(Workspace ws, float[] x, int i, float[] w, float[] bias, float[] out, int outOff,
                                 byte[] argmax) {
            if (winograd) {
                WinogradConv.convolveReluMaxPool2(kernels, x, i * imageSize, g.channels(), g.inH(), g.inW(),
                        winogradFilters, outChannels, bias, out, outOff, argmax, ws.winogradTiles(winogradScratch()),
                        ws.winogradProducts(winogradScratch()));
                return;
            }
            int pooledH = g.outH() / 2;
            int pooledPlane = pooledH * (outW / 2);
            if (direct) {
                // Band by band, so that the full-size output (1.3 MB an image in the reference tower's first
                // layer) never goes out to memory and back; each band holds exactly its rows of the whole output.
                int rows = poolBandRows();
                float[] band = ws.band(outChannels * rows * outW);
                for (int oy = 0; oy < 2 * pooledH; oy += rows) {
                    int end = Math.min(2 * pooledH, oy + rows);
                    kernels.convDirectForward(x, i * imageSize, g, w, bias, outChannels, band, 0, oy, end);
                    kernels.reluMaxPool2(band, outChannels, end - oy, outW, out, outOff + oy / 2 * (outW / 2),
                            pooledPlane, argmax);
                }
                return;
            }
            float[] convOut = ws.imageOutput(outImageSize);
            forward(ws, x, i, w, bias, convOut, 0);
            kernels.reluMaxPool2(convOut, outChannels, g.outH(), outW, out, outOff, pooledPlane, argmax);
        }

        /** Rows of a direct band that is pooled at once: an even number, about POOL_BAND_FLOATS of output. */
        private int poolBandRows() {
            int rows = POOL_BAND_FLOATS / (outChannels * outW) / 2 * 2;
            return Math.max(2, Math.min(rows, g.outH() / 2 * 2));
        }

        /** out[outOff ..] = conv(x_n) + b, for image n = i. */
        void forward(Workspace ws, float[] x, int i, float[] w, float[] bias, float[] out, int outOff) {
            if (depthwise) {
                kernels.depthwiseConvForward(x, i * imageSize, g, groupOut, w, bias, out, outOff);
                return;
            }
            if (direct) {
                kernels.convDirectForward(x, i * imageSize, g, w, bias, outChannels, out, outOff, 0, g.outH());
                return;
            }
            if (winograd) {
                WinogradConv.convolve(kernels, x, i * imageSize, g.channels(), g.inH(), g.inW(), winogradFilters,
                        outChannels, bias, out, outOff, false, ws.winogradTiles(winogradScratch()),
                        ws.winogradProducts(winogradScratch()));
                return;
            }
            for (int oy0 = 0; oy0 < g.outH(); oy0 += bandRows) {
                int oy1 = Math.min(g.outH(), oy0 + bandRows);
                int bp = (oy1 - oy0) * outW;
                float[] columns = ws.columns(bandColumns);
                // A band's output is strided in out_n (row o starts at o*P + p0): GEMM into a dense buffer and
                // copy, O*bp floats against the GEMM's O*K*bp multiply-adds.
                float[] c = banded ? ws.band(bandOut) : out;
                int cOff = banded ? 0 : outOff;
                if (bias != null) {
                    // The GEMM adds onto the bias: no second pass over the output.
                    for (int o = 0; o < outChannels; o++) {
                        Arrays.fill(c, cOff + o * bp, cOff + (o + 1) * bp, bias[o]);
                    }
                }
                for (int k = 0; k < groups; k++) {
                    kernels.im2colRows(x, i * imageSize + k * groupImageSize, g, oy0, oy1, columns);
                    // out_n[group k's rows, band] [O/groups, bp] (+)= W_k [O/groups, K] * cols [K, bp]; W_k is
                    // read in place, rows k*O/groups on of W.
                    kernels.gemm(false, false, groupOut, bp, taps, w, k * groupOut * taps, columns, 0, c,
                            cOff + k * groupOut * bp, bias != null);
                }
                if (banded) {
                    for (int o = 0; o < outChannels; o++) {
                        System.arraycopy(c, o * bp, out, outOff + o * pixels + oy0 * outW, bp);
                    }
                }
            }
        }

        /**
         * dW += dW_n, dB += db_n, and (when xGrad is not null) dx_n += ..., for image n = i whose output gradient
         * starts at gOut[gOff].
         */
        void backward(Workspace ws, float[] x, int i, float[] w, float[] gOut, int gOff, float[] dW, double[] dB,
                      float[] xGrad) {
            int xOff = i * imageSize;
            if (dB != null) {
                // d/db[o] = sum over images and pixels of G[n, o, :, :]
                kernels.convBiasGradAccumulate(gOut, gOff, outChannels, pixels, dB);
            }
            if (depthwise) {
                if (dW != null) {
                    kernels.depthwiseConvWeightGradAccumulate(x, xOff, g, groupOut, gOut, gOff, dW);
                }
                if (xGrad != null) {
                    kernels.depthwiseConvInputGradAccumulate(gOut, gOff, g, groupOut, w, xGrad, xOff);
                }
                return;
            }
            if (direct) {
                if (dW != null) {
                    kernels.convDirectWeightGradAccumulate(x, xOff, g, gOut, gOff, outChannels, dW);
                }
                if (xGrad != null) {
                    kernels.convDirectInputGradAccumulate(gOut, gOff, g, w, outChannels, xGrad, xOff);
                }
                return;
            }
            if (winograd) {
                if (dW != null) {
                    WinogradWeightGradient.weightGradient(kernels, x, xOff, g.channels(), g.inH(), g.inW(), gOut,
                            gOff, outChannels, dW, ws.winogradTiles(winogradScratch()),
                            ws.winogradProducts(winogradScratch()),
                            ws.winogradWeightProducts(WinogradWeightGradient.productsSize(outChannels, g.channels())));
                }
                if (xGrad != null) {
                    // dx_n += the same 3x3 convolution of G_n with the filters turned by 180 degrees, O -> C channels
                    WinogradConv.convolve(kernels, gOut, gOff, outChannels, g.outH(), g.outW(),
                            winogradFlippedFilters, g.channels(), null, xGrad, xOff, true,
                            ws.winogradTiles(winogradScratch()), ws.winogradProducts(winogradScratch()));
                }
                return;
            }
            for (int oy0 = 0; oy0 < g.outH(); oy0 += bandRows) {
                int oy1 = Math.min(g.outH(), oy0 + bandRows);
                int bp = (oy1 - oy0) * outW;
                // G_n[:, band], copied to a dense buffer when strided.
                float[] gb = gOut;
                int gbOff = gOff;
                if (banded) {
                    gb = ws.band(bandOut);
                    gbOff = 0;
                    for (int o = 0; o < outChannels; o++) {
                        System.arraycopy(gOut, gOff + o * pixels + oy0 * outW, gb, o * bp, bp);
                    }
                }
                for (int k = 0; k < groups; k++) {
                    // group k: rows k*O/groups on of G, W and dW, channels k*C/groups on of x and dx
                    int gk = gbOff + k * groupOut * bp;
                    int wk = k * groupOut * taps;
                    int xk = xOff + k * groupImageSize;
                    if (dW != null) {
                        // dW_k [O/groups, K] += G_k [O/groups, bp] * cols^T [bp, K]
                        float[] columns = ws.columns(bandColumns);
                        kernels.im2colRows(x, xk, g, oy0, oy1, columns);
                        kernels.gemm(false, true, groupOut, taps, bp, gb, gk, columns, 0, dW, wk, true);
                    }
                    if (xGrad != null) {
                        // dcols [K, bp] = W_k^T [K, O/groups] * G_k [O/groups, bp]; W_k is read transposed in place.
                        float[] dColumns = ws.columnGrads(bandColumns);
                        kernels.gemm(true, false, taps, bp, groupOut, w, wk, gb, gk, dColumns, 0, false);
                        // im2col copies each input value to every tap that sees it, so its adjoint sums them back.
                        kernels.col2imRowsAccumulate(dColumns, g, oy0, oy1, xGrad, xk);
                    }
                }
            }
        }

        /** Floats of each Winograd scratch buffer: enough for forward (C in, O out) and backward (O in, C out). */
        private int winogradScratch() {
            return WinogradConv.scratchSize(Math.max(g.channels(), outChannels), g.inH(), g.inW());
        }
    }

    // ===================================================================================== batch parallelism

    /**
     * One range of images per thread when there are at least as many images as threads; otherwise a single range
     * (a batch of one image), whose GEMMs are then the ones that use the threads.
     */
    static int batchTasks(int images) {
        int threads = Parallel.threads();
        return images >= threads ? threads : 1;
    }

    /**
     * Chunks a batch's gradient sums are cut into: a function of the batch size only, never of the thread count,
     * so training gives the same bits on any machine. 16 keeps up to 16 threads busy; summing the chunks costs
     * 16 passes over a layer's weights, nothing next to the convolutions.
     */
    static int gradientChunks(int images) {
        return Math.max(1, Math.min(images, GRADIENT_CHUNKS));
    }

    /**
     * Output rows per band of the im2col path: as many as keep the band's column matrix [K, rows*outW] within
     * {@link #BAND_FLOATS} (at least one), spread evenly: 28 rows at most 9 per band are 4 bands of 7, not
     * 9 + 9 + 9 + 1, as a 1-row GEMM is slow.
     */
    static int bandRows(ConvGeometry g) {
        long perRow = (long) g.patchSize() * g.outW();
        int maxRows = (int) Math.max(1, Math.min(g.outH(), BAND_FLOATS / perRow));
        int bands = (g.outH() + maxRows - 1) / maxRows;
        return (g.outH() + bands - 1) / bands;
    }

    private interface RangeBody {
        void run(Workspace ws, int firstImage, int endImage);
    }

    /** Splits n images into ws.length near-equal contiguous ranges and runs range t with workspace t. */
    private static void forEachRange(Workspace[] ws, int n, RangeBody body) {
        int tasks = ws.length;
        Parallel.forEach(tasks, t -> body.run(ws[t], (int) ((long) t * n / tasks),
                (int) ((long) (t + 1) * n / tasks)));
    }

    /**
     * One task's buffers, grown to the largest layer seen and kept in a small pool between calls so a training
     * step allocates no column matrices. A task takes its buffers from the array acquired by the calling thread,
     * never from a thread-local, so no scheduling (work stealing, nested calls) can make two tasks share one.
     */
    private static final class Workspace {
        private static final float[] NONE = new float[0];
        private static final ArrayDeque<Workspace> POOL = new ArrayDeque<>();

        private float[] columns = NONE;
        private float[] columnGrads = NONE;
        private float[] band = NONE;
        private float[] winogradTiles = NONE;
        private float[] winogradProducts = NONE;
        private float[] winogradWeightProducts = NONE;
        private float[] imageOutput = NONE;
        private float[] imageOutputGrad = NONE;
        /** During a backward: where this task adds its gradients, its current chunk's (null when not needed). */
        private float[] dW;
        private double[] dB;
        private float[] dX;

        static Workspace[] acquire(int count) {
            Workspace[] ws = new Workspace[count];
            synchronized (POOL) {
                for (int i = 0; i < count; i++) {
                    Workspace w = POOL.poll();
                    ws[i] = w != null ? w : new Workspace();
                }
            }
            return ws;
        }

        static void release(Workspace[] ws) {
            synchronized (POOL) {
                // Enough for two convolutions at once per thread; more would only hold memory.
                int keep = 2 * Parallel.threads();
                for (Workspace w : ws) {
                    if (POOL.size() < keep) {
                        POOL.push(w);
                    }
                }
            }
        }

        /** At least {@code size} floats; contents undefined (im2col overwrites them). */
        float[] columns(int size) {
            if (columns.length < size) {
                columns = new float[size];
            }
            return columns;
        }

        /** At least {@code size} floats; contents undefined (the GEMM overwrites them). */
        float[] columnGrads(int size) {
            if (columnGrads.length < size) {
                columnGrads = new float[size];
            }
            return columnGrads;
        }

        /** At least {@code size} floats; contents undefined: one band's output or output gradient. */
        float[] band(int size) {
            if (band.length < size) {
                band = new float[size];
            }
            return band;
        }

        /** At least {@code size} floats; contents undefined: the Winograd path's transformed input tiles. */
        float[] winogradTiles(int size) {
            if (winogradTiles.length < size) {
                winogradTiles = new float[size];
            }
            return winogradTiles;
        }

        /** At least {@code size} floats; contents undefined: the Winograd path's tile products. */
        float[] winogradProducts(int size) {
            if (winogradProducts.length < size) {
                winogradProducts = new float[size];
            }
            return winogradProducts;
        }

        /** At least {@code size} floats; contents undefined: the Winograd weight gradient's summed products. */
        float[] winogradWeightProducts(int size) {
            if (winogradWeightProducts.length < size) {
                winogradWeightProducts = new float[size];
            }
            return winogradWeightProducts;
        }

        /** At least {@code size} floats; contents undefined: one image's convolution output. */
        float[] imageOutput(int size) {
            if (imageOutput.length < size) {
                imageOutput = new float[size];
            }
            return imageOutput;
        }

        /** At least {@code size} floats; contents undefined: one image's convolution output gradient. */
        float[] imageOutputGrad(int size) {
            if (imageOutputGrad.length < size) {
                imageOutputGrad = new float[size];
            }
            return imageOutputGrad;
        }
    }
}
