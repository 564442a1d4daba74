package org.siamese4j.siamese.plot;

import java.util.Objects;

/** Input checks shared by the plots: each failure names the plot, the argument and the offending value. */
final class PlotChecks {
    private PlotChecks() {
    }

    /** Non-empty, every value finite. */
    static void finite(String plot, String name, double[] values) {
        nonEmpty(plot, name, values);
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new IllegalArgumentException(plot + ": " + name + "[" + i + "] must be finite, got "
                        + values[i]);
            }
        }
    }

    static void nonEmpty(String plot, String name, double[] values) {
        Objects.requireNonNull(values, name);
        if (values.length == 0) {
            throw new IllegalArgumentException(plot + ": " + name + " is empty");
        }
    }

    static void sameLength(String plot, String nameA, int lengthA, String nameB, int lengthB) {
        if (lengthA != lengthB) {
            throw new IllegalArgumentException(plot + ": " + nameA + " has " + lengthA + " values but " + nameB
                    + " has " + lengthB);
        }
    }

    static double min(double[] values) {
        double m = Double.POSITIVE_INFINITY;
        for (double v : values) {
            if (!Double.isNaN(v)) {
                m = Math.min(m, v);
            }
        }
        return m;
    }

    static double max(double[] values) {
        double m = Double.NEGATIVE_INFINITY;
        for (double v : values) {
            if (!Double.isNaN(v)) {
                m = Math.max(m, v);
            }
        }
        return m;
    }
}
