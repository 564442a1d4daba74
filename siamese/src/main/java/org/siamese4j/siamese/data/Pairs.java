package org.siamese4j.siamese.data;

import org.siamese4j.tensor.Tensor;

/**
 * A batch of image pairs: pair {@code i} is images {@code first[i]} and {@code second[i]}, {@code same[i]} is 1
 * when they show the same identity and 0 otherwise (the target of a contrastive loss).
 */
public record Pairs(int[] first, int[] second, int[] same) {

    public Pairs {
        if (first.length != second.length || first.length != same.length) {
            throw new IllegalArgumentException("Pairs: first, second and same must have equal lengths, got "
                    + first.length + ", " + second.length + ", " + same.length);
        }
    }

    public int size() {
        return first.length;
    }

    public boolean isSame(int pair) {
        return same[pair] == 1;
    }

    /** How many pairs are positive (same identity). */
    public int positives() {
        int n = 0;
        for (int s : same) {
            n += s;
        }
        return n;
    }

    /** {@code same} as a float tensor [size], 1 for a positive pair. */
    public Tensor sameTensor() {
        float[] out = new float[same.length];
        for (int i = 0; i < same.length; i++) {
            out[i] = same[i];
        }
        return Tensor.wrap(out, same.length);
    }
}
