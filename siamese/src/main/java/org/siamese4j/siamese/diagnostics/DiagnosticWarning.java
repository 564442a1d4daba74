package org.siamese4j.siamese.diagnostics;

import java.util.Objects;

/**
 * One finding of a detector: what it is, when it was seen and a one-line message that says what was measured and
 * what to try. {@link #toString()} is the line to print, e.g.
 * {@code WARNING [loss stuck at zero] epoch 3 step 5: the loss has been exactly 0 ... Try: harder mining ...}.
 *
 * @param kind    which detector fired
 * @param epoch   the epoch it was seen in, from 1
 * @param step    the step within the epoch, from 1, or 0 for a finding about a whole epoch
 * @param message what was measured and the suggested fix, on one line (no line breaks)
 */
public record DiagnosticWarning(DiagnosticKind kind, int epoch, int step, String message) {

    public DiagnosticWarning {
        Objects.requireNonNull(kind, "DiagnosticWarning: kind is null");
        Objects.requireNonNull(message, "DiagnosticWarning: message is null");
        if (message.indexOf('\n') >= 0 || message.indexOf('\r') >= 0) {
            throw new IllegalArgumentException("DiagnosticWarning: the message must be one line, got '" + message
                    + "'");
        }
        if (epoch < 0 || step < 0) {
            throw new IllegalArgumentException("DiagnosticWarning: epoch and step must be >= 0, got epoch " + epoch
                    + ", step " + step);
        }
    }

    /** {@code "epoch 3"} or {@code "epoch 3 step 5"}. */
    public String where() {
        return step == 0 ? "epoch " + epoch : "epoch " + epoch + " step " + step;
    }

    /** The printed line: {@code WARNING [kind] where: message}. */
    @Override
    public String toString() {
        return "WARNING [" + kind.label() + "] " + where() + ": " + message;
    }
}
