package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;

/** {@code train --miner offline}: stages of offline triplet mining from the command line, on tiny synthetic data. */
class OfflineMiningCliTest extends CliRunner {
    @TempDir
    Path dir;

    @Test
    void trainsInStagesAndWritesAModelThatEvalReads() throws IOException {
        Path model = dir.resolve("offline.safetensors");
        // min-non-easy 0: never stop early, so exactly the 2 stages asked for run
        assertThat(run("train", "--miner", "offline", "--ensemble", "1", "--data", "synthetic:8x4", "--batch", "16",
                "--candidates", "60", "--min-non-easy", "0", "--test-identities", "5", "--epochs", "2",
                "--threads", "1", "--seed", "3", "--out", model.toString())).as(stderr()).isZero();
        String printed = stdout();
        assertThat(printed).contains("miner offline").contains("offline mining: up to 2 stages of 60 candidate");
        Matcher stage = Pattern.compile("stage (\\d): (\\d+)% non-easy, kept (\\d+)").matcher(printed);
        int stages = 0;
        while (stage.find()) {
            stages++;
            assertThat(Integer.parseInt(stage.group(1))).isEqualTo(stages);
            assertThat(Integer.parseInt(stage.group(2))).isBetween(0, 100);
            assertThat(Integer.parseInt(stage.group(3))).isBetween(0, 60);
        }
        assertThat(stages).isEqualTo(2);
        assertThat(printed).contains("epoch 2/2: ").contains("test: 5 people").contains("trained 2 epochs");
        assertThat(Path.of(model + ".ckpt")).exists();

        ModelFile.LoadedModel loaded = ModelFile.load(model);
        assertThat(loaded.metadata()).containsEntry("option_miner", "offline").containsEntry("epochs_run", "2")
                .containsKey("threshold");

        assertThat(run("eval", "--model", model.toString(), "--data", "synthetic:5x3", "--json", "--trials", "20"))
                .as(stderr()).isZero();
        String json = stdout().trim();
        assertThat(json).startsWith("{").endsWith("}").contains("\"auc\":").contains("\"rank1\":");
        Matcher auc = Pattern.compile("\"auc\":(-?[0-9.Ee+-]+)").matcher(json);
        assertThat(auc.find()).isTrue();
        assertThat(Double.parseDouble(auc.group(1))).isBetween(0.0, 1.0);
    }

    @Test
    void stopsEarlyWhenTooFewTripletsAreNonEasy() {
        Path model = dir.resolve("early.safetensors");
        // every candidate is below a 100% threshold unless all are non-easy, so one stage is enough to stop
        assertThat(run("train", "--miner", "offline", "--data", "synthetic:6x3", "--batch", "4",
                "--candidates", "20", "--min-non-easy", "1", "--margin", "0", "--test-identities", "3",
                "--epochs", "5", "--threads", "1", "--out", model.toString())).as(stderr()).isZero();
        assertThat(stdout()).contains("stage 1:").doesNotContain("stage 2:")
                .contains("offline mining stopped: few non-easy triplets left");
    }

    @Test
    void aResumedRunMinesItsNextStageAsTheUninterruptedRunDoes() throws IOException {
        List<String> common = List.of("train", "--miner", "offline", "--ensemble", "1", "--data", "synthetic:8x4", "--batch", "16",
                "--candidates", "60", "--min-non-easy", "0", "--test-identities", "5", "--threads", "1", "--seed",
                "3");
        Path straight = dir.resolve("straight.safetensors");
        Path split = dir.resolve("split.safetensors");
        assertThat(run(args(common, "--epochs", "2", "--out", straight.toString()))).as(stderr()).isZero();
        assertThat(run(args(common, "--epochs", "1", "--out", split.toString()))).as(stderr()).isZero();
        assertThat(run("train", "--epochs", "2", "--resume", split + ".ckpt", "--out", split.toString()))
                .as(stderr()).isZero();
        assertThat(stdout()).contains("resumed from").contains("stage 2: ").doesNotContain("stage 1: ");
        var a = ModelFile.load(straight).model().stateDict();
        var b = ModelFile.load(split).model().stateDict();
        for (String name : a.keySet()) {
            assertThat(Arrays.equals(b.get(name).data(), a.get(name).data())).as(name).isTrue();
        }
    }

    private static String[] args(List<String> common, String... more) {
        List<String> all = new ArrayList<>(common);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void otherLossesAreRefusedWithTheReason() {
        assertThat(run("train", "--loss", "contrastive", "--miner", "offline")).isEqualTo(2);
        assertThat(stderr()).contains("--loss contrastive does not work with --miner offline")
                .contains("--loss triplet --miner batch-hard|batch-all|semi-hard|offline");
        assertThat(run("train", "--miner", "offline", "--min-non-easy", "1.5")).isEqualTo(2);
        assertThat(stderr()).contains("--min-non-easy");
    }
}
