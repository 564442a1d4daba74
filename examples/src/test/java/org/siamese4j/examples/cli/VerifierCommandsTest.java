package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.tensor.Rng;

/**
 * verify, enroll and identify on a tiny random model (flatten + dense + l2norm on 8x8 images) with a hand-set
 * threshold of 1e-3: identical images are at distance 0 (same person), different images are far apart. So the
 * answers are known without training.
 */
class VerifierCommandsTest extends CliRunner {
    private static final int[] INPUT = {1, 8, 8};

    @TempDir
    Path dir;

    private Path model;
    private Path alice;
    private Path bob;
    private Path carol;

    @BeforeEach
    void setUp() throws IOException {
        ArchSpec arch = ArchSpec.parse("flatten dense(6) l2norm");
        model = dir.resolve("model.safetensors");
        ModelFile.save(model, arch.build(INPUT, new Rng(3)), arch, INPUT, Map.of("threshold", "0.001"));
        alice = image("alice.pgm", (y, x) -> x / 7f);
        bob = image("bob.pgm", (y, x) -> y / 7f);
        carol = image("carol.pgm", (y, x) -> ((x + y) % 2 == 0) ? 1f : 0.1f);
    }

    private interface Pixel {
        float at(int y, int x);
    }

    private Path image(String name, Pixel p) throws IOException {
        float[] px = new float[64];
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                px[y * 8 + x] = p.at(y, x);
            }
        }
        Path file = dir.resolve(name);
        Images.writePgm(GrayImage.of(8, 8, 1f, px), file);
        return file;
    }

    @Test
    void verifySaysSameForTheSameImageAndDifferentOtherwise() {
        assertThat(run("verify", "--model", model.toString(), alice.toString(), alice.toString())).isZero();
        assertThat(stdout()).contains("distance: 0.000000").contains("threshold: 0.001000 (euclidean)")
                .contains("decision: same");
        assertThat(run("verify", "--model", model.toString(), alice.toString(), bob.toString())).isZero();
        assertThat(stdout()).contains("decision: different").doesNotContain("distance: 0.000000");
    }

    @Test
    void verifyAgainstAFolderOfReferencesByFractionAndByMean() throws IOException {
        // two copies of alice (distance 0, pass) and bob (far, fails): 2 of 3 pass, the mean is a third of bob's
        Path refs = Files.createDirectory(dir.resolve("alice-refs"));
        Files.copy(alice, refs.resolve("1.pgm"));
        Files.copy(alice, refs.resolve("2.pgm"));
        Files.copy(bob, refs.resolve("10.pgm"));
        assertThat(run("verify", "--model", model.toString(), alice.toString(), bob.toString())).isZero();
        double bobDistance = Double.parseDouble(stdout().lines().filter(l -> l.startsWith("distance: "))
                .findFirst().orElseThrow().substring("distance: ".length()));

        assertThat(run("verify", "--model", model.toString(), "--refs", refs.toString(), alice.toString()))
                .as(stderr()).isZero();
        assertThat(stdout().lines().toList()).containsExactly(
                "reference 1: " + refs.resolve("1.pgm") + " distance 0.000000 passes",
                "reference 2: " + refs.resolve("2.pgm") + " distance 0.000000 passes",
                "reference 3: " + refs.resolve("10.pgm") + " distance "
                        + String.format(java.util.Locale.ROOT, "%.6f", bobDistance) + " fails",
                "threshold: 0.001000 (euclidean)",
                "fraction: 2 of 3 references pass = 0.666667 (>= 0.5: same)",
                "mean: " + String.format(java.util.Locale.ROOT, "%.6f", bobDistance / 3) + " (> 0.001000: different)",
                "rule: fraction (at least 0.5 of the references must pass)",
                "decision: same");

        // the same scores decided by the mean distance: different
        assertThat(run("verify", "--model", model.toString(), "--refs", refs.toString(), "--rule", "mean",
                alice.toString())).isZero();
        assertThat(stdout()).contains("rule: mean (the mean distance must pass the threshold)")
                .contains("decision: different");
        // every reference must pass: different; two thirds must: same (2 of 3 meets 2 / 3.0 exactly)
        assertThat(run("verify", "--model", model.toString(), "--refs", refs.toString(), "--min-fraction", "1",
                alice.toString())).isZero();
        assertThat(stdout()).contains("(< 1.0: different)").contains("decision: different");
        assertThat(run("verify", "--model", model.toString(), "--refs", refs.toString(), "--min-fraction",
                Double.toString(2 / 3.0), alice.toString())).isZero();
        assertThat(stdout()).contains("decision: same");
        // bob against alice's references: 1 of 3 passes
        assertThat(run("verify", "--model", model.toString(), "--refs", refs.toString(), bob.toString())).isZero();
        assertThat(stdout()).contains("fraction: 1 of 3 references pass").contains("decision: different");

        // a folder without images, and a missing folder: one line naming it, exit 1
        Path empty = Files.createDirectory(dir.resolve("nobody"));
        assertThat(run("verify", "--model", model.toString(), "--refs", empty.toString(), alice.toString()))
                .isEqualTo(1);
        assertThat(stderr()).contains(empty.toString()).contains("no reference images");
        assertThat(stderr().strip().lines()).hasSize(1);
        assertThat(run("verify", "--model", model.toString(), "--refs", dir.resolve("ghost").toString(),
                alice.toString())).isEqualTo(1);
        assertThat(stderr()).contains("ghost");
    }

    @Test
    void enrollTwoPeopleThenIdentify() {
        Path gallery = dir.resolve("staff.gallery");
        assertThat(run("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name", "alice",
                alice.toString())).isZero();
        assertThat(stdout()).contains("enrolled alice from 1 image(s)").contains("(new) has 1 person");
        assertThat(gallery).exists();
        assertThat(run("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name", "bob",
                bob.toString(), bob.toString())).isZero();
        assertThat(stdout()).contains("enrolled bob from 2 image(s)").contains("has 2 people");
        // no temporary file left next to the gallery
        assertThat(dir.toFile().list()).allSatisfy(n -> assertThat(n).doesNotContain(".tmp"));

        assertThat(run("identify", "--model", model.toString(), "--gallery", gallery.toString(),
                bob.toString())).isZero();
        assertThat(stdout()).contains("identity: bob").contains("nearest: bob").contains("distance: 0.000000");
        assertThat(run("identify", "--model", model.toString(), "--gallery", gallery.toString(),
                alice.toString())).isZero();
        assertThat(stdout()).contains("identity: alice");
        assertThat(run("identify", "--model", model.toString(), "--gallery", gallery.toString(),
                carol.toString())).isZero();
        assertThat(stdout()).contains("identity: unknown").containsPattern("nearest: (alice|bob)");

        // enrolling carol afterwards: no retraining, she is recognised
        assertThat(run("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name", "carol",
                carol.toString())).isZero();
        assertThat(stdout()).contains("has 3 people");
        assertThat(run("identify", "--model", model.toString(), "--gallery", gallery.toString(),
                carol.toString())).isZero();
        assertThat(stdout()).contains("identity: carol");
    }

    @Test
    void missingFilesAreOneLineAndExitOne() {
        String missing = dir.resolve("nope.pgm").toString();
        assertThat(run("verify", "--model", model.toString(), alice.toString(), missing)).isEqualTo(1);
        assertThat(stderr()).contains("siamese4j verify: error:").contains("nope.pgm");
        assertThat(stderr().strip().lines()).hasSize(1);

        assertThat(run("verify", "--model", dir.resolve("nomodel.safetensors").toString(), alice.toString(),
                bob.toString())).isEqualTo(1);
        assertThat(stderr()).contains("nomodel.safetensors");
        assertThat(stderr().strip().lines()).hasSize(1);

        assertThat(run("identify", "--model", model.toString(), "--gallery", dir.resolve("none.gallery").toString(),
                alice.toString())).isEqualTo(1);
        assertThat(stderr()).contains("none.gallery");
    }

    @Test
    void corruptFilesAreOneLineAndExitOne() throws IOException {
        Path badImage = dir.resolve("bad.pgm");
        Files.writeString(badImage, "P5\n8 8\n255\nshort");
        assertThat(run("verify", "--model", model.toString(), alice.toString(), badImage.toString())).isEqualTo(1);
        assertThat(stderr()).contains("bad.pgm").doesNotContain("\tat ");

        Path badModel = dir.resolve("bad.safetensors");
        Files.write(badModel, new byte[] {1, 2, 3});
        assertThat(run("verify", "--model", badModel.toString(), alice.toString(), bob.toString())).isEqualTo(1);
        assertThat(stderr()).contains("bad.safetensors").doesNotContain("\tat ");

        // a model file given as the gallery
        assertThat(run("identify", "--model", model.toString(), "--gallery", model.toString(),
                alice.toString())).isEqualTo(1);
        assertThat(stderr()).contains("not a gallery");
        assertThat(stderr().strip().lines()).hasSize(1);

        // a failed enroll leaves the gallery as it was
        Path gallery = dir.resolve("g.gallery");
        assertThat(run("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name", "alice",
                alice.toString())).isZero();
        byte[] before = Files.readAllBytes(gallery);
        assertThat(run("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name", "bob",
                bob.toString(), badImage.toString())).isEqualTo(1);
        assertThat(Files.readAllBytes(gallery)).isEqualTo(before);
    }

    @Test
    void modelWithoutThresholdIsRefused() throws IOException {
        ArchSpec arch = ArchSpec.parse("flatten dense(6) l2norm");
        Path raw = dir.resolve("raw.safetensors");
        ModelFile.save(raw, arch.build(INPUT, new Rng(3)), arch, INPUT);
        assertThat(run("verify", "--model", raw.toString(), alice.toString(), bob.toString())).isEqualTo(1);
        assertThat(stderr()).contains("has no decision threshold");
    }

    @Test
    void usageErrorsExitTwo() {
        assertThat(run("verify", alice.toString(), bob.toString())).isEqualTo(2);
        assertThat(stderr()).contains("--model is required");
        assertThat(run("verify", "--model", model.toString(), alice.toString())).isEqualTo(2);
        assertThat(stderr()).contains("exactly two image files");
        assertThat(run("enroll", "--model", model.toString(), "--gallery", "g", alice.toString())).isEqualTo(2);
        assertThat(stderr()).contains("--name is required");
        assertThat(run("enroll", "--model", model.toString(), "--gallery", "g", "--name", "x")).isEqualTo(2);
        assertThat(stderr()).contains("at least one image");
        assertThat(run("identify", "--model", model.toString(), "--gallery", "g")).isEqualTo(2);
        assertThat(stderr()).contains("exactly one image");
        assertThat(run("identify", "--model", model.toString(), "--galery", "g", alice.toString())).isEqualTo(2);
        assertThat(stderr()).contains("unknown option --galery").contains("--gallery");
    }
}
