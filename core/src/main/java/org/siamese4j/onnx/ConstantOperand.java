package org.siamese4j.onnx;

import java.util.Objects;
import java.util.function.BinaryOperator;

import org.siamese4j.nn.Module;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * A binary operator of an imported graph whose second operand is a tensor of the file rather than a computed
 * value: {@code Add(x, bias)}, {@code Mul(x, scale)}, {@code Sub(mean, x)}. The operand is held as a parameter
 * when it was an initializer (a weight, trained with the rest) and as a buffer when it was a {@code Constant}
 * node; either way it is in the state dict under {@code name}. Broadcasting is the tensor ops' own.
 */
final class ConstantOperand extends Module {
    private final String operator;
    private final String operandName;
    private final Tensor operand;
    private final boolean operandFirst;
    private final BinaryOperator<Tensor> function;

    /**
     * @param operator     the ONNX operator, e.g. {@code Add}
     * @param operandName  the operand's name in the state dict (e.g. {@code bias})
     * @param operand      the constant (taken, not copied)
     * @param trainable    whether it is a parameter (else a buffer)
     * @param operandFirst whether it is the operator's first input ({@code c - x}) rather than its second
     * @param function     the operator, applied as {@code function(first, second)}
     */
    ConstantOperand(String operator, String operandName, Tensor operand, boolean trainable, boolean operandFirst,
                    BinaryOperator<Tensor> function) {
        this.operator = Objects.requireNonNull(operator, "operator");
        this.operandName = operandName;
        this.operand = trainable ? registerParameter(operandName, operand) : registerBuffer(operandName, operand);
        this.operandFirst = operandFirst;
        this.function = Objects.requireNonNull(function, "function");
    }

    @Override
    public Tensor forward(Tensor input) {
        return operandFirst ? function.apply(operand, input) : function.apply(input, operand);
    }

    /** The constant operand. */
    Tensor operand() {
        return operand;
    }

    @Override
    public String toString() {
        String c = operandName + " " + Shapes.toString(operand.shape());
        return operator + "(" + (operandFirst ? c + ", x" : "x, " + c) + ")";
    }
}
