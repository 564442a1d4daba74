package org.siamese4j.optim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.siamese4j.tensor.Tensor;

/**
 * Updates a fixed list of parameters from their gradients, as PyTorch's {@code torch.optim.Optimizer} with a
 * single parameter group.
 *
 * <p>{@link #step()} reads each parameter's accumulated gradient and changes its values in place (not
 * recorded by autograd); a parameter whose gradient is null (no backward pass reached it) is skipped and its
 * state is left untouched, as in PyTorch. Per-parameter state (step count and moment buffers) is created on
 * a parameter's first update and is reachable through {@link #state()} for checkpoints.
 */
public abstract class Optimizer {

    /**
     * The state of one parameter: how many updates it has had and the optimiser's buffers for it, each as
     * long as the parameter, under PyTorch's names ({@code momentum_buffer}, {@code exp_avg},
     * {@code exp_avg_sq}). The arrays are the live buffers.
     */
    public static final class ParamState {
        private long step;
        private final LinkedHashMap<String, float[]> buffers;

        ParamState(long step, LinkedHashMap<String, float[]> buffers) {
            this.step = step;
            this.buffers = buffers;
        }

        /** Updates applied to this parameter so far. */
        public long step() {
            return step;
        }

        /** The live buffer called {@code name}, or null if this optimiser keeps none by that name. */
        public float[] buffer(String name) {
            return buffers.get(name);
        }

        /** All buffers by name, in a fixed order (an unmodifiable view of the live arrays). */
        public Map<String, float[]> buffers() {
            return Collections.unmodifiableMap(buffers);
        }
    }

    private final List<Tensor> params;
    private final Map<Integer, ParamState> state = new LinkedHashMap<>();
    private float lr;

    /**
     * @param params the tensors to train: at least one, each a leaf with {@code requiresGrad(true)} and none
     *               listed twice
     * @param lr     the learning rate, {@code >= 0}
     */
    protected Optimizer(List<Tensor> params, float lr) {
        String name = getClass().getSimpleName();
        if (params == null || params.isEmpty()) {
            throw new IllegalArgumentException(name + ": got an empty parameter list");
        }
        Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            if (p == null) {
                throw new IllegalArgumentException(name + ": parameter " + i + " is null");
            }
            if (!p.requiresGrad() || !p.isLeaf()) {
                throw new IllegalArgumentException(name + ": parameter " + i + " (" + p.describe()
                        + ") must be a leaf with requiresGrad(true) (of a partly frozen module, give the "
                        + "optimiser module.trainableParameters())");
            }
            if (!seen.add(p)) {
                throw new IllegalArgumentException(name + ": parameter " + i + " (" + p.describe()
                        + ") appears more than once");
            }
        }
        this.params = List.copyOf(params);
        setLearningRate(lr);
    }

    /** Applies one update to every parameter that has a gradient. */
    public final void step() {
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i);
            Tensor grad = p.grad();
            if (grad == null) {
                continue;
            }
            ParamState s = state.get(i);
            boolean first = s == null;
            if (first) {
                s = newState(p.size());
                state.put(i, s);
            }
            s.step++;
            update(p.data(), grad.data(), s, first);
        }
    }

    /**
     * Updates the weights {@code w} in place from the gradient {@code g} (read only). {@code state.step()}
     * already counts this update; {@code first} is true on the parameter's first update.
     */
    protected abstract void update(float[] w, float[] g, ParamState state, boolean first);

    /** The names of the per-parameter buffers this optimiser keeps, in order. */
    protected abstract List<String> bufferNames();

    private ParamState newState(int size) {
        LinkedHashMap<String, float[]> buffers = new LinkedHashMap<>();
        for (String b : bufferNames()) {
            buffers.put(b, new float[size]);
        }
        return new ParamState(0, buffers);
    }

    /** Forgets every parameter's gradient (PyTorch's {@code zero_grad(set_to_none=True)}). */
    public void zeroGrad() {
        for (Tensor p : params) {
            p.zeroGrad();
        }
    }

    public float learningRate() {
        return lr;
    }

    /** Sets the learning rate for the following steps (what a schedule calls). */
    public void setLearningRate(float lr) {
        if (!(lr >= 0) || !Float.isFinite(lr)) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": learning rate must be >= 0 and finite, got "
                    + lr);
        }
        this.lr = lr;
    }

    /** The parameters, in the order given (the index used by {@link #state()}). */
    public List<Tensor> parameters() {
        return params;
    }

    /**
     * The per-parameter state by parameter index, for parameters updated at least once (an unmodifiable view;
     * the buffers inside are live).
     */
    public Map<Integer, ParamState> state() {
        return Collections.unmodifiableMap(state);
    }

    /**
     * Restores the state of parameter {@code index} (from a checkpoint): {@code buffers} must hold exactly
     * this optimiser's {@link #bufferNames()}, each as long as the parameter. The arrays are copied.
     */
    public void restoreState(int index, long step, Map<String, float[]> buffers) {
        String name = getClass().getSimpleName();
        if (index < 0 || index >= params.size()) {
            throw new IllegalArgumentException(name + ": parameter index " + index + " is outside 0.."
                    + (params.size() - 1));
        }
        if (step < 0) {
            throw new IllegalArgumentException(name + ": step count must be >= 0, got " + step);
        }
        if (!new ArrayList<>(buffers.keySet()).containsAll(bufferNames())
                || buffers.size() != bufferNames().size()) {
            throw new IllegalArgumentException(name + ": expected buffers " + bufferNames() + ", got "
                    + buffers.keySet());
        }
        int size = params.get(index).size();
        LinkedHashMap<String, float[]> copy = new LinkedHashMap<>();
        for (String b : bufferNames()) {
            float[] values = buffers.get(b);
            if (values.length != size) {
                throw new IllegalArgumentException(name + ": buffer " + b + " of parameter " + index + " has "
                        + values.length + " values, the parameter has " + size);
            }
            copy.put(b, values.clone());
        }
        state.put(index, new ParamState(step, copy));
    }

    /** Fails naming the optimiser, the setting and the value unless {@code value >= 0}. */
    static float nonNegative(String optimizer, String what, float value) {
        if (!(value >= 0) || !Float.isFinite(value)) {
            throw new IllegalArgumentException(optimizer + ": " + what + " must be >= 0 and finite, got " + value);
        }
        return value;
    }
}
