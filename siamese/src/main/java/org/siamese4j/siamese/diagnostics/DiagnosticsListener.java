package org.siamese4j.siamese.diagnostics;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * Receives what a {@link TrainingMonitor} measures and finds, as it happens. Every method does nothing by
 * default, so a listener implements only what it needs ({@code w -> System.err.println(w)} is a listener of
 * warnings through {@link #warnings}).
 *
 * <p>The monitor calls the listener on the training thread, inside the trainer's step and before the optimiser
 * applies it. A listener that throws stops training: the exception propagates out of the trainer's
 * {@code fit}, with the step not applied and no checkpoint written for the epoch in progress.
 */
public interface DiagnosticsListener {

    /** The figures of one step (or of one skipped batch). */
    default void onStep(StepFigures step) {
    }

    /** The figures of one completed epoch, after its last step and before any epoch-level warning. */
    default void onEpoch(EpochFigures epoch) {
    }

    /** A detector fired. Print {@code warning.toString()} for the one-line message. */
    default void onWarning(DiagnosticWarning warning) {
    }

    /** A listener that only handles warnings. */
    static DiagnosticsListener warnings(Consumer<DiagnosticWarning> onWarning) {
        Objects.requireNonNull(onWarning, "DiagnosticsListener.warnings: consumer is null");
        return new DiagnosticsListener() {
            @Override
            public void onWarning(DiagnosticWarning warning) {
                onWarning.accept(warning);
            }
        };
    }
}
