package org.siamese4j.siamese.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.siamese4j.siamese.metrics.RocCurveTest.HAND_SAME;
import static org.siamese4j.siamese.metrics.RocCurveTest.HAND_SCORES;

import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class VerificationReportTest {

    /** A flat JSON object of string keys and number/null values: what toJson promises. */
    private static final String MEMBER = "\"[a-z0-9_]+\":(null|-?\\d+(\\.\\d+)?([eE][-+]?\\d+)?)";
    private static final Pattern FLAT_JSON = Pattern.compile("\\{(" + MEMBER + ",)*" + MEMBER + "}");

    @Test
    void pairMetricsOfHandWorkedCase() {
        VerificationReport r = VerificationReport.ofPairs(HAND_SCORES, HAND_SAME, ScoreDirection.LOWER_IS_SAME,
                Double.NaN, 0.5);
        assertThat(r.auc()).isEqualTo(0.875);
        assertThat(r.eer()).isEqualTo(0.25);
        assertThat(r.positivePairs()).isEqualTo(4);
        assertThat(r.negativePairs()).isEqualTo(4);
        // 4 different pairs cannot resolve FAR 1e-2 or 1e-3.
        assertThat(r.tarAtFar1e2()).isNaN();
        assertThat(r.tarAtFar1e3()).isNaN();
        assertThat(r.oneShotAccuracy()).isNaN();
        // 8 pairs cannot fill 10 folds.
        assertThat(r.accuracy()).isNaN();
        assertThat(r.threshold()).isNaN();
        String json = r.toJson();
        assertThat(json).matches(FLAT_JSON);
        assertThat(json).startsWith("{\"auc\":0.875,\"eer\":0.25,\"accuracy\":null,\"accuracy_std\":null,"
                + "\"threshold\":null,")
                .contains("\"tar_at_far_1e2\":null", "\"tar_at_far_1e3\":null", "\"one_shot_accuracy\":null",
                        "\"rank1\":0.5", "\"positive_pairs\":4", "\"negative_pairs\":4")
                .doesNotContain("NaN", "Infinity");
    }

    @Test
    void nonFiniteValuesAreNullAndSmallOnesStayValidNumbers() {
        VerificationReport r = new VerificationReport(1.0, 0.0, 1e-5, 0.0, Double.NEGATIVE_INFINITY, 0.25, 0.125,
                Double.NaN, 0.75, 10, 20);
        String json = r.toJson();
        assertThat(json).matches(FLAT_JSON);
        assertThat(json).isEqualTo("{\"auc\":1.0,\"eer\":0.0,\"accuracy\":1.0E-5,\"accuracy_std\":0.0,"
                + "\"threshold\":null,\"tar_at_far_1e2\":0.25,\"tar_at_far_1e3\":0.125,\"one_shot_accuracy\":null,"
                + "\"rank1\":0.75,\"positive_pairs\":10,\"negative_pairs\":20}");
    }

    @Test
    void evaluateOnSeparatedClusters() {
        int[] labels = new int[50];
        float[][] e = IdentificationTest.clusters(10, 5, 12, 6, labels);
        VerificationReport r = VerificationReport.evaluate(e, labels, EmbeddingDistance.EUCLIDEAN, 5, 200,
                new Rng(1));
        // 1225 pairs: 10 * C(5,2) = 100 same, 1125 different (enough for FAR 1e-3).
        assertThat(r.positivePairs()).isEqualTo(100);
        assertThat(r.negativePairs()).isEqualTo(1125);
        assertThat(r.auc()).isEqualTo(1.0);
        assertThat(r.eer()).isEqualTo(0.0);
        assertThat(r.accuracy()).isEqualTo(1.0);
        assertThat(r.accuracyStd()).isEqualTo(0.0);
        assertThat(r.tarAtFar1e2()).isEqualTo(1.0);
        assertThat(r.tarAtFar1e3()).isEqualTo(1.0);
        assertThat(r.oneShotAccuracy()).isEqualTo(1.0);
        assertThat(r.rank1()).isEqualTo(1.0);
        // Same-cluster distances are ~0.1 * sqrt(2 * 12) ~ 0.5, different ~ 10 * sqrt(2) ~ 14.
        assertThat(r.threshold()).isBetween(0.5, 14.0);
        assertThat(r.toJson()).matches(FLAT_JSON).contains("\"one_shot_accuracy\":1.0", "\"rank1\":1.0");
    }

    @Test
    void accuracyIsMeasuredOnBalancedPairs() {
        // 20 same pairs, 380 different ones, overlapping: rejecting everything would be 95% "accurate".
        int n = 400;
        double[] scores = new double[n];
        boolean[] same = new boolean[n];
        for (int i = 0; i < n; i++) {
            same[i] = i % 20 == 0;
            double u = ((i * 37) % 101) / 100.0;        // spread in [0, 1]
            scores[i] = same[i] ? u : u + 0.5;          // same in [0,1], different in [0.5,1.5]
        }
        int[] subset = VerificationReport.balancedSubset(same);
        int positives = 0;
        for (int i : subset) {
            positives += same[i] ? 1 : 0;
        }
        org.assertj.core.api.Assertions.assertThat(subset).hasSize(40);
        org.assertj.core.api.Assertions.assertThat(positives).isEqualTo(20);
        VerificationReport r = VerificationReport.ofPairs(scores, same, ScoreDirection.LOWER_IS_SAME, Double.NaN,
                Double.NaN);
        // with half the pairs of each kind, overlapping by half their range, the best accuracy is about 0.75
        org.assertj.core.api.Assertions.assertThat(r.accuracy()).isBetween(0.6, 0.9);
        org.assertj.core.api.Assertions.assertThat(r.positivePairs()).isEqualTo(20);
        org.assertj.core.api.Assertions.assertThat(r.negativePairs()).isEqualTo(380);
    }
}
