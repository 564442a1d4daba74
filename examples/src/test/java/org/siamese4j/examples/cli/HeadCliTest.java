package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.verify.Verifier;

/**
 * {@code train --loss bce-head} (a tower and a learned similarity head) on tiny synthetic data, and every command
 * that reads a model file working with the head model: eval on P(same), embed (the tower's embeddings), verify,
 * {@code verify --refs} with both rules, enroll and identify.
 */
class HeadCliTest extends CliRunner {
    @TempDir
    Path dir;

    /** One epoch of 10 synthetic people, 4 images each, 8 pairs per step; held out: 6 other people. */
    private int trainHead(Path model, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--loss", "bce-head", "--data", "synthetic:10x4",
                "--batch", "8", "--test-identities", "6", "--epochs", "1", "--threads", "1", "--seed", "5",
                "--out", model.toString()));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    private static Map<String, String> parseFlatJson(String json) {
        assertThat(json).startsWith("{").endsWith("}");
        Map<String, String> fields = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\"([a-z0-9_]+)\":(null|-?[0-9.Ee+-]+|\"[^\"]*\")").matcher(json);
        while (m.find()) {
            fields.put(m.group(1), m.group(2));
        }
        return fields;
    }

    /** A 112x92 synthetic face of a held-out person as a PGM file (the commands resize it to 56x46). */
    private Path face(String name, int identity, int image) throws IOException {
        float[] pixels = SyntheticFaces.renderImage(CliData.SYNTHETIC_SEED, CliData.HELD_OUT_FIRST + identity, image,
                112, 92);
        Path file = dir.resolve(name);
        Images.writePgm(GrayImage.of(112, 92, 1f, pixels), file);
        return file;
    }

    @Test
    void trainAHeadModelThenEvalEmbedVerifyEnrollAndIdentify() throws IOException {
        Path model = dir.resolve("head.safetensors");
        assertThat(trainHead(model)).as(stderr()).isZero();
        assertThat(stdout()).contains("similarity head " + TrainCommand.DEFAULT_HEAD + " on |e1 - e2|")
                .contains("loss bce-head").contains("batch 8 pairs").contains("epoch 1/1: ")
                .contains("figures: d+").contains("test: 6 people").contains("at P(same)")
                .contains("on P(same) of the similarity head");
        assertThat(Path.of(model + ".ckpt")).exists();

        ModelFile.LoadedModel loaded = ModelFile.load(model);
        assertThat(loaded.head()).isPresent();
        assertThat(loaded.head().orElseThrow().arch().toString()).isEqualTo(TrainCommand.DEFAULT_HEAD);
        assertThat(loaded.metadata()).containsEntry("option_loss", "bce-head").containsKey("threshold")
                .doesNotContainKeys("distance", "option_margin");
        double threshold = Double.parseDouble(loaded.metadata().get("threshold"));
        assertThat(threshold).isBetween(0.0, 1.0);
        // the file is a pair model and a head verifier
        HeadSiameseNetwork.load(model);
        assertThat(Verifier.load(model).hasHead()).isTrue();

        // eval scores pairs with the head
        assertThat(run("eval", "--model", model.toString(), "--data", "synthetic:6x4", "--json", "--trials", "50"))
                .as(stderr()).isZero();
        Map<String, String> f = parseFlatJson(stdout().trim());
        assertThat(f).containsEntry("score", "\"head\"").containsEntry("direction", "\"higher_is_same\"");
        for (String key : List.of("auc", "eer", "accuracy", "one_shot_accuracy", "rank1", "threshold")) {
            assertThat(Double.parseDouble(f.get(key))).as(key).isBetween(0.0, 1.0);
        }
        assertThat(Double.parseDouble(f.get("model_threshold"))).isEqualTo(threshold);
        assertThat(Double.parseDouble(f.get("model_threshold_accuracy"))).isBetween(0.0, 1.0);
        assertThat(run("eval", "--model", model.toString(), "--data", "synthetic:6x4", "--trials", "50")).isZero();
        assertThat(stdout()).contains("scored by its similarity head").contains("at P(same)")
                .contains("the model's stored threshold");

        // embed gives the tower's (unit-length) embeddings
        Path a1 = face("a1.pgm", 0, 0);
        Path a2 = face("a2.pgm", 0, 1);
        Path b1 = face("b1.pgm", 1, 0);
        assertThat(run("embed", "--model", model.toString(), a1.toString())).as(stderr()).isZero();
        String[] values = stdout().trim().split("\t")[1].split(" ");
        assertThat(values).hasSize(64);
        double norm = 0;
        for (String v : values) {
            norm += Double.parseDouble(v) * Double.parseDouble(v);
        }
        assertThat(Math.sqrt(norm)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));

        // verify prints the head's score, and decides by score >= threshold
        assertThat(run("verify", "--model", model.toString(), a1.toString(), a2.toString())).as(stderr()).isZero();
        double score = Double.parseDouble(line("score"));
        assertThat(score).isBetween(0.0, 1.0);
        assertThat(stdout()).contains("(P(same) of the similarity head; same when score >= threshold)")
                .doesNotContain("distance:");
        assertThat(line("decision")).isEqualTo(score >= Double.parseDouble(line("threshold").split(" ")[0])
                ? "same" : "different");
        // the printed score is the head verifier's P(same) for the pair
        assertThat(score).isCloseTo(Verifier.load(model).verify(a1, a2).score(),
                org.assertj.core.data.Offset.offset(5e-7));

        // enroll and identify by the highest P(same)
        Path gallery = dir.resolve("g.gallery");
        assertThat(run("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name", "ann",
                a1.toString())).as(stderr()).isZero();
        assertThat(run("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name", "ben",
                b1.toString())).as(stderr()).isZero();
        assertThat(run("identify", "--model", model.toString(), "--gallery", gallery.toString(), a1.toString()))
                .as(stderr()).isZero();
        assertThat(stdout()).contains("nearest: ann").contains("score: ")
                .contains("(P(same) of the similarity head; same when score >= threshold)");
    }

    /** The value of the {@code key: value} line of the last command's output. */
    private String line(String key) {
        for (String l : stdout().lines().toList()) {
            if (l.startsWith(key + ": ")) {
                return l.substring(key.length() + 2).trim();
            }
        }
        throw new AssertionError("no '" + key + ":' line in " + stdout());
    }

    @Test
    void verifyAgainstAFolderOfReferencesWithBothRules() throws IOException {
        Path model = dir.resolve("head.safetensors");
        assertThat(trainHead(model)).as(stderr()).isZero();
        Path refs = Files.createDirectory(dir.resolve("refs"));
        face("1.pgm", 0, 0);
        Files.copy(dir.resolve("1.pgm"), refs.resolve("1.pgm"));
        Files.copy(face("2.pgm", 0, 2), refs.resolve("2.pgm"));
        Files.copy(face("3.pgm", 3, 0), refs.resolve("3.pgm"));
        Files.writeString(refs.resolve("notes.txt"), "not an image");
        Path probe = face("probe.pgm", 0, 0);   // the same image as refs/1.pgm

        assertThat(run("verify", "--model", model.toString(), "--refs", refs.toString(), probe.toString()))
                .as(stderr()).isZero();
        List<String> lines = stdout().lines().toList();
        assertThat(lines.get(0)).startsWith("reference 1: " + refs.resolve("1.pgm") + " score ");
        assertThat(lines.get(1)).startsWith("reference 2: " + refs.resolve("2.pgm"));
        assertThat(lines.get(2)).startsWith("reference 3: " + refs.resolve("3.pgm"));
        double[] scores = new double[3];
        boolean[] passes = new boolean[3];
        for (int i = 0; i < 3; i++) {
            String[] parts = lines.get(i).split(" ");
            scores[i] = Double.parseDouble(parts[parts.length - 2]);
            passes[i] = parts[parts.length - 1].equals("passes");
            assertThat(parts[parts.length - 1]).isIn("passes", "fails");
        }
        double threshold = Double.parseDouble(line("threshold").split(" ")[0]);
        int passing = 0;
        for (int i = 0; i < 3; i++) {
            assertThat(passes[i]).isEqualTo(scores[i] >= threshold);
            passing += passes[i] ? 1 : 0;
        }
        double mean = Arrays.stream(scores).average().orElseThrow();
        assertThat(line("fraction")).startsWith(passing + " of 3 references pass");
        assertThat(line("rule")).startsWith("fraction (at least 0.5");
        assertThat(line("decision")).isEqualTo(passing / 3.0 >= 0.5 ? "same" : "different");
        assertThat(Double.parseDouble(line("mean").split(" ")[0])).isCloseTo(mean,
                org.assertj.core.data.Offset.offset(1e-6));

        // every reference must pass: the decision follows the count
        assertThat(run("verify", "--model", model.toString(), "--refs", refs.toString(), "--min-fraction", "1",
                probe.toString())).isZero();
        assertThat(line("decision")).isEqualTo(passing == 3 ? "same" : "different");

        // the mean rule decides by the mean score, at or above the threshold
        assertThat(run("verify", "--model", model.toString(), "--refs", refs.toString(), "--rule", "mean",
                probe.toString())).isZero();
        assertThat(line("rule")).startsWith("mean");
        assertThat(line("decision")).isEqualTo(Double.parseDouble(line("mean").split(" ")[0]) >= threshold
                ? "same" : "different");
    }

    @Test
    void resumingAHeadRunGivesTheSameTowerAndHeadAsAnUninterruptedRun() throws IOException {
        Path straight = dir.resolve("straight.safetensors");
        Path split = dir.resolve("split.safetensors");
        assertThat(trainHead(straight, "--epochs", "2", "--schedule", "constant")).as(stderr()).isZero();
        assertThat(trainHead(split, "--schedule", "constant")).as(stderr()).isZero();
        assertThat(trainHead(split, "--epochs", "2", "--schedule", "constant", "--resume", split + ".ckpt"))
                .as(stderr()).isZero();
        assertThat(stdout()).contains("resumed from").contains("after epoch 1").contains("epoch 2/2")
                .doesNotContain("epoch 1/2");
        ModelFile.LoadedModel a = ModelFile.load(straight);
        ModelFile.LoadedModel b = ModelFile.load(split);
        assertThat(b.metadata().get("threshold")).isEqualTo(a.metadata().get("threshold"));
        assertSameWeights(a.model().stateDict(), b.model().stateDict(), "tower");
        assertSameWeights(a.head().orElseThrow().model().stateDict(), b.head().orElseThrow().model().stateDict(),
                "head");

        // a checkpoint of another kind of run is refused, naming the option that differs
        Path triplet = dir.resolve("triplet.safetensors");
        assertThat(run("train", "--data", "synthetic:10x4", "--batch", "4x4", "--test-identities", "6", "--epochs",
                "1", "--threads", "1", "--ensemble", "1", "--out", triplet.toString())).as(stderr()).isZero();
        assertThat(trainHead(dir.resolve("x.safetensors"), "--epochs", "2", "--resume", triplet + ".ckpt"))
                .isEqualTo(2);
        assertThat(stderr()).contains("--loss bce-head differs").contains("(triplet)").doesNotContain("\tat ");
    }

    private static void assertSameWeights(Map<String, org.siamese4j.tensor.Tensor> a,
                                          Map<String, org.siamese4j.tensor.Tensor> b, String part) {
        assertThat(b.keySet()).isEqualTo(a.keySet());
        for (String name : a.keySet()) {
            // bit for bit: the resumed run continues exactly where the uninterrupted one was
            assertThat(Arrays.equals(b.get(name).data(), a.get(name).data())).as(part + " " + name).isTrue();
        }
    }

    @Test
    void badOptionValuesSayWhatIsValid() throws IOException {
        assertThat(run("train", "--loss", "hinge")).isEqualTo(2);
        assertThat(stderr()).contains("choose one of: contrastive, triplet, circle, proxy, bce-head");
        assertThat(run("train", "--loss", "bce-head", "--margin", "0.5")).isEqualTo(2);
        assertThat(stderr()).contains("--margin does not apply to --loss bce-head");
        assertThat(run("train", "--loss", "bce-head", "--miner", "batch-hard")).isEqualTo(2);
        assertThat(stderr()).contains("valid combinations").contains("--loss bce-head --miner none");
        assertThat(run("train", "--head", "dense(1)")).isEqualTo(2);
        assertThat(stderr()).contains("--head applies only to --loss bce-head");
        assertThat(run("train", "--loss", "bce-head", "--head", "dense(1) frobnicate")).isEqualTo(2);
        assertThat(stderr()).startsWith("siamese4j train: --head:");
        Path out = dir.resolve("never.safetensors");
        assertThat(trainHead(out, "--head", "dense(4)")).isEqualTo(2);
        assertThat(stderr()).contains("--head:").contains("exactly 1 value");
        assertThat(trainHead(out, "--head", "dense(1) sigmoid")).isEqualTo(2);
        assertThat(stderr()).contains("--head:").contains("ends in sigmoid");
        assertThat(trainHead(out, "--arch", "conv(4,3)")).isEqualTo(2);
        assertThat(stderr()).contains("--arch").contains("flat embeddings");
        assertThat(trainHead(out, "--batch", "0")).isEqualTo(2);
        assertThat(stderr()).contains("a number of pairs");
        assertThat(out).doesNotExist();

        Path refs = Files.createDirectory(dir.resolve("refs"));
        Path img = face("p.pgm", 0, 0);
        Files.copy(img, refs.resolve("1.pgm"));
        String m = dir.resolve("m.safetensors").toString();
        assertThat(run("verify", "--model", m, "--refs", refs.toString(), "--rule", "median", img.toString()))
                .isEqualTo(2);
        assertThat(stderr()).contains("--rule 'median' is not valid; choose one of: fraction, mean");
        assertThat(run("verify", "--model", m, "--refs", refs.toString(), "--min-fraction", "0", img.toString()))
                .isEqualTo(2);
        assertThat(stderr()).contains("--min-fraction 0 is out of range; valid: more than 0 and at most 1");
        assertThat(run("verify", "--model", m, "--refs", refs.toString(), "--min-fraction", "1.5", img.toString()))
                .isEqualTo(2);
        assertThat(stderr()).contains("out of range");
        assertThat(run("verify", "--model", m, "--refs", refs.toString(), "--min-fraction", "half", img.toString()))
                .isEqualTo(2);
        assertThat(stderr()).contains("--min-fraction expects a number, got 'half'");
        assertThat(run("verify", "--model", m, "--rule", "mean", img.toString(), img.toString())).isEqualTo(2);
        assertThat(stderr()).contains("apply only with --refs");
        assertThat(run("verify", "--model", m, "--refs", refs.toString(), img.toString(), img.toString()))
                .isEqualTo(2);
        assertThat(stderr()).contains("exactly one image file");
    }
}
