package org.siamese4j.siamese.plot;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Principal component analysis: the directions of largest variance of a point cloud, to project embeddings to
 * two dimensions for a plot.
 *
 * <p>The covariance is the sample covariance {@code C = Xc^T Xc / (n - 1)} of the centred points {@code Xc}
 * (n points of dimension d). The leading eigenvectors of C are found by subspace iteration: a block of a few more
 * vectors than asked for is multiplied by C, re-orthonormalised, and rotated by the eigenvectors of its small
 * projected matrix (Rayleigh-Ritz, solved with cyclic Jacobi rotations) until every requested pair satisfies
 * {@code ||C v - lambda v|| <= 1e-10 lambda_1}. When d &lt;= n, C is formed once (O(n d^2)) and each product
 * costs O(d^2); with fewer points than dimensions it is applied as {@code C v = Xc^T (Xc v) / (n - 1)} at O(n d).
 * All arithmetic is in double.
 *
 * <p>Each component is a unit vector whose largest-magnitude coordinate is positive (eigenvectors are only defined
 * up to sign; this makes the result reproducible). When the points span fewer dimensions than asked for, the
 * extra components have variance 0 and are some unit vectors orthogonal to the others.
 */
public final class Pca {
    private static final String WHERE = "Pca";
    private static final int EXTRA = 6;
    private static final int MAX_ITERATIONS = 2000;
    private static final double TOLERANCE = 1e-10;

    private final double[] mean;
    private final double[][] components;
    private final double[] variances;
    private final double totalVariance;

    private Pca(double[] mean, double[][] components, double[] variances, double totalVariance) {
        this.mean = mean;
        this.components = components;
        this.variances = variances;
        this.totalVariance = totalVariance;
    }

    /** See {@link #fit(double[][], int)}. */
    public static Pca fit(float[][] points, int components) {
        Objects.requireNonNull(points, "points");
        double[][] x = new double[points.length][];
        for (int i = 0; i < points.length; i++) {
            Objects.requireNonNull(points[i], "points[" + i + "]");
            x[i] = new double[points[i].length];
            for (int j = 0; j < x[i].length; j++) {
                x[i][j] = points[i][j];
            }
        }
        return fit(x, components);
    }

