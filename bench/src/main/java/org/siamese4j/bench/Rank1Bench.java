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
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.metrics.Identification;
import org.siamese4j.siamese.metrics.ScoreDirection;

/**
 * {@code eval}'s rank-1 leave-one-out over {@code n} unit-length 64-d embeddings (8 per person): every image
 * against every other, n^2 Euclidean distances. {@code blocked} is the form eval runs, {@link Distance#betweenEach}
 * over blocks of candidates on {@code threads} threads; {@code onePairAtATime} is the straightforward form with
 * {@code Distance.EUCLIDEAN::between}, one thread, which gives the same figure. Both are O(n^2): 100,000 embeddings
 * take 100 times as long as 10,000. One call per measurement (single shot).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx1g"})
public class Rank1Bench {
    private static final int DIM = 64;

    @Param({"10000"})
    public int n;

    @Param({"1", "2"})
    public int threads;

    private float[][] embeddings;
    private int[] labels;

    @Setup(Level.Trial)
    public void setUp() {
        Parallel.setThreads(threads);
        java.util.Random random = new java.util.Random(1);
        embeddings = new float[n][DIM];
        labels = new int[n];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int k = 0; k < DIM; k++) {
                embeddings[i][k] = (float) random.nextGaussian();
                norm += embeddings[i][k] * embeddings[i][k];
            }
            for (int k = 0; k < DIM; k++) {
                embeddings[i][k] /= (float) Math.sqrt(norm);
            }
            labels[i] = i / 8;
        }
    }

    @Benchmark
    public double blocked() {
        return Identification.rank1LeaveOneOut(embeddings, labels, Distance.EUCLIDEAN);
    }

    @Benchmark
    public double onePairAtATime() {
        return Identification.rank1LeaveOneOut(embeddings, labels, Distance.EUCLIDEAN::between,
                ScoreDirection.LOWER_IS_SAME);
    }
}
