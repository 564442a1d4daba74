package org.siamese4j.siamese.metrics;

import java.util.Arrays;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.ToDoubleBiFunction;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.siamese.Distance;
import org.siamese4j.tensor.Rng;

/**
 * Identification from embeddings: N-way one-shot accuracy (Koch, Zemel and Salakhutdinov 2015) and rank-1
 * nearest-neighbour accuracy.
 *
 * <p>Embeddings are rows of {@code float[][]} with an identity label each (any int values). "Nearest" is by an
 * {@link EmbeddingDistance}, Euclidean by default, or by any pair score with a {@link ScoreDirection} (e.g. a
 * learned head's P(same), {@link ScoreDirection#HIGHER_IS_SAME}: "nearest" is then the candidate with the highest
 * score). When several candidates tie at the best score the trial gets fractional credit (number of tied
 * candidates with the right identity) / (number tied), the expected score of breaking the tie at random, so
 * identical embeddings score chance level instead of depending on input order.
 *
 * <p>A distance is the special case {@code score = distance}, {@code LOWER_IS_SAME}: each method with an
 * {@link EmbeddingDistance} gives exactly what its score form gives with {@code distance::between} and
 * {@link ScoreDirection#LOWER_IS_SAME}, and for any score, a strictly increasing function of it (with the same
 * direction) gives the same results, since only the order of the scores matters.
 */
public final class Identification {
    /** Probes of one task of the blocked rank-1: each task fills every candidate block once for all of them. */
    static final int PROBES_PER_TASK = 64;
    /** Candidates per block: 256 x 64 dimensions x 8 bytes = 128 KB, which stays in a core's cache meanwhile. */
    static final int CANDIDATES_PER_BLOCK = 256;

    private Identification() {
    }

    /** {@link #nWayOneShot(float[][], int[], int, int, Rng, EmbeddingDistance)} with Euclidean distance. */
    public static double nWayOneShot(float[][] embeddings, int[] labels, int ways, int trials, Rng rng) {
        return nWayOneShot(embeddings, labels, ways, trials, rng, EmbeddingDistance.EUCLIDEAN);
    }

    /**
     * N-way one-shot accuracy over {@code trials} seeded trials. Each trial: the query identity is drawn uniformly
     * among identities with at least two images; two different images of it become the query and its one support;
     * {@code ways - 1} other identities are drawn uniformly without replacement, one uniformly drawn support image
     * each. (When every identity has two images this is the same as drawing N identities and then the query's
     * identity among them.) The trial is right when the support nearest the query is the query's identity. Chance
     * level is 1/{@code ways}.
     *
     * @throws IllegalArgumentException on bad embeddings, {@code ways < 2}, {@code trials < 1}, fewer than
     *                                  {@code ways} identities, or no identity with two images
     */
    public static double nWayOneShot(float[][] embeddings, int[] labels, int ways, int trials, Rng rng,
                                     EmbeddingDistance distance) {
        Objects.requireNonNull(distance, "Identification.nWayOneShot: distance is null");
        return nWayOneShot(embeddings, labels, ways, trials, rng, distance::between, ScoreDirection.LOWER_IS_SAME);
    }

    /**
     * {@link #nWayOneShot(float[][], int[], int, int, Rng, EmbeddingDistance)} with any pair score: a trial is
     * right when the support whose score against the query is the most alike ({@code direction}) is the query's
     * identity. The draws are the same as with a distance, so two scores compared with the same {@code rng} seed
     * face the same trials.
     *
     * @param score     a pair score of two embeddings (e.g. a learned head's P(same)); NaN is refused
     * @param direction which end of the score means "same"
     */
    public static double nWayOneShot(float[][] embeddings, int[] labels, int ways, int trials, Rng rng,
                                     ToDoubleBiFunction<float[], float[]> score, ScoreDirection direction) {
        String op = "Identification.nWayOneShot";
        Checks.embeddings(op, embeddings, labels);
        Objects.requireNonNull(rng, op + ": rng is null");
        Objects.requireNonNull(score, op + ": score is null");
        Objects.requireNonNull(direction, op + ": direction is null");
        if (ways < 2) {
            throw new IllegalArgumentException(op + ": ways must be at least 2, got " + ways);
        }
        if (trials < 1) {
            throw new IllegalArgumentException(op + ": trials must be at least 1, got " + trials);
        }
        int[][] members = membersByIdentity(labels);
        int identities = members.length;
        if (identities < ways) {
            throw new IllegalArgumentException(op + ": " + ways + "-way trials need " + ways
                    + " identities, got " + identities);
        }
        int[] queryable = Arrays.stream(indices(identities)).filter(id -> members[id].length >= 2).toArray();
        if (queryable.length == 0) {
            throw new IllegalArgumentException(op + ": no identity has two images to serve as query and support");
        }
        // ids is a permutation of identities, where[] its inverse, kept across trials: a partial Fisher-Yates over
        // any starting permutation draws uniformly.
        int[] ids = indices(identities);
        int[] where = indices(identities);
        int[] candidates = new int[ways];
        boolean[] right = new boolean[ways];
        double credit = 0;
        for (int trial = 0; trial < trials; trial++) {
            int q = queryable[rng.nextInt(queryable.length)];
            int[] own = members[q];
            int supportPos = rng.nextInt(own.length);
            int queryPos = rng.nextInt(own.length - 1);
            if (queryPos >= supportPos) {
                queryPos++;
            }
            int query = own[queryPos];
            candidates[0] = own[supportPos];
            right[0] = true;
            swap(ids, where, where[q], identities - 1);       // keep q out of the distractor draw
            for (int t = 0; t < ways - 1; t++) {
                swap(ids, where, t, t + rng.nextInt(identities - 1 - t));
                int[] other = members[ids[t]];
                candidates[t + 1] = other[rng.nextInt(other.length)];
                right[t + 1] = false;
            }
            credit += nearestCredit(op, embeddings, query, candidates, right, score, direction);
        }
        return credit / trials;
    }