    /**
     * The {@code components} leading principal components of {@code points}.
     *
     * @param points     n >= 2 points of one dimension d, all values finite
     * @param components how many, in [1, d]
     * @throws IllegalArgumentException on fewer than 2 points, points of different dimensions, a non-finite value
     *                                  or a component count outside [1, d]
     */
    public static Pca fit(double[][] points, int components) {
        Objects.requireNonNull(points, "points");
        if (points.length < 2) {
            throw new IllegalArgumentException(WHERE + ": needs at least 2 points, got " + points.length);
        }
        int n = points.length;
        int d = points[0].length;
        for (int i = 0; i < n; i++) {
            Objects.requireNonNull(points[i], "points[" + i + "]");
            if (points[i].length != d) {
                throw new IllegalArgumentException(WHERE + ": points[" + i + "] has dimension " + points[i].length
                        + " but points[0] has " + d);
            }
            for (int j = 0; j < d; j++) {
                if (!Double.isFinite(points[i][j])) {
                    throw new IllegalArgumentException(WHERE + ": points[" + i + "][" + j + "] must be finite, got "
                            + points[i][j]);
                }
            }
        }
        if (components < 1 || components > d) {
            throw new IllegalArgumentException(WHERE + ": components must be in [1, " + d + "] (the dimension), got "
                    + components);
        }
        double[] mean = new double[d];
        for (double[] p : points) {
            for (int j = 0; j < d; j++) {
                mean[j] += p[j];
            }
        }
        for (int j = 0; j < d; j++) {
            mean[j] /= n;
        }
        double[][] xc = new double[n][d];
        double total = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                xc[i][j] = points[i][j] - mean[j];
                total += xc[i][j] * xc[i][j];
            }
        }
        total /= n - 1;
        double[][] vectors = new double[components][];
        double[] variances = new double[components];
        if (total == 0) {
            // All points equal: every direction has variance 0; the coordinate axes are as good as any.
            for (int k = 0; k < components; k++) {
                vectors[k] = new double[d];
                vectors[k][k] = 1;
            }
        } else {
            subspaceIteration(xc, components, vectors, variances);
        }
        return new Pca(mean, vectors, variances, total);
    }

    /** Fills {@code vectors} and {@code variances} with the leading eigenpairs of Xc^T Xc / (n - 1). */
    private static void subspaceIteration(double[][] xc, int k, double[][] vectors, double[] variances) {
        int d = xc[0].length;
        int p = Math.min(d, k + EXTRA);
        double[][] covariance = d <= xc.length ? covariance(xc) : null;
        SplittableRandom random = new SplittableRandom(0x5EED_9CA1L);
        double[][] q = new double[p][d];
        for (double[] v : q) {
            for (int j = 0; j < d; j++) {
                v[j] = random.nextDouble() - 0.5;
            }
        }
        orthonormalise(q, random);
        double[][] cq = new double[p][];
        double[] lambda = new double[p];
        for (int iteration = 0; ; iteration++) {
            for (int a = 0; a < p; a++) {
                cq[a] = covariance != null ? times(covariance, q[a]) : covarianceTimes(xc, q[a]);
            }
            // Rayleigh-Ritz: the best approximations of eigenpairs within span(q)
            double[][] t = new double[p][p];
            for (int a = 0; a < p; a++) {
                for (int b = a; b < p; b++) {
                    double s = (dot(q[a], cq[b]) + dot(q[b], cq[a])) / 2;
                    t[a][b] = s;
                    t[b][a] = s;
                }
            }
            double[][] rotation = new double[p][p];
            jacobi(t, lambda, rotation);
            q = rotate(q, rotation);
            cq = rotate(cq, rotation);
            double scale = Math.max(Math.abs(lambda[0]), Double.MIN_NORMAL);
            boolean converged = true;
            for (int a = 0; a < k && converged; a++) {
                double r = 0;
                for (int j = 0; j < d; j++) {
                    double e = cq[a][j] - lambda[a] * q[a][j];
                    r += e * e;
                }
                converged = Math.sqrt(r) <= TOLERANCE * scale;
            }
            if (converged || iteration == MAX_ITERATIONS) {
                // After MAX_ITERATIONS the leading eigenvalues are nearly equal (within a factor 1 - 1e-5 or so);
                // any vector of their span is then an equally good component, so the result is still usable.
                break;
            }
            for (int a = 0; a < p; a++) {
                q[a] = cq[a].clone();
            }
            orthonormalise(q, random);
        }
        for (int a = 0; a < k; a++) {
            vectors[a] = q[a];
            variances[a] = Math.max(0, lambda[a]);   // rounding can leave -1e-17 for a zero eigenvalue
            int largest = 0;
            for (int j = 1; j < d; j++) {
                if (Math.abs(q[a][j]) > Math.abs(q[a][largest])) {
                    largest = j;
                }
            }
            if (q[a][largest] < 0) {
                for (int j = 0; j < d; j++) {
                    q[a][j] = -q[a][j];
                }
            }
        }
    }

    /** Xc^T Xc / (n - 1), filling the upper triangle and mirroring it. */
    private static double[][] covariance(double[][] xc) {
        int d = xc[0].length;
        double[][] c = new double[d][d];
        for (double[] row : xc) {
            for (int i = 0; i < d; i++) {
                double ri = row[i];
                double[] ci = c[i];
                for (int j = i; j < d; j++) {
                    ci[j] += ri * row[j];
                }
            }
        }
        for (int i = 0; i < d; i++) {
            for (int j = i; j < d; j++) {
                c[i][j] /= xc.length - 1;
                c[j][i] = c[i][j];
            }
        }
        return c;
    }

    private static double[] times(double[][] m, double[] v) {
        double[] out = new double[m.length];
        for (int i = 0; i < m.length; i++) {
            out[i] = dot(m[i], v);
        }
        return out;
    }

    /** C v = Xc^T (Xc v) / (n - 1). */
    private static double[] covarianceTimes(double[][] xc, double[] v) {
        int d = v.length;
        double[] out = new double[d];
        for (double[] row : xc) {
            double s = dot(row, v);
            for (int j = 0; j < d; j++) {
                out[j] += s * row[j];
            }
        }
        for (int j = 0; j < d; j++) {
            out[j] /= xc.length - 1;
        }
        return out;
    }

    /**
     * Modified Gram-Schmidt, twice per vector (one pass loses orthogonality when vectors are nearly parallel). A
     * vector that vanishes (the points span fewer dimensions than the block) is replaced by a random one.
     */
    private static void orthonormalise(double[][] q, SplittableRandom random) {
        for (int a = 0; a < q.length; a++) {
            for (int attempt = 0; ; attempt++) {
                double before = Math.sqrt(dot(q[a], q[a]));
                for (int pass = 0; pass < 2; pass++) {
                    for (int b = 0; b < a; b++) {
                        double s = dot(q[a], q[b]);
                        for (int j = 0; j < q[a].length; j++) {
                            q[a][j] -= s * q[b][j];
                        }
                    }
                }
                double norm = Math.sqrt(dot(q[a], q[a]));
                if (norm > 1e-10 * before && norm > 0) {
                    for (int j = 0; j < q[a].length; j++) {
                        q[a][j] /= norm;
                    }
                    break;
                }
                if (attempt > 50) {
                    throw new IllegalStateException(WHERE + ": cannot complete an orthonormal basis");
                }
                for (int j = 0; j < q[a].length; j++) {
                    q[a][j] = random.nextDouble() - 0.5;
                }
            }
        }
    }

    /** Rows of the result: out[a] = sum_b rotation[b][a] vectors[b] (the columns of V applied to the block). */
    private static double[][] rotate(double[][] vectors, double[][] rotation) {
        int p = vectors.length;
        int d = vectors[0].length;
        double[][] out = new double[p][d];
        for (int a = 0; a < p; a++) {
            for (int b = 0; b < p; b++) {
                double r = rotation[b][a];
                for (int j = 0; j < d; j++) {
                    out[a][j] += r * vectors[b][j];
                }
            }
        }
        return out;
    }

    /**
     * Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations: {@code a = V diag(lambda) V^T},
     * eigenvalues sorted descending, eigenvectors in the columns of {@code v}. {@code a} is destroyed. Meant for
     * matrices of up to a few hundred rows ({@link org.siamese4j.siamese.baseline.FisherFaces} uses it too).
     */
    public static void jacobi(double[][] a, double[] lambda, double[][] v) {
        int p = a.length;
        for (int i = 0; i < p; i++) {
            Arrays.fill(v[i], 0);
            v[i][i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            double diag = 0;
            for (int i = 0; i < p; i++) {
                diag += a[i][i] * a[i][i];
                for (int j = i + 1; j < p; j++) {
                    off += a[i][j] * a[i][j];
                }
            }
            if (off <= 1e-30 * diag || off == 0) {
                break;
            }
            for (int i = 0; i < p; i++) {
                for (int j = i + 1; j < p; j++) {
                    if (a[i][j] == 0) {
                        continue;
                    }
                    // The rotation by theta with tan(2 theta) = 2 a_ij / (a_jj - a_ii) zeroes a_ij; t = tan(theta)
                    // is the smaller root of t^2 + 2 tau t - 1 = 0, which keeps the rotation small and stable.
                    double tau = (a[j][j] - a[i][i]) / (2 * a[i][j]);
                    double t = Math.signum(tau) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
                    if (tau == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = t * c;
                    for (int k = 0; k < p; k++) {
                        double aki = a[k][i];
                        double akj = a[k][j];
                        a[k][i] = c * aki - s * akj;
                        a[k][j] = s * aki + c * akj;
                    }
                    for (int k = 0; k < p; k++) {
                        double aik = a[i][k];
                        double ajk = a[j][k];
                        a[i][k] = c * aik - s * ajk;
                        a[j][k] = s * aik + c * ajk;
                    }
                    for (int k = 0; k < p; k++) {
                        double vki = v[k][i];
                        double vkj = v[k][j];
                        v[k][i] = c * vki - s * vkj;
                        v[k][j] = s * vki + c * vkj;
                    }
                }
            }
        }
        // sort eigenpairs by descending eigenvalue (selection sort: p is small)
        for (int i = 0; i < p; i++) {
            lambda[i] = a[i][i];
        }
        for (int i = 0; i < p; i++) {
            int best = i;
            for (int j = i + 1; j < p; j++) {
                if (lambda[j] > lambda[best]) {
                    best = j;
                }
            }
            if (best != i) {
                double tmp = lambda[i];
                lambda[i] = lambda[best];
                lambda[best] = tmp;
                for (int k = 0; k < p; k++) {
                    double x = v[k][i];
                    v[k][i] = v[k][best];
                    v[k][best] = x;
                }
            }
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int j = 0; j < a.length; j++) {
            s += a[j] * b[j];
        }
        return s;
    }

    /** Number of components. */
    public int components() {
        return components.length;
    }

    /** Dimension of the points. */
    public int dimension() {
        return mean.length;
    }

    /** The mean of the points (a copy). */
    public double[] mean() {
        return mean.clone();
    }

    /** Component {@code k} (0 = most variance) as a unit vector (a copy). */
    public double[] component(int k) {
        return components[k].clone();
    }

    /** Variance along each component, i.e. the eigenvalues of the covariance, descending (a copy). */
    public double[] variances() {
        return variances.clone();
    }

    /** Total variance: the trace of the covariance, the sum of the variances along every axis. */
    public double totalVariance() {
        return totalVariance;
    }

    /** Fraction of the total variance along each component; all 0 when the points are all equal. */
    public double[] varianceRatios() {
        double[] r = new double[variances.length];
        for (int k = 0; k < r.length; k++) {
            r[k] = totalVariance == 0 ? 0 : variances[k] / totalVariance;
        }
        return r;
    }

    /** Coordinates of {@code point} along the components: (point - mean) . component_k. */
    public double[] project(double[] point) {
        Objects.requireNonNull(point, "point");
        if (point.length != mean.length) {
            throw new IllegalArgumentException(WHERE + ".project: point has dimension " + point.length
                    + " but the PCA was fitted on dimension " + mean.length);
        }
        double[] out = new double[components.length];
        for (int k = 0; k < out.length; k++) {
            double s = 0;
            for (int j = 0; j < point.length; j++) {
                s += (point[j] - mean[j]) * components[k][j];
            }
            out[k] = s;
        }
        return out;
    }

    public double[] project(float[] point) {
        Objects.requireNonNull(point, "point");
        double[] p = new double[point.length];
        for (int j = 0; j < p.length; j++) {
            p[j] = point[j];
        }
        return project(p);
    }
}
