package org.siamese4j.kernels;

/**
 * The hot loops of the library, behind one interface so they can be swapped.
 *
 * <p>{@link ScalarKernels} is plain Java: the reference every other implementation is tested against.
 * {@code VectorKernels} uses the JDK Vector API and is chosen by {@link KernelProvider} at start-up when the
 * {@code jdk.incubator.vector} module is present. All arrays are dense and row-major; offsets say where a
 * matrix or image starts in its array. Output arguments are named {@code out}, {@code c} or {@code ...Grad};
 * "accumulate" kernels add into them, the others overwrite.
 */
public interface Kernels {

    /** A short name for logs and benchmarks: "scalar" or "vector-512" and so on. */
    String name();

    // ===================================================================================== matrix multiply

    /**
     * {@code C = op(A) op(B)}, or {@code C += op(A) op(B)} when {@code accumulate}.
     * C is [m, n]. A is stored [m, k], or [k, m] when {@code transA}; B is stored [k, n], or [n, k] when
     * {@code transB}. The transposes are read in place, never materialised.
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k,
              float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, boolean accumulate);

    /**
     * Height h of the row panels of {@link #gemmPackedA}'s A: value (i, p) of A [m, k] sits at
     * {@code (i / h) * h * k + p * h + i % h}, the rows padded up to a multiple of h (the padding's values never
     * reach C). With h = 1 that is A row-major.
     */
    int gemmPanelRows();

    /**
     * {@code C = A B} with A already in the row panels above (the order the vector kernels' GEMM packs A into) and
     * B row-major [k, n]: a caller that multiplies many B by the same A, or can write A that way (Winograd's
     * filter transform), skips packing A, the larger part of the packing for short products. C [m, n] is
     * row-major. The whole shared dimension k is one block, so this is for short products (k up to a few hundred).
     */
    void gemmPackedA(int m, int n, int k, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff);

    // ===================================================================================== convolution

    /**
     * Lowers one image [C, H, W] (starting at {@code imageOff}) to the column matrix
     * [C*kH*kW, outH*outW]: row (c, i, j) holds, for every output pixel, the input value the kernel tap
     * (i, j) of channel c sees there (0 or the reflected value in the padding).
     */
    void im2col(float[] image, int imageOff, ConvGeometry g, float[] columns);

    /** The adjoint of {@link #im2col}: adds every column entry back into the image position it was read from. */
    void col2imAccumulate(float[] columns, ConvGeometry g, float[] imageGrad, int imageOff);

    // ===================================================================================== convolution, direct
    // (plus the bias gradient and im2col by bands of output rows, added with it for the speed of conv2d)
    //
    // For layers with few input channels (an image's 1 to 3 colour planes) im2col gives a GEMM whose shared
    // dimension K = C*kH*kW is 9 to 27: too short for a GEMM to pay for its packing. These kernels convolve one
    // image directly instead. With xpad the image padded as g says (zeros or reflection), and the weight
    // [O, C, kH, kW] at offset 0:
    //
    //   out[o, oy, ox] = bias[o] + sum_{c, i, j} w[o, c, i, j] * xpad[c, oy*sH + i*dH, ox*sW + j*dW]
    //
    // so the gradients are the same sum read the other two ways round:
    //
    //   dW[o, c, i, j]          += sum_{oy, ox} G[o, oy, ox] * xpad[c, oy*sH + i*dH, ox*sW + j*dW]
    //   dxpad[c, oy*sH + i*dH, ox*sW + j*dW] += sum_o w[o, c, i, j] * G[o, oy, ox],  folded back into dx
    //
    // where a reflected padding position adds into the pixel it mirrors.

    /**
     * Writes output rows [firstRow, endRow) of one image [C, H, W] (at {@code imageOff}) as
     * out [O, endRow - firstRow, outW] (at {@code outOff}); {@code bias} may be null. A band of rows holds exactly
     * the values of the same rows of the whole output.
     */
    void convDirectForward(float[] image, int imageOff, ConvGeometry g, float[] weight, float[] bias,
                           int outChannels, float[] out, int outOff, int firstRow, int endRow);

    /** Adds one image's contribution to {@code weightGrad} [O, C, kH, kW] (at offset 0). */
    void convDirectWeightGradAccumulate(float[] image, int imageOff, ConvGeometry g, float[] outGrad,
                                        int outGradOff, int outChannels, float[] weightGrad);

    /** Adds one image's input gradient into {@code imageGrad} [C, H, W] (at {@code imageOff}). */
    void convDirectInputGradAccumulate(float[] outGrad, int outGradOff, ConvGeometry g, float[] weight,
                                       int outChannels, float[] imageGrad, int imageOff);

