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
    /** The system property that turns conv, ReLU, max pool fusion off when set to {@code false}. */
    public static final String FUSION_PROPERTY = "siamese4j.fuse";

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
        for (int i = 0; i < layers.size(); i++) {
            if (fuseConvBlocks && isConvReluPool(i)) {
                x = ((Conv2d) layers.get(i)).forwardReluMaxPool2(x);
                i += 2;
            } else {
                x = layers.get(i).forward(x);
            }
        }
        return x;
    }

    /**
     * Whether layers i, i+1, i+2 are Conv2d, ReLU and a 2x2 stride-2 MaxPool2d: the block of VGG-style towers,
     * which forward runs as one op ({@link Conv2d#forwardReluMaxPool2}). The result and the gradients are exactly
     * those of the three layers one after the other; what changes is memory: the convolution's full-size output,
     * its ReLU and their gradients are never allocated (126 MB each for the reference tower's first layer at a
     * batch of 96), which roughly halves the time of a training step spent outside the convolutions.
     */
    private boolean isConvReluPool(int i) {
        return i + 2 < layers.size()
                && layers.get(i) instanceof Conv2d
                && layers.get(i + 1) instanceof ReLU
                && layers.get(i + 2) instanceof MaxPool2d pool && pool.isTwoByTwo();
    }

    private static volatile boolean fuseConvBlocks =
            !"false".equalsIgnoreCase(System.getProperty(FUSION_PROPERTY, "true").trim());

    /**
     * Turns the fusion of conv, ReLU, 2x2 max pool runs on (the default) or off, for every Sequential; also
     * {@code -Dsiamese4j.fuse=false} at start-up. Off, every layer runs on its own: for comparing the two in a
     * benchmark, or for a debugger that wants to see every intermediate tensor.
     */
    public static void fuseConvBlocks(boolean on) {
        fuseConvBlocks = on;
    }

    /** Whether conv, ReLU, 2x2 max pool runs are fused (see {@link #fuseConvBlocks(boolean)}). */
    public static boolean fusesConvBlocks() {
        return fuseConvBlocks;
    }
}
