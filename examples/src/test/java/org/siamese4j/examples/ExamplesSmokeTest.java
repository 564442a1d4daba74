package org.siamese4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.siamese.data.FaceFolders;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;

/** The examples run end to end on tiny settings (a few seconds in all). */
class ExamplesSmokeTest {
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);

    private String printed() {
        return buffer.toString(StandardCharsets.UTF_8);
    }

    @Test
    void studentWalkthroughLearnsAndItsGradientChecksPass() {
        StudentWalkthrough.Outcome o = StudentWalkthrough.run(StudentWalkthrough.Settings.defaults(), out);
        assertThat(o.lastLoss()).isLessThan(o.firstLoss());
        assertThat(o.embeddingCheck().passed()).isTrue();
        assertThat(o.embeddingCheck().elementsChecked()).isEqualTo(8);
        // a check where every gradient is zero proves nothing: this one must see a real gradient
        assertThat(Math.abs(o.embeddingCheck().analytic())).isGreaterThan(1e-3);
        assertThat(o.weightCheck().passed()).isTrue();
        assertThat(printed()).contains("push term max(m - D, 0)^2").contains("d(a, p) =")
                .contains("0.weight   [6, 4]  |grad| =").contains("after one SGD step");
    }

    @Test
    void verifierAppEnrolsIdentifiesAndReloads(@TempDir Path dir) throws IOException {
        VerifierAppExample.Outcome o = VerifierAppExample.run(
                new VerifierAppExample.Settings(null, 1, 12, 0.1, 5), dir, out);
        assertThat(o.probes()).isEqualTo(30);
        assertThat(o.correct() + o.wrong() + o.unknownEmployees()).isEqualTo(30);
        assertThat(o.strangersRejected()).isBetween(0, VerifierAppExample.STRANGERS);
        assertThat(o.newHireBefore()).doesNotContain("new-hire");
        assertThat(o.sameAfterReload()).isTrue();
        assertThat(dir.resolve("faces.safetensors")).exists();
        assertThat(dir.resolve("staff.gallery")).exists();
        assertThat(printed()).contains("calibrated: threshold").contains("enrolled 10 employees")
                .contains("11 people");
    }

    @Test
    void verifierAppLoadsAModelFile(@TempDir Path dir) throws IOException {
        VerifierAppExample.run(new VerifierAppExample.Settings(null, 1, 8, 0.1, 5), dir, out);
        Path model = dir.resolve("trained.safetensors");
        Files.move(dir.resolve("faces.safetensors"), model);
        buffer.reset();
        VerifierAppExample.Outcome o = VerifierAppExample.run(
                new VerifierAppExample.Settings(model, 1, 8, 0.1, 5), dir, out);
        assertThat(printed()).startsWith("loaded Verifier[").doesNotContain("training epoch");
        assertThat(o.sameAfterReload()).isTrue();
    }

    @Test
    void contrastiveExampleRunsOnSyntheticFaces() {
        ImageDataset faces = SyntheticFaces.generateRange(0, 12, 4, 11, 56, 46);
        ContrastiveAttExample.Outcome o = ContrastiveAttExample.run(faces,
                new ContrastiveAttExample.Settings(2, 3, 8, 1f, 2e-3f, 4, 7), out);
        assertThat(o.epochLoss()).hasSize(2);
        for (float l : o.epochLoss()) {
            assertThat(l).isFinite().isNotNegative();
        }
        assertThat(o.heldOut().auc()).isBetween(0.0, 1.0);
        assertThat(printed()).contains("8 people train").contains("4 other people test").contains("DIFFERENT_IS_ONE")
                .contains("epoch  2: contrastive loss").contains("held-out people: AUC");
    }

    @Test
    void contrastiveExampleReadsTheAttFaces() throws IOException {
        Path att = attFaces();
        assumeTrue(att != null, "AT&T faces not found (../shared/data/att_faces); skipped");
        ImageDataset faces = FaceFolders.load(att, FaceFolders.Options.resizeTo(56, 46));
        ContrastiveAttExample.Outcome o = ContrastiveAttExample.run(faces,
                new ContrastiveAttExample.Settings(1, 2, 8, 1f, 2e-3f, 10, 7), out);
        assertThat(printed()).contains("30 people train (300 images), 10 other people test (100 images)");
        assertThat(o.heldOut().auc()).isBetween(0.0, 1.0);
    }

    @Test
    void offlineMiningExampleTrainsInStages() {
        ImageDataset train = SyntheticFaces.generateRange(0, 8, 4, 5, 56, 46);
        ImageDataset test = SyntheticFaces.generateRange(1000, 4, 3, 5, 56, 46);
        // min-non-easy 0: both stages run whatever the model learns
        OfflineMiningExample.Outcome o = OfflineMiningExample.run(train, test,
                new OfflineMiningExample.Settings(2, 80, 1, 16, 0.3f, 2e-3f, 0.0, 8, 4, 4, 5), out);
        assertThat(o.stages()).hasSize(2);
        assertThat(o.stageLoss()).hasSize(2);
        for (int i = 0; i < 2; i++) {
            assertThat(o.stages().get(i).stage()).isEqualTo(i + 1);
            assertThat(o.stages().get(i).candidates()).isEqualTo(80);
            assertThat(o.stages().get(i).kept()).isEqualTo(o.stages().get(i).stats().nonEasy());
            assertThat(o.stageLoss()[i]).isFinite().isNotNegative();
        }
        assertThat(o.heldOut().auc()).isBetween(0.0, 1.0);
        assertThat(printed()).contains("Xavier-initialised").contains("stage 1: ").contains("stage 2: ")
                .contains("% non-easy, kept ").contains("stopped: stage limit reached").contains("held-out people: AUC");
    }

    @Test
    void offlineMiningExampleXavierInitialisesConvAndDenseWeights() {
        org.siamese4j.nn.Sequential tower = org.siamese4j.siamese.Towers.small(new org.siamese4j.tensor.Rng(1));
        OfflineMiningExample.xavierInit(tower, new org.siamese4j.tensor.Rng(2));
        // first conv: 1 -> 16 channels, 3x3: fanIn 9, fanOut 144, bound sqrt(6 / 153)
        float[] w = tower.namedParameters().get("0.weight").data();
        double bound = Math.sqrt(6.0 / (9 + 144));
        double max = 0;
        for (float v : w) {
            max = Math.max(max, Math.abs(v));
        }
        assertThat(max).isLessThanOrEqualTo(bound).isGreaterThan(0.8 * bound);
        for (float v : tower.namedParameters().get("0.bias").data()) {
            assertThat(v).isZero();
        }
    }

    /** shared/data/att_faces next to the repository, found by walking up from the working directory. */
    private static Path attFaces() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared").resolve("data").resolve("att_faces");
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return null;
    }
}
