package org.siamese4j.siamese.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.ToDoubleBiFunction;
import org.siamese4j.tensor.Rng;

/**
 * Verification pairs: for pair t, embeddings {@code first[t]} and {@code second[t]} scored {@code scores[t]}, and
 * whether the two show the same identity. Built from embeddings and labels, either every pair or a seeded sample,
 * then fed to {@link RocCurve}, {@link KFoldAccuracy} and {@link Thresholds}.
 *
 * <p>The arrays are copied in and out; the record is immutable.
 */
public record ScoredPairs(double[] scores, boolean[] same, int[] first, int[] second, ScoreDirection direction) {

    public ScoredPairs {
        Checks.pairs("ScoredPairs", scores, same, direction);
        Objects.requireNonNull(first, "ScoredPairs: first is null");
        Objects.requireNonNull(second, "ScoredPairs: second is null");
        if (first.length != scores.length || second.length != scores.length) {
            throw new IllegalArgumentException("ScoredPairs: " + scores.length + " scores but " + first.length
                    + " first and " + second.length + " second indices");
        }
        scores = scores.clone();
        same = same.clone();
        first = first.clone();
        second = second.clone();
    }

    @Override
    public double[] scores() {
        return scores.clone();
    }

    @Override
    public boolean[] same() {
        return same.clone();
    }

    @Override
    public int[] first() {
        return first.clone();
    }

    @Override
    public int[] second() {
        return second.clone();
    }

    public int size() {
        return scores.length;
    }

    /** Number of same-identity pairs. */
    public int positives() {
        int p = 0;
        for (boolean s : same) {
            if (s) {
                p++;
            }
        }
        return p;
    }

    /** Number of different-identity pairs. */
    public int negatives() {
        return scores.length - positives();
    }

    public RocCurve roc() {
        return RocCurve.of(scores, same, direction);
    }

    /** LFW-style 10-fold accuracy with round-robin folds. */
    public KFoldAccuracy tenFoldAccuracy() {
        return KFoldAccuracy.tenFold(scores, same, direction);
    }

    /**
     * Every unordered pair i &lt; j of embeddings, in order (0,1), (0,2), ..., (1,2), ..., scored by a distance.
     * There are n(n-1)/2 of them, so this is for evaluation sets up to a few thousand embeddings; use
     * {@link #sampled} beyond.
     *
     * @throws IllegalArgumentException on mismatched lengths, ragged or non-finite embeddings, fewer than two
     *                                  embeddings, more than {@link Integer#MAX_VALUE} pairs, or a NaN distance
     */
    public static ScoredPairs all(float[][] embeddings, int[] labels, EmbeddingDistance distance) {
        Objects.requireNonNull(distance, "ScoredPairs.all: distance is null");
        return all(embeddings, labels, distance::between, ScoreDirection.LOWER_IS_SAME);
    }

