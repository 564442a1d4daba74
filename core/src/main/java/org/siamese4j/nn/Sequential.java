package org.siamese4j.nn;

import java.util.ArrayList;
import java.util.List;
import org.siamese4j.tensor.Tensor;

/**
 * Applies its layers in order. The layers are children named {@code "0"}, {@code "1"}, ... by position, so
 * parameter-free layers (ReLU, pooling) take up an index too and the state-dict names match PyTorch's
 * {@code nn.Sequential} ({@code "0.weight"}, {@code "3.running_mean"}).
 */
public final class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    public Sequential(Module... layers) {
        for (Module layer : layers) {
            add(layer);
        }
    }

    public Sequential(List<? extends Module> layers) {
        for (Module layer : layers) {
            add(layer);
        }
    }

    /** Appends a layer under the next index. Returns this. */
    public Sequential add(Module layer) {
        layers.add(registerModule(Integer.toString(layers.size()), layer));
        return this;
    }

    /** The layer at {@code index}. */
    public Module get(int index) {
        if (index < 0 || index >= layers.size()) {
            throw new IndexOutOfBoundsException("Sequential: index " + index + " is outside 0.." + (layers.size() - 1));
        }
        return layers.get(index);
    }

    public int size() {
        return layers.size();
    }

    @Override
    public Tensor forward(Tensor input) {
        Tensor x = input;
        for (Module layer : layers) {
            x = layer.forward(x);
        }
        return x;
    }
}
