package org.siamese4j.siamese.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.loss.GradAssert.assertAllFinite;
import static org.siamese4j.siamese.loss.GradAssert.assertGradientsMatch;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class CircleLossTest {

    // =====================================================================================================
    // A direct double-precision implementation of the paper's pair-based formula, used as the reference:
    //   L = ln(1 + sum_n sum_p exp(gamma * (alpha_n (s_n - Delta_n) - alpha_p (s_p - Delta_p))))
    // with the double sum kept as it is (not factored into two log-sum-exps as the implementation does), the
    // ln(1 + sum) taken as softplus(LSE(z)) only so that gamma = 256 does not overflow a double.
    // =====================================================================================================

    /** z[n][p], the exponents of the paper's double sum. */
    private static double[][] exponents(double[] sp, double[] sn, double m, double gamma) {
        double[][] z = new double[sn.length][sp.length];
        for (int n = 0; n < sn.length; n++) {
            double alphaN = Math.max(sn[n] + m, 0);
            for (int p = 0; p < sp.length; p++) {
                double alphaP = Math.max(1 + m - sp[p], 0);
                z[n][p] = gamma * (alphaN * (sn[n] - m) - alphaP * (sp[p] - (1 - m)));
            }
        }
        return z;
    }

    private static double logSumExp(double[][] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double[] row : z) {
            for (double v : row) {
                max = Math.max(max, v);
            }
        }
        double sum = 0;
        for (double[] row : z) {
            for (double v : row) {
                sum += Math.exp(v - max);
            }
        }
        return max + Math.log(sum);
    }

    private static double softplus(double x) {
        return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
    }

    static double referenceTerm(double[] sp, double[] sn, double m, double gamma) {
        return softplus(logSumExp(exponents(sp, sn, m, gamma)));
    }

    /**
     * dL/ds with alpha held constant (detached, as in the paper): dL/dz[n][p] = sigmoid(LSE) * e^(z - LSE);
     * dz/ds_n = gamma alpha_n, dz/ds_p = -gamma alpha_p. Adds scale * gradient into gp and gn.
     */
    static void referenceGradient(double[] sp, double[] sn, double m, double gamma, double scale, double[] gp,
                                  double[] gn) {
        double[][] z = exponents(sp, sn, m, gamma);
        double lse = logSumExp(z);
        double outer = 1 / (1 + Math.exp(-lse));
        for (int n = 0; n < sn.length; n++) {
            for (int p = 0; p < sp.length; p++) {
                double w = scale * outer * Math.exp(z[n][p] - lse);
                gn[n] += w * gamma * Math.max(sn[n] + m, 0);
                gp[p] -= w * gamma * Math.max(1 + m - sp[p], 0);
            }
        }
    }

    private static double[] row(float[] values, int r, int cols) {
        double[] out = new double[cols];
        for (int c = 0; c < cols; c++) {
            out[c] = values[r * cols + c];
        }
        return out;
    }

    /** Float32 rounding of logits of size ~gamma * 5, plus a floor. */
    private static double tolerance(double gamma, double reference) {
        return 1e-5 + 2e-6 * gamma * 5 + 1e-6 * Math.abs(reference);
    }

    // =====================================================================================================
    // Pair form
    // =====================================================================================================

    @Test
    void pairFormMatchesThePaperFormula() {
        float[][] settings = {{0.25f, 256f}, {0.4f, 80f}, {0f, 16f}, {0.1f, 1f}};
        Rng rng = new Rng(31);
        for (float[] setting : settings) {
            float m = setting[0];
            float gamma = setting[1];
            Tensor sp = Tensor.uniform(rng, -1f, 1f, 3, 4);
            Tensor sn = Tensor.uniform(rng, -1f, 1f, 3, 5);
            LossResult r = new CircleLoss(m, gamma).fromSimilarities(sp, sn);
            assertThat(r.termCount()).isEqualTo(3);
            double mean = 0;
            for (int a = 0; a < 3; a++) {
                double expected = referenceTerm(row(sp.toArray(), a, 4), row(sn.toArray(), a, 5), m, gamma);
                assertThat((double) r.terms()[a]).as("m=%s gamma=%s anchor %d", m, gamma, a)
                        .isCloseTo(expected, within(tolerance(gamma, expected)));
                mean += expected / 3;
            }
            assertThat((double) r.value()).isCloseTo(mean, within(tolerance(gamma, mean)));
        }
    }

    @Test
    void handComputedSinglePair() {
        // m = 0.25, gamma = 2, s_p = 0.5, s_n = 0.5: alpha_p = 0.75, alpha_n = 0.75,
        // z = 2 * (0.75 * (0.5 - 0.25) - 0.75 * (0.5 - 0.75)) = 0.75, L = ln(1 + e^0.75)
        LossResult r = new CircleLoss(0.25f, 2f).fromSimilarities(Tensor.of(0.5f), Tensor.of(0.5f));
        assertThat((double) r.value()).isCloseTo(Math.log1p(Math.exp(0.75)), within(1e-6));
    }

    @Test
    void rankOneSimilaritiesAreOneAnchor() {
        Tensor sp = Tensor.of(0.9f, 0.4f, 0.7f);
        Tensor sn = Tensor.of(0.1f, -0.3f, 0.5f, 0.2f);
        LossResult single = new CircleLoss().fromSimilarities(sp, sn);
        LossResult rows = new CircleLoss().fromSimilarities(sp.reshape(1, 3), sn.reshape(1, 4));
        assertThat(single.termCount()).isOne();
        assertThat(single.terms()).containsExactly(rows.terms());
    }

    @Test
    void pairFormGradientMatchesPaperWithDetachedWeights() {
        for (float gamma : new float[] {32f, 256f}) {
            float m = 0.25f;
            Rng rng = new Rng(41);
            Tensor sp = Tensor.uniform(rng, -1f, 1f, 3, 4).requiresGrad(true);
            Tensor sn = Tensor.uniform(rng, -1f, 1f, 3, 5).requiresGrad(true);
            new CircleLoss(m, gamma, Reduction.SUM).fromSimilarities(sp, sn).loss().backward();
            for (int a = 0; a < 3; a++) {
                double[] gp = new double[4];
                double[] gn = new double[5];
                referenceGradient(row(sp.toArray(), a, 4), row(sn.toArray(), a, 5), m, gamma, 1, gp, gn);
                for (int k = 0; k < 4; k++) {
                    assertThat((double) sp.grad().get(a, k)).as("gamma %s d/ds_p[%d, %d]", gamma, a, k)
                            .isCloseTo(gp[k], within(1e-4 * (1 + Math.abs(gp[k])) * gamma / 32));
                }
                for (int k = 0; k < 5; k++) {
                    assertThat((double) sn.grad().get(a, k)).as("gamma %s d/ds_n[%d, %d]", gamma, a, k)
                            .isCloseTo(gn[k], within(1e-4 * (1 + Math.abs(gn[k])) * gamma / 32));
                }
            }
        }
    }

    @Test
    void pairFormGradientCheck() {
        // Finite differences cannot hold alpha constant, so this checks the variant that differentiates through
        // alpha; it shares every other step with the paper's loss, whose gradient is compared with the
        // reference above. Small gamma keeps the curvature within reach of central differences, and the
        // negatives stay clear of alpha_n's kink at s_n = -m.
        float m = 0.25f;
        Tensor sp = Tensor.uniform(new Rng(51), -0.9f, 0.95f, 3, 5).requiresGrad(true);
        Tensor sn = clearOf(Tensor.uniform(new Rng(52), -0.95f, 0.9f, 3, 7), -m, 0.05f).requiresGrad(true);
        for (Reduction reduction : Reduction.values()) {
            CircleLoss loss = new CircleLoss(m, 4f, reduction, true);
            assertGradientsMatch(in -> loss.fromSimilarities(in[0], in[1]).loss(), sp, sn);
        }
    }

    /** Moves every value within {@code gap} of {@code kink} to kink +- gap. */
    private static Tensor clearOf(Tensor t, float kink, float gap) {
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            if (Math.abs(d[i] - kink) < gap) {
                d[i] = d[i] < kink ? kink - gap : kink + gap;
            }
        }
        return t;
    }

    @Test
    void extremeSimilaritiesWithLargeGammaStayFinite() {
        CircleLoss loss = new CircleLoss(0.25f, 256f, Reduction.SUM);
        // hardest case: positives opposite, negatives identical; the exponents reach ~1250
        Tensor spHard = Tensor.of(-1f, -0.99f).requiresGrad(true);
        Tensor snHard = Tensor.of(1f, 0.999f).requiresGrad(true);
        LossResult hard = loss.fromSimilarities(spHard, snHard);
        double expected = referenceTerm(new double[] {-1, -0.99f}, new double[] {1, 0.999f}, 0.25, 256);
        assertThat(expected).isGreaterThan(1000);
        assertThat((double) hard.value()).isCloseTo(expected, within(tolerance(256, expected)));
        hard.loss().backward();
        assertAllFinite("positive gradient", spHard.grad().toArray());
        assertAllFinite("negative gradient", snHard.grad().toArray());
        // easiest case: the loss underflows towards 0 without NaN
        Tensor spEasy = Tensor.of(1f, 0.99f).requiresGrad(true);
        Tensor snEasy = Tensor.of(-1f, -0.9f).requiresGrad(true);
        LossResult easy = loss.fromSimilarities(spEasy, snEasy);
        assertThat(easy.value()).isGreaterThanOrEqualTo(0f).isLessThan(1e-6f);
        easy.loss().backward();
        assertAllFinite("positive gradient", spEasy.grad().toArray());
        assertAllFinite("negative gradient", snEasy.grad().toArray());
    }

    // =====================================================================================================
    // Batch form
    // =====================================================================================================

    private static final int[] LABELS = {0, 0, 0, 1, 1, 2, 3, 3, 4};   // 2 and 4 have no positive

    /** Rows of x normalised in double, with the same 1e-8 floor as the implementation. */
    private static double[][] normalised(float[] x, int n, int d) {
        double[][] out = new double[n][d];
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int k = 0; k < d; k++) {
                norm += (double) x[i * d + k] * x[i * d + k];
            }
            norm = Math.max(Math.sqrt(norm), 1e-8);
            for (int k = 0; k < d; k++) {
                out[i][k] = x[i * d + k] / norm;
            }
        }
        return out;
    }

    private static double dot(double[] u, double[] v) {
        double s = 0;
        for (int k = 0; k < u.length; k++) {
            s += u[k] * v[k];
        }
        return s;
    }

    /** Anchor i's positive and negative columns, or null when it has none of either. */
    private static int[][] columns(int[] labels, int i) {
        List<Integer> pos = new ArrayList<>();
        List<Integer> neg = new ArrayList<>();
        for (int j = 0; j < labels.length; j++) {
            if (j != i && labels[j] == labels[i]) {
                pos.add(j);
            } else if (labels[j] != labels[i]) {
                neg.add(j);
            }
        }
        if (pos.isEmpty() || neg.isEmpty()) {
            return null;
        }
        return new int[][] {pos.stream().mapToInt(Integer::intValue).toArray(),
                neg.stream().mapToInt(Integer::intValue).toArray()};
    }

    private static double[] pick(double[] row, int[] cols) {
        double[] out = new double[cols.length];
        for (int c = 0; c < cols.length; c++) {
            out[c] = row[cols[c]];
        }
        return out;
    }

    private static double[][] similarityMatrix(double[][] u) {
        double[][] s = new double[u.length][u.length];
        for (int i = 0; i < u.length; i++) {
            for (int j = 0; j < u.length; j++) {
                s[i][j] = dot(u[i], u[j]);
            }
        }
        return s;
    }

    @Test
    void batchFormMatchesThePaperFormulaAndSkipsAnchorsWithoutPairs() {
        float m = 0.25f;
        float gamma = 64f;
        Tensor x = Tensor.randn(new Rng(61), 9, 4);
        LossResult r = new CircleLoss(m, gamma).compute(x, LABELS);
        double[][] s = similarityMatrix(normalised(x.toArray(), 9, 4));
        List<Double> expected = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            int[][] cols = columns(LABELS, i);
            if (cols != null) {
                expected.add(referenceTerm(pick(s[i], cols[0]), pick(s[i], cols[1]), m, gamma));
            }
        }
        assertThat(expected).hasSize(7);
        assertThat(r.termCount()).isEqualTo(7);
        double mean = 0;
        for (int t = 0; t < 7; t++) {
            assertThat((double) r.terms()[t]).as("term %d", t)
                    .isCloseTo(expected.get(t), within(tolerance(gamma, expected.get(t))));
            mean += expected.get(t) / 7;
        }
        assertThat((double) r.value()).isCloseTo(mean, within(tolerance(gamma, mean)));
        assertThat(r.activeFraction()).isEqualTo(1.0);
    }

    @Test
    void batchFormGradientMatchesPaperWithDetachedWeights() {
        float m = 0.25f;
        float gamma = 16f;
        int n = 9;
        int d = 4;
        Tensor x = Tensor.randn(new Rng(62), n, d).requiresGrad(true);
        new CircleLoss(m, gamma).compute(x, LABELS).loss().backward();

        float[] xs = x.toArray();
        double[][] u = normalised(xs, n, d);
        double[][] s = similarityMatrix(u);
        // G[i][j] = dL/dS[i][j] through anchor i's row, mean over the 7 anchors that have a term
        double[][] g = new double[n][n];
        for (int i = 0; i < n; i++) {
            int[][] cols = columns(LABELS, i);
            if (cols == null) {
                continue;
            }
            double[] gp = new double[cols[0].length];
            double[] gn = new double[cols[1].length];
            referenceGradient(pick(s[i], cols[0]), pick(s[i], cols[1]), m, gamma, 1.0 / 7, gp, gn);
            for (int c = 0; c < gp.length; c++) {
                g[i][cols[0][c]] += gp[c];
            }
            for (int c = 0; c < gn.length; c++) {
                g[i][cols[1][c]] += gn[c];
            }
        }
        // S[i][j] = u_i . u_j with u = x / |x|: dS[i][j]/dx_i = (u_j - S[i][j] u_i) / |x_i|, and S[j][i] is the
        // same function of x_i, so dL/dx_i = sum_j (G[i][j] + G[j][i]) (u_j - S[i][j] u_i) / |x_i|
        for (int i = 0; i < n; i++) {
            double norm = 0;
            for (int k = 0; k < d; k++) {
                norm += (double) xs[i * d + k] * xs[i * d + k];
            }
            norm = Math.sqrt(norm);
            for (int k = 0; k < d; k++) {
                double expected = 0;
                for (int j = 0; j < n; j++) {
                    expected += (g[i][j] + g[j][i]) * (u[j][k] - s[i][j] * u[i][k]) / norm;
                }
                assertThat((double) x.grad().get(i, k)).as("d/dx[%d, %d]", i, k)
                        .isCloseTo(expected, within(1e-4 * (1 + Math.abs(expected))));
            }
        }
    }

    @Test
    void batchFormGradientCheck() {
        // as pairFormGradientCheck: the variant with alpha in the graph, small gamma; the margin is picked so
        // that no negative similarity is within reach of alpha_n's kink at -m
        Tensor x = Tensor.randn(new Rng(63), 7, 3).requiresGrad(true);
        int[] labels = {0, 0, 1, 1, 1, 2, 3};
        double[][] s = similarityMatrix(normalised(x.toArray(), 7, 3));
        float m = Float.NaN;
        for (float candidate : new float[] {0.25f, 0.2f, 0.3f, 0.15f, 0.35f, 0.1f, 0.4f, 0.05f, 0.45f}) {
            boolean clear = true;
            for (int i = 0; i < 7; i++) {
                for (int j = 0; j < 7; j++) {
                    clear &= labels[i] == labels[j] || Math.abs(s[i][j] + candidate) > 0.08;
                    clear &= i == j || Math.abs(s[i][j]) < 0.98;       // away from the +-1 clamp too
                }
            }
            if (clear) {
                m = candidate;
                break;
            }
        }
        assertThat(m).as("no margin keeps the negatives clear of the kink").isNotNaN();
        CircleLoss loss = new CircleLoss(m, 4f, Reduction.MEAN, true);
        assertGradientsMatch(in -> loss.compute(in[0], labels).loss(), x);
    }

    @Test
    void anchorsWithoutPositivesOrNegativesAreSkippedWithoutNaN() {
        Tensor x = Tensor.randn(new Rng(64), 3, 4).requiresGrad(true);
        for (int[] labels : new int[][] {{0, 1, 2}, {5, 5, 5}}) {
            for (Reduction reduction : Reduction.values()) {
                LossResult r = new CircleLoss(0.25f, 256f, reduction).compute(x, labels);
                assertThat(r.termCount()).isZero();
                assertThat(r.value()).isZero();
                assertThat(r.activeFraction()).isZero();
                r.loss().backward();
                if (x.grad() != null) {
                    assertThat(x.grad().toArray()).containsOnly(0f);
                }
                x.zeroGrad();
            }
        }
        LossResult some = new CircleLoss().compute(x, new int[] {0, 0, 1});
        assertThat(some.termCount()).isEqualTo(2);
        assertAllFinite("terms", some.terms());
    }

    @Test
    void argumentAndShapeErrors() {
        assertThatThrownBy(() -> new CircleLoss(0.5f, 64f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0.5");
        assertThatThrownBy(() -> new CircleLoss(-0.1f, 64f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("-0.1");
        assertThatThrownBy(() -> new CircleLoss(0.25f, 0f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("gamma");
        CircleLoss loss = new CircleLoss();
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(3, 4), new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 labels")
                .hasMessageContaining("[3, 3]");
        assertThatThrownBy(() -> loss.compute(Tensor.zeros(3), new int[] {0, 1, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3]");
        assertThatThrownBy(() -> loss.fromSimilarityMatrix(Tensor.zeros(3, 4), new int[] {0, 1, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3, 4]");
        assertThatThrownBy(() -> loss.fromSimilarities(Tensor.zeros(2, 3), Tensor.zeros(3, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 3]")
                .hasMessageContaining("[3, 3]");
        assertThatThrownBy(() -> loss.fromSimilarities(Tensor.zeros(2, 0), Tensor.zeros(2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive");
    }
}