    /** {@link #rank1LeaveOneOut(float[][], int[], EmbeddingDistance)} with Euclidean distance. */
    public static double rank1LeaveOneOut(float[][] embeddings, int[] labels) {
        return rank1LeaveOneOut(embeddings, labels, EmbeddingDistance.EUCLIDEAN);
    }

    /**
     * Rank-1 accuracy with every other image as the gallery: each image whose identity has another image is a
     * probe, right when its nearest other image shares its identity. Images that are alone in their identity are
     * gallery distractors only (they have no mate to find). O(n^2) distances.
     *
     * @throws IllegalArgumentException on bad embeddings or when no identity has two images
     */
    public static double rank1LeaveOneOut(float[][] embeddings, int[] labels, EmbeddingDistance distance) {
        Objects.requireNonNull(distance, "Identification.rank1LeaveOneOut: distance is null");
        return rank1LeaveOneOut(embeddings, labels, distance::between, ScoreDirection.LOWER_IS_SAME);
    }

    /**
     * {@link #rank1LeaveOneOut(float[][], int[], EmbeddingDistance)} with any pair score: a probe is right when
     * the other image whose score against it is the most alike ({@code direction}) shares its identity.
     */
    public static double rank1LeaveOneOut(float[][] embeddings, int[] labels,
                                          ToDoubleBiFunction<float[], float[]> score, ScoreDirection direction) {
        String op = "Identification.rank1LeaveOneOut";
        Checks.embeddings(op, embeddings, labels);
        Objects.requireNonNull(score, op + ": score is null");
        Objects.requireNonNull(direction, op + ": direction is null");
        int[][] members = membersByIdentity(labels);
        int[] identityOf = identityIndex(labels, members);
        int n = embeddings.length;
        int[] candidates = new int[n - 1];
        boolean[] right = new boolean[n - 1];
        double credit = 0;
        int probes = 0;
        for (int i = 0; i < n; i++) {
            if (members[identityOf[i]].length < 2) {
                continue;
            }
            int t = 0;
            for (int j = 0; j < n; j++) {
                if (j != i) {
                    candidates[t] = j;
                    right[t] = labels[j] == labels[i];
                    t++;
                }
            }
            credit += nearestCredit(op, embeddings, i, candidates, right, score, direction);
            probes++;
        }
        if (probes == 0) {
            throw new IllegalArgumentException(op + ": no identity has two images, so no probe has a mate");
        }
        return credit / probes;
    }

