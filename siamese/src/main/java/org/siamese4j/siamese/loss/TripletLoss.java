package org.siamese4j.siamese.loss;

import java.util.Objects;
import org.siamese4j.siamese.Distance;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * The triplet loss: an anchor should be closer to a positive (same identity) than to a negative (another
 * identity). With {@code d_ap = d(a, p)} and {@code d_an = d(a, n)} under the chosen {@link Distance}:
 * <pre>
 *   HARD margin:  L_i = max(d_ap - d_an + m, 0)              (Schroff et al. 2015, FaceNet)
 *   SOFT margin:  L_i = softplus(d_ap - d_an + m) = ln(1 + e^(d_ap - d_an + m))
 * </pre>
 * The soft margin (Hermans, Beyer and Leibe 2017, "In Defense of the Triplet Loss for Person
 * Re-Identification") has no hard cut-off: it keeps pulling already-correct triplets a little, with weight
 * {@code sigmoid(d_ap - d_an + m)}; there m is normally 0 ({@link #soft(Distance)}). Softplus is evaluated as
 * {@code max(x, 0) + ln(1 + e^-|x|)}, so gaps of any size (+-1000) stay finite.
 *
 * <p>FaceNet uses the squared Euclidean distance ({@link Distance#SQUARED_EUCLIDEAN}) with m = 0.2 on
 * unit-length embeddings; Hermans et al. found the plain one ({@link Distance#EUCLIDEAN}) more stable. A term is
 * active when non-zero: for the hard margin, when the triplet violates the margin.
 */
public final class TripletLoss {

    /** Whether violations are cut off at zero or smoothed. */
    public enum MarginType {
        /** {@code max(gap + m, 0)}. */
        HARD,
        /** {@code softplus(gap + m)}. */
        SOFT
    }

    private final float margin;
    private final Distance distance;
    private final MarginType type;
    private final Reduction reduction;

    /**
     * @param margin    m, finite and non-negative
     * @param distance  the distance between embeddings (squared or plain Euclidean, or cosine)
     * @param type      hard or soft margin
     * @param reduction how the per-triplet terms become the loss
     */
    public TripletLoss(float margin, Distance distance, MarginType type, Reduction reduction) {
        if (!(margin >= 0) || !Float.isFinite(margin)) {
            throw new IllegalArgumentException("TripletLoss: margin must be finite and non-negative, got " + margin);
        }
        this.margin = margin;
        this.distance = Objects.requireNonNull(distance, "TripletLoss: distance must not be null");
        this.type = Objects.requireNonNull(type, "TripletLoss: margin type must not be null");
        this.reduction = Objects.requireNonNull(reduction, "TripletLoss: reduction must not be null");
    }

    /** Hard margin m, averaged over all triplets. */
    public static TripletLoss hard(float margin, Distance distance) {
        return new TripletLoss(margin, distance, MarginType.HARD, Reduction.MEAN);
    }

    /** Hermans et al.'s soft margin {@code ln(1 + e^(d_ap - d_an))}, averaged over all triplets. */
    public static TripletLoss soft(Distance distance) {
        return new TripletLoss(0f, distance, MarginType.SOFT, Reduction.MEAN);
    }

    public float margin() {
        return margin;
    }

    public Distance distance() {
        return distance;
    }

    public MarginType type() {
        return type;
    }

    public Reduction reduction() {
        return reduction;
    }

    /**
     * @param anchor   [N, D] embeddings
     * @param positive [N, D], row i of the same identity as anchor row i
     * @param negative [N, D], row i of another identity
     */
    public LossResult compute(Tensor anchor, Tensor positive, Tensor negative) {
        return compute(distance.rowwise(anchor, positive), distance.rowwise(anchor, negative));
    }

    /**
     * The triplets {@code (anchors[i], positives[i], negatives[i])}, indices into the rows of one embedding
     * batch (as chosen by a miner). The rows are gathered differentiably, so a row used by several triplets
     * receives all their gradients.
     *
     * @param embeddings [B, D]
     */
    public LossResult compute(Tensor embeddings, int[] anchors, int[] positives, int[] negatives) {
        Objects.requireNonNull(embeddings, "TripletLoss: embeddings must not be null");
        Objects.requireNonNull(anchors, "TripletLoss: anchors must not be null");
        Objects.requireNonNull(positives, "TripletLoss: positives must not be null");
        Objects.requireNonNull(negatives, "TripletLoss: negatives must not be null");
        if (anchors.length != positives.length || anchors.length != negatives.length) {
            throw new IllegalArgumentException("TripletLoss: index arrays differ in length: " + anchors.length
                    + " anchors, " + positives.length + " positives, " + negatives.length + " negatives");
        }
        if (embeddings.rank() != 2) {
            throw new IllegalArgumentException("TripletLoss: embeddings must be a rank-2 tensor [B, D], got shape "
                    + Shapes.toString(embeddings.shape()));
        }
        return compute(embeddings.indexSelect(0, anchors), embeddings.indexSelect(0, positives),
                embeddings.indexSelect(0, negatives));
    }

    /**
     * From precomputed distances (for instance entries picked out of a {@link Distance#pairwise} matrix).
     *
     * @param anchorPositive [N] distances d(a_i, p_i)
     * @param anchorNegative [N] distances d(a_i, n_i)
     */
    public LossResult compute(Tensor anchorPositive, Tensor anchorNegative) {
        Objects.requireNonNull(anchorPositive, "TripletLoss: anchor-positive distances must not be null");
        Objects.requireNonNull(anchorNegative, "TripletLoss: anchor-negative distances must not be null");
        if (anchorPositive.rank() != 1) {
            throw new IllegalArgumentException("TripletLoss: distances must be rank-1 tensors [N], got "
                    + "anchor-positive shape " + Shapes.toString(anchorPositive.shape()));
        }
        Shapes.requireSame("TripletLoss (anchor-positive vs anchor-negative distances)", anchorPositive.shape(),
                anchorNegative.shape());
        Tensor gap = anchorPositive.sub(anchorNegative).add(margin);
        Tensor terms = switch (type) {
            case HARD -> gap.relu();
            case SOFT -> gap.softplus();
        };
        return LossResult.of(terms, reduction);
    }

    @Override
    public String toString() {
        return "TripletLoss(margin=" + margin + ", " + distance + ", " + type + ", " + reduction + ")";
    }
}
