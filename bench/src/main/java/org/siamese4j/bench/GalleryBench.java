package org.siamese4j.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Match;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;

/**
 * {@code identify}: the latency of identifying one 128-d probe embedding against a gallery of {@code people}
 * enrolled identities with one embedding each (Euclidean distance, a linear scan over every stored embedding).
 * The network is not involved: the probe is already an embedding, so this is the gallery's own cost.
 *
 * <p>Memory: each stored embedding takes about 560 bytes (512 of floats, the array header and its reference), and
 * an identify call allocates about 40 bytes per stored embedding that it drops on return. So 10^5 people need
 * about 60 MB, and {@code -p people=1000000} about 0.6 GB held plus 0.6 GB while the gallery is being built:
 * the fork's 3 GB heap covers it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsPrepend = {"--add-modules", "jdk.incubator.vector", "-Xmx3g"})
public class GalleryBench {
    private static final int DIM = 128;
    private static final int[] INPUT = {1, 4, 4};

    @Param({"10000", "100000"})
    public int people;

    private Gallery gallery;
    private float[][] probes;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        // the tower only fixes the embedding size; its weights never run
        ArchSpec arch = ArchSpec.parse("flatten dense(" + DIM + ")");
        Verifier verifier = Verifier.of(arch.build(INPUT, new Rng(1)), arch, INPUT, Distance.EUCLIDEAN, null)
                .withThreshold(1.0);
        Rng rng = new Rng(2);
        Map<String, List<float[]>> batch = new LinkedHashMap<>();
        for (int i = 0; i < people; i++) {
            batch.put("person-" + i, List.of(randomEmbedding(rng)));
        }
        gallery = new Gallery(verifier);
        gallery.enrollAll(batch);
        // a few probes in turn, so no call is answered from a cache warmed by the same probe
        List<float[]> list = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            list.add(randomEmbedding(rng));
        }
        probes = list.toArray(float[][]::new);
    }

    private static float[] randomEmbedding(Rng rng) {
        float[] e = new float[DIM];
        for (int k = 0; k < DIM; k++) {
            e[k] = rng.nextFloat() * 2 - 1;
        }
        return e;
    }

    @Benchmark
    public Match identify() {
        float[] probe = probes[next];
        next = (next + 1) % probes.length;
        return gallery.identifyEmbedding(probe);
    }
}
