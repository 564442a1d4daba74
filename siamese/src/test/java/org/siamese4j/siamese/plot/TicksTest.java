package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class TicksTest {

    @Test
    void stepsAreRoundNumbers() {
        assertThat(Ticks.step(1.0, 5, false)).isEqualTo(0.2);
        assertThat(Ticks.step(1.0, 4, false)).isEqualTo(0.25);
        assertThat(Ticks.step(0.37, 6, false)).isCloseTo(0.1, within(1e-15));
        assertThat(Ticks.step(730, 8, false)).isEqualTo(100);
        assertThat(Ticks.step(7.3e-3, 6, false)).isCloseTo(2e-3, within(1e-18));
    }

    @Test
    void integerAxesNeverStepBelowOneNorOnHalves() {
        assertThat(Ticks.step(3, 8, true)).isEqualTo(1);
        assertThat(Ticks.step(10, 4, true)).isEqualTo(5);   // 2.5 would be the float choice
        assertThat(Ticks.step(100, 4, true)).isEqualTo(25);
    }

    @Test
    void widenAndWithin() {
        assertThat(Ticks.widen(0.13, 0.87, 0.2)).containsExactly(0.0, 1.0);
        assertThat(Ticks.within(0, 1, 0.2)).containsExactly(0, 0.2, 0.4, 0.6000000000000001, 0.8, 1);
        assertThat(Ticks.within(-0.05, 0.31, 0.1)).hasSize(4);
    }

    @Test
    void labelsHaveJustEnoughDecimals() {
        assertThat(Ticks.label(0.6000000000000001, 0.2)).isEqualTo("0.6");
        assertThat(Ticks.label(0.75, 0.25)).isEqualTo("0.75");
        assertThat(Ticks.label(20, 5)).isEqualTo("20");
        assertThat(Ticks.label(-1e-17, 0.1)).isEqualTo("0.0");
        assertThat(Ticks.label(2e6, 1e6)).isEqualTo("2.00e+06");
        assertThat(Ticks.number(0.81234)).isEqualTo("0.812");
        assertThat(Ticks.number(12.345)).isEqualTo("12.3");
    }

    @Test
    void rejectsEmptySpan() {
        assertThatThrownBy(() -> Ticks.step(0, 5, false)).hasMessageContaining("span").hasMessageContaining("0");
        assertThatThrownBy(() -> Ticks.step(Double.NaN, 5, false)).hasMessageContaining("NaN");
    }
}
