package org.siamese4j.optim;

/**
 * Sets an optimiser's learning rate from the epoch number, as PyTorch's {@code LRScheduler} in closed form:
 * call {@link #step()} once at the end of every epoch. At construction the epoch is 0 and the optimiser's
 * current learning rate becomes the base rate.
 */
public abstract class LRScheduler {
    private final Optimizer optimizer;
    private final float baseLr;
    private int epoch;

    protected LRScheduler(Optimizer optimizer) {
        if (optimizer == null) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": optimizer is null");
        }
        this.optimizer = optimizer;
        this.baseLr = optimizer.learningRate();
    }

    /** The learning rate at {@code epoch} (>= 0) for base rate {@code baseLr}. */
    protected abstract double lrAt(int epoch, double baseLr);

    /** Moves to the next epoch and sets the optimiser's learning rate for it. */
    public void step() {
        setEpoch(epoch + 1);
    }

    /** Jumps to {@code epoch} (resuming from a checkpoint) and sets the optimiser's learning rate for it. */
    public void setEpoch(int epoch) {
        if (epoch < 0) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": epoch must be >= 0, got " + epoch);
        }
        this.epoch = epoch;
        optimizer.setLearningRate((float) lrAt(epoch, baseLr));
    }

    /** The learning rate the schedule gives for the current epoch. */
    public float currentLr() {
        return (float) lrAt(epoch, baseLr);
    }

    /** Epochs stepped so far (PyTorch's {@code last_epoch}). */
    public int epoch() {
        return epoch;
    }

    public float baseLr() {
        return baseLr;
    }

    public Optimizer optimizer() {
        return optimizer;
    }
}
