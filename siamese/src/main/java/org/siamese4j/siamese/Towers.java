package org.siamese4j.siamese;

import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;

/** Ready-made embedding towers: the ones the tests, examples and benchmarks share. */
public final class Towers {
    private Towers() {
    }

    /**
     * The reference tower of the benchmarks, for 1x112x92 faces (AT&amp;T size): three blocks of conv 3x3 pad 1
     * (1->32->64->128), ReLU, maxpool 2; flatten (128*14*11); dense 256, ReLU; dense 128; L2-normalise.
     * 5.17 M parameters, 206 MFLOP per image forward.
     */
    public static Sequential reference(Rng rng) {
        return new Sequential(
                new Conv2d(1, 32, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2),
                new Conv2d(32, 64, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2),
                new Conv2d(64, 128, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(128 * 14 * 11, 256, rng), new ReLU(), new Linear(256, 128, rng),
                new L2Normalize());
    }

    /**
     * A small, quick tower for 1x56x46 faces (half the AT&amp;T size): three blocks of conv 3x3, batch norm, ReLU,
     * maxpool 2 (16, 32, 64 channels: 56x46 -> 28x23 -> 14x11 -> 7x5), then a 64-d unit-length embedding.
     */
    public static Sequential small(Rng rng) {
        return new Sequential(
                new Conv2d(1, 16, 3, 1, 1, rng), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
                new Conv2d(16, 32, 3, 1, 1, rng), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2),
                new Conv2d(32, 64, 3, 1, 1, rng), new BatchNorm2d(64), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(64 * 7 * 5, 64, rng), new L2Normalize());
    }
}
