package org.siamese4j.siamese.diagnostics;

import org.siamese4j.nn.Module;
import org.siamese4j.tensor.Tensor;

/**
 * Test layer: the identity in the forward pass; multiplies the gradient by 1e30 in the backward pass when armed, a
 * layer with a broken backward whose NaN appears only in the gradients. Two in a row overflow (1e60) although every
 * forward value stays finite. ({@code x*f - x*f} is exactly 0 for any finite {@code x*f}, so the forward value is
 * {@code x}; only the {@code x*f} branch carries a gradient.)
 */
public final class GradientAmplifier extends Module {
    /** Set to start amplifying, e.g. from the first step of some epoch on. */
    public boolean armed;

    @Override
    public Tensor forward(Tensor x) {
        if (!armed) {
            return x;
        }
        Tensor constant = x.detach();
        return x.mul(1e30f).sub(constant.mul(1e30f)).add(constant);
    }
}
