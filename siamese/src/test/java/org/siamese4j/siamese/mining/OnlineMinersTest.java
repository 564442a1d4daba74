package org.siamese4j.siamese.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Every miner against a brute-force enumeration of all (a, p, n) triplets, on random labelled batches of several
 * shapes (balanced P x K, unbalanced, singleton identities, a single identity), with quantised distances so that
 * ties are frequent, plus a hand-computed example and the argument checks.
 */
class OnlineMinersTest {

    /** Identity sizes of the random batches. */
    private static final int[][] BATCH_SHAPES = {
        {4, 4, 4, 4},          // P = 4, K = 4
        {2, 2, 2, 2, 2, 2, 2}, // P = 7, K = 2
        {3, 1, 5, 1, 2},       // unbalanced, with singletons
        {6},                   // a single identity: no negatives
        {1, 1, 1, 1, 1},       // all singletons: no positives
        {1},                   // one image
        {2, 1},                // the smallest batch with one triplet
        {5, 3, 4},             // P = 3, unequal K
    };
    private static final float[] MARGINS = {0f, 0.2f, 0.5f};

    /** A labelled random batch: shuffled rows, arbitrary label values, a matrix with or without ties. */
    private record Batch(String name, float[] dist, int n, int[] labels) {
        float d(int i, int j) {
            return dist[i * n + j];
        }

        boolean valid(int a, int p, int q) {
            return a != p && labels[a] == labels[p] && labels[q] != labels[a];
        }
    }

    private static List<Batch> randomBatches() {
        List<Batch> batches = new ArrayList<>();
        long seed = 1;
        for (int[] shape : BATCH_SHAPES) {
            for (int variant = 0; variant < 4; variant++) {
                batches.add(randomBatch(shape, variant, new Rng(seed++)));
            }
        }
        return batches;
    }

