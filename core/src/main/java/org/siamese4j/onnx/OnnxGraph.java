package org.siamese4j.onnx;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * A model's computation ({@code GraphProto}): nodes in topological order, the weights (initializers), and the
 * types of the graph's inputs, outputs and, optionally, intermediate values. Files of IR version 3 and older also
 * list every initializer among the inputs; {@link #dataInputs()} leaves those out.
 *
 * @param name         the graph's name (may be empty)
 * @param nodes        the nodes, each using only values defined before it
 * @param initializers the named constant tensors: the weights
 * @param inputs       the graph inputs
 * @param outputs      the graph outputs
 * @param valueInfo    types of intermediate values, where the file gives them
 */
public record OnnxGraph(String name, List<OnnxNode> nodes, List<OnnxTensor> initializers, List<OnnxValueInfo> inputs,
                        List<OnnxValueInfo> outputs, List<OnnxValueInfo> valueInfo) {
    public OnnxGraph {
        Objects.requireNonNull(name, "name");
        nodes = List.copyOf(nodes);
        initializers = List.copyOf(initializers);
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        valueInfo = List.copyOf(valueInfo);
    }

    /** The initializer called {@code tensorName}, if there is one. */
    public Optional<OnnxTensor> initializer(String tensorName) {
        return initializers.stream().filter(t -> t.name().equals(tensorName)).findFirst();
    }

    /** The inputs the caller feeds: {@link #inputs()} less those that name an initializer. */
    public List<OnnxValueInfo> dataInputs() {
        Set<String> weights = new HashSet<>();
        initializers.forEach(t -> weights.add(t.name()));
        return inputs.stream().filter(v -> !weights.contains(v.name())).toList();
    }

    /** The number of weights: the elements of every floating-point initializer. */
    public long parameterCount() {
        return initializers.stream().filter(OnnxTensor::isFloating).mapToLong(OnnxTensor::elementCount).sum();
    }
}
