package org.siamese4j.siamese.mining;

import java.util.Arrays;
import java.util.List;

/**
 * A list of triplets (anchor, positive, negative) as three parallel index arrays: triplet i is
 * {@code (anchors[i], positives[i], negatives[i])}. The indices point into whatever the caller indexes with (the rows of
 * a batch's distance matrix for online miners, the images of a dataset for offline selection).
 *
 * <p>The record owns copies of its arrays: the constructor copies them and the accessors return copies, so a
 * {@code Triplets} never changes. {@link #anchor(int)} and friends read single entries without copying. Equality
 * compares contents.
 */
public record Triplets(int[] anchors, int[] positives, int[] negatives) {

    private static final Triplets EMPTY = new Triplets(new int[0], new int[0], new int[0]);

    /** Checks that the three arrays are non-null, of the same length and hold no negative index. */
    public Triplets {
        if (anchors == null || positives == null || negatives == null) {
            throw new IllegalArgumentException("Triplets: anchors, positives and negatives must not be null");
        }
        if (anchors.length != positives.length || anchors.length != negatives.length) {
            throw new IllegalArgumentException("Triplets: arrays must have the same length, got " + anchors.length
                    + " anchors, " + positives.length + " positives and " + negatives.length + " negatives");
        }
        anchors = anchors.clone();
        positives = positives.clone();
        negatives = negatives.clone();
        for (int i = 0; i < anchors.length; i++) {
            if (anchors[i] < 0 || positives[i] < 0 || negatives[i] < 0) {
                throw new IllegalArgumentException("Triplets: triplet " + i + " has a negative index ("
                        + anchors[i] + ", " + positives[i] + ", " + negatives[i] + ")");
            }
        }
    }

    /** No triplets. */
    public static Triplets empty() {
        return EMPTY;
    }

    /** All triplets of {@code parts}, in order. */
    public static Triplets concat(List<Triplets> parts) {
        int total = 0;
        for (Triplets t : parts) {
            total = Math.addExact(total, t.size());
        }
        int[] a = new int[total];
        int[] p = new int[total];
        int[] n = new int[total];
        int at = 0;
        for (Triplets t : parts) {
            System.arraycopy(t.anchors, 0, a, at, t.size());
            System.arraycopy(t.positives, 0, p, at, t.size());
            System.arraycopy(t.negatives, 0, n, at, t.size());
            at += t.size();
        }
        return new Triplets(a, p, n);
    }

    /** Number of triplets. */
    public int size() {
        return anchors.length;
    }

    public boolean isEmpty() {
        return anchors.length == 0;
    }

    /** A copy of the anchor indices. */
    @Override
    public int[] anchors() {
        return anchors.clone();
    }

    /** A copy of the positive indices. */
    @Override
    public int[] positives() {
        return positives.clone();
    }

    /** A copy of the negative indices. */
    @Override
    public int[] negatives() {
        return negatives.clone();
    }

    public int anchor(int i) {
        return anchors[checkIndex(i)];
    }

    public int positive(int i) {
        return positives[checkIndex(i)];
    }

    public int negative(int i) {
        return negatives[checkIndex(i)];
    }

    /**
     * Checks that every triplet is valid for {@code labels}: indices in [0, labels.length), anchor != positive,
     * label(positive) == label(anchor) and label(negative) != label(anchor).
     *
     * @throws IllegalArgumentException naming the first offending triplet
     */
    public Triplets requireValidFor(int[] labels) {
        if (labels == null) {
            throw new IllegalArgumentException("Triplets.requireValidFor: labels must not be null");
        }
        int n = labels.length;
        for (int i = 0; i < size(); i++) {
            int a = anchors[i];
            int p = positives[i];
            int q = negatives[i];
            String triplet = "triplet " + i + " (" + a + ", " + p + ", " + q + ")";
            if (a >= n || p >= n || q >= n) {
                throw new IllegalArgumentException("Triplets: " + triplet + " has an index outside [0, " + n + ")");
            }
            if (a == p) {
                throw new IllegalArgumentException("Triplets: " + triplet + " uses the anchor as its positive");
            }
            if (labels[p] != labels[a]) {
                throw new IllegalArgumentException("Triplets: " + triplet + " has a positive of label " + labels[p]
                        + " for an anchor of label " + labels[a]);
            }
            if (labels[q] == labels[a]) {
                throw new IllegalArgumentException("Triplets: " + triplet + " has a negative of the anchor's label "
                        + labels[a]);
            }
        }
        return this;
    }

    private int checkIndex(int i) {
        if (i < 0 || i >= anchors.length) {
            throw new IndexOutOfBoundsException("Triplets: index " + i + " outside [0, " + anchors.length + ")");
        }
        return i;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Triplets t && Arrays.equals(anchors, t.anchors) && Arrays.equals(positives, t.positives)
                && Arrays.equals(negatives, t.negatives);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(anchors) + Arrays.hashCode(positives)) + Arrays.hashCode(negatives);
    }

    /** The size and at most the first 8 triplets. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Triplets[").append(size()).append(':');
        int shown = Math.min(size(), 8);
        for (int i = 0; i < shown; i++) {
            sb.append(" (").append(anchors[i]).append(", ").append(positives[i]).append(", ").append(negatives[i])
                    .append(')');
        }
        if (shown < size()) {
            sb.append(" ...");
        }
        return sb.append(']').toString();
    }
}
