package org.siamese4j.siamese.metrics;

/**
 * A distance between two embeddings of equal length (smaller = more alike, {@link ScoreDirection#LOWER_IS_SAME}).
 * Sums are accumulated in double.
 */
@FunctionalInterface
public interface EmbeddingDistance {

    double between(float[] a, float[] b);

    /** {@code ||a - b||}. */
    EmbeddingDistance EUCLIDEAN = (a, b) -> Math.sqrt(squaredEuclidean(a, b));

    /** {@code ||a - b||^2}: same ranking as {@link #EUCLIDEAN}, so the same ROC, AUC and nearest neighbours. */
    EmbeddingDistance SQUARED_EUCLIDEAN = EmbeddingDistance::squaredEuclidean;

    /**
     * {@code 1 - cos(a, b)}, in [0, 2]. Undefined for a zero vector, which is rejected rather than turned into NaN.
     */
    EmbeddingDistance COSINE = (a, b) -> {
        requireSameLength("cosine", a, b);
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        if (na == 0 || nb == 0) {
            throw new IllegalArgumentException("cosine distance: undefined for a zero-norm embedding");
        }
        return 1.0 - dot / (Math.sqrt(na) * Math.sqrt(nb));
    };

    private static double squaredEuclidean(float[] a, float[] b) {
        requireSameLength("euclidean", a, b);
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }

    private static void requireSameLength(String op, float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException(op + " distance: embeddings of length " + a.length + " and "
                    + b.length);
        }
    }
}
