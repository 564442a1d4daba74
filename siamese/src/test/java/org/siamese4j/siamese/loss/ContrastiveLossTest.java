package org.siamese4j.siamese.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.loss.GradAssert.assertAllFinite;
import static org.siamese4j.siamese.loss.GradAssert.assertGradientsMatch;
import static org.siamese4j.siamese.loss.GradAssert.input;
import static org.siamese4j.siamese.loss.GradAssert.uniform;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.siamese4j.siamese.Distance;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class ContrastiveLossTest {

    private static final int[] MIXED_LABELS = {1, 0, 0, 1, 1, 0, 1};

    /** The worked example of {@link LabelConvention}'s javadoc. */
    @Test
    void workedExampleOfTheJavadoc() {
        Tensor d = Tensor.of(0.5f, 1.0f);
        LossResult same = new ContrastiveLoss(2f, LabelConvention.SAME_IS_ONE).compute(d, new int[] {1, 0});
        assertThat(same.terms()).containsExactly(0.25f, 1.0f);
        assertThat(same.value()).isEqualTo(0.625f);
        LossResult different = new ContrastiveLoss(2f, LabelConvention.DIFFERENT_IS_ONE).compute(d, new int[] {0, 1});
        assertThat(different.terms()).containsExactly(0.25f, 1.0f);
        assertThat(different.value()).isEqualTo(0.625f);
        LossResult mixedUp = new ContrastiveLoss(2f, LabelConvention.DIFFERENT_IS_ONE).compute(d, new int[] {1, 0});
        assertThat(mixedUp.terms()).containsExactly(2.25f, 1.0f);
        assertThat(mixedUp.value()).isEqualTo(1.625f);
    }

    @Test
    void floatLabelsGiveTheSameLossAsIntLabels() {
        Tensor d = Tensor.of(0.3f, 1.7f, 0.9f);
        ContrastiveLoss loss = new ContrastiveLoss(1.5f, LabelConvention.SAME_IS_ONE);
        assertThat(loss.compute(d, new float[] {1f, 0f, 0f}).terms())
                .containsExactly(loss.compute(d, new int[] {1, 0, 0}).terms());
        // same pair 0.3^2; different pair beyond the margin 0; different pair inside it (1.5 - 0.9)^2
        assertThat(loss.compute(d, new int[] {1, 0, 0}).terms())
                .containsExactly(new float[] {0.09f, 0f, 0.36f}, within(1e-6f));
    }

    @Test
    void conventionsAgreeWhenTheLabelsAreFlipped() {
        Tensor d1 = uniform(3, 0.1f, 2.5f, 7);
        Tensor d2 = d1.copy().requiresGrad(true);
        int[] flipped = new int[MIXED_LABELS.length];
        for (int i = 0; i < flipped.length; i++) {
            flipped[i] = 1 - MIXED_LABELS[i];
        }
        LossResult a = new ContrastiveLoss(1.2f, LabelConvention.SAME_IS_ONE).compute(d1, MIXED_LABELS);
        LossResult b = new ContrastiveLoss(1.2f, LabelConvention.DIFFERENT_IS_ONE).compute(d2, flipped);
        assertThat(a.terms()).containsExactly(b.terms());
        assertThat(a.value()).isEqualTo(b.value());
        assertThat(a.activeFraction()).isEqualTo(b.activeFraction());
        a.loss().backward();
        b.loss().backward();
        assertThat(d1.grad().toArray()).containsExactly(d2.grad().toArray());
    }

    @Test
    void activeFractionCountsPairsThatStillPull() {
        // m = 2: same at 0 (inactive), same at 0.5, different beyond the margin (inactive), different inside
        Tensor d = Tensor.of(0f, 0.5f, 2.5f, 1.0f);
        int[] labels = {1, 1, 0, 0};
        LossResult mean = new ContrastiveLoss(2f, LabelConvention.SAME_IS_ONE).compute(d, labels);
        assertThat(mean.terms()).containsExactly(0f, 0.25f, 0f, 1f);
        assertThat(mean.activeFraction()).isEqualTo(0.5);
        assertThat(mean.value()).isEqualTo(0.3125f);
        assertThat(new ContrastiveLoss(2f, LabelConvention.SAME_IS_ONE, Reduction.MEAN_NONZERO)
                .compute(d, labels).value()).isEqualTo(0.625f);
        assertThat(new ContrastiveLoss(2f, LabelConvention.SAME_IS_ONE, Reduction.SUM)
                .compute(d, labels).value()).isEqualTo(1.25f);
    }

    @Test
    void meanNonzeroWithNoActivePairIsZeroNotNaN() {
        Tensor d = Tensor.of(0f, 3f, 2.5f).requiresGrad(true);
        LossResult r = new ContrastiveLoss(2f, LabelConvention.SAME_IS_ONE, Reduction.MEAN_NONZERO)
                .compute(d, new int[] {1, 0, 0});
        assertThat(r.value()).isZero();
        assertThat(r.activeFraction()).isZero();
        r.loss().backward();
        assertThat(d.grad().toArray()).containsOnly(0f);
    }

    @ParameterizedTest
    @EnumSource(LabelConvention.class)
    void gradientWithRespectToDistances(LabelConvention convention) {
        // distances on both sides of the margin 1.3, none within the step of it (MEAN_NONZERO's divisor
        // would jump there)
        float[] d = {0.2f, 0.7f, 1.0f, 1.9f, 2.2f, 0.4f, 1.6f};
        for (Reduction reduction : Reduction.values()) {
            ContrastiveLoss loss = new ContrastiveLoss(1.3f, convention, reduction);
            assertGradientsMatch(in -> loss.compute(in[0], MIXED_LABELS).loss(), Tensor.of(d).requiresGrad(true));
        }
    }

    @ParameterizedTest
    @EnumSource(LabelConvention.class)
    void gradientThroughEmbeddings(LabelConvention convention) {
        ContrastiveLoss loss = new ContrastiveLoss(1.5f, convention);
        int[] labels = {1, 0, 1};
        for (Distance distance : Distance.values()) {
            assertGradientsMatch(in -> loss.compute(distance, in[0], in[1], labels).loss(),
                    input(5, 3, 5), input(6, 3, 5));
        }
    }

    @Test
    void identicalEmbeddingsGiveFiniteGradient() {
        Tensor a = input(7, 3, 5);
        Tensor b = a.copy().requiresGrad(true);
        for (LabelConvention convention : LabelConvention.values()) {
            int[] labels = {convention.labelFor(true), convention.labelFor(false), convention.labelFor(true)};
            LossResult r = new ContrastiveLoss(1f, convention).compute(Distance.EUCLIDEAN, a, b, labels);
            assertThat(r.terms()).containsExactly(0f, 1f, 0f);
            r.loss().backward();
            assertAllFinite("gradient a", a.grad().toArray());
            assertAllFinite("gradient b", b.grad().toArray());
            a.zeroGrad();
            b.zeroGrad();
        }
    }

    @Test
    void labelConventionMapsLabels() {
        assertThat(LabelConvention.SAME_IS_ONE.isSame(1)).isTrue();
        assertThat(LabelConvention.SAME_IS_ONE.isSame(0)).isFalse();
        assertThat(LabelConvention.DIFFERENT_IS_ONE.isSame(0)).isTrue();
        assertThat(LabelConvention.DIFFERENT_IS_ONE.labelFor(true)).isZero();
        assertThat(LabelConvention.SAME_IS_ONE.labelFor(true)).isOne();
        assertThatThrownBy(() -> LabelConvention.SAME_IS_ONE.isSame(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1");
    }

    @Test
    void labelsOtherThanZeroOrOneNameTheirIndex() {
        ContrastiveLoss loss = new ContrastiveLoss(1f, LabelConvention.SAME_IS_ONE);
        Tensor d = Tensor.of(0.1f, 0.2f, 0.3f);
        assertThatThrownBy(() -> loss.compute(d, new int[] {0, 2, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels[1] = 2");
        assertThatThrownBy(() -> loss.compute(d, new float[] {0f, 1f, 0.5f}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels[2] = 0.5");
        assertThatThrownBy(() -> loss.compute(d, new float[] {Float.NaN, 1f, 0f}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels[0] = NaN");
    }

    @Test
    void shapeAndArgumentErrors() {
        ContrastiveLoss loss = new ContrastiveLoss(1f, LabelConvention.SAME_IS_ONE);
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(3), new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 labels").hasMessageContaining("[3]");
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(3, 1), new int[] {0, 1, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3, 1]");
        assertThatThrownBy(() -> new ContrastiveLoss(0f, LabelConvention.SAME_IS_ONE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("margin").hasMessageContaining("0.0");
        assertThatThrownBy(() -> new ContrastiveLoss(Float.NaN, LabelConvention.SAME_IS_ONE))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
    }

    @Test
    void randomBatchMatchesDirectFormula() {
        Rng rng = new Rng(21);
        float m = 1.1f;
        float[] d = Tensor.uniform(rng, 0f, 2f, 9).toArray();
        int[] labels = {0, 1, 1, 0, 1, 0, 0, 1, 1};
        float[] terms = new ContrastiveLoss(m, LabelConvention.DIFFERENT_IS_ONE).compute(Tensor.of(d), labels).terms();
        for (int i = 0; i < d.length; i++) {
            double hinge = Math.max(m - d[i], 0);
            double expected = labels[i] == 0 ? (double) d[i] * d[i] : hinge * hinge;
            assertThat((double) terms[i]).isCloseTo(expected, within(1e-6));
        }
    }
}
