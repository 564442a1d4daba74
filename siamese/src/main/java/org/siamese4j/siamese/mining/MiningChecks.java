package org.siamese4j.siamese.mining;

import java.util.Arrays;
import org.siamese4j.tensor.Tensor;

/** Argument checks shared by the miners; every message starts with the name of the public method. */
final class MiningChecks {
    private MiningChecks() {
    }

    static void checkMargin(String where, float margin) {
        if (!(margin >= 0f) || Float.isInfinite(margin)) {
            throw new IllegalArgumentException(where + ": margin must be finite and >= 0, got " + margin);
        }
    }

    /**
     * Checks a row-major n x n distance matrix against its labels: sizes agree and no entry is NaN (a NaN would make
     * every comparison false and silently pick arbitrary triplets).
     */
    static void checkMatrix(String where, float[] dist, int n, int[] labels) {
        if (dist == null) {
            throw new IllegalArgumentException(where + ": distance matrix must not be null");
        }
        if (labels == null) {
            throw new IllegalArgumentException(where + ": labels must not be null");
        }
        if (n < 0) {
            throw new IllegalArgumentException(where + ": n must be >= 0, got " + n);
        }
        if (labels.length != n) {
            throw new IllegalArgumentException(where + ": distance matrix is " + n + " x " + n + " but there are "
                    + labels.length + " labels");
        }
        if ((long) n * n != dist.length) {
            throw new IllegalArgumentException(where + ": distance matrix has " + dist.length + " values but n = " + n
                    + " needs n x n = " + (long) n * n);
        }
        for (int i = 0; i < dist.length; i++) {
            if (Float.isNaN(dist[i])) {
                throw new IllegalArgumentException(where + ": distance matrix has NaN at (" + i / n + ", " + i % n
                        + ")");
            }
        }
    }

    /** The data of a square [N, N] tensor (read only; no gradient is recorded). */
    static float[] squareData(String where, Tensor dist) {
        if (dist == null) {
            throw new IllegalArgumentException(where + ": distance matrix must not be null");
        }
        int[] shape = dist.shape();
        if (shape.length != 2 || shape[0] != shape[1]) {
            throw new IllegalArgumentException(where + ": distance matrix must be square [N, N], got "
                    + Arrays.toString(shape));
        }
        return dist.data();
    }
}
