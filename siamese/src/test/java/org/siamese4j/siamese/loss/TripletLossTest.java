package org.siamese4j.siamese.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.loss.GradAssert.assertAllFinite;
import static org.siamese4j.siamese.loss.GradAssert.assertGradientsMatch;
import static org.siamese4j.siamese.loss.GradAssert.input;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.loss.TripletLoss.MarginType;
import org.siamese4j.tensor.Tensor;

class TripletLossTest {

    @Test
    void hardMarginHandComputed() {
        Tensor ap = Tensor.of(1f, 3f, 0.2f);
        Tensor an = Tensor.of(2f, 1f, 1f);
        // gaps + 0.5: 1 - 2 + 0.5 = -0.5 -> 0;  3 - 1 + 0.5 = 2.5;  0.2 - 1 + 0.5 = -0.3 -> 0
        LossResult mean = TripletLoss.hard(0.5f, Distance.EUCLIDEAN).compute(ap, an);
        assertThat(mean.terms()).containsExactly(0f, 2.5f, 0f);
        assertThat(mean.value()).isCloseTo(2.5f / 3, within(1e-7f));
        assertThat(mean.activeFraction()).isEqualTo(1.0 / 3);
        LossResult nonzero = new TripletLoss(0.5f, Distance.EUCLIDEAN, MarginType.HARD, Reduction.MEAN_NONZERO)
                .compute(ap, an);
        assertThat(nonzero.value()).isEqualTo(2.5f);
    }

    @Test
    void squaredAndPlainDistanceFromEmbeddings() {
        Tensor anchor = Tensor.of(new float[][] {{0, 0}});
        Tensor positive = Tensor.of(new float[][] {{3, 4}});
        Tensor negative = Tensor.of(new float[][] {{1, 0}});
        // plain: 5 - 1 + 0.5;  squared: 25 - 1 + 0.5
        assertThat(TripletLoss.hard(0.5f, Distance.EUCLIDEAN).compute(anchor, positive, negative).value())
                .isEqualTo(4.5f);
        assertThat(TripletLoss.hard(0.5f, Distance.SQUARED_EUCLIDEAN).compute(anchor, positive, negative).value())
                .isEqualTo(24.5f);
    }

    @Test
    void softMarginMatchesLog1pExp() {
        float[] ap = {0.3f, 2.0f, 1.0f, 0.0f};
        float[] an = {1.5f, 0.5f, 1.0f, 4.0f};
        LossResult r = TripletLoss.soft(Distance.EUCLIDEAN).compute(Tensor.of(ap), Tensor.of(an));
        double sum = 0;
        for (int i = 0; i < ap.length; i++) {
            double expected = Math.log1p(Math.exp((double) ap[i] - an[i]));
            assertThat((double) r.terms()[i]).isCloseTo(expected, within(1e-6));
            sum += expected;
        }
        assertThat((double) r.value()).isCloseTo(sum / ap.length, within(1e-6));
        assertThat(r.activeFraction()).isEqualTo(1.0);
        assertThat(r.terms()[2]).isCloseTo((float) Math.log(2), within(1e-7f));
    }

    @Test
    void softMarginIsStableForHugeGaps() {
        Tensor ap = Tensor.of(1000f, 0f, 500f).requiresGrad(true);
        Tensor an = Tensor.of(0f, 1000f, 500f).requiresGrad(true);
        LossResult r = new TripletLoss(0f, Distance.EUCLIDEAN, MarginType.SOFT, Reduction.SUM).compute(ap, an);
        assertThat(r.terms()).containsExactly(new float[] {1000f, 0f, (float) Math.log(2)}, within(1e-4f));
        r.loss().backward();
        // d softplus(x)/dx = sigmoid(x): 1 at +1000, 0 at -1000, 1/2 at 0
        assertThat(ap.grad().toArray()).containsExactly(new float[] {1f, 0f, 0.5f}, within(1e-7f));
        assertThat(an.grad().toArray()).containsExactly(new float[] {-1f, 0f, -0.5f}, within(1e-7f));
        // the underflowed term counts as inactive: it is exactly 0 and carries no gradient
        assertThat(r.activeFraction()).isEqualTo(2.0 / 3);
    }

