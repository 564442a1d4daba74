package org.siamese4j.siamese.train;

import java.util.Map;
import java.util.function.ToDoubleBiFunction;
import org.siamese4j.nn.Module;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.mining.TripletStats;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * One way of learning an embedding: what a training step draws, and the loss it computes from the embedded
 * batch. The {@link Trainer} owns everything else (the loop, the optimiser, checkpoints, validation, the guard),
 * so adding a loss means writing one class that implements this interface: usually a subclass of
 * {@link PKObjective} (P people x K images a batch) or {@link PairObjective} (balanced pairs), which draw the
 * batches, leaving only the name, the loss and how to compare two embeddings.
 *
 * <p>Per step the trainer calls {@link #nextBatch()}, embeds the batch's images with the tower in one pass, and
 * hands the embeddings to {@link #loss}. Per epoch it first calls {@link #startEpoch}: most objectives draw from
 * an endless stream and do nothing there, offline mining picks the epoch's triplets with the current tower.
 */
public interface Objective {

    /** The images of one step, as indices into the training set, and their identity labels (same order). */
    record Batch(int[] indices, int[] labels) {
        public Batch {
            if (indices.length != labels.length) {
                throw new IllegalArgumentException("Objective.Batch: " + indices.length + " indices but "
                        + labels.length + " labels");
            }
        }
    }

    /**
     * A step's loss: the scalar to back-propagate, its value, the fraction of loss terms that are active (non-zero
     * for the margin losses) and, for triplet objectives, the kinds of the triplets used (null otherwise).
     */
    record StepLoss(Tensor loss, float value, double activeFraction, TripletStats mined) {
    }

    /** How embeddings are compared when the trainer validates: a pair score and which way means "same". */
    record Scoring(ToDoubleBiFunction<float[], float[]> score, ScoreDirection direction, String name) {
    }

    /** A short name ({@code "online-triplet"}): checkpoints record it, so a run resumes only under its objective. */
    String name();

    /**
     * The module whose parameters training updates, given the tower: the tower itself, or a pair model holding the
     * tower and a learned head. The optimiser must train all of its parameters; checkpoints save all of it.
     */
    default Module model(Module tower) {
        return tower;
    }

    /**
     * Called before each epoch with the tower as it is; returns false when the objective has nothing left to
     * train on (offline mining found too few hard triplets), which ends the run.
     */
    default boolean startEpoch(Module tower) {
        return true;
    }

    /** Steps in the epoch just started: about one pass over the training images. */
    int stepsPerEpoch();

    /** The next step's images. */
    Batch nextBatch();

    /**
     * The loss of the embedded batch ({@code embeddings} row i is image i of {@code batch}), or null when the batch
     * holds no valid loss term (a batch-hard step without a negative, say): then the trainer takes no step.
     * {@code guard} checks any further output the objective computes (a learned head's logits).
     */
    StepLoss loss(Tensor embeddings, Batch batch, StepGuard guard);

    /** How to compare two embeddings (for validation and the final report). */
    Scoring scoring();

    /** Where the objective's sampling is, as one line of text, for checkpoints. */
    String exportState();

    /**
     * Puts back a state from {@link #exportState}; checks it first and changes nothing when it does not fit.
     *
     * @throws IllegalArgumentException naming what does not fit
     */
    void restoreState(String state);

    /** The generators the objective draws from, by name, saved and restored with checkpoints. */
    Map<String, Rng> rngs();
}
