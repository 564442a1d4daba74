package org.siamese4j.siamese.plot;

import java.util.Locale;

/**
 * Axis ticks at round numbers: steps of 1, 2, 2.5 or 5 times a power of ten, about {@code target} of them
 * over the range, and labels with just enough decimals to tell neighbouring ticks apart.
 */
final class Ticks {
    private static final double[] STEPS = {1, 2, 2.5, 5, 10};

    private Ticks() {
    }

    /**
     * The round step that gives about {@code target} intervals over {@code span}; at least 1 when
     * {@code integers} (epochs, counts).
     */
    static double step(double span, int target, boolean integers) {
        if (!(span > 0) || !Double.isFinite(span)) {
            throw new IllegalArgumentException("Ticks: span must be positive and finite, got " + span);
        }
        double raw = span / Math.max(1, target);
        double magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
        double step = 10 * magnitude;
        for (double s : STEPS) {
            // 2.5 would put integer axes on x.5 ticks
            if (s * magnitude >= raw * (1 - 1e-9) && !(integers && s == 2.5 && magnitude < 10)) {
                step = s * magnitude;
                break;
            }
        }
        return integers ? Math.max(1, Math.rint(step)) : step;
    }

    /** The range widened outwards to multiples of {@code step}. */
    static double[] widen(double lo, double hi, double step) {
        return new double[]{Math.floor(lo / step + 1e-9) * step, Math.ceil(hi / step - 1e-9) * step};
    }

    /** The multiples of {@code step} in [lo, hi] (with a small tolerance, so range ends that are ticks stay). */
    static double[] within(double lo, double hi, double step) {
        long first = (long) Math.ceil(lo / step - 1e-9);
        long last = (long) Math.floor(hi / step + 1e-9);
        int count = (int) Math.max(0, last - first + 1);
        double[] ticks = new double[count];
        for (int i = 0; i < count; i++) {
            ticks[i] = (first + i) * step;   // multiplied, not accumulated: no drift such as 0.30000000000000004
        }
        return ticks;
    }

    /** Label of a tick value on an axis with this step: "0.25", "1e+06", never "-0". */
    static String label(double value, double step) {
        if (Math.abs(value) < step * 1e-6) {
            value = 0;
        }
        double largest = Math.max(Math.abs(value), step);
        if (largest >= 1e6 || step < 1e-4) {
            return String.format(Locale.ROOT, "%.3g", value);
        }
        int decimals = Math.max(0, (int) Math.ceil(-Math.log10(step) - 1e-9));
        // 2.5, 0.25, 0.025: one more digit than the power of ten needs
        double scaled = step / Math.pow(10, -decimals);
        if (Math.abs(scaled - Math.rint(scaled)) > 1e-6) {
            decimals++;
        }
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }

    /** A number for a legend or caption: 3 significant digits, plain notation for ordinary magnitudes. */
    static String number(double value) {
        double a = Math.abs(value);
        if (value == 0) {
            return "0";
        }
        if (a >= 1e5 || a < 1e-3) {
            return String.format(Locale.ROOT, "%.3g", value);
        }
        int decimals = Math.max(0, 2 - (int) Math.floor(Math.log10(a)));
        return String.format(Locale.ROOT, "%." + decimals + "f", value);
    }
}