    /**
     * {@code biasGrad[o] += sum of plane o} of one image's output gradient [O, pixels] (at {@code outGradOff}):
     * the bias gradient of either convolution path, summed in double across planes and images.
     */
    void convBiasGradAccumulate(float[] outGrad, int outGradOff, int outChannels, int pixels, double[] biasGrad);

    /**
     * {@link #im2col} for output rows [oy0, oy1) only: columns [C*kH*kW, (oy1-oy0)*outW]. A band's column matrix
     * can stay in L2 where a whole image's does not (K*P floats: 3 MB for 32 channels of 56x46 under a 3x3
     * filter), so the GEMM that packs it reads it from cache.
     */
    void im2colRows(float[] image, int imageOff, ConvGeometry g, int oy0, int oy1, float[] columns);

    /** The adjoint of {@link #im2colRows}. */
    void col2imRowsAccumulate(float[] columns, ConvGeometry g, int oy0, int oy1, float[] imageGrad, int imageOff);

    // ===================================================================================== convolution, depthwise
    // A depthwise convolution (groups = C) gives output channel o = c * multiplier + m, for m < multiplier, its own
    // filter w[o, 0, kH, kW] over input channel c alone. With g.channels() = C and xpad the image padded as g says:
    //
    //   out[o, oy, ox] = bias[o] + sum_{i, j} w[o, i, j] * xpad[o / multiplier, oy*sH + i*dH, ox*sW + j*dW]
    //   dW[o, i, j]   += sum_{oy, ox} G[o, oy, ox] * xpad[o / multiplier, oy*sH + i*dH, ox*sW + j*dW]
    //   dxpad[c, oy*sH + i*dH, ox*sW + j*dW] += sum over the multiplier channels o of c: w[o, i, j] * G[o, oy, ox]
    //
    // then folded back into dx as for the direct kernels. Each output is kH*kW multiply-adds against one value read
    // and one written: memory-bound work, with nothing for a GEMM to reuse (per channel it would be a product of a
    // [multiplier, kH*kW] matrix by a [kH*kW, pixels] one). The weight is [C*multiplier, 1, kH, kW] at offset 0.

    /** Writes out [C*multiplier, outH, outW] (at {@code outOff}) for one image; {@code bias} may be null. */
    void depthwiseConvForward(float[] image, int imageOff, ConvGeometry g, int multiplier, float[] weight,
                              float[] bias, float[] out, int outOff);

    /** Adds one image's contribution to {@code weightGrad} [C*multiplier, 1, kH, kW] (at offset 0). */
    void depthwiseConvWeightGradAccumulate(float[] image, int imageOff, ConvGeometry g, int multiplier,
                                           float[] outGrad, int outGradOff, float[] weightGrad);

    /** Adds one image's input gradient into {@code imageGrad} [C, H, W] (at {@code imageOff}). */
    void depthwiseConvInputGradAccumulate(float[] outGrad, int outGradOff, ConvGeometry g, int multiplier,
                                          float[] weight, float[] imageGrad, int imageOff);

    // ===================================================================================== pooling

    /** Max over each window; {@code argmax} receives the flat input index of each maximum (for backward). */
    void maxPool2d(float[] in, PoolGeometry g, float[] out, int[] argmax);

    /** inGrad[argmax[o]] += outGrad[o]. */
    void maxPool2dBackwardAccumulate(float[] outGrad, int[] argmax, float[] inGrad);

    /** Mean over each window, padding counted as zeros in the divisor. */
    void avgPool2d(float[] in, PoolGeometry g, float[] out);

    /** Spreads each output gradient evenly over its window. */
    void avgPool2dBackwardAccumulate(float[] outGrad, PoolGeometry g, float[] inGrad);

    /**
     * The 2x2 stride-2 max pool of relu(y) for the planes of y [planes, h, w] (a last odd row or column is
     * dropped, as in maxPool2d), with maxPool2d's tie rule (the first maximum in row-major window order) and NaN
     * kept. Plane p's h/2 x w/2 values go to out[outOff + p * outPlaneStride ..]: the stride is h/2 * w/2 for a
     * whole image, larger when y is a band of rows of taller planes. When {@code argmax} is not null,
     * argmax[outOff + o] gets the window position 0..3 of each maximum, or -1 when the maximum is not positive
     * (ReLU passes no gradient there).
     */
    void reluMaxPool2(float[] y, int planes, int h, int w, float[] out, int outOff, int outPlaneStride,
                      byte[] argmax);

    /**
     * Pools 2x2 windows laid out across n tiles, for {@link WinogradConv#convolveReluMaxPool2}: the window of tile t
     * has the four values v[first + t], v[second + t], v[third + t], v[fourth + t] (top left, top right, bottom
     * left, bottom right). out[outOff + t] = the largest of relu(value + bias), as {@link #reluMaxPool2} pools
     * (the first maximum wins, NaN propagates); when where is not null, where[outOff + t] = that maximum's
     * position 0..3, or -1 when it is not positive.
     */
    void reluMaxOf4(float[] v, int first, int second, int third, int fourth, int n, float bias, float[] out,
                    int outOff, float[] where);

