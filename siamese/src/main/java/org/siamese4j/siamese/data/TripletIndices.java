package org.siamese4j.siamese.data;

/**
 * A batch of triplets: {@code anchor[i]} and {@code positive[i]} are different images of one identity,
 * {@code negative[i]} an image of another identity.
 */
public record TripletIndices(int[] anchor, int[] positive, int[] negative) {

    public TripletIndices {
        if (anchor.length != positive.length || anchor.length != negative.length) {
            throw new IllegalArgumentException("TripletIndices: anchor, positive and negative must have equal"
                    + " lengths, got " + anchor.length + ", " + positive.length + ", " + negative.length);
        }
    }

    public int size() {
        return anchor.length;
    }
}
