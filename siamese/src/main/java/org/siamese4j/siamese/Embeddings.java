package org.siamese4j.siamese;

import java.io.IOException;
import org.siamese4j.nn.Module;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.LabelledImages;
import org.siamese4j.tensor.Tensor;

/**
 * Embeds whole datasets for evaluation: eval mode, no graph, in batches, as plain arrays for the metrics. Only one
 * batch of images is in memory at a time beyond what the caller holds, so images read from disk or drawn on demand
 * ({@link LabelledImages}) are embedded in memory for their embeddings alone.
 */
public final class Embeddings {
    private Embeddings() {
    }

    /** Hands out the images {@code from .. to - 1} of a set as one [to - from, C, H, W] batch. */
    @FunctionalInterface
    public interface Batches<X extends Exception> {
        Tensor read(int from, int to) throws X;
    }

    /**
     * The tower's embedding of every image, row i for image i. The tower is put in eval mode for the pass (batch
     * norm uses its running statistics, dropout is off) and restored to the mode it had.
     */
    public static float[][] of(Module tower, ImageDataset data, int batchSize) {
        return of(tower, data.size(), batchSize, (from, to) -> data.images().slice(from, to));
    }

    /** As {@link #of(Module, ImageDataset, int)}, reading the images one batch at a time. */
    public static float[][] of(Module tower, LabelledImages data, int batchSize) throws IOException {
        return of(tower, data.size(), batchSize, (from, to) -> data.batch(LabelledImages.indices(from, to)));
    }

    /**
     * The embeddings of {@code count} inputs handed out by {@code batches}, {@code batchSize} at a time (the last
     * batch may be smaller), row i for input i, with the tower in eval mode as {@link #of(Module, ImageDataset,
     * int)}. A batch is read only when the one before it has been embedded.
     *
     * <p>Whether the images are in memory or read batch by batch does not change an embedding; the batch it is
     * computed in may, in the last bits: the GEMM multiplies a product of a few rows (fewer than 4, or little work) by
     * another path, which rounds differently.
     */
    public static <X extends Exception> float[][] of(Module tower, int count, int batchSize, Batches<X> batches)
            throws X {
        if (batchSize < 1) {
            throw new IllegalArgumentException("Embeddings: batch size must be >= 1, got " + batchSize);
        }
        boolean wasTraining = tower.isTraining();
        tower.eval();
        float[][] out = new float[count][];
        try (var noGrad = Tensor.noGrad()) {
            for (int start = 0; start < count; start += batchSize) {
                int end = Math.min(count, start + batchSize);
                Tensor e = tower.forward(batches.read(start, end));
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
