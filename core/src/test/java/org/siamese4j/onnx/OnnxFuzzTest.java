package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.FuzzRunner;
import org.siamese4j.io.ThreadCounters;

/**
 * Seeded fuzzing of the ONNX reader, in the pattern of the safetensors fuzz test: thousands of damaged files, each
 * of which must load or fail with {@link OnnxFormatException} alone, quickly, in bounded memory, without writing
 * anything. A file that loads must also write back and read back equal. A failure names the case and its seed, so
 * it replays alone.
 */
class OnnxFuzzTest {
    private static final long SEED = 0x0111_0018_0001L;
    private static final int CASES = 5000;
    /** Every this-many cases also go through a real file, checking the folder is left as it was. */
    private static final int FILE_EVERY = 25;
    /**
     * Allocation per case: class loading and the first use of everything on top, then a multiple of the file's
     * size. A message costs its record and lists (a hundred-odd bytes) for as little as 2 bytes of file; the
     * measured worst case is in {@link #tinyMessagesCostABoundedMultipleOfTheirBytes}. What matters here is
     * that a size claim (the mutations make claims up to 2^63) never turns into memory.
     */
    private static final long ALLOCATION_PER_FILE_BYTE = 256;

    @TempDir
    Path dir;

    @Test
    void mutatedFilesLoadOrFailWithOnnxFormatExceptionOnly() {
        Map<String, int[]> stats = assertTimeoutPreemptively(Duration.ofSeconds(120), this::fuzz);
        FuzzRunner.assertRejections(stats, List.of(OnnxMutator.KINDS), CASES);
    }

    private Map<String, int[]> fuzz() throws IOException {
        List<byte[]> seeds = seeds();
        for (byte[] s : seeds) {
            OnnxModel.read(s); // the seeds themselves are valid
        }
        return FuzzRunner.run(SEED, CASES, seeds, OnnxMutator::mutate,
                (bytes, size, what) -> load(() -> OnnxModel.read(bytes, "case"), "case", size, what),
                dir.resolve("case.onnx"), FILE_EVERY,
                (file, size, what) -> load(() -> OnnxModel.read(file), file.toString(), size, what));
    }

    /**
     * One read: null when it loads, else the problem and location; fails on any other exception, too much time or
     * memory, an offset outside the file, or a model that does not read back equal after writing.
     */
    private static String load(Callable<OnnxModel> reader, String source, int size, Supplier<String> what) {
        FuzzRunner.Outcome<OnnxModel> outcome = FuzzRunner.read(reader, OnnxFormatException.class, source,
                (16L << 20) + ALLOCATION_PER_FILE_BYTE * size, what);
        if (outcome.refused() != null) {
            long offset = ((OnnxFormatException) outcome.refused()).offset();
            if (offset < 0 || offset > size) {
                throw new AssertionError(what.get() + ": offset outside the file: " + outcome.refused().getMessage());
            }
            return outcome.problem();
        }
        try {
            OnnxModel back = OnnxModel.read(outcome.loaded().toBytes());
            if (!back.equals(outcome.loaded())) {
                throw new AssertionError(what.get() + ": loaded, but did not read back equal after writing");
            }
        } catch (OnnxFormatException e) {
            throw new AssertionError(what.get() + ": loaded, but what was written back is refused: " + e, e);
        }
        return null;
    }

    /**
     * Valid files of different makes: PyTorch's, ours with every kind of field, and one built by hand with the
     * forms our writer does not use (typed data fields, packed and unpacked, untyped attributes, unknown fields).
     */
    static List<byte[]> seeds() {
        List<byte[]> seeds = new ArrayList<>();
        seeds.add(OnnxSamples.pytorchBytes());
        seeds.add(OnnxSamples.everyKindOfField().toBytes());
        Wire node = new Wire().string(1, "x").string(1, "w").string(2, "y").string(3, "n").string(4, "Conv")
                .message(5, new Wire().string(1, "strides").packedVarints(8, 2, 2))
                .message(5, new Wire().string(1, "epsilon").floatField(2, 1e-5f))
                .message(5, new Wire().string(1, "value").message(5, new Wire().varint(1, 2).varint(2, 7)
                        .varint(7, -1).varint(7, 8)).varint(20, 4))
                .string(6, "doc").varint(99, 1);
        Wire graph = new Wire().message(1, node).string(2, "hand")
                .message(5, new Wire().varint(1, 2).varint(1, 2).varint(2, 1).string(8, "w")
                        .packedFloats(4, 1f, -2f, 0.5f, 3f))
                .message(5, new Wire().packedVarints(1, 3).varint(2, 6).string(8, "i").packedVarints(5, -1, 0, 70000))
                .message(5, new Wire().varint(1, 2).varint(2, 11).string(8, "d").packedDoubles(10, 0.1, -7))
                .message(11, Wire.floatValue("x", 1, 2, 4, 4)).message(12, Wire.floatValue("y", 1, 2, 3, 3))
                .message(13, new Wire().string(1, "v").message(2, new Wire().message(1, new Wire().varint(1, 7)
                        .message(2, new Wire().message(1, new Wire().string(2, "n"))))));
        seeds.add(Wire.model(graph).message(14, new Wire().string(1, "k").string(2, "v")).bytes());
        return seeds;
    }

