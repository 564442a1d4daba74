package org.siamese4j.siamese.metrics;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Retrieval metrics from embeddings: Recall@K, R-precision and MAP@R, the figures of metric-learning benchmarks
 * (Musgrave, Belongie and Lim 2020, "A Metric Learning Reality Check").
 *
 * <p>Every query ranks the candidates (every other embedding, or a separate reference set) by an
 * {@link EmbeddingDistance}, nearest first. A candidate is <em>correct</em> when it has the query's label, and
 * {@code R} is the number of correct candidates, so a perfect ranking puts exactly the R correct ones first.
 * <ul>
 *   <li><b>Recall@K</b> (as in metric learning since Song et al. 2016, not the information-retrieval recall): 1 when
 *       at least one of the K nearest candidates is correct, else 0. Recall@1 is nearest-neighbour accuracy.</li>
 *   <li><b>R-precision</b>: the share of correct candidates among the R nearest.</li>
 *   <li><b>MAP@R</b>: {@code (1/R) * sum over i = 1..R of P@i * [candidate i is correct]}, with {@code P@i} the
 *       precision of the i nearest. Unlike R-precision it rewards putting the correct candidates at the very top,
 *       and unlike Recall@1 it looks at the whole class, so it separates a tidy cluster from a class whose nearest
 *       neighbour happens to be right.</li>
 * </ul>
 * Each figure is the mean over queries. A query with {@code R = 0} (its class has no other item) has nothing to
 * retrieve and is left out, as in the paper; it still serves as a wrong candidate for the others.
 *
 * <h2>Ties</h2>
 * Candidates at exactly the same distance have no order, so each figure is its <em>expected value when tied
 * candidates are put in a uniformly random order</em> (the rule {@link Identification} follows for rank-1). The
 * result never depends on the order of the input, and embeddings that are all identical score chance level: Recall@1
 * is then {@code R / (n - 1)}, not 1 or 0. The expectations are exact, not sampled. For a group of {@code t} tied
 * candidates holding {@code r} correct ones, after {@code b} candidates of which {@code c} are correct:
 * <ul>
 *   <li>the group's {@code j}-th slot (rank {@code b + j}) is correct with probability {@code r/t}, and
 *       {@code E[[rank b+j correct] * (correct among the first b+j)] = (r/t)(c + 1) + (j - 1) r(r-1)/(t(t-1))},
 *       which gives MAP@R;</li>
 *   <li>the first {@code s} slots of the group hold {@code s r / t} correct candidates on average, which gives
 *       R-precision;</li>
 *   <li>when the K-th rank falls inside the group and {@code c = 0}, Recall@K is the chance that {@code s = K - b}
 *       slots drawn from the group catch a correct one: {@code 1 - C(t - r, s) / C(t, s)}.</li>
 * </ul>
 * Distances are compared as doubles; two candidates tie only when their distances are exactly equal.
 *
 * <p>Cost: every query measures every candidate and sorts the distances, O(n^2 log n) for n embeddings, a few
 * seconds for ten thousand.
 */
public final class Retrieval {
    private Retrieval() {
    }

