package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.tensor.Rng;

/**
 * eval on many images: --max-pairs bounds the pairs scored, and a request that cannot work is refused before
 * anything is embedded. A tiny random model on 8x8 images: the figures are meaningless, their bookkeeping is not.
 */
class EvalPairsCliTest extends CliRunner {
    private static final int[] INPUT = {1, 8, 8};
    private static final ArchSpec ARCH = ArchSpec.parse("flatten dense(6) l2norm");

    @TempDir
    Path dir;

    private String model() throws IOException {
        Path file = dir.resolve("m.safetensors");
        ModelFile.save(file, ARCH.build(INPUT, new Rng(3)), ARCH, INPUT, Map.of("threshold", "0.5"));
        return file.toString();
    }

    private static long number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":([0-9]+)").matcher(json);
        assertThat(m.find()).as(key + " in " + json).isTrue();
        return Long.parseLong(m.group(1));
    }

    @Test
    void aRequestThatCannotWorkIsRefusedInTheCliWordsBeforeAnythingIsEmbedded() throws IOException {
        String m = model();
        int runs = EvalCommand.EMBEDDING_RUNS.get();
        // one image per person: no same-person pair (this used to fail after embedding, naming a library call)
        Path folder = dir.resolve("faces");
        for (int p = 0; p < 5; p++) {
            float[] px = new float[64];
            Arrays.fill(px, p / 5f);
            Files.createDirectories(folder.resolve("person" + p));
            Images.writePgm(GrayImage.of(8, 8, 1f, px), folder.resolve("person" + p).resolve("1.pgm"));
        }
        assertThat(run("eval", "--model", m, "--data", folder.toString(), "--ways", "2", "--trials", "5"))
                .isEqualTo(2);
        assertThat(stderr()).contains("no person has two images").doesNotContain("ScoredPairs")
                .doesNotContain("Identification");
        // 15,000 images with every one of their 112 million pairs: about 11 GB, more than the tests' heap
        assertThat(Runtime.getRuntime().maxMemory()).isLessThan(10L << 30);
        assertThat(run("eval", "--model", m, "--data", "synthetic:1500x10", "--max-pairs", "1000000000"))
                .isEqualTo(2);
        assertThat(stderr()).contains("scoring 112492500 pairs of synthetic").contains("lower --max-pairs")
                .contains("SIAMESE4J_JAVA_OPTS").doesNotContain("ScoredPairs");
        assertThat(run("eval", "--model", m, "--data", "synthetic:4x3", "--max-pairs", "1")).isEqualTo(2);
        assertThat(stderr()).contains("--max-pairs 1 is out of range");
        assertThat(EvalCommand.EMBEDDING_RUNS.get()).isEqualTo(runs);
    }

    @Test
    void maxPairsBoundsTheScoredPairsAndKeepsTheFewSamePersonPairs() throws IOException {
        String m = model();
        // 20 people x 4 images: 3,160 pairs, 120 of them same-person
        String[] args = {"eval", "--model", m, "--data", "synthetic:20x4", "--trials", "20", "--json",
                "--max-pairs", "500"};
        assertThat(run(args)).as(stderr()).isZero();
        String json = stdout();
        assertThat(number(json, "all_pairs")).isEqualTo(3160);
        assertThat(json).contains("\"pairs_sampled\":true");
        assertThat(number(json, "positive_pairs")).isEqualTo(120);
        assertThat(number(json, "negative_pairs")).isEqualTo(380);
        // seeded: the same command gives the same figures
        assertThat(run(args)).isZero();
        assertThat(stdout()).isEqualTo(json);

        // more same-person pairs than half the budget: half of it
        assertThat(run("eval", "--model", m, "--data", "synthetic:20x4", "--trials", "20", "--json",
                "--max-pairs", "100")).as(stderr()).isZero();
        assertThat(number(stdout(), "positive_pairs")).isEqualTo(50);
        assertThat(number(stdout(), "negative_pairs")).isEqualTo(50);

        assertThat(run("eval", "--model", m, "--data", "synthetic:20x4", "--trials", "20", "--max-pairs", "500"))
                .isZero();
        assertThat(stdout()).contains("pairs: a sample of 500 of the 3160 (120 of the 120 same-person pairs, 380 "
                + "different; --max-pairs 500, --seed 1)");
    }

    @Test
    void theFiguresAreTheExhaustiveOnesWhileMaxPairsCoversEveryPair() throws IOException {
        String m = model();
        // 6 people x 4 images: 276 pairs
        assertThat(run("eval", "--model", m, "--data", "synthetic:6x4", "--trials", "20", "--json")).isZero();
        String exhaustive = stdout();
        assertThat(exhaustive).contains("\"all_pairs\":276").contains("\"pairs_sampled\":false");
        assertThat(number(exhaustive, "positive_pairs") + number(exhaustive, "negative_pairs")).isEqualTo(276);
        for (String max : new String[] {"276", "100000"}) {
            assertThat(run("eval", "--model", m, "--data", "synthetic:6x4", "--trials", "20", "--json",
                    "--max-pairs", max)).isZero();
            assertThat(stdout()).as(max).isEqualTo(exhaustive);
        }
        // one pair fewer: a sample
        assertThat(run("eval", "--model", m, "--data", "synthetic:6x4", "--trials", "20", "--json",
                "--max-pairs", "275")).isZero();
        assertThat(stdout()).contains("\"pairs_sampled\":true");
        assertThat(number(stdout(), "positive_pairs") + number(stdout(), "negative_pairs")).isEqualTo(275);
    }

    @Test
    void thePlanFillsTheBudgetAndGivesSamePersonPairsMoreThanHalfOnlyWhenDifferentOnesRunOut() {
        // two people with 100 images each: 9,900 same and 10,000 different pairs
        int[] labels = new int[200];
        for (int i = 100; i < 200; i++) {
            labels[i] = 1;
        }
        EvalCommand.PairPlan plan = EvalCommand.PairPlan.of(labels, 1000);
        assertThat(plan.sampled()).isTrue();
        assertThat(plan.samePairs()).isEqualTo(500);
        assertThat(plan.differentPairs()).isEqualTo(500);
        // one person with 100 images and one with 2: 4,951 same and only 200 different pairs
        int[] lopsided = new int[102];
        lopsided[100] = 1;
        lopsided[101] = 1;
        plan = EvalCommand.PairPlan.of(lopsided, 1000);
        assertThat(plan.samePairs()).isEqualTo(800);
        assertThat(plan.differentPairs()).isEqualTo(200);
        plan = EvalCommand.PairPlan.of(lopsided, 1_000_000);
        assertThat(plan.sampled()).isFalse();
        assertThat(plan.samePairs() + plan.differentPairs()).isEqualTo(5151);
    }
}
