package org.siamese4j.siamese.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.siamese4j.siamese.Distance;
import org.siamese4j.tensor.Rng;

class IdentificationTest {

    /** {@code identities} clusters of {@code perIdentity} images: centre 10 * e_id plus noise of scale 0.1. */
    static float[][] clusters(int identities, int perIdentity, int dim, long seed, int[] labelsOut) {
        Rng rng = new Rng(seed);
        float[][] e = new float[identities * perIdentity][dim];
        for (int id = 0; id < identities; id++) {
            for (int k = 0; k < perIdentity; k++) {
                int i = id * perIdentity + k;
                labelsOut[i] = id;
                for (int c = 0; c < dim; c++) {
                    e[i][c] = (float) ((c == id ? 10 : 0) + 0.1 * rng.nextGaussian());
                }
            }
        }
        return e;
    }

    @Test
    void wellSeparatedClustersAreAlwaysRight() {
        int[] labels = new int[60];
        float[][] e = clusters(12, 5, 16, 1, labels);
        assertThat(Identification.nWayOneShot(e, labels, 5, 300, new Rng(2))).isEqualTo(1.0);
        assertThat(Identification.nWayOneShot(e, labels, 12, 300, new Rng(2), EmbeddingDistance.COSINE))
                .isEqualTo(1.0);
        assertThat(Identification.rank1LeaveOneOut(e, labels)).isEqualTo(1.0);
        assertThat(Identification.rank1OneGalleryImage(e, labels, new Rng(3))).isEqualTo(1.0);
    }

    /**
     * Embeddings unrelated to the labels: by symmetry the query's nearest support is each of the N supports with
     * probability 1/N. 400 images, 40 identities of 10 (the AT&amp;T layout).
     */
    @Test
    void randomLabelsGiveChanceLevel() {
        Rng rng = new Rng(9);
        float[][] e = new float[400][16];
        for (float[] row : e) {
            for (int c = 0; c < row.length; c++) {
                row[c] = (float) rng.nextGaussian();
            }
        }
        int[] labels = new int[400];
        for (int i = 0; i < 400; i++) {
            labels[i] = i % 40;
        }
        rng.shuffle(labels);
        // 4000 trials: binomial spread about 0.006 around 1/5, plus the spread of this one data set.
        assertThat(Identification.nWayOneShot(e, labels, 5, 4000, new Rng(4))).isCloseTo(0.2, within(0.04));
        assertThat(Identification.nWayOneShot(e, labels, 20, 4000, new Rng(4))).isCloseTo(0.05, within(0.02));
        // Leave-one-out: 9 of the 399 others share the probe's identity.
        assertThat(Identification.rank1LeaveOneOut(e, labels)).isCloseTo(9.0 / 399, within(0.02));
        assertThat(Identification.rank1OneGalleryImage(e, labels, new Rng(5))).isCloseTo(1.0 / 40, within(0.02));
    }

    @Test
    void tiesGetFractionalCredit() {
        // Every embedding identical: each trial is an N-way tie with one right candidate, credit exactly 1/N.
        float[][] e = new float[30][3];
        int[] labels = new int[30];
        for (int i = 0; i < 30; i++) {
            e[i] = new float[] {1, 2, 3};
            labels[i] = i / 3;
        }
        assertThat(Identification.nWayOneShot(e, labels, 4, 50, new Rng(1))).isCloseTo(0.25, within(1e-12));
        // Leave-one-out: 2 mates among 29 tied others.
        assertThat(Identification.rank1LeaveOneOut(e, labels)).isCloseTo(2.0 / 29, within(1e-12));
        assertThat(Identification.rank1OneGalleryImage(e, labels, new Rng(1))).isCloseTo(0.1, within(1e-12));
    }

    /**
     * 1-D: A = {0, 1}, B = {1.4, 5}. Nearest other image: 0 -> 1 (A, right), 1 -> 1.4 (B, wrong),
     * 1.4 -> 1 (A, wrong), 5 -> 1.4 (B, right): rank-1 = 1/2.
     */
    @Test
    void rank1LeaveOneOutHandWorked() {
        float[][] e = {{0}, {1}, {1.4f}, {5}};
        int[] labels = {7, 7, 3, 3};
        assertThat(Identification.rank1LeaveOneOut(e, labels)).isEqualTo(0.5);
        // An identity with one image is a distractor, not a probe: adding {1.1} (label 9) steals probe 1's match
        // and probe 1.4's, and is not counted itself. 0 -> 1 right, 1 -> 1.1 wrong, 1.4 -> 1.1 wrong, 5 -> 1.4 right.
        float[][] e2 = {{0}, {1}, {1.4f}, {5}, {1.1f}};
        assertThat(Identification.rank1LeaveOneOut(e2, new int[] {7, 7, 3, 3, 9})).isEqualTo(0.5);
    }

