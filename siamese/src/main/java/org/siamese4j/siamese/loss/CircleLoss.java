package org.siamese4j.siamese.loss;

import java.util.Objects;
import org.siamese4j.siamese.Distance;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Circle loss, pair-based form (Sun et al. 2020, "Circle Loss: A Unified Perspective of Pair Similarity
 * Optimization", CVPR), on cosine similarities. For one anchor with positive similarities s_p (same identity)
 * and negative similarities s_n (other identities):
 * <pre>
 *   alpha_p = max(1 + m - s_p, 0)      alpha_n = max(s_n + m, 0)      (weights, detached: constants for autograd)
 *   Delta_p = 1 - m                     Delta_n = m                     (decision margins)
 *   L = softplus( LSE_n(gamma * alpha_n * (s_n - Delta_n)) + LSE_p(-gamma * alpha_p * (s_p - Delta_p)) )
 * </pre>
 * with {@code LSE_k(x_k) = ln sum_k e^(x_k)}. This is the paper's
 * {@code ln(1 + sum_n sum_p e^(gamma (alpha_n (s_n - Delta_n) - alpha_p (s_p - Delta_p))))}, factored so that
 * the double sum becomes a sum of two log-sum-exps. Each similarity is weighted by how far it is from its
 * optimum (O_p = 1 + m, O_n = -m), so pairs far from it get more gradient: the decision boundary is a circle
 * around (s_n, s_p) = (0, 1) instead of the line s_p - s_n = m of margin losses. The paper's face-recognition
 * setting is m = 0.25, gamma = 256 (the defaults here).
 *
 * <p>Numerics: each log-sum-exp is shifted by its largest argument c, {@code LSE(x) = c + ln sum e^(x - c)}, so
 * exp sees only values &lt;= 0 and the sum is at least 1; softplus is the overflow-free form. With gamma = 256
 * the arguments reach a few hundred and nothing overflows. The shift is a constant, which is exact: the
 * gradient of LSE does not depend on it.
 *
 * <p>Two forms: {@link #fromSimilarities} takes the similarities already split per anchor; {@link #compute}
 * takes a batch of embeddings with identity labels and uses every other sample of the anchor's identity as a
 * positive and every sample of another identity as a negative, one term per anchor. Anchors with no positive
 * or no negative in the batch have no term (no NaN from an empty log-sum-exp); if no anchor has both, the
 * loss is 0 with a zero gradient.
 */
public final class CircleLoss {
    private final float m;
    private final float gamma;
    private final Reduction reduction;
    /** False as in the paper: alpha is computed from the values and held constant. True only for tests. */
    private final boolean weightsInGraph;

    /** m = 0.25, gamma = 256, averaged over anchors. */
    public CircleLoss() {
        this(0.25f, 256f);
    }

    /** Averaged over anchors ({@link Reduction#MEAN}). */
    public CircleLoss(float m, float gamma) {
        this(m, gamma, Reduction.MEAN);
    }

    /**
     * @param m         relaxation margin, in [0, 0.5) so that Delta_n = m stays below Delta_p = 1 - m
     * @param gamma     scale factor, positive and finite
     * @param reduction how the per-anchor terms become the loss
     */
    public CircleLoss(float m, float gamma, Reduction reduction) {
        this(m, gamma, reduction, false);
    }

    /**
     * With {@code weightsInGraph} the alphas are differentiated through (not the paper's loss): lets a
     * finite-difference gradient check, which cannot hold anything constant, test every other part.
     */
    CircleLoss(float m, float gamma, Reduction reduction, boolean weightsInGraph) {
        if (!(m >= 0f && m < 0.5f)) {
            throw new IllegalArgumentException("CircleLoss: m must be in [0, 0.5) so that the negative margin m stays "
                    + "below the positive margin 1 - m, got " + m);
        }
        if (!(gamma > 0f) || !Float.isFinite(gamma)) {
            throw new IllegalArgumentException("CircleLoss: gamma must be positive and finite, got " + gamma);
        }
        this.m = m;
        this.gamma = gamma;
        this.reduction = Objects.requireNonNull(reduction, "CircleLoss: reduction must not be null");
        this.weightsInGraph = weightsInGraph;
    }

    public float m() {
        return m;
    }

    public float gamma() {
        return gamma;
    }

    public Reduction reduction() {
        return reduction;
    }

    // =====================================================================================================
    // Batch form
    // =====================================================================================================

    /**
     * One term per anchor of the batch that has at least one positive and one negative, in anchor order, on
     * the cosine similarities of the embeddings ({@link Distance#cosineSimilarity}).
     *
     * @param embeddings [N, D]
     * @param labels     N identity labels (any ints; equal means same identity)
     */
    public LossResult compute(Tensor embeddings, int[] labels) {
        Objects.requireNonNull(embeddings, "CircleLoss: embeddings must not be null");
        if (embeddings.rank() != 2) {
            throw new IllegalArgumentException("CircleLoss: embeddings must be a rank-2 tensor [N, D], got shape "
                    + Shapes.toString(embeddings.shape()));
        }
        return fromSimilarityMatrix(Distance.cosineSimilarity(embeddings), labels);
    }

    /**
     * As {@link #compute}, from the [N, N] similarity matrix of a batch with itself (the diagonal, each
     * sample with itself, is never used).
     *
     * @param similarities [N, N]
     * @param labels       N identity labels
     */
    public LossResult fromSimilarityMatrix(Tensor similarities, int[] labels) {
        Objects.requireNonNull(similarities, "CircleLoss: similarities must not be null");
        Objects.requireNonNull(labels, "CircleLoss: labels must not be null");
        if (similarities.rank() != 2 || similarities.dim(0) != similarities.dim(1)) {
            throw new IllegalArgumentException("CircleLoss: the similarity matrix must be square [N, N], got shape "
                    + Shapes.toString(similarities.shape()));
        }
        int n = similarities.dim(0);
        if (labels.length != n) {
            throw new IllegalArgumentException("CircleLoss: " + labels.length + " labels for a batch of " + n
                    + " (similarity matrix " + Shapes.toString(similarities.shape()) + ")");
        }
        int[] kept = new int[n];
        int anchors = 0;
        for (int i = 0; i < n; i++) {
            boolean positive = false;
            boolean negative = false;
            for (int j = 0; j < n; j++) {
                positive |= j != i && labels[j] == labels[i];
                negative |= labels[j] != labels[i];
            }
            if (positive && negative) {
                kept[anchors++] = i;
            }
        }
        if (anchors == 0) {
            // no term: an empty [0] tensor still hangs off the graph, so the reduced 0 can be back-propagated
            return LossResult.of(similarities.slice(0, 0).sum(1, false), reduction);
        }
        float[] positiveMask = new float[anchors * n];
        float[] negativeMask = new float[anchors * n];
        int[] rows = new int[anchors];
        for (int a = 0; a < anchors; a++) {
            int i = kept[a];
            rows[a] = i;
            for (int j = 0; j < n; j++) {
                positiveMask[a * n + j] = j != i && labels[j] == labels[i] ? 1f : 0f;
                negativeMask[a * n + j] = labels[j] != labels[i] ? 1f : 0f;
            }
        }
        Tensor anchorRows = similarities.indexSelect(0, rows);                 // [A, N]
        return LossResult.of(terms(anchorRows, positiveMask, anchorRows, negativeMask), reduction);
    }

    // =====================================================================================================
    // Pair form
    // =====================================================================================================

    /**
     * One term per row (anchor).
     *
     * @param positive [A, P] the similarities of each anchor to its P positives, or [P] for one anchor
     * @param negative [A, Q] the similarities to its Q negatives, or [Q]
     */
    public LossResult fromSimilarities(Tensor positive, Tensor negative) {
        Tensor sp = asRows(positive, "positive");
        Tensor sn = asRows(negative, "negative");
        if (sp.dim(0) != sn.dim(0)) {
            throw new IllegalArgumentException("CircleLoss: positive similarities " + Shapes.toString(positive.shape())
                    + " and negative similarities " + Shapes.toString(negative.shape())
                    + " have different numbers of anchors");
        }
        return LossResult.of(terms(sp, null, sn, null), reduction);
    }

    private static Tensor asRows(Tensor s, String what) {
        Objects.requireNonNull(s, () -> "CircleLoss: " + what + " similarities must not be null");
        if (s.rank() != 1 && s.rank() != 2) {
            throw new IllegalArgumentException("CircleLoss: " + what + " similarities must be [A, K] or [K], got shape "
                    + Shapes.toString(s.shape()));
        }
        Tensor rows = s.rank() == 1 ? s.reshape(1, s.dim(0)) : s;
        if (rows.dim(1) == 0) {
            throw new IllegalArgumentException("CircleLoss: every anchor needs at least one " + what
                    + " similarity, got shape " + Shapes.toString(s.shape()));
        }
        return rows;
    }

    // =====================================================================================================
    // The maths
    // =====================================================================================================

    /**
     * softplus(LSE_n + LSE_p) per row, over the entries whose mask is 1 (every entry when the mask is null).
     *
     * @param sp [A, P] positive similarities, sn [A, Q] negative ones; masks row-major like them
     */
    private Tensor terms(Tensor sp, float[] positiveMask, Tensor sn, float[] negativeMask) {
        // logits_p = -gamma * alpha_p * (s_p - (1 - m)),  alpha_p = max(1 + m - s_p, 0)
        Tensor alphaP = weightsInGraph ? sp.neg().add(1f + m).relu() : constant(sp, 1f + m, -1f);
        Tensor logitsP = sp.sub(1f - m).mul(alphaP).mul(-gamma);
        // logits_n = gamma * alpha_n * (s_n - m),  alpha_n = max(s_n + m, 0)
        Tensor alphaN = weightsInGraph ? sn.add(m).relu() : constant(sn, m, 1f);
        Tensor logitsN = sn.sub(m).mul(alphaN).mul(gamma);
        return logSumExpRows(logitsN, negativeMask).add(logSumExpRows(logitsP, positiveMask)).softplus();
    }

    /** The constant max(offset + sign * s, 0), elementwise, read from the values of s. */
    private static Tensor constant(Tensor s, float offset, float sign) {
        float[] v = s.data();
        float[] w = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            w[i] = Math.max(offset + sign * v[i], 0f);
        }
        return Tensor.wrap(w, s.shape());
    }

    /**
     * out[i] = ln sum_{j: mask[i, j] = 1} e^(x[i, j]), as c_i + ln sum_j mask * e^((x[i, j] - c_i) * mask) with c_i
     * the largest unmasked x[i, j]. Multiplying the exponent by the mask sends every masked entry to e^0, which
     * the outer mask then zeroes: no exp of a large masked value can overflow into inf * 0 = NaN, and masked
     * entries get exactly zero gradient. The sum is at least 1 (the maximum contributes e^0), so the log is safe.
     */
    private static Tensor logSumExpRows(Tensor x, float[] mask) {
        int rows = x.dim(0);
        int cols = x.dim(1);
        float[] v = x.data();
        float[] shift = new float[rows];
        for (int i = 0; i < rows; i++) {
            float best = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < cols; j++) {
                if ((mask == null || mask[i * cols + j] != 0f) && v[i * cols + j] > best) {
                    best = v[i * cols + j];
                }
            }
            // a row holding NaN may have no maximum: 0 lets the NaN pass on instead of turning into -inf
            shift[i] = best == Float.NEGATIVE_INFINITY ? 0f : best;
        }
        Tensor shifted = x.sub(Tensor.wrap(shift, rows, 1));
        Tensor exps;
        if (mask == null) {
            exps = shifted.exp();
        } else {
            Tensor keep = Tensor.wrap(mask, rows, cols);
            exps = shifted.mul(keep).exp().mul(keep);
        }
        return exps.sum(1, false).log().add(Tensor.wrap(shift.clone(), rows));
    }

    @Override
    public String toString() {
        return "CircleLoss(m=" + m + ", gamma=" + gamma + ", " + reduction + ")";
    }
}
