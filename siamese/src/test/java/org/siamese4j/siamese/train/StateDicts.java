package org.siamese4j.siamese.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.siamese4j.tensor.Tensor;

/** Bit-level comparisons of state dicts, for the exact-resume tests: "close" is not "the same run". */
public final class StateDicts {
    private StateDicts() {
    }

    /** Same names, and every float the same bits; the message names the first tensor and index that differ. */
    public static void assertBitIdentical(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertThat(actual.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((name, t) -> {
            float[] e = t.data();
            float[] a = actual.get(name).data();
            assertThat(a.length).as(name).isEqualTo(e.length);
            for (int i = 0; i < e.length; i++) {
                if (Float.floatToRawIntBits(e[i]) != Float.floatToRawIntBits(a[i])) {
                    throw new AssertionError(name + "[" + i + "]: expected " + e[i] + ", got " + a[i]
                            + " (not bit-identical)");
                }
            }
        });
    }

    /** Whether any float of {@code a} differs in its bits from {@code b}'s (which must hold the same names). */
    public static boolean anyDifferent(Map<String, Tensor> a, Map<String, Tensor> b) {
        for (Map.Entry<String, Tensor> e : a.entrySet()) {
            float[] x = e.getValue().data();
            float[] y = b.get(e.getKey()).data();
            for (int i = 0; i < x.length; i++) {
                if (Float.floatToRawIntBits(x[i]) != Float.floatToRawIntBits(y[i])) {
                    return true;
                }
            }
        }
        return false;
    }
}
