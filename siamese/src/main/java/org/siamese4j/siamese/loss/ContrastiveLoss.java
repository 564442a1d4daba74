package org.siamese4j.siamese.loss;

import java.util.Objects;
import org.siamese4j.siamese.Distance;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * The contrastive loss of a Siamese network over pairs: same-identity pairs are pulled together, different
 * ones pushed apart until they are at least the margin away. With the "same" indicator S (1 for a pair of one
 * identity, derived from the label by the {@link LabelConvention}) and pair distance D:
 * <pre>
 *   L_i = S_i * D_i^2 + (1 - S_i) * max(m - D_i, 0)^2
 * </pre>
 * A term is active (non-zero) when a same pair is not yet at distance 0 or a different pair is closer than m.
 * The gradient is {@code 2 S D - 2 (1 - S) max(m - D, 0)} per unit of D, continuous at the hinge.
 *
 * <p>The formula is meant for a Euclidean distance (Hadsell et al. 2006); any non-negative distance works,
 * with a margin on its scale (cosine distances lie in [0, 2]).
 */
public final class ContrastiveLoss {
    private final float margin;
    private final LabelConvention convention;
    private final Reduction reduction;

    /** Averages over all pairs ({@link Reduction#MEAN}). */
    public ContrastiveLoss(float margin, LabelConvention convention) {
        this(margin, convention, Reduction.MEAN);
    }

    /**
     * @param margin     how far apart different-identity pairs must be before they stop contributing; finite
     *                   and positive
     * @param convention which label means "same identity"
     * @param reduction  how the per-pair terms become the loss
     */
    public ContrastiveLoss(float margin, LabelConvention convention, Reduction reduction) {
        if (!(margin > 0) || !Float.isFinite(margin)) {
            throw new IllegalArgumentException("ContrastiveLoss: margin must be positive and finite, got " + margin);
        }
        this.margin = margin;
        this.convention = Objects.requireNonNull(convention, "ContrastiveLoss: convention must not be null");
        this.reduction = Objects.requireNonNull(reduction, "ContrastiveLoss: reduction must not be null");
    }

    public float margin() {
        return margin;
    }

    public LabelConvention convention() {
        return convention;
    }

    public Reduction reduction() {
        return reduction;
    }

    /**
     * @param distances [N] pair distances (differentiable, e.g. {@link Distance#rowwise})
     * @param labels    N pair labels, each 0 or 1 under this loss's convention
     */
    public LossResult compute(Tensor distances, int[] labels) {
        Objects.requireNonNull(labels, "ContrastiveLoss: labels must not be null");
        return computeChecked(distances, LabelConvention.checked(labels));
    }

    /** As {@link #compute(Tensor, int[])}, with labels given as floats that must be exactly 0 or 1. */
    public LossResult compute(Tensor distances, float[] labels) {
        Objects.requireNonNull(labels, "ContrastiveLoss: labels must not be null");
        return computeChecked(distances, LabelConvention.checked(labels));
    }

    /**
     * The loss of the pairs (a[i], b[i]) under {@code distance}.
     *
     * @param a [N, D] embeddings of the first images of the pairs
     * @param b [N, D] embeddings of the second images
     */
    public LossResult compute(Distance distance, Tensor a, Tensor b, int[] labels) {
        Objects.requireNonNull(distance, "ContrastiveLoss: distance must not be null");
        return compute(distance.rowwise(a, b), labels);
    }

    private LossResult computeChecked(Tensor distances, float[] labels) {
        Objects.requireNonNull(distances, "ContrastiveLoss: distances must not be null");
        if (distances.rank() != 1) {
            throw new IllegalArgumentException("ContrastiveLoss: distances must be a rank-1 tensor [N] of pair "
                    + "distances, got shape " + Shapes.toString(distances.shape()));
        }
        if (labels.length != distances.dim(0)) {
            throw new IllegalArgumentException("ContrastiveLoss: " + labels.length + " labels for distances of shape "
                    + Shapes.toString(distances.shape()));
        }
        int n = labels.length;
        float[] same = new float[n];
        float[] different = new float[n];
        for (int i = 0; i < n; i++) {
            same[i] = convention.sameIndicator(labels[i]);
            different[i] = 1f - same[i];
        }
        // S * D^2 + (1 - S) * max(m - D, 0)^2, with S and 1 - S constant weights
        Tensor pull = distances.square().mul(Tensor.wrap(same, n));
        Tensor push = distances.neg().add(margin).relu().square().mul(Tensor.wrap(different, n));
        return LossResult.of(pull.add(push), reduction);
    }

    @Override
    public String toString() {
        return "ContrastiveLoss(margin=" + margin + ", " + convention + ", " + reduction + ")";
    }
}
