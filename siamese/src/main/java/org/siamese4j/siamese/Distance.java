package org.siamese4j.siamese;

import java.util.Arrays;
import java.util.Objects;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Distances between embeddings, as differentiable tensor expressions built from core ops (so their backward
 * passes come from those ops and need no hand-written gradient).
 *
 * <p>Every kind offers three forms, on embeddings stored one per row:
 * <ul>
 *   <li>{@link #rowwise(Tensor, Tensor)}: a [N, D] and b [N, D] to [N], out[i] = d(a_i, b_i) (pairs of a
 *       Siamese batch, or anchor/positive rows of a triplet batch);</li>
 *   <li>{@link #pairwise(Tensor, Tensor)}: a [N, D] and b [M, D] to [N, M], out[i, j] = d(a_i, b_j), through one
 *       GEMM (the input of online triplet mining and of verification over a gallery);</li>
 *   <li>{@link #pairwise(Tensor)}: x [N, D] to the [N, N] matrix of x against itself, whose diagonal is exactly
 *       0 for the Euclidean kinds.</li>
 * </ul>
 * {@link #between(float[], float[])} is the same distance on two plain vectors, in double precision, for code
 * that has no graph to build (metrics, mining over cached embeddings) and as a reference in tests.
 *
 * <h2>Zero distances</h2>
 * The Euclidean distance {@code sqrt(s)} has an infinite derivative at {@code s = 0}, which is exactly where
 * identical embeddings (and the diagonal of a self-distance matrix) sit. {@link Tensor#sqrt()} takes that
 * gradient as 0 (a valid subgradient: the distance has its minimum there), so identical embeddings give a
 * finite, zero gradient instead of inf or NaN. The self-distance matrix also multiplies its diagonal by a
 * constant 0 before the root, so rounding noise there can produce neither a spurious distance nor a large
 * gradient (without it, sqrt of noise ~1e-7 would be ~3e-4 with a derivative of ~1600).
 *
 * <h2>Accuracy of the GEMM form</h2>
 * {@code |a|^2 + |b|^2 - 2 a.b} cancels catastrophically for nearby vectors: its rounding error is about
 * {@code 1e-7 * (|a|^2 + |b|^2)}, so a squared distance below that (a Euclidean distance below about
 * {@code 3e-4 * |a|}) is noise, and may come out slightly negative; it is clamped at 0. Use {@link #rowwise}
 * when exact small distances matter: it subtracts first.
 */
public enum Distance {

    /**
     * {@code d(a, b) = ||a - b||_2 = sqrt(sum_k (a_k - b_k)^2)}. Pairwise: {@code sqrt(max(|a_i|^2 + |b_j|^2 -
     * 2 a_i.b_j, 0))}. The gradient {@code (a - b) / d} is taken as 0 where {@code d = 0}.
     */
    EUCLIDEAN,

    /**
     * {@code d(a, b) = ||a - b||_2^2 = sum_k (a_k - b_k)^2}, smooth everywhere (gradient {@code 2 (a - b)}).
     * Pairwise: {@code max(|a_i|^2 + |b_j|^2 - 2 a_i.b_j, 0)}.
     */
    SQUARED_EUCLIDEAN,

    /**
     * {@code d(a, b) = 1 - cos(a, b)} with {@code cos(a, b) = a.b / (max(|a|, eps) max(|b|, eps))} and
     * {@code eps = } {@link #COSINE_EPS}, clamped to [0, 2]. The epsilon (as in PyTorch's
     * {@code F.normalize}) keeps a zero vector from dividing by zero: it normalises to the zero vector, so its
     * similarity with anything is 0 and its distance 1, with a finite gradient. The clamp only removes rounding
     * overshoot past the extremes, where the true gradient is 0 anyway. Range [0, 2]: 0 for the same
     * direction, 1 for orthogonal vectors, 2 for opposite ones. Pairwise: {@code 1 - (a_i/|a_i|) . (b_j/|b_j|)}
     * over the normalised rows, one GEMM.
     */
    COSINE;

    /**
     * The norm floor of {@link #COSINE} and {@link #cosineSimilarity}: a vector shorter than this is divided by
     * it instead of by its norm. 1e-8, PyTorch's default for {@code cosine_similarity}.
     */
    public static final float COSINE_EPS = 1e-8f;

    // =====================================================================================================
    // Tensor forms
    // =====================================================================================================

    /**
     * out[i] = d(a[i], b[i]).
     *
     * @param a [N, D]
     * @param b [N, D]
     * @return [N]
     */
    public Tensor rowwise(Tensor a, Tensor b) {
        String op = name() + ".rowwise";
        requireEmbeddings(op, a, "a");
        requireEmbeddings(op, b, "b");
        Shapes.requireSame(op, a.shape(), b.shape());
        return switch (this) {
            // sum_k (a_k - b_k)^2: subtracting first keeps small distances exact (no cancellation)
            case SQUARED_EUCLIDEAN -> squaredRows(a, b);
            case EUCLIDEAN -> squaredRows(a, b).sqrt();
            // 1 - sum_k (a_k/|a|)(b_k/|b|), each norm floored at eps
            case COSINE -> Functional.l2Normalize(a, 1, COSINE_EPS)
                    .mul(Functional.l2Normalize(b, 1, COSINE_EPS))
                    .sum(1, false).clamp(-1f, 1f).neg().add(1f);
        };
    }

    /**
     * out[i, j] = d(a[i], b[j]), computed through one GEMM with b transposed in place.
     *
     * @param a [N, D]
     * @param b [M, D]
     * @return [N, M]
     */
    public Tensor pairwise(Tensor a, Tensor b) {
        String op = name() + ".pairwise";
        requireEmbeddings(op, a, "a");
        requireEmbeddings(op, b, "b");
        requireSameWidth(op, a, b);
        return switch (this) {
            case SQUARED_EUCLIDEAN -> squaredMatrix(a, b);
            case EUCLIDEAN -> squaredMatrix(a, b).sqrt();
            case COSINE -> cosineSimilarity(a, b).neg().add(1f);
        };
    }

    /**
     * The [N, N] distances of the rows of x to each other: {@code pairwise(x, x)}, except that the Euclidean
     * kinds get a diagonal of exactly 0 (a constant, so no gradient flows through it) instead of the GEMM's
     * rounding noise. The cosine diagonal is left as computed: it is ~0 for non-zero rows but 1 for a zero row,
     * like {@link #rowwise} of a zero vector with itself.
     *
     * @param x [N, D]
     * @return [N, N], symmetric
     */
    public Tensor pairwise(Tensor x) {
        String op = name() + ".pairwise";
        requireEmbeddings(op, x, "x");
        return switch (this) {
            case SQUARED_EUCLIDEAN -> squaredMatrix(x, x).mul(offDiagonalOnes(x.dim(0)));
            // the mask goes in before the root, so the diagonal reaches sqrt as an exact 0 (gradient 0 there)
            case EUCLIDEAN -> squaredMatrix(x, x).mul(offDiagonalOnes(x.dim(0))).sqrt();
            case COSINE -> cosineSimilarity(x, x).neg().add(1f);
        };
    }

    /**
     * Cosine similarities {@code out[i, j] = (a_i/|a_i|) . (b_j/|b_j|)} of the rows normalised with {@code max(|row|,}
     * {@link #COSINE_EPS}{@code )}, clamped to [-1, 1] against rounding overshoot. Differentiable; the
     * similarity-based losses (circle loss) work on this matrix.
     *
     * @param a [N, D]
     * @param b [M, D]
     * @return [N, M]
     */
    public static Tensor cosineSimilarity(Tensor a, Tensor b) {
        String op = "cosineSimilarity";
        requireEmbeddings(op, a, "a");
        requireEmbeddings(op, b, "b");
        requireSameWidth(op, a, b);
        Tensor na = Functional.l2Normalize(a, 1, COSINE_EPS);
        Tensor nb = a == b ? na : Functional.l2Normalize(b, 1, COSINE_EPS);
        return na.matmul(nb, false, true).clamp(-1f, 1f);
    }

    /** {@code cosineSimilarity(x, x)}: [N, N]. */
    public static Tensor cosineSimilarity(Tensor x) {
        return cosineSimilarity(x, x);
    }

    // =====================================================================================================
    // Plain vectors
    // =====================================================================================================

    /**
     * This distance between two vectors of the same length, accumulated in double: the same formula as the
     * tensor forms (including the cosine epsilon and clamp), for use without a graph.
     */
    public double between(float[] u, float[] v) {
        Objects.requireNonNull(u, "between: u must not be null");
        Objects.requireNonNull(v, "between: v must not be null");
        if (u.length != v.length) {
            throw new IllegalArgumentException(name() + ".between: vectors have lengths " + u.length + " and "
                    + v.length);
        }
        return between(u, v, 0);
    }

    /**
     * {@link #between(float[], float[])} of {@code u} and the {@code u.length} values of {@code rows} from
     * {@code offset}: one row of a row-major matrix, so a search over many stored vectors reads one flat array
     * instead of an array per vector.
     *
     * @throws IndexOutOfBoundsException when {@code rows} has fewer than {@code u.length} values from {@code offset}
     */
    public double between(float[] u, float[] rows, int offset) {
        Objects.checkFromIndexSize(offset, u.length, rows.length);
        switch (this) {
            case SQUARED_EUCLIDEAN, EUCLIDEAN -> {
                double s = 0;
                for (int k = 0; k < u.length; k++) {
                    double diff = (double) u[k] - rows[offset + k];
                    s += diff * diff;
                }
                return this == EUCLIDEAN ? Math.sqrt(s) : s;
            }
            default -> {
                double dot = 0;
                double uu = 0;
                double vv = 0;
                for (int k = 0; k < u.length; k++) {
                    double v = rows[offset + k];
                    dot += u[k] * v;
                    uu += (double) u[k] * u[k];
                    vv += v * v;
                }
                double cos = dot / (Math.max(Math.sqrt(uu), COSINE_EPS) * Math.max(Math.sqrt(vv), COSINE_EPS));
                return 1.0 - Math.max(-1.0, Math.min(1.0, cos));
            }
        }
    }

    /**
     * {@code out[j] = between(query, candidate j)} for every candidate of {@code candidates}: the same doubles,
     * bit for bit, since each is the same operations in the same order (Java neither fuses nor reorders double
     * arithmetic), only laid out so that the loops run along the candidates, which the JIT compiles to SIMD. A
     * nearest-neighbour search over many embeddings finds the same neighbours and ties as with {@link #between}
     * at a fraction of the time.
     *
     * @param out at least {@code candidates.size()} long
     */
    public void betweenEach(float[] query, Candidates candidates, double[] out) {
        Objects.requireNonNull(query, "betweenEach: query must not be null");
        int dims = candidates.columns.length;
        int count = candidates.count;
        if (query.length != dims) {
            throw new IllegalArgumentException(name() + ".betweenEach: the query has length " + query.length
                    + ", the candidates " + dims);
        }
        if (out.length < count) {
            throw new IllegalArgumentException(name() + ".betweenEach: out has room for " + out.length
                    + " distances, there are " + count + " candidates");
        }
        double[][] columns = candidates.columns;
        Arrays.fill(out, 0, count, 0.0);
        // Two dimensions per pass over the candidates halve the loads and stores of out[j]; the sum still adds
        // dimension k before k + 1, as between does.
        switch (this) {
            case SQUARED_EUCLIDEAN, EUCLIDEAN -> {
                int k = 0;
                for (; k + 1 < dims; k += 2) {
                    double u0 = query[k];
                    double u1 = query[k + 1];
                    double[] v0 = columns[k];
                    double[] v1 = columns[k + 1];
                    for (int j = 0; j < count; j++) {
                        double diff0 = u0 - v0[j];
                        double diff1 = u1 - v1[j];
                        out[j] = (out[j] + diff0 * diff0) + diff1 * diff1;
                    }
                }
                if (k < dims) {
                    double u = query[k];
                    double[] v = columns[k];
                    for (int j = 0; j < count; j++) {
                        double diff = u - v[j];
                        out[j] += diff * diff;
                    }
                }
                if (this == EUCLIDEAN) {
                    for (int j = 0; j < count; j++) {
                        out[j] = Math.sqrt(out[j]);
                    }
                }
            }
            default -> {
                double uu = 0;
                int k = 0;
                for (; k + 1 < dims; k += 2) {
                    double u0 = query[k];
                    double u1 = query[k + 1];
                    uu = (uu + u0 * u0) + u1 * u1;
                    double[] v0 = columns[k];
                    double[] v1 = columns[k + 1];
                    for (int j = 0; j < count; j++) {
                        out[j] = (out[j] + u0 * v0[j]) + u1 * v1[j];
                    }
                }
                if (k < dims) {
                    double u = query[k];
                    uu += u * u;
                    double[] v = columns[k];
                    for (int j = 0; j < count; j++) {
                        out[j] += u * v[j];
                    }
                }
                double normU = Math.max(Math.sqrt(uu), COSINE_EPS);
                for (int j = 0; j < count; j++) {
                    double cos = out[j] / (normU * Math.max(Math.sqrt(candidates.squaredNorms[j]), COSINE_EPS));
                    out[j] = 1.0 - Math.max(-1.0, Math.min(1.0, cos));
                }
            }
        }
    }

    /**
     * Candidate embeddings laid out for {@link #betweenEach}: one array of doubles per dimension, so the loops over
     * candidates read consecutive values. Holds up to {@code capacity} candidates of {@code dims} values
     * ({@code 8 * capacity * dims} bytes: a block that stays in the cache while many queries are measured against
     * it) and is refilled block after block.
     */
    public static final class Candidates {
        private final double[][] columns;       // columns[k][j]: value k of candidate j
        private final double[] squaredNorms;    // of each candidate, summed in the order between sums them
        private int count;

        public Candidates(int dims, int capacity) {
            if (dims < 1 || capacity < 1) {
                throw new IllegalArgumentException("Distance.Candidates: need dims >= 1 and capacity >= 1, got "
                        + dims + " and " + capacity);
            }
            this.columns = new double[dims][capacity];
            this.squaredNorms = new double[capacity];
        }

        /** Replaces the candidates with {@code rows[from .. to - 1]}, candidate j being {@code rows[from + j]}. */
        public void fill(float[][] rows, int from, int to) {
            if (from < 0 || to > rows.length || to - from < 0 || to - from > squaredNorms.length) {
                throw new IllegalArgumentException("Distance.Candidates: rows " + from + " to " + to + " of "
                        + rows.length + " do not fit a block of " + squaredNorms.length);
            }
            int dims = columns.length;
            count = to - from;
            for (int j = 0; j < count; j++) {
                float[] v = rows[from + j];
                if (v.length != dims) {
                    throw new IllegalArgumentException("Distance.Candidates: row " + (from + j) + " has length "
                            + v.length + ", the block takes " + dims);
                }
                double vv = 0;
                for (int k = 0; k < dims; k++) {
                    columns[k][j] = v[k];
                    vv += (double) v[k] * v[k];
                }
                squaredNorms[j] = vv;
            }
        }

        /** How many candidates the last {@link #fill} put in. */
        public int size() {
            return count;
        }
    }

    // =====================================================================================================
    // Building blocks
    // =====================================================================================================

    /** sum_k (a[i,k] - b[i,k])^2: [N]. */
    private static Tensor squaredRows(Tensor a, Tensor b) {
        return a.sub(b).square().sum(1, false);
    }

    /**
     * max(|a_i|^2 + |b_j|^2 - 2 a_i.b_j, 0): [N, M]. The identity |a - b|^2 = |a|^2 + |b|^2 - 2 a.b turns the
     * N*M*D subtractions into one [N, D] x [D, M] GEMM plus two row-norm vectors broadcast over its columns
     * and rows. The clamp's gradient is 0 where rounding took the value below 0.
     */
    private static Tensor squaredMatrix(Tensor a, Tensor b) {
        int m = b.dim(0);
        Tensor normsA = a.square().sum(1, true);                        // [N, 1]
        Tensor normsB = b.square().sum(1, false).reshape(1, m);         // [1, M]
        Tensor cross = a.matmul(b, false, true);                        // [N, M] = a b^T
        return normsA.add(normsB).sub(cross.mul(2f)).maximum(0f);
    }

    /** A constant [n, n] matrix of ones with a zero diagonal. */
    private static Tensor offDiagonalOnes(int n) {
        float[] mask = new float[n * n];
        Arrays.fill(mask, 1f);
        for (int i = 0; i < n; i++) {
            mask[i * n + i] = 0f;
        }
        return Tensor.wrap(mask, n, n);
    }

    private static void requireEmbeddings(String op, Tensor t, String name) {
        Objects.requireNonNull(t, () -> op + ": " + name + " must not be null");
        if (t.rank() != 2) {
            throw new IllegalArgumentException(op + ": " + name + " must be a rank-2 tensor [rows, dimensions] of "
                    + "embeddings, got shape " + Shapes.toString(t.shape()));
        }
    }

    private static void requireSameWidth(String op, Tensor a, Tensor b) {
        if (a.dim(1) != b.dim(1)) {
            throw new IllegalArgumentException(op + ": embeddings of different widths, shapes "
                    + Shapes.toString(a.shape()) + " and " + Shapes.toString(b.shape()) + " (dimension 1: "
                    + a.dim(1) + " vs " + b.dim(1) + ")");
        }
    }
}
