package org.siamese4j.siamese.head;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Module;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A Siamese pair model with a learned similarity head (Koch et al. 2015): one shared tower embeds both images of
 * a pair, and a {@link SimilarityHead} turns the two embeddings into the logit of P(same).
 * <pre>
 *   images a, b [N, ...]  --tower (shared)-->  e1, e2 [N, D]  --|e1 - e2|, head-->  logits [N]
 * </pre>
 * Any tower works, as long as it outputs [N, D] with D = the head's feature count: the Koch tower
 * {@code conv(64,10) relu maxpool(2) conv(128,7) relu maxpool(2) conv(128,4) relu maxpool(2) conv(256,4) relu
 * flatten dense(4096) sigmoid} on 1x105x105, the reference tower of the benchmarks, or one built by hand.
 *
 * <p>As in {@link org.siamese4j.siamese.SiameseNetwork}, both images of every pair go through the tower in ONE
 * batch of 2N (the first images, then the second ones), then the embeddings are split; the tower's parameters get
 * the sum of both branches' gradients because autograd accumulates. A batch-norm layer in the tower sees both
 * halves together.
 *
 * <p>This class is a {@link Module} whose children are {@code tower} and {@code head}, so an optimiser takes
 * {@link #parameters()} (tower and head together) and a {@link org.siamese4j.io.Checkpoint} of it holds both
 * ({@code tower.0.weight}, {@code head.0.weight}). Its {@link #forward} takes the stacked batch [2N, ...]. For
 * deployment, {@link #save} writes ONE model file: the tower as a plain model plus the head under the model file's
 * {@code head} keys and {@code head.} tensor prefix ({@link ModelFile}).
 */
public final class HeadSiameseNetwork extends Module {
    private final Module tower;
    private final SimilarityHead head;

    /** Wraps a tower and a head; the tower must output [N, head.features()] (checked on every pass). */
    public HeadSiameseNetwork(Module tower, SimilarityHead head) {
        this.tower = registerModule("tower", Objects.requireNonNull(tower, "HeadSiameseNetwork: tower is null"));
        this.head = registerModule("head", Objects.requireNonNull(head, "HeadSiameseNetwork: head is null"));
    }

    /**
     * Builds a tower from its spec for {@code inputShape} and a head for the tower's output width, both
     * initialised from {@code rng} (tower first).
     *
     * @throws IllegalArgumentException when the tower does not output flat features [D] or the head spec does
     *                                  not fit D or does not end in one logit
     */
    public static HeadSiameseNetwork build(ArchSpec towerArch, int[] inputShape, ArchSpec headArch, Rng rng) {
        Objects.requireNonNull(towerArch, "HeadSiameseNetwork.build: towerArch is null");
        Objects.requireNonNull(headArch, "HeadSiameseNetwork.build: headArch is null");
        Objects.requireNonNull(rng, "HeadSiameseNetwork.build: rng is null");
        int features = embeddingWidth(towerArch, inputShape);
        SimilarityHead.validate(headArch, features);
        Module tower = towerArch.build(inputShape, rng);
        return new HeadSiameseNetwork(tower, new SimilarityHead(headArch, features, rng));
    }

    /** D for a tower spec that outputs flat features [D] on {@code inputShape}, or a failure saying why not. */
    static int embeddingWidth(ArchSpec towerArch, int[] inputShape) {
        int[] out = towerArch.outputShape(inputShape);
        if (out.length != 1) {
            throw new IllegalArgumentException("HeadSiameseNetwork: the tower '" + towerArch + "' on input "
                    + ArchSpec.formatInput(inputShape) + " outputs " + Arrays.toString(out) + ", not flat "
                    + "embeddings [D]; end it with flatten and a dense layer");
        }
        return out[0];
    }

    /** The shared embedding tower. */
    public Module tower() {
        return tower;
    }

    /** The similarity head. */
    public SimilarityHead head() {
        return head;
    }

    /** The tower's embedding of one batch [N, ...]: [N, D]. */
    public Tensor embed(Tensor images) {
        return tower.forward(images);
    }

    /**
     * Logits of P(same) [N] for a stacked batch [2N, ...]: rows 0..N-1 are the first images of the pairs, rows
     * N..2N-1 the second ones, in the same order. The tower runs once on all 2N.
     */
    @Override
    public Tensor forward(Tensor pairs) {
        Objects.requireNonNull(pairs, "HeadSiameseNetwork.forward: pairs is null");
        if (pairs.rank() < 2 || pairs.dim(0) % 2 != 0) {
            throw new IllegalArgumentException("HeadSiameseNetwork.forward: needs the first and second images of N "
                    + "pairs stacked as [2N, ...], got " + Arrays.toString(pairs.shape()));
        }
        int n = pairs.dim(0) / 2;
        Tensor embeddings = tower.forward(pairs);
        if (embeddings.rank() != 2 || embeddings.dim(0) != 2 * n) {
            throw new IllegalStateException("HeadSiameseNetwork: the tower must output [N, D] embeddings, got "
                    + Arrays.toString(embeddings.shape()) + " for input " + Arrays.toString(pairs.shape()));
        }
        return head.logits(embeddings.slice(0, n), embeddings.slice(n, 2 * n));
    }

    /** Logits of P(same) [N] for N pairs: {@code first[i]} with {@code second[i]}, both [N, ...] alike. */
    public Tensor logits(Tensor first, Tensor second) {
        Objects.requireNonNull(first, "HeadSiameseNetwork.logits: first is null");
        Objects.requireNonNull(second, "HeadSiameseNetwork.logits: second is null");
        if (!Arrays.equals(first.shape(), second.shape())) {
            throw new IllegalArgumentException("HeadSiameseNetwork.logits: the branches need inputs of the same "
                    + "shape, got " + Arrays.toString(first.shape()) + " and " + Arrays.toString(second.shape()));
        }
        return forward(Tensor.concat(0, first, second));
    }

    /** P(same) [N] = sigmoid(logits): for reporting; train on {@link #logits} with BCE on logits. */
    public Tensor probabilities(Tensor first, Tensor second) {
        return logits(first, second).sigmoid();
    }

    /**
     * The logit of P(same) for two embeddings already computed by the tower (D values each), without building a
     * graph. The head runs in evaluation mode (batch norm's running statistics, no dropout) and is put back in
     * the mode it had.
     */
    public float logit(float[] e1, float[] e2) {
        return logits(new float[][] {e1}, new float[][] {e2})[0];
    }

    /**
     * P(same) for two embeddings already computed by the tower, as {@link #logit} but through the sigmoid,
     * computed in double: higher means more alike ({@code ScoreDirection.HIGHER_IS_SAME}). Double keeps
     * confident pairs apart up to a logit of about 36, where float would round them all to 1.
     */
    public double score(float[] e1, float[] e2) {
        return sigmoid(logit(e1, e2));
    }

    /** {@link #score} of each pair {@code first[i]}, {@code second[i]}, in one pass of the head. */
    public double[] scores(float[][] first, float[][] second) {
        float[] z = logits(first, second);
        double[] out = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            out[i] = sigmoid(z[i]);
        }
        return out;
    }

    private float[] logits(float[][] first, float[][] second) {
        Objects.requireNonNull(first, "HeadSiameseNetwork.score: first is null");
        Objects.requireNonNull(second, "HeadSiameseNetwork.score: second is null");
        if (first.length != second.length) {
            throw new IllegalArgumentException("HeadSiameseNetwork.score: " + first.length + " first and "
                    + second.length + " second embeddings");
        }
        int d = head.features();
        int n = first.length;
        float[] a = new float[n * d];
        float[] b = new float[n * d];
        for (int i = 0; i < n; i++) {
            requireEmbedding(first[i], "first", i, d);
            requireEmbedding(second[i], "second", i, d);
            System.arraycopy(first[i], 0, a, i * d, d);
            System.arraycopy(second[i], 0, b, i * d, d);
        }
        if (n == 0) {
            return new float[0];
        }
        boolean wasTraining = head.isTraining();
        head.eval();
        try (var noGrad = Tensor.noGrad()) {
            return head.logits(Tensor.wrap(a, n, d), Tensor.wrap(b, n, d)).toArray();
        } finally {
            head.train(wasTraining);
        }
    }

    private static void requireEmbedding(float[] e, String side, int i, int d) {
        if (e == null || e.length != d) {
            throw new IllegalArgumentException("HeadSiameseNetwork.score: the head takes embeddings of " + d
                    + " values, " + side + "[" + i + "] has " + (e == null ? "none (null)" : e.length));
        }
    }

    /** 1 / (1 + e^-z), with exp only of -|z| (no overflow). */
    static double sigmoid(float z) {
        if (z >= 0f) {
            return 1.0 / (1.0 + Math.exp(-(double) z));
        }
        double e = Math.exp(z);
        return e / (1.0 + e);
    }

    // =====================================================================================================
    // Model files
    // =====================================================================================================

    /**
     * Saves tower and head in one model file ({@link ModelFile#save(Path, Module, ArchSpec, int[], ModelFile.Head,
     * Map)}): the tower under its spec, the head under the {@code head} and {@code head_input} keys, atomically.
     *
     * @param towerArch     the tower's spec; it must describe the tower exactly
     * @param extraMetadata more strings to store (may be null)
     */
    public void save(Path file, ArchSpec towerArch, int[] inputShape, Map<String, String> extraMetadata)
            throws IOException {
        Objects.requireNonNull(towerArch, "HeadSiameseNetwork.save: towerArch is null");
        int width = embeddingWidth(towerArch, inputShape);
        if (width != head.features()) {
            throw new IllegalArgumentException("HeadSiameseNetwork.save: the tower spec outputs " + width
                    + " features, the head takes " + head.features());
        }
        ModelFile.save(file, tower, towerArch, inputShape, head.toModelFileHead(), extraMetadata);
    }

    /** Loads a model file written by {@link #save}; see {@link #of}. */
    public static HeadSiameseNetwork load(Path file) throws IOException {
        Objects.requireNonNull(file, "HeadSiameseNetwork.load: file is null");
        return of(ModelFile.load(file), file.toString());
    }

    /**
     * The pair model of a loaded model file, in evaluation mode; {@code source} names the file in errors.
     *
     * @throws ModelFormatException when the file has no head (a plain embedding model: use it with a distance),
     *                              the tower does not output [D], {@code head_input} is not D, or the head is
     *                              not a similarity head (one logit)
     */
    public static HeadSiameseNetwork of(ModelFile.LoadedModel loaded, String source) throws ModelFormatException {
        Objects.requireNonNull(loaded, "HeadSiameseNetwork.of: loaded is null");
        String src = String.valueOf(source);
        ModelFile.Head h = loaded.head().orElseThrow(() -> new ModelFormatException(src, "the model file has no "
                + "similarity head (no \"" + ModelFile.KEY_HEAD + "\" metadata): it is a plain embedding model, to be "
                + "used with a distance", "metadata field \"" + ModelFile.KEY_HEAD + "\""));
        int width;
        try {
            width = embeddingWidth(loaded.arch(), loaded.inputShape());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(src, e.getMessage(), "metadata field \"" + ModelFile.KEY_ARCH + "\"", e);
        }
        if (h.inputFeatures() != width) {
            throw new ModelFormatException(src, "the head takes " + h.inputFeatures() + " features but the tower "
                    + "outputs " + width, "metadata field \"" + ModelFile.KEY_HEAD_INPUT + "\"");
        }
        SimilarityHead head;
        try {
            head = SimilarityHead.of(h.model(), h.arch(), h.inputFeatures());
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(src, e.getMessage(), "metadata field \"" + ModelFile.KEY_HEAD + "\"", e);
        }
        HeadSiameseNetwork net = new HeadSiameseNetwork(loaded.model(), head);
        net.eval();
        return net;
    }
}
