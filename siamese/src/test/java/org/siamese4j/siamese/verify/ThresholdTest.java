package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ThresholdTest {
    @Test
    void printsFourDecimalsLikeTheDocs() {
        Threshold calibrated = new Threshold(0.54161234567, Threshold.Kind.TARGET_FAR, 0.01, 0.61333333,
                0.0099, 0.9312345, 7140);
        assertThat(calibrated).hasToString("threshold 0.5416 (target_far 0.01; on 7140 calibration pairs TAR 0.6133, "
                + "FAR 0.0099, accuracy 0.9312)");
        assertThat(Threshold.manual(0.1)).hasToString("threshold 0.1000 (manual)");
        assertThat(Threshold.manual(Double.NEGATIVE_INFINITY)).hasToString("threshold -Infinity (manual)");
    }
}
