package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The CLI on odd and hostile input: metadata every command reads the same way, escape sequences that never reach
 * the terminal, paths that are not files, and advice when memory runs out. A tiny random model on 8x8 images.
 */
class HostileInputCliTest extends CliRunner {
    private static final int[] INPUT = {1, 8, 8};
    private static final ArchSpec ARCH = ArchSpec.parse("flatten dense(6) l2norm");

    @TempDir
    Path dir;

    private Path image;

    @BeforeEach
    void anImage() throws IOException {
        float[] px = new float[64];
        for (int i = 0; i < px.length; i++) {
            px[i] = (i % 7) / 6f;
        }
        image = dir.resolve("face.pgm");
        Images.writePgm(GrayImage.of(8, 8, 1f, px), image);
    }

    private Path model(String name, Map<String, String> meta) throws IOException {
        Path file = dir.resolve(name);
        ModelFile.save(file, ARCH.build(INPUT, new Rng(3)), ARCH, INPUT, meta);
        return file;
    }

    @Test
    void evalReadsTheDistanceAsVerifyDoes() throws IOException {
        Path m = model("sq.safetensors", Map.of("threshold", "0.5", "distance", "squared_euclidean"));
        assertThat(run("verify", "--model", m.toString(), image.toString(), image.toString())).as(stderr()).isZero();
        assertThat(stdout()).contains("(squared_euclidean)");
        assertThat(run("eval", "--model", m.toString(), "--data", "synthetic:4x3", "--ways", "2", "--trials", "5"))
                .as(stderr()).isZero();
        assertThat(stdout()).contains("scored by the squared_euclidean distance");
        // an unknown name is refused by both, in the same words
        Path bad = model("bad.safetensors", Map.of("threshold", "0.5", "distance", "manhattan"));
        assertThat(run("verify", "--model", bad.toString(), image.toString(), image.toString())).isEqualTo(1);
        String verifyError = stderr();
        assertThat(run("eval", "--model", bad.toString(), "--data", "synthetic:4x3")).isEqualTo(1);
        assertThat(stderr()).contains("unknown distance 'manhattan'; expected euclidean, squared_euclidean or cosine")
                .isEqualTo(verifyError.replace("siamese4j verify", "siamese4j eval"));
    }

    @Test
    void everyCommandRefusesAThresholdThatIsNotANumber() throws IOException {
        for (String t : new String[] {"NaN", "Infinity"}) {
            Path m = model("t-" + t + ".safetensors", Map.of("threshold", t));
            String[][] commands = {
                {"verify", "--model", m.toString(), image.toString(), image.toString()},
                {"embed", "--model", m.toString(), image.toString()},
                {"eval", "--model", m.toString(), "--data", "synthetic:4x3", "--ways", "2", "--trials", "5"},
            };
            for (String[] c : commands) {
                assertThat(run(c)).as("%s with threshold %s: %s", c[0], t, stdout()).isEqualTo(1);
                assertThat(stderr()).as(c[0]).contains(m.toString())
                        .contains(t.equals("NaN") ? "'threshold' is NaN" : "which would accept every pair");
            }
        }
    }

    @Test
    void namesAndMetadataFromAFileReachTheTerminalEscaped() throws IOException {
        Path m = model("m.safetensors", Map.of("threshold", "0.5"));
        Verifier v = Verifier.load(m);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", Gallery.FORMAT);
        meta.put("format_version", "1");
        meta.put("model", v.fingerprint());
        meta.put("embedding_size", "6");
        meta.put("people", "1");
        meta.put("name.0", "mallory\u001b]0;owned\u0007\u001b[2J");
        Path gallery = dir.resolve("evil.gallery");
        SafeTensors.write(gallery, Map.of("person.0", Tensor.zeros(1, 6)), meta);
        assertThat(run("identify", "--model", m.toString(), "--gallery", gallery.toString(), image.toString()))
                .isEqualTo(1);
        assertThat(stderr()).doesNotContain("\u001b").doesNotContain("\u0007").contains("mallory\\u001b]0;owned")
                .contains("control character");

        meta.put("format", "evil\u001b[31m");
        SafeTensors.write(gallery, Map.of("person.0", Tensor.zeros(1, 6)), meta);
        assertThat(run("identify", "--model", m.toString(), "--gallery", gallery.toString(), image.toString()))
                .isEqualTo(1);
        assertThat(stderr()).doesNotContain("\u001b").contains("'evil\\u001b[31m'");

        // a file name with an escape sequence, named in an error
        Path named = dir.resolve("x\u001b[2Jy.pgm");
        assertThat(run("embed", "--model", m.toString(), named.toString())).isEqualTo(1);
        assertThat(stderr()).doesNotContain("\u001b").contains("x\\u001b[2Jy.pgm");
    }

