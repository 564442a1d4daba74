package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.SyntheticFaces;

/** Drives train, eval and embed end to end on tiny synthetic data, and checks the error handling. */
class CliTrainEvalTest extends CliRunner {
    @TempDir
    Path dir;

    /** A one-epoch run on 10 synthetic people, 4 images each; held out: 6 other people. */
    private int trainTiny(Path model, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--data", "synthetic:10x4", "--batch", "4x4",
                "--test-identities", "6", "--epochs", "1", "--threads", "1", "--seed", "5", "--out",
                model.toString()));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    /** Flat JSON object of numbers, nulls and strings as text values. */
    private static Map<String, String> parseFlatJson(String json) {
        assertThat(json).startsWith("{").endsWith("}");
        Map<String, String> fields = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\"([a-z0-9_]+)\":(null|-?[0-9.Ee+-]+|\"[^\"]*\")").matcher(json);
        while (m.find()) {
            fields.put(m.group(1), m.group(2));
        }
        return fields;
    }

    @Test
    void trainThenEvalJsonThenEmbed() throws IOException {
        Path model = dir.resolve("m.safetensors");
        assertThat(trainTiny(model)).as(stderr()).isZero();
        assertThat(stdout()).contains("epoch 1/1").contains("held-out 6 people").contains("saved");
        assertThat(model).exists();
        assertThat(Path.of(model + ".ckpt")).exists();
        ModelFile.LoadedModel loaded = ModelFile.load(model);
        assertThat(loaded.inputShape()).containsExactly(1, 56, 46);
        assertThat(loaded.metadata()).containsEntry("distance", "euclidean").containsKey("threshold");
        assertThat(Double.parseDouble(loaded.metadata().get("threshold"))).isFinite().isPositive();

        assertThat(run("eval", "--model", model.toString(), "--data", "synthetic:6x4", "--json", "--trials", "50"))
                .as(stderr()).isZero();
        String json = stdout().trim();
        assertThat(json.lines().count()).isEqualTo(1);
        Map<String, String> f = parseFlatJson(json);
        assertThat(f).containsKeys("auc", "eer", "accuracy", "threshold", "one_shot_accuracy", "rank1");
        for (String key : List.of("auc", "eer", "accuracy", "one_shot_accuracy", "rank1")) {
            assertThat(Double.parseDouble(f.get(key))).as(key).isBetween(0.0, 1.0);
        }
        assertThat(Double.parseDouble(f.get("threshold"))).isPositive();
        assertThat(f.get("identities")).isEqualTo("6");

        assertThat(run("eval", "--model", model.toString(), "--data", "synthetic:6x4", "--trials", "50")).isZero();
        assertThat(stdout()).contains("AUC").contains("EER").contains("rank-1").contains("5-way one-shot");

        Path a = writeFace(0);
        Path b = writeFace(1);
        assertThat(run("embed", "--model", model.toString(), a.toString(), b.toString())).as(stderr()).isZero();
        List<String> lines = stdout().lines().toList();
        assertThat(lines).hasSize(2);
        String[] values = lines.get(0).substring(lines.get(0).indexOf('\t') + 1).split(" ");
        assertThat(values).hasSize(64);
        double norm = 0;
        for (String v : values) {
            norm += Double.parseDouble(v) * Double.parseDouble(v);
        }
        assertThat(Math.sqrt(norm)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));

        assertThat(run("embed", "--model", model.toString(), "--json", a.toString())).isZero();
        assertThat(stdout().trim()).startsWith("[").endsWith("]").contains("\"image\":").contains("\"embedding\":[");
        assertThat(stdout().trim().split("\"embedding\":\\[")[1].split("]")[0].split(",")).hasSize(64);
    }

    /** A 112x92 synthetic face as a PGM file (embed resizes it to the model's 56x46). */
    private Path writeFace(int identity) throws IOException {
        float[] pixels = SyntheticFaces.renderImage(3, identity, 0, 112, 92);
        Path file = dir.resolve("face" + identity + ".pgm");
        Images.writePgm(GrayImage.of(112, 92, 1f, pixels), file);
        return file;
    }

    @Test
    void resumeFromACheckpointGivesTheSameModelAsAnUninterruptedRun() throws IOException {
        for (String loss : List.of("triplet", "contrastive", "circle")) {
            Path straight = dir.resolve(loss + "-straight.safetensors");
            Path split = dir.resolve(loss + "-split.safetensors");
            assertThat(trainTiny(straight, "--loss", loss, "--epochs", "2")).as(stderr()).isZero();
            assertThat(trainTiny(split, "--loss", loss, "--epochs", "1")).as(stderr()).isZero();
            assertThat(trainTiny(split, "--loss", loss, "--epochs", "2", "--resume", split + ".ckpt"))
                    .as(stderr()).isZero();
            assertThat(stdout()).contains("resumed from").contains("after epoch 1").contains("epoch 2/2")
                    .doesNotContain("epoch 1/2");
            ModelFile.LoadedModel a = ModelFile.load(straight);
            ModelFile.LoadedModel b = ModelFile.load(split);
            assertThat(b.metadata().get("threshold")).as(loss).isEqualTo(a.metadata().get("threshold"));
            var wa = a.model().stateDict();
            var wb = b.model().stateDict();
            assertThat(wb.keySet()).isEqualTo(wa.keySet());
            for (String name : wa.keySet()) {
                // bit for bit: the resumed run continues exactly where the uninterrupted one was
                assertThat(java.util.Arrays.equals(wb.get(name).data(), wa.get(name).data())).as(loss + " " + name)
                        .isTrue();
            }
        }
    }

    @Test
    void resumingACheckpointOfAnotherLossFailsClearly() {
        Path model = dir.resolve("c.safetensors");
        assertThat(trainTiny(model, "--loss", "circle")).as(stderr()).isZero();
        assertThat(trainTiny(dir.resolve("d.safetensors"), "--loss", "contrastive", "--epochs", "2", "--resume",
                model + ".ckpt")).isEqualTo(1);
        assertThat(stderr()).contains("'pk' run").contains("'pairs'").doesNotContain("\tat ");
    }

    @Test
    void unsupportedCombinationsListWhatWorks() {
        assertThat(run("train", "--loss", "contrastive", "--miner", "batch-hard")).isEqualTo(2);
        assertThat(stderr()).contains("--loss contrastive does not work with --miner batch-hard")
                .contains("--loss triplet --miner batch-hard|batch-all|semi-hard");
        assertThat(run("train", "--loss", "triplet", "--miner", "none")).isEqualTo(2);
        assertThat(stderr()).contains("valid combinations");
        assertThat(run("train", "--loss", "contrastive", "--miner", "offline")).isEqualTo(2);
        assertThat(stderr()).contains("--loss contrastive does not work with --miner offline");
        assertThat(run("train", "--loss", "hinge")).isEqualTo(2);
        assertThat(stderr()).contains("choose one of: contrastive, triplet, circle");
        assertThat(run("train", "--optimizer", "rmsprop")).isEqualTo(2);
        assertThat(stderr()).contains("choose one of: adam, sgd");
        assertThat(run("train", "--batch", "12")).isEqualTo(2);
        assertThat(stderr()).contains("use PxK");
        assertThat(run("train", "--data", "synthetic:1x1")).isEqualTo(2);
        assertThat(stderr()).contains("synthetic:PEOPLExIMAGES");
        assertThat(run("train", "--arch", "conv(8,3) frobnicate", "--out", dir.resolve("x").toString())).isEqualTo(2);
        assertThat(stderr()).startsWith("siamese4j train: --arch:");
        assertThat(run("train", "--input", "3x56x46")).isEqualTo(2);
        assertThat(stderr()).contains("grey images 1xHxW");
    }

    @Test
    void missingAndCorruptFilesAreOneLineWithTheTraceOnlyWhenVerbose() throws IOException {
        Path missing = dir.resolve("nope.safetensors");
        assertThat(run("eval", "--model", missing.toString())).isEqualTo(1);
        assertThat(stderr().trim().lines().count()).isEqualTo(1);
        assertThat(stderr()).contains("no such model file: " + missing).contains("--verbose");

        Path corrupt = dir.resolve("corrupt.safetensors");
        Files.write(corrupt, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        assertThat(run("embed", "--model", corrupt.toString(), "x.pgm")).isEqualTo(1);
        assertThat(stderr().trim().lines().count()).isEqualTo(1);
        assertThat(stderr()).contains(corrupt.toString());
        assertThat(run("embed", "--model", corrupt.toString(), "--verbose", "x.pgm")).isEqualTo(1);
        assertThat(stderr()).contains("\tat org.siamese4j");

        assertThat(run("train", "--data", dir.resolve("no-folder").toString())).isEqualTo(1);
        assertThat(stderr()).contains("no such folder");
        assertThat(run("train", "--resume", dir.resolve("no.ckpt").toString())).isEqualTo(1);
        assertThat(stderr()).contains("no such checkpoint");
        assertThat(run("eval")).isEqualTo(2);
        assertThat(stderr()).contains("--model MODEL is required");
        assertThat(run("embed", "--model", corrupt.toString())).isEqualTo(2);
        assertThat(stderr()).contains("at least one image");
    }

    @Test
    void demoRunsEndToEndWithTinySettings() throws IOException {
        Path demo = dir.resolve("demo");
        assertThat(run("demo", "--people", "8", "--images", "4", "--test-people", "5", "--epochs", "1",
                "--threads", "1", "--out", demo.toString())).as(stderr()).isZero();
        assertThat(stdout()).contains("untrained network").contains("summary").contains("ROC AUC")
                .contains("decision threshold");
        assertThat(demo.resolve("model.safetensors")).exists();
        for (String png : List.of("loss.png", "roc.png", "distances.png", "pairs.png", "embeddings.png")) {
            BufferedImage image = ImageIO.read(demo.resolve(png).toFile());
            assertThat(image).as(png).isNotNull();
            assertThat(image.getWidth()).as(png).isGreaterThan(100);
            // not blank: more than a couple of colours
            java.util.Set<Integer> colours = new java.util.HashSet<>();
            for (int y = 0; y < image.getHeight(); y += 3) {
                for (int x = 0; x < image.getWidth(); x += 3) {
                    colours.add(image.getRGB(x, y));
                }
            }
            assertThat(colours.size()).as(png).isGreaterThan(3);
        }
        assertThat(stdout()).contains("plots:");
    }
}
