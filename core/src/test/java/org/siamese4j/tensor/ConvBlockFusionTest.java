package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;

/**
 * The fused conv2d + ReLU + 2x2 max pool against the three ops run one after the other: the same output and the
 * same three gradients, bit for bit, on both convolution paths, odd and even sizes, strides, padding modes, with
 * and without bias, on 1 to 3 threads; plus a finite-difference check, NaN propagation, and Sequential's choice of
 * when to fuse.
 */
class ConvBlockFusionTest {

    private record Config(int n, int c, int h, int w, int o, int k, int stride, int pad, PaddingMode mode,
                          boolean bias) {
    }

    private static final Config[] CONFIGS = {
        new Config(5, 1, 9, 17, 4, 3, 1, 1, PaddingMode.ZEROS, true),      // direct-path sized, odd width
        new Config(3, 1, 12, 92, 5, 3, 1, 1, PaddingMode.ZEROS, true),     // the reference tower's width
        new Config(4, 3, 7, 8, 6, 3, 1, 1, PaddingMode.REFLECT, false),    // odd height: last row dropped
        new Config(3, 8, 10, 9, 7, 3, 1, 1, PaddingMode.ZEROS, true),      // im2col-sized
        new Config(2, 4, 11, 13, 3, 3, 2, 0, PaddingMode.ZEROS, true),     // stride 2, no padding
        new Config(1, 2, 6, 6, 2, 5, 1, 2, PaddingMode.REFLECT, true),     // a batch of one image
        new Config(1, 2, 47, 90, 128, 3, 1, 1, PaddingMode.ZEROS, true),  // Winograd in two bands, odd height
        new Config(2, 1, 40, 92, 32, 3, 1, 1, PaddingMode.ZEROS, true),    // direct in four bands of 10 rows
        new Config(2, 2, 31, 40, 40, 3, 1, 1, PaddingMode.REFLECT, true),  // direct bands of 20 and 10, odd height
    };

    @Test
    void fusedEqualsConvReluPoolExactlyOnEveryPathAndThreadCount() {
        ConvAlgorithm before = ConvAlgorithm.current();
        int threadsBefore = Parallel.threads();
        try {
            long seed = 1;
            for (int threads = 1; threads <= 3; threads++) {
                Parallel.setThreads(threads);
                for (ConvAlgorithm path : new ConvAlgorithm[] {ConvAlgorithm.IM2COL, ConvAlgorithm.DIRECT,
                    ConvAlgorithm.WINOGRAD}) {
                    ConvAlgorithm.use(path);
                    for (Config k : CONFIGS) {
                        assertSameAsUnfused(k, seed++, path + ", " + threads + " threads, " + k);
                    }
                }
            }
        } finally {
            ConvAlgorithm.use(before);
            Parallel.setThreads(threadsBefore);
        }
    }

    private static void assertSameAsUnfused(Config k, long seed, String what) {
        Tensor[] unfused = leaves(k, seed);
        Tensor[] fused = leaves(k, seed);
        Tensor upstream = Tensor.uniform(new Rng(seed + 1000), -1f, 1f, pooledShape(k));

        Tensor y1 = Functional.maxPool2d(Functional.conv2d(unfused[0], unfused[1], unfused[2], k.stride, k.stride,
                k.pad, k.pad, 1, 1, k.mode).relu(), 2);
        Tensor y2 = Functional.conv2dReluMaxPool2(fused[0], fused[1], fused[2], k.stride, k.stride, k.pad, k.pad, 1,
                1, k.mode);
        assertThat(y2.shape()).as(what).containsExactly(y1.shape());
        assertThat(y2.data()).as(what + ": output").containsExactly(y1.data());

        y1.mul(upstream).sum().backward();
        y2.mul(upstream).sum().backward();
        assertThat(fused[0].grad().data()).as(what + ": dx").containsExactly(unfused[0].grad().data());
        assertThat(fused[1].grad().data()).as(what + ": dW").containsExactly(unfused[1].grad().data());
        if (k.bias) {
            assertThat(fused[2].grad().data()).as(what + ": db").containsExactly(unfused[2].grad().data());
        }
    }

    /** x, weight and bias (null when the config has none), all needing gradients. */
    private static Tensor[] leaves(Config k, long seed) {
        Tensor x = input(seed, k.n, k.c, k.h, k.w);
        Tensor w = input(seed + 1, k.o, k.c, k.k, k.k);
        Tensor b = k.bias ? input(seed + 2, k.o) : null;
        return new Tensor[] {x, w, b};
    }

    private static int[] pooledShape(Config k) {
        int outH = (k.h + 2 * k.pad - k.k) / k.stride + 1;
        int outW = (k.w + 2 * k.pad - k.k) / k.stride + 1;
        return new int[] {k.n, k.o, outH / 2, outW / 2};
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        assertGradientsMatch(in -> Functional.conv2dReluMaxPool2(in[0], in[1], in[2], 1, 1, 1, 1, 1, 1,
                PaddingMode.ZEROS), input(41, 2, 2, 5, 6), input(42, 3, 2, 3, 3), input(43, 3));
    }

