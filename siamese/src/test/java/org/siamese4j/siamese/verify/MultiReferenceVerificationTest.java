package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.ImageFormatException;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.verify.MultiReferencePolicy.Rule;

class MultiReferenceVerificationTest {
    private static final double S = Fixtures.BN_SCALE;
    private static final double THRESHOLD = 0.15;

    @TempDir
    Path dir;

    private static Verifier verifier() {
        return Fixtures.verifier().withThreshold(THRESHOLD);
    }

    private static GrayImage probe() {
        return Fixtures.face(0.2, 0.8, 0.02);
    }

    /**
     * Distances to the probe (0.2, 0.8), times the batch-norm scale: 0.05 and 0.1 (pass at 0.15), 0.3 and 0.2 (fail).
     * Two of four pass (share 0.5), but the mean distance is 0.1625 S = 0.16250 > 0.15.
     */
    private static List<GrayImage> references() {
        return List.of(Fixtures.face(0.25, 0.8, 0.01), Fixtures.face(0.2, 0.9, 0.0),
                Fixtures.face(0.5, 0.8, 0.03), Fixtures.face(0.2, 0.6, 0.0));
    }

    // =====================================================================================================
    // With a model
    // =====================================================================================================

    @Test
    void scoresEveryReferenceAndReportsBothRules() {
        Verifier v = verifier();
        MultiReferenceVerification r = v.verifyAgainst(probe(), references(), MultiReferencePolicy.fraction(0.5));

        double[] byHand = {0.05 * S, 0.1 * S, 0.3 * S, 0.2 * S};
        assertThat(r.size()).isEqualTo(4);
        assertThat(r.scores()).containsExactly(byHand, within(1e-6));
        for (int i = 0; i < 4; i++) {
            MultiReferenceVerification.ReferenceScore ref = r.references().get(i);
            Verification single = v.verify(probe(), references().get(i));
            assertThat(ref.index()).isEqualTo(i);
            assertThat(ref.name()).isEqualTo("reference " + i);
            assertThat(ref.score()).isCloseTo(single.distance(), within(1e-12));
            assertThat(ref.passes()).isEqualTo(single.same());
        }
        assertThat(r.references()).extracting(MultiReferenceVerification.ReferenceScore::passes)
                .containsExactly(true, true, false, false);
        assertThat(r.passing()).isEqualTo(2);
        assertThat(r.fractionPassing()).isEqualTo(0.5);
        assertThat(r.meanScore()).isCloseTo(Arrays.stream(byHand).average().orElseThrow(), within(1e-6));
        assertThat(r.bestScore()).isCloseTo(0.05 * S, within(1e-6));
        assertThat(r.sameByFraction()).isTrue();
        assertThat(r.sameByMean()).isFalse();
        assertThat(r.same()).isTrue();
        assertThat(r.threshold()).isEqualTo(THRESHOLD);
        assertThat(r.direction()).isEqualTo(ScoreDirection.LOWER_IS_SAME);
        assertThat(r.toString()).contains("same by fraction").contains("2 of 4").contains("mean score")
                .contains("pass score <= 0.1500 (share 0.5000 >= 0.5: same)")
                .matches(".*mean score \\d\\.\\d{4} \\(> 0\\.1500: different\\)");

        // the same scores, decided by the mean: different
        MultiReferenceVerification byMean = v.verifyAgainst(probe(), references(), MultiReferencePolicy.meanScore());
        assertThat(byMean.scores()).containsExactly(r.scores(), within(0.0));
        assertThat(byMean.sameByFraction()).isTrue();
        assertThat(byMean.sameByMean()).isFalse();
        assertThat(byMean.same()).isFalse();
        assertThat(byMean.policy().fraction()).isEqualTo(MultiReferencePolicy.DEFAULT_FRACTION);

        // asking for more than half flips the fraction decision
        assertThat(v.verifyAgainst(probe(), references(), MultiReferencePolicy.fraction(0.75)).same()).isFalse();
    }

    @Test
    void precomputedEmbeddingsGiveTheSameAnswer() {
        Verifier v = verifier();
        MultiReferencePolicy policy = MultiReferencePolicy.fraction(0.5);
        List<float[]> refs = new ArrayList<>();
        for (GrayImage g : references()) {
            refs.add(v.embed(g));
        }
        MultiReferenceVerification fromEmbeddings = v.verifyEmbeddingAgainst(v.embed(probe()), refs, policy);
        MultiReferenceVerification fromImages = v.verifyAgainst(probe(), references(), policy);
        assertThat(fromEmbeddings).isEqualTo(fromImages);

        refs.set(1, new float[3]);
        assertThatThrownBy(() -> v.verifyEmbeddingAgainst(v.embed(probe()), refs, policy))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 values").hasMessageContaining("3");
    }

