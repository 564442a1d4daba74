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
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.siamese.Towers;
import org.siamese4j.tensor.GradMode;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Where {@link TowerBench}'s inference time goes: one block of the reference tower at a time, under no-grad in
 * eval mode, on the input the blocks before it make from random images (so the values, and the ReLUs' zeros, are
 * realistic). {@code block}: {@code conv1}, {@code conv2}, {@code conv3} (each conv, ReLU, 2x2 max pool as the one
 * fused op the tower runs; conv1 on the direct path, the others Winograd) or {@code dense1} (19712 -> 256). The
 * time per call is in milliseconds; divide by {@code batch} for an image's share.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class TowerLayerBench {
    /** Index in {@link Towers#reference} of each block's first layer. */
    private static final int CONV1 = 0;
    private static final int CONV2 = 3;
    private static final int CONV3 = 6;
    private static final int DENSE1 = 10;

    @Param({"conv1", "conv2", "conv3", "dense1"})
    public String block;

    @Param({"1", "64"})
    public int batch;

    @Param({"1", "2"})
    public int threads;

    private Sequential tower;
    private int first;
    private Tensor input;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        KernelLine.print();
        tower = Towers.reference(new Rng(8));
        tower.eval();
        switch (block) {
            case "conv1" -> first = CONV1;
            case "conv2" -> first = CONV2;
            case "conv3" -> first = CONV3;
            case "dense1" -> first = DENSE1;
            default -> throw new IllegalArgumentException("block must be conv1, conv2, conv3 or dense1, got "
                    + block);
        }
        try (GradMode.Scope noGrad = Tensor.noGrad()) {
            Tensor x = Tensor.rand(new Rng(9), batch, 1, 112, 92);
            for (int i = 0; i < first; i++) {
                x = tower.get(i).forward(x);
            }
            input = x;
        }
    }

    @Benchmark
    public Tensor forward() {
        try (GradMode.Scope noGrad = Tensor.noGrad()) {
            Module layer = tower.get(first);
            return layer instanceof Conv2d conv ? conv.forwardReluMaxPool2(input) : layer.forward(input);
        }
    }
}
