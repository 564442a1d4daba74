package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.siamese.data.LoaderMutator.Layout;
import org.siamese4j.siamese.data.LoaderMutator.Mutation;
import org.siamese4j.siamese.data.LoaderMutator.Seed;
import org.siamese4j.tensor.Tensor;

/**
 * Seeded fuzzing of the image and IDX loaders: thousands of damaged PGM (P2, P5 8/16-bit), PNG, JPEG, BMP, GIF,
 * TIFF and IDX (raw and gzip) files, each of which must load a well-formed result or fail with
 * {@link ImageFormatException} alone (never OutOfMemoryError or another type), within a bounded CPU time and
 * allocation, without writing anything. Images are read from bytes and, for a sample, from a file, which must
 * give the same problem; a sample of the PGMs also as a stream of unknown length; IDX files from disk.
 * A failure names the case number and its seed; {@link #mutation(long, List)} rebuilds that one case.
 */
class LoaderFuzzTest {
    /** Overridable for a longer hunt: {@code -Dsiamese4j.fuzz.seed=... -Dsiamese4j.fuzz.cases=200000}. */
    private static final long SEED = Long.getLong("siamese4j.fuzz.seed", 0x10ade7_f022L);
    private static final int CASES = Integer.getInteger("siamese4j.fuzz.cases", 6000);
    /** Every this-many image cases also go through a real file, with the folder listing compared. */
    private static final int FILE_EVERY = 20;
    /** Every this-many PGM cases also go through {@link Images#readPgm}, where the length is unknown. */
    private static final int STREAM_EVERY = 3;
    /** CPU time of the reading thread, not wall time: GC pauses and a loaded machine do not count. */
    private static final long MAX_CPU_NANOS_PER_CASE = 1_000_000_000L;
    /**
     * PGM and IDX memory follows the data present: buffers a few times the file size plus fixed chunks
     * (64 KiB PGM reads, a 1 MiB first IDX buffer). A hostile size claim must not become memory.
     */
    private static final long PARSER_SLACK = 8L << 20;
    /**
     * javax.imageio allocates the destination image from the header before decoding, so there the bound is the
     * documented pixel cap: at most 8 bytes a pixel decoded (16-bit RGBA) plus the 4-byte float result.
     */
    private static final long DECODER_LIMIT = 12 * Images.MAX_PIXELS + (32L << 20);

    @TempDir
    Path dir;

    @Test
    void threadCountersWorkSoTheBoundsMeanSomething() {
        long before = ThreadCounters.allocatedBytes();
        byte[] big = new byte[1 << 20];
        long after = ThreadCounters.allocatedBytes();
        assertThat(before).as("thread allocation counter (HotSpot)").isNotNegative();
        assertThat(after - before).isGreaterThanOrEqualTo(big.length);
        assertThat(ThreadCounters.cpuNanos()).as("thread CPU time").isPositive();
    }

    @Test
    void seedsAreValidAndCasesReplay() throws IOException {
        List<Seed> seeds = seeds();
        for (Seed s : seeds) {
            Path f = dir.resolve(s.name());
            Files.write(f, s.bytes());
            read(s, f, s.bytes());
        }
        long caseSeed = new Random(SEED).nextLong();
        Mutation a = mutation(caseSeed, seeds);
        Mutation b = mutation(caseSeed, seeds);
        assertThat(a.bytes()).isEqualTo(b.bytes());
        assertThat(a.description()).isEqualTo(b.description());
    }

    @Test
    void mutatedFilesLoadOrFailWithImageFormatExceptionOnly() {
        Map<String, int[]> stats = assertTimeoutPreemptively(Duration.ofSeconds(60 + CASES / 100), this::fuzz);
        int total = stats.values().stream().mapToInt(s -> s[0] + s[1]).sum();
        assertThat(total).isEqualTo(CASES);
        Map<String, int[]> byFormat = new TreeMap<>();
        Map<String, int[]> byKind = new TreeMap<>();
        stats.forEach((key, s) -> {
            String[] parts = key.split(" ");
            add(byFormat, parts[0], s);
            add(byKind, parts[1], s);
        });
        for (Seed seed : seeds()) {
            int[] s = byFormat.get(seed.name());
            assertThat(s).as(seed.name()).isNotNull();
            // Both outcomes occur: the damage is neither always fatal nor always harmless.
            assertThat(s[0]).as("%s cases that loaded: %s", seed.name(), describe(stats)).isPositive();
            assertThat(s[1]).as("%s cases rejected: %s", seed.name(), describe(stats)).isPositive();
        }
        for (String kind : LoaderMutator.KINDS) {
            assertThat(byKind.get(kind)).as(kind).isNotNull();
            assertThat(byKind.get(kind)[1]).as("%s cases rejected: %s", kind, describe(stats)).isPositive();
        }
    }