    @Test
    void withoutGradModeNothingIsRecordedAndTheValuesAreTheSame() {
        Tensor x = input(5, 2, 3, 8, 9);
        Tensor w = input(6, 4, 3, 3, 3);
        Tensor b = input(7, 4);
        Tensor withGrad = Functional.conv2dReluMaxPool2(x, w, b, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS);
        Tensor without;
        try (GradMode.Scope noGrad = Tensor.noGrad()) {
            without = Functional.conv2dReluMaxPool2(x, w, b, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS);
        }
        assertThat(without.requiresGrad()).isFalse();
        assertThat(withGrad.requiresGrad()).isTrue();
        assertThat(without.data()).containsExactly(withGrad.data());
    }

    @Test
    void aNanInTheInputReachesThePooledOutputAsInTheUnfusedOps() {
        // A diverging run must not be hidden: ReLU and max keep NaN, fused or not.
        Tensor x = input(8, 1, 1, 6, 6);
        x.data()[2 * 6 + 2] = Float.NaN;
        Tensor w = input(9, 2, 1, 3, 3);
        Tensor fused = Functional.conv2dReluMaxPool2(x, w, null, 1, 1, 1, 1, 1, 1, PaddingMode.ZEROS);
        Tensor unfused = Functional.maxPool2d(Functional.conv2d(x, w, null, 1, 1).relu(), 2);
        int nans = 0;
        for (int i = 0; i < fused.size(); i++) {
            assertThat(Float.isNaN(fused.data()[i])).as("element " + i).isEqualTo(Float.isNaN(unfused.data()[i]));
            nans += Float.isNaN(fused.data()[i]) ? 1 : 0;
        }
        assertThat(nans).isPositive();
    }

    @Test
    void anOutputSmallerThanThePoolWindowIsAClearError() {
        Tensor x = input(10, 1, 2, 1, 5);
        Tensor w = input(11, 3, 2, 1, 1);
        assertThatThrownBy(() -> Functional.conv2dReluMaxPool2(x, w, null, 1, 1, 0, 0, 1, 1, PaddingMode.ZEROS))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1x5").hasMessageContaining("[1, 2, 1, 5]").hasMessageContaining("2x2");
    }

    // =================================================================================================== Sequential

    @Test
    void sequentialFusesConvReluPoolRunsAndGivesTheSameResultAsLayerByLayer() {
        boolean before = Sequential.fusesConvBlocks();
        try {
            Sequential.fuseConvBlocks(true);
            Sequential fusedNet = net();
            Tensor yFused = forwardBackward(fusedNet);

            Sequential.fuseConvBlocks(false);
            Sequential plainNet = net();
            Tensor yPlain = forwardBackward(plainNet);

            assertThat(yFused.data()).containsExactly(yPlain.data());
            for (String name : plainNet.namedParameters().keySet()) {
                assertThat(fusedNet.namedParameters().get(name).grad().data()).as(name)
                        .containsExactly(plainNet.namedParameters().get(name).grad().data());
            }
        } finally {
            Sequential.fuseConvBlocks(before);
        }
    }

    @Test
    void sequentialFusesOnlyConvFollowedByReluAndATwoByTwoPool() {
        boolean before = Sequential.fusesConvBlocks();
        try {
            Sequential.fuseConvBlocks(true);
            Tensor x = input(20, 2, 1, 8, 8);
            assertThat(block(new MaxPool2d(2)).forward(x).opName()).isEqualTo("conv2d_relu_max_pool2d");
            assertThat(block(new MaxPool2d(2, 1)).forward(x).opName()).isEqualTo("max_pool2d");
            assertThat(block(new MaxPool2d(3)).forward(x).opName()).isEqualTo("max_pool2d");
            Sequential.fuseConvBlocks(false);
            assertThat(block(new MaxPool2d(2)).forward(x).opName()).isEqualTo("max_pool2d");
        } finally {
            Sequential.fuseConvBlocks(before);
        }
    }

    private static Sequential block(MaxPool2d pool) {
        return new Sequential(new Conv2d(1, 3, 3, 1, 1, new Rng(1)), new ReLU(), pool);
    }

    private static Sequential net() {
        Rng rng = new Rng(3);
        return new Sequential(new Conv2d(1, 4, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2),
                new Conv2d(4, 6, 3, 1, 1, rng), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(6 * 3 * 2, 5,
                rng));
    }

    private static Tensor forwardBackward(Sequential net) {
        Tensor x = Tensor.uniform(new Rng(4), -1f, 1f, 3, 1, 13, 11);
        Tensor y = net.forward(x);
        y.square().sum().backward();
        return y;
    }
}
