package org.siamese4j.onnx;

import java.util.Objects;
import java.util.function.UnaryOperator;

import org.siamese4j.nn.Module;
import org.siamese4j.tensor.Tensor;

/**
 * A parameter-free layer of an imported graph that has no module of its own in {@code org.siamese4j.nn}: a
 * reshape, a clip, a square root, a reduction. The maths is tensor ops', whose gradients are checked where they
 * are defined; this class only gives it a name for the graph's printout, e.g. {@code Reshape(shape=[N, 64])}.
 */
final class OnnxFunction extends Module {
    private final String operator;
    private final String settings;
    private final UnaryOperator<Tensor> function;

    /**
     * @param operator the ONNX operator it computes, e.g. {@code Clip}
     * @param settings its settings for people, e.g. {@code min=1e-12}; may be empty
     * @param function the computation
     */
    OnnxFunction(String operator, String settings, UnaryOperator<Tensor> function) {
        this.operator = Objects.requireNonNull(operator, "operator");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.function = Objects.requireNonNull(function, "function");
    }

    @Override
    public Tensor forward(Tensor input) {
        return function.apply(input);
    }

    @Override
    public String toString() {
        return operator + "(" + settings + ")";
    }
}
