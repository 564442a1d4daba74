package org.siamese4j.siamese.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.ToDoubleBiFunction;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

/**
 * The identification and report metrics on pair scores where higher means "same" (a learned head's P(same)),
 * checked against the distance forms: a similarity that is a strictly decreasing function of the distance ranks
 * every pair and every candidate the same way, so it must give the same AUC, EER, accuracy, one-shot and rank-1,
 * with the same seeded draws.
 */
class ScoreDirectionMetricsTest {

    /**
     * 10 identities of 6 images in 8 dimensions whose clusters overlap (centre spacing 1, noise 0.6), so no metric
     * is trivially perfect and ties or near-ties in the ranking matter.
     */
    private static float[][] overlapping(int[] labelsOut) {
        Rng rng = new Rng(21);
        float[][] centres = new float[10][8];
        for (float[] c : centres) {
            for (int k = 0; k < c.length; k++) {
                c[k] = (float) rng.nextGaussian();
            }
        }
        float[][] e = new float[60][8];
        for (int i = 0; i < 60; i++) {
            labelsOut[i] = i % 10;
            for (int k = 0; k < 8; k++) {
                e[i][k] = (float) (centres[i % 10][k] + 0.6 * rng.nextGaussian());
            }
        }
        return e;
    }

    private static final ToDoubleBiFunction<float[], float[]> NEGATED =
            (a, b) -> -EmbeddingDistance.EUCLIDEAN.between(a, b);
    /** A probability-like similarity in (0, 1], as a head would output: 1 / (1 + d). */
    private static final ToDoubleBiFunction<float[], float[]> RECIPROCAL =
            (a, b) -> 1 / (1 + EmbeddingDistance.EUCLIDEAN.between(a, b));

    @Test
    void identificationWithASimilarityMatchesTheDistanceForm() {
        int[] labels = new int[60];
        float[][] e = overlapping(labels);
        double oneShot = Identification.nWayOneShot(e, labels, 5, 2000, new Rng(3));
        double rank1 = Identification.rank1LeaveOneOut(e, labels);
        double gallery = Identification.rank1OneGalleryImage(e, labels, new Rng(4));
        // not trivial: the clusters overlap
        assertThat(oneShot).isBetween(0.3, 0.99);
        assertThat(rank1).isBetween(0.3, 0.99);
        for (ToDoubleBiFunction<float[], float[]> similarity : java.util.List.of(NEGATED, RECIPROCAL)) {
            assertThat(Identification.nWayOneShot(e, labels, 5, 2000, new Rng(3), similarity,
                    ScoreDirection.HIGHER_IS_SAME)).isEqualTo(oneShot);
            assertThat(Identification.rank1LeaveOneOut(e, labels, similarity, ScoreDirection.HIGHER_IS_SAME))
                    .isEqualTo(rank1);
            assertThat(Identification.rank1OneGalleryImage(e, labels, new Rng(4), similarity,
                    ScoreDirection.HIGHER_IS_SAME)).isEqualTo(gallery);
        }
        // the distance itself through the score form, LOWER_IS_SAME: the same numbers
        assertThat(Identification.nWayOneShot(e, labels, 5, 2000, new Rng(3), EmbeddingDistance.EUCLIDEAN::between,
                ScoreDirection.LOWER_IS_SAME)).isEqualTo(oneShot);
    }

    @Test
    void theDirectionIsHonoured() {
        // well separated clusters: the most alike support is always right, the least alike never
        int[] labels = new int[60];
        float[][] e = IdentificationTest.clusters(12, 5, 16, 1, labels);
        ToDoubleBiFunction<float[], float[]> distance = EmbeddingDistance.EUCLIDEAN::between;
        assertThat(Identification.nWayOneShot(e, labels, 5, 300, new Rng(2), RECIPROCAL,
                ScoreDirection.HIGHER_IS_SAME)).isEqualTo(1.0);
        assertThat(Identification.nWayOneShot(e, labels, 5, 300, new Rng(2), distance,
                ScoreDirection.HIGHER_IS_SAME)).isEqualTo(0.0);
        assertThat(Identification.rank1LeaveOneOut(e, labels, RECIPROCAL, ScoreDirection.HIGHER_IS_SAME))
                .isEqualTo(1.0);
        assertThat(Identification.rank1LeaveOneOut(e, labels, RECIPROCAL, ScoreDirection.LOWER_IS_SAME))
                .isEqualTo(0.0);
    }

