package org.siamese4j.optim;

import java.util.List;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.tensor.Tensor;

/**
 * Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay, as
 * {@code torch.optim.SGD}. Per parameter, with gradient g:
 * <pre>
 *   g   = g + weightDecay * w
 *   buf = g                                         (first step)
 *   buf = momentum * buf + (1 - dampening) * g      (later steps)
 *   d   = nesterov ? g + momentum * buf : buf       (d = g without momentum)
 *   w   = w - lr * d
 * </pre>
 * Defaults as PyTorch: lr 1e-3, momentum 0, dampening 0, weight decay 0, no Nesterov.
 */
public final class SGD extends Optimizer {
    private final float momentum;
    private final float dampening;
    private final float weightDecay;
    private final boolean nesterov;

    /** Plain SGD. */
    public SGD(List<Tensor> params, float lr) {
        this(params, lr, 0f, 0f, 0f, false);
    }

    /** SGD with (heavy-ball) momentum. */
    public SGD(List<Tensor> params, float lr, float momentum) {
        this(params, lr, momentum, 0f, 0f, false);
    }

    public SGD(List<Tensor> params, float lr, float momentum, float dampening, float weightDecay, boolean nesterov) {
        super(params, lr);
        this.momentum = nonNegative("SGD", "momentum", momentum);
        if (!Float.isFinite(dampening)) {
            throw new IllegalArgumentException("SGD: dampening must be finite, got " + dampening);
        }
        this.dampening = dampening;
        this.weightDecay = nonNegative("SGD", "weight decay", weightDecay);
        if (nesterov && (momentum <= 0 || dampening != 0)) {
            throw new IllegalArgumentException("SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum "
                    + momentum + " and dampening " + dampening);
        }
        this.nesterov = nesterov;
    }

    public static Builder builder(List<Tensor> params) {
        return new Builder(params);
    }

    @Override
    protected void update(float[] w, float[] g, ParamState state, boolean first) {
        float[] buf = state.buffer("momentum_buffer");
        KernelProvider.kernels().sgdStep(w, g, buf, w.length, learningRate(), momentum, dampening, weightDecay,
                nesterov, first);
    }

    @Override
    protected List<String> bufferNames() {
        return momentum != 0f ? List.of("momentum_buffer") : List.of();
    }

    public float momentum() {
        return momentum;
    }

    public float dampening() {
        return dampening;
    }

    public float weightDecay() {
        return weightDecay;
    }

    public boolean nesterov() {
        return nesterov;
    }

    @Override
    public String toString() {
        return "SGD(lr=" + learningRate() + ", momentum=" + momentum + ", dampening=" + dampening
                + ", weight_decay=" + weightDecay + ", nesterov=" + nesterov + ")";
    }

    /** Settings with PyTorch's defaults; {@link #build()} validates them. */
    public static final class Builder {
        private final List<Tensor> params;
        private float lr = 1e-3f;
        private float momentum;
        private float dampening;
        private float weightDecay;
        private boolean nesterov;

        private Builder(List<Tensor> params) {
            this.params = params;
        }

        public Builder lr(float lr) {
            this.lr = lr;
            return this;
        }

        public Builder momentum(float momentum) {
            this.momentum = momentum;
            return this;
        }

        public Builder dampening(float dampening) {
            this.dampening = dampening;
            return this;
        }

        public Builder weightDecay(float weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        public Builder nesterov(boolean nesterov) {
            this.nesterov = nesterov;
            return this;
        }

        public SGD build() {
            return new SGD(params, lr, momentum, dampening, weightDecay, nesterov);
        }
    }
}
