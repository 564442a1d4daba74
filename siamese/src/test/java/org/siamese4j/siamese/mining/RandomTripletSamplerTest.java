package org.siamese4j.siamese.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class RandomTripletSamplerTest {

    /** Shuffled labels with arbitrary (negative too) values, unequal identity sizes and two singletons. */
    private static final int[] LABELS = {5, -2, 5, 9, -2, 5, 40, 9, 5, -7};

    @Test
    void drawsOnlyValidTripletsAndNeverSingletonAnchors() {
        Triplets t = new RandomTripletSampler(LABELS).sample(5000, new Rng(1));
        assertThat(t.size()).isEqualTo(5000);
        t.requireValidFor(LABELS);
        for (int i = 0; i < t.size(); i++) {
            assertThat(t.anchor(i)).isNotIn(6, 9);
        }
    }

    @Test
    void drawsUniformly() {
        int draws = 40_000;
        Triplets t = new RandomTripletSampler(LABELS).sample(draws, new Rng(2));
        int[] anchors = new int[LABELS.length];
        int[] positivesOf0 = new int[LABELS.length];
        int[] negativesOf0 = new int[LABELS.length];
        int anchored0 = 0;
        for (int i = 0; i < t.size(); i++) {
            anchors[t.anchor(i)]++;
            if (t.anchor(i) == 0) {
                anchored0++;
                positivesOf0[t.positive(i)]++;
                negativesOf0[t.negative(i)]++;
            }
        }
        // 8 images have a positive: each is an anchor 1/8 of the time.
        for (int i = 0; i < LABELS.length; i++) {
            double expected = (i == 6 || i == 9) ? 0.0 : 1.0 / 8;
            assertThat(anchors[i] / (double) draws).as("anchor " + i).isCloseTo(expected, within(0.01));
        }
        // Anchor 0 (label 5): positives 2, 5, 8 equally; negatives the 6 images of other labels equally.
        for (int i = 0; i < LABELS.length; i++) {
            double p = LABELS[i] == 5 && i != 0 ? 1.0 / 3 : 0.0;
            double n = LABELS[i] != 5 ? 1.0 / 6 : 0.0;
            assertThat(positivesOf0[i] / (double) anchored0).as("positive " + i).isCloseTo(p, within(0.04));
            assertThat(negativesOf0[i] / (double) anchored0).as("negative " + i).isCloseTo(n, within(0.04));
        }
    }

    @Test
    void sameSeedSameTriplets() {
        RandomTripletSampler s = new RandomTripletSampler(LABELS);
        assertThat(s.sample(100, new Rng(9))).isEqualTo(s.sample(100, new Rng(9)));
        assertThat(s.sample(100, new Rng(9))).isNotEqualTo(s.sample(100, new Rng(10)));
        assertThat(s.size()).isEqualTo(LABELS.length);
    }

    @Test
    void smallestPossibleSet() {
        Triplets t = new RandomTripletSampler(new int[] {3, 1, 3}).sample(10, new Rng(4));
        for (int i = 0; i < t.size(); i++) {
            assertThat(t.negative(i)).isEqualTo(1);
            assertThat(t.anchor(i) + t.positive(i)).isEqualTo(2);
        }
    }

    @Test
    void validatesArguments() {
        assertThatThrownBy(() -> new RandomTripletSampler(new int[] {1, 1, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("second identity");
        assertThatThrownBy(() -> new RandomTripletSampler(new int[] {1, 2, 3}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("none with 2");
        assertThatThrownBy(() -> new RandomTripletSampler(new int[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0 examples");
        assertThatThrownBy(() -> new RandomTripletSampler(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
        RandomTripletSampler s = new RandomTripletSampler(LABELS);
        assertThatThrownBy(() -> s.sample(-1, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
        assertThatThrownBy(() -> s.sample(1, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rng");
    }
}
