package org.siamese4j.siamese;

import java.util.List;
import org.siamese4j.nn.Module;
import org.siamese4j.tensor.Tensor;

/**
 * Three branches, one tower: anchor, positive and negative images all go through the SAME embedding module,
 * as one batched pass. The gradients of the three branches add up in the shared parameters.
 */
public class TripletNetwork {
    private final Module tower;

    /** The embeddings of anchors, positives and negatives, each [N, D]. */
    public record TripletEmbeddings(Tensor anchor, Tensor positive, Tensor negative) {
    }

    public TripletNetwork(Module tower) {
        if (tower == null) {
            throw new IllegalArgumentException("TripletNetwork: the tower must not be null");
        }
        this.tower = tower;
    }

    public Module tower() {
        return tower;
    }

    public List<Tensor> parameters() {
        return tower.parameters();
    }

    public Tensor embed(Tensor images) {
        return tower.forward(images);
    }

    /** Embeds N triplets in one batched pass; the three inputs are [N, ...] alike. */
    public TripletEmbeddings forwardTriplet(Tensor anchor, Tensor positive, Tensor negative) {
        SiameseNetwork.requireSameShape("forwardTriplet", anchor, positive, negative);
        int n = anchor.dim(0);
        Tensor all = tower.forward(Tensor.concat(0, anchor, positive, negative));
        return new TripletEmbeddings(all.slice(0, n), all.slice(n, 2 * n), all.slice(2 * n, 3 * n));
    }

    @Override
    public String toString() {
        return "TripletNetwork(shared tower: " + tower + ")";
    }
}
