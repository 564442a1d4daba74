package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.Normalization;

class VerifierTest {
    private static final double S = Fixtures.BN_SCALE;
    private static final double[][] LEVELS = {{0.2, 0.8}, {0.8, 0.2}, {0.5, 0.5}};

    @TempDir
    Path dir;

    @Test
    void embeddingIsTheTwoHalvesMeans() {
        Verifier v = Fixtures.verifier();
        assertThat(v.embeddingSize()).isEqualTo(2);
        float[] e = v.embed(Fixtures.face(0.2, 0.7, 0.05));
        assertThat((double) e[0]).isCloseTo(0.2 * S, within(1e-6));
        assertThat((double) e[1]).isCloseTo(0.7 * S, within(1e-6));
    }

    @Test
    void imagesOfAnotherSizeAndMaxvalAreScaledAndResizedLikeTrainingData() throws Exception {
        Verifier v = Fixtures.verifier();
        // 8x8 at maxval 255, left half 51 (0.2), right half 204 (0.8): bilinear 2x shrink keeps the halves exact
        float[] p = new float[64];
        for (int r = 0; r < 8; r++) {
            for (int c = 0; c < 8; c++) {
                p[r * 8 + c] = c < 4 ? 51f : 204f;
            }
        }
        GrayImage big = GrayImage.of(8, 8, 255f, p);
        float[] expected = v.embed(Fixtures.face(0.2, 0.8, 0.0));
        assertThat(v.embed(big)).containsExactly(expected, within(1e-6f));
        // and from a file on disk
        Path file = dir.resolve("big.pgm");
        Images.writePgm(big, file);
        assertThat(v.embed(file)).containsExactly(expected, within(1e-6f));
        // the float[] form takes the exact input, already in [0, 1]
        assertThat(v.embed(Fixtures.face(0.2, 0.8, 0.0).pixels())).containsExactly(expected, within(0f));
    }

    @Test
    void embedRefusesAnInputOfTheWrongSize() {
        Verifier v = Fixtures.verifier();
        assertThatThrownBy(() -> v.embed(new float[15]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1x4x4").hasMessageContaining("16").hasMessageContaining("15");
    }

    @Test
    void verifyDecidesAtTheThreshold() {
        Verifier v = Fixtures.verifier().withThreshold(0.2);
        Verification same = v.verify(Fixtures.face(0.2, 0.8, 0.03), Fixtures.face(0.3, 0.8, 0.01));
        assertThat(same.distance()).isCloseTo(0.1 * S, within(1e-6));
        assertThat(same.same()).isTrue();
        assertThat(same.threshold()).isEqualTo(0.2);
        assertThat(same.metric()).isEqualTo(Distance.EUCLIDEAN);
        Verification different = v.verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.8, 0.2, 0.0));
        assertThat(different.distance()).isCloseTo(Math.sqrt(0.72) * S, within(1e-6));
        assertThat(different.same()).isFalse();
        // ties are accepted: a threshold equal to the distance says "same"
        Verifier exact = Fixtures.verifier().withThreshold(same.distance());
        assertThat(exact.verify(Fixtures.face(0.2, 0.8, 0.03), Fixtures.face(0.3, 0.8, 0.01)).same()).isTrue();
    }