    @Test
    void seedsReplayDeterministically() {
        List<byte[]> seeds = seeds();
        for (int i = 0; i < 50; i++) {
            FuzzRunner.Mutation a = OnnxMutator.mutate(seeds.get(i % 3), seeds, new Random(i));
            FuzzRunner.Mutation b = OnnxMutator.mutate(seeds.get(i % 3), seeds, new Random(i));
            assertThat(a.bytes()).isEqualTo(b.bytes());
            assertThat(a.description()).isEqualTo(b.description());
        }
    }

    @Test
    void theStructuralMutatorEncodesAnUnchangedTreeToTheSameBytes() {
        for (byte[] seed : seeds()) {
            List<OnnxMutator.Field> tree = OnnxMutator.parse(seed, 0, seed.length, 0);
            assertThat(tree).isNotNull();
            assertThat(OnnxMutator.encode(tree)).isEqualTo(seed);
        }
    }

    @Test
    void tinyMessagesCostABoundedMultipleOfTheirBytes() throws OnnxFormatException {
        // The cheapest messages to write and the dearest to hold: 100,000 empty nodes (2 bytes each), then as
        // many nodes holding one empty attribute of type INTS (7 bytes each). Measured on JDK 17 (compressed
        // pointers): 118 and 76 bytes allocated per byte of file.
        Wire empty = new Wire();
        Wire attributes = new Wire();
        for (int i = 0; i < 100_000; i++) {
            empty.message(1, new Wire());
            attributes.message(1, new Wire().message(5, new Wire().varint(20, 7)));
        }
        for (Wire graph : List.of(empty, attributes)) {
            byte[] file = Wire.model(graph).bytes();
            OnnxModel.read(file); // loads the classes
            long before = ThreadCounters.allocatedBytes();
            OnnxModel m = OnnxModel.read(file);
            long allocated = ThreadCounters.allocatedBytes() - before;
            assertThat(m.graph().nodes()).hasSize(100_000);
            if (before >= 0) {
                assertThat(allocated / file.length).as("bytes allocated per file byte").isLessThan(
                        ALLOCATION_PER_FILE_BYTE);
            }
        }
    }

    @Test
    void hostileCountsOfTinyMessagesAreRefusedBeforeTheyFillTheHeap() throws OnnxFormatException {
        // One node more than ProtoReader.MAX_NODES (2 MB of empty nodes), and one node with more empty input
        // strings than MAX_DECODED messages and strings in all (16 MB): each refused with the field and offset,
        // having allocated a bounded amount, where a 100 MB file of either once ended in OutOfMemoryError.
        Wire nodes = new Wire();
        for (int i = 0; i <= ProtoReader.MAX_NODES; i++) {
            nodes.message(1, new Wire());
        }
        byte[] tooManyNodes = Wire.model(nodes).bytes();
        long before = ThreadCounters.allocatedBytes();
        assertThatThrownBy(() -> OnnxModel.read(tooManyNodes)).isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining("more than 1000000 nodes")
                .satisfies(e -> assertThat(((OnnxFormatException) e).fieldPath()).isEqualTo("graph.node[1000000]"))
                .satisfies(e -> assertThat(((OnnxFormatException) e).offset()).isBetween(2_000_000L,
                        (long) tooManyNodes.length));
        long allocated = ThreadCounters.allocatedBytes() - before;
        if (before >= 0) {
            System.out.printf("%d empty nodes (%d bytes): %d MB allocated before the refusal%n",
                    ProtoReader.MAX_NODES + 1, tooManyNodes.length, allocated >> 20);
            assertThat(allocated).isLessThan(600L << 20);
        }

        Wire strings = new Wire();
        for (long i = 0; i <= ProtoReader.MAX_DECODED; i++) {
            strings.bytes(1, new byte[0]);
        }
        byte[] tooManyStrings = Wire.model(new Wire().message(1, strings)).bytes();
        assertThatThrownBy(() -> OnnxModel.read(tooManyStrings)).isInstanceOf(OnnxFormatException.class)
                .hasMessageContaining("more than 8000000 messages and strings")
                .satisfies(e -> assertThat(((OnnxFormatException) e).fieldPath()).isEqualTo("graph.node[0].input"));
    }

    @Test
    void aModelOfWeightsCostsAboutItsSize() throws OnnxFormatException {
        float[] weights = new float[1 << 20];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = i * 0.5f;
        }
        OnnxModel model = new OnnxModel(7, "", "", List.of(), Map.of(), new OnnxGraph("", List.of(),
                List.of(OnnxTensor.ofFloats("w", new long[] {1024, 1024}, weights)), List.of(), List.of(), List.of()));
        byte[] file = model.toBytes();
        OnnxModel.read(file);
        long before = ThreadCounters.allocatedBytes();
        OnnxModel back = OnnxModel.read(file);
        long allocated = ThreadCounters.allocatedBytes() - before;
        assertThat(back).isEqualTo(model);
        if (before >= 0) {
            // the float array (the file's size) and little else: raw_data is converted where it lies in the file
            assertThat(allocated).isBetween((long) file.length - 64, file.length + (64L << 10));
        }
    }
}
