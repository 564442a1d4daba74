package org.siamese4j.onnx;

import java.util.Objects;

/**
 * An operator set a model imports ({@code OperatorSetIdProto}): the domain ({@code ""} is the standard
 * {@code ai.onnx} one) and its version, which fixes what each operator of that domain means.
 */
public record OnnxOpset(String domain, long version) {
    public OnnxOpset {
        Objects.requireNonNull(domain, "domain");
    }

    /** Whether this is the standard operator set, written {@code ""} or {@code "ai.onnx"}. */
    public boolean isDefaultDomain() {
        return isDefaultDomain(domain);
    }

    static boolean isDefaultDomain(String domain) {
        return domain.isEmpty() || domain.equals("ai.onnx");
    }

    /** {@code ai.onnx 13}. */
    @Override
    public String toString() {
        return (domain.isEmpty() ? "ai.onnx" : domain) + " " + version;
    }
}