    /**
     * variant 0: symmetric, distances on a coarse grid (many ties); 1: asymmetric coarse grid; 2: symmetric
     * continuous; 3: all off-diagonal distances equal (every comparison is a tie).
     */
    private static Batch randomBatch(int[] sizes, int variant, Rng rng) {
        int n = 0;
        for (int s : sizes) {
            n += s;
        }
        int[] labels = new int[n];
        int at = 0;
        for (int id = 0; id < sizes.length; id++) {
            for (int k = 0; k < sizes[id]; k++) {
                labels[at++] = 7 * id - 3; // arbitrary values: only equality may matter
            }
        }
        int[] perm = rng.permutation(n);
        int[] shuffled = new int[n];
        for (int i = 0; i < n; i++) {
            shuffled[i] = labels[perm[i]];
        }
        float[] dist = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (i == j) {
                    continue;
                }
                if (variant != 1 && j < i) {
                    dist[i * n + j] = dist[j * n + i];
                    continue;
                }
                dist[i * n + j] = switch (variant) {
                    case 0, 1 -> rng.nextInt(6) * 0.25f;
                    case 2 -> rng.nextFloat() * 2f;
                    default -> 1f;
                };
            }
        }
        return new Batch(java.util.Arrays.toString(sizes) + " variant " + variant, dist, n, shuffled);
    }

    // ---- batch all ---------------------------------------------------------------------------------------------

    @Test
    void batchAllMatchesBruteForce() {
        for (Batch b : randomBatches()) {
            for (float m : MARGINS) {
                List<int[]> all = new ArrayList<>();
                List<int[]> positiveLoss = new ArrayList<>();
                for (int a = 0; a < b.n; a++) {
                    for (int p = 0; p < b.n; p++) {
                        for (int q = 0; q < b.n; q++) {
                            if (b.valid(a, p, q)) {
                                all.add(new int[] {a, p, q});
                                if ((double) b.d(a, p) - b.d(a, q) + m > 0) {
                                    positiveLoss.add(new int[] {a, p, q});
                                }
                            }
                        }
                    }
                }
                Triplets mined = BatchAllMiner.all().mine(b.dist, b.n, b.labels, m);
                assertThat(mined).as(b.name + " m=" + m).isEqualTo(toTriplets(all));
                Triplets nonEasy = BatchAllMiner.nonEasyOnly().mine(b.dist, b.n, b.labels, m);
                assertThat(nonEasy).as(b.name + " non-easy m=" + m).isEqualTo(toTriplets(positiveLoss));
                nonEasy.requireValidFor(b.labels);
                assertThat(TripletStats.of(nonEasy, b.dist, b.n, m).easy()).isZero();
            }
        }
    }

    // ---- batch hard --------------------------------------------------------------------------------------------

    @Test
    void batchHardMatchesBruteForce() {
        int triplets = 0;
        for (Batch b : randomBatches()) {
            List<int[]> expected = new ArrayList<>();
            for (int a = 0; a < b.n; a++) {
                // Over all valid triplets of this anchor: hardest positive (largest d, then lowest index) and
                // hardest negative (smallest d, then lowest index), and the largest d(a,p) - d(a,n).
                int bestP = -1;
                int bestN = -1;
                double maxGap = Double.NEGATIVE_INFINITY;
                for (int p = 0; p < b.n; p++) {
                    for (int q = 0; q < b.n; q++) {
                        if (!b.valid(a, p, q)) {
                            continue;
                        }
                        if (bestP < 0 || b.d(a, p) > b.d(a, bestP) || (b.d(a, p) == b.d(a, bestP) && p < bestP)) {
                            bestP = p;
                        }
                        if (bestN < 0 || b.d(a, q) < b.d(a, bestN) || (b.d(a, q) == b.d(a, bestN) && q < bestN)) {
                            bestN = q;
                        }
                        maxGap = Math.max(maxGap, (double) b.d(a, p) - b.d(a, q));
                    }
                }
                if (bestP >= 0) {
                    expected.add(new int[] {a, bestP, bestN});
                    // The batch-hard triplet is the one with the largest loss among the anchor's triplets.
                    assertThat((double) b.d(a, bestP) - b.d(a, bestN)).isEqualTo(maxGap);
                }
            }
            Triplets mined = new BatchHardMiner().mine(b.dist, b.n, b.labels, 0.2f);
            assertThat(mined).as(b.name).isEqualTo(toTriplets(expected));
            mined.requireValidFor(b.labels);
            triplets += mined.size();
        }
        assertThat(triplets).as("the batches must produce triplets at all").isGreaterThan(100);
    }

    // ---- semi-hard ---------------------------------------------------------------------------------------------

    @Test
    void semiHardMatchesBruteForce() {
        int fallbacks = 0;
        int strict = 0;
        for (Batch b : randomBatches()) {
            List<int[]> withFallback = new ArrayList<>();
            List<int[]> without = new ArrayList<>();
            for (int a = 0; a < b.n; a++) {
                final int anchor = a;
                List<Integer> negatives = new ArrayList<>();
                for (int q = 0; q < b.n; q++) {
                    if (b.labels[q] != b.labels[a]) {
                        negatives.add(q);
                    }
                }
                if (negatives.isEmpty()) {
                    continue;
                }
                Comparator<Integer> nearestFirst = Comparator.<Integer>comparingDouble(q -> b.d(anchor, q))
                        .thenComparingInt(q -> q);
                Comparator<Integer> farthestFirst = Comparator.<Integer>comparingDouble(q -> -b.d(anchor, q))
                        .thenComparingInt(q -> q);
                for (int p = 0; p < b.n; p++) {
                    if (p == a || b.labels[p] != b.labels[a]) {
                        continue;
                    }
                    float dAP = b.d(a, p);
                    Integer farther = negatives.stream().filter(q -> b.d(anchor, q) > dAP).min(nearestFirst)
                            .orElse(null);
                    if (farther != null) {
                        withFallback.add(new int[] {a, p, farther});
                        without.add(new int[] {a, p, farther});
                        strict++;
                    } else {
                        withFallback.add(new int[] {a, p, negatives.stream().min(farthestFirst).orElseThrow()});
                        fallbacks++;
                    }
                }
            }
            Triplets mined = new SemiHardMiner().mine(b.dist, b.n, b.labels, 0.3f);
            assertThat(mined).as(b.name).isEqualTo(toTriplets(withFallback));
            mined.requireValidFor(b.labels);
            assertThat(SemiHardMiner.withoutFallback().mine(b.dist, b.n, b.labels, 0.3f)).as(b.name + " no fallback")
                    .isEqualTo(toTriplets(without));
        }
        assertThat(fallbacks).as("the batches must exercise the fallback").isGreaterThan(10);
        assertThat(strict).isGreaterThan(100);
    }

    @Test
    void semiHardWithoutFallbackNeverReturnsHardTriplets() {
        for (Batch b : randomBatches()) {
            Triplets t = SemiHardMiner.withoutFallback().mine(b.dist, b.n, b.labels, 0.3f);
            assertThat(TripletStats.of(t, b.dist, b.n, 0.3f).hard()).as(b.name).isZero();
        }
    }

    // ---- hand-computed example ---------------------------------------------------------------------------------

    private static final int[] HAND_LABELS = {0, 0, 0, 1, 1};
    private static final float[] HAND_DIST = {
        0f, .5f, .8f, .6f, 1.2f,
        .2f, 0f, .2f, .9f, .9f,
        .7f, .1f, 0f, .7f, .75f,
        .4f, 1f, 1f, 0f, 2f,
        .3f, .3f, .9f, .7f, 0f};

    @Test
    void handComputedBatchHard() {
        // Row 1: positives tie at 0.2 (-> 0), negatives tie at 0.9 (-> 3); row 4: negatives tie at 0.3 (-> 0).
        assertThat(new BatchHardMiner().mine(HAND_DIST, 5, HAND_LABELS, 0.3f)).isEqualTo(triplets(
                0, 2, 3, 1, 0, 3, 2, 0, 3, 3, 4, 0, 4, 3, 0));
    }

    @Test
    void handComputedSemiHard() {
        // (2, 0): negative 3 is exactly as far as the positive (0.7), so not "farther"; 4 (0.75) is chosen.
        // (3, 4): no negative beyond 2.0, fall back to the farthest, tie 1.0 between 1 and 2 -> 1.
        assertThat(new SemiHardMiner().mine(HAND_DIST, 5, HAND_LABELS, 0.3f)).isEqualTo(triplets(
                0, 1, 3, 0, 2, 4, 1, 0, 3, 1, 2, 3, 2, 0, 4, 2, 1, 3, 3, 4, 1, 4, 3, 2));
        assertThat(SemiHardMiner.withoutFallback().mine(HAND_DIST, 5, HAND_LABELS, 0.3f)).isEqualTo(triplets(
                0, 1, 3, 0, 2, 4, 1, 0, 3, 1, 2, 3, 2, 0, 4, 2, 1, 3, 4, 3, 2));
    }

    @Test
    void handComputedBatchAllNonEasy() {
        // Anchor 0, m = 0.3: (0,1,3) loss 0.2, (0,2,3) loss 0.5 kept; (0,1,4) and (0,2,4) have zero loss.
        Triplets t = BatchAllMiner.nonEasyOnly().mine(HAND_DIST, 5, HAND_LABELS, 0.3f);
        List<int[]> anchor0 = new ArrayList<>();
        for (int i = 0; i < t.size(); i++) {
            if (t.anchor(i) == 0) {
                anchor0.add(new int[] {t.anchor(i), t.positive(i), t.negative(i)});
            }
        }
        assertThat(toTriplets(anchor0)).isEqualTo(triplets(0, 1, 3, 0, 2, 3));
        assertThat(BatchAllMiner.all().mine(HAND_DIST, 5, HAND_LABELS, 0.3f).size()).isEqualTo(3 * 2 * 2 + 2 * 3);
    }

    // ---- tensor input ------------------------------------------------------------------------------------------

    @Test
    void tensorInputGivesTheSameTripletsAsTheArray() {
        // A realistic matrix: Euclidean distances between random embeddings of a P = 4, K = 3 batch.
        Rng rng = new Rng(11);
        int n = 12;
        int dim = 5;
        Tensor emb = Tensor.randn(rng, n, dim);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 4;
        }
        float[] dist = new float[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int k = 0; k < dim; k++) {
                    double diff = emb.get(i, k) - emb.get(j, k);
                    s += diff * diff;
                }
                dist[i * n + j] = (float) Math.sqrt(s);
            }
        }
        Tensor matrix = Tensor.of(dist, n, n).requiresGrad(true);
        for (OnlineMiner miner : List.of(BatchAllMiner.all(), BatchAllMiner.nonEasyOnly(), new BatchHardMiner(),
                new SemiHardMiner())) {
            assertThat(miner.mine(matrix, labels, 0.5f)).as(miner.toString())
                    .isEqualTo(miner.mine(dist, n, labels, 0.5f));
        }
    }

    // ---- argument checks ---------------------------------------------------------------------------------------

    @Test
    void everyMinerValidatesItsArguments() {
        for (OnlineMiner miner : List.of(BatchAllMiner.all(), BatchAllMiner.nonEasyOnly(), new BatchHardMiner(),
                new SemiHardMiner(), SemiHardMiner.withoutFallback())) {
            String name = miner.getClass().getSimpleName();
            assertThatThrownBy(() -> miner.mine(new float[9], 3, new int[4], 0.2f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(name)
                    .hasMessageContaining("3 x 3").hasMessageContaining("4 labels");
            assertThatThrownBy(() -> miner.mine(new float[8], 3, new int[3], 0.2f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(name)
                    .hasMessageContaining("8 values").hasMessageContaining("9");
            assertThatThrownBy(() -> miner.mine(new float[9], 3, new int[3], -0.5f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(name)
                    .hasMessageContaining("margin").hasMessageContaining("-0.5");
            float[] withNaN = new float[9];
            withNaN[5] = Float.NaN;
            assertThatThrownBy(() -> miner.mine(withNaN, 3, new int[] {0, 0, 1}, 0.2f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN")
                    .hasMessageContaining("(1, 2)");
            assertThatThrownBy(() -> miner.mine(null, 3, new int[3], 0.2f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
            assertThatThrownBy(() -> miner.mine(new float[9], 3, null, 0.2f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("labels");
            assertThatThrownBy(() -> miner.mine(Tensor.zeros(3, 4), new int[3], 0.2f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(name)
                    .hasMessageContaining("[3, 4]");
            assertThatThrownBy(() -> miner.mine(Tensor.zeros(9), new int[3], 0.2f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[9]");
            assertThatThrownBy(() -> miner.mine(Tensor.zeros(3, 3), new int[2], 0.2f))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 labels");
            assertThat(miner.mine(new float[0], 0, new int[0], 0f).size()).as("an empty batch is no error").isZero();
        }
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private static Triplets toTriplets(List<int[]> list) {
        int[] a = new int[list.size()];
        int[] p = new int[list.size()];
        int[] n = new int[list.size()];
        for (int i = 0; i < list.size(); i++) {
            a[i] = list.get(i)[0];
            p[i] = list.get(i)[1];
            n[i] = list.get(i)[2];
        }
        return new Triplets(a, p, n);
    }

    private static Triplets triplets(int... apn) {
        List<int[]> list = new ArrayList<>();
        for (int i = 0; i < apn.length; i += 3) {
            list.add(new int[] {apn[i], apn[i + 1], apn[i + 2]});
        }
        return toTriplets(list);
    }
}
