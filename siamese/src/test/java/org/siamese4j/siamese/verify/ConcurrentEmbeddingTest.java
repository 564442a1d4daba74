package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.tensor.Rng;

/**
 * The verifier shares one network between threads without serialising forward passes (eval mode, no graph). This
 * checks that on a real tower (convolutions, batch norm with non-trivial running statistics, dropout, pooling,
 * l2norm): 16 threads embedding synthetic faces at once get, bit for bit, the embeddings of one thread.
 */
class ConcurrentEmbeddingTest {

    @Test
    void sixteenThreadsEmbedExactlyAsOne() throws Exception {
        ArchSpec arch = ArchSpec.parse("conv(8,3,pad=1) batchnorm relu maxpool(2) conv(16,3,pad=1) batchnorm relu "
                + "maxpool(2) flatten dropout(0.5) dense(16) l2norm");
        int[] input = {1, 24, 20};
        Sequential tower = arch.build(input, new Rng(5));
        Rng rng = new Rng(6);
        for (var e : tower.stateDict().entrySet()) {
            float[] d = e.getValue().data();
            if (e.getKey().endsWith("running_mean")) {
                for (int i = 0; i < d.length; i++) {
                    d[i] = rng.nextFloat() * 0.2f - 0.1f;
                }
            } else if (e.getKey().endsWith("running_var")) {
                for (int i = 0; i < d.length; i++) {
                    d[i] = 0.5f + rng.nextFloat();
                }
            }
        }
        Verifier v = Verifier.of(tower, arch, input, Distance.EUCLIDEAN, null);

        // faces rendered at 28x23 so every one is resized to the model's 24x20
        ImageDataset faces = SyntheticFaces.generate(6, 4, 9, 28, 23);
        List<GrayImage> images = new ArrayList<>();
        float[] all = faces.images().data();
        for (int i = 0; i < faces.size(); i++) {
            float[] p = java.util.Arrays.copyOfRange(all, i * 28 * 23, (i + 1) * 28 * 23);
            images.add(GrayImage.of(28, 23, 1f, p));
        }
        float[][] expected = new float[images.size()][];
        for (int i = 0; i < images.size(); i++) {
            expected[i] = v.embed(images.get(i));
        }

        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    start.await();
                    int wrong = 0;
                    // each thread in its own order, so different images are in flight at once
                    for (int i : new Rng(seed).permutation(images.size())) {
                        if (!java.util.Arrays.equals(v.embed(images.get(i)), expected[i])) {
                            wrong++;
                        }
                    }
                    return wrong;
                }));
            }
            start.countDown();
            for (Future<Integer> f : results) {
                assertThat(f.get(60, TimeUnit.SECONDS)).isZero();
            }
        } finally {
            pool.shutdownNow();
        }
        // the verifier worked on its own copy: the caller's tower keeps its (training) mode
        assertThat(tower.isTraining()).isTrue();
    }
}