    @Test
    void explicitGalleryRankOneWithASimilarity() {
        int[] labels = new int[60];
        float[][] e = overlapping(labels);
        float[][] gallery = java.util.Arrays.copyOfRange(e, 0, 10);         // one image of each identity
        int[] galleryLabels = java.util.Arrays.copyOfRange(labels, 0, 10);
        float[][] probes = java.util.Arrays.copyOfRange(e, 10, 60);
        int[] probeLabels = java.util.Arrays.copyOfRange(labels, 10, 60);
        double byDistance = Identification.rank1(gallery, galleryLabels, probes, probeLabels,
                EmbeddingDistance.EUCLIDEAN);
        assertThat(byDistance).isBetween(0.2, 0.99);
        assertThat(Identification.rank1(gallery, galleryLabels, probes, probeLabels, RECIPROCAL,
                ScoreDirection.HIGHER_IS_SAME)).isEqualTo(byDistance);
    }

    @Test
    void tiedSimilaritiesGetFractionalCredit() {
        // every embedding equal: each of the 5 supports ties, one is right, credit 1/5 per trial
        float[][] e = new float[20][3];
        int[] labels = new int[20];
        for (int i = 0; i < 20; i++) {
            labels[i] = i % 10;
        }
        // (a sum of fifty 0.2s rounds in the last bits, hence the 1e-12)
        assertThat(Identification.nWayOneShot(e, labels, 5, 50, new Rng(1), (a, b) -> 0.75,
                ScoreDirection.HIGHER_IS_SAME)).isCloseTo(0.2, org.assertj.core.api.Assertions.within(1e-12));
    }

    @Test
    void theReportOnSimilaritiesMatchesTheDistanceReport() {
        int[] labels = new int[60];
        float[][] e = overlapping(labels);
        VerificationReport d = VerificationReport.evaluate(e, labels, EmbeddingDistance.EUCLIDEAN, 5, 500,
                new Rng(9));
        VerificationReport s = VerificationReport.evaluate(e, labels, NEGATED, ScoreDirection.HIGHER_IS_SAME, 5,
                500, new Rng(9));
        assertThat(d.auc()).isBetween(0.6, 0.999);
        assertThat(s.auc()).isEqualTo(d.auc());
        assertThat(s.eer()).isEqualTo(d.eer());
        assertThat(s.accuracy()).isEqualTo(d.accuracy());
        assertThat(s.accuracyStd()).isEqualTo(d.accuracyStd());
        assertThat(s.tarAtFar1e2()).isEqualTo(d.tarAtFar1e2());
        assertThat(s.oneShotAccuracy()).isEqualTo(d.oneShotAccuracy());
        assertThat(s.rank1()).isEqualTo(d.rank1());
        assertThat(s.positivePairs()).isEqualTo(d.positivePairs());
        // the threshold is in the score's units: negating every score negates every midpoint and their mean
        assertThat(s.threshold()).isEqualTo(-d.threshold());

        VerificationReport p = VerificationReport.evaluate(e, labels, RECIPROCAL, ScoreDirection.HIGHER_IS_SAME, 5,
                500, new Rng(9));
        assertThat(p.auc()).isEqualTo(d.auc());
        assertThat(p.eer()).isEqualTo(d.eer());
        assertThat(p.oneShotAccuracy()).isEqualTo(d.oneShotAccuracy());
        assertThat(p.rank1()).isEqualTo(d.rank1());
        assertThat(p.threshold()).isBetween(0.0, 1.0);
    }
}
