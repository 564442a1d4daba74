package org.siamese4j.nn;

import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Fully connected layer {@code y = x W^T + b}: x [N, in], weight [out, in], bias [out], y [N, out]. A batched
 * input [B, N, in] gives [B, N, out].
 *
 * <p>Initialised as PyTorch's {@code nn.Linear}: weight and bias both U(-1/sqrt(in), 1/sqrt(in)).
 */
public final class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;
    private final Tensor weight;
    private final Tensor bias;

    /** With bias. */
    public Linear(int inFeatures, int outFeatures, Rng rng) {
        this(inFeatures, outFeatures, true, rng);
    }

    public Linear(int inFeatures, int outFeatures, boolean bias, Rng rng) {
        this.inFeatures = positive("in_features", inFeatures, "Linear");
        this.outFeatures = positive("out_features", outFeatures, "Linear");
        this.weight = registerParameter("weight", Tensor.zeros(outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(outFeatures)) : null;
        Init.defaultLayerInit(weight, this.bias, rng);
    }

    @Override
    public Tensor forward(Tensor input) {
        if (input.rank() < 2 || input.rank() > 3 || input.dim(-1) != inFeatures) {
            throw new IllegalArgumentException(this + ": expected input [N, " + inFeatures + "] or [B, N, "
                    + inFeatures + "], got shape " + Shapes.toString(input.shape()));
        }
        return Functional.linear(input, weight, bias);
    }

    /** [out, in]. */
    public Tensor weight() {
        return weight;
    }

    /** [out], or null for a layer without bias. */
    public Tensor bias() {
        return bias;
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    @Override
    protected String extraRepr() {
        return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + py(bias != null);
    }
}