    private Map<String, int[]> fuzz() throws IOException {
        List<Seed> seeds = seeds();
        // Loads the decoder classes before anything is measured.
        for (Seed s : seeds) {
            Path f = dir.resolve(s.name());
            Files.write(f, s.bytes());
            read(s, f, s.bytes());
            Files.delete(f);
        }
        Path imageDir = Files.createDirectory(dir.resolve("images"));
        Path idxDir = Files.createDirectory(dir.resolve("idx"));
        Map<String, int[]> stats = new TreeMap<>();
        Random master = new Random(SEED);
        for (int c = 0; c < CASES; c++) {
            long caseSeed = master.nextLong();
            Seed seed = seeds.get(new Random(caseSeed).nextInt(seeds.size())); // as mutation() picks it
            Mutation m = mutation(caseSeed, seeds);
            byte[] bytes = m.bytes();
            int caseNumber = c;
            Supplier<String> what = () -> "case " + caseNumber + " (seed " + caseSeed + "L, " + seed.name() + ", "
                    + m.kind() + ": " + m.description() + ")";
            String problem;
            if (seed.layout() == Layout.IDX) {
                // Idx reads files only: every case goes through one, and a sample checks the folder after.
                Path f = idxDir.resolve("case-" + c);
                Files.write(f, bytes);
                List<String> before = c % FILE_EVERY == 0 ? listing(idxDir) : null;
                boolean images = seed.name().startsWith("idx-images");
                problem = load(() -> images ? checkImages(Idx.readImages(f)) : checkLabels(Idx.readLabels(f)),
                        f.toString(), PARSER_SLACK + 16L * bytes.length, what);
                if (before != null) {
                    assertThat(listing(idxDir)).as("folder after reading %s", what.get()).isEqualTo(before);
                }
                Files.delete(f);
            } else {
                boolean pgm = seed.layout() == Layout.PGM;
                long limit = pgm ? PARSER_SLACK + 16L * bytes.length : DECODER_LIMIT;
                problem = load(() -> checkImage(Images.read(bytes, "case")), "case", limit, what);
                if (pgm && c % STREAM_EVERY == 0) {
                    load(() -> checkImage(Images.readPgm(new ByteArrayInputStream(bytes), "stream")), "stream",
                            limit, () -> what.get() + " read as a stream");
                }
                if (c % FILE_EVERY == 0) {
                    Path f = imageDir.resolve("case-" + c);
                    Files.write(f, bytes);
                    List<String> before = listing(imageDir);
                    String fromFile = load(() -> checkImage(Images.read(f)), f.toString(), limit,
                            () -> what.get() + " read from a file");
                    assertThat(listing(imageDir)).as("folder after reading %s", what.get()).isEqualTo(before);
                    if (bytes.length > 0) { // "empty file" vs "empty input"
                        assertThat(fromFile).as("file and byte[] readers agree on %s", what.get()).isEqualTo(problem);
                    }
                    Files.delete(f);
                }
            }
            add(stats, seed.name() + " " + m.kind(), problem == null ? new int[] {1, 0} : new int[] {0, 1});
        }
        return stats;
    }

    /** The mutation of case {@code caseSeed}: replays one failing case alone. */
    static Mutation mutation(long caseSeed, List<Seed> seeds) {
        Random r = new Random(caseSeed);
        Seed seed = seeds.get(r.nextInt(seeds.size()));
        List<byte[]> donors = new ArrayList<>();
        for (Seed s : seeds) {
            donors.add(s.bytes());
        }
        return LoaderMutator.mutate(seed, donors, r);
    }

