package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.head.SimilarityHead;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.tensor.Rng;

/**
 * The verifier with a learned similarity head: the halves tower of {@link Fixtures} (a face of halves L, R embeds
 * to (L, R) times the batch-norm scale S) and a hand-set head {@code dense(1)} with weights (-10, -10) and bias 2,
 * so a pair whose embeddings differ by |dL|, |dR| has
 * <pre>  P(same) = sigmoid(2 - 10 S (|dL| + |dR|))</pre>
 * which is 0.5 at an L1 difference of 0.2 / S: every score and decision can be worked out by hand.
 */
class HeadVerifierTest {
    private static final double S = Fixtures.BN_SCALE;
    private static final double[][] LEVELS = {{0.2, 0.8}, {0.8, 0.2}, {0.5, 0.5}};

    @TempDir
    Path dir;

    static HeadSiameseNetwork network(float gain) {
        SimilarityHead head = SimilarityHead.parse("dense(1)", 2, new Rng(0));
        var state = head.layers().stateDict();
        state.get("0.weight").data()[0] = -10f * gain;
        state.get("0.weight").data()[1] = -10f * gain;
        state.get("0.bias").data()[0] = 2f;
        return new HeadSiameseNetwork(Fixtures.halvesTower(), head);
    }

    static Verifier verifier() {
        return Verifier.of(network(1f), ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT, null);
    }

    /** P(same) by hand for faces whose halves differ by dl and dr. */
    static double byHand(double dl, double dr) {
        double z = 2 - 10 * S * (Math.abs(dl) + Math.abs(dr));
        return 1 / (1 + Math.exp(-z));
    }

    // =====================================================================================================
    // Scoring and deciding
    // =====================================================================================================

    @Test
    void theScoreIsTheHeadsProbabilityAndHigherIsSame() {
        Verifier v = verifier();
        assertThat(v.hasHead()).isTrue();
        assertThat(v.headArch()).contains(ArchSpec.parse("dense(1)"));
        assertThat(v.scoreDirection()).isEqualTo(ScoreDirection.HIGHER_IS_SAME);
        assertThat(v.distanceKind()).isNull();
        assertThat(v.embeddingSize()).isEqualTo(2);
        assertThat(v.toString()).contains("similarity head 'dense(1)'").contains("not calibrated");

        float[] a = v.embed(Fixtures.face(0.2, 0.8, 0.03));
        float[] b = v.embed(Fixtures.face(0.3, 0.75, 0.0));
        assertThat(v.score(a, b)).isCloseTo(byHand(0.1, 0.05), within(1e-6));
        // exactly the pair model's own score (same float logit, same double sigmoid)
        assertThat(v.score(a, b)).isEqualTo(network(1f).score(a, b));
        assertThat(v.score(a, a)).isCloseTo(byHand(0, 0), within(1e-7));

        // a distance model of the same tower is the other direction
        assertThat(Fixtures.verifier().scoreDirection()).isEqualTo(ScoreDirection.LOWER_IS_SAME);
        assertThat(Fixtures.verifier().hasHead()).isFalse();
        assertThat(Fixtures.verifier().headArch()).isEmpty();
        assertThat(Fixtures.verifier().score(a, b)).isEqualTo(Fixtures.verifier().distance(a, b));
    }

