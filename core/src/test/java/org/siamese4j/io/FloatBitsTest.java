package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;

import org.junit.jupiter.api.Test;

class FloatBitsTest {

    /** Every one of the 65536 halves against the definition, computed in double with Math.scalb. */
    @Test
    void float16MatchesTheDefinitionForEveryBitPattern() {
        for (int h = 0; h < 0x10000; h++) {
            int sign = h >>> 15;
            int exp = (h >>> 10) & 0x1f;
            int mant = h & 0x3ff;
            double expected;
            if (exp == 0x1f) {
                expected = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            } else if (exp == 0) {
                expected = Math.scalb((double) mant, -24);              // subnormal: 0.mant * 2^-14
            } else {
                expected = Math.scalb(1 + mant / 1024.0, exp - 15);     // normal: 1.mant * 2^(exp-15)
            }
            if (sign == 1) {
                expected = -expected;
            }
            float got = FloatBits.float16ToFloat(h);
            if (Double.isNaN(expected)) {
                assertThat(got).as("half 0x%04X", h).isNaN();
            } else {
                // Double.compare tells -0 from +0.
                assertThat(Double.compare(got, expected)).as("half 0x%04X -> %s, expected %s", h, got, expected)
                        .isZero();
            }
        }
    }

    @Test
    void float16NanKeepsSignAndPayloadAndComesOutQuiet() {
        assertThat(Float.floatToRawIntBits(FloatBits.float16ToFloat(0x7E01))).isEqualTo(0x7FC0_2000);
        // a signalling half NaN becomes a quiet float NaN with the same payload, as JDK 20+'s float16ToFloat
        assertThat(Float.floatToRawIntBits(FloatBits.float16ToFloat(0xFC01))).isEqualTo(0xFFC0_2000);
        assertThat(Float.floatToRawIntBits(FloatBits.float16ToFloat(0x8000))).isEqualTo(0x8000_0000);
    }

    /** On JDK 20+ the platform has its own conversion: compare bit for bit (skipped on 17). */
    @Test
    void float16AgreesWithThePlatformWhereItExists() throws Exception {
        Method platform;
        try {
            platform = Float.class.getMethod("float16ToFloat", short.class);
        } catch (NoSuchMethodException e) {
            org.junit.jupiter.api.Assumptions.abort("Float.float16ToFloat needs JDK 20+, this is "
                    + Runtime.version());
            return;
        }
        for (int h = 0; h < 0x10000; h++) {
            float expected = (Float) platform.invoke(null, (short) h);
            assertThat(Float.floatToRawIntBits(FloatBits.float16ToFloat(h))).as("half 0x%04X", h)
                    .isEqualTo(Float.floatToRawIntBits(expected));
        }
    }

    @Test
    void bfloat16MatchesTheDefinitionForEveryBitPattern() {
        for (int b = 0; b < 0x10000; b++) {
            int sign = b >>> 15;
            int exp = (b >>> 7) & 0xff;
            int mant = b & 0x7f;
            double expected;
            if (exp == 0xff) {
                expected = mant == 0 ? Double.POSITIVE_INFINITY : Double.NaN;
            } else if (exp == 0) {
                expected = Math.scalb((double) mant, -133);             // 0.mant * 2^-126, mant has 7 bits
            } else {
                expected = Math.scalb(1 + mant / 128.0, exp - 127);
            }
            if (sign == 1) {
                expected = -expected;
            }
            float got = FloatBits.bfloat16ToFloat(b);
            if (Double.isNaN(expected)) {
                assertThat(got).as("bfloat16 0x%04X", b).isNaN();
            } else {
                assertThat(Double.compare(got, expected)).as("bfloat16 0x%04X -> %s, expected %s", b, got, expected)
                        .isZero();
            }
        }
    }

    @Test
    void sign16BitInputsFromShortsAreMaskedCorrectly() {
        // ByteBuffer.getShort sign-extends; the conversions must only look at the low 16 bits.
        assertThat(FloatBits.float16ToFloat((short) 0xC000)).isEqualTo(-2f);
        assertThat(FloatBits.bfloat16ToFloat((short) 0xC040)).isEqualTo(-3f);
    }
}
