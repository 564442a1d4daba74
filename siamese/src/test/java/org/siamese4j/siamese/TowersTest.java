package org.siamese4j.siamese;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.tensor.Rng;

class TowersTest {
    /** The spec line of the benchmarks' reference tower, as the model-file issue writes it. */
    static final String REFERENCE = "conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu maxpool(2) "
            + "conv(128,3,pad=1) relu maxpool(2) flatten dense(256) relu dense(128) l2norm";

    @Test
    void referenceTowerIsExactlyTheSpecLine() {
        int[] input = {1, 112, 92};
        assertThat(ArchSpec.parse(REFERENCE).differences(Towers.reference(new Rng(1)), input)).isEmpty();
        assertThat(Towers.reference(new Rng(1)).parameterCount()).isEqualTo(5_172_096);
    }

    @Test
    void smallTowerIsDescribedBySpecToo() {
        String small = "conv(16,3,pad=1) batchnorm relu maxpool(2) conv(32,3,pad=1) batchnorm relu maxpool(2) "
                + "conv(64,3,pad=1) batchnorm relu maxpool(2) flatten dense(64) l2norm";
        assertThat(ArchSpec.parse(small).differences(Towers.small(new Rng(1)), new int[] {1, 56, 46})).isEmpty();
    }
}