    /** Every pair i &lt; j, scored by any function of two embeddings (e.g. a learned head's P(same)). */
    public static ScoredPairs all(float[][] embeddings, int[] labels, ToDoubleBiFunction<float[], float[]> score,
                                  ScoreDirection direction) {
        String op = "ScoredPairs.all";
        Checks.embeddings(op, embeddings, labels);
        Objects.requireNonNull(score, op + ": score is null");
        Objects.requireNonNull(direction, op + ": direction is null");
        int n = embeddings.length;
        long count = (long) n * (n - 1) / 2;
        if (n < 2) {
            throw new IllegalArgumentException(op + ": need at least 2 embeddings, got " + n);
        }
        if (count > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": " + n + " embeddings give " + count
                    + " pairs, too many; use ScoredPairs.sampled");
        }
        int[] first = new int[(int) count];
        int[] second = new int[(int) count];
        int t = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                first[t] = i;
                second[t] = j;
                t++;
            }
        }
        return scored(op, embeddings, labels, first, second, score, direction);
    }

    /**
     * A seeded sample of {@code samePairs} distinct same-identity pairs and {@code differentPairs} distinct
     * different-identity pairs, drawn uniformly without replacement, in a shuffled order (so contiguous as well as
     * round-robin folds get both kinds). Same seed, same pairs.
     *
     * @throws IllegalArgumentException when more pairs of a kind are asked for than exist, or on bad embeddings
     */
    public static ScoredPairs sampled(float[][] embeddings, int[] labels, int samePairs, int differentPairs,
                                      Rng rng, EmbeddingDistance distance) {
        Objects.requireNonNull(distance, "ScoredPairs.sampled: distance is null");
        return sampled(embeddings, labels, samePairs, differentPairs, rng, distance::between,
                ScoreDirection.LOWER_IS_SAME);
    }

    /** {@link #sampled(float[][], int[], int, int, Rng, EmbeddingDistance)} with any pair score. */
    public static ScoredPairs sampled(float[][] embeddings, int[] labels, int samePairs, int differentPairs,
                                      Rng rng, ToDoubleBiFunction<float[], float[]> score,
                                      ScoreDirection direction) {
        String op = "ScoredPairs.sampled";
        Checks.embeddings(op, embeddings, labels);
        Objects.requireNonNull(rng, op + ": rng is null");
        Objects.requireNonNull(score, op + ": score is null");
        Objects.requireNonNull(direction, op + ": direction is null");
        if (samePairs < 0 || differentPairs < 0 || samePairs + differentPairs == 0) {
            throw new IllegalArgumentException(op + ": need a positive number of pairs, got " + samePairs
                    + " same and " + differentPairs + " different");
        }
        int n = embeddings.length;
        long[] sameKeys = sameIdentityKeys(labels);
        long totalDifferent = (long) n * (n - 1) / 2 - sameKeys.length;
        if (samePairs > sameKeys.length) {
            throw new IllegalArgumentException(op + ": asked for " + samePairs + " same pairs but only "
                    + sameKeys.length + " exist");
        }
        if (differentPairs > totalDifferent) {
            throw new IllegalArgumentException(op + ": asked for " + differentPairs + " different pairs but only "
                    + totalDifferent + " exist");
        }
        long[] keys = new long[samePairs + differentPairs];
        // Partial Fisher-Yates: the first samePairs entries become a uniform sample without replacement.
        for (int t = 0; t < samePairs; t++) {
            int j = t + rng.nextInt(sameKeys.length - t);
            long swap = sameKeys[t];
            sameKeys[t] = sameKeys[j];
            sameKeys[j] = swap;
            keys[t] = sameKeys[t];
        }
        long[] different = differentPairs <= totalDifferent / 2
                ? rejectionSample(labels, differentPairs, rng)
                : enumerationSample(labels, differentPairs, totalDifferent, rng);
        System.arraycopy(different, 0, keys, samePairs, differentPairs);
        for (int t = keys.length - 1; t > 0; t--) {
            int j = rng.nextInt(t + 1);
            long swap = keys[t];
            keys[t] = keys[j];
            keys[j] = swap;
        }
        int[] first = new int[keys.length];
        int[] second = new int[keys.length];
        for (int t = 0; t < keys.length; t++) {
            first[t] = (int) (keys[t] / n);
            second[t] = (int) (keys[t] % n);
        }
        return scored(op, embeddings, labels, first, second, score, direction);
    }

    private static ScoredPairs scored(String op, float[][] embeddings, int[] labels, int[] first, int[] second,
                                      ToDoubleBiFunction<float[], float[]> score, ScoreDirection direction) {
        double[] scores = new double[first.length];
        boolean[] same = new boolean[first.length];
        for (int t = 0; t < first.length; t++) {
            int i = first[t];
            int j = second[t];
            scores[t] = Checks.distance(op, score.applyAsDouble(embeddings[i], embeddings[j]), i, j);
            same[t] = labels[i] == labels[j];
        }
        return new ScoredPairs(scores, same, first, second, direction);
    }

    /** Keys {@code i * n + j}, i < j, of every same-identity pair. */
    private static long[] sameIdentityKeys(int[] labels) {
        int n = labels.length;
        Map<Integer, List<Integer>> byLabel = new HashMap<>();
        for (int i = 0; i < n; i++) {
            byLabel.computeIfAbsent(labels[i], l -> new ArrayList<>()).add(i);
        }
        long count = 0;
        for (List<Integer> members : byLabel.values()) {
            count += (long) members.size() * (members.size() - 1) / 2;
        }
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("ScoredPairs.sampled: " + count + " same pairs, too many to sample");
        }
        long[] keys = new long[(int) count];
        int t = 0;
        for (List<Integer> members : byLabel.values()) {
            for (int a = 0; a < members.size(); a++) {
                for (int b = a + 1; b < members.size(); b++) {
                    // members are in increasing index order, so a's index < b's index
                    keys[t++] = (long) members.get(a) * n + members.get(b);
                }
            }
        }
        Arrays.sort(keys);       // HashMap order is not part of the seed contract; make it so
        return keys;
    }

    /** Uniform distinct different pairs by rejection; used when at most half of them are wanted (>= 1/2 accepted). */
    private static long[] rejectionSample(int[] labels, int count, Rng rng) {
        int n = labels.length;
        Set<Long> seen = new HashSet<>();
        long[] keys = new long[count];
        int t = 0;
        while (t < count) {
            int i = rng.nextInt(n);
            int j = rng.nextInt(n);
            if (i == j || labels[i] == labels[j]) {
                continue;
            }
            long key = (long) Math.min(i, j) * n + Math.max(i, j);
            if (seen.add(key)) {
                keys[t++] = key;
            }
        }
        return keys;
    }

    /** Every different pair, then a partial shuffle: for asking most of them. */
    private static long[] enumerationSample(int[] labels, int count, long total, Rng rng) {
        if (total > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("ScoredPairs.sampled: " + total
                    + " different pairs, too many to sample more than half of them");
        }
        int n = labels.length;
        long[] all = new long[(int) total];
        int t = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                if (labels[i] != labels[j]) {
                    all[t++] = (long) i * n + j;
                }
            }
        }
        long[] keys = new long[count];
        for (int s = 0; s < count; s++) {
            int j = s + rng.nextInt(all.length - s);
            long swap = all[s];
            all[s] = all[j];
            all[j] = swap;
            keys[s] = all[s];
        }
        return keys;
    }
}