    @Test
    void aFolderOfReferencesIsReadInNaturalOrderIgnoringOtherFiles() throws Exception {
        Verifier v = verifier();
        Path refs = Files.createDirectory(dir.resolve("alice"));
        // written out of order, with an upper-case extension; 10 sorts after 2
        List<GrayImage> images = references();
        Images.writePgm(images.get(2), refs.resolve("10.pgm"));
        Images.writePgm(images.get(0), refs.resolve("1.PGM"));
        Images.writePgm(images.get(1), refs.resolve("2.pgm"));
        Images.writePgm(images.get(3), refs.resolve("11.pgm"));
        Files.writeString(refs.resolve("notes.txt"), "not an image");
        Images.writePgm(images.get(2), refs.resolve(".hidden.pgm"));
        Files.createDirectory(refs.resolve("thumbnails"));
        Images.writePgm(images.get(2), refs.resolve("thumbnails").resolve("3.pgm"));
        Path probe = dir.resolve("probe.pgm");
        Images.writePgm(probe(), probe);

        List<Path> expected = List.of(refs.resolve("1.PGM"), refs.resolve("2.pgm"), refs.resolve("10.pgm"),
                refs.resolve("11.pgm"));
        assertThat(Verifier.referenceImages(refs)).containsExactlyElementsOf(expected);

        MultiReferenceVerification r = v.verifyAgainstFolder(probe, refs, MultiReferencePolicy.fraction(0.5));
        assertThat(r.references()).extracting(MultiReferenceVerification.ReferenceScore::name)
                .containsExactlyElementsOf(expected.stream().map(Path::toString).toList());
        for (int i = 0; i < expected.size(); i++) {
            assertThat(r.references().get(i).score())
                    .isCloseTo(v.verify(probe, expected.get(i)).distance(), within(1e-12));
        }
        // 8-bit files round the levels by at most 1/510, far from the threshold: the decisions are the by-hand ones
        assertThat(r.references()).extracting(MultiReferenceVerification.ReferenceScore::passes)
                .containsExactly(true, true, false, false);
        assertThat(r.scores()).containsExactly(new double[] {0.05 * S, 0.1 * S, 0.3 * S, 0.2 * S}, within(0.01));
        assertThat(r.sameByFraction()).isTrue();
        assertThat(r.sameByMean()).isFalse();
        assertThat(v.verifyAgainst(probe, expected, MultiReferencePolicy.fraction(0.5))).isEqualTo(r);
    }

    @Test
    void referenceFilesLargerThanTheModelScoreAsTheImagesTheyHold() throws Exception {
        // Files are shrunk to the model's input as they are read (issue 16: a folder of four large photos ran a
        // -Xmx256m heap out of memory while all were held at full size); the scores are those of the images, to
        // the last bit.
        Verifier v = verifier();
        Path refs = Files.createDirectory(dir.resolve("large"));
        List<GrayImage> decoded = new ArrayList<>();
        for (int i = 0; i < references().size(); i++) {
            Path file = refs.resolve(i + ".pgm");
            Images.writePgm(references().get(i).resize(40, 36), file);
            decoded.add(Images.read(file));
        }
        Path probe = dir.resolve("probe.pgm");
        Images.writePgm(probe().resize(40, 36), probe);
        MultiReferencePolicy policy = MultiReferencePolicy.fraction(0.5);
        assertThat(v.verifyAgainstFolder(probe, refs, policy).scores())
                .containsExactly(v.verifyAgainst(Images.read(probe), decoded, policy).scores());
    }

    // =====================================================================================================
    // The rules, on hand-built scores
    // =====================================================================================================

    @Test
    void theFractionRuleAcceptsExactlyAtTheFraction() {
        double[] distances = {0.1, 0.2, 0.3, 0.6, 0.7};   // at 0.3: three pass (a tie passes), share 3/5
        MultiReferenceVerification r = MultiReferencePolicy.fraction(0.6)
                .decide(distances, ScoreDirection.LOWER_IS_SAME, 0.3);
        assertThat(r.passing()).isEqualTo(3);
        assertThat(r.fractionPassing()).isEqualTo(0.6);
        assertThat(r.same()).isTrue();
        assertThat(MultiReferencePolicy.fraction(Math.nextUp(0.6))
                .decide(distances, ScoreDirection.LOWER_IS_SAME, 0.3).same()).isFalse();
        assertThat(MultiReferencePolicy.fraction(Math.nextDown(0.6))
                .decide(distances, ScoreDirection.LOWER_IS_SAME, 0.3).same()).isTrue();
        assertThat(MultiReferencePolicy.fraction(1.0).decide(distances, ScoreDirection.LOWER_IS_SAME, 0.3).same())
                .isFalse();
        assertThat(MultiReferencePolicy.fraction(1.0).decide(distances, ScoreDirection.LOWER_IS_SAME, 0.7).same())
                .isTrue();
    }