    /**
     * Runs one read: returns null if it loaded, else the problem of its {@link ImageFormatException}; fails on
     * any other throwable, on too much CPU time or allocation, and on a badly formed message. Plain checks
     * rather than AssertJ in here: this runs thousands of times.
     */
    private static String load(Callable<?> reader, String source, long allocationLimit, Supplier<String> what) {
        long allocatedBefore = ThreadCounters.allocatedBytes();
        long cpuBefore = ThreadCounters.cpuNanos();
        Throwable thrown = null;
        try {
            reader.call();
        } catch (Throwable t) {
            thrown = t;
        }
        long cpu = ThreadCounters.cpuNanos() - cpuBefore;
        long allocated = ThreadCounters.allocatedBytes() - allocatedBefore;
        if (thrown != null && !(thrown instanceof ImageFormatException)) {
            throw new AssertionError(what.get() + ": expected ImageFormatException, got " + thrown, thrown);
        }
        if (cpuBefore >= 0 && cpu > MAX_CPU_NANOS_PER_CASE) {
            throw new AssertionError(what.get() + " took " + cpu / 1_000_000 + " ms of CPU");
        }
        if (allocatedBefore >= 0 && allocated > allocationLimit) {
            throw new AssertionError(what.get() + " allocated " + allocated + " bytes, above " + allocationLimit);
        }
        if (thrown == null) {
            return null;
        }
        ImageFormatException e = (ImageFormatException) thrown;
        if (!source.equals(e.source()) || e.problem() == null || e.problem().isBlank() || e.problem().contains(": null")
                || e.location() == null
                || e.location().isBlank()
                || !e.getMessage().equals(source + ": " + e.problem() + " (at " + e.location() + ")")) {
            throw new AssertionError(what.get() + ": badly formed message: " + e.getMessage(), e);
        }
        return e.problem();
    }

    /** A loaded image must be what GrayImage promises: positive size, samples in [0, maxValue]. */
    private static GrayImage checkImage(GrayImage img) {
        float[] px = img.pixels();
        if (img.width() < 1 || img.height() < 1 || px.length != (long) img.width() * img.height()
                || !(img.maxValue() > 0) || !Float.isFinite(img.maxValue())) {
            throw new AssertionError("malformed image " + img.height() + "x" + img.width() + " max "
                    + img.maxValue() + " with " + px.length + " samples");
        }
        for (float v : px) {
            if (!(v >= 0 && v <= img.maxValue())) {
                throw new AssertionError("sample " + v + " outside [0, " + img.maxValue() + "]");
            }
        }
        return img;
    }

    private static Tensor checkImages(Tensor x) {
        int[] shape = x.shape();
        if (shape.length != 4 || shape[1] != 1 || shape[2] < 1 || shape[3] < 1) {
            throw new AssertionError("malformed IDX images shape " + Arrays.toString(shape));
        }
        for (float v : x.data()) {
            if (!(v >= 0 && v <= 1)) {
                throw new AssertionError("IDX value " + v + " outside [0, 1]");
            }
        }
        return x;
    }

    private static int[] checkLabels(int[] labels) {
        for (int v : labels) {
            if (v < 0 || v > 255) {
                throw new AssertionError("IDX label " + v + " outside 0..255");
            }
        }
        return labels;
    }

    private static void read(Seed s, Path file, byte[] bytes) throws IOException {
        if (s.layout() == Layout.IDX) {
            if (s.name().startsWith("idx-images")) {
                checkImages(Idx.readImages(file));
            } else {
                checkLabels(Idx.readLabels(file));
            }
        } else {
            checkImage(Images.read(bytes, s.name()));
            checkImage(Images.read(file));
        }
    }

