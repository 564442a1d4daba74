package org.siamese4j.siamese.train;

import java.util.function.Consumer;

/** {@link Trainer.Listener}s from lambdas: the interface has two default methods, so it takes none itself. */
public final class Listeners {
    private Listeners() {
    }

    /** Sees every step. */
    public static Trainer.Listener onStep(Consumer<Trainer.StepReport> steps) {
        return new Trainer.Listener() {
            @Override
            public void onStep(Trainer.StepReport step) {
                steps.accept(step);
            }
        };
    }

    /** Sees every epoch, after its validation and checkpoint. */
    public static Trainer.Listener onEpoch(Consumer<Trainer.EpochReport> epochs) {
        return new Trainer.Listener() {
            @Override
            public void onEpoch(Trainer.EpochReport epoch) {
                epochs.accept(epoch);
            }
        };
    }
}
