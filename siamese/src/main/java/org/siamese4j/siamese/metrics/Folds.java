package org.siamese4j.siamese.metrics;

import java.util.Objects;
import org.siamese4j.tensor.Rng;

/**
 * Assignments of n pairs to k cross-validation folds, as an array {@code foldOf[i]} in [0, k).
 *
 * <p>All three are deterministic and give every fold n/k pairs, rounded (fold sizes differ by at most one).
 * {@link #roundRobin} (pair i goes to fold i mod k) is the default: it stays balanced when pairs arrive sorted, e.g.
 * all same pairs first. {@link #contiguous} keeps runs of consecutive pairs together; use it for LFW's
 * {@code pairs.txt}, whose ten official sets are consecutive blocks of 600 pairs. {@link #shuffled} is round-robin
 * over a seeded random permutation.
 */
public final class Folds {
    private Folds() {
    }

    /** Pair i in fold {@code i % k}. */
    public static int[] roundRobin(int n, int k) {
        check("Folds.roundRobin", n, k);
        int[] fold = new int[n];
        for (int i = 0; i < n; i++) {
            fold[i] = i % k;
        }
        return fold;
    }

    /** Fold f holds pairs {@code [f*n/k, (f+1)*n/k)}. */
    public static int[] contiguous(int n, int k) {
        check("Folds.contiguous", n, k);
        int[] fold = new int[n];
        for (int f = 0; f < k; f++) {
            int from = (int) ((long) f * n / k);
            int to = (int) ((long) (f + 1) * n / k);
            for (int i = from; i < to; i++) {
                fold[i] = f;
            }
        }
        return fold;
    }

    /** Round-robin over a permutation drawn from {@code rng}: same seed, same folds. */
    public static int[] shuffled(int n, int k, Rng rng) {
        check("Folds.shuffled", n, k);
        Objects.requireNonNull(rng, "Folds.shuffled: rng is null");
        int[] order = rng.permutation(n);
        int[] fold = new int[n];
        for (int t = 0; t < n; t++) {
            fold[order[t]] = t % k;
        }
        return fold;
    }

    private static void check(String op, int n, int k) {
        if (k < 2) {
            throw new IllegalArgumentException(op + ": need at least 2 folds, got " + k);
        }
        if (n < k) {
            throw new IllegalArgumentException(op + ": " + n + " pairs cannot fill " + k + " folds");
        }
    }
}
