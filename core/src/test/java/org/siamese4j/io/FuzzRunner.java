package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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

/**
 * What the seeded fuzz tests of the file readers (safetensors here, ONNX in its package) share: the damage any
 * file suffers whatever its format, the loop over the cases, and the checks of one read (the expected exception
 * alone, bounded CPU time and allocation, a well-formed message). Each format adds mutations that know its
 * structure. A failure names the case and its seed, so it replays alone.
 */
public final class FuzzRunner {
    /**
     * Bound per case, in CPU time of the reading thread (wall time flakes on a loaded machine: GC pauses and
     * descheduling of 2 s were seen). A case that blocks instead of spinning is caught by the test's preemptive
     * timeout.
     */
    public static final long MAX_CPU_NANOS_PER_CASE = 1_000_000_000L;

    /** The kinds of damage {@link #damage} does. */
    public static final List<String> BYTE_KINDS = List.of("bitflip", "truncate", "splice", "delete", "duplicate");

    private FuzzRunner() {
    }

    public record Mutation(String kind, String description, byte[] bytes) {
    }

    /** Damages a file given the seeds (valid files, also donors of spliced bytes) and the case's randomness. */
    @FunctionalInterface
    public interface Mutator {
        Mutation mutate(byte[] base, List<byte[]> seeds, Random r);
    }

    /** Reads damaged bytes (or the file holding them); returns null when they load, else the problem text. */
    @FunctionalInterface
    public interface CaseReader<S> {
        String read(S source, int size, Supplier<String> what) throws IOException;
    }

    /** What one read gave: the loaded value, or the format exception. */
    public record Outcome<T>(T loaded, ModelFormatException refused) {
        /** Null when loaded; else the message without the file name, the same whichever way the bytes came. */
        public String problem() {
            return refused == null ? null : refused.getMessage().substring(refused.file().length() + 2);
        }
    }

    /**
     * Damage that knows nothing of the format, as disks, networks and attackers do it: bits flipped (half of them
     * before {@code focusEnd}, where the parsing happens), the end cut off, bytes of another seed spliced in,
     * bytes deleted, bytes repeated.
     */
    public static Mutation damage(String kind, byte[] base, List<byte[]> others, Random r, int focusEnd) {
        byte[] b = base.clone();
        switch (kind) {
            case "bitflip": {
                int flips = 1 + r.nextInt(4);
                StringBuilder d = new StringBuilder("flip bits");
                for (int i = 0; i < flips; i++) {
                    int at = r.nextBoolean() ? r.nextInt(focusEnd) : r.nextInt(b.length);
                    int bit = r.nextInt(8);
                    b[at] ^= (byte) (1 << bit);
                    d.append(' ').append(at).append(':').append(bit);
                }
                return new Mutation(kind, d.toString(), b);
            }
            case "truncate": {
                int len = r.nextInt(b.length);
                return new Mutation(kind, "truncate to " + len, Arrays.copyOf(b, len));
            }
            case "splice": {
                byte[] donor = others.get(r.nextInt(others.size()));
                int from = r.nextInt(donor.length);
                int len = r.nextInt(Math.min(64, donor.length - from) + 1);
                int at = r.nextInt(b.length + 1);
                int replace = r.nextBoolean() ? Math.min(len, b.length - at) : 0;
                byte[] out = new byte[b.length - replace + len];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(donor, from, out, at, len);
                System.arraycopy(b, at + replace, out, at + len, b.length - at - replace);
                return new Mutation(kind, "splice " + len + " bytes from " + from + " at " + at + " replacing "
                        + replace, out);
            }
            case "delete": {
                int at = r.nextInt(b.length);
                int len = 1 + r.nextInt(Math.min(32, b.length - at));
                byte[] out = new byte[b.length - len];
                System.arraycopy(b, 0, out, 0, at);
                System.arraycopy(b, at + len, out, at, b.length - at - len);
                return new Mutation(kind, "delete " + len + " bytes at " + at, out);
            }
            case "duplicate": {
                int at = r.nextInt(b.length);
                int len = 1 + r.nextInt(Math.min(48, b.length - at));
                byte[] out = new byte[b.length + len];
                System.arraycopy(b, 0, out, 0, at + len);
                System.arraycopy(b, at, out, at + len, b.length - at);
                return new Mutation(kind, "duplicate " + len + " bytes at " + at, out);
            }
            default:
                throw new IllegalArgumentException("not a byte-level mutation: " + kind + " (" + BYTE_KINDS + ")");
        }
    }

    /** {@code b} with the bytes {@code [start, end)} replaced by {@code with}. */
    public static byte[] replace(byte[] b, int start, int end, byte[] with) {
        byte[] out = new byte[b.length - (end - start) + with.length];
        System.arraycopy(b, 0, out, 0, start);
        System.arraycopy(with, 0, out, start, with.length);
        System.arraycopy(b, end, out, start + with.length, b.length - end);
        return out;
    }

