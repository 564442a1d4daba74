package org.siamese4j.siamese.verify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A hand-set tower whose embedding is readable: on a 1x4x4 input, {@code conv(1,1)} (weight 1, bias 0), batch norm
 * with its initial running statistics (mean 0, var 1: the identity up to sqrt(1 + 1e-5)), relu (identity on
 * non-negative pixels), flatten, and {@code dense(2)} whose rows average the left and the right half of the image.
 * So a "face" whose left half is L and right half R embeds to about (L, R), and every distance can be worked out
 * by hand. The conv and batch-norm layers make concurrent forward passes go through the same kernels as a real
 * tower in eval mode.
 */
final class Fixtures {
    static final String SPEC = "conv(1,1) batchnorm relu flatten dense(2)";
    static final int[] INPUT = {1, 4, 4};
    /** Batch norm's eval scaling of the identity statistics. */
    static final double BN_SCALE = 1 / Math.sqrt(1 + 1e-5);

    private Fixtures() {
    }

    static Sequential halvesTower() {
        return halvesTower(1f);
    }

    /** As described above, with the dense weights multiplied by {@code gain} (another model when gain != 1). */
    static Sequential halvesTower(float gain) {
        ArchSpec arch = ArchSpec.parse(SPEC);
        Sequential tower = arch.build(INPUT, new Rng(1));
        var state = tower.stateDict();
        state.get("0.weight").data()[0] = 1f;
        state.get("0.bias").data()[0] = 0f;
        float[] w = state.get("4.weight").data();
        Arrays.fill(w, 0f);
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
                w[(c < 2 ? 0 : 1) * 16 + r * 4 + c] = gain / 8f;
            }
        }
        Arrays.fill(state.get("4.bias").data(), 0f);
        return tower;
    }

    static Verifier verifier() {
        return Verifier.of(halvesTower(), ArchSpec.parse(SPEC), INPUT, Distance.EUCLIDEAN, null);
    }

    /**
     * A 4x4 face: left half {@code left}, right half {@code right}, plus a deterministic wobble of amplitude
     * {@code noise} that averages to 0 within each half (so the embedding is exactly (left, right) times the
     * batch-norm scale, whatever the wobble).
     */
    static GrayImage face(double left, double right, double noise) {
        float[] p = new float[16];
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
                double base = c < 2 ? left : right;
                double sign = ((r + c) % 2 == 0) ? 1 : -1;
                p[r * 4 + c] = (float) (base + sign * noise);
            }
        }
        return GrayImage.of(4, 4, 1f, p);
    }

    /** A face whose halves are shifted by (dl, dr): its embedding moves by about (dl, dr). */
    static GrayImage face(double left, double right, double dl, double dr) {
        return face(left + dl, right + dr, 0.0);
    }

    /** A labelled set: person i has halves {@code levels[i]} and {@code perPerson} images jittered by up to jitter. */
    static ImageDataset dataset(double[][] levels, int perPerson, double jitter, long seed) {
        Rng rng = new Rng(seed);
        int n = levels.length * perPerson;
        float[] pixels = new float[n * 16];
        int[] labels = new int[n];
        List<String> names = new ArrayList<>();
        for (int id = 0; id < levels.length; id++) {
            names.add("p" + id);
            for (int k = 0; k < perPerson; k++) {
                int i = id * perPerson + k;
                labels[i] = id;
                double dl = (rng.nextFloat() * 2 - 1) * jitter;
                double dr = (rng.nextFloat() * 2 - 1) * jitter;
                float[] img = face(levels[id][0], levels[id][1], dl, dr).pixels();
                System.arraycopy(img, 0, pixels, i * 16, 16);
            }
        }
        return new ImageDataset(Tensor.wrap(pixels, n, 1, 4, 4), labels, names);
    }
}
