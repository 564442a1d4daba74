package org.siamese4j.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Towers;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The reference tower of the fast-kernels issue ({@link Towers#reference}: 1x112x92 input, three conv blocks,
 * dense 256, dense 128, L2 norm; 5.17 M parameters) end to end. {@code trainStep}: forward of 3 x 32 images
 * (anchor, positive, negative) as one batch, triplet loss with margin 0.2 on squared L2 distance, backward,
 * Adam; the secondary {@code images} column is images per second (96 per step). {@code inferBatch64}:
 * embeddings of 64 images under no-grad in eval mode, again with images per second. {@code inferBatch1}:
 * the latency of one image, in milliseconds.
 */
public class TowerBench extends InferenceBench {
    private static final int TRIPLETS = 32;
    private static final int HEIGHT = 112;
    private static final int WIDTH = 92;
    /** Margin 0.2 on squared L2 distance, as the issue specifies. */
    private static final TripletLoss TRIPLET_LOSS = TripletLoss.hard(0.2f, Distance.SQUARED_EUCLIDEAN);

    @Param({"1", "2"})
    public int threads;

    /**
     * Whether Sequential runs each conv, ReLU, 2x2 max pool block as one fused op (the default) or layer by layer:
     * {@code -p fuse=true,false} measures both in one run.
     */
    @Param({"true"})
    public boolean fuse;

    private Sequential tower;
    private Adam optimizer;
    private Tensor trainBatch;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        KernelLine.print();
        Sequential.fuseConvBlocks(fuse);
        Rng rng = new Rng(7);
        tower = Towers.reference(rng);
        Sequential evalTower = Towers.reference(new Rng(8));
        evalTower.eval();
        inferenceNetwork = evalTower;
        optimizer = new Adam(tower.parameters(), 1e-4f);
        trainBatch = Tensor.rand(rng, 3 * TRIPLETS, 1, HEIGHT, WIDTH);
        single = Tensor.rand(rng, 1, 1, HEIGHT, WIDTH);
        batch64 = Tensor.rand(rng, 64, 1, HEIGHT, WIDTH);
    }

    @Benchmark
    public float trainStep(Images count) {
        return tripletStep(tower, optimizer, trainBatch, TRIPLET_LOSS, count);
    }

    /**
     * One step on {@code batch}, its thirds the anchors, positives and negatives of the triplets: forward, loss,
     * backward, update. Counts the images into {@code count}.
     */
    static float tripletStep(Sequential tower, Adam optimizer, Tensor batch, TripletLoss tripletLoss,
                             Images count) {
        int triplets = batch.shape()[0] / 3;
        optimizer.zeroGrad();
        Tensor e = tower.forward(batch);
        Tensor loss = tripletLoss.compute(e.slice(0, triplets), e.slice(triplets, 2 * triplets),
                e.slice(2 * triplets, 3 * triplets)).loss();
        loss.backward();
        optimizer.step();
        count.images += 3L * triplets;
        return loss.item();
    }
}