    @Test
    void embedChecksTheModelsInputBeforeAllocatingTheBatch() throws IOException {
        // Issue 16: embed reserved images x H x W floats before resizing met the cap. 1x10000x10000 is 100 M
        // pixels, above Images.MAX_PIXELS, while its activations (maxpool first) stay under the load-time cap.
        int[] input = {1, 10_000, 10_000};
        ArchSpec arch = ArchSpec.parse("maxpool(100) flatten dense(2)");
        assertThat(arch.activationElements(input) * Float.BYTES).isLessThan(ModelFile.maxActivationBytes());
        Path m = dir.resolve("wide-input.safetensors");
        ModelFile.save(m, arch.build(input, new Rng(3)), arch, input, Map.of("threshold", "0.5"));
        assertThat(run("embed", "--model", m.toString(), image.toString(), image.toString())).isEqualTo(1);
        assertThat(stderr()).contains("error: the model's input 1x10000x10000 is 100000000 pixels, above the cap of "
                + Images.MAX_PIXELS + " an image can be resized to (Images.MAX_PIXELS)");
    }

    @Test
    void anImageThatIsNotAFileSaysWhatItIs() throws Exception {
        Path m = model("m.safetensors", Map.of("threshold", "0.5"));
        Path folder = Files.createDirectory(dir.resolve("folder.png"));
        Path loop = dir.resolve("loop.png");
        Files.createSymbolicLink(loop, loop);
        Path dangling = Files.createSymbolicLink(dir.resolve("gone.png"), dir.resolve("nothing.png"));
        Map<Path, String> expected = new LinkedHashMap<>();
        expected.put(folder, "is a folder, not an image file: " + folder);
        expected.put(loop, "is a symbolic link that loops (or is too deep), not an image file: " + loop);
        expected.put(dangling, "is a symbolic link to a missing file: " + dangling);
        expected.put(dir.resolve("absent.png"), "no such image file: " + dir.resolve("absent.png"));
        Path fifo = dir.resolve("fifo.png");
        if (mkfifo(fifo)) {
            expected.put(fifo, "is not a regular file (a FIFO, device or socket), not an image file: " + fifo);
        }
        for (Map.Entry<Path, String> e : expected.entrySet()) {
            String p = e.getKey().toString();
            assertThat(run("embed", "--model", m.toString(), p)).isEqualTo(1);
            assertThat(stderr()).as("embed").contains("error: " + e.getValue());
            assertThat(run("verify", "--model", m.toString(), image.toString(), p)).isEqualTo(1);
            assertThat(stderr()).as("verify").contains("error: " + e.getValue());
            assertThat(run("enroll", "--model", m.toString(), "--gallery", dir.resolve("g").toString(), "--name",
                    "ann", p)).isEqualTo(1);
            assertThat(stderr()).as("enroll").contains("error: " + e.getValue());
        }
    }

    @Test
    void aGalleryOrModelThatIsAFolderIsNamed() throws IOException {
        Path m = model("m.safetensors", Map.of("threshold", "0.5"));
        Path folder = Files.createDirectory(dir.resolve("gallery"));
        assertThat(run("identify", "--model", m.toString(), "--gallery", folder.toString(), image.toString()))
                .isEqualTo(1);
        assertThat(stderr()).contains("error: is a folder, not a file: " + folder);
        assertThat(run("enroll", "--model", m.toString(), "--gallery", folder.toString(), "--name", "ann",
                image.toString())).isEqualTo(1);
        assertThat(stderr()).contains("error: is a folder, not a file: " + folder);
        assertThat(run("verify", "--model", folder.toString(), image.toString(), image.toString())).isEqualTo(1);
        assertThat(stderr()).contains("error: is a folder, not a model file: " + folder);
    }

    @Test
    void runningOutOfMemoryGivesAdvice() {
        String line = Siamese4j.describe(new OutOfMemoryError("Java heap space"));
        assertThat(line).startsWith("out of memory (Java heap space; the limit is ")
                .contains("SIAMESE4J_JAVA_OPTS=-Xmx8g ./siamese4j").doesNotContain("\n");
        // as a ForkJoinPool rethrows a worker's: a new error without a message, caused by the worker's
        Throwable rethrown = new OutOfMemoryError().initCause(new OutOfMemoryError("Java heap space"));
        assertThat(Siamese4j.describe(rethrown)).startsWith("out of memory (Java heap space; the limit is ");
    }

    private static boolean mkfifo(Path p) throws InterruptedException {
        try {
            Process proc = new ProcessBuilder("mkfifo", p.toString()).start();
            return proc.waitFor(10, TimeUnit.SECONDS) && proc.exitValue() == 0 && Files.exists(p);
        } catch (IOException e) {
            return false;
        }
    }
}
