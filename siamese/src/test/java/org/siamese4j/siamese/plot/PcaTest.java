package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.SingularValueDecomposition;
import org.apache.commons.math3.stat.correlation.Covariance;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class PcaTest {

    /** n points in d dimensions with axis scales {@code scales}, rotated by a random orthogonal matrix. */
    static double[][] anisotropic(long seed, int n, double[] scales) {
        Rng rng = new Rng(seed);
        int d = scales.length;
        double[][] basis = new double[d][d];
        for (double[] row : basis) {
            for (int j = 0; j < d; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        double[][] q = new SingularValueDecomposition(new Array2DRowRealMatrix(basis)).getU().getData();
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < d; k++) {
                double z = scales[k] * rng.nextGaussian();
                for (int j = 0; j < d; j++) {
                    x[i][j] += z * q[j][k];
                }
            }
            x[i][0] += 3;   // an offset, so centring matters
        }
        return x;
    }

    /** Eigenvalues and vectors of the sample covariance by commons-math, compared with ours. */
    static void assertMatchesCommonsMath(double[][] x, int k) {
        Pca pca = Pca.fit(x, k);
        RealMatrix cov = new Covariance(x).getCovarianceMatrix();   // (n - 1) normalised, like Pca
        EigenDecomposition eig = new EigenDecomposition(cov);
        double[] ref = eig.getRealEigenvalues();   // descending
        double[] ours = pca.variances();
        double trace = cov.getTrace();
        assertThat(pca.totalVariance()).isCloseTo(trace, within(1e-10 * trace));
        for (int c = 0; c < k; c++) {
            assertThat(ours[c]).as("variance %d", c).isCloseTo(ref[c], within(1e-9 * ref[0]));
            double[] v = eig.getEigenvector(c).toArray();
            double[] w = pca.component(c);
            double dot = 0;
            double norm = 0;
            for (int j = 0; j < v.length; j++) {
                dot += v[j] * w[j];
                norm += w[j] * w[j];
            }
            assertThat(norm).isCloseTo(1.0, within(1e-12));
            assertThat(Math.abs(dot)).as("|cos| between component %d and commons-math's", c)
                    .isCloseTo(1.0, within(1e-8));
        }
    }

    @Test
    void matchesEigenDecompositionWhenPointsOutnumberDimensions() {
        assertMatchesCommonsMath(anisotropic(1, 300, new double[]{5, 3, 2, 1, 0.5, 0.3, 0.2}), 2);
        assertMatchesCommonsMath(anisotropic(2, 50, new double[]{4, 3.5, 3, 1, 1, 1, 0.5, 0.5, 0.1}), 4);
    }

    @Test
    void matchesEigenDecompositionWhenDimensionsOutnumberPoints() {
        // 12 points in 30 dimensions: rank 11, the covariance applied implicitly
        double[] scales = new double[30];
        for (int j = 0; j < scales.length; j++) {
            scales[j] = 10.0 / (j + 1);
        }
        assertMatchesCommonsMath(anisotropic(3, 12, scales), 3);
    }

    @Test
    void projectionsAreCentredWithTheComponentVariance() {
        double[][] x = anisotropic(4, 200, new double[]{3, 2, 1, 0.5, 0.25});
        Pca pca = Pca.fit(x, 2);
        double[] sum = new double[2];
        double[] squares = new double[2];
        for (double[] p : x) {
            double[] y = pca.project(p);
            for (int c = 0; c < 2; c++) {
                sum[c] += y[c];
                squares[c] += y[c] * y[c];
            }
        }
        for (int c = 0; c < 2; c++) {
            assertThat(sum[c] / x.length).isCloseTo(0, within(1e-10));
            assertThat(squares[c] / (x.length - 1)).isCloseTo(pca.variances()[c], within(1e-9));
        }
        assertThat(pca.varianceRatios()[0]).isGreaterThan(pca.varianceRatios()[1]);
    }

    @Test
    void pointsOnALineGiveOneComponentAndAZeroOne() {
        double[][] x = new double[7][];
        for (int i = 0; i < x.length; i++) {
            x[i] = new double[]{1 + 2.0 * i, -1 + 1.0 * i, 4 - 2.0 * i};   // direction (2, 1, -2) / 3
        }
        Pca pca = Pca.fit(x, 2);
        double[] v = pca.component(0);
        assertThat(v[0]).isCloseTo(2.0 / 3, within(1e-12));   // sign: largest |coordinate| positive
        assertThat(v[1]).isCloseTo(1.0 / 3, within(1e-12));
        assertThat(v[2]).isCloseTo(-2.0 / 3, within(1e-12));
        assertThat(pca.varianceRatios()[0]).isCloseTo(1.0, within(1e-12));
        assertThat(pca.variances()[1]).isCloseTo(0, within(1e-12));
        double[] w = pca.component(1);
        assertThat(v[0] * w[0] + v[1] * w[1] + v[2] * w[2]).isCloseTo(0, within(1e-12));
        assertThat(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).isCloseTo(1, within(1e-12));
    }

    @Test
    void identicalPointsHaveZeroVariance() {
        Pca pca = Pca.fit(new float[][]{{1, 2, 3}, {1, 2, 3}}, 2);
        assertThat(pca.variances()).containsExactly(0, 0);
        assertThat(pca.varianceRatios()).containsExactly(0, 0);
        assertThat(pca.project(new float[]{1, 2, 3})).containsExactly(0, 0);
    }

    @Test
    void jacobiDiagonalisesASmallSymmetricMatrix() {
        double[][] a = {{4, 1, 2}, {1, 3, 0.5}, {2, 0.5, 5}};
        double[][] v = new double[3][3];
        double[] lambda = new double[3];
        Pca.jacobi(new double[][]{a[0].clone(), a[1].clone(), a[2].clone()}, lambda, v);
        double[] ref = new EigenDecomposition(new Array2DRowRealMatrix(a)).getRealEigenvalues();
        assertThat(lambda).containsExactly(ref, within(1e-12));
        for (int c = 0; c < 3; c++) {   // A v = lambda v
            for (int i = 0; i < 3; i++) {
                double av = a[i][0] * v[0][c] + a[i][1] * v[1][c] + a[i][2] * v[2][c];
                assertThat(av).isCloseTo(lambda[c] * v[i][c], within(1e-12));
            }
        }
    }

    @Test
    void badInputFailsClearly() {
        assertThatThrownBy(() -> Pca.fit(new double[][]{{1, 2}}, 1))
                .hasMessage("Pca: needs at least 2 points, got 1");
        assertThatThrownBy(() -> Pca.fit(new double[][]{{1, 2}, {3}}, 1))
                .hasMessage("Pca: points[1] has dimension 1 but points[0] has 2");
        assertThatThrownBy(() -> Pca.fit(new double[][]{{1, 2}, {3, Double.NaN}}, 1))
                .hasMessage("Pca: points[1][1] must be finite, got NaN");
        assertThatThrownBy(() -> Pca.fit(new double[][]{{1, 2}, {3, 4}}, 3))
                .hasMessage("Pca: components must be in [1, 2] (the dimension), got 3");
        Pca pca = Pca.fit(new double[][]{{1, 2}, {3, 4}}, 1);
        assertThatThrownBy(() -> pca.project(new double[]{1, 2, 3}))
                .hasMessage("Pca.project: point has dimension 3 but the PCA was fitted on dimension 2");
    }
}