    private static List<String> listing(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            List<String> out = new ArrayList<>();
            for (Path p : (Iterable<Path>) files.sorted()::iterator) {
                out.add(p.getFileName() + " " + Files.size(p) + " " + Files.getLastModifiedTime(p));
            }
            return out;
        }
    }

    private static void add(Map<String, int[]> stats, String key, int[] counts) {
        int[] s = stats.computeIfAbsent(key, k -> new int[2]);
        s[0] += counts[0];
        s[1] += counts[1];
    }

    private static String describe(Map<String, int[]> stats) {
        return stats.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()[0] + " ok/" + e.getValue()[1]
                + " rejected").collect(Collectors.joining(", "));
    }

    // ---- seeds: small valid files of every supported kind, built here ---------------------------------------

    static List<Seed> seeds() {
        List<Seed> seeds = new ArrayList<>();
        // 8-bit P5 with maxval 200, so damaged samples can exceed it; a comment in the header.
        seeds.add(new Seed("pgm-p5-8bit", Layout.PGM, pgm("P5\n# seed\n7 5\n200\n", 1, 35), null));
        seeds.add(new Seed("pgm-p5-16bit", Layout.PGM, pgm("P5 5 3 1000\n", 2, 67), null));
        StringBuilder plain = new StringBuilder("P2\n6 4\n# plain\n99\n");
        for (int i = 0; i < 24; i++) {
            plain.append((i * 37) % 100).append(i % 6 == 5 ? "\n" : " ");
        }
        seeds.add(new Seed("pgm-p2", Layout.PGM, plain.toString().getBytes(StandardCharsets.US_ASCII), null));

        seeds.add(new Seed("png-grey", Layout.PNG, encode(texture(7, 9, BufferedImage.TYPE_BYTE_GRAY), "png", false),
                null));
        seeds.add(new Seed("png-grey16", Layout.PNG, encode(texture(5, 6, BufferedImage.TYPE_USHORT_GRAY), "png",
                false), null));
        seeds.add(new Seed("png-rgb", Layout.PNG, encode(texture(6, 8, BufferedImage.TYPE_INT_RGB), "png", false),
                null));
        seeds.add(new Seed("png-palette", Layout.PNG, encode(texture(6, 5, BufferedImage.TYPE_BYTE_INDEXED), "png",
                false), null));
        seeds.add(new Seed("png-interlaced", Layout.PNG, encode(texture(9, 11, BufferedImage.TYPE_BYTE_GRAY), "png",
                true), null));
        seeds.add(new Seed("jpeg-grey", Layout.JPEG, encode(texture(16, 16, BufferedImage.TYPE_BYTE_GRAY), "jpeg",
                false), null));
        seeds.add(new Seed("jpeg-rgb", Layout.JPEG, encode(texture(16, 24, BufferedImage.TYPE_INT_RGB), "jpeg",
                false), null));
        seeds.add(new Seed("jpeg-progressive", Layout.JPEG, encode(texture(16, 16, BufferedImage.TYPE_INT_RGB),
                "jpeg", true), null));
        // The other formats javax.imageio reads, which Images accepts too.
        seeds.add(new Seed("bmp", Layout.OTHER, encode(texture(5, 6, BufferedImage.TYPE_INT_RGB), "bmp", false),
                null));
        seeds.add(new Seed("gif", Layout.OTHER, encode(texture(6, 7, BufferedImage.TYPE_BYTE_INDEXED), "gif", false),
                null));
        seeds.add(new Seed("tiff", Layout.OTHER, encode(texture(5, 6, BufferedImage.TYPE_BYTE_GRAY), "tiff", false),
                null));

        byte[] images = idx(Idx.IMAGES_MAGIC, new int[] {3, 4, 5}, 60);
        byte[] labels = idx(Idx.LABELS_MAGIC, new int[] {7}, 7);
        seeds.add(new Seed("idx-images", Layout.IDX, images, null));
        seeds.add(new Seed("idx-images-gz", Layout.IDX, LoaderMutator.gzip(images), images));
        seeds.add(new Seed("idx-labels", Layout.IDX, labels, null));
        seeds.add(new Seed("idx-labels-gz", Layout.IDX, LoaderMutator.gzip(labels), labels));
        return seeds;
    }

    /** A P5 header followed by its w x h samples {@code (a + b i) mod (maxval + 1)}, 2 bytes each above 255. */
    private static byte[] pgm(String header, int a, int b) {
        String[] f = header.replaceAll("#[^\n]*\n", "").trim().split("\\s+");
        int n = Integer.parseInt(f[1]) * Integer.parseInt(f[2]);
        int max = Integer.parseInt(f[3]);
        int bytesPer = max > 255 ? 2 : 1;
        ByteBuffer buf = ByteBuffer.allocate(header.length() + n * bytesPer);
        buf.put(header.getBytes(StandardCharsets.US_ASCII));
        for (int i = 0; i < n; i++) {
            int v = (a + b * i) % (max + 1);
            if (bytesPer == 2) {
                buf.putShort((short) v);
            } else {
                buf.put((byte) v);
            }
        }
        return buf.array();
    }

    private static BufferedImage texture(int h, int w, int type) {
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int v = (7 * x + 13 * y + x * y) & 0xFF;
                img.setRGB(x, y, (v << 16) | (((v * 3) & 0xFF) << 8) | ((255 - v) & 0xFF));
            }
        }
        return img;
    }

    /** Encodes in memory (no cache file in the temp folder); progressive means Adam7 for PNG. */
    private static byte[] encode(BufferedImage img, String format, boolean progressive) {
        ImageWriter writer = ImageIO.getImageWritersByFormatName(format).next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = new MemoryCacheImageOutputStream(out)) {
            ImageWriteParam param = writer.getDefaultWriteParam();
            if (progressive) {
                param.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            }
            writer.setOutput(ios);
            writer.write(null, new IIOImage(img, null, null), param);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    private static byte[] idx(int magic, int[] dims, int count) {
        int n = 1;
        for (int d : dims) {
            n *= d;
        }
        ByteBuffer buf = ByteBuffer.allocate(4 + 4 * dims.length + n);
        buf.putInt(magic);
        for (int d : dims) {
            buf.putInt(d);
        }
        for (int i = 0; i < n; i++) {
            buf.put((byte) ((i * 29) % count));
        }
        return buf.array();
    }
}
