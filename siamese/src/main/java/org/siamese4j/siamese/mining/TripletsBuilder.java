package org.siamese4j.siamese.mining;

import java.util.Arrays;

/** Growable parallel int arrays for the miners, which do not know their output size in advance. */
final class TripletsBuilder {
    private int[] a;
    private int[] p;
    private int[] n;
    private int size;

    TripletsBuilder(int initialCapacity) {
        int c = Math.max(initialCapacity, 4);
        a = new int[c];
        p = new int[c];
        n = new int[c];
    }

    void add(int anchor, int positive, int negative) {
        if (size == a.length) {
            // Grow by half; the JVM array limit is a little under Integer.MAX_VALUE.
            int capacity = (int) Math.min((long) a.length + (a.length >> 1) + 1, Integer.MAX_VALUE - 8);
            if (capacity <= size) {
                throw new IllegalStateException("too many triplets (more than " + size + ")");
            }
            a = Arrays.copyOf(a, capacity);
            p = Arrays.copyOf(p, capacity);
            n = Arrays.copyOf(n, capacity);
        }
        a[size] = anchor;
        p[size] = positive;
        n[size] = negative;
        size++;
    }

    int size() {
        return size;
    }

    Triplets build() {
        return new Triplets(Arrays.copyOf(a, size), Arrays.copyOf(p, size), Arrays.copyOf(n, size));
    }
}
