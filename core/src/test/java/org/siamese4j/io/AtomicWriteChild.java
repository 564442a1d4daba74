package org.siamese4j.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import org.siamese4j.tensor.Tensor;

/**
 * Child process of {@link AtomicWriteKillTest}: saves two versions of a model file alternately, forever,
 * until the parent kills it. Prints {@code ready} once both versions have been written once.
 */
public final class AtomicWriteChild {
    private AtomicWriteChild() {
    }

    /** Version 0 or 1; they differ in names, shapes, sizes and values, so a mix of the two is detectable. */
    static Map<String, Tensor> tensors(int version) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        if (version == 0) {
            t.put("0.weight", fill(0.001f, 1f, 64, 1, 33, 31));
            t.put("0.bias", fill(-1f, 0f, 64));
        } else {
            t.put("0.weight", fill(0.002f, -5f, 50, 1, 41, 29));
            t.put("3.weight", fill(0.5f, 2f, 7, 7));
        }
        return t;
    }

    static Map<String, String> metadata(int version) {
        return Map.of("version", version == 0 ? "A" : "B");
    }

    private static Tensor fill(float step, float start, int... shape) {
        Tensor t = Tensor.zeros(shape);
        float[] d = t.data();
        for (int i = 0; i < d.length; i++) {
            d[i] = start + step * (i % 9973);
        }
        return t;
    }

    public static void main(String[] args) throws IOException {
        Path file = Path.of(args[0]);
        Map<String, Tensor> a = tensors(0);
        Map<String, Tensor> b = tensors(1);
        for (long i = 0; ; i++) {
            boolean even = i % 2 == 0;
            SafeTensors.write(file, even ? a : b, metadata(even ? 0 : 1));
            if (i == 1) {
                System.out.println("ready");
                System.out.flush();
            }
        }
    }
}
