package org.siamese4j.nn;

import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Batch normalisation over the channel dimension 1 (Ioffe and Szegedy 2015), as PyTorch's {@code _BatchNorm}:
 * {@code y = (x - mean) / sqrt(var + eps) * weight + bias} per channel.
 *
 * <p>In training mode mean and (biased) variance come from the batch, and the buffers {@code running_mean}
 * and {@code running_var} move towards the batch's statistics by {@code momentum}
 * ({@code running = (1 - momentum) * running + momentum * batch}, with the unbiased variance); in
 * evaluation mode the running statistics are used instead. {@code weight} starts at 1, {@code bias} at 0,
 * {@code running_mean} at 0 and {@code running_var} at 1.
 *
 * <p>The buffer {@code num_batches_tracked} (a 0-dimensional tensor, as in PyTorch) counts the training
 * batches seen. It is not used by the maths (the momentum is fixed) and is kept so state dicts carry the same
 * names as PyTorch's; stored as a float it counts exactly up to 2^24 batches. PyTorch keeps it as an int64, and
 * model files do too ({@code ModelFile} writes it as {@code I64} and reads it from any dtype).
 *
 * <p>A frozen batch norm ({@link #isFrozen()}: neither weight nor bias requires gradients, as after
 * {@link Module#freeze()}) runs as in evaluation mode even while training: it normalises with its running
 * statistics and leaves them, and {@code num_batches_tracked}, unchanged. A frozen layer is then truly fixed,
 * whatever the batches it sees during fine-tuning (PyTorch users get this by calling {@code eval()} on it).
 */
public abstract class BatchNorm extends Module {
    private final int numFeatures;
    private final float eps;
    private final float momentum;
    private final Tensor weight;
    private final Tensor bias;
    private final Tensor runningMean;
    private final Tensor runningVar;
    private final Tensor numBatchesTracked;

    BatchNorm(String layer, int numFeatures, float eps, float momentum) {
        this.numFeatures = positive("num_features", numFeatures, layer);
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException(layer + ": eps must be positive and finite, got " + eps);
        }
        if (!(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException(layer + ": momentum must be in [0, 1], got " + momentum);
        }
        this.eps = eps;
        this.momentum = momentum;
        this.weight = registerParameter("weight", Tensor.ones(numFeatures));
        this.bias = registerParameter("bias", Tensor.zeros(numFeatures));
        this.runningMean = registerBuffer("running_mean", Tensor.zeros(numFeatures));
        this.runningVar = registerBuffer("running_var", Tensor.ones(numFeatures));
        this.numBatchesTracked = registerBuffer("num_batches_tracked", Tensor.scalar(0f));
    }

    /** Fails unless the input has a rank this layer accepts. */
    abstract void checkRank(Tensor input);

    @Override
    public Tensor forward(Tensor input) {
        checkRank(input);
        if (input.dim(1) != numFeatures) {
            throw new IllegalArgumentException(this + ": expected " + numFeatures + " channels in dimension 1, got shape "
                    + Shapes.toString(input.shape()));
        }
        boolean batchStatistics = isTraining() && !isFrozen();
        Tensor out = Functional.batchNorm(input, runningMean, runningVar, weight, bias, batchStatistics, momentum,
                eps);
        if (batchStatistics) {
            numBatchesTracked.data()[0] += 1f;
        }
        return out;
    }

    /** Whether weight and bias are both frozen: then the running statistics are used and kept, in any mode. */
    public boolean isFrozen() {
        return !weight.requiresGrad() && !bias.requiresGrad();
    }

    /** Scale per channel [C], starts at 1. */
    public Tensor weight() {
        return weight;
    }

    /** Shift per channel [C], starts at 0. */
    public Tensor bias() {
        return bias;
    }

    /** [C], updated in place during training. */
    public Tensor runningMean() {
        return runningMean;
    }

    /** [C], updated in place during training. */
    public Tensor runningVar() {
        return runningVar;
    }

    /** Training batches seen so far. */
    public long numBatchesTracked() {
        return (long) numBatchesTracked.item();
    }

    public int numFeatures() {
        return numFeatures;
    }

    public float eps() {
        return eps;
    }

    public float momentum() {
        return momentum;
    }

    @Override
    protected String extraRepr() {
        return numFeatures + ", eps=" + py(eps) + ", momentum=" + py(momentum)
                + ", affine=True, track_running_stats=True";
    }
}