    /**
     * {@link #rank1LeaveOneOut(float[][], int[], ToDoubleBiFunction, ScoreDirection)} with {@code
     * distance::between} and {@link ScoreDirection#LOWER_IS_SAME}: the same result, bit for bit (the same
     * distances, so the same neighbours and ties), for many embeddings. The distances are computed a block of
     * {@value #PROBES_PER_TASK} probes against a block of {@value #CANDIDATES_PER_BLOCK} candidates at a time
     * ({@link Distance#betweenEach}), the probe blocks split across the worker threads ({@link Parallel}), and
     * only each probe's nearest distance and ties are kept: memory O(n) beyond the embeddings, time still O(n^2)
     * distances.
     */
    public static double rank1LeaveOneOut(float[][] embeddings, int[] labels, Distance distance) {
        String op = "Identification.rank1LeaveOneOut";
        int dims = Checks.embeddings(op, embeddings, labels);
        Objects.requireNonNull(distance, op + ": distance is null");
        int[][] members = membersByIdentity(labels);
        int[] identityOf = identityIndex(labels, members);
        int n = embeddings.length;
        double[] credit = new double[n];
        int tasks = (n + PROBES_PER_TASK - 1) / PROBES_PER_TASK;
        Parallel.forEach(tasks, task -> {
            int first = task * PROBES_PER_TASK;
            int last = Math.min(n, first + PROBES_PER_TASK);
            Distance.Candidates block = new Distance.Candidates(dims, CANDIDATES_PER_BLOCK);
            double[] d = new double[CANDIDATES_PER_BLOCK];
            // per probe of this task: the smallest distance so far, how many candidates are at it, how many of
            // those share the probe's identity
            double[] best = new double[last - first];
            int[] tied = new int[last - first];
            int[] tiedRight = new int[last - first];
            Arrays.fill(best, Double.POSITIVE_INFINITY);
            for (int from = 0; from < n; from += CANDIDATES_PER_BLOCK) {
                int to = Math.min(n, from + CANDIDATES_PER_BLOCK);
                block.fill(embeddings, from, to);
                for (int i = first; i < last; i++) {
                    if (members[identityOf[i]].length < 2) {
                        continue;
                    }
                    distance.betweenEach(embeddings[i], block, d);
                    int p = i - first;
                    double b = best[p];
                    int t = tied[p];
                    int r = tiedRight[p];
                    // finite embeddings have finite distances (no NaN to refuse), so "<" and "==" see every one;
                    // after the first blocks nearly every candidate is farther than the best, a predictable branch
                    for (int j = from; j < to; j++) {
                        double dj = d[j - from];
                        if (dj > b || j == i) {
                            continue;
                        }
                        if (dj < b) {
                            b = dj;
                            t = 0;
                            r = 0;
                        }
                        t++;
                        if (labels[j] == labels[i]) {
                            r++;
                        }
                    }
                    best[p] = b;
                    tied[p] = t;
                    tiedRight[p] = r;
                }
            }
            for (int i = first; i < last; i++) {
                credit[i] = (double) tiedRight[i - first] / tied[i - first];
            }
        });
        // summed in probe order, as the one-pair-at-a-time form sums them
        double sum = 0;
        int probes = 0;
        for (int i = 0; i < n; i++) {
            if (members[identityOf[i]].length >= 2) {
                sum += credit[i];
                probes++;
            }
        }
        if (probes == 0) {
            throw new IllegalArgumentException(op + ": no identity has two images, so no probe has a mate");
        }
        return sum / probes;
    }

    /** {@link #rank1OneGalleryImage(float[][], int[], Rng, EmbeddingDistance)} with Euclidean distance. */
    public static double rank1OneGalleryImage(float[][] embeddings, int[] labels, Rng rng) {
        return rank1OneGalleryImage(embeddings, labels, rng, EmbeddingDistance.EUCLIDEAN);
    }

    /**
     * Rank-1 accuracy against a gallery of one image per identity, drawn with {@code rng}; every other image is a
     * probe. Chance level is 1/(number of identities).
     *
     * @throws IllegalArgumentException on bad embeddings or when no identity has two images (no probes)
     */
    public static double rank1OneGalleryImage(float[][] embeddings, int[] labels, Rng rng,
                                              EmbeddingDistance distance) {
        Objects.requireNonNull(distance, "Identification.rank1OneGalleryImage: distance is null");
        return rank1OneGalleryImage(embeddings, labels, rng, distance::between, ScoreDirection.LOWER_IS_SAME);
    }

    /** {@link #rank1OneGalleryImage(float[][], int[], Rng, EmbeddingDistance)} with any pair score. */
    public static double rank1OneGalleryImage(float[][] embeddings, int[] labels, Rng rng,
                                              ToDoubleBiFunction<float[], float[]> score, ScoreDirection direction) {
        String op = "Identification.rank1OneGalleryImage";
        Checks.embeddings(op, embeddings, labels);
        Objects.requireNonNull(rng, op + ": rng is null");
        Objects.requireNonNull(score, op + ": score is null");
        Objects.requireNonNull(direction, op + ": direction is null");
        int[][] members = membersByIdentity(labels);
        int[] identityOf = identityIndex(labels, members);
        int identities = members.length;
        int[] gallery = new int[identities];
        for (int id = 0; id < identities; id++) {
            gallery[id] = members[id][rng.nextInt(members[id].length)];
        }
        boolean[] right = new boolean[identities];
        double credit = 0;
        int probes = 0;
        for (int i = 0; i < embeddings.length; i++) {
            if (gallery[identityOf[i]] == i) {
                continue;
            }
            for (int id = 0; id < identities; id++) {
                right[id] = id == identityOf[i];
            }
            credit += nearestCredit(op, embeddings, i, gallery, right, score, direction);
            probes++;
        }
        if (probes == 0) {
            throw new IllegalArgumentException(op + ": no identity has two images, so there is no probe");
        }
        return credit / probes;
    }

