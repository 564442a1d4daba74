package org.siamese4j.siamese.diagnostics;

import java.util.Locale;
import org.siamese4j.siamese.mining.TripletStats;

/**
 * The figures of one training step, as a {@link TrainingMonitor} records them: one row of the per-step CSV.
 *
 * <p>A batch without a single valid loss term (no anchor with both a positive and a negative) is recorded too,
 * with {@code skipped} set: no step was taken, so its loss, active fraction and gradient norm are NaN ("not
 * measured"; never a computed NaN) and {@code mined} is null.
 *
 * @param epoch          the epoch, from 1
 * @param step           the batch within the epoch, from 1
 * @param stepsPerEpoch  batches per epoch
 * @param index          the position of this row among all the rows the monitor recorded, from 1: the x axis of
 *                       a chart over the whole run
 * @param skipped        true when the batch had no valid term and no step was taken
 * @param loss           the loss of the step
 * @param activeFraction the fraction of loss terms that are non-zero (still produce a gradient), in [0, 1]
 * @param gradientNorm   the L2 norm of all the model's parameter gradients together, before the optimiser step
 * @param mined          for triplet training, how many mined triplets were easy, semi-hard and hard; null for
 *                       other losses
 * @param images         the number of images that went through the tower
 */
public record StepFigures(int epoch, int step, int stepsPerEpoch, long index, boolean skipped, float loss,
                          double activeFraction, double gradientNorm, TripletStats mined, int images) {

    /** The CSV header of every run, matching {@link #toCsvRow(boolean) toCsvRow(false)}. */
    public static final String CSV_HEADER = "epoch,step,steps_per_epoch,index,skipped,loss,active_fraction,"
            + "gradient_norm,images";
    /** The columns a run with mined triplets adds: how many of the step's triplets were easy, semi-hard, hard. */
    public static final String CSV_TRIPLET_COLUMNS = "triplets,easy,semi_hard,hard";

    /** {@link #CSV_HEADER}, with {@link #CSV_TRIPLET_COLUMNS} for a run that mines triplets. */
    public static String csvHeader(boolean withTriplets) {
        return withTriplets ? CSV_HEADER + "," + CSV_TRIPLET_COLUMNS : CSV_HEADER;
    }

    /**
     * This row as CSV: numbers in Java's shortest round-trip form ({@link Float#toString}, {@link Double#toString}),
     * so parsing gives back the same values; an empty cell where a figure does not apply (the loss of a skipped
     * batch, the triplet counts of a step that mined none). The triplet columns only when {@code withTriplets}.
     */
    public String toCsvRow(boolean withTriplets) {
        StringBuilder sb = new StringBuilder();
        sb.append(epoch).append(',').append(step).append(',').append(stepsPerEpoch).append(',').append(index)
                .append(',').append(skipped ? 1 : 0).append(',');
        sb.append(skipped ? "" : Float.toString(loss)).append(',');
        sb.append(skipped ? "" : Double.toString(activeFraction)).append(',');
        sb.append(skipped ? "" : Double.toString(gradientNorm)).append(',');
        sb.append(images);
        if (!withTriplets) {
            return sb.toString();
        }
        sb.append(',');
        if (mined == null) {
            sb.append(",,,");
        } else {
            sb.append(mined.total()).append(',').append(mined.easy()).append(',').append(mined.semiHard())
                    .append(',').append(mined.hard());
        }
        return sb.toString();
    }

    /** {@code epoch 2 step 3/10: loss 0.1234, active 45%, gradient norm 0.0123, triplets 96 (easy 12, ...)}. */
    @Override
    public String toString() {
        String where = String.format(Locale.ROOT, "epoch %d step %d/%d", epoch, step, stepsPerEpoch);
        if (skipped) {
            return where + ": skipped, no valid positive and negative in the batch of " + images + " images";
        }
        String s = String.format(Locale.ROOT, "%s: loss %.4f, active %.0f%%, gradient norm %.4g", where, loss,
                100 * activeFraction, gradientNorm);
        if (mined != null) {
            s += String.format(Locale.ROOT, ", triplets %d (easy %d, semi-hard %d, hard %d)", mined.total(),
                    mined.easy(), mined.semiHard(), mined.hard());
        }
        return s;
    }
}
