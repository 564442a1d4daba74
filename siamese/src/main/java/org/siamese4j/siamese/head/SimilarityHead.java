package org.siamese4j.siamese.head;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.siamese4j.io.ModelFile;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The learned similarity head of Koch, Zemel and Salakhutdinov (2015), "Siamese Neural Networks for One-shot
 * Image Recognition": instead of comparing two embeddings with a fixed distance and a threshold, a small network
 * learns which differences matter. Given the embeddings e1, e2 [N, D] of the two images of N pairs, it takes the
 * element-wise absolute difference
 * <pre>
 *   d = |e1 - e2|                 [N, D]   (symmetric: the order of the pair does not matter)
 *   logit = layers(d)             [N, 1] -> [N]
 *   P(same) = sigmoid(logit)
 * </pre>
 * where {@code layers} are built from an {@link ArchSpec} for {@code D} input features, such as {@code dense(1)}
 * (Koch et al.'s weighted L1 distance) or {@code dense(64) relu dense(1)}. The spec must end in exactly one
 * output, and that output is the <em>logit</em>: training uses binary cross-entropy on logits
 * ({@link org.siamese4j.tensor.Functional#binaryCrossEntropyWithLogits}), which stays finite where a sigmoid
 * followed by a log would not, and the sigmoid is applied only to report probabilities. A spec ending in
 * {@code sigmoid} is therefore refused.
 *
 * <p><b>The kink of |x| at 0.</b> Where e1 and e2 agree in a coordinate, |e1 - e2| has no derivative. Like
 * PyTorch, we use the subgradient 0 there (the sign function's value at 0), which lies in the subdifferential
 * [-1, 1] and is what the central difference of a symmetric step gives. So a coordinate in which a pair already
 * agrees exactly sends no gradient back to the tower, whichever way the head would like it to move; with float
 * embeddings from a trained tower this is rare and harmless, and it keeps the gradient finite and symmetric in
 * e1 and e2.
 *
 * <p>The state dict is the layers' own, as PyTorch's {@code nn.Sequential} of the spec: {@code 0.weight},
 * {@code 0.bias}, ... so {@link #layers()} can be saved in a model file ({@link #toModelFileHead()}) and loaded
 * back with {@link #of(Sequential, ArchSpec, int)}.
 */
public final class SimilarityHead extends Module {
    private final ArchSpec arch;
    private final int features;
    private final Sequential layers;

    private SimilarityHead(ArchSpec arch, int features, Sequential layers) {
        this.arch = arch;
        this.features = features;
        this.layers = layers;
        // The layers are this module's children under their Sequential indexes, so the state-dict names are the
        // spec's ("0.weight"), not nested under a field name.
        for (int i = 0; i < layers.size(); i++) {
            registerModule(Integer.toString(i), layers.get(i));
        }
    }

    /**
     * A new head for embeddings of {@code features} values, initialised from {@code rng} as the spec's layers
     * are (PyTorch's defaults); dropout layers in the spec keep drawing from {@code rng}.
     *
     * @throws IllegalArgumentException when the spec does not fit {@code features} or does not end in exactly one
     *                                  logit (see {@link #validate})
     */
    public SimilarityHead(ArchSpec arch, int features, Rng rng) {
        this(validated(arch, features), features, arch.build(new int[] {features}, Objects.requireNonNull(rng,
                "SimilarityHead: rng is null")));
    }

    /** {@link #SimilarityHead(ArchSpec, int, Rng)} from a spec string such as {@code "dense(64) relu dense(1)"}. */
    public static SimilarityHead parse(String spec, int features, Rng rng) {
        Objects.requireNonNull(spec, "SimilarityHead.parse: spec is null");
        return new SimilarityHead(ArchSpec.parse(spec), features, rng);
    }

    /**
     * A head around layers already built (for instance loaded from a model file). {@code arch} must describe
     * them exactly for {@code features} inputs; they are used as they are, not copied.
     */
    public static SimilarityHead of(Sequential layers, ArchSpec arch, int features) {
        Objects.requireNonNull(layers, "SimilarityHead.of: layers is null");
        validate(arch, features);
        List<String> differences = arch.differences(layers, new int[] {features});
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException("SimilarityHead.of: the spec '" + arch + "' for " + features
                    + " features does not describe the layers: " + differences);
        }
        return new SimilarityHead(arch, features, layers);
    }

    /**
     * Checks that {@code arch} can be a similarity head on {@code features} input features: it fits a
     * {@code [features]} input (dense layers, activations, dropout, batchnorm; no conv or pooling) and its output
     * is exactly one value, the logit, not passed through a sigmoid.
     *
     * @throws IllegalArgumentException naming the spec, the feature count and what is wrong
     */
    public static void validate(ArchSpec arch, int features) {
        Objects.requireNonNull(arch, "SimilarityHead: arch is null");
        if (features < 1) {
            throw new IllegalArgumentException("SimilarityHead: the embeddings need at least 1 feature, got "
                    + features);
        }
        int[] out;
        try {
            out = arch.outputShape(new int[] {features});
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("SimilarityHead: the head spec '" + arch + "' does not fit |e1 - e2| of "
                    + features + " features: " + e.getMessage(), e);
        }
        if (out.length != 1 || out[0] != 1) {
            throw new IllegalArgumentException("SimilarityHead: the head spec '" + arch + "' on " + features
                    + " features outputs " + Arrays.toString(out) + ", but a similarity head must output exactly "
                    + "1 value, the logit of P(same); end it with dense(1), e.g. 'dense(1)' or "
                    + "'dense(64) relu dense(1)'");
        }
        List<ArchSpec.Layer> specLayers = arch.layers();
        if (specLayers.get(specLayers.size() - 1).kind() == ArchSpec.Kind.SIGMOID) {
            throw new IllegalArgumentException("SimilarityHead: the head spec '" + arch + "' ends in sigmoid, but the "
                    + "head must output the logit: training applies binary cross-entropy on logits, and "
                    + "probabilities() applies the sigmoid; drop the final sigmoid");
        }
    }

    private static ArchSpec validated(ArchSpec arch, int features) {
        validate(arch, features);
        return arch;
    }

    /** The head's architecture. */
    public ArchSpec arch() {
        return arch;
    }

    /** The embedding width D it takes. */
    public int features() {
        return features;
    }

    /** The layers as the {@link Sequential} the spec builds (shared with this head, not a copy). */
    public Sequential layers() {
        return layers;
    }

    /** The head as a model file's optional second network ({@link ModelFile#save(java.nio.file.Path,
     * Module, ArchSpec, int[], ModelFile.Head, java.util.Map)}). */
    public ModelFile.Head toModelFileHead() {
        return new ModelFile.Head(layers, arch, features);
    }

    /** The layers applied to already-formed features |e1 - e2| [N, D]: logits [N, 1]. */
    @Override
    public Tensor forward(Tensor differences) {
        return layers.forward(differences);
    }

    /**
     * The logit of P(same) for each of N pairs of embeddings: {@code layers(|e1 - e2|)} as [N]. Differentiable in
     * e1, e2 and the head's parameters (see the class comment for the subgradient at e1 = e2).
     *
     * @param e1 [N, D] embeddings of the first images
     * @param e2 [N, D] embeddings of the second images, in the same pair order
     */
    public Tensor logits(Tensor e1, Tensor e2) {
        Objects.requireNonNull(e1, "SimilarityHead.logits: e1 is null");
        Objects.requireNonNull(e2, "SimilarityHead.logits: e2 is null");
        if (e1.rank() != 2 || !Arrays.equals(e1.shape(), e2.shape())) {
            throw new IllegalArgumentException("SimilarityHead.logits: needs two [N, D] embeddings of the same shape, "
                    + "got " + Arrays.toString(e1.shape()) + " and " + Arrays.toString(e2.shape()));
        }
        if (e1.dim(1) != features) {
            throw new IllegalArgumentException("SimilarityHead.logits: the head takes " + features + " features, the "
                    + "embeddings have " + e1.dim(1) + " (" + Arrays.toString(e1.shape()) + "); build the head for the "
                    + "tower's output width");
        }
        Tensor out = forward(e1.sub(e2).abs());
        return out.reshape(e1.dim(0));
    }

    @Override
    protected String extraRepr() {
        return "features=" + features + ", spec='" + arch + "'";
    }
}
