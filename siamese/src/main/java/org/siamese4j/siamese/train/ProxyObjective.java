package org.siamese4j.siamese.train;

import java.util.Arrays;
import java.util.Objects;
import org.siamese4j.nn.Init;
import org.siamese4j.nn.Module;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A normalised-softmax classifier over the training people (NormFace; with a margin, CosFace, Wang et al. 2018):
 * one learned proxy vector per training person, the logits {@code scale * cos(embedding, proxy)}, the target
 * person's logit lowered by {@code scale * margin}, cross-entropy. Every image is pulled towards its person's
 * proxy and pushed from all the others at once, not only from the few people of its batch, and the loss does not
 * run out of terms the way semi-hard triplets do once the training people are separated.
 *
 * <p>The proxies are trained parameters: {@link #model} wraps the tower and the proxies in one module (children
 * {@code tower} and parameter {@code proxies} [people, D]), so the optimiser trains both and checkpoints hold
 * both. Only the tower is kept for verification; the proxies describe the training people and nobody else.
 * Batches are drawn P x K as for the triplet losses; pairs are compared by cosine distance, the loss's own
 * similarity.
 */
public final class ProxyObjective extends PKObjective {
    /**
     * The cross-entropy above which an image counts as an active loss term: 0.001, as for
     * {@link HeadObjective#ACTIVE_LOSS}. Cross-entropy is never exactly 0; below it the image's person already has
     * probability above 0.999 and its gradient is below 0.001.
     */
    public static final double ACTIVE_LOSS = 1e-3;

    private final ProxyModel model;
    private final float scale;
    private final float margin;
    /** Training person (identity index of the dataset) to proxy row; -1 for identities without images. */
    private final int[] proxyOf;

    /**
     * @param train     the training people; one proxy per identity that has at least one image
     * @param tower     the tower being trained; it must output [N, {@code dimension}] embeddings
     * @param dimension the embedding width D
     * @param scale     s, the logits' scale (cosines lie in [-1, 1], so s bounds how confident softmax can get)
     * @param margin    m, subtracted from the target person's cosine, in [0, 1)
     * @param rng       draws the batches; the proxies are initialised from a generator split off it
     */
    public ProxyObjective(ImageDataset train, int p, int k, Module tower, int dimension, float scale, float margin,
                          Rng rng) {
        super(train, p, k, rng);
        if (!(scale > 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("ProxyObjective: scale must be positive and finite, got " + scale);
        }
        if (!(margin >= 0 && margin < 1)) {
            throw new IllegalArgumentException("ProxyObjective: margin must be in [0, 1), got " + margin);
        }
        this.scale = scale;
        this.margin = margin;
        this.proxyOf = new int[train.identityCount()];
        Arrays.fill(proxyOf, -1);
        int people = 0;
        for (int id : train.identitiesWithAtLeast(1)) {
            proxyOf[id] = people++;
        }
        this.model = new ProxyModel(Objects.requireNonNull(tower, "ProxyObjective: tower is null"), people,
                dimension, rng.split());
    }

    @Override
    public String name() {
        return "proxy";
    }

    @Override
    public Module model(Module tower) {
        if (model.tower != tower) {
            throw new IllegalArgumentException("ProxyObjective: the trainer's tower is not the one the proxies were "
                    + "built for");
        }
        return model;
    }

    /** The proxies [people, D] as trained (not normalised); row i belongs to the i-th training person. */
    public Tensor proxies() {
        return model.proxies;
    }

    @Override
    public StepLoss loss(Tensor embeddings, Batch batch, StepGuard guard) {
        int[] targets = new int[batch.labels().length];
        for (int i = 0; i < targets.length; i++) {
            targets[i] = proxyOf[batch.labels()[i]];
        }
        // no output check of its own: the logits are cosines times the scale, finite unless a proxy is not, and
        // then the loss is NaN and the guard stops the step before the update
        Tensor logits = logits(embeddings, model.proxies, targets, scale, margin);
        Tensor loss = Functional.crossEntropy(logits, targets);
        return new StepLoss(loss, loss.item(), activeFraction(logits.data(), targets), null);
    }

    /**
     * {@code s * cos(e_i, w_j) - s * m * [j == target_i]}, [N, people]: both the embeddings and the proxies are
     * normalised here, so a tower that does not end in {@code l2norm} is still compared by direction.
     */
    static Tensor logits(Tensor embeddings, Tensor proxies, int[] targets, float scale, float margin) {
        Tensor cos = Functional.l2Normalize(embeddings, 1, Distance.COSINE_EPS)
                .matmul(Functional.l2Normalize(proxies, 1, Distance.COSINE_EPS), false, true);
        int people = proxies.dim(0);
        float[] shift = new float[targets.length * people];
        for (int i = 0; i < targets.length; i++) {
            shift[i * people + targets[i]] = scale * margin;
        }
        return cos.mul(scale).sub(Tensor.wrap(shift, targets.length, people));
    }

    /** The fraction of images whose cross-entropy, computed from {@code logits} [N, C] row by row, is above 0.001. */
    static double activeFraction(float[] logits, int[] targets) {
        int n = targets.length;
        if (n == 0) {
            return 0;
        }
        int classes = logits.length / n;
        int active = 0;
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < classes; j++) {
                max = Math.max(max, logits[i * classes + j]);
            }
            double sum = 0;
            for (int j = 0; j < classes; j++) {
                sum += Math.exp(logits[i * classes + j] - max);
            }
            if (max + Math.log(sum) - logits[i * classes + targets[i]] > ACTIVE_LOSS) {
                active++;
            }
        }
        return (double) active / n;
    }

    @Override
    public Scoring scoring() {
        return new Scoring(Distance.COSINE::between, ScoreDirection.LOWER_IS_SAME, Distance.COSINE.name());
    }

    /** The tower and the proxies, so that the optimiser and checkpoints see both; forward is the tower's. */
    static final class ProxyModel extends Module {
        final Module tower;
        final Tensor proxies;

        ProxyModel(Module tower, int people, int dimension, Rng rng) {
            this.tower = registerModule("tower", tower);
            // any spread of random directions will do: the loss normalises the rows
            this.proxies = registerParameter("proxies", Init.normal(Tensor.zeros(people, dimension), 0, 1, rng));
        }

        @Override
        public Tensor forward(Tensor input) {
            return tower.forward(input);
        }
    }
}
