package org.siamese4j.optim;

import java.util.List;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.tensor.Tensor;

/**
 * Adam (Kingma and Ba 2015), as {@code torch.optim.Adam}, with weight decay as an L2 term added to the
 * gradient. Per parameter, at step t with gradient g:
 * <pre>
 *   g = g + weightDecay * w
 *   m = beta1 * m + (1 - beta1) * g                  (exp_avg)
 *   v = beta2 * v + (1 - beta2) * g^2                (exp_avg_sq)
 *   w = w - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
 * </pre>
 * Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0. {@link AdamW} decouples the
 * decay from the gradient instead.
 */
public class Adam extends Optimizer {
    private static final List<String> BUFFERS = List.of("exp_avg", "exp_avg_sq");

    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private final boolean decoupled;

    /** PyTorch's defaults. */
    public Adam(List<Tensor> params) {
        this(params, 1e-3f);
    }

    public Adam(List<Tensor> params, float lr) {
        this(params, lr, 0.9f, 0.999f, 1e-8f, 0f);
    }

    public Adam(List<Tensor> params, float lr, float beta1, float beta2, float eps, float weightDecay) {
        this(params, lr, beta1, beta2, eps, weightDecay, false);
    }

    Adam(List<Tensor> params, float lr, float beta1, float beta2, float eps, float weightDecay, boolean decoupled) {
        super(params, lr);
        String name = getClass().getSimpleName();
        this.beta1 = beta(name, "beta1", beta1);
        this.beta2 = beta(name, "beta2", beta2);
        this.eps = nonNegative(name, "eps", eps);
        this.weightDecay = nonNegative(name, "weight decay", weightDecay);
        this.decoupled = decoupled;
    }

    private static float beta(String optimizer, String what, float value) {
        if (!(value >= 0 && value < 1)) {
            throw new IllegalArgumentException(optimizer + ": " + what + " must be in [0, 1), got " + value);
        }
        return value;
    }

    public static Builder builder(List<Tensor> params) {
        return new Builder(params, 0f);
    }

    @Override
    protected final void update(float[] w, float[] g, ParamState state, boolean first) {
        long t = state.step();
        // The bias corrections in double: beta^t for large t underflows gracefully to 0, giving 1.
        float bias1 = (float) (1.0 - Math.pow(beta1, t));
        float bias2 = (float) (1.0 - Math.pow(beta2, t));
        KernelProvider.kernels().adamStep(w, g, state.buffer("exp_avg"), state.buffer("exp_avg_sq"), w.length,
                learningRate(), beta1, beta2, eps, bias1, bias2, weightDecay, decoupled);
    }

    @Override
    protected final List<String> bufferNames() {
        return BUFFERS;
    }

    public float beta1() {
        return beta1;
    }

    public float beta2() {
        return beta2;
    }

    public float eps() {
        return eps;
    }

    public float weightDecay() {
        return weightDecay;
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "(lr=" + learningRate() + ", betas=(" + beta1 + ", " + beta2 + "), eps="
                + eps + ", weight_decay=" + weightDecay + ")";
    }

    /** Settings with PyTorch's defaults; {@link #build()} validates them. */
    public static class Builder {
        final List<Tensor> params;
        float lr = 1e-3f;
        float beta1 = 0.9f;
        float beta2 = 0.999f;
        float eps = 1e-8f;
        float weightDecay;

        Builder(List<Tensor> params, float weightDecay) {
            this.params = params;
            this.weightDecay = weightDecay;
        }

        public Builder lr(float lr) {
            this.lr = lr;
            return this;
        }

        public Builder betas(float beta1, float beta2) {
            this.beta1 = beta1;
            this.beta2 = beta2;
            return this;
        }

        public Builder eps(float eps) {
            this.eps = eps;
            return this;
        }

        public Builder weightDecay(float weightDecay) {
            this.weightDecay = weightDecay;
            return this;
        }

        public Adam build() {
            return new Adam(params, lr, beta1, beta2, eps, weightDecay);
        }
    }
}
