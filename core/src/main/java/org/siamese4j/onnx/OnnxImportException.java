package org.siamese4j.onnx;

import org.siamese4j.io.ModelFormatException;

/**
 * A well-formed ONNX model that {@link OnnxImporter} cannot turn into a network: an operator, attribute value,
 * shape, opset or domain it does not support, or a graph that is not one image in and one embedding out. Thrown
 * before anything runs. The message reads {@code "<file>: <problem> (at <node>)"}, where the node part names the
 * node's index in the graph, its name, operator and domain, e.g.
 * {@code node 7 "/3/MaxPool" (MaxPool, domain ai.onnx)}; problems of the model as a whole (its opset, inputs and
 * outputs) have no node. Unsupported operators are listed with the operators that are supported.
 */
public class OnnxImportException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    private final int nodeIndex;

    /**
     * @param file      the file (or source name) being imported
     * @param problem   what is wrong, in words
     * @param node      the node concerned, or null for the model as a whole
     * @param nodeIndex its index in the graph's node list, or -1
     */
    public OnnxImportException(String file, String problem, OnnxNode node, int nodeIndex) {
        super(file, problem, node == null ? null : describe(node, nodeIndex));
        this.nodeIndex = node == null ? -1 : nodeIndex;
    }

    /** {@code node 7 "/3/MaxPool" (MaxPool, domain ai.onnx)}. */
    static String describe(OnnxNode node, int index) {
        return "node " + index + " " + quoted(node.name()) + " (" + quoted(node.opType()) + ", domain "
                + (node.domain().isEmpty() ? "ai.onnx" : quoted(node.domain())) + ")";
    }

    /** The index of the node concerned in the graph's node list, or -1 for a problem of the whole model. */
    public int nodeIndex() {
        return nodeIndex;
    }
}