    /**
     * Runs {@code cases} damaged files through {@code fromBytes}; every {@code fileEvery}-th also goes through a
     * real file {@code caseFile} and {@code fromFile}, which must give the same problem and leave the folder as it
     * was. Returns, by mutation kind, {loaded, rejected}.
     */
    public static Map<String, int[]> run(long seed, int cases, List<byte[]> seeds, Mutator mutator,
                                         CaseReader<byte[]> fromBytes, Path caseFile, int fileEvery,
                                         CaseReader<Path> fromFile) throws IOException {
        Map<String, int[]> stats = new TreeMap<>();
        Random master = new Random(seed);
        for (int c = 0; c < cases; c++) {
            long caseSeed = master.nextLong();
            Random r = new Random(caseSeed);
            Mutation m = mutator.mutate(seeds.get(r.nextInt(seeds.size())), seeds, r);
            int caseNumber = c;
            Supplier<String> what = () -> "case " + caseNumber + " (seed " + caseSeed + ", " + m.kind() + ": "
                    + m.description() + ")";
            String problem = fromBytes.read(m.bytes(), m.bytes().length, what);
            if (c % fileEvery == 0) {
                Files.write(caseFile, m.bytes());
                List<String> before = listing(caseFile.getParent());
                String fromDisk = fromFile.read(caseFile, m.bytes().length, what);
                if (!listing(caseFile.getParent()).equals(before)) {
                    throw new AssertionError("reading " + what.get() + " changed the folder");
                }
                if (!String.valueOf(fromDisk).equals(String.valueOf(problem))) {
                    throw new AssertionError("file and byte[] readers disagree on " + what.get() + ": " + fromDisk
                            + " / " + problem);
                }
            }
            stats.computeIfAbsent(m.kind(), k -> new int[2])[problem == null ? 0 : 1]++;
        }
        return stats;
    }

    /**
     * Runs one read and checks it: it loads or throws {@code expected} alone, within
     * {@link #MAX_CPU_NANOS_PER_CASE} and {@code maxAllocated} bytes, and a refusal's message is one line reading
     * {@code "<source>: <problem>..."}. Plain checks rather than AssertJ: this runs thousands of times.
     */
    public static <T> Outcome<T> read(Callable<T> reader, Class<? extends ModelFormatException> expected,
                                      String source, long maxAllocated, Supplier<String> what) {
        long allocatedBefore = ThreadCounters.allocatedBytes();
        long cpuBefore = ThreadCounters.cpuNanos();
        T loaded = null;
        Throwable thrown = null;
        try {
            loaded = reader.call();
        } catch (Throwable t) {
            thrown = t;
        }
        long cpu = ThreadCounters.cpuNanos() - cpuBefore;
        long allocated = ThreadCounters.allocatedBytes() - allocatedBefore;
        if (thrown != null && !expected.isInstance(thrown)) {
            throw new AssertionError(what.get() + ": expected " + expected.getSimpleName() + ", got " + thrown, thrown);
        }
        if (cpuBefore >= 0 && cpu > MAX_CPU_NANOS_PER_CASE) {
            throw new AssertionError(what.get() + " took " + cpu / 1_000_000 + " ms of CPU");
        }
        if (allocatedBefore >= 0 && allocated > maxAllocated) {
            throw new AssertionError(what.get() + " allocated " + allocated + " bytes, more than " + maxAllocated);
        }
        if (thrown == null) {
            return new Outcome<>(loaded, null);
        }
        ModelFormatException e = (ModelFormatException) thrown;
        if (!e.file().equals(source) || e.problem().isBlank() || !e.getMessage().startsWith(source + ": " + e.problem())
                || e.getMessage().contains("\n")) {
            throw new AssertionError(what.get() + ": badly formed message: " + e.getMessage(), e);
        }
        return new Outcome<>(null, e);
    }

    /**
     * Checks a run's tally: all {@code cases} ran, more than half were rejected (the mutations are meant to break
     * files), and every kind of mutation was rejected at least once (a kind that never is tests nothing).
     */
    public static void assertRejections(Map<String, int[]> stats, List<String> kinds, int cases) {
        int rejected = stats.values().stream().mapToInt(s -> s[1]).sum();
        int total = stats.values().stream().mapToInt(s -> s[0] + s[1]).sum();
        assertThat(total).isEqualTo(cases);
        assertThat(rejected).as("rejected of %d: %s", total, describe(stats)).isGreaterThan(cases / 2);
        for (String kind : kinds) {
            assertThat(stats.get(kind)).as(kind).isNotNull();
            assertThat(stats.get(kind)[1]).as("%s mutations rejected: %s", kind, describe(stats)).isPositive();
        }
    }

    /** The folder's files with their sizes and times: reading must leave it as it was. */
    public static List<String> listing(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            List<String> out = new ArrayList<>();
            for (Path p : (Iterable<Path>) files.sorted()::iterator) {
                out.add(p.getFileName() + " " + Files.size(p) + " " + Files.getLastModifiedTime(p));
            }
            return out;
        }
    }

    /** {@code bitflip=33 ok/476 rejected, ...}. */
    public static String describe(Map<String, int[]> stats) {
        return stats.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()[0] + " ok/" + e.getValue()[1]
                + " rejected").collect(Collectors.joining(", "));
    }
}