    @Test
    void aFractionOfKOverNIsMetByExactlyKPassingReferences() {
        // every attainable share k/n, written as k / (double) n, against every number of passing references p:
        // accepted exactly when p >= k, so division rounding never moves the boundary
        for (int n = 1; n <= 40; n++) {
            for (int k = 1; k <= n; k++) {
                MultiReferencePolicy policy = MultiReferencePolicy.fraction(k / (double) n);
                for (int p = 0; p <= n; p++) {
                    double[] distances = new double[n];
                    for (int i = 0; i < n; i++) {
                        distances[i] = i < p ? 0.1 : 0.9;
                    }
                    MultiReferenceVerification r = policy.decide(distances, ScoreDirection.LOWER_IS_SAME, 0.5);
                    assertThat(r.passing()).isEqualTo(p);
                    assertThat(r.sameByFraction()).as("n=%d k=%d p=%d", n, k, p).isEqualTo(p >= k);
                }
            }
        }
        // and decimal literals: 7 of 10 meets 0.7, 1 of 3 meets 1.0 / 3
        double[] tenWithSeven = {0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.9, 0.9, 0.9};
        assertThat(MultiReferencePolicy.fraction(0.7).decide(tenWithSeven, ScoreDirection.LOWER_IS_SAME, 0.5).same())
                .isTrue();
        assertThat(MultiReferencePolicy.fraction(1.0 / 3)
                .decide(new double[] {0.1, 0.9, 0.9}, ScoreDirection.LOWER_IS_SAME, 0.5).same()).isTrue();
    }

    @Test
    void theMeanRuleAndTheFractionRuleDisagreeOnConstructedCases() {
        // one close reference, two just past the threshold: one vote in three, but a mean inside the threshold
        MultiReferenceVerification marginal = MultiReferencePolicy.fraction(0.5)
                .decide(new double[] {0.1, 0.6, 0.6}, ScoreDirection.LOWER_IS_SAME, 0.5);
        assertThat(marginal.passing()).isEqualTo(1);
        assertThat(marginal.meanScore()).isCloseTo(1.3 / 3, within(1e-12));
        assertThat(marginal.sameByFraction()).isFalse();
        assertThat(marginal.sameByMean()).isTrue();
        assertThat(marginal.same()).isFalse();
        assertThat(marginal.policy().withRule(Rule.MEAN_SCORE)
                .decide(marginal.scores(), ScoreDirection.LOWER_IS_SAME, 0.5).same()).isTrue();

        // two good references and one bad photo far off: two votes in three, but the mean is pulled outside
        MultiReferenceVerification outlier = MultiReferencePolicy.meanScore()
                .decide(new double[] {0.4, 0.4, 1.6}, ScoreDirection.LOWER_IS_SAME, 0.5);
        assertThat(outlier.passing()).isEqualTo(2);
        assertThat(outlier.meanScore()).isCloseTo(0.8, within(1e-12));
        assertThat(outlier.sameByFraction()).isTrue();
        assertThat(outlier.sameByMean()).isFalse();
        assertThat(outlier.same()).isFalse();
    }

    @Test
    void scoresWhereHigherIsSameAreDecidedTheOtherWayRound() {
        // a head's P(same): pass when >= 0.5 (ties pass)
        MultiReferenceVerification r = MultiReferencePolicy.fraction(0.5)
                .decide(List.of("a.png", "b.png", "c.png"), new double[] {0.9, 0.45, 0.45},
                        ScoreDirection.HIGHER_IS_SAME, 0.5);
        assertThat(r.references()).extracting(MultiReferenceVerification.ReferenceScore::passes)
                .containsExactly(true, false, false);
        assertThat(r.references().get(0).name()).isEqualTo("a.png");
        assertThat(r.sameByFraction()).isFalse();
        assertThat(r.meanScore()).isCloseTo(0.6, within(1e-12));
        assertThat(r.sameByMean()).isTrue();
        assertThat(r.bestScore()).isEqualTo(0.9);
        assertThat(r.toString()).contains(">= 0.5");

        MultiReferenceVerification tie = MultiReferencePolicy.fraction(1.0)
                .decide(new double[] {0.5, 0.5}, ScoreDirection.HIGHER_IS_SAME, 0.5);
        assertThat(tie.same()).isTrue();
        assertThat(tie.sameByMean()).isTrue();
        assertThat(MultiReferencePolicy.fraction(0.5)
                .decide(new double[] {0.6, 0.6, 0.0}, ScoreDirection.HIGHER_IS_SAME, 0.5).sameByMean()).isFalse();
    }

