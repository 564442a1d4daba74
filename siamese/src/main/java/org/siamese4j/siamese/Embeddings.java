package org.siamese4j.siamese;

import org.siamese4j.nn.Module;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.tensor.Tensor;

/** Embeds whole datasets for evaluation: eval mode, no graph, in batches, as plain arrays for the metrics. */
public final class Embeddings {
    private Embeddings() {
    }

    /**
     * The tower's embedding of every image, row i for image i. The tower is put in eval mode for the pass (batch
     * norm uses its running statistics, dropout is off) and restored to the mode it had.
     */
    public static float[][] of(Module tower, ImageDataset data, int batchSize) {
        return of(tower, data.images(), batchSize);
    }

    /** As {@link #of(Module, ImageDataset, int)} for a batch of inputs, [N, ...]: row i embeds input i. */
    public static float[][] of(Module tower, Tensor inputs, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("Embeddings: batch size must be >= 1, got " + batchSize);
        }
        int size = inputs.dim(0);
        boolean wasTraining = tower.isTraining();
        tower.eval();
        float[][] out = new float[size][];
        try (var noGrad = Tensor.noGrad()) {
            for (int start = 0; start < size; start += batchSize) {
                int end = Math.min(size, start + batchSize);
                Tensor e = tower.forward(inputs.slice(start, end));
                if (e.rank() != 2) {
                    throw new IllegalStateException("Embeddings: the tower must output [N, D] embeddings, got "
                            + java.util.Arrays.toString(e.shape()));
                }
                int d = e.dim(1);
                float[] values = e.data();
                for (int i = start; i < end; i++) {
                    out[i] = java.util.Arrays.copyOfRange(values, (i - start) * d, (i - start + 1) * d);
                }
            }
        } finally {
            tower.train(wasTraining);
        }
        return out;
    }
}
