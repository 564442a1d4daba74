package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Issue 16's promise, checked in one place: every hostile input, given to the real CLI in a JVM of
 * {@value #HEAP}, either succeeds or ends within 20 s with exit code 1 and one line on stderr that names the file;
 * never an out-of-memory report, a stack trace or an exception's name, and never a control character that a
 * terminal would act on. Each kind of file goes through every command that reads that kind: images through
 * {@code embed}, {@code verify}, {@code enroll}, {@code identify} and {@code eval} (inside a {@code --data} folder),
 * models through all five, galleries through {@code enroll} and {@code identify}.
 *
 * <p>The runs share one child JVM ({@link CliBatch}): a JVM start costs about a second on a busy machine, and
 * there are over a hundred runs. Each run's time is measured inside that JVM, without the start.
 */
class SmallHeapHostileInputTest {
    private static final String HEAP = "-Xmx256m";
    private static final long LIMIT_MILLIS = 20_000;
    /** Text that must never reach the user: what the JVM prints when memory runs out, or a stack trace. */
    private static final List<String> FORBIDDEN = List.of("OutOfMemoryError", "Java heap space", "Exception", "\tat ");
    private static final int[] INPUT = {1, 8, 8};
    private static final ArchSpec ARCH = ArchSpec.parse("flatten dense(6) l2norm");

    @TempDir
    Path dir;

    private Path model;
    private Path face;
    private Path gallery;
    private Path data;
    private int fresh;

    /** One CLI run: the arguments, the exit code expected and, for a failure, the path its one line must name. */
    private record Case(List<String> args, int exitCode, String names) {
        String label() {
            return Siamese4j.escapeControls(String.join(" ", args));
        }
    }

    /** What one run did, as {@link CliBatch} reports it. */
    private record Result(int exitCode, long millis, String stdout, String stderr) {
    }

    @Test
    void everyHostileInputSucceedsOrIsRefusedOnOneLineNamingTheFileUnderASmallHeap() throws Exception {
        model = dir.resolve("model.safetensors");
        ModelFile.save(model, ARCH.build(INPUT, new Rng(3)), ARCH, INPUT, Map.of("threshold", "0.5"));
        face = dir.resolve("face.pgm");
        writeFace(face, 1);
        gallery = dir.resolve("people.gallery");
        Gallery g = new Gallery(Verifier.load(model));
        g.enroll("ann", face);
        g.save(gallery);
        data = dataFolder("data");

        // a 95 MB header, given as a model and as a gallery: its bytes, their text and the parse would not fit
        Path longHeader = bigHeader("long-header.safetensors", 95_000_000);

        List<Case> cases = new ArrayList<>();
        imageCases(cases);
        modelCases(cases, longHeader);
        galleryCases(cases, longHeader);

        List<Result> results = runInChildJvm(cases);
        SoftAssertions softly = new SoftAssertions();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            Result r = results.get(i);
            String as = c.label() + "\nstderr: " + r.stderr() + "\nstdout: " + shorten(r.stdout());
            softly.assertThat(r.exitCode()).as("exit code of %s", as).isEqualTo(c.exitCode());
            softly.assertThat(r.millis()).as("milliseconds of %s", as).isLessThan(LIMIT_MILLIS);
            softly.assertThat(r.stdout() + r.stderr()).as("control characters from %s", as)
                    .doesNotContainPattern("[\\p{Cntrl}&&[^\n\t]]");
            if (c.exitCode() == 0) {
                softly.assertThat(r.stderr()).as("stderr of %s", as).isEmpty();
                continue;
            }
            softly.assertThat(r.stderr().lines().count()).as("lines on stderr of %s", as).isEqualTo(1);
            softly.assertThat(r.stderr()).as("stderr of %s", as).startsWith("siamese4j " + c.args().get(0) + ": ")
                    .contains(Siamese4j.escapeControls(c.names()));
            for (String bad : FORBIDDEN) {
                softly.assertThat(r.stderr()).as("stderr of %s", as).doesNotContain(bad);
            }
        }
        softly.assertAll();
    }

    // ---- images ------------------------------------------------------------------------------------------

    /** Makes a hostile image file (or something else) at the path given. */
    @FunctionalInterface
    private interface Maker {
        void make(Path p) throws Exception;
    }

    private void imageCases(List<Case> cases) throws Exception {
        // name, how to make it, exit code of the commands given it, exit code of eval given a folder holding it
        // (the folder loader skips what is not a regular file, so eval succeeds without those)
        image(cases, "bomb.png", p -> Files.write(p, zeroPng(8192, 8192, 8, 0, 1)), 1, 1);
        image(cases, "rgba16-big.png", p -> Files.write(p, zeroPng(4096, 4096, 16, 6, 4)), 1, 1);
        image(cases, "rgba16.png", p -> Files.write(p, zeroPng(1200, 1200, 16, 6, 4)), 0, 0); // 8 bytes a pixel
        // just under the decoded-size cap of a 256 MiB heap (12.25 M pixels of 1 + 4 bytes): decodes
        image(cases, "near-cap.png", p -> Files.write(p, zeroPng(3500, 3500, 8, 0, 1)), 0, 0);
        image(cases, "tiff-named.png", p -> Files.write(p, tiff(2048, 2048, 400, 1_600_000)), 1, 1);
        image(cases, "big.pgm", p -> bigPgm(p, 8192, 8192), 1, 1);
        image(cases, "cut.png", p -> Files.write(p, Arrays.copyOf(zeroPng(64, 64, 8, 0, 1), 60)), 1, 1);
        image(cases, "x\u001b[2J\u001b]0;owned\u0007y.png", p -> Files.writeString(p, "not an image"), 1, 1);
        image(cases, "folder.png", Files::createDirectory, 1, 0);
        image(cases, "loop.png", p -> Files.createSymbolicLink(p, p), 1, 0);
        image(cases, "gone.png", p -> Files.createSymbolicLink(p, p.resolveSibling("nothing.png")), 1, 0);
        image(cases, "fifo.png", SmallHeapHostileInputTest::mkfifo, 1, 0);
        // several of them as references: each is shrunk to the model's input before the next is read
        Path refs = Files.createDirectory(dir.resolve("refs"));
        for (int i = 0; i < 4; i++) {
            Files.createLink(refs.resolve(i + ".png"), dir.resolve("near-cap.png"));
        }
        cases.add(new Case(List.of("verify", "--model", model.toString(), "--refs", refs.toString(), face.toString()),
                0, null));
        // a person whose folder name holds an escape sequence: eval works, and no escape reaches the terminal
        Path escaped = dataFolder("escaped-person");
        Files.move(escaped.resolve("p2"), escaped.resolve("mallory\u001b[31m"));
        cases.add(new Case(List.of("eval", "--model", model.toString(), "--data", escaped.toString(), "--ways", "2",
                "--trials", "5"), 0, null));
    }

    private void image(List<Case> cases, String name, Maker maker, int exitCode, int evalExitCode) throws Exception {
        Path p = dir.resolve(name);
        maker.make(p);
        String m = model.toString();
        String names = exitCode == 0 ? null : p.toString();
        cases.add(new Case(List.of("embed", "--model", m, p.toString()), exitCode, names));
        cases.add(new Case(List.of("verify", "--model", m, face.toString(), p.toString()), exitCode, names));
        cases.add(new Case(List.of("enroll", "--model", m, "--gallery", freshGallery(), "--name", "bo", p.toString()),
                exitCode, names));
        cases.add(new Case(List.of("identify", "--model", m, "--gallery", gallery.toString(), p.toString()), exitCode,
                names));
        Path folder = dataFolder("data-" + fresh++);
        Path inside = folder.resolve("p1").resolve(name);
        maker.make(inside);
        cases.add(new Case(List.of("eval", "--model", m, "--data", folder.toString(), "--ways", "2", "--trials", "5"),
                evalExitCode, evalExitCode == 0 ? null : inside.toString()));
    }

    /** A valid PNG of zero pixels: deflate squeezes 8192x8192 grey ones (64 MiB decoded) into about 65 KB. */
    private static byte[] zeroPng(int width, int height, int bitDepth, int colourType, int samples)
            throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        out.write(pngChunk("IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) bitDepth)
                .put((byte) colourType).put((byte) 0).put((byte) 0).put((byte) 0).array()));
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        byte[] row = new byte[1 + width * samples * bitDepth / 8]; // filter byte 0 (none), then the samples
        try (DeflaterOutputStream z = new DeflaterOutputStream(idat)) {
            for (int y = 0; y < height; y++) {
                z.write(row);
            }
        }
        out.write(pngChunk("IDAT", idat.toByteArray()));
        out.write(pngChunk("IEND", new byte[0]));
        return out.toByteArray();
    }

    private static byte[] pngChunk(String type, byte[] content) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(content);
        return ByteBuffer.allocate(12 + content.length).putInt(content.length).put(t).put(content)
                .putInt((int) crc.getValue()).array();
    }

    /** A little-endian TIFF of width x height grey pixels of {@code samples} 8-bit samples, one strip. */
    private static byte[] tiff(int width, int height, int samples, int stripBytes) {
        int entries = 9;
        int bitsAt = 8 + 2 + 12 * entries + 4;
        int stripAt = bitsAt + 2 * samples;
        ByteBuffer b = ByteBuffer.allocate(stripAt + stripBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8).putShort((short) entries);
        int[][] tags = { // tag, type (3 short, 4 long), count, value or offset
            {256, 4, 1, width}, {257, 4, 1, height}, {258, 3, samples, bitsAt}, {259, 3, 1, 1}, {262, 3, 1, 1},
            {273, 4, 1, stripAt}, {277, 3, 1, samples}, {278, 4, 1, height}, {279, 4, 1, stripBytes}};
        for (int[] t : tags) {
            b.putShort((short) t[0]).putShort((short) t[1]).putInt(t[2]);
            if (t[1] == 3 && t[2] == 1) {
                b.putShort((short) t[3]).putShort((short) 0);
            } else {
                b.putInt(t[3]);
            }
        }
        b.putInt(0);
        for (int i = 0; i < samples; i++) {
            b.putShort((short) 8);
        }
        return b.array();
    }

    /** A complete 8-bit P5 of zeros, written in chunks (8192x8192 is 64 MiB). */
    private static void bigPgm(Path p, int width, int height) throws IOException {
        try (OutputStream out = Files.newOutputStream(p)) {
            out.write(("P5\n" + width + " " + height + "\n255\n").getBytes(StandardCharsets.US_ASCII));
            byte[] row = new byte[width];
            for (int y = 0; y < height; y++) {
                out.write(row);
            }
        }
    }

    /** Where there is no mkfifo the path stays absent, which the commands refuse (and eval skips) as well. */
    private static void mkfifo(Path p) throws Exception {
        new ProcessBuilder("mkfifo", p.toString()).start().waitFor(10, TimeUnit.SECONDS);
    }

    // ---- models ------------------------------------------------------------------------------------------

    private void modelCases(List<Case> cases, Path longHeader) throws Exception {
        // under 500 bytes, asking for 5.4 GB of activations per image
        Path wide = dir.resolve("wide.safetensors");
        ArchSpec wideArch = ArchSpec.parse("conv(20,1)");
        ModelFile.save(wide, wideArch.build(new int[] {1, 8000, 8000}, new Rng(1)), wideArch,
                new int[] {1, 8000, 8000}, Map.of("threshold", "0.5"));
        model(cases, wide, 1);
        // 1 KB whose one image fits the activation cap (64,009,600 bytes at 2000x2000) but not a batch of them
        Path heavy = dir.resolve("heavy.safetensors");
        ArchSpec heavyArch = ArchSpec.parse("conv(3,5,pad=2) maxpool(100) flatten");
        int[] heavyInput = {1, 2000, 2000};
        assertThat(heavyArch.activationElements(heavyInput) * Float.BYTES).isBetween(60_000_000L, 256L << 18);
        ModelFile.save(heavy, heavyArch.build(heavyInput, new Rng(1)), heavyArch, heavyInput,
                Map.of("threshold", "0.5"));
        model(cases, heavy, 0);
        model(cases, longHeader, 1);
        model(cases, withMetadata("nan.safetensors", Map.of("threshold", "NaN")), 1);
        model(cases, withMetadata("infinite.safetensors", Map.of("threshold", "Infinity")), 1);
        model(cases, withMetadata("evil-name.safetensors", Map.of("threshold", "0.5", "distance",
                "euclidean\u001b[31m")), 1);
        byte[] good = Files.readAllBytes(model);
        model(cases, write("cut.safetensors", Arrays.copyOf(good, good.length / 2)), 1);
        byte[] broken = good.clone();
        broken[9] = 0; // the first byte after the header's '{'
        model(cases, write("broken.safetensors", broken), 1);
        // headers that lie: a length past the end of the file, a length of 2^62, data past the end, a shape of
        // 38 GB over 1,536 bytes of data
        String entries = "\"1.weight\":{\"dtype\":\"F32\",\"shape\":[6,64],\"data_offsets\":[0,1536]},"
                + "\"1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[1536,1560]}";
        String meta = "\"__metadata__\":{\"arch\":\"flatten dense(6) l2norm\",\"input\":\"1x8x8\",\"threshold\":\"0.5\"}";
        model(cases, raw("long.safetensors", 99_999_999L, "{" + meta + "," + entries + "}", 1560), 1);
        model(cases, raw("huge.safetensors", 1L << 62, "{" + meta + "," + entries + "}", 1560), 1);
        model(cases, raw("past.safetensors", -1, "{" + meta + "," + entries.replace("[1536,1560]",
                "[1536,1536000000]") + "}", 1560), 1);
        model(cases, raw("input.safetensors", -1, "{" + meta.replace("1x8x8", "1x8x8000000") + "," + entries + "}",
                1560), 1);
        model(cases, raw("shape.safetensors", -1, "{" + meta + "," + entries.replace("[6,64]", "[6,1600000000]")
                + "}", 1560), 1);
        Path folder = Files.createDirectory(dir.resolve("model-folder.safetensors"));
        model(cases, folder, 1);
    }

    private void model(List<Case> cases, Path m, int exitCode) throws IOException {
        String p = m.toString();
        String names = exitCode == 0 ? null : p;
        String f = face.toString();
        cases.add(new Case(List.of("embed", "--model", p, f, f, f, f), exitCode, names));
        cases.add(new Case(List.of("verify", "--model", p, f, f), exitCode, names));
        // identify looks in the gallery enroll made (a bad model is refused before the gallery is read)
        String g = freshGallery();
        cases.add(new Case(List.of("enroll", "--model", p, "--gallery", g, "--name", "bo", f), exitCode, names));
        cases.add(new Case(List.of("identify", "--model", p, "--gallery", g, f), exitCode, names));
        cases.add(new Case(List.of("eval", "--model", p, "--data", data.toString(), "--ways", "2", "--trials", "5"),
                exitCode, names));
    }

    private Path withMetadata(String name, Map<String, String> metadata) throws IOException {
        Path p = dir.resolve(name);
        ModelFile.save(p, ARCH.build(INPUT, new Rng(3)), ARCH, INPUT, metadata);
        return p;
    }

    // ---- galleries ---------------------------------------------------------------------------------------

    private void galleryCases(List<Case> cases, Path longHeader) throws Exception {
        Map<String, String> meta = galleryMetadata();
        meta.put("people", "2147483647");
        gallery(cases, safetensors("lying-people.gallery", Map.of("person.0", Tensor.zeros(1, 6)), meta));
        meta = galleryMetadata();
        meta.put("embedding_size", "1000000000");
        gallery(cases, safetensors("lying-size.gallery", Map.of("person.0", Tensor.zeros(1, 6)), meta));
        meta = galleryMetadata();
        meta.put("name.0", "mallory\u001b]0;owned\u0007\u001b[2J");
        gallery(cases, safetensors("evil-name.gallery", Map.of("person.0", Tensor.zeros(1, 6)), meta));
        byte[] good = Files.readAllBytes(gallery);
        gallery(cases, write("cut.gallery", Arrays.copyOf(good, good.length - 10)));
        gallery(cases, Files.createDirectory(dir.resolve("folder.gallery")));
        gallery(cases, model);
        gallery(cases, longHeader);
    }

    private void gallery(List<Case> cases, Path g) {
        String f = face.toString();
        String m = model.toString();
        cases.add(new Case(List.of("enroll", "--model", m, "--gallery", g.toString(), "--name", "bo", f), 1,
                g.toString()));
        cases.add(new Case(List.of("identify", "--model", m, "--gallery", g.toString(), f), 1, g.toString()));
    }

    private Map<String, String> galleryMetadata() throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", Gallery.FORMAT);
        meta.put("format_version", "1");
        meta.put("model", Verifier.load(model).fingerprint());
        meta.put("embedding_size", "6");
        meta.put("people", "1");
        meta.put("name.0", "mallory");
        return meta;
    }

    private Path safetensors(String name, Map<String, Tensor> tensors, Map<String, String> meta) throws IOException {
        Path p = dir.resolve(name);
        SafeTensors.write(p, tensors, meta);
        return p;
    }

    // ---- files -------------------------------------------------------------------------------------------

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    /**
     * A safetensors file by hand: the 8-byte header length ({@code declaredLength}, or the header's real one when
     * negative), the header, then {@code dataBytes} zero bytes.
     */
    private Path raw(String name, long declaredLength, String header, int dataBytes) throws IOException {
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength < 0 ? json.length : declaredLength).put(json);
        return write(name, b.array());
    }

    /** A model file whose header holds a description of {@code length} bytes, written in chunks. */
    private Path bigHeader(String name, int length) throws IOException {
        String before = "{\"__metadata__\":{\"arch\":\"flatten dense(6) l2norm\",\"input\":\"1x8x8\","
                + "\"threshold\":\"0.5\",\"description\":\"";
        String after = "\"},\"1.weight\":{\"dtype\":\"F32\",\"shape\":[6,64],\"data_offsets\":[0,1536]},"
                + "\"1.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[1536,1560]}}";
        Path p = dir.resolve(name);
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(p), 1 << 16)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN)
                    .putLong(before.length() + length + after.length()).array());
            out.write(before.getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = new byte[1 << 16];
            Arrays.fill(chunk, (byte) 'a');
            for (int written = 0; written < length; written += chunk.length) {
                out.write(chunk, 0, Math.min(chunk.length, length - written));
            }
            out.write(after.getBytes(StandardCharsets.US_ASCII));
            out.write(new byte[1560]);
        }
        return p;
    }

    /** An 8x8 face whose pixels depend on {@code seed}. */
    private static void writeFace(Path p, int seed) throws IOException {
        float[] px = new float[64];
        for (int i = 0; i < px.length; i++) {
            px[i] = ((i * seed) % 7) / 6f;
        }
        Images.writePgm(GrayImage.of(8, 8, 1f, px), p);
    }

    /** A --data folder of two people, p1 and p2, with two faces each. */
    private Path dataFolder(String name) throws IOException {
        Path root = dir.resolve(name);
        for (int person = 1; person <= 2; person++) {
            Path p = Files.createDirectories(root.resolve("p" + person));
            writeFace(p.resolve("a.pgm"), person);
            writeFace(p.resolve("b.pgm"), person + 2);
        }
        return root;
    }

    private String freshGallery() {
        return dir.resolve("new-" + fresh++ + ".gallery").toString();
    }

    private static String shorten(String s) {
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    // ---- the child JVM -----------------------------------------------------------------------------------

    /** Runs the cases in one JVM of {@value #HEAP}, started as the launcher starts the CLI. */
    private List<Result> runInChildJvm(List<Case> cases) throws Exception {
        Path commands = dir.resolve("commands.txt");
        Path results = dir.resolve("results.txt");
        Path processErr = dir.resolve("process-stderr.txt");
        List<String> lines = new ArrayList<>();
        for (Case c : cases) {
            for (String a : c.args()) {
                assertThat(a).as("argument").doesNotContain("\t").doesNotContain("\n");
            }
            lines.add(String.join("\t", c.args()));
        }
        Files.write(commands, lines, StandardCharsets.UTF_8);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        if (KernelProvider.vectorModulePresent()) {
            cmd.add("--add-modules=" + KernelProvider.VECTOR_MODULE);
        }
        cmd.addAll(List.of(HEAP, "-cp", System.getProperty("java.class.path"), CliBatch.class.getName(),
                commands.toString(), results.toString()));
        Process p = new ProcessBuilder(cmd).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(dir.resolve("process-stdout.txt").toFile()).redirectError(processErr.toFile()).start();
        boolean ended = p.waitFor(10 * LIMIT_MILLIS, TimeUnit.MILLISECONDS);
        if (!ended) {
            p.destroyForcibly().waitFor();
        }
        List<String> done = Files.exists(results) ? Files.readAllLines(results) : List.of();
        String err = Files.readString(processErr);
        assertThat(done.size()).as("runs finished (the next one hung?); next: %s; process stderr: %s",
                done.size() < cases.size() ? cases.get(done.size()).label() : "-", err).isEqualTo(cases.size());
        assertThat(p.exitValue()).as("the batch JVM: %s", err).isZero();
        // the JVM's own stderr (what the CLI did not print through System.err) holds the Vector API notice only
        assertThat(err.lines().filter(l -> !l.startsWith("WARNING: Using incubator modules"))).as(err).isEmpty();
        List<Result> out = new ArrayList<>();
        Base64.Decoder base64 = Base64.getDecoder();
        for (String line : done) {
            String[] f = line.split("\t", -1);
            out.add(new Result(Integer.parseInt(f[0]), Long.parseLong(f[1]),
                    new String(base64.decode(f[2]), StandardCharsets.UTF_8),
                    new String(base64.decode(f[3]), StandardCharsets.UTF_8)));
        }
        return out;
    }
}
