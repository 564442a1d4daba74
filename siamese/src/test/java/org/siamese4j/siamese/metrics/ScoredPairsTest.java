package org.siamese4j.siamese.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class ScoredPairsTest {

    @Test
    void distances() {
        assertThat(EmbeddingDistance.EUCLIDEAN.between(new float[] {0, 0}, new float[] {3, 4})).isEqualTo(5.0);
        assertThat(EmbeddingDistance.SQUARED_EUCLIDEAN.between(new float[] {0, 0}, new float[] {3, 4}))
                .isEqualTo(25.0);
        assertThat(EmbeddingDistance.COSINE.between(new float[] {1, 0}, new float[] {0, 2})).isEqualTo(1.0);
        assertThat(EmbeddingDistance.COSINE.between(new float[] {1, 1}, new float[] {-3, -3}))
                .isCloseTo(2.0, within(1e-12));
        assertThat(EmbeddingDistance.COSINE.between(new float[] {1, 2}, new float[] {2, 4}))
                .isCloseTo(0.0, within(1e-12));
        assertThatThrownBy(() -> EmbeddingDistance.COSINE.between(new float[] {0, 0}, new float[] {1, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("zero-norm");
        assertThatThrownBy(() -> EmbeddingDistance.EUCLIDEAN.between(new float[] {0, 0}, new float[] {1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("length 2 and 1");
    }

    @Test
    void allPairs() {
        float[][] e = {{0}, {1}, {3}, {7}};
        int[] labels = {5, 5, 6, 5};
        ScoredPairs p = ScoredPairs.all(e, labels, EmbeddingDistance.EUCLIDEAN);
        assertThat(p.size()).isEqualTo(6);
        assertThat(p.first()).containsExactly(0, 0, 0, 1, 1, 2);
        assertThat(p.second()).containsExactly(1, 2, 3, 2, 3, 3);
        assertThat(p.scores()).containsExactly(1, 3, 7, 2, 6, 4);
        assertThat(p.same()).containsExactly(true, false, true, false, true, false);
        assertThat(p.positives()).isEqualTo(3);
        assertThat(p.negatives()).isEqualTo(3);
        assertThat(p.direction()).isEqualTo(ScoreDirection.LOWER_IS_SAME);
        // Same 1, 7, 6; different 3, 2, 4: same below different in 1 (x3) + 0 + 0 = 3 of 9.
        assertThat(p.roc().auc()).isCloseTo(3.0 / 9, within(1e-15));
    }

    @Test
    void customScoreWithItsOwnDirection() {
        int[] labels = new int[30];
        float[][] e = IdentificationTest.clusters(6, 5, 8, 4, labels);
        ScoredPairs dist = ScoredPairs.all(e, labels, EmbeddingDistance.EUCLIDEAN);
        // A "P(same)"-like score: larger for closer pairs.
        ScoredPairs prob = ScoredPairs.all(e, labels,
                (a, b) -> Math.exp(-EmbeddingDistance.EUCLIDEAN.between(a, b)), ScoreDirection.HIGHER_IS_SAME);
        assertThat(prob.direction()).isEqualTo(ScoreDirection.HIGHER_IS_SAME);
        assertThat(prob.roc().auc()).isEqualTo(dist.roc().auc()).isEqualTo(1.0);
    }

    @Test
    void sampledPairsAreDistinctSeededAndOfTheRightKind() {
        int[] labels = new int[60];
        float[][] e = IdentificationTest.clusters(12, 5, 16, 1, labels);
        // 12 * C(5,2) = 120 same pairs exist; 1770 - 120 = 1650 different pairs.
        ScoredPairs p = ScoredPairs.sampled(e, labels, 100, 300, new Rng(8), EmbeddingDistance.EUCLIDEAN);
        assertThat(p.size()).isEqualTo(400);
        assertThat(p.positives()).isEqualTo(100);
        assertThat(p.negatives()).isEqualTo(300);
        Set<Long> keys = new HashSet<>();
        int[] first = p.first();
        int[] second = p.second();
        boolean[] same = p.same();
        double[] scores = p.scores();
        for (int t = 0; t < p.size(); t++) {
            assertThat(first[t]).isLessThan(second[t]);
            assertThat(same[t]).isEqualTo(labels[first[t]] == labels[second[t]]);
            assertThat(scores[t]).isEqualTo(EmbeddingDistance.EUCLIDEAN.between(e[first[t]], e[second[t]]));
            keys.add((long) first[t] * 60 + second[t]);
        }
        assertThat(keys).hasSize(400);
        // Shuffled: the first 40 pairs are not all of one kind.
        int sameInFirst40 = 0;
        for (int t = 0; t < 40; t++) {
            sameInFirst40 += same[t] ? 1 : 0;
        }
        assertThat(sameInFirst40).isBetween(1, 39);
        ScoredPairs again = ScoredPairs.sampled(e, labels, 100, 300, new Rng(8), EmbeddingDistance.EUCLIDEAN);
        assertThat(again.first()).isEqualTo(first);
        assertThat(again.second()).isEqualTo(second);
    }

    @Test
    void samplingEveryPairOfAKindTakesThemAll() {
        int[] labels = {0, 0, 0, 1, 1, 2};
        float[][] e = {{0}, {1}, {2}, {3}, {4}, {5}};
        // 3 + 1 same pairs, 15 - 4 = 11 different pairs; asking for all 11 uses the enumeration path.
        ScoredPairs p = ScoredPairs.sampled(e, labels, 4, 11, new Rng(1), EmbeddingDistance.EUCLIDEAN);
        Set<Long> keys = new HashSet<>();
        for (int t = 0; t < p.size(); t++) {
            keys.add((long) p.first()[t] * 6 + p.second()[t]);
        }
        assertThat(keys).hasSize(15);
        assertThatThrownBy(() -> ScoredPairs.sampled(e, labels, 5, 1, new Rng(1), EmbeddingDistance.EUCLIDEAN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("5 same pairs but only 4 exist");
        assertThatThrownBy(() -> ScoredPairs.sampled(e, labels, 1, 12, new Rng(1), EmbeddingDistance.EUCLIDEAN))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("12 different pairs but only 11 exist");
        assertThatThrownBy(() -> ScoredPairs.sampled(e, labels, 0, 0, new Rng(1), EmbeddingDistance.EUCLIDEAN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive number of pairs");
    }

    @Test
    void rejectsBadInput() {
        assertThatThrownBy(() -> ScoredPairs.all(new float[][] {{0}}, new int[] {0}, EmbeddingDistance.EUCLIDEAN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 2 embeddings, got 1");
        assertThatThrownBy(() -> new ScoredPairs(new double[] {1}, new boolean[] {true}, new int[] {0},
                new int[] {1, 2}, ScoreDirection.LOWER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 first and 2 second");
        assertThatThrownBy(() -> ScoredPairs.all(new float[][] {{0}, {1}}, new int[] {0, 1},
                (a, b) -> Double.NaN, ScoreDirection.HIGHER_IS_SAME))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("between embeddings 0 and 1 is NaN");
    }

    @Test
    void isImmutable() {
        double[] scores = {1, 2};
        ScoredPairs p = new ScoredPairs(scores, new boolean[] {true, false}, new int[] {0, 0}, new int[] {1, 2},
                ScoreDirection.LOWER_IS_SAME);
        scores[0] = 99;
        p.scores()[1] = 99;
        assertThat(p.scores()).containsExactly(1, 2);
    }
}
