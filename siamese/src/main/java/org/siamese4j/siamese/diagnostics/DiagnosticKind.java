package org.siamese4j.siamese.diagnostics;

/**
 * What a {@link DiagnosticWarning} is about: one value per detector of {@link TrainingMonitor} and
 * {@link StepGuard}. The javadoc of each says when it fires; {@link #label()} is the short name printed in the
 * warning line.
 */
public enum DiagnosticKind {
    /**
     * The embeddings of an epoch's batches have (almost) converged to one point: their within-batch spread and
     * mean pairwise distance are both below {@link TrainingMonitor.Settings#collapseTolerance()} times the
     * embedding scale. Checked at the end of every epoch.
     */
    COLLAPSE("collapse"),
    /**
     * The loss has been exactly 0, with no active term, for {@link TrainingMonitor.Settings#zeroLossSteps()}
     * consecutive steps, or for a whole epoch when epochs are shorter: nothing is left to learn from these
     * batches.
     */
    LOSS_STUCK_AT_ZERO("loss stuck at zero"),
    /**
     * The gradient norm or the loss of a step is more than {@link TrainingMonitor.Settings#explodeFactor()}
     * times the median of the recent steps: training is diverging, though the numbers are still finite. A
     * warning only: training goes on (a listener may throw to stop it).
     */
    EXPLODING("exploding"),
    /**
     * The embeddings, the loss or a gradient of a step holds NaN or an infinity. {@link StepGuard} stops training
     * with a {@link NonFiniteTrainingException} before the optimiser applies the step.
     */
    NON_FINITE("non-finite"),
    /**
     * Batches of an epoch had no valid loss term at all (no anchor with both a positive and a negative in the
     * batch), so they were skipped without a step. Checked at the end of every epoch.
     */
    NO_VALID_TERMS("no valid terms");

    private final String label;

    DiagnosticKind(String label) {
        this.label = label;
    }

    /** The short name printed in a warning line, e.g. {@code "loss stuck at zero"}. */
    public String label() {
        return label;
    }
}