    @Test
    void anUncalibratedVerifierRefusesToDecide() {
        Verifier v = Fixtures.verifier();
        assertThat(v.threshold()).isEmpty();
        assertThatThrownBy(() -> v.verify(Fixtures.face(0.2, 0.8, 0), Fixtures.face(0.2, 0.8, 0)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not calibrated").hasMessageContaining("calibrate");
    }

    @Test
    void bestAccuracyCalibrationSeparatesThePeopleAndIsStoredWithTheModel() throws Exception {
        ImageDataset set = Fixtures.dataset(LEVELS, 5, 0.03, 7);
        Verifier v = Fixtures.verifier().calibrate(set, Calibration.bestAccuracy());
        Threshold t = v.threshold().orElseThrow();
        assertThat(t.kind()).isEqualTo(Threshold.Kind.BEST_ACCURACY);
        assertThat(t.pairs()).isEqualTo(15 * 14 / 2);
        assertThat(t.accuracy()).isEqualTo(1.0);
        // same-person pairs are within 0.06*sqrt(2), different people at least 0.42 - that apart
        assertThat(t.value()).isBetween(0.06, 0.34);

        Path file = dir.resolve("calibrated.safetensors");
        v.save(file);
        Map<String, String> meta = SafeTensors.readMetadata(file);
        assertThat(meta).containsEntry("threshold", Double.toString(t.value()))
                .containsEntry("threshold_kind", "best_accuracy")
                .containsEntry("distance", "euclidean")
                .containsEntry("threshold_pairs", "105")
                .containsEntry("threshold_accuracy", "1.0")
                .containsEntry("arch", Fixtures.SPEC);

        Verifier loaded = Verifier.load(file);
        assertThat(loaded.threshold()).contains(t);
        assertThat(loaded.fingerprint()).isEqualTo(v.fingerprint());
        assertThat(loaded.verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.22, 0.79, 0.0)).same()).isTrue();
        assertThat(loaded.verify(Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.5, 0.5, 0.0)).same()).isFalse();
    }

    @Test
    void targetFarCalibrationRespectsTheTargetAndRoundTrips() throws Exception {
        // overlapping people so the FAR target binds
        double[][] levels = {{0.2, 0.8}, {0.25, 0.8}, {0.8, 0.2}, {0.5, 0.5}};
        ImageDataset set = Fixtures.dataset(levels, 6, 0.05, 11);
        Verifier v = Fixtures.verifier().calibrate(set, Calibration.targetFar(0.05));
        Threshold t = v.threshold().orElseThrow();
        assertThat(t.kind()).isEqualTo(Threshold.Kind.TARGET_FAR);
        assertThat(t.targetFar()).isEqualTo(0.05);
        assertThat(t.far()).isLessThanOrEqualTo(0.05);

        Path file = dir.resolve("far.safetensors");
        v.save(file);
        assertThat(SafeTensors.readMetadata(file)).containsEntry("threshold_target_far", "0.05");
        assertThat(Verifier.load(file).threshold()).contains(t);
    }

    @Test
    void calibrationNeedsSameAndDifferentPairs() {
        ImageDataset onePerson = Fixtures.dataset(new double[][] {{0.2, 0.8}}, 4, 0.01, 3);
        assertThatThrownBy(() -> Fixtures.verifier().calibrate(onePerson, Calibration.bestAccuracy()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0 different-person pairs");
        assertThatThrownBy(() -> Calibration.targetFar(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("(0, 1]");
    }

    @Test
    void saveAndLoadKeepTheEmbeddingsDistanceNormalisationAndExtraMetadata() throws Exception {
        Verifier v = Verifier.of(Fixtures.halvesTower(), ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT,
                Distance.COSINE, new Normalization(0.5f, 0.25f)).withThreshold(0.1);
        // (x - 0.5) / 0.25: halves 0.5 and 1.0 become 0 and 2
        float[] e = v.embed(Fixtures.face(0.5, 1.0, 0.0));
        assertThat((double) e[0]).isCloseTo(0.0, within(1e-6));
        assertThat((double) e[1]).isCloseTo(2 * S, within(1e-6));

        Path file = dir.resolve("m.safetensors");
        v.save(file);
        Verifier loaded = Verifier.load(file);
        assertThat(loaded.distanceKind()).isEqualTo(Distance.COSINE);
        assertThat(loaded.normalization()).contains(new Normalization(0.5f, 0.25f));
        assertThat(loaded.embed(Fixtures.face(0.5, 1.0, 0.0))).containsExactly(e, within(0f));
        assertThat(loaded.threshold().orElseThrow().kind()).isEqualTo(Threshold.Kind.MANUAL);

        // a file written by ModelFile with extra keys keeps them through a verifier's save
        Path plain = dir.resolve("plain.safetensors");
        ModelFile.save(plain, Fixtures.halvesTower(), ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT,
                Map.of("description", "demo"));
        Path resaved = dir.resolve("resaved.safetensors");
        Verifier.load(plain).withThreshold(0.3).save(resaved);
        assertThat(SafeTensors.readMetadata(resaved)).containsEntry("description", "demo")
                .containsEntry("threshold", "0.3").containsEntry("threshold_kind", "manual");
    }

    @Test
    void theVerifierCopiesTheWeightsAndTheFingerprintFollowsThem() {
        Sequential tower = Fixtures.halvesTower();
        Verifier v = Verifier.of(tower, ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT, Distance.EUCLIDEAN, null);
        float[] before = v.embed(Fixtures.face(0.2, 0.8, 0.0));
        tower.stateDict().get("4.weight").data()[0] = 5f;      // the caller goes on training
        assertThat(v.embed(Fixtures.face(0.2, 0.8, 0.0))).containsExactly(before, within(0f));
        Verifier other = Verifier.of(tower, ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT, Distance.EUCLIDEAN, null);
        assertThat(other.fingerprint()).startsWith("sha256:").isNotEqualTo(v.fingerprint());
        assertThat(Fixtures.verifier().fingerprint()).isEqualTo(v.fingerprint());
    }

    @Test
    void aModelThatDoesNotMatchItsSpecIsRefused() {
        assertThatThrownBy(() -> Verifier.of(Fixtures.halvesTower(), ArchSpec.parse("flatten dense(2)"),
                Fixtures.INPUT, Distance.EUCLIDEAN, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not describe the model");
    }

    @Test
    void badVerifierMetadataIsAFormatErrorNamingTheKey() throws Exception {
        assertBadMetadata(Map.of("distance", "manhattan"), "unknown distance 'manhattan'", "distance");
        assertBadMetadata(Map.of("threshold", "abc"), "not a number", "threshold");
        assertBadMetadata(Map.of("threshold", "NaN"), "NaN", "threshold");
        assertBadMetadata(Map.of("threshold_kind", "manual"), "'threshold' is not", "threshold");
        assertBadMetadata(Map.of("threshold", "0.5", "threshold_kind", "magic"), "unknown threshold kind",
                "threshold_kind");
        assertBadMetadata(Map.of("threshold", "0.5", "threshold_kind", "target_far"), "threshold_target_far",
                "threshold_target_far");
        assertBadMetadata(Map.of("threshold", "0.5", "threshold_far", "1.5"), "[0, 1]", "threshold_far");
        assertBadMetadata(Map.of("input_mean", "0.5"), "'input_std' is missing", "input_std");
        assertBadMetadata(Map.of("input_mean", "0.5", "input_std", "0"), "std must be positive", "input_std");
    }

    private void assertBadMetadata(Map<String, String> extra, String problem, String key) throws Exception {
        Path file = dir.resolve("bad.safetensors");
        ModelFile.save(file, Fixtures.halvesTower(), ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT,
                new LinkedHashMap<>(extra));
        assertThatThrownBy(() -> Verifier.load(file))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(problem)
                .satisfies(e -> assertThat(((ModelFormatException) e).location())
                        .isEqualTo("metadata field \"" + key + "\""))
                .hasMessageStartingWith(file.toString());
    }

    @Test
    void aModelWithoutFlatEmbeddingsIsRefused() throws Exception {
        ArchSpec arch = ArchSpec.parse("conv(1,1)");
        Path file = dir.resolve("conv.safetensors");
        ModelFile.save(file, arch.build(Fixtures.INPUT, new org.siamese4j.tensor.Rng(0)), arch, Fixtures.INPUT);
        assertThatThrownBy(() -> Verifier.load(file))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("not an embedding vector");
    }

    @Test
    void embedAllMatchesEmbedOneByOne() {
        Verifier v = Fixtures.verifier();
        List<GrayImage> images = new java.util.ArrayList<>();
        for (int i = 0; i < 70; i++) {           // more than one batch
            images.add(Fixtures.face(i / 70.0, 1 - i / 70.0, 0.01));
        }
        float[][] all = v.embedAll(images);
        for (int i = 0; i < images.size(); i++) {
            assertThat(all[i]).containsExactly(v.embed(images.get(i)), within(1e-7f));
        }
    }
}
