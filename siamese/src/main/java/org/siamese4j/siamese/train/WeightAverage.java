package org.siamese4j.siamese.train;

import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.siamese4j.nn.Module;
import org.siamese4j.tensor.Tensor;

/**
 * An exponential moving average of a model's weights (Polyak averaging, as PyTorch's {@code AveragedModel} with an
 * exponential average or timm's {@code ModelEmaV2}): a shadow copy of the state dict that, after every optimiser
 * step, moves a little towards the weights training has reached,
 * <pre>
 *   shadow = d_t * shadow + (1 - d_t) * weights,    d_t = min(decay, (1 + t) / (10 + t)),
 * </pre>
 * with {@code t} the updates made before this one. The warm-up of {@code d_t} (0.1, 0.18, 0.25, ... towards
 * {@code decay}) keeps the shadow from being dominated, for hundreds of steps, by the random initial weights.
 * Buffers (batch-norm running statistics and counters) are not averaged but copied: they describe the activations of
 * the weights being trained, and an average of them would be neither the live nor the shadow model's. Parameters
 * frozen when the average starts ({@link Module#freeze()}) are copied too, so they keep their bits in the average.
 *
 * <p>The update is a few multiplications per weight, once per step, against a forward and backward pass over a
 * whole batch per step, so it is plain Java.
 */
public final class WeightAverage {
    private final Module model;
    private final double decay;
    private final LinkedHashMap<String, Tensor> shadow = new LinkedHashMap<>();
    /** The names in {@link #shadow} that are parameters (averaged); the others are buffers (copied). */
    private final Set<String> averaged;
    private long updates;

    /**
     * Starts the average of {@code model} at its current weights.
     *
     * @param decay in (0, 1): how much of the shadow each update keeps; 0.999 averages over about the last 1000
     *              steps, 0.99 over the last 100, once the warm-up has reached it (after 8990 and 890 updates: until
     *              then the average is over about the last tenth of the steps)
     */
    public WeightAverage(Module model, double decay) {
        if (!(decay > 0 && decay < 1)) {
            throw new IllegalArgumentException("WeightAverage: decay must be in (0, 1), got " + decay);
        }
        this.model = model;
        this.decay = decay;
        // a state dict's tensors share storage with the module: a name is a parameter's when its array is one
        Set<float[]> parameterArrays = Collections.newSetFromMap(new IdentityHashMap<>());
        model.trainableParameters().forEach(p -> parameterArrays.add(p.data()));
        Set<String> parameterNames = new HashSet<>();
        model.stateDict().forEach((name, t) -> {
            shadow.put(name, t.copy());
            if (parameterArrays.contains(t.data())) {
                parameterNames.add(name);
            }
        });
        this.averaged = parameterNames;
    }

    /** The decay of the update after {@code t} earlier ones: {@code min(decay, (1 + t) / (10 + t))}. */
    public double decayAt(long t) {
        return Math.min(decay, (1.0 + t) / (10.0 + t));
    }

    /** Moves the shadow towards the model's current weights; call it after every optimiser step. */
    public void update() {
        double d = decayAt(updates);
        float keep = (float) d;
        float take = (float) (1 - d);
        model.stateDict().forEach((name, live) -> {
            float[] s = shadow.get(name).data();
            float[] w = live.data();
            if (averaged.contains(name)) {
                for (int i = 0; i < s.length; i++) {
                    s[i] = keep * s[i] + take * w[i];
                }
            } else {
                System.arraycopy(w, 0, s, 0, s.length);
            }
        });
        updates++;
    }

    /**
     * The averaged state dict, under the model's state-dict names: load it into the model to use the averaged
     * weights. The tensors are the average itself, changed by every {@link #update}: copy them to keep them.
     */
    public Map<String, Tensor> weights() {
        return Collections.unmodifiableMap(shadow);
    }

    /** How many updates the average has had. */
    public long updates() {
        return updates;
    }

    /** The {@code decay} it was built with. */
    public double decay() {
        return decay;
    }

    /**
     * Puts back a saved average: its weights (checked to be the model's names and shapes by the caller, see
     * {@link org.siamese4j.io.Checkpoint#snapshot}) and its count of updates.
     */
    void restore(Map<String, Tensor> weights, long updateCount) {
        if (updateCount < 0) {
            throw new IllegalArgumentException("WeightAverage: the update count must be >= 0, got " + updateCount);
        }
        shadow.forEach((name, t) -> t.copyFrom(weights.get(name)));
        this.updates = updateCount;
    }
}
