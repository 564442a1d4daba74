package org.siamese4j.siamese;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.loss.GradAssert.assertAllFinite;
import static org.siamese4j.siamese.loss.GradAssert.assertGradientsMatch;
import static org.siamese4j.siamese.loss.GradAssert.input;

import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.ml.distance.EuclideanDistance;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class DistanceTest {

    // ---- forward values ----

    @Test
    void rowwiseHandComputed() {
        Tensor a = Tensor.of(new float[][] {{3, 4}, {1, 1}, {1, 0}});
        Tensor b = Tensor.of(new float[][] {{0, 0}, {1, 1}, {-1, 0}});
        assertThat(Distance.EUCLIDEAN.rowwise(a, b).toArray()).containsExactly(5f, 0f, 2f);
        assertThat(Distance.SQUARED_EUCLIDEAN.rowwise(a, b).toArray()).containsExactly(25f, 0f, 4f);
        // (3,4) vs the zero vector: similarity 0, distance 1; equal vectors 0; opposite vectors 2
        float[] cosine = Distance.COSINE.rowwise(a, b).toArray();
        assertThat(cosine[0]).isCloseTo(1f, within(1e-6f));
        assertThat(cosine[1]).isCloseTo(0f, within(1e-6f));
        assertThat(cosine[2]).isCloseTo(2f, within(1e-6f));
    }

    @Test
    void cosineOfOrthogonalAndScaledVectors() {
        Tensor a = Tensor.of(new float[][] {{1, 0, 0}, {1, 2, 2}});
        Tensor b = Tensor.of(new float[][] {{0, 5, 0}, {2, 4, 4}});
        assertThat(Distance.COSINE.rowwise(a, b).toArray()).containsExactly(new float[] {1f, 0f}, within(1e-6f));
        // cos((1,0,0), (2,4,4)) = 2 / (1 * 6); cos((1,2,2), (0,5,0)) = 10 / (3 * 5)
        float[] sim = Distance.cosineSimilarity(a, b).toArray();
        assertThat(sim).containsExactly(new float[] {0f, 2f / 6f, 10f / 15f, 1f}, within(1e-6f));
    }

    @Test
    void rowwiseAndBetweenMatchCommonsMath() {
        Rng rng = new Rng(11);
        Tensor a = Tensor.randn(rng, 3, 5);
        Tensor b = Tensor.randn(rng, 3, 5);
        float[] euclid = Distance.EUCLIDEAN.rowwise(a, b).toArray();
        float[] squared = Distance.SQUARED_EUCLIDEAN.rowwise(a, b).toArray();
        float[] cosine = Distance.COSINE.rowwise(a, b).toArray();
        for (int i = 0; i < 3; i++) {
            double[] u = row(a, i);
            double[] v = row(b, i);
            double e = new EuclideanDistance().compute(u, v);
            double c = 1 - new ArrayRealVector(u).cosine(new ArrayRealVector(v));
            assertThat((double) euclid[i]).isCloseTo(e, within(1e-5));
            assertThat((double) squared[i]).isCloseTo(e * e, within(1e-4));
            assertThat((double) cosine[i]).isCloseTo(c, within(1e-6));
            float[] uf = a.slice(i, i + 1).toArray();
            float[] vf = b.slice(i, i + 1).toArray();
            assertThat(Distance.EUCLIDEAN.between(uf, vf)).isCloseTo(e, within(1e-6));
            assertThat(Distance.SQUARED_EUCLIDEAN.between(uf, vf)).isCloseTo(e * e, within(1e-5));
            assertThat(Distance.COSINE.between(uf, vf)).isCloseTo(c, within(1e-9));
        }
    }

    @ParameterizedTest
    @EnumSource(Distance.class)
    void pairwiseEqualsRowwiseEntryByEntry(Distance distance) {
        Rng rng = new Rng(5);
        Tensor a = Tensor.randn(rng, 4, 5);
        Tensor b = Tensor.randn(rng, 3, 5);
        float[] matrix = distance.pairwise(a, b).toArray();
        assertThat(distance.pairwise(a, b).shape()).containsExactly(4, 3);
        int[] rowsOfA = new int[12];
        int[] rowsOfB = new int[12];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 3; j++) {
                rowsOfA[i * 3 + j] = i;
                rowsOfB[i * 3 + j] = j;
            }
        }
        float[] rowwise = distance.rowwise(a.indexSelect(0, rowsOfA), b.indexSelect(0, rowsOfB)).toArray();
        // the GEMM form cancels |a|^2 + |b|^2 (~10 here) down to the distance: float32 rounding of a few 1e-6
        assertThat(matrix).containsExactly(rowwise, within(2e-5f));
    }

    @ParameterizedTest
    @EnumSource(Distance.class)
    void selfPairwiseIsSymmetricWithZeroDiagonal(Distance distance) {
        Tensor x = Tensor.randn(new Rng(8), 5, 3);
        Tensor self = distance.pairwise(x);
        Tensor other = distance.pairwise(x, x.copy());
        assertThat(self.shape()).containsExactly(5, 5);
        for (int i = 0; i < 5; i++) {
            for (int j = 0; j < 5; j++) {
                assertThat(self.get(i, j)).isCloseTo(self.get(j, i), within(1e-6f));
                if (i != j) {
                    assertThat(self.get(i, j)).isCloseTo(other.get(i, j), within(1e-6f));
                } else if (distance == Distance.COSINE) {
                    assertThat(self.get(i, i)).isCloseTo(0f, within(1e-6f));
                } else {
                    assertThat(self.get(i, i)).isZero();     // exactly: masked, not rounding noise
                }
            }
        }
    }

    @Test
    void pairwiseIsClampedAtZeroWhereCancellationGoesNegative() {
        // large, equal rows: |a|^2 + |b|^2 - 2ab cancels ~1e6 down to 0 and rounds to either side of it
        Tensor a = Tensor.normal(new Rng(3), 0f, 100f, 31, 67).requiresGrad(true);
        Tensor b = a.copy().requiresGrad(true);
        for (Distance d : new Distance[] {Distance.EUCLIDEAN, Distance.SQUARED_EUCLIDEAN}) {
            Tensor m = d.pairwise(a, b);
            assertAllFinite(d + " matrix", m.toArray());
            for (float v : m.toArray()) {
                assertThat(v).isGreaterThanOrEqualTo(0f);
            }
            m.sum().backward();
            assertAllFinite(d + " grad a", a.grad().toArray());
            assertAllFinite(d + " grad b", b.grad().toArray());
            a.zeroGrad();
            b.zeroGrad();
        }
    }

    // ---- gradients ----

    @ParameterizedTest
    @EnumSource(Distance.class)
    void rowwiseGradients(Distance distance) {
        assertGradientsMatch(in -> distance.rowwise(in[0], in[1]), input(1, 3, 5), input(2, 3, 5));
    }

    @ParameterizedTest
    @EnumSource(Distance.class)
    void pairwiseGradients(Distance distance) {
        assertGradientsMatch(in -> distance.pairwise(in[0], in[1]), input(3, 3, 5), input(4, 7, 5));
    }

    @ParameterizedTest
    @EnumSource(Distance.class)
    void selfPairwiseGradients(Distance distance) {
        assertGradientsMatch(in -> distance.pairwise(in[0]), input(5, 5, 3));
    }

    @Test
    void cosineSimilarityGradients() {
        assertGradientsMatch(in -> Distance.cosineSimilarity(in[0], in[1]), input(6, 3, 5), input(7, 5, 5));
    }

    // ---- zero distance ----

    @ParameterizedTest
    @EnumSource(Distance.class)
    void identicalEmbeddingsGiveFiniteZeroGradient(Distance distance) {
        Tensor a = input(9, 3, 5);
        Tensor b = a.copy().requiresGrad(true);
        Tensor d = distance.rowwise(a, b);
        assertThat(d.toArray()).containsExactly(new float[3], within(1e-6f));
        d.sum().backward();
        // d(x, x) is a minimum of every kind, so the honest gradient is 0 (for sqrt, by the 0-at-0 convention)
        assertThat(a.grad().toArray()).containsExactly(new float[15], within(1e-5f));
        assertThat(b.grad().toArray()).containsExactly(new float[15], within(1e-5f));
    }

    @ParameterizedTest
    @EnumSource(Distance.class)
    void selfDistanceMatrixHasFiniteGradient(Distance distance) {
        Tensor x = input(10, 7, 5);
        Tensor weights = Tensor.uniform(new Rng(1), -1f, 1f, 7, 7);
        distance.pairwise(x).backward(weights);
        assertAllFinite(distance + " self-matrix gradient", x.grad().toArray());
        // and the same for two separate copies of the same rows, where nothing masks the diagonal
        Tensor a = input(10, 7, 5);
        Tensor b = a.copy().requiresGrad(true);
        distance.pairwise(a, b).backward(weights);
        assertAllFinite(distance + " gradient a", a.grad().toArray());
        assertAllFinite(distance + " gradient b", b.grad().toArray());
    }

    @Test
    void euclideanOfZeroRowsHasZeroGradient() {
        Tensor x = Tensor.zeros(3, 5).requiresGrad(true);
        Distance.EUCLIDEAN.pairwise(x).sum().backward();
        assertThat(x.grad().toArray()).containsOnly(0f);
    }

    @Test
    void cosineOfZeroVectorIsOneWithFiniteGradient() {
        Tensor zero = Tensor.zeros(1, 3).requiresGrad(true);
        Tensor v = Tensor.of(new float[] {1, 2, 3}, 1, 3).requiresGrad(true);
        Tensor d = Distance.COSINE.rowwise(zero, v);
        assertThat(d.item()).isEqualTo(1f);
        d.sum().backward();
        assertAllFinite("gradient at the zero vector", zero.grad().toArray());
        assertAllFinite("gradient of the other vector", v.grad().toArray());
        assertThat(Distance.COSINE.between(new float[3], new float[] {1, 2, 3})).isEqualTo(1.0);
        assertThat(Distance.COSINE.pairwise(Tensor.zeros(2, 3)).toArray()).containsOnly(1f);
    }

    // ---- errors ----

    @ParameterizedTest
    @EnumSource(Distance.class)
    void betweenEachGivesBetweensDoublesBitForBit(Distance distance) {
        Rng rng = new Rng(21);
        for (int dims : new int[] {1, 7, 64, 67}) {
            // values over many magnitudes (rounding everywhere), a zero row (the cosine floor), a repeated row
            float[][] rows = new float[261][dims];
            for (int j = 0; j < rows.length; j++) {
                for (int k = 0; k < dims; k++) {
                    rows[j][k] = (float) (rng.nextGaussian() * Math.pow(10, rng.nextInt(13) - 6));
                }
            }
            rows[5] = new float[dims];
            rows[9] = rows[8].clone();
            Distance.Candidates block = new Distance.Candidates(dims, 300);
            double[] out = new double[300];
            for (int[] run : new int[][] {{0, 261}, {250, 255}, {8, 9}}) {      // refilled with fewer: none stale
                block.fill(rows, run[0], run[1]);
                assertThat(block.size()).isEqualTo(run[1] - run[0]);
                for (float[] query : new float[][] {rows[0], rows[5], rows[8], rows[200]}) {
                    distance.betweenEach(query, block, out);
                    for (int j = 0; j < block.size(); j++) {
                        assertThat(out[j]).as("%s, %d dims, candidate %d", distance, dims, run[0] + j)
                                .isEqualTo(distance.between(query, rows[run[0] + j]));
                    }
                }
            }
        }
    }

    @Test
    void betweenEachRefusesMismatchedLengthsAndBlocks() {
        Distance.Candidates block = new Distance.Candidates(3, 4);
        float[][] rows = {{1, 2, 3}, {4, 5, 6}, {7, 8}};
        assertThatThrownBy(() -> block.fill(rows, 0, 3)).hasMessageContaining("row 2 has length 2");
        assertThatThrownBy(() -> block.fill(new float[5][3], 0, 5)).hasMessageContaining("fit a block of 4");
        block.fill(rows, 0, 2);
        assertThatThrownBy(() -> Distance.EUCLIDEAN.betweenEach(new float[2], block, new double[4]))
                .hasMessageContaining("query has length 2, the candidates 3");
        assertThatThrownBy(() -> Distance.EUCLIDEAN.betweenEach(new float[3], block, new double[1]))
                .hasMessageContaining("room for 1 distances, there are 2");
    }

    @Test
    void rowwiseShapeMismatchNamesOpAndShapes() {
        assertThatThrownBy(() -> Distance.EUCLIDEAN.rowwise(Tensor.zeros(3, 5), Tensor.zeros(3, 4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("EUCLIDEAN.rowwise").hasMessageContaining("[3, 5]").hasMessageContaining("[3, 4]");
        assertThatThrownBy(() -> Distance.COSINE.rowwise(Tensor.zeros(2, 5), Tensor.zeros(3, 5)))
                .hasMessageContaining("[2, 5]").hasMessageContaining("[3, 5]");
    }

    @Test
    void pairwiseWidthMismatchAndRankAreRejected() {
        assertThatThrownBy(() -> Distance.SQUARED_EUCLIDEAN.pairwise(Tensor.zeros(3, 5), Tensor.zeros(4, 6)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("SQUARED_EUCLIDEAN.pairwise").hasMessageContaining("[3, 5]")
                .hasMessageContaining("[4, 6]");
        assertThatThrownBy(() -> Distance.EUCLIDEAN.pairwise(Tensor.zeros(5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("rank-2").hasMessageContaining("[5]");
        assertThatThrownBy(() -> Distance.COSINE.between(new float[2], new float[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2").hasMessageContaining("3");
    }

    private static double[] row(Tensor t, int i) {
        double[] r = new double[t.dim(1)];
        for (int k = 0; k < r.length; k++) {
            r[k] = t.get(i, k);
        }
        return r;
    }
}
