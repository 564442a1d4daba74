package org.siamese4j.siamese.data;

/**
 * A P x K batch: {@code indices} holds P groups of K image indices, group {@code g} at
 * {@code [g*K, (g+1)*K)}, all of identity {@code labels[g*K]}; {@code labels[i]} is the label of
 * {@code indices[i]} (what batch-hard and batch-all miners need).
 */
public record IdentityBatch(int[] indices, int[] labels, int identities, int perIdentity) {

    public IdentityBatch {
        if (indices.length != labels.length || indices.length != identities * perIdentity) {
            throw new IllegalArgumentException("IdentityBatch: " + indices.length + " indices and " + labels.length
                    + " labels for " + identities + " x " + perIdentity);
        }
    }

    public int size() {
        return indices.length;
    }
}
