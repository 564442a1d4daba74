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
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.GradMode;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A 3x3, padding 1, stride 1 convolution layer (with bias) on a batch, through each path of {@code conv2d}:
 * {@code im2col} (column matrix + packed GEMM) or {@code direct} (filter slid over the image, vectorised along
 * the output width), forced with {@link ConvAlgorithm#use}; {@code -p path=auto} gives the library's own
 * choice. {@code forward} runs without recording a graph; {@code forwardBackward} also computes the weight, bias
 * and (with {@code inputGrad}) input gradients from a fixed output gradient. The secondary result
 * {@code gflops} is the rate directly: 2*N*O*C*9*outH*outW floating-point operations for each of forward,
 * weight gradient and input gradient.
 *
 * <p>{@code layer} is {@code CxOxHxW}: input channels, output channels, input height and width. The defaults are
 * a Siamese tower's first two layers on 105x105 images; the reference tower at batch 96 is
 * {@code -p batch=96 -p layer=1x32x112x92,32x64x56x46,64x128x28x23} (its first layer needs no input gradient:
 * {@code -p inputGrad=false}).
 *
 * <p>The machine these run on is usually shared: compare paths measured in the same run, not absolute rates.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx8g"})
public class ConvBench {

    @Param({"1x32x105x105", "32x64x48x48"})
    public String layer;

    @Param({"32"})
    public int batch;

    /**
     * The convolution path; for winograd (which does 4x fewer multiply-adds) the gflops column still counts the
     * direct convolution's 2 x O x C x 9 x H x W per image: an effective rate, comparable across paths.
     */
    @Param({"im2col", "direct", "winograd"})
    public String path;

    @Param({"1", "2"})
    public int threads;

    @Param({"true"})
    public boolean inputGrad;

    private Tensor x;
    private Tensor weight;
    private Tensor bias;
    private Tensor outGrad;
    private double forwardGflop;

    /** Counts floating-point work so JMH reports it as a rate: the "gflops" column. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflops;
    }

    @Setup(Level.Trial)
    public void setUp() {
        if (KernelProvider.vectorOrNull() == null) {
            throw new IllegalStateException("the Vector API module is missing from the benchmark JVM");
        }
        Parallel.setThreads(threads);
        ConvAlgorithm.use(ConvAlgorithm.valueOf(path.toUpperCase(java.util.Locale.ROOT)));
        KernelLine.print();
        String[] dims = layer.split("x");
        int c = Integer.parseInt(dims[0]);
        int o = Integer.parseInt(dims[1]);
        int h = Integer.parseInt(dims[2]);
        int w = Integer.parseInt(dims[3]);
        Rng rng = new Rng(1);
        x = Tensor.randn(rng, batch, c, h, w).requiresGrad(inputGrad);
        // He-like scale keeps the accumulated gradients far from float overflow over many iterations
        weight = Tensor.randn(rng, o, c, 3, 3).mul((float) Math.sqrt(2.0 / (c * 9))).detach().requiresGrad(true);
        bias = Tensor.zeros(o).requiresGrad(true);
        outGrad = Tensor.randn(rng, batch, o, h, w).mul(1e-3f).detach();
        forwardGflop = 2.0 * batch * o * c * 9 * h * w * 1e-9;
    }

    @Benchmark
    public Tensor forward(Flops flops) {
        try (GradMode.Scope ignored = Tensor.noGrad()) {
            Tensor out = Functional.conv2d(x, weight, bias, 1, 1);
            flops.gflops += forwardGflop;
            return out;
        }
    }

    @Benchmark
    public Tensor forwardBackward(Flops flops) {
        Tensor out = Functional.conv2d(x, weight, bias, 1, 1);
        // The gradients accumulate across iterations (zeroing them would only add a pass over memory).
        out.backward(outGrad);
        flops.gflops += forwardGflop * (inputGrad ? 3 : 2);
        return out;
    }
}