    @Test
    void indexFormGathersRowsAndAccumulatesSharedGradients() {
        Tensor emb = input(1, 5, 3);
        int[] a = {0, 0, 3};
        int[] p = {1, 2, 4};
        int[] n = {3, 4, 0};
        TripletLoss loss = TripletLoss.hard(0.4f, Distance.EUCLIDEAN);
        LossResult indexed = loss.compute(emb, a, p, n);
        LossResult gathered = loss.compute(emb.indexSelect(0, a), emb.indexSelect(0, p), emb.indexSelect(0, n));
        assertThat(indexed.terms()).containsExactly(gathered.terms());
        assertGradientsMatch(in -> TripletLoss.soft(Distance.EUCLIDEAN).compute(in[0], a, p, n).loss(), input(2, 5, 3));
    }

    @ParameterizedTest
    @EnumSource(MarginType.class)
    void gradientWithRespectToDistances(MarginType type) {
        // gaps + m = 0.3 - 1.1 + 0.2 = -0.6, 1.4 - 0.5 + 0.2 = 1.1, 0.9 - 1.3 + 0.2 = -0.2, 2.0 - 0.7 + 0.2 = 1.5,
        // 0.6 - 0.6 + 0.2 = 0.2: none within the step of the hinge
        Tensor ap = Tensor.of(0.3f, 1.4f, 0.9f, 2.0f, 0.6f).requiresGrad(true);
        Tensor an = Tensor.of(1.1f, 0.5f, 1.3f, 0.7f, 0.6f).requiresGrad(true);
        for (Reduction reduction : Reduction.values()) {
            TripletLoss loss = new TripletLoss(0.2f, Distance.EUCLIDEAN, type, reduction);
            assertGradientsMatch(in -> loss.compute(in[0], in[1]).loss(), ap, an);
        }
    }

    @ParameterizedTest
    @EnumSource(Distance.class)
    void gradientThroughEmbeddings(Distance distance) {
        Tensor a = input(3, 5, 3);
        Tensor p = input(4, 5, 3);
        Tensor n = input(5, 5, 3);
        float[] dap = distance.rowwise(a, p).toArray();
        float[] dan = distance.rowwise(a, n).toArray();
        // a hinge within reach of the step (each element moves by 1e-2) would make the check meaningless: take
        // the first margin that keeps every triplet 0.1 away from it and leaves some active, some not
        float margin = Float.NaN;
        for (float candidate = 0.05f; candidate < 3f && Float.isNaN(margin); candidate += 0.05f) {
            int active = 0;
            boolean clear = true;
            for (int i = 0; i < dap.length; i++) {
                float gap = dap[i] - dan[i] + candidate;
                clear &= Math.abs(gap) > 0.1f;
                active += gap > 0 ? 1 : 0;
            }
            if (clear && active > 0 && active < dap.length) {
                margin = candidate;
            }
        }
        assertThat(margin).as("no margin keeps the triplets clear of the hinge").isNotNaN();
        TripletLoss hard = new TripletLoss(margin, distance, MarginType.HARD, Reduction.MEAN);
        assertGradientsMatch(in -> hard.compute(in[0], in[1], in[2]).loss(), a, p, n);
        TripletLoss soft = TripletLoss.soft(distance);
        assertGradientsMatch(in -> soft.compute(in[0], in[1], in[2]).loss(), a, p, n);
    }

    @Test
    void identicalAnchorAndPositiveGiveFiniteGradient() {
        Tensor a = input(6, 3, 5);
        Tensor p = a.copy().requiresGrad(true);
        Tensor n = input(7, 3, 5);
        LossResult r = TripletLoss.hard(5f, Distance.EUCLIDEAN).compute(a, p, n);
        r.loss().backward();
        assertAllFinite("anchor gradient", a.grad().toArray());
        assertAllFinite("positive gradient", p.grad().toArray());
        assertThat(p.grad().toArray()).containsOnly(0f);
    }

    @Test
    void argumentAndShapeErrors() {
        TripletLoss loss = TripletLoss.hard(0.2f, Distance.EUCLIDEAN);
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(3), Tensor.zeros(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3]").hasMessageContaining("[4]");
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(3, 2), Tensor.zeros(3, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rank-1");
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(3, 2), Tensor.zeros(3, 2), Tensor.zeros(2, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3, 2]")
                .hasMessageContaining("[2, 2]");
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(4, 2), new int[] {0}, new int[] {1, 2}, new int[] {3}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1 anchors")
                .hasMessageContaining("2 positives");
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(4, 2), new int[] {0}, new int[] {9}, new int[] {3}))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("9");
        assertThatThrownBy(() -> TripletLoss.hard(-0.1f, Distance.EUCLIDEAN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-0.1");
    }
}
