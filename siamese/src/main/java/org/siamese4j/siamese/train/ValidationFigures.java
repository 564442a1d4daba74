package org.siamese4j.siamese.train;

import java.util.Locale;
import org.siamese4j.siamese.metrics.VerificationReport;

/**
 * How well the model verified the validation people after one epoch: AUC, EER, one-shot and rank-1 accuracy,
 * and the threshold of best accuracy (in the units of the objective's score).
 */
public record ValidationFigures(double auc, double eer, double oneShot, double rank1, double threshold) {

    static ValidationFigures of(VerificationReport r) {
        return new ValidationFigures(r.auc(), r.eer(), r.oneShotAccuracy(), r.rank1(), r.threshold());
    }

    /** As a comma-separated line (for checkpoints), {@link #parse} reads it back exactly. */
    String format() {
        return auc + "," + eer + "," + oneShot + "," + rank1 + "," + threshold;
    }

    static ValidationFigures parse(String text) {
        String[] f = text.split(",", -1);
        if (f.length != 5) {
            throw new IllegalArgumentException("validation figures need 5 numbers, got '" + text + "'");
        }
        return new ValidationFigures(Double.parseDouble(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]),
                Double.parseDouble(f[3]), Double.parseDouble(f[4]));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "AUC %.4f, EER %.2f%%, one-shot %.2f%%, rank-1 %.2f%%", auc, 100 * eer,
                100 * oneShot, 100 * rank1);
    }
}
