package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class SplitsTest {

    /**
     * 12 identities "p0".."p11" with 1..4 images each, plus "empty" (identity 12) with none; each image's single
     * pixel holds its index in the dataset, so a split image can be traced back.
     */
    static ImageDataset dataset() {
        List<Integer> labels = new ArrayList<>();
        for (int round = 0; round < 4; round++) {
            for (int id = 0; id < 12; id++) {
                if (round < 1 + id % 4) {
                    labels.add(id);
                }
            }
        }
        int n = labels.size();
        float[] px = new float[n];
        for (int i = 0; i < n; i++) {
            px[i] = i;
        }
        List<String> names = new ArrayList<>();
        for (int id = 0; id < 12; id++) {
            names.add("p" + id);
        }
        names.add("empty");
        return new ImageDataset(Tensor.wrap(px, n, 1, 1, 1), labels.stream().mapToInt(Integer::intValue).toArray(),
                names);
    }

    private static void assertValidSplit(ImageDataset source, Splits.Split split) {
        Set<String> trainNames = new HashSet<>(split.train().identityNames());
        Set<String> testNames = new HashSet<>(split.test().identityNames());
        assertThat(trainNames).doesNotContainAnyElementsOf(testNames);
        Set<String> all = new HashSet<>(trainNames);
        all.addAll(testNames);
        assertThat(all).hasSize(12).doesNotContain("empty");
        // Every source image lands on exactly one side, under its own identity's name.
        Set<Integer> seen = new HashSet<>();
        for (ImageDataset side : List.of(split.train(), split.test())) {
            for (int i = 0; i < side.size(); i++) {
                int original = (int) side.images().get(i, 0, 0, 0);
                assertThat(seen.add(original)).isTrue();
                assertThat(side.identityNames().get(side.label(i)))
                        .isEqualTo(source.identityNames().get(source.label(original)));
            }
            // Relabelled densely: every identity of a side has images.
            assertThat(side.identitiesWithAtLeast(1)).hasSize(side.identityCount());
        }
        assertThat(seen).hasSize(source.size());
        for (int id : split.testIdentities()) {
            assertThat(testNames).contains(source.identityNames().get(id));
        }
        for (int id : split.trainIdentities()) {
            assertThat(trainNames).contains(source.identityNames().get(id));
        }
    }

    @Test
    void byFractionIsDisjointCompleteAndSized() {
        ImageDataset ds = dataset();
        Splits.Split split = Splits.byIdentity(ds, 0.25, new Rng(7));
        assertValidSplit(ds, split);
        assertThat(split.test().identityCount()).isEqualTo(3);
        assertThat(split.train().identityCount()).isEqualTo(9);
        // Images keep their original relative order.
        float[] trainPx = split.train().images().toArray();
        for (int i = 1; i < trainPx.length; i++) {
            assertThat(trainPx[i]).isGreaterThan(trainPx[i - 1]);
        }
    }

    @Test
    void byCountManySeedsAlwaysDisjoint() {
        ImageDataset ds = dataset();
        for (int seed = 0; seed < 50; seed++) {
            Splits.Split split = Splits.byIdentity(ds, 1 + seed % 11, new Rng(seed));
            assertValidSplit(ds, split);
            assertThat(split.testIdentities()).hasSize(1 + seed % 11);
        }
    }

    @Test
    void reproducibleBySeed() {
        ImageDataset ds = dataset();
        Splits.Split a = Splits.byIdentity(ds, 4, new Rng(42));
        Splits.Split b = Splits.byIdentity(ds, 4, new Rng(42));
        assertThat(a.testIdentities()).containsExactly(b.testIdentities());
        assertThat(a.test().images().toArray()).containsExactly(b.test().images().toArray());
        assertThat(a.train().labels()).containsExactly(b.train().labels());
        Set<List<String>> distinct = new HashSet<>();
        for (int seed = 0; seed < 10; seed++) {
            distinct.add(Splits.byIdentity(ds, 4, new Rng(seed)).test().identityNames());
        }
        assertThat(distinct).hasSizeGreaterThan(5);
    }

    @Test
    void fractionRoundsAndKeepsOneIdentityPerSide() {
        ImageDataset ds = dataset();
        assertThat(Splits.byIdentity(ds, 0.01, new Rng(1)).testIdentities()).hasSize(1);
        assertThat(Splits.byIdentity(ds, 0.99, new Rng(1)).testIdentities()).hasSize(11);
        assertThat(Splits.byIdentity(ds, 0.5, new Rng(1)).testIdentities()).hasSize(6);
    }

    @Test
    void byNamesReproducesAFixedSplit() {
        ImageDataset ds = dataset();
        Splits.Split split = Splits.byIdentityNames(ds, Set.of("p5", "p6", "p7"));
        assertValidSplit(ds, split);
        assertThat(split.test().identityNames()).containsExactly("p5", "p6", "p7");
        assertThat(split.testIdentities()).containsExactly(5, 6, 7);
        assertThatThrownBy(() -> Splits.byIdentityNames(ds, Set.of("p5", "nobody")))
                .hasMessageContaining("no identity named [nobody]");
        assertThatThrownBy(() -> Splits.byIdentityNames(ds, Set.of("empty"))).hasMessageContaining("no images");
    }

    @Test
    void withoutIdentitiesIsTheTrainSideOfByNamesAsAView() throws java.io.IOException {
        ImageDataset ds = dataset();
        ImageDataset train = Splits.byIdentityNames(ds, Set.of("p1", "p6", "p7")).train();
        LabelledImages view = Splits.withoutIdentities(ds, Set.of("p1", "p6", "p7"));
        assertThat(view.identityNames()).isEqualTo(train.identityNames());
        assertThat(view.labels()).containsExactly(train.labels());
        assertThat(view.size()).isEqualTo(train.size());
        assertThat(view.batch(LabelledImages.indices(0, view.size())).toArray()).containsExactly(train.images().toArray());
        // a batch in any order reads the images of the source it stands for (the pixel is the source index)
        assertThat(view.batch(3, 0).toArray()).containsExactly(train.images().get(3, 0, 0, 0),
                train.images().get(0, 0, 0, 0));
        assertThatThrownBy(() -> Splits.withoutIdentities(ds, Set.of("nobody")))
                .hasMessageContaining("Splits.withoutIdentities: no identity named [nobody]");
        Set<String> all = new HashSet<>(ds.identityNames().subList(0, 12));
        assertThatThrownBy(() -> Splits.withoutIdentities(ds, all)).hasMessageContaining("12 of 12 identities");
    }

    @Test
    void rejectsBadArguments() {
        ImageDataset ds = dataset();
        assertThatThrownBy(() -> Splits.byIdentity(ds, 0.0, new Rng(1))).hasMessageContaining("testFraction")
                .hasMessageContaining("0.0");
        assertThatThrownBy(() -> Splits.byIdentity(ds, 1.0, new Rng(1))).hasMessageContaining("(0, 1)");
        assertThatThrownBy(() -> Splits.byIdentity(ds, 12, new Rng(1))).hasMessageContaining("1..11")
                .hasMessageContaining("got 12");
        assertThatThrownBy(() -> Splits.byIdentity(ds, 0, new Rng(1))).hasMessageContaining("got 0");
    }

    @Test
    void attFacesSplitIsDisjoint() throws java.io.IOException {
        ImageDataset att = FaceFolders.load(SharedDataDir.require("att_faces"),
                FaceFolders.Options.resizeTo(28, 23));
        Splits.Split split = Splits.byIdentity(att, 0.2, new Rng(3));
        assertThat(split.test().identityCount()).isEqualTo(8);
        assertThat(split.train().size() + split.test().size()).isEqualTo(400);
        assertThat(split.train().identityNames()).doesNotContainAnyElementsOf(split.test().identityNames());
    }

    /** The two sides of a split, united again: every image once, under its own person's name. */
    @Test
    void aUnionOfTheTwoSidesOfASplitHasEveryImageUnderItsPersonsName() {
        ImageDataset ds = dataset();
        Splits.Split split = Splits.byIdentity(ds, 4, new Rng(3));
        ImageDataset union = ImageDataset.union(split.train(), split.test());

        assertThat(union.identityNames()).containsExactlyElementsOf(concat(split.train().identityNames(),
                split.test().identityNames()));
        assertThat(union.size()).isEqualTo(split.train().size() + split.test().size()).isEqualTo(ds.size());
        for (int i = 0; i < union.size(); i++) {
            int original = (int) union.images().data()[i];       // each pixel holds the image's original index
            assertThat(union.identityNames().get(union.label(i))).as("image %d", i)
                    .isEqualTo(ds.identityNames().get(ds.label(original)));
        }
        assertThatThrownBy(() -> ImageDataset.union(split.train(), split.train()))
                .hasMessageContaining("the datasets share people [p");
        ImageDataset wide = new ImageDataset(Tensor.wrap(new float[2], 1, 1, 1, 2), new int[] {0}, List.of("w"));
        assertThatThrownBy(() -> ImageDataset.union(split.train(), wide))
                .hasMessageContaining("images of 1x1x1 and of 1x1x2 do not go together");
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
