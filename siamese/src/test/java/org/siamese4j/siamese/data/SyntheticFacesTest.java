package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class SyntheticFacesTest {

    @Test
    void sameSeedGivesBitIdenticalPixelsAndOtherSeedsDiffer() {
        float[] first = SyntheticFaces.generate(3, 2, 42L, 56, 46).images().toArray();
        float[] again = SyntheticFaces.generate(3, 2, 42L, 56, 46).images().toArray();
        float[] other = SyntheticFaces.generate(3, 2, 43L, 56, 46).images().toArray();
        assertThat(again).isEqualTo(first);
        assertThat(meanAbsDiff(first, 0, other, 0, first.length)).isGreaterThan(0.02);
    }

    @Test
    void shapeRangeLabelsAndNames() {
        ImageDataset data = SyntheticFaces.generate(4, 3, 1L);
        assertThat(data.images().shape()).containsExactly(12, 1, 112, 92);
        assertThat(data.labels()).containsExactly(0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3);
        assertThat(data.identityNames()).containsExactly("synth-0", "synth-1", "synth-2", "synth-3");
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (float v : data.images().toArray()) {
            assertThat(Float.isFinite(v)).isTrue();
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertThat(min).isGreaterThanOrEqualTo(0f);
        assertThat(max).isLessThanOrEqualTo(1f);
        // Real contrast, not a flat or saturated frame.
        assertThat(max - min).isGreaterThan(0.4f);

        ImageDataset small = SyntheticFaces.generate(2, 2, 1L, 28, 23);
        assertThat(small.images().shape()).containsExactly(4, 1, 28, 23);
    }

    @Test
    void aRangeDrawsTheImagesOfGenerateRangeBatchByBatch() throws java.io.IOException {
        ImageDataset all = SyntheticFaces.generateRange(7, 5, 3, 42L, 28, 23);
        LabelledImages lazy = SyntheticFaces.range(7, 5, 3, 42L, 28, 23);
        assertThat(lazy.size()).isEqualTo(15);
        assertThat(lazy.labels()).containsExactly(all.labels());
        assertThat(lazy.identityNames()).isEqualTo(all.identityNames()).startsWith("synth-7");
        assertThat(LabelledImages.describe(lazy)).isEqualTo(all.toString());
        // any images in any order, bit for bit the rows of the whole set
        int[] picked = {14, 0, 7, 7, 3};
        assertThat(lazy.batch(picked).toArray()).isEqualTo(all.batch(picked).toArray());
        assertThatThrownBy(() -> lazy.batch(15)).hasMessageContaining("image 15 of 15");
    }

    @Test
    void smallRenderingMatchesDownscaledFullRendering() {
        // Rendering at a quarter of the size draws the same face: compare with a 4x4 box-downscale of the
        // full-size image (edges and noise differ, the picture must not).
        float[] full = SyntheticFaces.renderImage(5L, 3, 1, 112, 92);
        float[] small = SyntheticFaces.renderImage(5L, 3, 1, 28, 23);
        float[] down = boxDownscale(full, 112, 92, 4);
        assertThat(meanAbsDiff(small, 0, down, 0, small.length)).isLessThan(0.03);
    }

    @Test
    void identityDependsOnlyOnSeedAndIndex() {
        int h = 40;
        int w = 33;
        ImageDataset all = SyntheticFaces.generate(8, 2, 9L, h, w);
        ImageDataset tail = SyntheticFaces.generateRange(5, 3, 2, 9L, h, w);
        assertThat(tail.identityNames()).containsExactly("synth-5", "synth-6", "synth-7");
        int plane = h * w;
        float[] allPixels = all.images().toArray();
        assertThat(tail.images().toArray())
                .isEqualTo(Arrays.copyOfRange(allPixels, 5 * 2 * plane, 8 * 2 * plane));
        // Each image rendered alone on this thread is the same picture as in the (parallel-built) dataset.
        for (int n = 0; n < all.size(); n++) {
            assertThat(SyntheticFaces.renderImage(9L, n / 2, n % 2, h, w)).as("image %d", n)
                    .isEqualTo(Arrays.copyOfRange(allPixels, n * plane, (n + 1) * plane));
        }
    }

    @Test
    void disjointRangesGiveDisjointPeople() {
        long seed = 11L;
        ImageDataset train = SyntheticFaces.generateRange(0, 20, 1, seed, 16, 16);
        ImageDataset test = SyntheticFaces.generateRange(20, 10, 1, seed, 16, 16);
        Set<String> names = new HashSet<>(train.identityNames());
        names.retainAll(test.identityNames());
        assertThat(names).isEmpty();
        List<double[]> params = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            params.add(SyntheticFaceIdentity.of(seed, i).parameters());
        }
        for (int i = 0; i < 30; i++) {
            for (int j = i + 1; j < 30; j++) {
                assertThat(params.get(i)).as("identities %d and %d", i, j).isNotEqualTo(params.get(j));
            }
        }
    }

    @Test
    void imagesOfOnePersonVaryAndPeopleDifferInParameters() {
        long seed = 3L;
        float[] a = SyntheticFaces.renderImage(seed, 0, 0, 112, 92);
        float[] b = SyntheticFaces.renderImage(seed, 0, 1, 112, 92);
        assertThat(meanAbsDiff(a, 0, b, 0, a.length)).isGreaterThan(0.02);

        double[] p0 = SyntheticFaceIdentity.of(seed, 0).parameters();
        double[] p1 = SyntheticFaceIdentity.of(seed, 1).parameters();
        int differing = 0;
        for (int i = 0; i < p0.length; i++) {
            if (p0[i] != p1[i]) {
                differing++;
            }
        }
        // Continuous parameters all differ; a few categorical ones (hair style, ears, glasses) may agree.
        assertThat(differing).isGreaterThan(p0.length - 8);
    }

    @Test
    void rawPixelsVerifyPoorlyButIdentityDominatesOnceNuisanceIsRemoved() {
        long seed = 2024L;
        int ids = 24;
        int per = 6;
        int h = 112;
        int w = 92;
        int plane = h * w;
        float[] raw = SyntheticFaces.generate(ids, per, seed, h, w).images().toArray();
        // The same photographs without their nuisance factors (frontal, centred, nominal scale, fixed light and
        // exposure), keeping expression and noise: an oracle that knows pose and lighting. If identity is what
        // is left, these pairs separate almost perfectly; raw pixels must not.
        float[] posed = new float[ids * per * plane];
        float[] neutral = new float[ids * per * plane];
        for (int i = 0; i < ids; i++) {
            SyntheticFaceIdentity face = SyntheticFaceIdentity.of(seed, i);
            for (int j = 0; j < per; j++) {
                SyntheticFaceVariation photo = SyntheticFaceVariation.of(seed, i, j);
                int offset = (i * per + j) * plane;
                new SyntheticFaceRenderer(face, photo.withoutPose(), h, w)
                        .render(new Rng(i * 1000L + j), h, w, posed, offset);
                new SyntheticFaceRenderer(face, photo.withoutPose().withoutLighting(), h, w)
                        .render(new Rng(i * 1000L + j), h, w, neutral, offset);
            }
        }
        double rawAuc = verificationAuc(raw, plane, ids, per);
        double unposedAuc = verificationAuc(posed, plane, ids, per);
        double neutralAuc = verificationAuc(neutral, plane, ids, per);
        System.out.printf("synthetic faces: verification AUC of pixel distance: raw %.3f, pose removed %.3f, "
                + "pose and lighting removed %.3f%n", rawAuc, unposedAuc, neutralAuc);
        assertThat(rawAuc).isLessThan(0.85);
        // Both nuisance families matter: removing either one helps.
        assertThat(unposedAuc).isGreaterThan(rawAuc + 0.03);
        assertThat(neutralAuc).isGreaterThan(0.97);
    }

    @Test
    void hundredPeopleTimesTenImagesRenderInAFewSeconds() {
        long start = System.nanoTime();
        ImageDataset data = SyntheticFaces.generate(100, 10, 77L);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("synthetic faces: 100 x 10 images of 112x92 in %.2f s%n", seconds);
        assertThat(data.size()).isEqualTo(1000);
        // Generous for a shared 2-core machine; typically well under a second.
        assertThat(seconds).isLessThan(5.0);
    }

    @Test
    void badArgumentsFailFastWithTheValue() {
        assertThatThrownBy(() -> SyntheticFaces.generate(0, 3, 1L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("identities")
                .hasMessageContaining("0");
        assertThatThrownBy(() -> SyntheticFaces.generate(2, -1, 1L))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("imagesPerIdentity")
                .hasMessageContaining("-1");
        assertThatThrownBy(() -> SyntheticFaces.generate(2, 2, 1L, 4, 92))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4x92");
        assertThatThrownBy(() -> SyntheticFaces.generateRange(-3, 2, 2, 1L, 32, 32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-3");
        assertThatThrownBy(() -> SyntheticFaces.renderImage(1L, 0, -2, 32, 32))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-2");
    }

    // ---------------------------------------------------------------------------------------------------------

    /**
     * Area under the ROC curve for "same person" when pairs are ranked by Euclidean distance (smaller = same):
     * the probability that a random same-identity pair is closer than a random different-identity pair,
     * ties counting half (Mann-Whitney U over all pairs).
     */
    static double verificationAuc(float[] images, int dim, int ids, int per) {
        int n = ids * per;
        List<double[]> pairs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                double d = 0;
                for (int k = 0; k < dim; k++) {
                    double diff = images[i * dim + k] - images[j * dim + k];
                    d += diff * diff;
                }
                pairs.add(new double[] {Math.sqrt(d), i / per == j / per ? 1 : 0});
            }
        }
        pairs.sort((p, q) -> Double.compare(p[0], q[0]));
        // Average ranks (1-based) over ties, then U = rank sum of positives - P(P+1)/2.
        double rankSumPositives = 0;
        long positives = 0;
        int i = 0;
        while (i < pairs.size()) {
            int j = i;
            while (j + 1 < pairs.size() && pairs.get(j + 1)[0] == pairs.get(i)[0]) {
                j++;
            }
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                if (pairs.get(k)[1] == 1) {
                    rankSumPositives += rank;
                    positives++;
                }
            }
            i = j + 1;
        }
        long negatives = pairs.size() - positives;
        // Positives ranked low (close) are good, so AUC = 1 - U / (P N).
        double u = rankSumPositives - positives * (positives + 1) / 2.0;
        return 1.0 - u / ((double) positives * negatives);
    }

    @Test
    void aucHelperMatchesHandComputedCases() {
        // Two people, two images each, 1-D: same pairs at distance 1 and 1, different pairs at 9, 10, 8, 9.
        assertThat(verificationAuc(new float[] {0, 1, 10, 11}, 1, 2, 2)).isEqualTo(1.0);
        // 2-D square, each person on a diagonal: same pairs sqrt(2) apart, different pairs 1 apart.
        assertThat(verificationAuc(new float[] {0, 0, 1, 1, 1, 0, 0, 1}, 2, 2, 2)).isEqualTo(0.0);
        // Person 0 at {0, 10}, person 1 at {1, 11}: same pairs 10, 10; different 1, 11, 9, 1: 2 of 8 won.
        assertThat(verificationAuc(new float[] {0, 10, 1, 11}, 1, 2, 2)).isEqualTo(0.25);
        // All equal: everything ties, AUC one half.
        assertThat(verificationAuc(new float[] {3, 3, 3, 3}, 1, 2, 2)).isEqualTo(0.5);
    }

    private static float[] boxDownscale(float[] img, int h, int w, int f) {
        int dh = h / f;
        int dw = w / f;
        float[] out = new float[dh * dw];
        for (int y = 0; y < dh; y++) {
            for (int x = 0; x < dw; x++) {
                double s = 0;
                for (int yy = 0; yy < f; yy++) {
                    for (int xx = 0; xx < f; xx++) {
                        s += img[(y * f + yy) * w + x * f + xx];
                    }
                }
                out[y * dw + x] = (float) (s / (f * f));
            }
        }
        return out;
    }

    private static float[] standardise(float[] v) {
        double mean = 0;
        for (float x : v) {
            mean += x;
        }
        mean /= v.length;
        double var = 0;
        for (float x : v) {
            var += (x - mean) * (x - mean);
        }
        double std = Math.sqrt(var / v.length) + 1e-6;
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) ((v[i] - mean) / std);
        }
        return out;
    }

    private static double meanAbsDiff(float[] a, int aOff, float[] b, int bOff, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) {
            s += Math.abs(a[aOff + i] - b[bOff + i]);
        }
        return s / n;
    }
}
