package org.siamese4j.tensor;

import java.util.Arrays;
import java.util.function.IntConsumer;
import org.siamese4j.kernels.Parallel;

/** Normalisation and regularisation: batch norm, L2 normalisation, dropout. */
final class NormOps {
    /** Below this many values a batch norm stays on the calling thread: a fork would cost more than it saves. */
    private static final long PARALLEL_VALUES = 1L << 15;

    private NormOps() {
    }

    // =====================================================================================================
    // Batch normalisation
    // =====================================================================================================

    /**
     * x is [N, C], [N, C, L] or [N, C, H, W], viewed as [N, C, S] with S the product of the spatial sizes;
     * the statistics of channel c are taken over its m = N*S values.
     *
     * <pre>
     * xhat = (x - mean) * invStd,   invStd = 1 / sqrt(var + eps)
     * y    = xhat * weight + bias   (weight = 1, bias = 0 when null)
     * </pre>
     *
     * In training, mean and the biased var come from the batch and the running statistics move towards the
     * batch's mean and unbiased variance (PyTorch's convention). The running statistics may then be null
     * (nothing to update); in evaluation they are required and used as constants. They are never
     * differentiated.
     */
    static Tensor batchNorm(Tensor x, Tensor runningMean, Tensor runningVar, Tensor weight, Tensor bias,
                            boolean training, float momentum, float eps) {
        int rank = x.shape.length;
        if (rank < 2 || rank > 4) {
            throw new IllegalArgumentException("batchNorm: expected x of rank 2 [N, C], 3 [N, C, L] or "
                    + "4 [N, C, H, W], got shape " + Shapes.toString(x.shape));
        }
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException("batchNorm: eps must be positive and finite, got " + eps);
        }
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("batchNorm: momentum must be in [0, 1], got " + momentum);
        }
        int n = x.shape[0];
        int channels = x.shape[1];
        int spatial = ReduceOps.inner(x.shape, 1);
        int m = n * spatial;
        requireChannelVector("runningMean", runningMean, channels, x);
        requireChannelVector("runningVar", runningVar, channels, x);
        requireChannelVector("weight", weight, channels, x);
        requireChannelVector("bias", bias, channels, x);

        float[] mean = new float[channels];
        float[] invStd = new float[channels];
        float[] xs = x.data;
        if (training) {
            if (m <= 1) {
                throw new IllegalArgumentException("batchNorm: expected more than 1 value per channel when "
                        + "training, got x of shape " + Shapes.toString(x.shape));
            }
            forEachChannel(channels, m, c -> {
                double sum = 0;
                for (int b = 0; b < n; b++) {
                    int base = (b * channels + c) * spatial;
                    for (int s = 0; s < spatial; s++) {
                        sum += xs[base + s];
                    }
                }
                double mu = sum / m;
                // two passes: the variance from squared deviations does not cancel catastrophically
                double squares = 0;
                for (int b = 0; b < n; b++) {
                    int base = (b * channels + c) * spatial;
                    for (int s = 0; s < spatial; s++) {
                        double dev = xs[base + s] - mu;
                        squares += dev * dev;
                    }
                }
                double biasedVar = squares / m;
                mean[c] = (float) mu;
                invStd[c] = (float) (1.0 / Math.sqrt(biasedVar + eps));
                if (runningMean != null) {
                    runningMean.data[c] = (1 - momentum) * runningMean.data[c] + momentum * (float) mu;
                }
                if (runningVar != null) {
                    double unbiasedVar = squares / (m - 1);
                    runningVar.data[c] = (1 - momentum) * runningVar.data[c] + momentum * (float) unbiasedVar;
                }
            });
        } else {
            if (runningMean == null || runningVar == null) {
                throw new IllegalArgumentException("batchNorm: runningMean and runningVar are required in "
                        + "evaluation mode");
            }
            for (int c = 0; c < channels; c++) {
                float v = runningVar.data[c] + eps;
                if (!(v > 0) || !Float.isFinite(v)) {
                    throw new IllegalArgumentException("batchNorm: runningVar[" + c + "] + eps = " + v
                            + " is not positive and finite");
                }
                // copies: later training steps change the running statistics, not this graph's constants
                mean[c] = runningMean.data[c];
                invStd[c] = (float) (1.0 / Math.sqrt(v));
            }
        }

        Tensor out = Tensor.fresh(x.shape);
        float[] ys = out.data;
        forEachChannel(channels, m, c -> {
            float scale = invStd[c] * (weight == null ? 1f : weight.data[c]);
            float shift = bias == null ? 0f : bias.data[c];
            float mu = mean[c];
            for (int b = 0; b < n; b++) {
                int base = (b * channels + c) * spatial;
                for (int s = 0; s < spatial; s++) {
                    ys[base + s] = (xs[base + s] - mu) * scale + shift;
                }
            }
        });

        Tensor[] inputs = nonNull(x, weight, bias);
        boolean batchStats = training;
        return out.recordOp("batch_norm", () -> {
            float[] g = out.grad;
            float[] dw = weight != null && weight.requiresGrad ? weight.gradBuffer() : null;
            float[] db = bias != null && bias.requiresGrad ? bias.gradBuffer() : null;
            float[] dx = x.requiresGrad ? x.gradBuffer() : null;
            forEachChannel(channels, m, c -> {
                float mu = mean[c];
                float is = invStd[c];
                // sum(dy) and sum(dy * xhat), which give dbias, dweight and the batch-stat terms
                double sumG = 0;
                double sumGXhat = 0;
                for (int b = 0; b < n; b++) {
                    int base = (b * channels + c) * spatial;
                    for (int s = 0; s < spatial; s++) {
                        float xhat = (xs[base + s] - mu) * is;
                        sumG += g[base + s];
                        sumGXhat += g[base + s] * xhat;
                    }
                }
                if (dw != null) {
                    dw[c] += (float) sumGXhat;             // dy/dweight = xhat
                }
                if (db != null) {
                    db[c] += (float) sumG;                 // dy/dbias = 1
                }
                if (dx == null) {
                    return;
                }
                float w = weight == null ? 1f : weight.data[c];
                if (!batchStats) {
                    // constant statistics: dx = g * weight * invStd
                    for (int b = 0; b < n; b++) {
                        int base = (b * channels + c) * spatial;
                        for (int s = 0; s < spatial; s++) {
                            dx[base + s] += g[base + s] * w * is;
                        }
                    }
                    return;
                }
                // With dxhat = g * weight, and mean and var depending on every x of the channel:
                // dx = invStd / m * (m * dxhat - sum(dxhat) - xhat * sum(dxhat * xhat))
                float sumDxhat = (float) (w * sumG);
                float sumDxhatXhat = (float) (w * sumGXhat);
                float k = is / m;
                for (int b = 0; b < n; b++) {
                    int base = (b * channels + c) * spatial;
                    for (int s = 0; s < spatial; s++) {
                        float xhat = (xs[base + s] - mu) * is;
                        dx[base + s] += k * (m * g[base + s] * w - sumDxhat - xhat * sumDxhatXhat);
                    }
                }
            });
        }, inputs);
    }

    /**
     * Runs {@code body} for every channel, spread over the threads when there is enough work. Each channel's
     * sums stay one chain in a fixed order, so the bits do not depend on the thread count.
     */
    private static void forEachChannel(int channels, int valuesPerChannel, IntConsumer body) {
        if ((long) channels * valuesPerChannel >= PARALLEL_VALUES) {
            Parallel.forEach(channels, body);
        } else {
            for (int c = 0; c < channels; c++) {
                body.accept(c);
            }
        }
    }

    private static void requireChannelVector(String name, Tensor t, int channels, Tensor x) {
        if (t != null && (t.shape.length != 1 || t.shape[0] != channels)) {
            throw new IllegalArgumentException("batchNorm: " + name + " has shape " + Shapes.toString(t.shape)
                    + " but x " + Shapes.toString(x.shape) + " has " + channels + " channels, so it must be "
                    + Shapes.toString(new int[] {channels}));
        }
    }

    private static Tensor[] nonNull(Tensor... ts) {
        return Arrays.stream(ts).filter(t -> t != null).toArray(Tensor[]::new);
    }

    // =====================================================================================================
    // Dropout
    // =====================================================================================================

    /**
     * Inverted dropout. In training each element is dropped when {@code rng.nextFloat() < p} (one draw per
     * element, in row-major order) and kept ones are scaled by 1/(1-p):  y = x * mask / (1-p), and
     * dy/dx = mask / (1-p). Evaluation, or p == 0, returns x itself. p == 1 drops everything: the output and
     * the gradient are zeros (no 1/0 scale is ever formed).
     */
    static Tensor dropout(Tensor x, float p, boolean training, Rng rng) {
        if (!(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("dropout: p must be in [0, 1], got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        if (rng == null) {
            throw new IllegalArgumentException("dropout: training with p = " + p + " needs an Rng, got null");
        }
        float scale = p < 1 ? 1f / (1f - p) : 0f;
        boolean[] kept = new boolean[x.data.length];
        Tensor out = Tensor.fresh(x.shape);
        for (int i = 0; i < kept.length; i++) {
            kept[i] = rng.nextFloat() >= p;
            out.data[i] = kept[i] ? x.data[i] * scale : 0f;
        }
        return out.recordOp("dropout", () -> {
            float[] dst = x.gradBuffer();
            for (int i = 0; i < kept.length; i++) {
                if (kept[i]) {
                    dst[i] += out.grad[i] * scale;
                }
            }
        }, x);
    }

    // =====================================================================================================
    // L2 normalisation
    // =====================================================================================================

    /**
     * y = x / max(||x||, eps) along {@code dim}, x viewed as [outer, n, inner].
     *
     * <p>Where the norm exceeds eps, y = x / ||x|| and dx = (g - y * sum(g * y)) / ||x|| (the component of g
     * along y is removed, since scaling x does not change y). Where the norm is clamped, the denominator is
     * the constant eps and dx = g / eps.
     */
    static Tensor l2Normalize(Tensor x, int dim, float eps) {
        int d = Shapes.axis(dim, x.shape.length, "l2Normalize");
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException("l2Normalize: eps must be positive and finite, got " + eps);
        }
        int outer = ReduceOps.outer(x.shape, d);
        int n = x.shape[d];
        int inner = ReduceOps.inner(x.shape, d);
        float[] denom = new float[outer * inner];
        boolean[] clamped = new boolean[outer * inner];
        Tensor out = Tensor.fresh(x.shape);
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                float norm = norm(x.data, o, j, n, inner);
                int r = o * inner + j;
                clamped[r] = !(norm > eps);
                denom[r] = clamped[r] ? eps : norm;
                for (int i = 0; i < n; i++) {
                    int at = (o * n + i) * inner + j;
                    out.data[at] = x.data[at] / denom[r];
                }
            }
        }
        return out.recordOp("l2_normalize", () -> {
            float[] g = out.grad;
            float[] y = out.data;
            float[] dst = x.gradBuffer();
            for (int o = 0; o < outer; o++) {
                for (int j = 0; j < inner; j++) {
                    int r = o * inner + j;
                    double gy = 0;
                    if (!clamped[r]) {
                        for (int i = 0; i < n; i++) {
                            int at = (o * n + i) * inner + j;
                            gy += (double) g[at] * y[at];
                        }
                    }
                    float dot = (float) gy;
                    for (int i = 0; i < n; i++) {
                        int at = (o * n + i) * inner + j;
                        dst[at] += (g[at] - y[at] * dot) / denom[r];
                    }
                }
            }
        }, x);
    }

    /**
     * The L2 norm along {@code dim}, {@code sqrt(sum x^2)} with the squares summed in double and rounded once, as
     * {@link #l2Normalize} computes its denominator (so a graph that divides by this norm gives l2Normalize's
     * bits). Backward: dx = g * x / norm, and 0 where the norm is 0 (its gradient is undefined there).
     */
    static Tensor l2Norm(Tensor x, int dim, boolean keepDim) {
        int d = Shapes.axis(dim, x.shape.length, "l2Norm");
        int outer = ReduceOps.outer(x.shape, d);
        int n = x.shape[d];
        int inner = ReduceOps.inner(x.shape, d);
        Tensor out = Tensor.fresh(ReduceOps.reducedShape(x.shape, d, keepDim));
        for (int o = 0; o < outer; o++) {
            for (int j = 0; j < inner; j++) {
                out.data[o * inner + j] = norm(x.data, o, j, n, inner);
            }
        }
        return out.recordOp("l2_norm", () -> {
            float[] g = out.grad;
            float[] dst = x.gradBuffer();
            for (int o = 0; o < outer; o++) {
                for (int j = 0; j < inner; j++) {
                    float norm = out.data[o * inner + j];
                    if (norm == 0f) {
                        continue;
                    }
                    float scale = g[o * inner + j] / norm;
                    for (int i = 0; i < n; i++) {
                        int at = (o * n + i) * inner + j;
                        dst[at] += x.data[at] * scale;
                    }
                }
            }
        }, x);
    }

    /** The L2 norm of the n elements (o, ., j) of a [outer, n, inner] array: squares summed in double, rounded once. */
    private static float norm(float[] data, int o, int j, int n, int inner) {
        double squares = 0;
        for (int i = 0; i < n; i++) {
            double v = data[(o * n + i) * inner + j];
            squares += v * v;
        }
        return (float) Math.sqrt(squares);
    }
}
