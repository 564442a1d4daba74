package org.siamese4j.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.siamese4j.nn.Module;
import org.siamese4j.tensor.GradMode;
import org.siamese4j.tensor.Tensor;

/**
 * The inference protocol that {@link TowerBench} and {@link OnnxNetBench} share, so their figures compare:
 * {@code inferBatch1} is the latency of one image in milliseconds, {@code inferBatch64} the throughput of batches
 * of 64 with images per second as the secondary {@code images} column, both under no-grad. A subclass sets the
 * network (in eval mode) and the two inputs in its setup; JMH runs the inherited methods, and these settings, as
 * its own. The warm-up is 18 s: at batch 64 the JIT takes about 12 s to compile every kernel of the reference
 * tower (the third 3-second iteration still ran at 20 calls a second against a steady 22), and the peers this is
 * compared with (ONNX Runtime, native code) need no such warm-up.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 6, time = 3)
@Measurement(iterations = 5, time = 3)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public abstract class InferenceBench {
    protected Module inferenceNetwork;
    protected Tensor single;
    protected Tensor batch64;

    /** Images processed, so JMH reports images/s next to the time per call. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Images {
        public long images;
    }

    @Benchmark
    @BenchmarkMode(Mode.AverageTime)
    @OutputTimeUnit(TimeUnit.MILLISECONDS)
    public Tensor inferBatch1() {
        try (GradMode.Scope noGrad = Tensor.noGrad()) {
            return inferenceNetwork.forward(single);
        }
    }

    @Benchmark
    public Tensor inferBatch64(Images count) {
        try (GradMode.Scope noGrad = Tensor.noGrad()) {
            count.images += 64;
            return inferenceNetwork.forward(batch64);
        }
    }
}