    /**
     * The blocked rank-1 of a {@link Distance} against the one-pair-at-a-time form with {@code distance::between}:
     * equal to the last bit, on sets that span several probe tasks and candidate blocks (the last ones partial),
     * with identities of one image (distractors only) and, on a coarse grid, many exact ties across blocks.
     */
    @ParameterizedTest
    @EnumSource(Distance.class)
    void rank1OfADistanceInBlocksIsTheStraightforwardOneExactly(Distance distance) {
        int n = 2 * Identification.CANDIDATES_PER_BLOCK + Identification.PROBES_PER_TASK + 37;
        Rng rng = new Rng(17);
        float[][] grid = new float[n][3];
        float[][] wide = new float[n][64];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                grid[i][c] = rng.nextInt(5) - 2;      // 125 points for 700 images: most neighbours tie
            }
            for (int c = 0; c < 64; c++) {
                wide[i][c] = (float) rng.nextGaussian();
            }
            labels[i] = i % 7 == 0 ? 1000 + i : 3 * rng.nextInt(40);     // every 7th alone in its identity
        }
        for (float[][] e : new float[][][] {grid, wide}) {
            double straightforward = Identification.rank1LeaveOneOut(e, labels, distance::between,
                    ScoreDirection.LOWER_IS_SAME);
            assertThat(Identification.rank1LeaveOneOut(e, labels, distance)).isEqualTo(straightforward);
        }
        // all identical: every other image ties, 2 of the 29 share the probe's identity
        float[][] same = new float[30][];
        int[] threes = new int[30];
        for (int i = 0; i < 30; i++) {
            same[i] = new float[] {1, 2, 3};
            threes[i] = i / 3;
        }
        assertThat(Identification.rank1LeaveOneOut(same, threes, distance)).isCloseTo(2.0 / 29, within(1e-12));
        assertThatThrownBy(() -> Identification.rank1LeaveOneOut(new float[][] {{0}, {1}}, new int[] {0, 1},
                distance)).hasMessageContaining("no identity has two images");
    }

    @Test
    void rank1AgainstExplicitGallery() {
        float[][] gallery = {{0, 0}, {10, 0}, {0, 10}};
        int[] galleryLabels = {1, 2, 3};
        float[][] probes = {{1, 1}, {9, 1}, {1, 9}, {9, 9}};
        // The last probe is equidistant from gallery 2 and 3 and is labelled 3: half credit.
        assertThat(Identification.rank1(gallery, galleryLabels, probes, new int[] {1, 2, 3, 3},
                EmbeddingDistance.EUCLIDEAN)).isEqualTo(3.5 / 4);
        // A probe whose identity is not in the gallery is a miss.
        assertThat(Identification.rank1(gallery, galleryLabels, probes, new int[] {1, 2, 3, 4},
                EmbeddingDistance.EUCLIDEAN)).isEqualTo(3.0 / 4);
    }

    @Test
    void oneShotIsReproducibleFromTheSeedAndSeesBothOutcomes() {
        Rng rng = new Rng(12);
        int[] labels = new int[80];
        float[][] e = new float[80][4];
        for (int i = 0; i < 80; i++) {
            labels[i] = i / 4;
            for (int c = 0; c < 4; c++) {
                // identity signal of 1 plus noise of 1: neither always right nor at chance
                e[i][c] = (float) ((c == labels[i] % 4 ? labels[i] / 4.0 : 0) + rng.nextGaussian());
            }
        }
        double a = Identification.nWayOneShot(e, labels, 5, 500, new Rng(77));
        assertThat(Identification.nWayOneShot(e, labels, 5, 500, new Rng(77))).isEqualTo(a);
        assertThat(a).isBetween(0.25, 0.95);
    }

    @Test
    void twoWayTrialsUseTheQueryIdentityWithTwoImagesOnly() {
        // Identity 0 has two images, identity 1 one: every 2-way trial queries identity 0 against identity 1's
        // single image, which is far away.
        float[][] e = {{0, 0}, {0.1f, 0}, {5, 5}};
        assertThat(Identification.nWayOneShot(e, new int[] {0, 0, 1}, 2, 20, new Rng(1))).isEqualTo(1.0);
    }

    @Test
    void rejectsBadInput() {
        int[] labels = new int[60];
        float[][] e = clusters(12, 5, 16, 1, labels);
        Rng rng = new Rng(1);
        assertThatThrownBy(() -> Identification.nWayOneShot(e, labels, 13, 10, rng))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("13-way trials need 13 identities, got 12");
        assertThatThrownBy(() -> Identification.nWayOneShot(e, labels, 1, 10, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ways must be at least 2, got 1");
        assertThatThrownBy(() -> Identification.nWayOneShot(e, labels, 5, 0, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trials must be at least 1, got 0");
        float[][] singles = {{0}, {1}, {2}};
        assertThatThrownBy(() -> Identification.nWayOneShot(singles, new int[] {0, 1, 2}, 2, 10, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no identity has two images");
        assertThatThrownBy(() -> Identification.rank1LeaveOneOut(singles, new int[] {0, 1, 2}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no identity has two images");
        assertThatThrownBy(() -> Identification.rank1OneGalleryImage(singles, new int[] {0, 1, 2}, rng))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no identity has two images");
        assertThatThrownBy(() -> Identification.rank1LeaveOneOut(singles, new int[] {0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 embeddings but 2 labels");
        assertThatThrownBy(() -> Identification.rank1LeaveOneOut(new float[0][], new int[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no embeddings");
        assertThatThrownBy(() -> Identification.rank1LeaveOneOut(new float[][] {{0, 1}, {2}}, new int[] {0, 0}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("embedding 1 has length 1 but embedding 0 has length 2");
        assertThatThrownBy(() -> Identification.rank1LeaveOneOut(new float[][] {{0}, {Float.NaN}}, new int[] {0, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("embedding 1 has NaN at 0");
        assertThatThrownBy(() -> Identification.rank1(new float[][] {{0, 1}}, new int[] {0}, new float[][] {{0}},
                new int[] {0}, EmbeddingDistance.EUCLIDEAN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("length 2 but probes 1");
        assertThatThrownBy(() -> Identification.rank1LeaveOneOut(new float[][] {{0}, {1}}, new int[] {0, 0},
                (a, b) -> Double.NaN))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("is NaN");
    }
}