    @Test
    void rulesAreParsedByName() {
        assertThat(Rule.parse("fraction")).isEqualTo(Rule.FRACTION);
        assertThat(Rule.parse(" MEAN ")).isEqualTo(Rule.MEAN_SCORE);
        assertThat(Rule.MEAN_SCORE.token()).isEqualTo("mean");
        assertThatThrownBy(() -> Rule.parse("median")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'median'").hasMessageContaining("fraction, mean");
    }

    // =====================================================================================================
    // Errors
    // =====================================================================================================

    @Test
    void aFractionOutsideZeroToOneIsRefused() {
        for (double bad : new double[] {0.0, -0.25, 1.5, Double.NaN, Double.POSITIVE_INFINITY}) {
            assertThatThrownBy(() -> MultiReferencePolicy.fraction(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("(0, 1]").hasMessageContaining(String.valueOf(bad));
        }
        assertThatThrownBy(() -> MultiReferencePolicy.meanScore().withFraction(0.0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("(0, 1]");
        assertThatThrownBy(() -> new MultiReferencePolicy(null, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("FRACTION or MEAN_SCORE");
    }

    @Test
    void withoutAThresholdItSaysHowToSetOne() {
        Verifier uncalibrated = Fixtures.verifier();
        assertThatThrownBy(() -> uncalibrated.verifyAgainst(probe(), references(),
                MultiReferencePolicy.fraction(0.5)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not calibrated").hasMessageContaining("calibrate(")
                .hasMessageContaining("withThreshold(");
        // checked before the folder is even looked at
        assertThatThrownBy(() -> uncalibrated.verifyAgainstFolder(dir.resolve("probe.pgm"), dir.resolve("nobody"),
                MultiReferencePolicy.fraction(0.5)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not calibrated");
    }

    @Test
    void noReferencesOrANullReferenceIsRefused() {
        Verifier v = verifier();
        MultiReferencePolicy policy = MultiReferencePolicy.fraction(0.5);
        assertThatThrownBy(() -> v.verifyAgainst(probe(), List.<GrayImage>of(), policy))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no reference images");
        assertThatThrownBy(() -> v.verifyAgainst(dir.resolve("p.pgm"), List.<Path>of(), policy))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no reference images");
        assertThatThrownBy(() -> v.verifyEmbeddingAgainst(new float[2], List.of(), policy))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no reference images");
        assertThatThrownBy(() -> v.verifyAgainst(probe(), Arrays.asList(probe(), null), policy))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reference 1 of 2 is null");
        assertThatThrownBy(() -> policy.decide(new double[0], ScoreDirection.LOWER_IS_SAME, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one reference");
        assertThatThrownBy(() -> policy.decide(new double[] {0.1, Double.NaN}, ScoreDirection.LOWER_IS_SAME, 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reference 1")
                .hasMessageContaining("NaN");
        assertThatThrownBy(() -> policy.decide(new double[] {0.1}, ScoreDirection.LOWER_IS_SAME, Double.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threshold is NaN");
        assertThatThrownBy(() -> policy.decide(List.of("a"), new double[] {0.1, 0.2}, ScoreDirection.LOWER_IS_SAME,
                0.5)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 names but 2 scores");
    }

    @Test
    void badFoldersAreNamed() throws Exception {
        Verifier v = verifier();
        MultiReferencePolicy policy = MultiReferencePolicy.fraction(0.5);
        Path probe = dir.resolve("probe.pgm");
        Images.writePgm(probe(), probe);

        Path empty = Files.createDirectory(dir.resolve("bob"));
        Files.writeString(empty.resolve("notes.txt"), "no photos yet");
        Files.createDirectory(empty.resolve("old"));
        Images.writePgm(probe(), empty.resolve("old").resolve("1.pgm"));
        assertThatThrownBy(() -> v.verifyAgainstFolder(probe, empty, policy))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageContaining(empty.toString()).hasMessageContaining("no reference images")
                .hasMessageContaining(".pgm").hasMessageContaining("2 other entries ignored");

        Path missing = dir.resolve("carol");
        assertThatThrownBy(() -> v.verifyAgainstFolder(probe, missing, policy))
                .isInstanceOf(NoSuchFileException.class).hasMessageContaining(missing.toString());
        assertThatThrownBy(() -> v.verifyAgainstFolder(probe, probe, policy))
                .isInstanceOf(NotDirectoryException.class).hasMessageContaining(probe.toString());

        Path broken = Files.createDirectory(dir.resolve("dave"));
        Images.writePgm(probe(), broken.resolve("1.pgm"));
        Files.writeString(broken.resolve("2.pgm"), "P5\n4 4\n255\nxx");   // truncated raster
        assertThatThrownBy(() -> v.verifyAgainstFolder(probe, broken, policy))
                .isInstanceOf(ImageFormatException.class).hasMessageContaining(broken.resolve("2.pgm").toString());
    }
}
