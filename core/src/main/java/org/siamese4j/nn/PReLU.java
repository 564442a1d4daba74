package org.siamese4j.nn;

import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Parametric ReLU, as PyTorch's {@code nn.PReLU}: x for x &gt; 0, else a * x, with a learnt slope {@code weight}
 * [numParameters]: one per channel (dimension 1 of the input), or one shared by every element when numParameters
 * is 1. The slopes start at 0.25.
 */
public final class PReLU extends Module {
    private final int numParameters;
    private final Tensor weight;

    /** One shared slope, starting at 0.25 (PyTorch's defaults). */
    public PReLU() {
        this(1);
    }

    /** {@code numParameters} slopes (1, or the number of channels), starting at 0.25. */
    public PReLU(int numParameters) {
        this(numParameters, 0.25f);
    }

    public PReLU(int numParameters, float init) {
        this.numParameters = positive("num_parameters", numParameters, "PReLU");
        if (!Float.isFinite(init)) {
            throw new IllegalArgumentException("PReLU: the initial slope must be finite, got " + init);
        }
        this.weight = registerParameter("weight", Tensor.full(init, numParameters));
    }

    @Override
    public Tensor forward(Tensor input) {
        if (numParameters != 1 && (input.rank() < 2 || input.dim(1) != numParameters)) {
            throw new IllegalArgumentException(this + ": expected " + numParameters + " channels in dimension 1, "
                    + "got shape " + Shapes.toString(input.shape()));
        }
        return Functional.prelu(input, weight);
    }

    /** The slopes [numParameters]. */
    public Tensor weight() {
        return weight;
    }

    public int numParameters() {
        return numParameters;
    }

    @Override
    protected String extraRepr() {
        return "num_parameters=" + numParameters;
    }
}
