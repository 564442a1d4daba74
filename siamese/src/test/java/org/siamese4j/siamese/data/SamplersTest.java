package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;

class SamplersTest {

    /** Identities 0..6 with 1, 3, 5, 2, 1, 4, 6 images, interleaved; identity 7 has none (a gap). */
    static final int[] LABELS = {0, 1, 2, 3, 4, 5, 6, 1, 2, 3, 5, 6, 1, 2, 5, 6, 2, 5, 6, 2, 6, 6, 8};

    private static int count(int[] labels, int id) {
        int n = 0;
        for (int l : labels) {
            n += l == id ? 1 : 0;
        }
        return n;
    }

    // ---- pairs -------------------------------------------------------------------------------------------

    @Test
    void pairsHaveTheSetPositiveFractionAndValidLabels() {
        PairSampler sampler = new PairSampler(LABELS, 0.5, new Rng(1));
        Set<Integer> positiveIdentities = new HashSet<>();
        Set<Integer> negativeIdentities = new HashSet<>();
        for (int batch = 0; batch < 300; batch++) {
            Pairs pairs = sampler.sample(17);
            assertThat(pairs.size()).isEqualTo(17);
            assertThat(pairs.positives()).isEqualTo(9);
            for (int i = 0; i < pairs.size(); i++) {
                int a = pairs.first()[i];
                int b = pairs.second()[i];
                if (pairs.isSame(i)) {
                    assertThat(a).isNotEqualTo(b);
                    assertThat(LABELS[a]).isEqualTo(LABELS[b]);
                    assertThat(count(LABELS, LABELS[a])).isGreaterThanOrEqualTo(2);
                    positiveIdentities.add(LABELS[a]);
                } else {
                    assertThat(pairs.same()[i]).isZero();
                    assertThat(LABELS[a]).isNotEqualTo(LABELS[b]);
                    negativeIdentities.add(LABELS[a]);
                    negativeIdentities.add(LABELS[b]);
                }
            }
        }
        // Every eligible identity shows up: singletons (0, 4, 8) only in negatives.
        assertThat(positiveIdentities).containsExactlyInAnyOrder(1, 2, 3, 5, 6);
        assertThat(negativeIdentities).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 8);
    }

    @Test
    void positivesAreSpreadThroughTheBatch() {
        Pairs pairs = new PairSampler(LABELS, 0.5, new Rng(3)).sample(64);
        int positivesInFirstHalf = 0;
        for (int i = 0; i < 32; i++) {
            positivesInFirstHalf += pairs.same()[i];
        }
        assertThat(positivesInFirstHalf).isBetween(5, 27);
        assertThat(pairs.sameTensor().toArray()).hasSize(64);
    }

    @Test
    void pairSamplerIsReproducible() {
        PairSampler a = new PairSampler(LABELS, 0.3, new Rng(99));
        PairSampler b = new PairSampler(LABELS, 0.3, new Rng(99));
        PairSampler c = new PairSampler(LABELS, 0.3, new Rng(100));
        boolean differs = false;
        for (int i = 0; i < 5; i++) {
            Pairs pa = a.sample(10);
            Pairs pb = b.sample(10);
            Pairs pc = c.sample(10);
            assertThat(pa.first()).containsExactly(pb.first());
            assertThat(pa.second()).containsExactly(pb.second());
            assertThat(pa.same()).containsExactly(pb.same());
            differs |= !java.util.Arrays.equals(pa.first(), pc.first());
        }
        assertThat(differs).isTrue();
    }

    @Test
    void pairSamplerEdgeCases() {
        int[] singletons = {0, 1, 2};
        assertThatThrownBy(() -> new PairSampler(singletons, 0.5, new Rng(1)))
                .hasMessageContaining("at least 2 images");
        Pairs negativesOnly = new PairSampler(singletons, 0.0, new Rng(1)).sample(8);
        assertThat(negativesOnly.positives()).isZero();
        int[] oneIdentity = {4, 4, 4};
        assertThatThrownBy(() -> new PairSampler(oneIdentity, 0.5, new Rng(1)))
                .hasMessageContaining("at least 2 identities");
        Pairs positivesOnly = new PairSampler(oneIdentity, 1.0, new Rng(1)).sample(8);
        assertThat(positivesOnly.positives()).isEqualTo(8);
        assertThatThrownBy(() -> new PairSampler(LABELS, 1.5, new Rng(1))).hasMessageContaining("1.5");
        assertThatThrownBy(() -> new PairSampler(LABELS, 0.5, new Rng(1)).sample(0))
                .hasMessageContaining("got 0");
        assertThatThrownBy(() -> new PairSampler(new int[] {0, -1}, 0.5, new Rng(1)))
                .hasMessageContaining("label -1 of image 1");
    }

    // ---- triplets ----------------------------------------------------------------------------------------

    @Test
    void tripletsSatisfyTheirInvariants() {
        TripletSampler sampler = new TripletSampler(LABELS, new Rng(5));
        Set<Integer> anchors = new HashSet<>();
        Set<Integer> negatives = new HashSet<>();
        for (int batch = 0; batch < 300; batch++) {
            TripletIndices t = sampler.sample(13);
            assertThat(t.size()).isEqualTo(13);
            for (int i = 0; i < t.size(); i++) {
                int a = t.anchor()[i];
                int p = t.positive()[i];
                int n = t.negative()[i];
                assertThat(a).isNotEqualTo(p);
                assertThat(LABELS[a]).isEqualTo(LABELS[p]);
                assertThat(LABELS[n]).isNotEqualTo(LABELS[a]);
                anchors.add(LABELS[a]);
                negatives.add(LABELS[n]);
            }
        }
        assertThat(anchors).containsExactlyInAnyOrder(1, 2, 3, 5, 6);
        assertThat(negatives).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 8);
    }

    @Test
    void tripletSamplerIsReproducibleAndValidates() {
        TripletSampler a = new TripletSampler(LABELS, new Rng(8));
        TripletSampler b = new TripletSampler(LABELS, new Rng(8));
        for (int i = 0; i < 5; i++) {
            TripletIndices ta = a.sample(9);
            TripletIndices tb = b.sample(9);
            assertThat(ta.anchor()).containsExactly(tb.anchor());
            assertThat(ta.positive()).containsExactly(tb.positive());
            assertThat(ta.negative()).containsExactly(tb.negative());
        }
        assertThatThrownBy(() -> new TripletSampler(new int[] {0, 1, 2}, new Rng(1)))
                .hasMessageContaining("at least 2 images");
        assertThatThrownBy(() -> new TripletSampler(new int[] {3, 3, 3}, new Rng(1)))
                .hasMessageContaining("at least 2 identities");
    }

    // ---- P x K -------------------------------------------------------------------------------------------

    private static void assertPkBatch(IdentityBatch batch, int p, int k, boolean distinctImages) {
        assertThat(batch.size()).isEqualTo(p * k);
        Set<Integer> identities = new HashSet<>();
        for (int g = 0; g < p; g++) {
            int id = batch.labels()[g * k];
            assertThat(identities.add(id)).as("identity %d twice in a batch", id).isTrue();
            Set<Integer> images = new HashSet<>();
            for (int j = g * k; j < (g + 1) * k; j++) {
                assertThat(LABELS[batch.indices()[j]]).isEqualTo(id);
                assertThat(batch.labels()[j]).isEqualTo(id);
                images.add(batch.indices()[j]);
            }
            if (distinctImages) {
                assertThat(images).hasSize(k);
            } else {
                assertThat(images).hasSize(Math.min(k, count(LABELS, id)));
            }
        }
    }

    @Test
    void pkSkipUsesOnlyIdentitiesWithKImagesAndCoversEachEpoch() {
        // K = 3: identities 1 (3), 2 (5), 5 (4), 6 (6) qualify; P = 2 gives 2 batches per epoch.
        PKSampler sampler = new PKSampler(LABELS, 2, 3, PKSampler.Shortfall.SKIP, new Rng(11));
        assertThat(sampler.eligibleIdentities()).containsExactly(1, 2, 5, 6);
        assertThat(sampler.batchesPerEpoch()).isEqualTo(2);
        Set<List<Integer>> orders = new HashSet<>();
        for (int epoch = 0; epoch < 50; epoch++) {
            List<IdentityBatch> batches = sampler.nextEpoch();
            assertThat(batches).hasSize(2);
            List<Integer> seen = new java.util.ArrayList<>();
            for (IdentityBatch batch : batches) {
                assertPkBatch(batch, 2, 3, true);
                seen.add(batch.labels()[0]);
                seen.add(batch.labels()[3]);
            }
            // One epoch is one pass over the eligible identities: each exactly once.
            assertThat(seen).containsExactlyInAnyOrder(1, 2, 5, 6);
            orders.add(seen);
        }
        assertThat(orders).as("shuffled anew every epoch").hasSizeGreaterThan(5);
    }

    @Test
    void pkNextBatchContinuesAcrossEpochs() {
        // 4 eligible identities, P = 3: one batch per epoch, one identity sits each epoch out.
        PKSampler sampler = new PKSampler(LABELS, 3, 3, PKSampler.Shortfall.SKIP, new Rng(2));
        assertThat(sampler.batchesPerEpoch()).isEqualTo(1);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 40; i++) {
            IdentityBatch batch = sampler.nextBatch();
            assertPkBatch(batch, 3, 3, true);
            for (int label : batch.labels()) {
                seen.add(label);
            }
        }
        assertThat(seen).containsExactlyInAnyOrder(1, 2, 5, 6);
    }

    @Test
    void pkRepeatFillsShortIdentitiesWithReplacement() {
        // K = 4: identities 1 (3 images) and 3 (2) are short; singletons 0, 4, 8 are still excluded.
        assertThatThrownBy(() -> new PKSampler(LABELS, 6, 4, PKSampler.Shortfall.REPEAT, new Rng(4)))
                .hasMessageContaining("P=6").hasMessageContaining("only 5 identities have at least 2 images");
        PKSampler five = new PKSampler(LABELS, 5, 4, PKSampler.Shortfall.REPEAT, new Rng(4));
        assertThat(five.eligibleIdentities()).containsExactly(1, 2, 3, 5, 6);
        for (int i = 0; i < 30; i++) {
            // Every image of a short identity appears, plus repeats; long identities get K distinct images.
            assertPkBatch(five.nextBatch(), 5, 4, false);
        }
    }

    @Test
    void pkIsReproducibleAndValidates() {
        PKSampler a = new PKSampler(LABELS, 2, 2, PKSampler.Shortfall.SKIP, new Rng(21));
        PKSampler b = new PKSampler(LABELS, 2, 2, PKSampler.Shortfall.SKIP, new Rng(21));
        for (int i = 0; i < 10; i++) {
            IdentityBatch ba = a.nextBatch();
            IdentityBatch bb = b.nextBatch();
            assertThat(ba.indices()).containsExactly(bb.indices());
            assertThat(ba.labels()).containsExactly(bb.labels());
        }
        assertThatThrownBy(() -> new PKSampler(LABELS, 5, 4, PKSampler.Shortfall.SKIP, new Rng(1)))
                .hasMessageContaining("P=5").hasMessageContaining("only 3 identities have at least K=4");
        assertThatThrownBy(() -> new PKSampler(LABELS, 0, 4, PKSampler.Shortfall.SKIP, new Rng(1)))
                .hasMessageContaining("P=0");
    }

    @Test
    void samplersAcceptDatasets() {
        ImageDataset ds = SplitsTest.dataset();
        assertThat(new PairSampler(ds, 0.5, new Rng(1)).sample(4).size()).isEqualTo(4);
        assertThat(new TripletSampler(ds, new Rng(1)).sample(4).size()).isEqualTo(4);
        IdentityBatch batch = new PKSampler(ds, 3, 2, PKSampler.Shortfall.SKIP, new Rng(1)).nextBatch();
        assertThat(ds.labelsOf(batch.indices())).containsExactly(batch.labels());
    }
}
