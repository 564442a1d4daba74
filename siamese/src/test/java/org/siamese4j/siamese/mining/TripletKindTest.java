package org.siamese4j.siamese.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.mining.TripletKind.EASY;
import static org.siamese4j.siamese.mining.TripletKind.HARD;
import static org.siamese4j.siamese.mining.TripletKind.SEMI_HARD;

import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Tensor;

class TripletKindTest {

    @Test
    void classifiesTheThreeRegions() {
        assertThat(TripletKind.classify(1f, 0.5f, 0.2f)).isEqualTo(HARD);
        assertThat(TripletKind.classify(1f, 1.1f, 0.2f)).isEqualTo(SEMI_HARD);
        assertThat(TripletKind.classify(1f, 1.5f, 0.2f)).isEqualTo(EASY);
        assertThat(HARD.isNonEasy()).isTrue();
        assertThat(SEMI_HARD.isNonEasy()).isTrue();
        assertThat(EASY.isNonEasy()).isFalse();
    }

    @Test
    void boundariesFollowTheDocumentedConvention() {
        // d(a,n) == d(a,p): not hard, semi-hard (loss = m) when m > 0.
        assertThat(TripletKind.classify(1f, 1f, 0.25f)).isEqualTo(SEMI_HARD);
        // d(a,n) == d(a,p) + m: loss exactly 0, easy.
        assertThat(TripletKind.classify(1f, 1.25f, 0.25f)).isEqualTo(EASY);
        assertThat(TripletKind.classify(1f, Math.nextDown(1.25f), 0.25f)).isEqualTo(SEMI_HARD);
        assertThat(TripletKind.classify(1f, Math.nextDown(1f), 0.25f)).isEqualTo(HARD);
        // m = 0: the semi-hard band is empty; a tie is easy.
        assertThat(TripletKind.classify(1f, 1f, 0f)).isEqualTo(EASY);
        assertThat(TripletKind.classify(1f, Math.nextDown(1f), 0f)).isEqualTo(HARD);
    }

    @Test
    void boundaryIsNotMovedByFloatRounding() {
        // 1f + 1e-8f rounds to 1f in float, but the real d(a,p) + m is above d(a,n) = 1: loss m > 0, semi-hard.
        assertThat(1f + 1e-8f).isEqualTo(1f);
        assertThat(TripletKind.classify(1f, 1f, 1e-8f)).isEqualTo(SEMI_HARD);
    }

    @Test
    void infiniteDistancesAreAllowed() {
        assertThat(TripletKind.classify(1f, Float.POSITIVE_INFINITY, 0.5f)).isEqualTo(EASY);
        assertThat(TripletKind.classify(Float.POSITIVE_INFINITY, 1f, 0.5f)).isEqualTo(HARD);
        assertThat(TripletKind.classify(Float.POSITIVE_INFINITY, Float.POSITIVE_INFINITY, 0.5f)).isEqualTo(EASY);
    }

    @Test
    void rejectsNaNAndBadMargins() {
        assertThatThrownBy(() -> TripletKind.classify(Float.NaN, 1f, 0.5f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        assertThatThrownBy(() -> TripletKind.classify(1f, 1f, -0.1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("margin")
                .hasMessageContaining("-0.1");
        assertThatThrownBy(() -> TripletKind.classify(1f, 1f, Float.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("margin");
        assertThatThrownBy(() -> TripletKind.classify(1f, 1f, Float.POSITIVE_INFINITY))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("margin");
    }

    @Test
    void statsCountKindsAndFractions() {
        TripletStats s = TripletStats.of(new float[] {1, 1, 1, 1, 1}, new float[] {0.5f, 1.1f, 1.5f, 2f, 0.9f}, 0.2f);
        assertThat(s).isEqualTo(new TripletStats(2, 1, 2));
        assertThat(s.total()).isEqualTo(5);
        assertThat(s.nonEasy()).isEqualTo(3);
        assertThat(s.nonEasyFraction()).isCloseTo(0.6, within(1e-12));
        assertThat(s.fraction(HARD)).isCloseTo(0.4, within(1e-12));
        assertThat(s.semiHardFraction()).isCloseTo(0.2, within(1e-12));
        assertThat(s.count(EASY)).isEqualTo(2);
        assertThat(s.toString()).contains("5 triplets").contains("semi-hard 1 (20.0%)");
    }

    @Test
    void statsOfEmptySetAreZeroNotNaN() {
        TripletStats s = TripletStats.of(new float[0], new float[0], 0.2f);
        assertThat(s.total()).isZero();
        assertThat(s.nonEasyFraction()).isZero();
        assertThat(s.easyFraction()).isZero();
    }

    @Test
    void statsFromMatrixMatchStatsFromDistances() {
        float[] dist = {
            0f, 1f, 0.5f, 2f,
            1f, 0f, 1.2f, 0.9f,
            0.5f, 1.2f, 0f, 1f,
            2f, 0.9f, 1f, 0f};
        Triplets t = new Triplets(new int[] {0, 1, 0}, new int[] {1, 0, 1}, new int[] {2, 3, 3});
        TripletStats expected = TripletStats.of(new float[] {1f, 1f, 1f}, new float[] {0.5f, 0.9f, 2f}, 0.3f);
        assertThat(TripletStats.of(t, dist, 4, 0.3f)).isEqualTo(expected).isEqualTo(new TripletStats(1, 0, 2));
        assertThat(TripletStats.of(t, Tensor.of(dist, 4, 4), 0.3f)).isEqualTo(expected);
    }

    @Test
    void statsValidateInputs() {
        assertThatThrownBy(() -> TripletStats.of(new float[2], new float[3], 0.2f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2").hasMessageContaining("3");
        assertThatThrownBy(() -> TripletStats.of(new float[] {Float.NaN}, new float[1], 0.2f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("triplet 0")
                .hasMessageContaining("NaN");
        assertThatThrownBy(() -> TripletStats.of(new float[1], new float[1], -1f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("margin");
        Triplets t = new Triplets(new int[] {0}, new int[] {1}, new int[] {4});
        assertThatThrownBy(() -> TripletStats.of(t, new float[16], 4, 0.2f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("(0, 1, 4)")
                .hasMessageContaining("4 x 4");
        assertThatThrownBy(() -> TripletStats.of(t, new float[15], 4, 0.2f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("15 values");
        assertThatThrownBy(() -> TripletStats.of(t, Tensor.zeros(4, 5), 0.2f))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[4, 5]");
        assertThatThrownBy(() -> new TripletStats(-1, 0, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
    }
}
