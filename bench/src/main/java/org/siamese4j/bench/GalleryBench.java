package org.siamese4j.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Match;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;

/**
 * The gallery at scale, with {@code people} enrolled identities of one 128-d embedding each (Euclidean distance):
 * <ul>
 *   <li>{@code identify}: the latency of identifying one probe embedding, a linear scan over every stored
 *       embedding. The network is not involved: the probe is already an embedding, so this is the gallery's own
 *       cost;</li>
 *   <li>{@code save} and {@code load}: writing the gallery to a file (format version 2, atomically) and reading it
 *       back, one call per iteration.</li>
 * </ul>
 *
 * <p>Memory: the gallery holds its embeddings in one float array, 512 bytes per 128-d embedding, plus about 120
 * bytes per person (the name, its map entry, its row offset; {@link GalleryFootprint} measures it); an identify
 * call allocates 32 KB of scores whatever the gallery's size. So 10^6 people hold about 0.6 GB; building them
 * through {@code enrollAll} takes about 1.2 GB more while the batch and its checked copies exist, and {@code load}
 * holds the gallery being read next to the benchmark's own: the fork's 3 GB heap covers both.
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

    @Param({"10000", "100000", "1000000"})
    public int people;

    private Verifier verifier;
    private Gallery gallery;
    private float[][] probes;
    private int next;
    private Path folder;
    /** Written by {@code save} each time. */
    private Path saved;
    /** Written once at setup, read by {@code load}. */
    private Path toLoad;

    /** A verifier of 128-d embeddings (Euclidean, threshold 1). */
    static Verifier verifier() {
        // the tower only fixes the embedding size; its weights never run
        ArchSpec arch = ArchSpec.parse("flatten dense(" + DIM + ")");
        return Verifier.of(arch.build(INPUT, new Rng(1)), arch, INPUT, Distance.EUCLIDEAN, null).withThreshold(1.0);
    }

    /** {@code people} people "person-i" with one random embedding each, enrolled in one batch. */
    static Gallery randomGallery(Verifier verifier, int people, Rng rng) {
        Map<String, List<float[]>> batch = new LinkedHashMap<>();
        for (int i = 0; i < people; i++) {
            batch.put("person-" + i, List.of(randomEmbedding(rng)));
        }
        Gallery gallery = new Gallery(verifier);
        gallery.enrollAll(batch);
        return gallery;
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        verifier = verifier();
        Rng rng = new Rng(2);
        gallery = randomGallery(verifier, people, rng);
        // a few probes in turn, so no call is answered from a cache warmed by the same probe
        List<float[]> list = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            list.add(randomEmbedding(rng));
        }
        probes = list.toArray(float[][]::new);
        folder = Files.createTempDirectory("gallery-bench");
        saved = folder.resolve("saved.gallery");
        toLoad = folder.resolve("to-load.gallery");
        gallery.save(toLoad);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.delete(f);
            }
        }
        Files.delete(folder);
    }

    static float[] randomEmbedding(Rng rng) {
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

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 1)
    @Measurement(iterations = 5)
    public void save() throws IOException {
        gallery.save(saved);
    }

    @Benchmark
    @BenchmarkMode(Mode.SingleShotTime)
    @Warmup(iterations = 1)
    @Measurement(iterations = 5)
    public Gallery load() throws IOException {
        return Gallery.load(toLoad, verifier);
    }
}
