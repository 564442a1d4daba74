package org.siamese4j.siamese.diagnostics;

import java.util.Objects;

/**
 * Training stopped because a step produced NaN or an infinity, detected by {@link StepGuard} before the optimiser
 * applied the step. When it is thrown:
 * <ul>
 *   <li>the model's weights and the optimiser's state are those after the last good step (the bad step was never
 *       applied), and the model's buffers (batch-norm running statistics) are put back to their values before
 *       the bad step's forward pass;</li>
 *   <li>the trainers of this library write no checkpoint for the epoch in progress, so the last checkpoint file
 *       they wrote (after a completed epoch) is untouched: fix the cause and resume from it.</li>
 * </ul>
 * {@link #getMessage()} is the one-line warning, with the suggested fix; {@link #source()} says where the
 * non-finite value was found and {@link #parameter()} / {@link #layer()} name the part of the model.
 */
public final class NonFiniteTrainingException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Where the guard found the non-finite value, in the order it looks. */
    public enum Source {
        /** The input batch itself holds NaN or an infinity (bad data). */
        INPUT,
        /** The input was finite but the model's output (the embeddings) was not: the forward pass overflowed. */
        FORWARD,
        /** The embeddings were finite but the loss was not. */
        LOSS,
        /** The loss was finite but a parameter's gradient was not. */
        GRADIENT
    }

    private final transient DiagnosticWarning warning;
    private final Source source;
    private final String parameter;
    private final String layer;

    /**
     * @param parameter the state-dict name of the parameter concerned ({@code "3.weight"}), or null
     * @param layer     the module path of the layer concerned ({@code "3"}; {@code ""} for the model itself), or
     *                  null
     */
    public NonFiniteTrainingException(DiagnosticWarning warning, Source source, String parameter, String layer) {
        super(Objects.requireNonNull(warning, "NonFiniteTrainingException: warning is null").toString());
        this.warning = warning;
        this.source = Objects.requireNonNull(source, "NonFiniteTrainingException: source is null");
        this.parameter = parameter;
        this.layer = layer;
    }

    /** The warning that was also delivered to the monitor's listener, if a monitor was attached. */
    public DiagnosticWarning warning() {
        return warning;
    }

    public Source source() {
        return source;
    }

    /**
     * For {@link Source#GRADIENT}: the state-dict name of the parameter whose gradient went non-finite first in
     * backward order (see {@link StepGuard#checkGradients}). For {@link Source#FORWARD}: the first parameter, in
     * forward order, whose values are themselves non-finite, or null if all weights are finite. Null otherwise.
     */
    public String parameter() {
        return parameter;
    }

    /**
     * The module path of the layer concerned: the owner of {@link #parameter()} for {@link Source#GRADIENT}; for
     * {@link Source#FORWARD}, the first layer of a {@code Sequential} model whose output is non-finite (null when
     * the model is not a {@code Sequential}); when a part of the model was checked
     * ({@link StepGuard#checkOutput(String, org.siamese4j.tensor.Tensor, org.siamese4j.tensor.Tensor)}), the full
     * path of that layer in a {@code Sequential} part ({@code "tower.3"}), or the part itself if it is not a
     * {@code Sequential} ({@code "head"}). Null for the other sources.
     */
    public String layer() {
        return layer;
    }

    public int epoch() {
        return warning.epoch();
    }

    public int step() {
        return warning.step();
    }
}
