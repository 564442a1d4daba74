package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.optim.Adam;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A seeded training run gives the same bits on any number of threads: a few Adam steps of a small tower whose
 * convolutions take every path (direct, fused conv + ReLU + pool, Winograd, im2col with stride 2 and reflect
 * padding), with batch norm and a dense layer, end in byte-identical weights on 1, 2, 3 and 5 threads. So does a
 * MobileNet-style tower: depthwise convolutions at stride 2 and 1 (multiplier 2, reflect padding), a grouped 1x1
 * convolution, PReLU and global average pooling. The batch of 37 images does not divide evenly among any of those
 * thread counts, nor among the gradient chunks.
 */
class ThreadCountInvarianceTest {
    private static final String TOWER = "conv(6,3,pad=1) relu maxpool(2) conv(8,3,pad=1) batchnorm relu "
            + "conv(10,3,stride=2,pad=1,pad_mode=reflect) relu conv(12,3,pad=1) relu maxpool(2) flatten dense(16) "
            + "batchnorm relu dense(8) l2norm";
    private static final int[] INPUT = {1, 20, 17};
    private static final int BATCH = 37;
    private static final int STEPS = 3;

    @Test
    void trainingGivesTheSameBitsOnAnyThreadCount() {
        assertSameBitsOnAnyThreadCount(() -> ArchSpec.parse(TOWER).build(INPUT, new Rng(7)));
    }

    @Test
    void depthwiseTowerTrainingGivesTheSameBitsOnAnyThreadCount() {
        assertSameBitsOnAnyThreadCount(() -> {
            Rng rng = new Rng(7);
            return new Sequential(
                    new Conv2d(1, 8, 3, 1, 1, rng), new PReLU(8),
                    new Conv2d(8, 8, 3, 2, 1, 1, 8, PaddingMode.ZEROS, false, rng), new BatchNorm2d(8), new PReLU(),
                    new Conv2d(8, 16, 3, 1, 1, 1, 8, PaddingMode.REFLECT, true, rng), new PReLU(16),
                    new Conv2d(16, 12, 1, 1, 0, 1, 4, PaddingMode.ZEROS, true, rng), new ReLU(),
                    new GlobalAvgPool2d(), new Flatten(), new Linear(12, 8, rng));
        });
    }

    private static void assertSameBitsOnAnyThreadCount(Supplier<Sequential> tower) {
        ConvAlgorithm pathBefore = ConvAlgorithm.current();
        int threadsBefore = Parallel.threads();
        try {
            for (ConvAlgorithm path : ConvAlgorithm.values()) {
                ConvAlgorithm.use(path);
                List<float[]> oneThread = train(tower, 1);
                for (int threads : new int[] {2, 3, 5}) {
                    List<float[]> weights = train(tower, threads);
                    for (int i = 0; i < weights.size(); i++) {
                        assertThat(weights.get(i)).as("%s, parameter %d, %d threads against 1", path, i, threads)
                                .containsExactly(oneThread.get(i));
                    }
                }
            }
        } finally {
            ConvAlgorithm.use(pathBefore);
            Parallel.setThreads(threadsBefore);
        }
    }

    /** The tower's parameters and batch-norm statistics after a few seeded steps on {@code threads} threads. */
    private static List<float[]> train(Supplier<Sequential> build, int threads) {
        Parallel.setThreads(threads);
        Sequential tower = build.get();
        Adam adam = new Adam(tower.parameters(), 0.01f);
        Rng data = new Rng(11);
        for (int step = 0; step < STEPS; step++) {
            Tensor images = Tensor.uniform(data, 0f, 1f, BATCH, INPUT[0], INPUT[1], INPUT[2]);
            Tensor target = Tensor.uniform(data, -1f, 1f, BATCH, 8);
            adam.zeroGrad();
            tower.forward(images).sub(target).square().mean().backward();
            adam.step();
        }
        List<float[]> state = new ArrayList<>();
        for (Tensor t : tower.stateDict().values()) {
            state.add(t.data().clone());
        }
        return state;
    }
}
