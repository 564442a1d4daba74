package org.siamese4j.onnx;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

import org.siamese4j.io.ModelFormatException;

/**
 * One operation of a graph ({@code NodeProto}): an operator applied to named input values, producing named output
 * values. An input named {@code ""} is an optional input left out.
 *
 * @param name       the node's name (may be empty: ONNX does not require one)
 * @param opType     the operator, e.g. {@code Conv}
 * @param domain     the operator set's domain, {@code ""} for the standard one
 * @param inputs     the input value names
 * @param outputs    the output value names
 * @param attributes the attributes, names unique
 */
public record OnnxNode(String name, String opType, String domain, List<String> inputs, List<String> outputs,
                       List<OnnxAttribute> attributes) {
    public OnnxNode {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(opType, "opType");
        Objects.requireNonNull(domain, "domain");
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        attributes = List.copyOf(attributes);
        Set<String> seen = attributes.size() < 2 ? Set.of() : new HashSet<>(); // most nodes: no set at all
        for (OnnxAttribute a : attributes.size() < 2 ? List.<OnnxAttribute>of() : attributes) {
            if (!seen.add(a.name())) {
                throw new IllegalArgumentException("node " + ModelFormatException.quoted(name)
                        + " has two attributes named " + ModelFormatException.quoted(a.name()));
            }
        }
    }

    /** The attribute called {@code attributeName}, if the node has one. */
    public Optional<OnnxAttribute> attribute(String attributeName) {
        return attributes.stream().filter(a -> a.name().equals(attributeName)).findFirst();
    }

    /** {@code Conv "conv1" (input, w, b) -> (y) [strides=[2, 2]]}. */
    @Override
    public String toString() {
        return (domain.isEmpty() ? "" : domain + ".") + opType + " " + ModelFormatException.quoted(name)
                + " (" + String.join(", ", inputs) + ") -> (" + String.join(", ", outputs) + ")"
                + (attributes.isEmpty() ? "" : " " + attributes);
    }
}
