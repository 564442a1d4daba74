package org.siamese4j.nn;

import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Tensor;

/**
 * The mean of each channel's plane: [N, C, H, W] to [N, C, 1, 1], as PyTorch's {@code nn.AdaptiveAvgPool2d(1)}
 * (which has no parameters either, so state-dict names line up). Ends the convolutional towers of MobileNet-style
 * and ResNet-style networks whatever the input size.
 */
public final class GlobalAvgPool2d extends Module {

    @Override
    public Tensor forward(Tensor input) {
        return Functional.globalAvgPool2d(input);
    }
}
