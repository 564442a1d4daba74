package org.siamese4j.siamese.loss;

/**
 * Which pair label means "same identity" in a contrastive loss. Both conventions are in wide use and give the
 * same loss once the labels are flipped, so mixing them up trains the network backwards without any error:
 * this enum makes the choice explicit.
 *
 * <p>With D the distance between the two embeddings of a pair and m the margin:
 * <pre>
 *   SAME_IS_ONE       (Y = 1: same)       L = Y * D^2       + (1 - Y) * max(m - D, 0)^2
 *   DIFFERENT_IS_ONE  (Y = 1: different)  L = (1 - Y) * D^2 + Y * max(m - D, 0)^2
 * </pre>
 * Either way a same-identity pair is pulled together by D^2 and a different-identity pair is pushed apart
 * until it is at least m away, after which it contributes nothing. DIFFERENT_IS_ONE is the convention of
 * Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an Invariant Mapping" (CVPR 2006), and of the
 * popular PyTorch Siamese-network tutorial; the paper also halves both terms, which only rescales the loss and
 * is left out here, as in the tutorial.
 *
 * <p>Worked example, margin m = 2, two pairs at distances D = (0.5, 1.0), pair 0 of one person, pair 1 of two:
 * <pre>
 *   SAME_IS_ONE,      labels (1, 0):  L = (0.5^2, (2 - 1.0)^2) = (0.25, 1.00), mean 0.625
 *   DIFFERENT_IS_ONE, labels (0, 1):  L = (0.5^2, (2 - 1.0)^2) = (0.25, 1.00), mean 0.625
 *   DIFFERENT_IS_ONE, labels (1, 0)   (the SAME_IS_ONE labels, mixed up):
 *                                     L = ((2 - 0.5)^2, 1.0^2) = (2.25, 1.00), mean 1.625
 * </pre>
 * The last line pushes the same person's images apart and pulls the two people together.
 *
 * <p>Labels are 0 or 1; anything else is rejected, naming its position.
 */
public enum LabelConvention {
    /** Label 1 marks a pair of the same identity, 0 a pair of different identities. */
    SAME_IS_ONE,
    /** Label 1 marks a pair of different identities, 0 a pair of the same identity (Hadsell et al. 2006). */
    DIFFERENT_IS_ONE;

    /** Whether {@code label} (0 or 1) marks a same-identity pair under this convention. */
    public boolean isSame(int label) {
        requireBinary(label, -1);
        return (label == 1) == (this == SAME_IS_ONE);
    }

    /** The label this convention gives a pair of the same identity ({@code same}) or of different ones. */
    public int labelFor(boolean same) {
        return same == (this == SAME_IS_ONE) ? 1 : 0;
    }

    /** 1 for a same-identity pair, 0 otherwise, from labels already checked to be 0 or 1. */
    float sameIndicator(float label) {
        return this == SAME_IS_ONE ? label : 1f - label;
    }

    /** The labels as floats, after checking that every one is 0 or 1. */
    static float[] checked(int[] labels) {
        float[] out = new float[labels.length];
        for (int i = 0; i < labels.length; i++) {
            requireBinary(labels[i], i);
            out[i] = labels[i];
        }
        return out;
    }

    /** A checked copy of the labels: every one must be exactly 0 or 1. */
    static float[] checked(float[] labels) {
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] != 0f && labels[i] != 1f) {
                throw new IllegalArgumentException("labels[" + i + "] = " + labels[i]
                        + " is not a pair label: labels must be 0 or 1");
            }
        }
        return labels.clone();
    }

    private static void requireBinary(int label, int index) {
        if (label != 0 && label != 1) {
            String where = index < 0 ? "label " : "labels[" + index + "] = ";
            throw new IllegalArgumentException(where + label + " is not a pair label: labels must be 0 or 1");
        }
    }
}
