package org.siamese4j.siamese.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.siamese4j.tensor.Tensor;

class ReductionTest {

    @Test
    void reducesHandComputedTerms() {
        Tensor terms = Tensor.of(0f, 1f, 0f, 3f);
        assertThat(Reduction.MEAN.reduce(terms).item()).isEqualTo(1f);
        assertThat(Reduction.MEAN_NONZERO.reduce(terms).item()).isEqualTo(2f);
        assertThat(Reduction.SUM.reduce(terms).item()).isEqualTo(4f);
    }

    @Test
    void meanNonzeroDividesTheSumByTheActiveCount() {
        Tensor terms = Tensor.of(0f, 1f, 0f, 3f).requiresGrad(true);
        Reduction.MEAN_NONZERO.reduce(terms).backward();
        assertThat(terms.grad().toArray()).containsOnly(0.5f);
    }

    @ParameterizedTest
    @EnumSource(Reduction.class)
    void noActiveTermsGiveZeroNotNaN(Reduction reduction) {
        Tensor terms = Tensor.zeros(5).requiresGrad(true);
        Tensor loss = reduction.reduce(terms);
        assertThat(loss.item()).isZero();
        loss.backward();
        assertThat(terms.grad().toArray()).doesNotContain(Float.NaN);
    }

    @ParameterizedTest
    @EnumSource(Reduction.class)
    void noTermsAtAllGiveZeroThatCanBeBackPropagated(Reduction reduction) {
        Tensor terms = Tensor.zeros(0).requiresGrad(true);
        LossResult r = LossResult.of(terms, reduction);
        assertThat(r.value()).isZero();
        assertThat(r.activeFraction()).isZero();
        assertThat(r.termCount()).isZero();
        r.loss().backward();
    }

    @Test
    void lossResultCountsActiveTermsAndKeepsItsOwnCopy() {
        LossResult r = LossResult.of(Tensor.of(0f, 1f, 0f, 3f, 2f), Reduction.SUM);
        assertThat(r.activeFraction()).isEqualTo(0.6);
        assertThat(r.activeCount()).isEqualTo(3);
        assertThat(r.termCount()).isEqualTo(5);
        r.terms()[1] = 99f;
        assertThat(r.terms()).containsExactly(0f, 1f, 0f, 3f, 2f);
        assertThat(r.toString()).contains("loss=6.0").contains("terms=5").contains("activeFraction=0.6");
    }

    @Test
    void lossResultRejectsNonScalarLoss() {
        assertThatThrownBy(() -> new LossResult(Tensor.zeros(2), new float[2], 0.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2]");
        assertThatThrownBy(() -> new LossResult(Tensor.scalar(0f), new float[2], 1.5))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1.5");
    }
}
