package org.siamese4j.onnx;

import org.siamese4j.nn.Graph;

/**
 * An ONNX model turned into a network by {@link OnnxImporter}, with what a caller needs to feed it.
 *
 * @param graph       the network: a {@link org.siamese4j.nn.Module} (trainable, with a state dict, train/eval);
 *                    {@code graph.forward(x)} takes x [N, C, H, W] and returns [N, outputSize] (or the output's
 *                    own rank, with {@code outputSize} elements per sample)
 * @param inputName   the ONNX graph input's name
 * @param inputShape  its {C, H, W}; the batch dimension N is free
 * @param outputName  the ONNX graph output's name
 * @param outputSize  the elements per sample of the output (the embedding size)
 */
public record ImportedModel(Graph graph, String inputName, int[] inputShape, String outputName, int outputSize) {
    public ImportedModel {
        inputShape = inputShape.clone();
    }

    /** {C, H, W} (a copy). */
    @Override
    public int[] inputShape() {
        return inputShape.clone();
    }
}
