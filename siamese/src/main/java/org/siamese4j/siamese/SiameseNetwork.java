package org.siamese4j.siamese;

import java.util.Arrays;
import java.util.List;
import org.siamese4j.nn.Module;
import org.siamese4j.tensor.Tensor;

/**
 * Two branches, one tower: both images of a pair go through the SAME embedding module, so both use the same
 * parameters, and in backward the gradients from both branches add up in those parameters (autograd
 * accumulates with {@code +=}; nothing here has to do it).
 *
 * <p>The two inputs run as one batched pass (concatenated along the batch dimension, then split), which is
 * faster than two passes. One consequence: a batch-norm layer in the tower sees statistics of both branches
 * together, exactly as when the pairs are drawn from one batch; call {@link #embed} on each side if you need
 * separate passes.
 *
 * <p>This class only wraps the tower; there is nothing else to train or save. The tower's state dict is the
 * model.
 */
public class SiameseNetwork {
    private final Module tower;

    /** The embeddings of the two sides of a batch of pairs, each [N, D]. */
    public record PairEmbeddings(Tensor first, Tensor second) {
    }

    public SiameseNetwork(Module tower) {
        if (tower == null) {
            throw new IllegalArgumentException("SiameseNetwork: the tower must not be null");
        }
        this.tower = tower;
    }

    /** The shared embedding module. */
    public Module tower() {
        return tower;
    }

    /** The parameters of the shared tower (what an optimiser updates). */
    public List<Tensor> parameters() {
        return tower.parameters();
    }

    /** Embeds one batch [N, ...]: the tower's output. */
    public Tensor embed(Tensor images) {
        return tower.forward(images);
    }

    /** Embeds both sides of N pairs in one batched pass; {@code first} and {@code second} are [N, ...] alike. */
    public PairEmbeddings forwardPair(Tensor first, Tensor second) {
        requireSameShape("forwardPair", first, second);
        int n = first.dim(0);
        Tensor both = tower.forward(Tensor.concat(0, first, second));
        return new PairEmbeddings(both.slice(0, n), both.slice(n, 2 * n));
    }

    static void requireSameShape(String op, Tensor... inputs) {
        for (Tensor t : inputs) {
            if (!Arrays.equals(t.shape(), inputs[0].shape())) {
                throw new IllegalArgumentException(op + ": the branches need inputs of the same shape, got "
                        + Arrays.toString(inputs[0].shape()) + " and " + Arrays.toString(t.shape()));
            }
        }
    }

    @Override
    public String toString() {
        return "SiameseNetwork(shared tower: " + tower + ")";
    }
}
