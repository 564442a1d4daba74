package org.siamese4j.siamese.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class RetrievalTest {

    // ---------------------------------------------------------------------------------------------------------
    // Hand-computed cases
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Five points on a line, no ties: A at 0, 1, 4 and B at 2.6, 10. Rankings by hand (C correct, W wrong):
     * <pre>
     * query 0 (A, R=2):   1(A) 2.6(B) 4(A) 10(B)   C W C W   R@1 1, R@2 1, R-prec 1/2, MAP@R (1 + 0)/2   = 1/2
     * query 1 (A, R=2):   0(A) 2.6(B) 4(A) 10(B)   C W C W   R@1 1, R@2 1, R-prec 1/2, MAP@R 1/2
     * query 4 (A, R=2):   2.6(B) 1(A) 0(A) 10(B)   W C C W   R@1 0, R@2 1, R-prec 1/2, MAP@R (0 + 1/2)/2 = 1/4
     * query 2.6 (B, R=1): 4(A) 1(A) 0(A) 10(B)     W W W C   R@1 0, R@2 0, R-prec 0,   MAP@R 0
     * query 10 (B, R=1):  4(A) 2.6(B) 1(A) 0(A)    W C W W   R@1 0, R@2 1, R-prec 0,   MAP@R 0
     * </pre>
     * Means over the 5 queries: R@1 2/5, R@2 4/5, R@4 1, R-precision 3/10, MAP@R 5/20.
     */
    @Test
    void fivePointsOnALine() {
        float[][] e = {{0}, {1}, {4}, {2.6f}, {10}};
        int[] labels = {0, 0, 0, 1, 1};
        Retrieval.Report r = Retrieval.leaveOneOut(e, labels, EmbeddingDistance.EUCLIDEAN, 1, 2, 4);
        assertThat(r.queries()).isEqualTo(5);
        assertThat(r.skippedQueries()).isZero();
        assertThat(r.recallAt(1)).isCloseTo(0.4, within(1e-12));
        assertThat(r.recallAt(2)).isCloseTo(0.8, within(1e-12));
        assertThat(r.recallAt(4)).isCloseTo(1.0, within(1e-12));
        assertThat(r.rPrecision()).isCloseTo(0.3, within(1e-12));
        assertThat(r.mapAtR()).isCloseTo(0.25, within(1e-12));
        assertThat(r.ks()).containsExactly(1, 2, 4);
        assertThat(r.recallAtK()).containsExactly(new double[] {0.4, 0.8, 1.0}, within(1e-12));
    }

    /**
     * One query, ranking C W C C W W C (R = 4): MAP@R = (P@1 + P@3 + P@4) / 4 = (1 + 2/3 + 3/4) / 4 = 29/48, where a
     * plain precision at R would give 3/4 and would not notice the miss at rank 2.
     */
    @Test
    void mapAtRRewardsCorrectItemsAtTheTop() {
        double[] correct = {1, 3, 4, 9};
        double[] wrong = {2, 5, 6};
        int[] ks = {1, 2, 7, 50};
        double[] recall = new double[ks.length];
        double[] rpMap = Retrieval.scoreRanking(correct, wrong, ks, recall);
        assertThat(rpMap[0]).isCloseTo(0.75, within(1e-12));
        assertThat(rpMap[1]).isCloseTo(29.0 / 48, within(1e-12));
        assertThat(recall).containsExactly(new double[] {1, 1, 1, 1}, within(0.0));

        // The first correct one moved behind the first wrong one, W C C C W W C: (1/2 + 2/3 + 3/4) / 4
        double[] rpMap2 = Retrieval.scoreRanking(new double[] {2.5, 3, 4, 9}, wrong, ks, recall);
        assertThat(rpMap2[1]).isCloseTo((0.5 + 2.0 / 3 + 3.0 / 4) / 4, within(1e-12));
        assertThat(recall[0]).isZero();
        assertThat(recall[1]).isEqualTo(1.0);
    }

    /**
     * Four identical embeddings, three labelled A and one B. B has no mate and is left out. Each A query sees one
     * tie of {A, A, B}; the three orders W C C, C W C, C C W are equally likely and give MAP@R 1/4, 1/2, 1 (mean 7/12),
     * R-precision 1/2, 1/2, 1 (mean 2/3) and Recall@1 0, 1, 1 (mean 2/3); Recall@2 is 1 in every order.
     */
    @Test
    void identicalEmbeddingsScoreTheExpectationOverTieOrders() {
        float[][] e = {{1, 2}, {1, 2}, {1, 2}, {1, 2}};
        int[] labels = {7, 7, 3, 7};
        Retrieval.Report r = Retrieval.leaveOneOut(e, labels, EmbeddingDistance.EUCLIDEAN, 1, 2, 3);
        assertThat(r.queries()).isEqualTo(3);
        assertThat(r.skippedQueries()).isEqualTo(1);
        assertThat(r.mapAtR()).isCloseTo(7.0 / 12, within(1e-12));
        assertThat(r.rPrecision()).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(r.recallAt(1)).isCloseTo(2.0 / 3, within(1e-12));
        assertThat(r.recallAt(2)).isCloseTo(1.0, within(1e-12));
        assertThat(r.recallAt(3)).isCloseTo(1.0, within(1e-12));
    }

    /** A tie straddling rank K: Recall@K is 1 - C(t - r, s) / C(t, s) with s the tied slots inside the top K. */
    @Test
    void recallAtKWithATieAcrossRankK() {
        // wrong at 1, then a tie of 5 at distance 2 holding 2 correct (and 3 wrong), then the rest.
        double[] correct = {2, 2, 7};
        double[] wrong = {1, 2, 2, 2, 8};
        int[] ks = {1, 2, 3, 4, 6};
        double[] recall = new double[ks.length];
        Retrieval.scoreRanking(correct, wrong, ks, recall);
        assertThat(recall[0]).isZero();                                          // rank 1 is the lone wrong one
        assertThat(recall[1]).isCloseTo(1 - 3.0 / 5, within(1e-12));            // s = 1: C(3,1)/C(5,1)
        assertThat(recall[2]).isCloseTo(1 - 3.0 / 10, within(1e-12));           // s = 2: C(3,2)/C(5,2)
        assertThat(recall[3]).isCloseTo(1 - 1.0 / 10, within(1e-12));           // s = 3: C(3,3)/C(5,3)
        assertThat(recall[4]).isEqualTo(1.0);                                    // the whole tie is inside
    }

    @Test
    void queryVsReferenceCountsRFromTheReferences() {
        // references: A at 0 and 3, B at 1; query A at 0.9 -> B(0.1) A(0.9) A(2.1): W C C, R = 2
        float[][] refs = {{0}, {3}, {1}};
        int[] refLabels = {0, 0, 1};
        float[][] queries = {{0.9f}, {5}, {-1}};
        int[] queryLabels = {0, 2, 1};       // label 2 has no reference: left out
        Retrieval.Report r = Retrieval.queryVsReference(queries, queryLabels, refs, refLabels,
                EmbeddingDistance.EUCLIDEAN, 1, 2);
        // query -1 (B, R = 1): A(1) B(2) A(4): W C W -> R@1 0, R@2 1, R-prec 0, MAP 0
        assertThat(r.queries()).isEqualTo(2);
        assertThat(r.skippedQueries()).isEqualTo(1);
        assertThat(r.recallAt(1)).isCloseTo(0.0, within(1e-12));
        assertThat(r.recallAt(2)).isCloseTo(1.0, within(1e-12));
        assertThat(r.rPrecision()).isCloseTo((0.5 + 0) / 2, within(1e-12));
        assertThat(r.mapAtR()).isCloseTo(((0 + 0.5) / 2 + 0) / 2, within(1e-12));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Brute force
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Against the textbook definitions on every order of the candidates consistent with the distances: with
     * coordinates in {0, 1, 2} there are many ties, and the brute force averages over all tie-breaking orders,
     * which is what the closed forms claim to compute.
     */
    @Test
    void matchesBruteForceOverAllTieOrders() {
        Rng rng = new Rng(21);
        int[] ks = {1, 2, 3, 5, 9};
        for (int trial = 0; trial < 40; trial++) {
            int n = 4 + rng.nextInt(4);             // 4..7 items: at most 6! orders per query
            int dim = 1 + rng.nextInt(2);
            float[][] e = new float[n][dim];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < dim; c++) {
                    e[i][c] = rng.nextInt(3);
                }
                labels[i] = rng.nextInt(3);
            }
            double[] expected = bruteForceLeaveOneOut(e, labels, ks, EmbeddingDistance.EUCLIDEAN);
            if (expected == null) {
                assertThatThrownBy(() -> Retrieval.leaveOneOut(e, labels, EmbeddingDistance.EUCLIDEAN, ks))
                        .isInstanceOf(IllegalArgumentException.class);
                continue;
            }
            Retrieval.Report r = Retrieval.leaveOneOut(e, labels, EmbeddingDistance.EUCLIDEAN, ks);
            for (int i = 0; i < ks.length; i++) {
                assertThat(r.recallAtK()[i]).as("trial %d Recall@%d", trial, ks[i])
                        .isCloseTo(expected[i], within(1e-12));
            }
            assertThat(r.rPrecision()).as("trial %d R-precision", trial).isCloseTo(expected[ks.length],
                    within(1e-12));
            assertThat(r.mapAtR()).as("trial %d MAP@R", trial).isCloseTo(expected[ks.length + 1], within(1e-12));
        }
    }

    /** Continuous embeddings (no ties), larger sets: one sort and the textbook definitions. */
    @Test
    void matchesPlainSortingWithoutTies() {
        Rng rng = new Rng(5);
        int n = 90;
        float[][] e = new float[n][6];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextInt(5);
            for (int c = 0; c < 6; c++) {
                // class-dependent centre so the figures are neither 0 nor 1
                e[i][c] = (float) ((c == labels[i] ? 2.5 : 0) + rng.nextGaussian());
            }
        }
        int[] ks = {1, 4, 16, 200};
        for (EmbeddingDistance distance : List.of(EmbeddingDistance.EUCLIDEAN, EmbeddingDistance.COSINE)) {
            Retrieval.Report r = Retrieval.leaveOneOut(e, labels, distance, ks);
            double[] recall = new double[ks.length];
            double rp = 0;
            double map = 0;
            int queries = 0;
            for (int q = 0; q < n; q++) {
                List<double[]> cands = new ArrayList<>();       // {distance, correct ? 1 : 0}
                for (int c = 0; c < n; c++) {
                    if (c != q) {
                        cands.add(new double[] {distance.between(e[q], e[c]), labels[c] == labels[q] ? 1 : 0});
                    }
                }
                cands.sort((a, b) -> Double.compare(a[0], b[0]));
                boolean[] ok = new boolean[cands.size()];
                for (int i = 0; i < ok.length; i++) {
                    ok[i] = cands.get(i)[1] == 1;
                }
                double[] m = textbook(ok, ks);
                if (m == null) {
                    continue;
                }
                for (int i = 0; i < ks.length; i++) {
                    recall[i] += m[i];
                }
                rp += m[ks.length];
                map += m[ks.length + 1];
                queries++;
            }
            assertThat(r.queries()).isEqualTo(queries);
            for (int i = 0; i < ks.length; i++) {
                assertThat(r.recallAtK()[i]).isCloseTo(recall[i] / queries, within(1e-12));
            }
            assertThat(r.rPrecision()).isCloseTo(rp / queries, within(1e-12));
            assertThat(r.mapAtR()).isCloseTo(map / queries, within(1e-12));
            assertThat(r.mapAtR()).isBetween(0.3, 0.95);       // the data is neither random nor separated
        }
    }

    @Test
    void queryVsReferenceMatchesBruteForce() {
        Rng rng = new Rng(8);
        int[] ks = {1, 3};
        for (int trial = 0; trial < 30; trial++) {
            int nq = 1 + rng.nextInt(4);
            int nr = 2 + rng.nextInt(5);            // up to 6 references: 6! orders
            float[][] q = new float[nq][1];
            int[] ql = new int[nq];
            float[][] refs = new float[nr][1];
            int[] rl = new int[nr];
            for (int i = 0; i < nq; i++) {
                q[i][0] = rng.nextInt(3);
                ql[i] = rng.nextInt(2);
            }
            for (int i = 0; i < nr; i++) {
                refs[i][0] = rng.nextInt(3);
                rl[i] = rng.nextInt(2);
            }
            double[] sum = new double[ks.length + 2];
            int counted = 0;
            for (int i = 0; i < nq; i++) {
                double[] d = new double[nr];
                boolean[] ok = new boolean[nr];
                for (int c = 0; c < nr; c++) {
                    d[c] = EmbeddingDistance.EUCLIDEAN.between(q[i], refs[c]);
                    ok[c] = rl[c] == ql[i];
                }
                double[] m = averageOverTieOrders(d, ok, ks);
                if (m != null) {
                    for (int j = 0; j < m.length; j++) {
                        sum[j] += m[j];
                    }
                    counted++;
                }
            }
            if (counted == 0) {
                assertThatThrownBy(() -> Retrieval.queryVsReference(q, ql, refs, rl, EmbeddingDistance.EUCLIDEAN,
                        ks)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nothing to retrieve");
                continue;
            }
            Retrieval.Report r = Retrieval.queryVsReference(q, ql, refs, rl, EmbeddingDistance.EUCLIDEAN, ks);
            assertThat(r.queries()).isEqualTo(counted);
            assertThat(r.skippedQueries()).isEqualTo(nq - counted);
            for (int i = 0; i < ks.length; i++) {
                assertThat(r.recallAtK()[i]).isCloseTo(sum[i] / counted, within(1e-12));
            }
            assertThat(r.rPrecision()).isCloseTo(sum[ks.length] / counted, within(1e-12));
            assertThat(r.mapAtR()).isCloseTo(sum[ks.length + 1] / counted, within(1e-12));
        }
    }

    /** Recall@1 under leave-one-out is rank-1 accuracy; both give tied candidates the same fractional credit. */
    @Test
    void recallAt1IsRank1LeaveOneOutEvenWithTies() {
        Rng rng = new Rng(3);
        float[][] e = new float[200][2];
        int[] labels = new int[200];
        for (int i = 0; i < 200; i++) {
            labels[i] = rng.nextInt(7);
            e[i][0] = rng.nextInt(4) + (labels[i] % 2);
            e[i][1] = rng.nextInt(4);
        }
        double rank1 = Identification.rank1LeaveOneOut(e, labels);
        assertThat(Retrieval.leaveOneOut(e, labels, 1).recallAt(1)).isCloseTo(rank1, within(1e-12));
    }

    @Test
    void inputOrderDoesNotMatter() {
        Rng rng = new Rng(17);
        int n = 120;
        float[][] e = new float[n][2];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rng.nextInt(4);
            e[i][0] = rng.nextInt(3) + labels[i];
            e[i][1] = rng.nextInt(3);
        }
        int[] perm = rng.permutation(n);
        float[][] e2 = new float[n][];
        int[] labels2 = new int[n];
        for (int i = 0; i < n; i++) {
            e2[i] = e[perm[i]];
            labels2[i] = labels[perm[i]];
        }
        Retrieval.Report a = Retrieval.leaveOneOut(e, labels, 1, 5);
        Retrieval.Report b = Retrieval.leaveOneOut(e2, labels2, 1, 5);
        assertThat(b.recallAtK()).containsExactly(a.recallAtK(), within(1e-12));
        assertThat(b.mapAtR()).isCloseTo(a.mapAtR(), within(1e-12));
        assertThat(b.rPrecision()).isCloseTo(a.rPrecision(), within(1e-12));
    }

    @Test
    void separatedClustersArePerfectAndRandomEmbeddingsScoreNearChance() {
        int[] labels = new int[60];
        float[][] e = IdentificationTest.clusters(12, 5, 16, 1, labels);
        Retrieval.Report perfect = Retrieval.leaveOneOut(e, labels, 1, 10);
        assertThat(perfect.recallAt(1)).isEqualTo(1.0);
        assertThat(perfect.rPrecision()).isEqualTo(1.0);
        assertThat(perfect.mapAtR()).isEqualTo(1.0);

        // 4 classes of 100 with embeddings unrelated to the labels: a random ranking has precision 99/399 at every
        // rank, so R-precision and MAP@R are about 0.25 and Recall@1 too.
        Rng rng = new Rng(2);
        float[][] noise = new float[400][8];
        int[] l = new int[400];
        for (int i = 0; i < 400; i++) {
            l[i] = i % 4;
            for (int c = 0; c < 8; c++) {
                noise[i][c] = (float) rng.nextGaussian();
            }
        }
        Retrieval.Report chance = Retrieval.leaveOneOut(noise, l, 1);
        assertThat(chance.recallAt(1)).isCloseTo(99.0 / 399, within(0.05));
        assertThat(chance.rPrecision()).isCloseTo(99.0 / 399, within(0.02));
        // MAP@R of a uniformly random ranking of m = 399 candidates, R = 99 correct: rank i is correct with
        // probability R/m and, given that, holds 1 + (i - 1)(R - 1)/(m - 1) correct ones on average, so
        // E[MAP@R] = (1/R) sum_i (R/m) (1 + (i - 1)(R - 1)/(m - 1)) / i, about 0.071: well below R-precision, since
        // P@i is only about R/m at every rank and MAP@R averages R/m of them over R.
        double m = 399;
        double big = 99;
        double expectedMap = 0;
        for (int i = 1; i <= big; i++) {
            expectedMap += big / m * (1 + (i - 1) * (big - 1) / (m - 1)) / i;
        }
        expectedMap /= big;
        assertThat(expectedMap).isBetween(0.07, 0.072);
        assertThat(chance.mapAtR()).isCloseTo(expectedMap, within(0.015));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------------------

    @Test
    void rejectsBadInput() {
        float[][] e = {{0}, {1}, {2}};
        int[] labels = {0, 0, 1};
        assertThatThrownBy(() -> Retrieval.leaveOneOut(e, labels, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("K must be at least 1, got 0");
        assertThatThrownBy(() -> Retrieval.leaveOneOut(e, labels, 1, 4, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("K = 1 is asked for twice");
        assertThatThrownBy(() -> Retrieval.leaveOneOut(e, new int[] {0, 1, 2}, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nothing to retrieve");
        assertThatThrownBy(() -> Retrieval.leaveOneOut(e, new int[] {0, 1}, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 embeddings but 2 labels");
        assertThatThrownBy(() -> Retrieval.queryVsReference(new float[][] {{0, 1}}, new int[] {0}, e, labels,
                EmbeddingDistance.EUCLIDEAN, 1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("query embeddings have length 2 but references 1");
        assertThatThrownBy(() -> Retrieval.leaveOneOut(e, labels, (a, b) -> Double.NaN, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is NaN");
        Retrieval.Report r = Retrieval.leaveOneOut(e, labels, 1);
        assertThatThrownBy(() -> r.recallAt(5)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Recall@5 was not measured; measured K: [1]");
        // no K at all is fine: MAP@R and R-precision alone
        assertThat(Retrieval.leaveOneOut(e, labels).recallAtK()).isEmpty();
    }

    // ---------------------------------------------------------------------------------------------------------
    // Brute-force helpers
    // ---------------------------------------------------------------------------------------------------------

    /** Means over queries of {Recall@ks..., R-precision, MAP@R} averaged over tie orders, or null if no query. */
    private static double[] bruteForceLeaveOneOut(float[][] e, int[] labels, int[] ks, EmbeddingDistance distance) {
        double[] sum = new double[ks.length + 2];
        int counted = 0;
        for (int q = 0; q < e.length; q++) {
            double[] d = new double[e.length - 1];
            boolean[] ok = new boolean[e.length - 1];
            int t = 0;
            for (int c = 0; c < e.length; c++) {
                if (c != q) {
                    d[t] = distance.between(e[q], e[c]);
                    ok[t] = labels[c] == labels[q];
                    t++;
                }
            }
            double[] m = averageOverTieOrders(d, ok, ks);
            if (m != null) {
                for (int i = 0; i < m.length; i++) {
                    sum[i] += m[i];
                }
                counted++;
            }
        }
        if (counted == 0) {
            return null;
        }
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= counted;
        }
        return sum;
    }

    /**
     * The textbook metrics averaged over every permutation of the candidates that sorts them by distance (each is
     * one equally likely way of breaking the ties), or null when no candidate is correct.
     */
    private static double[] averageOverTieOrders(double[] d, boolean[] ok, int[] ks) {
        int m = d.length;
        double[] sum = new double[ks.length + 2];
        int[] orders = {0};
        boolean[] any = {false};
        permute(new int[m], new boolean[m], 0, d, perm -> {
            for (int i = 1; i < m; i++) {
                if (d[perm[i]] < d[perm[i - 1]]) {
                    return;
                }
            }
            boolean[] ranked = new boolean[m];
            for (int i = 0; i < m; i++) {
                ranked[i] = ok[perm[i]];
            }
            double[] metrics = textbook(ranked, ks);
            if (metrics == null) {
                return;
            }
            any[0] = true;
            for (int i = 0; i < metrics.length; i++) {
                sum[i] += metrics[i];
            }
            orders[0]++;
        });
        if (!any[0]) {
            return null;
        }
        for (int i = 0; i < sum.length; i++) {
            sum[i] /= orders[0];
        }
        return sum;
    }

    private static void permute(int[] perm, boolean[] used, int pos, double[] d,
                                java.util.function.Consumer<int[]> visit) {
        if (pos == perm.length) {
            visit.accept(perm);
            return;
        }
        for (int i = 0; i < perm.length; i++) {
            if (!used[i]) {
                used[i] = true;
                perm[pos] = i;
                permute(perm, used, pos + 1, d, visit);
                used[i] = false;
            }
        }
    }

    /**
     * {Recall@ks..., R-precision, MAP@R} of one ranking, straight from the definitions, or null when nothing in it is
     * correct.
     */
    private static double[] textbook(boolean[] ranked, int[] ks) {
        int r = 0;
        for (boolean b : ranked) {
            r += b ? 1 : 0;
        }
        if (r == 0) {
            return null;
        }
        double[] out = new double[ks.length + 2];
        for (int i = 0; i < ks.length; i++) {
            boolean hit = false;
            for (int j = 0; j < Math.min(ks[i], ranked.length); j++) {
                hit |= ranked[j];
            }
            out[i] = hit ? 1 : 0;
        }
        int hits = 0;
        double ap = 0;
        for (int i = 0; i < r; i++) {
            if (ranked[i]) {
                hits++;
                ap += (double) hits / (i + 1);
            }
        }
        out[ks.length] = (double) hits / r;
        out[ks.length + 1] = ap / r;
        return out;
    }
}
