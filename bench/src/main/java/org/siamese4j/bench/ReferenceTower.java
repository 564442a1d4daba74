package org.siamese4j.bench;

import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The benchmark tower of the fast-kernels issue, exactly: input 1x112x92 (AT&T face size);
 * three blocks of conv 3x3 pad 1 (1->32->64->128), ReLU, maxpool 2; flatten (128*14*11); dense 256, ReLU;
 * dense 128; L2-normalise. 5.17 M parameters, 206 MFLOP per image forward.
 */
final class ReferenceTower {
    static final int HEIGHT = 112;
    static final int WIDTH = 92;

    private ReferenceTower() {
    }

    static Sequential build(Rng rng) {
        return new Sequential(
                new Conv2d(1, 32, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2),
                new Conv2d(32, 64, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2),
                new Conv2d(64, 128, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(128 * 14 * 11, 256, rng), new ReLU(), new Linear(256, 128, rng),
                new L2Normalize());
    }

    /**
     * Triplet loss with margin m on squared L2 distances, averaged over the batch:
     * {@code mean(max(|a-p|^2 - |a-n|^2 + m, 0))}. The three embeddings are rows [0, b), [b, 2b), [2b, 3b).
     */
    static Tensor tripletLoss(Tensor embeddings, int b, float margin) {
        Tensor anchor = embeddings.slice(0, b);
        Tensor positive = embeddings.slice(b, 2 * b);
        Tensor negative = embeddings.slice(2 * b, 3 * b);
        Tensor dPos = anchor.sub(positive).square().sum(1, false);
        Tensor dNeg = anchor.sub(negative).square().sum(1, false);
        return dPos.sub(dNeg).add(margin).relu().mean();
    }
}
