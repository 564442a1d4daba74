package org.siamese4j.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Towers;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A training step of the tower that {@code siamese4j train} uses by default ({@link Towers#small}: three blocks of
 * 3x3 convolution, batch norm, ReLU and 2x2 max pooling, then dense 64 and L2 norm, on 1x56x46 images): forward of
 * 3 x 16 images (anchor, positive, negative) as one batch, the size of the default 12 x 4 batch, triplet loss with
 * margin 0.3 on Euclidean distance, backward, Adam. Unlike the reference tower's blocks, batch norm keeps these
 * from being fused, so batch norm, ReLU and pooling run as ops of their own. The secondary {@code images} column is
 * images per second (48 per step).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector"})
public class DefaultTowerBench {
    private static final int TRIPLETS = 16;
    private static final TripletLoss TRIPLET_LOSS = TripletLoss.hard(0.3f, Distance.EUCLIDEAN);

    @Param({"1", "2"})
    public int threads;

    private Sequential tower;
    private Adam optimizer;
    private Tensor batch;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        KernelLine.print();
        Rng rng = new Rng(7);
        tower = Towers.small(rng);
        optimizer = new Adam(tower.parameters(), 2e-3f);
        batch = Tensor.rand(rng, 3 * TRIPLETS, 1, 56, 46);
    }

    @Benchmark
    public float trainStep(InferenceBench.Images count) {
        return TowerBench.tripletStep(tower, optimizer, batch, TRIPLET_LOSS, count);
    }
}
