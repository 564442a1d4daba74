package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.FileLocks;
import org.siamese4j.io.ModelFile;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;

/**
 * enroll in real, concurrent processes: file locks belong to processes, so only separate JVMs show whether a
 * gallery's load, enrol and save are one step. The model is a tiny random one (flatten + dense on 8x8 images) with
 * a hand-set threshold: enroll needs a calibrated model, not a good one.
 */
class ConcurrentEnrollTest {
    private static final int[] INPUT = {1, 8, 8};
    private static final int PROCESSES = 20;

    @TempDir
    static Path dir;

    private static Path model;
    private static Path image;

    @BeforeAll
    static void tinyModelAndImage() throws IOException {
        ArchSpec arch = ArchSpec.parse("flatten dense(6) l2norm");
        model = dir.resolve("model.safetensors");
        ModelFile.save(model, arch.build(INPUT, new Rng(3)), arch, INPUT, Map.of("threshold", "0.001"));
        float[] px = new float[64];
        for (int i = 0; i < px.length; i++) {
            px[i] = (i % 9) / 8f;
        }
        image = dir.resolve("face.pgm");
        Images.writePgm(GrayImage.of(8, 8, 1f, px), image);
    }

    @Test
    void twentyConcurrentEnrollProcessesAllLandInTheGallery() throws Exception {
        Path gallery = dir.resolve("all.gallery");
        List<Process> processes = new ArrayList<>();
        for (int i = 0; i < PROCESSES; i++) {
            processes.add(start(dir.resolve("enroll-" + i + ".txt"), "enroll", "--model", model.toString(),
                    "--gallery", gallery.toString(), "--name", "p" + i, image.toString()));
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < PROCESSES; i++) {
            String output = finish(processes.get(i), dir.resolve("enroll-" + i + ".txt"));
            assertThat(processes.get(i).exitValue()).as("process %d: %s", i, output).isZero();
            assertThat(output).as("process %d", i).contains("enrolled p" + i + " from 1 image(s)");
            expected.add("p" + i);
        }
        Gallery g = Gallery.load(gallery, Verifier.load(model));
        assertThat(g.names()).as("every enrolment is kept").containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void anEnrollThatCannotGetTheLockSaysWhoHoldsItAndChangesNothing() throws Exception {
        Path gallery = dir.resolve("held.gallery");
        Path log = dir.resolve("held.txt");
        // this JVM holds the gallery's lock, as another enroll would, for longer than the child waits
        String output = FileLocks.withLock(gallery, Duration.ZERO, () -> {
            try {
                Process p = start(log, "enroll", "--model", model.toString(), "--gallery", gallery.toString(),
                        "--name", "late", "--wait", "1", image.toString());
                String text = finish(p, log);
                assertThat(p.exitValue()).as(text).isEqualTo(1);
                return text;
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        });
        assertThat(output).contains("siamese4j enroll: error: " + gallery + " is being written by another process, "
                + "which holds its lock " + dir.toRealPath().resolve(".held.gallery.lock")
                + "; gave up after waiting 1 s");
        assertThat(Files.exists(gallery)).isFalse();
    }

    @Test
    void enrollMakesANewGalleryOwnerOnlyAndKeepsAnExistingOnesPermissions() throws Exception {
        assumeTrue(Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class),
                "the file system of the temp folder has no POSIX permissions");
        Path gallery = dir.resolve("private.gallery");
        Path log = dir.resolve("private.txt");
        for (String name : List.of("ann", "ben")) {
            Process p = start(log, "enroll", "--model", model.toString(), "--gallery", gallery.toString(),
                    "--name", name, image.toString());
            String output = finish(p, log);
            assertThat(p.exitValue()).as(output).isZero();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(gallery))).as("after %s", name)
                    .isEqualTo("rw-------");
        }
        Files.setPosixFilePermissions(gallery, PosixFilePermissions.fromString("rw-r-----"));
        Process p = start(log, "enroll", "--model", model.toString(), "--gallery", gallery.toString(),
                "--name", "cat", image.toString());
        String output = finish(p, log);
        assertThat(p.exitValue()).as(output).isZero();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(gallery))).isEqualTo("rw-r-----");
    }

    /** The CLI in a JVM of its own, on this test's class path; stdout and stderr go to {@code log}. */
    private static Process start(Path log, String... args) throws IOException {
        // start-up is most of each process's time: no optimising compiler, a small heap
        return ChildJvm.start(log, List.of("-XX:TieredStopAtLevel=1", "-Xmx64m"), args);
    }

    private static String finish(Process p, Path log) throws InterruptedException, IOException {
        return ChildJvm.finish(p, log, Duration.ofSeconds(120));
    }
}