    /**
     * What a retrieval evaluation measured. Arrays are copied in and out.
     *
     * @param queries        queries that counted (those with at least one correct candidate)
     * @param skippedQueries queries left out because no candidate has their label
     * @param ks             the K of each Recall@K, in the order asked for
     * @param recallAtK      Recall@{@code ks[i]} at index i
     * @param rPrecision     mean R-precision
     * @param mapAtR         mean MAP@R
     */
    public record Report(int queries, int skippedQueries, int[] ks, double[] recallAtK, double rPrecision,
                         double mapAtR) {
        public Report {
            Objects.requireNonNull(ks, "Retrieval.Report: ks is null");
            Objects.requireNonNull(recallAtK, "Retrieval.Report: recallAtK is null");
            if (ks.length != recallAtK.length) {
                throw new IllegalArgumentException("Retrieval.Report: " + ks.length + " values of K but "
                        + recallAtK.length + " Recall@K values");
            }
            ks = ks.clone();
            recallAtK = recallAtK.clone();
        }

        @Override
        public int[] ks() {
            return ks.clone();
        }

        @Override
        public double[] recallAtK() {
            return recallAtK.clone();
        }

        /**
         * Recall@{@code k}.
         *
         * @throws IllegalArgumentException when {@code k} was not among the K asked for
         */
        public double recallAt(int k) {
            for (int i = 0; i < ks.length; i++) {
                if (ks[i] == k) {
                    return recallAtK[i];
                }
            }
            throw new IllegalArgumentException("Retrieval.Report: Recall@" + k + " was not measured; measured K: "
                    + Arrays.toString(ks));
        }

        /** {@code Recall@1 0.812, Recall@4 0.950, R-precision 0.512, MAP@R 0.401 (4000 queries)}. */
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < ks.length; i++) {
                sb.append(String.format(Locale.ROOT, "Recall@%d %.3f, ", ks[i], recallAtK[i]));
            }
            sb.append(String.format(Locale.ROOT, "R-precision %.3f, MAP@R %.3f (%d queries", rPrecision, mapAtR,
                    queries));
            if (skippedQueries > 0) {
                sb.append(", ").append(skippedQueries).append(" without a mate left out");
            }
            return sb.append(')').toString();
        }
    }

    /** {@link #leaveOneOut(float[][], int[], EmbeddingDistance, int...)} with Euclidean distance. */
    public static Report leaveOneOut(float[][] embeddings, int[] labels, int... ks) {
        return leaveOneOut(embeddings, labels, EmbeddingDistance.EUCLIDEAN, ks);
    }

    /**
     * Every embedding is a query in turn, and every other embedding a candidate: {@code R} is the number of other
     * items of the query's label. This is the protocol of the metric-learning papers (and of the held-out classes
     * of a benchmark: train on some classes, embed the others, rank them among themselves).
     *
     * @param ks the K of each Recall@K to measure (may be empty), each at least 1, no repeats
     * @throws IllegalArgumentException on bad embeddings, a bad K, a NaN distance, or when no label has two items
     */
    public static Report leaveOneOut(float[][] embeddings, int[] labels, EmbeddingDistance distance, int... ks) {
        String op = "Retrieval.leaveOneOut";
        Checks.embeddings(op, embeddings, labels);
        Objects.requireNonNull(distance, op + ": distance is null");
        int[] kList = checkKs(op, ks);
        return evaluate(op, embeddings, labels, embeddings, labels, true, distance, kList);
    }

    /**
     * Each query ranks the reference set, which it is not part of: {@code R} is the number of references with the
     * query's label. Queries whose label has no reference are left out (counted in
     * {@link Report#skippedQueries()}).
     *
     * @param ks the K of each Recall@K to measure (may be empty), each at least 1, no repeats
     * @throws IllegalArgumentException on bad or mismatched embeddings (queries and references must share a
     *                                  dimension), a bad K, a NaN distance, or when no query has a reference of its
     *                                  label
     */
    public static Report queryVsReference(float[][] queries, int[] queryLabels, float[][] references,
                                          int[] referenceLabels, EmbeddingDistance distance, int... ks) {
        String op = "Retrieval.queryVsReference";
        int dq = Checks.embeddings(op + " (queries)", queries, queryLabels);
        int dr = Checks.embeddings(op + " (references)", references, referenceLabels);
        Objects.requireNonNull(distance, op + ": distance is null");
        if (dq != dr) {
            throw new IllegalArgumentException(op + ": query embeddings have length " + dq + " but references "
                    + dr);
        }
        int[] kList = checkKs(op, ks);
        return evaluate(op, queries, queryLabels, references, referenceLabels, false, distance, kList);
    }

    private static int[] checkKs(String op, int[] ks) {
        Objects.requireNonNull(ks, op + ": ks is null");
        for (int i = 0; i < ks.length; i++) {
            if (ks[i] < 1) {
                throw new IllegalArgumentException(op + ": K must be at least 1, got " + ks[i]);
            }
            for (int j = 0; j < i; j++) {
                if (ks[j] == ks[i]) {
                    throw new IllegalArgumentException(op + ": K = " + ks[i] + " is asked for twice in "
                            + Arrays.toString(ks));
                }
            }
        }
        return ks.clone();
    }

    /**
     * @param sameSet the queries are the references: query q skips candidate q
     */
    private static Report evaluate(String op, float[][] queries, int[] queryLabels, float[][] references,
                                   int[] referenceLabels, boolean sameSet, EmbeddingDistance distance, int[] ks) {
        Map<Integer, Integer> countByLabel = new HashMap<>();
        for (int label : referenceLabels) {
            countByLabel.merge(label, 1, Integer::sum);
        }
        double[] recallSum = new double[ks.length];
        double[] recall = new double[ks.length];
        double rPrecisionSum = 0;
        double mapSum = 0;
        int counted = 0;
        int skipped = 0;
        for (int q = 0; q < queries.length; q++) {
            int r = countByLabel.getOrDefault(queryLabels[q], 0) - (sameSet ? 1 : 0);
            if (r == 0) {
                skipped++;
                continue;
            }
            int candidates = references.length - (sameSet ? 1 : 0);
            double[] correct = new double[r];
            double[] wrong = new double[candidates - r];
            int ic = 0;
            int iw = 0;
            for (int c = 0; c < references.length; c++) {
                if (sameSet && c == q) {
                    continue;
                }
                double d = Checks.distance(op, distance.between(queries[q], references[c]), q, c);
                if (referenceLabels[c] == queryLabels[q]) {
                    correct[ic++] = d;
                } else {
                    wrong[iw++] = d;
                }
            }
            Arrays.sort(correct);
            Arrays.sort(wrong);
            double[] rPrecisionAndMap = scoreRanking(correct, wrong, ks, recall);
            for (int i = 0; i < ks.length; i++) {
                recallSum[i] += recall[i];
            }
            rPrecisionSum += rPrecisionAndMap[0];
            mapSum += rPrecisionAndMap[1];
            counted++;
        }
        if (counted == 0) {
            throw new IllegalArgumentException(op + ": no query has " + (sameSet ? "another item" : "a reference")
                    + " of its label, so there is nothing to retrieve");
        }
        for (int i = 0; i < ks.length; i++) {
            recallSum[i] /= counted;
        }
        return new Report(counted, skipped, ks, recallSum, rPrecisionSum / counted, mapSum / counted);
    }

    /**
     * Scores one query from the distances of its correct and wrong candidates, both sorted ascending: writes
     * Recall@{@code ks[i]} into {@code recallOut[i]} and returns {R-precision, MAP@R}, all as expected values over
     * random orders of tied candidates (see the class comment). {@code correct} must not be empty.
     */
    static double[] scoreRanking(double[] correct, double[] wrong, int[] ks, double[] recallOut) {
        int big = correct.length;
        boolean[] decided = new boolean[ks.length];
        int undecided = ks.length;
        double apSum = 0;          // sum over ranks i <= R of E[[i correct] * P@i]
        double inTopR = 0;         // E[correct among the R nearest]
        int before = 0;            // b: candidates ranked before the current tie group
        int correctBefore = 0;     // c: correct ones among them
        int ic = 0;
        int iw = 0;
        while ((before < big || undecided > 0) && (ic < correct.length || iw < wrong.length)) {
            double v = Math.min(ic < correct.length ? correct[ic] : Double.POSITIVE_INFINITY,
                    iw < wrong.length ? wrong[iw] : Double.POSITIVE_INFINITY);
            int r = 0;
            while (ic < correct.length && correct[ic] == v) {
                ic++;
                r++;
            }
            int w = 0;
            while (iw < wrong.length && wrong[iw] == v) {
                iw++;
                w++;
            }
            int t = r + w;          // >= 1: v is the next distance of one of the lists (never NaN, see Checks)
            // MAP@R and R-precision: the group's slots that fall within the first R ranks.
            if (before < big && r > 0) {
                int s = Math.min(t, big - before);
                double pCorrect = (double) r / t;
                double pBoth = t > 1 ? (double) r * (r - 1) / ((double) t * (t - 1)) : 0;
                for (int j = 1; j <= s; j++) {
                    apSum += (pCorrect * (correctBefore + 1) + (j - 1) * pBoth) / (before + j);
                }
                inTopR += s * pCorrect;
            }
            // Recall@K for every K whose rank this group reaches and that no earlier correct candidate settled.
            for (int i = 0; i < ks.length; i++) {
                if (decided[i]) {
                    continue;
                }
                int k = ks[i];
                if (before + t >= k) {
                    int s = k - before;          // 1 <= s <= t slots of the group are within the K nearest
                    recallOut[i] = 1 - allWrong(t, r, s);
                    decided[i] = true;
                    undecided--;
                } else if (r > 0) {
                    recallOut[i] = 1;
                    decided[i] = true;
                    undecided--;
                }
            }
            before += t;
            correctBefore += r;
        }
        // K beyond the number of candidates: every candidate is retrieved, so (with R > 0) one is correct; the
        // loop has already settled such K when it reached the group holding a correct candidate.
        for (int i = 0; i < ks.length; i++) {
            if (!decided[i]) {
                recallOut[i] = 1;
            }
        }
        return new double[] {inTopR / big, apSum / big};
    }

    /**
     * Probability that {@code s} slots drawn without replacement from {@code t} candidates, {@code r} of them
     * correct, are all wrong: {@code C(t - r, s) / C(t, s)}, as a product so nothing overflows.
     */
    private static double allWrong(int t, int r, int s) {
        if (s > t - r) {
            return 0;
        }
        double p = 1;
        for (int i = 0; i < s; i++) {
            p *= (double) (t - r - i) / (t - i);
        }
        return p;
    }
}