    @Test
    void thereIsNoDistanceToAskFor() {
        Verifier v = verifier();
        float[] e = v.embed(Fixtures.face(0.2, 0.8, 0.0));
        assertThatThrownBy(() -> v.distance(e, e)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("similarity head").hasMessageContaining("score(a, b)");
        assertThatThrownBy(() -> v.withDistance(Distance.COSINE)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no distance");
        assertThatThrownBy(() -> v.score(e, new float[3])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("2 values").hasMessageContaining("3");
    }

    @Test
    void verifyAcceptsAtOrAboveTheThreshold() {
        Verifier v = verifier().withThreshold(0.5);
        Verification same = v.verify(Fixtures.face(0.2, 0.8, 0.03), Fixtures.face(0.3, 0.8, 0.01));
        assertThat(same.score()).isCloseTo(byHand(0.1, 0), within(1e-6));
        assertThat(same.same()).isTrue();
        assertThat(same.threshold()).isEqualTo(0.5);
        assertThat(same.direction()).isEqualTo(ScoreDirection.HIGHER_IS_SAME);
        assertThat(same.metric()).isNull();
        assertThatThrownBy(same::distance).isInstanceOf(IllegalStateException.class).hasMessageContaining("P(same)");

        Verification different = v.verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.5, 0.5, 0.0));
        assertThat(different.score()).isCloseTo(byHand(0.3, 0.3), within(1e-6));
        assertThat(different.same()).isFalse();

        // ties are accepted: a threshold equal to the score says "same"; just above it, "different"
        Verifier exact = verifier().withThreshold(same.score());
        assertThat(exact.verify(Fixtures.face(0.2, 0.8, 0.03), Fixtures.face(0.3, 0.8, 0.01)).same()).isTrue();
        Verifier above = verifier().withThreshold(Math.nextUp(same.score()));
        assertThat(above.verify(Fixtures.face(0.2, 0.8, 0.03), Fixtures.face(0.3, 0.8, 0.01)).same()).isFalse();
    }

    @Test
    void onlyTheAcceptNothingInfinityIsAThreshold() {
        // +Infinity on P(same) accepts nothing, not even an image with itself
        Verifier none = verifier().withThreshold(Double.POSITIVE_INFINITY);
        assertThat(none.verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.2, 0.8, 0.0)).same()).isFalse();
        assertThatThrownBy(() -> verifier().withThreshold(Double.NEGATIVE_INFINITY))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("accept every pair");
        // and the other way round for a distance
        assertThatThrownBy(() -> Fixtures.verifier().withThreshold(Double.POSITIVE_INFINITY))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("accept every pair");
        assertThat(Fixtures.verifier().withThreshold(Double.NEGATIVE_INFINITY)
                .verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.2, 0.8, 0.0)).same()).isFalse();
        assertThatThrownBy(() -> Threshold.manual(Double.NaN)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("NaN");
    }

    // =====================================================================================================
    // Calibrating, saving, loading
    // =====================================================================================================

    @Test
    void bestAccuracyCalibrationIsOnProbabilitiesAndRoundTripsWithTheHead() throws Exception {
        ImageDataset set = Fixtures.dataset(LEVELS, 5, 0.03, 7);
        Verifier v = verifier().calibrate(set, Calibration.bestAccuracy());
        Threshold t = v.threshold().orElseThrow();
        assertThat(t.kind()).isEqualTo(Threshold.Kind.BEST_ACCURACY);
        assertThat(t.pairs()).isEqualTo(15 * 14 / 2);
        assertThat(t.accuracy()).isEqualTo(1.0);
        assertThat(t.tar()).isEqualTo(1.0);
        assertThat(t.far()).isEqualTo(0.0);
        // same-person pairs differ by at most 0.12 in L1, different people by at least 0.6 - 0.12
        assertThat(t.value()).isBetween(byHand(0.48, 0), byHand(0.12, 0));

        Path file = dir.resolve("head.safetensors");
        v.save(file);
        Map<String, String> meta = SafeTensors.readMetadata(file);
        assertThat(meta).containsEntry("threshold", Double.toString(t.value()))
                .containsEntry("threshold_kind", "best_accuracy")
                .containsEntry("head", "dense(1)").containsEntry("head_input", "2")
                .containsEntry("arch", Fixtures.SPEC)
                .doesNotContainKey("distance");

        Verifier loaded = Verifier.load(file);
        assertThat(loaded.hasHead()).isTrue();
        assertThat(loaded.threshold()).contains(t);
        assertThat(loaded.fingerprint()).isEqualTo(v.fingerprint());
        float[] a = loaded.embed(Fixtures.face(0.2, 0.8, 0.0));
        float[] b = loaded.embed(Fixtures.face(0.22, 0.79, 0.0));
        assertThat(loaded.score(a, b)).isEqualTo(v.score(a, b));
        assertThat(loaded.verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.22, 0.79, 0.0)).same()).isTrue();
        assertThat(loaded.verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.5, 0.5, 0.0)).same()).isFalse();

        // the file is still a pair model file: HeadSiameseNetwork reads it, with the threshold as extra metadata
        HeadSiameseNetwork net = HeadSiameseNetwork.load(file);
        assertThat(net.score(a, b)).isEqualTo(v.score(a, b));
        // and a second save keeps everything
        Path again = dir.resolve("again.safetensors");
        loaded.save(again);
        assertThat(SafeTensors.readMetadata(again)).isEqualTo(meta);
    }

    @Test
    void aPairModelFileSavedByTheNetworkLoadsAsAHeadVerifier() throws Exception {
        Path file = dir.resolve("pair.safetensors");
        network(1f).save(file, ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT,
                Map.of("threshold", "0.5", "description", "hand-set"));
        Verifier v = Verifier.load(file);
        assertThat(v.hasHead()).isTrue();
        assertThat(v.threshold().orElseThrow().value()).isEqualTo(0.5);
        assertThat(v.fingerprint()).isEqualTo(verifier().fingerprint());
        assertThat(v.metadata()).containsEntry("description", "hand-set").doesNotContainKeys("head", "distance");
        assertThat(v.verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.25, 0.8, 0.0)).same()).isTrue();
    }

    @Test
    void targetFarCalibrationKeepsTheFalseAcceptsUnderTheTarget() throws Exception {
        // overlapping people so the target binds
        double[][] levels = {{0.2, 0.8}, {0.25, 0.8}, {0.8, 0.2}, {0.5, 0.5}};
        ImageDataset set = Fixtures.dataset(levels, 6, 0.05, 11);
        Verifier v = verifier().calibrate(set, Calibration.targetFar(0.05));
        Threshold t = v.threshold().orElseThrow();
        assertThat(t.kind()).isEqualTo(Threshold.Kind.TARGET_FAR);
        assertThat(t.far()).isLessThanOrEqualTo(0.05);
        assertThat(t.value()).isBetween(0.0, 1.0);
        // the distance model on the same pairs makes the same number of pairs and the same FAR bound holds
        Threshold d = Fixtures.verifier().calibrate(set, Calibration.targetFar(0.05)).threshold().orElseThrow();
        assertThat(t.pairs()).isEqualTo(d.pairs());

        Path file = dir.resolve("far.safetensors");
        v.save(file);
        assertThat(Verifier.load(file).threshold()).contains(t);
    }

    @Test
    void aLargeSetIsCalibratedOnASampleOfPairsScoredInBatches() {
        // 3 people x 340 images = 1020 > 1000 images: a seeded sample of 100,000 same and 100,000 different pairs
        ImageDataset set = Fixtures.dataset(LEVELS, 340, 0.03, 5);
        Threshold t = verifier().calibrate(set, Calibration.bestAccuracy()).threshold().orElseThrow();
        assertThat(t.pairs()).isEqualTo(200_000);
        assertThat(t.accuracy()).isEqualTo(1.0);
        assertThat(t.value()).isBetween(byHand(0.48, 0), byHand(0.12, 0));
        Threshold d = Fixtures.verifier().calibrate(set, Calibration.bestAccuracy()).threshold().orElseThrow();
        assertThat(d.pairs()).isEqualTo(t.pairs());
    }

    @Test
    void badHeadMetadataIsAFormatErrorNamingTheKey() throws Exception {
        assertBadMetadata(Map.of("distance", "euclidean"), "similarity head", "distance");
        assertBadMetadata(Map.of("threshold", "-Infinity"), "accept every pair", "threshold");
        Path file = dir.resolve("none.safetensors");
        network(1f).save(file, ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT, Map.of("threshold", "Infinity"));
        assertThat(Verifier.load(file).threshold().orElseThrow().value()).isEqualTo(Double.POSITIVE_INFINITY);
        // and for a distance model +Infinity is the bad one
        Path plain = dir.resolve("plain.safetensors");
        org.siamese4j.io.ModelFile.save(plain, Fixtures.halvesTower(), ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT,
                Map.of("threshold", "Infinity"));
        assertThatThrownBy(() -> Verifier.load(plain)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("accept every pair");
    }

    private void assertBadMetadata(Map<String, String> extra, String problem, String key) throws Exception {
        Path file = dir.resolve("bad.safetensors");
        network(1f).save(file, ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT, new LinkedHashMap<>(extra));
        assertThatThrownBy(() -> Verifier.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(problem)
                .hasMessageStartingWith(file.toString())
                .satisfies(e -> assertThat(((ModelFormatException) e).location())
                        .isEqualTo("metadata field \"" + key + "\""));
    }

    @Test
    void theFingerprintCoversTheHeadAndTheVerifierCopiesIt() {
        HeadSiameseNetwork net = network(1f);
        Verifier v = Verifier.of(net, ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT, null);
        float[] a = v.embed(Fixtures.face(0.2, 0.8, 0.0));
        float[] b = v.embed(Fixtures.face(0.3, 0.8, 0.0));
        double before = v.score(a, b);
        net.head().layers().stateDict().get("0.bias").data()[0] = -5f;     // the caller goes on training
        assertThat(v.score(a, b)).isEqualTo(before);
        Verifier changed = Verifier.of(net, ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT, null);
        assertThat(changed.fingerprint()).isNotEqualTo(v.fingerprint());
        // same tower, other head weights: another model; same tower without a head: another model too
        assertThat(Verifier.of(network(2f), ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT, null).fingerprint())
                .isNotEqualTo(v.fingerprint());
        assertThat(Fixtures.verifier().fingerprint()).isNotEqualTo(v.fingerprint());
        assertThat(verifier().fingerprint()).isEqualTo(v.fingerprint());
    }

    @Test
    void aTowerThatDoesNotMatchItsSpecIsRefused() {
        assertThatThrownBy(() -> Verifier.of(network(1f), ArchSpec.parse("flatten dense(2)"), Fixtures.INPUT, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not describe the model");
    }

    // =====================================================================================================
    // Several references
    // =====================================================================================================

    /** Probe (0.2, 0.8); references at L1 differences 0.05, 0.1 (pass at 0.5), 0.3 and 0.4 (fail). */
    private static List<GrayImage> references() {
        return List.of(Fixtures.face(0.25, 0.8, 0.01), Fixtures.face(0.2, 0.9, 0.0),
                Fixtures.face(0.5, 0.8, 0.03), Fixtures.face(0.2, 0.4, 0.0));
    }

    @Test
    void multiReferenceVerificationUsesHeadScoresAndTheirDirection() throws Exception {
        Verifier v = verifier().withThreshold(0.5);
        GrayImage probe = Fixtures.face(0.2, 0.8, 0.02);
        MultiReferenceVerification r = v.verifyAgainst(probe, references(), MultiReferencePolicy.fraction(0.5));
        assertThat(r.direction()).isEqualTo(ScoreDirection.HIGHER_IS_SAME);
        assertThat(r.threshold()).isEqualTo(0.5);
        assertThat(r.scores()).containsExactly(new double[] {byHand(0.05, 0), byHand(0, 0.1), byHand(0.3, 0),
                byHand(0, 0.4)}, within(1e-6));
        for (int i = 0; i < 4; i++) {
            Verification single = v.verify(probe, references().get(i));
            // the references are scored in one batch, a single pair alone: the float logits may round apart
            assertThat(r.references().get(i).score()).isCloseTo(single.score(), within(1e-6));
            assertThat(r.references().get(i).passes()).isEqualTo(single.same());
        }
        assertThat(r.references()).extracting(MultiReferenceVerification.ReferenceScore::passes)
                .containsExactly(true, true, false, false);
        assertThat(r.sameByFraction()).isTrue();
        // mean of the four probabilities, about (0.82 + 0.73 + 0.27 + 0.12) / 4 < 0.5
        assertThat(r.meanScore()).isLessThan(0.5);
        assertThat(r.sameByMean()).isFalse();
        assertThat(r.same()).isTrue();
        assertThat(r.bestScore()).isCloseTo(byHand(0.05, 0), within(1e-6));
        assertThat(r.toString()).contains(">= 0.5");
        assertThat(v.verifyAgainst(probe, references(), MultiReferencePolicy.meanScore()).same()).isFalse();

        // files and precomputed embeddings give the same answer
        Path refs = Files.createDirectory(dir.resolve("alice"));
        for (int i = 0; i < 4; i++) {
            Images.writePgm(references().get(i), refs.resolve((i + 1) + ".pgm"));
        }
        Path probeFile = dir.resolve("probe.pgm");
        Images.writePgm(probe, probeFile);
        MultiReferenceVerification fromFolder = v.verifyAgainstFolder(probeFile, refs,
                MultiReferencePolicy.fraction(0.5));
        assertThat(fromFolder.references()).extracting(MultiReferenceVerification.ReferenceScore::passes)
                .containsExactly(true, true, false, false);
        MultiReferenceVerification fromEmbeddings = v.verifyEmbeddingAgainst(v.embed(probe),
                references().stream().map(v::embed).toList(), MultiReferencePolicy.fraction(0.5));
        assertThat(fromEmbeddings).isEqualTo(r);
    }

    // =====================================================================================================
    // Gallery
    // =====================================================================================================

    @Test
    void theGalleryIdentifiesByTheHighestProbability() throws Exception {
        Verifier v = verifier().withThreshold(0.5);
        Gallery g = new Gallery(v);
        g.enroll("alice", Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.22, 0.8, 0.03));
        g.enroll("bob", Fixtures.face(0.8, 0.2, 0.0));
        g.enroll("carol", Fixtures.face(0.5, 0.5, 0.02));

        Match m = g.identify(Fixtures.face(0.25, 0.78, 0.01));
        assertThat(m.label()).isEqualTo("alice");
        assertThat(m.direction()).isEqualTo(ScoreDirection.HIGHER_IS_SAME);
        // the best of alice's two images: (0.22, 0.8), at L1 0.03 + 0.02
        assertThat(m.score()).isCloseTo(byHand(0.03, 0.02), within(1e-6));
        assertThat(m.known()).isTrue();
        assertThatThrownBy(m::distance).isInstanceOf(IllegalStateException.class);

        Match stranger = g.identify(Fixtures.face(0.2, 0.2, 0.0));   // L1 0.6 from alice, bob and carol
        assertThat(stranger.known()).isFalse();
        assertThat(stranger.label()).isEqualTo(Match.UNKNOWN);
        assertThat(stranger.score()).isCloseTo(byHand(0.3, 0.3), within(1e-6));

        Path file = dir.resolve("staff.gallery");
        g.save(file);
        Gallery loaded = Gallery.load(file, v);
        assertThat(loaded.identify(Fixtures.face(0.79, 0.2, 0.0)).label()).isEqualTo("bob");
        // embeddings of the same tower, but another model (a distance one): refused
        assertThatThrownBy(() -> Gallery.load(file, Fixtures.verifier().withThreshold(0.1)))
                .isInstanceOf(ModelMismatchException.class);

        Match empty = new Gallery(v).identify(Fixtures.face(0.2, 0.8, 0.0));
        assertThat(empty.known()).isFalse();
        assertThat(empty.nearest()).isNull();
        assertThat(empty.score()).isEqualTo(Double.NEGATIVE_INFINITY);
    }

    @Test
    void theGalleryScoresEveryStoredEmbeddingAcrossTheHeadsBatches() {
        // 6,000 embeddings on a line 0.01 apart: more than one forward pass of the head (1,024 pairs) and than one
        // block of the gallery's scan (4,096), neither a multiple of the other
        Verifier v = verifier().withThreshold(0.5);
        Map<String, List<float[]>> batch = new LinkedHashMap<>();
        for (int i = 0; i < 3000; i++) {
            batch.put("p" + i, List.of(new float[] {0.01f * i, 0f}, new float[] {0.01f * i, 100f}));
        }
        Gallery g = new Gallery(v);
        g.enrollAll(batch);
        for (int i : new int[] {0, 511, 512, 1023, 2047, 2048, 2999}) {
            float[] stored = g.embeddingsOf("p" + i)[1];
            Match m = g.identifyEmbedding(new float[] {stored[0] + 0.002f, stored[1]});
            assertThat(m.nearest()).as("p" + i).isEqualTo("p" + i);
            assertThat(m.score()).as("p" + i).isCloseTo(v.score(stored, new float[] {stored[0] + 0.002f, stored[1]}),
                    within(1e-6));
            assertThat(m.known()).isTrue();
        }
    }

    @Test
    void galleryTiesGoToTheSmallerName() {
        Verifier v = verifier().withThreshold(0.5);
        float[] e = {0.5f, 0.5f};
        Gallery g = new Gallery(v);
        g.enrollEmbeddings("zoe", e);
        g.enrollEmbeddings("amy", e);
        assertThat(g.identifyEmbedding(e).nearest()).isEqualTo("amy");
    }
}
