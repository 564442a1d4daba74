package org.siamese4j.siamese.diagnostics;

import java.util.Locale;
import java.util.StringJoiner;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.mining.TripletStats;

/**
 * The figures of one epoch, computed by a {@link TrainingMonitor} from the detached embeddings of the epoch's
 * batches as they were embedded for the loss (so they cost no extra forward pass). Distances are between the
 * images of one batch, every pair of rows once: a pair of one identity counts as positive, any other pair as
 * negative. The embeddings move while the epoch trains, so these are averages over the epoch, not a snapshot of
 * the final model.
 *
 * <p>A figure that had nothing to be measured on is NaN: the distances of an epoch without a positive (or
 * negative) pair, the variances of an epoch whose batches all held a single image, the means of an epoch whose
 * batches were all skipped.
 *
 * @param epoch                the epoch, from 1
 * @param steps                steps taken (batches that had a valid loss term)
 * @param skippedBatches       batches without any valid loss term, skipped without a step
 * @param images               images whose embeddings were measured (those of skipped batches included when the
 *                             trainer passed them)
 * @param meanLoss             mean loss over the steps taken
 * @param meanActiveFraction   mean fraction of active loss terms over the steps taken
 * @param mined                triplet kinds summed over the epoch, or null for a non-triplet loss
 * @param distance             the distance the pair figures are measured in
 * @param positivePairs        same-identity pairs measured
 * @param negativePairs        different-identity pairs measured
 * @param meanPositiveDistance mean distance of the same-identity pairs
 * @param meanNegativeDistance mean distance of the different-identity pairs
 * @param meanNorm             mean L2 norm of an embedding (1 for an L2-normalised tower)
 * @param rmsNorm              root mean square of the L2 norms: the embedding scale the collapse measures are
 *                             relative to
 * @param meanVariance         the variance of each embedding dimension within a batch (pooled over the
 *                             epoch's batches), averaged over the dimensions
 * @param minVariance          the smallest of those per-dimension variances: a dimension near 0 carries nothing
 * @param relativeSpread       {@code sqrt(sum of the per-dimension variances) / rms norm}: how far embeddings lie
 *                             from their batch's centre, relative to their size (0 when all are equal); the
 *                             collapse detector's first measure
 * @param relativeDistance     the mean Euclidean distance of all pairs divided by the rms norm; the collapse
 *                             detector's second measure
 */
public record EpochFigures(int epoch, int steps, int skippedBatches, long images, double meanLoss,
                           double meanActiveFraction, TripletStats mined, Distance distance, long positivePairs,
                           long negativePairs, double meanPositiveDistance, double meanNegativeDistance,
                           double meanNorm, double rmsNorm, double meanVariance, double minVariance,
                           double relativeSpread, double relativeDistance) {

    /** The CSV header, matching {@link #toCsvRow()}. */
    public static final String CSV_HEADER = "epoch,steps,skipped_batches,images,mean_loss,mean_active_fraction,"
            + "easy,semi_hard,hard,distance,positive_pairs,negative_pairs,mean_positive_distance,"
            + "mean_negative_distance,gap,mean_norm,rms_norm,mean_variance,min_variance,relative_spread,"
            + "relative_distance";

    /**
     * How much farther apart the negative pairs are than the positive ones, on average:
     * {@code meanNegativeDistance - meanPositiveDistance}. It should grow during training; with a margin loss it
     * reads against the margin.
     */
    public double gap() {
        return meanNegativeDistance - meanPositiveDistance;
    }

    /** This epoch as CSV, numbers in round-trip form, NaN as an empty cell. */
    public String toCsvRow() {
        StringJoiner row = new StringJoiner(",");
        row.add(Integer.toString(epoch)).add(Integer.toString(steps)).add(Integer.toString(skippedBatches))
                .add(Long.toString(images)).add(cell(meanLoss)).add(cell(meanActiveFraction));
        row.add(mined == null ? "" : Integer.toString(mined.easy()))
                .add(mined == null ? "" : Integer.toString(mined.semiHard()))
                .add(mined == null ? "" : Integer.toString(mined.hard()));
        row.add(distance.name().toLowerCase(Locale.ROOT)).add(Long.toString(positivePairs))
                .add(Long.toString(negativePairs)).add(cell(meanPositiveDistance)).add(cell(meanNegativeDistance))
                .add(cell(gap())).add(cell(meanNorm)).add(cell(rmsNorm)).add(cell(meanVariance)).add(cell(minVariance))
                .add(cell(relativeSpread)).add(cell(relativeDistance));
        return row.toString();
    }

    private static String cell(double v) {
        return Double.isNaN(v) ? "" : Double.toString(v);
    }

    /** {@code epoch 2: loss 0.1234, active 45%, d+ 0.412, d- 0.988 (gap 0.576), norm 1.000, variance ...}. */
    @Override
    public String toString() {
        String s = String.format(Locale.ROOT, "epoch %d: loss %.4f, active %.0f%%, d+ %.4g, d- %.4g (gap %.4g, %s),"
                        + " norm %.4g, variance mean %.3g min %.3g", epoch, meanLoss, 100 * meanActiveFraction,
                meanPositiveDistance, meanNegativeDistance, gap(), distance.name().toLowerCase(Locale.ROOT), meanNorm,
                meanVariance, minVariance);
        if (mined != null) {
            s += String.format(Locale.ROOT, ", triplets easy %.0f%% semi-hard %.0f%% hard %.0f%%",
                    100 * mined.easyFraction(), 100 * mined.semiHardFraction(), 100 * mined.hardFraction());
        }
        if (skippedBatches > 0) {
            s += ", " + skippedBatches + " batches skipped";
        }
        return s;
    }
}
