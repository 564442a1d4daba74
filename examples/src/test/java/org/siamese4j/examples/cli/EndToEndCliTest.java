package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.SyntheticFaces;

/**
 * The end-to-end flow of issue 6, driven only through the command line as a user would: train one short epoch on
 * synthetic faces, eval with {@code --json}, enroll two people from image files, identify, verify and embed.
 *
 * <p>The model is barely trained, so the answers that depend on its quality (who a probe is, whether a pair is
 * the same person) are checked for their format and consistency only: a name from the gallery or unknown,
 * finite distances, a decision that agrees with the printed distance and threshold. What does not depend on
 * training is checked exactly: exit codes, silent stderr, one JSON object, a gallery that survives reloading,
 * one embedding per image of one length and unit norm.
 */
class EndToEndCliTest {
    /** Rendered at the size of the AT&T photographs; the commands resize to the model's 56x46 input. */
    private static final int HEIGHT = 112;
    private static final int WIDTH = 92;
    /** People far from both the training (0, 1, ...) and the held-out eval people (100000, ...). */
    private static final int ALICE = 700_000;
    private static final int BOB = 700_001;
    private static final int CAROL = 700_002;
    private static final String NUMBER = "(-?[0-9]+(?:\\.[0-9]+)?(?:[Ee][+-]?[0-9]+)?|Infinity|-Infinity|NaN)";

    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    @Test
    void trainEvalEnrollIdentifyVerifyEmbed() throws IOException {
        // 1. train: one epoch, 10 people x 4 images, 4x4 batches, 6 held-out people for the threshold
        Path model = dir.resolve("model.safetensors");
        runOk("train", "--data", "synthetic:10x4", "--batch", "4x4", "--test-identities", "6", "--epochs", "1",
                "--threads", "1", "--seed", "5", "--out", model.toString());
        assertThat(stdout()).contains("epoch 1/1").contains("saved");
        assertThat(model).isRegularFile();

        // 2. eval --json: exactly one JSON object on stdout, the required keys finite and in range
        runOk("eval", "--model", model.toString(), "--data", "synthetic:6x4", "--trials", "50", "--threads", "1",
                "--json");
        String json = stdout().strip();
        assertThat(json.lines().count()).as(json).isEqualTo(1);
        assertThat(json).startsWith("{").endsWith("}");
        Map<String, String> fields = jsonNumbers(json);
        for (String key : List.of("auc", "eer", "accuracy", "one_shot_accuracy", "rank1")) {
            assertThat(fields).as(json).containsKey(key);
            assertThat(Double.parseDouble(fields.get(key))).as(key).isFinite().isBetween(0.0, 1.0);
        }
        assertThat(fields).as(json).containsKey("threshold");
        assertThat(Double.parseDouble(fields.get("threshold"))).as("threshold").isFinite().isPositive();

        // 3. face images: four of alice, four of bob, one of carol (never enrolled)
        List<Path> aliceImages = faces("alice", ALICE, 4);
        List<Path> bobImages = faces("bob", BOB, 4);
        Path carol = faces("carol", CAROL, 1).get(0);
        // the probes are photographs enroll never saw
        Path aliceProbe = aliceImages.remove(3);
        Path bobProbe = bobImages.remove(3);

        // 4. enroll two people: the first creates the gallery, the second loads and extends it
        Path gallery = dir.resolve("staff.gallery");
        runOk(concat(List.of("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name",
                "alice"), aliceImages));
        assertThat(stdout()).contains("enrolled alice from 3 image(s)").contains("(new) has 1 person");
        assertThat(gallery).isRegularFile();
        runOk(concat(List.of("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name",
                "bob"), bobImages));
        assertThat(stdout()).contains("enrolled bob from 3 image(s)").contains("has 2 people")
                .doesNotContain("(new)");
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".tmp"));
        }

        // 5. identify: each identify loads the gallery from its file again
        for (Path probe : List.of(aliceProbe, bobProbe, carol)) {
            runOk("identify", "--model", model.toString(), "--gallery", gallery.toString(), probe.toString());
            Map<String, String> answer = keyValues(stdout());
            assertThat(answer).as(stdout()).containsKeys("identity", "nearest", "distance", "threshold");
            String identity = answer.get("identity");
            String nearest = answer.get("nearest");
            assertThat(identity).as(probe.toString()).isIn("alice", "bob", "unknown");
            assertThat(nearest).as(probe.toString()).isIn("alice", "bob");
            double distance = number(answer.get("distance"));
            double threshold = number(answer.get("threshold"));
            assertThat(distance).as(stdout()).isFinite().isGreaterThanOrEqualTo(0.0);
            assertThat(threshold).as(stdout()).isFinite().isPositive();
            assertThat(answer.get("threshold")).endsWith("(euclidean)");
            // the decision agrees with the printed numbers, up to their 6 printed decimals
            if (identity.equals("unknown")) {
                assertThat(distance).as(stdout()).isGreaterThanOrEqualTo(threshold - 1e-6);
            } else {
                assertThat(identity).isEqualTo(nearest);
                assertThat(distance).as(stdout()).isLessThanOrEqualTo(threshold + 1e-6);
            }
        }

        // 6. verify: a same-person pair and a different-person pair
        Path a1 = aliceImages.get(0);
        Path a2 = aliceImages.get(1);
        Path b1 = bobImages.get(0);
        double same = verify(model, a1, a2);
        double different = verify(model, a1, b1);
        // the same image twice is at distance 0 whatever the training did
        assertThat(verify(model, a1, a1)).isCloseTo(0.0, within(1e-6));
        assertThat(same).isNotNegative();
        assertThat(different).isNotNegative();

        // 7. embed --json: one vector per image, one length, unit norm (the default tower ends with l2norm)
        List<Path> embedded = List.of(a1, a2, b1, carol);
        runOk(concat(List.of("embed", "--model", model.toString(), "--json"), embedded));
        String array = stdout().strip();
        assertThat(array).startsWith("[").endsWith("]");
        Matcher m = Pattern.compile("\\{\"image\":\"([^\"]*)\",\"embedding\":\\[([^\\]]*)\\]}").matcher(array);
        List<double[]> vectors = new ArrayList<>();
        List<String> names = new ArrayList<>();
        while (m.find()) {
            names.add(m.group(1));
            String[] parts = m.group(2).split(",");
            double[] v = new double[parts.length];
            for (int i = 0; i < parts.length; i++) {
                v[i] = Double.parseDouble(parts[i]);
            }
            vectors.add(v);
        }
        assertThat(names).containsExactlyElementsOf(embedded.stream().map(Path::toString).toList());
        int length = vectors.get(0).length;
        assertThat(length).isGreaterThan(1);
        boolean unitNorm = CliData.DEFAULT_ARCH.strip().endsWith("l2norm");
        for (double[] v : vectors) {
            assertThat(v).hasSize(length);
            double norm = 0;
            for (double x : v) {
                assertThat(x).isFinite();
                norm += x * x;
            }
            if (unitNorm) {
                assertThat(Math.sqrt(norm)).isCloseTo(1.0, within(1e-3));
            }
        }
        // the same image alone gives the same vector as in a batch (up to float rounding of other blockings)
        runOk("embed", "--model", model.toString(), "--json", a1.toString());
        Matcher alone = Pattern.compile("\"embedding\":\\[([^\\]]*)\\]").matcher(stdout());
        assertThat(alone.find()).as(stdout()).isTrue();
        String[] again = alone.group(1).split(",");
        assertThat(again).hasSize(length);
        for (int i = 0; i < length; i++) {
            assertThat(Double.parseDouble(again[i])).isCloseTo(vectors.get(0)[i], within(1e-5));
        }
    }

    /** Runs {@code verify}, checks its three lines, and returns the distance. */
    private double verify(Path model, Path a, Path b) {
        runOk("verify", "--model", model.toString(), a.toString(), b.toString());
        Map<String, String> answer = keyValues(stdout());
        assertThat(answer).as(stdout()).containsOnlyKeys("distance", "threshold", "decision");
        double distance = number(answer.get("distance"));
        double threshold = number(answer.get("threshold"));
        assertThat(distance).as(stdout()).isFinite();
        assertThat(threshold).as(stdout()).isFinite().isPositive();
        assertThat(answer.get("threshold")).endsWith("(euclidean)");
        String decision = answer.get("decision");
        assertThat(decision).isIn("same", "different");
        // same means distance <= threshold; the numbers are printed with 6 decimals
        if (Math.abs(distance - threshold) > 1e-6) {
            assertThat(decision).as(stdout()).isEqualTo(distance <= threshold ? "same" : "different");
        }
        return distance;
    }

    private List<Path> faces(String name, int identity, int count) throws IOException {
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            float[] pixels = SyntheticFaces.renderImage(CliData.SYNTHETIC_SEED, identity, i, HEIGHT, WIDTH);
            Path file = dir.resolve(name + "-" + i + ".pgm");
            Images.writePgm(GrayImage.of(HEIGHT, WIDTH, 1f, pixels), file);
            files.add(file);
        }
        return files;
    }

    private static String[] concat(List<String> args, List<Path> images) {
        List<String> all = new ArrayList<>(args);
        images.forEach(p -> all.add(p.toString()));
        return all.toArray(String[]::new);
    }

    /** Runs the CLI and requires exit code 0 and a stderr that is empty or holds only warnings. */
    private void runOk(String... args) {
        out.reset();
        err.reset();
        int code = Siamese4j.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String command = String.join(" ", args);
        assertThat(code).as(command + "\nstderr: " + stderr() + "\nstdout: " + stdout()).isZero();
        assertThat(stderr().lines().filter(l -> !l.isBlank()))
                .as(command + ": stderr")
                .allMatch(l -> l.toLowerCase(Locale.ROOT).contains("warning"));
    }

    private String stdout() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** The numeric (and null) fields of a flat JSON object; enough for the eval report. */
    private static Map<String, String> jsonNumbers(String json) {
        Map<String, String> fields = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\"([a-z0-9_]+)\":(null|-?[0-9][0-9.Ee+-]*)").matcher(json);
        while (m.find()) {
            fields.put(m.group(1), m.group(2));
        }
        return fields;
    }

    /** {@code key: value} lines; every non-blank line must have that form. */
    private static Map<String, String> keyValues(String text) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String line : text.strip().lines().toList()) {
            int colon = line.indexOf(": ");
            assertThat(colon).as("'key: value' line: " + line).isPositive();
            assertThat(map.put(line.substring(0, colon), line.substring(colon + 2).strip()))
                    .as("duplicate key in: " + text).isNull();
        }
        return map;
    }

    /** The leading number of a value such as {@code 0.812345} or {@code 0.812345 (euclidean)}. */
    private static double number(String value) {
        Matcher m = Pattern.compile("^" + NUMBER).matcher(value);
        assertThat(m.find()).as("number in '" + value + "'").isTrue();
        return Double.parseDouble(m.group(1));
    }
}
