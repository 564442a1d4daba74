package org.siamese4j.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
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
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Kernels;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.kernels.ScalarBlockedGemm;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Square SGEMM, C = A B, on the three rungs of the ladder: {@code naive} (the scalar reference loops),
 * {@code scalarBlocked} (packing and cache blocking, no SIMD, one thread) and {@code vector} (packed,
 * blocked, Vector API micro-kernel, ForkJoin over blocks, {@code threads} workers). The secondary result
 * {@code gflops} is the rate directly (2 n^3 floating-point operations per product).
 *
 * <p>The SIMD flag sits in {@code jvmArgsPrepend} because {@code -jvmArgsAppend} on the command line replaces
 * an annotation's {@code jvmArgs}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBench {

    @Param({"128", "256", "512", "1000", "1024", "2048"})
    public int n;

    @Param({"1", "2"})
    public int threads;

    private float[] a;
    private float[] b;
    private float[] c;
    private Kernels scalar;
    private Kernels vector;

    /** Counts floating-point work so JMH reports it as a rate: the "gflops" column. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflops;
    }

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        KernelLine.print();
        Rng rng = new Rng(1);
        a = Tensor.randn(rng, n, n).data();
        b = Tensor.randn(rng, n, n).data();
        c = new float[n * n];
        scalar = KernelProvider.scalar();
        vector = KernelProvider.vectorOrNull();
        if (vector == null) {
            throw new IllegalStateException("the Vector API module is missing from the benchmark JVM");
        }
    }

    private double work() {
        return 2.0 * n * n * n * 1e-9;
    }

    @Benchmark
    public float[] naive(Flops flops) {
        scalar.gemm(false, false, n, n, n, a, 0, b, 0, c, 0, false);
        flops.gflops += work();
        return c;
    }

    @Benchmark
    public float[] scalarBlocked(Flops flops) {
        ScalarBlockedGemm.gemm(false, false, n, n, n, a, 0, b, 0, c, 0, false);
        flops.gflops += work();
        return c;
    }

    @Benchmark
    public float[] vector(Flops flops) {
        vector.gemm(false, false, n, n, n, a, 0, b, 0, c, 0, false);
        flops.gflops += work();
        return c;
    }
}
