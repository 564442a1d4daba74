package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.siamese.diagnostics.EpochFigures;
import org.siamese4j.siamese.diagnostics.StepFigures;

/**
 * The training diagnostics of {@code train}: the per-epoch figures line, {@code --diagnostics DIR} (steps.csv,
 * epochs.csv, diagnostics.png), warnings on stderr one line each, and a non-finite step ending the run with one
 * error line that names the layer and keeps the last good checkpoint. The failing runs are built to fail: plain
 * SGD at a learning rate of 10 on towers without normalisation.
 */
class DiagnosticsCliTest extends CliRunner {
    @TempDir
    Path dir;

    @Test
    void tripletTrainingPrintsEpochFiguresAndWritesTheDiagnostics() throws IOException {
        Path diag = dir.resolve("diag");
        assertThat(run("train", "--ensemble", "1", "--data", "synthetic:10x4", "--miner", "semi-hard", "--batch", "4x4",
                "--test-identities", "6", "--epochs", "2", "--threads", "1", "--seed", "5", "--out",
                dir.resolve("m.safetensors").toString(), "--diagnostics", diag.toString())).as(stderr()).isZero();
        List<String> figures = stdout().lines().filter(l -> l.startsWith("  figures: ")).toList();
        assertThat(figures).hasSize(2);
        Pattern line = Pattern.compile("  figures: d\\+ ([0-9.]+), d- ([0-9.]+), gap (-?[0-9.]+) \\(euclidean\\), "
                + "mean norm ([0-9.]+), per-dim variance mean ([0-9.e+-]+) min ([0-9.e+-]+); triplets easy (\\d+)%, "
                + "semi-hard (\\d+)%, hard (\\d+)%");
        for (String f : figures) {
            Matcher m = line.matcher(f);
            assertThat(m.matches()).as(f).isTrue();
            double dPos = Double.parseDouble(m.group(1));
            double dNeg = Double.parseDouble(m.group(2));
            assertThat(Double.parseDouble(m.group(3))).isCloseTo(dNeg - dPos,
                    org.assertj.core.data.Offset.offset(2e-4));
            // the default tower is L2-normalised
            assertThat(Double.parseDouble(m.group(4))).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-3));
            int sum = Integer.parseInt(m.group(7)) + Integer.parseInt(m.group(8)) + Integer.parseInt(m.group(9));
            assertThat(sum).isBetween(98, 102);       // rounded percentages
        }
        assertThat(stdout()).contains("diagnostics: " + diag.resolve("steps.csv"));

        List<String> steps = Files.readAllLines(diag.resolve("steps.csv"));
        assertThat(steps.get(0)).isEqualTo(StepFigures.csvHeader(true));
        assertThat(steps.size()).isGreaterThan(2);
        int epoch2 = 0;
        for (String row : steps.subList(1, steps.size())) {
            String[] cells = row.split(",", -1);
            assertThat(cells).hasSize(StepFigures.csvHeader(true).split(",").length);
            epoch2 += cells[0].equals("2") ? 1 : 0;
            // triplets, easy, semi_hard, hard: the counts of every step add up
            int triplets = Integer.parseInt(cells[9]);
            assertThat(Integer.parseInt(cells[10]) + Integer.parseInt(cells[11]) + Integer.parseInt(cells[12]))
                    .isEqualTo(triplets);
            assertThat(Double.parseDouble(cells[6])).isBetween(0.0, 1.0);        // active fraction
            assertThat(Double.parseDouble(cells[7])).isPositive();               // gradient norm
        }
        assertThat(epoch2).isEqualTo((steps.size() - 1) / 2);
        List<String> epochs = Files.readAllLines(diag.resolve("epochs.csv"));
        assertThat(epochs.get(0)).isEqualTo(EpochFigures.CSV_HEADER);
        assertThat(epochs).hasSize(3);
        assertThat(epochs.get(1)).startsWith("1,");
        assertThat(epochs.get(2)).startsWith("2,");
        BufferedImage chart = ImageIO.read(diag.resolve("diagnostics.png").toFile());
        assertThat(chart).isNotNull();
        assertThat(chart.getWidth()).isGreaterThan(100);
    }

    @Test
    void contrastiveAndCircleRunsPrintFiguresWithoutTripletCounts() {
        for (String loss : List.of("contrastive", "circle")) {
            assertThat(run("train", "--loss", loss, "--data", "synthetic:8x4", "--batch", "4x4", "--test-identities",
                    "4", "--epochs", "1", "--threads", "1", "--out", dir.resolve(loss + ".safetensors").toString()))
                    .as(stderr()).isZero();
            String figures = stdout().lines().filter(l -> l.startsWith("  figures: ")).findFirst().orElseThrow();
            assertThat(figures).as(loss).contains("d+ ").contains("gap ").contains("per-dim variance")
                    .contains(loss.equals("circle") ? "(cosine)" : "(euclidean)").doesNotContain("triplets");
        }
    }

    @Test
    void aCollapseIsOneWarningLineOnStderrAndTheRunGoesOn() {
        // SGD at a constant lr 10 drives every ReLU of the last layer negative: all embeddings become 0
        assertThat(run("train", "--data", "synthetic:8x4", "--arch", "flatten dense(8) relu", "--optimizer", "sgd",
                "--lr", "10", "--schedule", "constant", "--miner", "batch-hard", "--augment", "no", "--batch", "4x4",
                "--test-identities", "4", "--epochs", "3", "--threads", "1", "--seed", "1", "--out", dir.resolve("c.safetensors").toString())).isZero();
        List<String> warnings = stderr().lines().toList();
        assertThat(warnings).isNotEmpty();
        assertThat(warnings).allSatisfy(w -> assertThat(w).startsWith("WARNING ["));
        assertThat(warnings).anySatisfy(w -> assertThat(w).startsWith("WARNING [collapse] epoch ")
                .contains("collapsed").contains("Try: "));
        assertThat(stdout()).contains("epoch 3/3").contains("saved");
        assertThat(dir.resolve("c.safetensors")).exists();
    }

    @Test
    void aNonFiniteStepEndsTheRunWithOneLineNamingTheLayerAndKeepsTheLastCheckpoint() throws IOException {
        Path model = dir.resolve("n.safetensors");
        Path ckpt = Path.of(model + ".ckpt");
        Path diag = dir.resolve("diag");
        // no normalisation and SGD at lr 10: the tower's second dense layer overflows after a few steps
        int code = run("train", "--loss", "bce-head", "--arch", "flatten dense(64) dense(64)", "--head", "dense(1)",
                "--data", "synthetic:8x4", "--batch", "8", "--optimizer", "sgd", "--lr", "10", "--augment", "no",
                "--test-identities", "4", "--epochs", "8", "--threads", "1", "--seed", "1", "--out", model.toString(),
                "--diagnostics", diag.toString());
        assertThat(code).isEqualTo(1);
        List<String> err = stderr().strip().lines().filter(l -> !l.startsWith("WARNING [exploding]")).toList();
        assertThat(err).hasSize(1);
        String line = err.get(0);
        Matcher m = Pattern.compile("^siamese4j train: error: training stopped by a non-finite forward pass at "
                + "epoch (\\d+) step (\\d+) in layer tower\\.2: .*the last good checkpoint " + Pattern.quote(
                ckpt.toString()) + " \\(after epoch (\\d+)\\) is kept: fix the cause and continue with --resume "
                + Pattern.quote(ckpt.toString()) + "; the model file was not written \\(--verbose for the stack "
                + "trace\\)$").matcher(line);
        assertThat(m.matches()).as(line).isTrue();
        int failedEpoch = Integer.parseInt(m.group(1));
        int keptEpoch = Integer.parseInt(m.group(3));
        assertThat(keptEpoch).isEqualTo(failedEpoch - 1);
        assertThat(line).contains("Try: ");
        assertThat(model).doesNotExist();
        // the checkpoint is the one of the last completed epoch, and it loads
        assertThat(Checkpoint.load(ckpt).epoch()).isEqualTo(keptEpoch);
        // the diagnostics up to the failure are written
        List<String> steps = Files.readAllLines(diag.resolve("steps.csv"));
        assertThat(steps.size()).isGreaterThan(1);
        int failedStep = Integer.parseInt(m.group(2));
        // the last row is the last applied step: the one before the failure
        assertThat(steps.get(steps.size() - 1)).startsWith((failedStep > 1 ? failedEpoch : keptEpoch) + ",")
                .doesNotContain("NaN").doesNotContain("Infinity");
        assertThat(diag.resolve("epochs.csv")).exists();
        assertThat(diag.resolve("diagnostics.png")).exists();
    }

    @Test
    void aNonFiniteLossInTheFirstEpochSaysThereIsNoCheckpoint() {
        // the distances overflow within the first epoch (10 steps of 8 pairs): no layer to name, no checkpoint yet
        Path model = dir.resolve("l.safetensors");
        int code = run("train", "--loss", "contrastive", "--arch", "flatten dense(8) dense(8)", "--margin", "100",
                "--data", "synthetic:40x4", "--batch", "8", "--optimizer", "sgd", "--lr", "10", "--augment", "no",
                "--test-identities", "4", "--epochs", "3", "--threads", "1", "--seed", "1", "--out", model.toString());
        assertThat(code).isEqualTo(1);
        String line = stderr().strip();
        assertThat(line.lines().count()).isEqualTo(1);
        assertThat(line).startsWith("siamese4j train: error: training stopped by a non-finite loss at epoch 1 step ")
                .doesNotContain(" in layer ")
                .contains("no epoch had completed, so there is no checkpoint yet")
                .contains("the model file was not written");
        assertThat(Path.of(model + ".ckpt")).doesNotExist();
        assertThat(model).doesNotExist();
    }
}
