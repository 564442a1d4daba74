package org.siamese4j.optim;

import java.util.List;
import org.siamese4j.tensor.Tensor;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter 2019), as {@code torch.optim.AdamW}: the weights
 * shrink by {@code lr * weightDecay * w} before the Adam step, and the decay never enters the moment
 * estimates. Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2.
 */
public final class AdamW extends Adam {

    /** PyTorch's defaults. */
    public AdamW(List<Tensor> params) {
        this(params, 1e-3f);
    }

    public AdamW(List<Tensor> params, float lr) {
        this(params, lr, 0.9f, 0.999f, 1e-8f, 1e-2f);
    }

    public AdamW(List<Tensor> params, float lr, float beta1, float beta2, float eps, float weightDecay) {
        super(params, lr, beta1, beta2, eps, weightDecay, true);
    }

    public static Builder builder(List<Tensor> params) {
        return new Builder(params);
    }

    /** Adam's settings with weight decay 1e-2 by default; {@link #build()} makes an AdamW. */
    public static final class Builder extends Adam.Builder {
        private Builder(List<Tensor> params) {
            super(params, 1e-2f);
        }

        @Override
        public Builder lr(float lr) {
            super.lr(lr);
            return this;
        }

        @Override
        public Builder betas(float beta1, float beta2) {
            super.betas(beta1, beta2);
            return this;
        }

        @Override
        public Builder eps(float eps) {
            super.eps(eps);
            return this;
        }

        @Override
        public Builder weightDecay(float weightDecay) {
            super.weightDecay(weightDecay);
            return this;
        }

        @Override
        public AdamW build() {
            return new AdamW(params, lr, beta1, beta2, eps, weightDecay);
        }
    }
}
