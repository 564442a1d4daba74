package org.siamese4j.tensor;

import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import org.siamese4j.kernels.Kernels;
import org.siamese4j.kernels.WinogradConv;

/**
 * The Winograd transforms of each conv weight's filters, kept for as long as the weight's values stay the same.
 *
 * <p>Inference runs the same weights call after call, and F(4x4, 3x3) turns every 3x3 filter into 36 values: made
 * afresh on each call, that transform was a fifth of the reference tower's time on one image. An entry is keyed by
 * the weight's data array (weakly, so that a model no longer used takes its entries with it) and holds a copy of
 * the values it was made from. A lookup compares the weight with that copy, which costs far less than the
 * transform, so no change can go unseen: an optimiser step, loading weights, or code writing straight into the
 * array all change the values. In training the weights change every step, the comparison fails at once, and the
 * filters are transformed as they would be without this class.
 *
 * <p>The price is memory while a model is in use: 36 floats per filter for forward and as many for the input
 * gradient, plus the copy of the weights; about 3 MB for the reference tower.
 */
final class WinogradFilters {
    /** The transform of {@code weights} (a copy) for a layer of outChannels filters, made for kernels. */
    private record Entry(Kernels kernels, int outChannels, float[] weights, float[] transformed) {
        boolean madeFrom(Kernels k, int o, float[] weight) {
            return kernels == k && outChannels == o && Arrays.equals(weights, weight);
        }
    }

    private interface Transform {
        void apply(Kernels kernels, float[] weight, int outChannels, int channels, float[] transformed);
    }

    private static final Map<float[], Entry> FORWARD = Collections.synchronizedMap(new WeakHashMap<>());
    private static final Map<float[], Entry> FLIPPED = Collections.synchronizedMap(new WeakHashMap<>());

    private WinogradFilters() {
    }

    /** {@link WinogradConv#transformFilters} of weight [O, C, 3, 3]: forward's filters. Callers only read it. */
    static float[] forward(Kernels kernels, float[] weight, int outChannels, int channels) {
        return lookUp(FORWARD, kernels, weight, outChannels, channels,
                WinogradFilters::transformForward, WinogradConv.filterSize(kernels, outChannels, channels));
    }

    /** {@link WinogradConv#transformFlippedFilters} of weight: the input gradient's filters. Callers only read it. */
    static float[] flipped(Kernels kernels, float[] weight, int outChannels, int channels) {
        return lookUp(FLIPPED, kernels, weight, outChannels, channels,
                WinogradConv::transformFlippedFilters, WinogradConv.filterSize(kernels, channels, outChannels));
    }

    private static void transformForward(Kernels kernels, float[] weight, int outChannels, int channels,
                                         float[] transformed) {
        WinogradConv.transformFilters(kernels, weight, outChannels, channels, transformed);
    }

    private static float[] lookUp(Map<float[], Entry> cache, Kernels kernels, float[] weight, int outChannels,
                                  int channels, Transform transform, int size) {
        Entry entry = cache.get(weight);
        if (entry != null && entry.madeFrom(kernels, outChannels, weight)) {
            return entry.transformed;
        }
        // A new entry rather than an update of the old one: another thread may still be reading the old one.
        float[] transformed = new float[size];
        transform.apply(kernels, weight, outChannels, channels, transformed);
        cache.put(weight, new Entry(kernels, outChannels, weight.clone(), transformed));
        return transformed;
    }
}