    /**
     * Rank-1 accuracy of probes against an explicit gallery: a probe is right when its nearest gallery item has its
     * label. Probes whose label is absent from the gallery count as misses.
     *
     * @throws IllegalArgumentException on bad or mismatched embeddings (gallery and probes must share a dimension)
     */
    public static double rank1(float[][] gallery, int[] galleryLabels, float[][] probes, int[] probeLabels,
                               EmbeddingDistance distance) {
        Objects.requireNonNull(distance, "Identification.rank1: distance is null");
        return rank1(gallery, galleryLabels, probes, probeLabels, distance::between, ScoreDirection.LOWER_IS_SAME);
    }

    /** {@link #rank1(float[][], int[], float[][], int[], EmbeddingDistance)} with any pair score. */
    public static double rank1(float[][] gallery, int[] galleryLabels, float[][] probes, int[] probeLabels,
                               ToDoubleBiFunction<float[], float[]> score, ScoreDirection direction) {
        String op = "Identification.rank1";
        int dg = Checks.embeddings(op + " (gallery)", gallery, galleryLabels);
        int dp = Checks.embeddings(op + " (probes)", probes, probeLabels);
        Objects.requireNonNull(score, op + ": score is null");
        Objects.requireNonNull(direction, op + ": direction is null");
        if (dg != dp) {
            throw new IllegalArgumentException(op + ": gallery embeddings have length " + dg + " but probes " + dp);
        }
        double credit = 0;
        for (int p = 0; p < probes.length; p++) {
            double best = Double.NEGATIVE_INFINITY;
            int tied = 0;
            int tiedRight = 0;
            for (int g = 0; g < gallery.length; g++) {
                // one "higher is more alike" axis: the negated distance, or the similarity itself
                double d = direction.similarity(Checks.distance(op, score.applyAsDouble(probes[p], gallery[g]), p, g));
                if (d > best) {
                    best = d;
                    tied = 0;
                    tiedRight = 0;
                }
                if (d == best) {
                    tied++;
                    if (galleryLabels[g] == probeLabels[p]) {
                        tiedRight++;
                    }
                }
            }
            credit += (double) tiedRight / tied;
        }
        return credit / probes.length;
    }

    /**
     * Credit of one trial: the share of right candidates among those tied most alike to {@code query}. Scores are
     * compared on one "higher is more alike" axis ({@link ScoreDirection#similarity}: a distance negated), so a
     * distance's smallest value and a similarity's largest are found by the same comparison, with the same ties.
     */
    private static double nearestCredit(String op, float[][] embeddings, int query, int[] candidates,
                                        boolean[] right, ToDoubleBiFunction<float[], float[]> score,
                                        ScoreDirection direction) {
        double best = Double.NEGATIVE_INFINITY;
        int tied = 0;
        int tiedRight = 0;
        for (int c = 0; c < candidates.length; c++) {
            double d = direction.similarity(Checks.distance(op,
                    score.applyAsDouble(embeddings[query], embeddings[candidates[c]]), query, candidates[c]));
            if (d > best) {
                best = d;
                tied = 0;
                tiedRight = 0;
            }
            if (d == best) {
                tied++;
                if (right[c]) {
                    tiedRight++;
                }
            }
        }
        return (double) tiedRight / tied;
    }

    /** Image indices per identity, identities in increasing label order (so draws do not depend on hashing). */
    static int[][] membersByIdentity(int[] labels) {
        TreeMap<Integer, Integer> counts = new TreeMap<>();
        for (int label : labels) {
            counts.merge(label, 1, Integer::sum);
        }
        TreeMap<Integer, Integer> slot = new TreeMap<>();
        int[][] members = new int[counts.size()][];
        int id = 0;
        for (var e : counts.entrySet()) {
            slot.put(e.getKey(), id);
            members[id++] = new int[e.getValue()];
        }
        int[] filled = new int[members.length];
        for (int i = 0; i < labels.length; i++) {
            int s = slot.get(labels[i]);
            members[s][filled[s]++] = i;
        }
        return members;
    }

    private static int[] identityIndex(int[] labels, int[][] members) {
        int[] identityOf = new int[labels.length];
        for (int id = 0; id < members.length; id++) {
            for (int i : members[id]) {
                identityOf[i] = id;
            }
        }
        return identityOf;
    }

    private static int[] indices(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    private static void swap(int[] ids, int[] where, int a, int b) {
        int ia = ids[a];
        int ib = ids[b];
        ids[a] = ib;
        ids[b] = ia;
        where[ib] = a;
        where[ia] = b;
    }
}