    /**
     * Winograd's input transform B^T ({@link WinogradConv}) along one axis, on count values at once: out[out0 +
     * j * outStride + m] = sum over k of B^T[j][k] * in[in0 + k * inStride + m], for j = 0..5 and m &lt; count. The
     * rows read and the rows written must not overlap. Same results as the reference bit for bit.
     */
    void winogradInputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride, int count);

    /**
     * Winograd's output transform A^T ({@link WinogradConv}) along one axis, on count values at once: out[out0 +
     * i * outStride + t] = sum over k of A^T[i][k] * in[in0 + k * inStride + t], for i = 0..3 and t &lt; count. The
     * rows read and the rows written must not overlap. Same results as the reference bit for bit.
     */
    void winogradOutputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride, int count);

    /**
     * The weight gradient's transform G' ({@link WinogradWeightGradient}) of 4x4 output-gradient tiles along one
     * axis, on count values at once: out[out0 + j * outStride + m] = sum over k of G'[j][k] * in[in0 + k * inStride
     * + m], for j = 0..5 and m &lt; count. The rows read and the rows written must not overlap. Same results as the
     * reference bit for bit.
     */
    void winogradGradientTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                   int count);

    /**
     * The weight gradient's transform A'^T ({@link WinogradWeightGradient}) of summed tile products back to 3x3,
     * along one axis, on count values at once: out[out0 + i * outStride + m] = sum over k of A'^T[i][k] * in[in0 +
     * k * inStride + m], for i = 0..2 and m &lt; count. The rows read and the rows written must not overlap. Same
     * results as the reference bit for bit.
     */
    void winogradWeightOutputTransform(float[] in, int in0, int inStride, float[] out, int out0, int outStride,
                                       int count);

    /**
     * The adjoint of {@link #reluMaxPool2} for one image: yGrad [planes, h, w] = 0 except, for each pooled value
     * whose argmax is not -1, its gradient outGrad[outOff + o] at the position the maximum came from.
     */
    void reluMaxPool2Backward(float[] outGrad, byte[] argmax, int outOff, int planes, int h, int w, float[] yGrad);

    // ===================================================================================== elementwise

    /** out = a + b over the first n elements. */
    void add(float[] a, float[] b, float[] out, int n);

    /** out = a - b. */
    void sub(float[] a, float[] b, float[] out, int n);

    /** out = a * b. */
    void mul(float[] a, float[] b, float[] out, int n);

    /** out = alpha * x. */
    void scale(float alpha, float[] x, float[] out, int n);

    /** y += alpha * x (BLAS axpy). */
    void axpy(float alpha, float[] x, float[] y, int n);

    /** out = max(x, 0). */
    void relu(float[] x, float[] out, int n);

    /** inGrad += outGrad where x > 0. */
    void reluBackwardAccumulate(float[] x, float[] outGrad, float[] inGrad, int n);

    /** Sum of n elements from {@code off}, accumulated in double. */
    double sum(float[] x, int off, int n);

    /** Dot product of n elements, accumulated in double. */
    double dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** Adds {@code bias[c]} to every element of channel c of a [batch, channels, inner] array. */
    void addBias(float[] x, float[] bias, int batch, int channels, int inner);

    // ===================================================================================== optimisers

    /**
     * One Adam step on n weights, as PyTorch's {@code torch.optim.Adam} / {@code AdamW}:
     * with {@code decoupled} false the decay is L2 ({@code g += weightDecay * w}); with it true (AdamW) the
     * weights shrink first ({@code w -= lr * weightDecay * w}). {@code bias1} and {@code bias2} are
     * {@code 1 - beta1^t} and {@code 1 - beta2^t}.
     */
    void adamStep(float[] w, float[] g, float[] m, float[] v, int n, float lr, float beta1, float beta2,
                  float eps, float bias1, float bias2, float weightDecay, boolean decoupled);

    /**
     * One SGD step on n weights, as {@code torch.optim.SGD}: {@code g += weightDecay * w}; with momentum,
     * {@code buf = momentum * buf + (1 - dampening) * g} ({@code buf = g} on the first step) and the step
     * direction is {@code buf}, or {@code g + momentum * buf} with Nesterov. {@code buf} may be null when
     * momentum is 0.
     */
    void sgdStep(float[] w, float[] g, float[] buf, int n, float lr, float momentum, float dampening,
                 float weightDecay, boolean nesterov, boolean firstStep);
}
