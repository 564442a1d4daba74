package org.siamese4j.io;

/**
 * Conversions from the 16-bit float formats to float32, by bit manipulation (JDK 17 has no
 * {@code Float.float16ToFloat}). Both are exact: every half and bfloat16 value is a float32 value.
 */
final class FloatBits {
    private FloatBits() {
    }

    /**
     * IEEE 754 binary16 (1 sign, 5 exponent bits with bias 15, 10 mantissa bits) to float32. Subnormals,
     * signed zeros and infinities convert exactly; a NaN keeps its payload in the top mantissa bits and comes out
     * quiet (bit 22 set), exactly as {@code Float.float16ToFloat} of JDK 20+ does.
     */
    static float float16ToFloat(int bits) {
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1f;
        int mant = bits & 0x3ff;
        if (exp == 0x1f) {
            // Inf (mant 0) or NaN: all-ones exponent in float32 too; a NaN is made quiet, as the JDK does.
            int quiet = mant == 0 ? 0 : 0x0040_0000;
            return Float.intBitsToFloat(sign | 0x7f80_0000 | quiet | (mant << 13));
        }
        if (exp == 0) {
            // Zero or subnormal: value = mant * 2^-24, exact in float32 (mant < 2^10, result >= 2^-24 is normal).
            float magnitude = mant * 0x1p-24f;
            return sign != 0 ? -magnitude : magnitude;
        }
        // Normal: rebias the exponent (15 -> 127) and widen the mantissa from 10 to 23 bits.
        return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
    }

    /** bfloat16 is the top half of a float32: same sign, same 8-bit exponent, 7 of the 23 mantissa bits. */
    static float bfloat16ToFloat(int bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }
}
