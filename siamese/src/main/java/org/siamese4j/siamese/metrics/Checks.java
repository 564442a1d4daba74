package org.siamese4j.siamese.metrics;

import java.util.Objects;

/** Argument checks shared by the metrics; every message names the operation and the offending value. */
final class Checks {
    private Checks() {
    }

    /** Non-null, non-empty, equal lengths, finite scores. */
    static void pairs(String op, double[] scores, boolean[] same, ScoreDirection direction) {
        Objects.requireNonNull(scores, op + ": scores is null");
        Objects.requireNonNull(same, op + ": same is null");
        Objects.requireNonNull(direction, op + ": direction is null");
        if (scores.length != same.length) {
            throw new IllegalArgumentException(op + ": " + scores.length + " scores but " + same.length
                    + " same/different labels");
        }
        if (scores.length == 0) {
            throw new IllegalArgumentException(op + ": no pairs");
        }
        for (int i = 0; i < scores.length; i++) {
            if (!Double.isFinite(scores[i])) {
                throw new IllegalArgumentException(op + ": score " + i + " is " + scores[i]
                        + "; scores must be finite");
            }
        }
    }

    /** A target false-accept rate in (0, 1]. */
    static void far(String op, double far) {
        if (!(far > 0.0 && far <= 1.0)) {
            throw new IllegalArgumentException(op + ": target FAR must be in (0, 1], got " + far);
        }
    }

    /**
     * Non-empty embeddings of one common positive dimension, finite values, one label per row.
     *
     * @return the embedding dimension
     */
    static int embeddings(String op, float[][] embeddings, int[] labels) {
        Objects.requireNonNull(embeddings, op + ": embeddings is null");
        Objects.requireNonNull(labels, op + ": labels is null");
        if (embeddings.length != labels.length) {
            throw new IllegalArgumentException(op + ": " + embeddings.length + " embeddings but " + labels.length
                    + " labels");
        }
        if (embeddings.length == 0) {
            throw new IllegalArgumentException(op + ": no embeddings");
        }
        int dim = -1;
        for (int i = 0; i < embeddings.length; i++) {
            float[] e = Objects.requireNonNull(embeddings[i], op + ": embedding " + i + " is null");
            if (dim < 0) {
                dim = e.length;
                if (dim == 0) {
                    throw new IllegalArgumentException(op + ": embedding 0 has length 0");
                }
            } else if (e.length != dim) {
                throw new IllegalArgumentException(op + ": embedding " + i + " has length " + e.length
                        + " but embedding 0 has length " + dim);
            }
            for (int k = 0; k < dim; k++) {
                if (!Float.isFinite(e[k])) {
                    throw new IllegalArgumentException(op + ": embedding " + i + " has " + e[k] + " at " + k);
                }
            }
        }
        return dim;
    }

    /** A distance that came back NaN or negative means a broken distance function, not a far pair. */
    static double distance(String op, double d, int i, int j) {
        if (Double.isNaN(d)) {
            throw new IllegalArgumentException(op + ": distance between embeddings " + i + " and " + j + " is NaN");
        }
        return d;
    }
}
