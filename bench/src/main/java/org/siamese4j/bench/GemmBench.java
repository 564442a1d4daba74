package org.siamese4j.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
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
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Square SGEMM, C = A B, for each kernel implementation. Throughput is in operations per second; multiply by
 * 2 n^3 / 1e9 for GFLOPS. The flag is in {@code jvmArgsPrepend} because {@code -jvmArgsAppend} on the
 * command line would replace an annotation's {@code jvmArgs}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBench {

    @Param({"128", "256", "512"})
    public int n;

    private float[] a;
    private float[] b;
    private float[] c;
    private Kernels scalar;
    private Kernels vector;

    @Setup
    public void setUp() {
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

    @Benchmark
    public float[] gemmScalar() {
        scalar.gemm(false, false, n, n, n, a, 0, b, 0, c, 0, false);
        return c;
    }

    @Benchmark
    public float[] gemmVector() {
        vector.gemm(false, false, n, n, n, a, 0, b, 0, c, 0, false);
        return c;
    }
}
