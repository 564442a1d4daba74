package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.siamese4j.io.Bytes.concat;
import static org.siamese4j.io.Bytes.f32;
import static org.siamese4j.io.Bytes.f64;
import static org.siamese4j.io.Bytes.file;
import static org.siamese4j.io.Bytes.u16;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.SafeTensors.Contents;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Seeded fuzzing of the safetensors reader: thousands of damaged files, each of which must load or fail
 * with {@link ModelFormatException} alone, quickly, without large allocations, and without writing anything.
 * A failure names the case and its seed, so it replays alone.
 */
class SafeTensorsFuzzTest {
    private static final long SEED = 0x5afe_7e45_0001L;
    private static final int CASES = 5000;
    /** Every this-many cases also go through a real file, checking the folder is left as it was. */
    private static final int FILE_EVERY = 25;

    @TempDir
    Path dir;

    @Test
    void allocationCounterWorksSoTheFuzzChecksMeanSomething() {
        long before = ThreadCounters.allocatedBytes();
        byte[] big = new byte[1 << 20];
        long after = ThreadCounters.allocatedBytes();
        assertThat(before).as("thread allocation counter (HotSpot)").isNotNegative();
        assertThat(after - before).isGreaterThanOrEqualTo(big.length);
        assertThat(ThreadCounters.cpuNanos()).as("thread CPU time").isPositive();
    }

    @Test
    void mutatedFilesLoadOrFailWithModelFormatExceptionOnly() {
        Map<String, int[]> stats = assertTimeoutPreemptively(Duration.ofSeconds(60), this::fuzz);
        FuzzRunner.assertRejections(stats, List.of(Mutator.KINDS), CASES);
    }

    private Map<String, int[]> fuzz() throws IOException {
        List<byte[]> seeds = seeds();
        for (byte[] s : seeds) {
            SafeTensors.read(s, "seed"); // the seeds themselves are valid
        }
        return FuzzRunner.run(SEED, CASES, seeds, Mutator::mutate,
                (bytes, size, what) -> load(() -> SafeTensors.read(bytes, "case"), "case", size, what),
                dir.resolve("case.safetensors"), FILE_EVERY,
                (file, size, what) -> load(() -> SafeTensors.read(file), file.toString(), size, what));
    }

    /** One read: null on success or the problem; fails on any other exception, or too much time or memory. */
    private static String load(Callable<Contents> reader, String source, int size, Supplier<String> what) {
        // Parsing allocates a few times the file size, plus class loading on first use; a hostile size
        // claim (the mutations make claims up to 100 MB and far beyond) must not turn into memory.
        return FuzzRunner.read(reader, ModelFormatException.class, source, (16L << 20) + 16L * size, what).problem();
    }

    /** Valid files of different shapes: from our writer, and one built by hand with every dtype. */
    static List<byte[]> seeds() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        Rng rng = new Rng(11);

        Map<String, Tensor> model = new LinkedHashMap<>();
        model.put("0.weight", Tensor.randn(rng, 4, 1, 3, 3));
        model.put("0.bias", Tensor.randn(rng, 4));
        model.put("2.running_var", Tensor.rand(rng, 4));
        model.put("5.weight", Tensor.randn(rng, 3, 10));
        model.put("scalar", Tensor.scalar(2.5f));
        model.put("empty", Tensor.zeros(0, 3));
        seeds.add(write(model, Map.of("arch", "conv(4,3) relu batchnorm", "input", "1x5x5", "note", "é😀")));

        Map<String, Tensor> one = new LinkedHashMap<>();
        one.put("w", Tensor.of(1f, 2f, 3f));
        seeds.add(write(one, null));

        Map<String, Tensor> many = new LinkedHashMap<>();
        for (int i = 0; i < 20; i++) {
            many.put("layer." + i, Tensor.randn(rng, 1 + i % 3, 2));
        }
        seeds.add(write(many, Map.of("format", "siamese4j-model")));

        String header = "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"half\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                + "\"brain\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[8,14]},"
                + "\"double\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[14,30]},"
                + "\"single\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[30,34]}}  ";
        seeds.add(file(header, concat(u16(0x3C00, 0xC000, 0x0001, 0x3555), u16(0x3F80, 0xC040, 0x4049),
                f64(0.1, -7), f32(42.5f))));
        return seeds;
    }

    private static byte[] write(Map<String, Tensor> tensors, Map<String, String> meta) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensors.write(out, tensors, meta);
        return out.toByteArray();
    }

    @Test
    void seedsReplayDeterministically() throws IOException {
        // The same seed gives the same mutation, so a failing case number can be replayed.
        List<byte[]> seeds = seeds();
        FuzzRunner.Mutation a = Mutator.mutate(seeds.get(0), seeds, new Random(99));
        FuzzRunner.Mutation b = Mutator.mutate(seeds.get(0), seeds, new Random(99));
        assertThat(a.bytes()).isEqualTo(b.bytes());
        assertThat(a.description()).isEqualTo(b.description());
        if (a.bytes().length == 0) {
            fail("mutation produced nothing");
        }
    }
}
