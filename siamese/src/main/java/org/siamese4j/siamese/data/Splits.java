package org.siamese4j.siamese.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Train/test splits that share no identity, as face verification needs: the test measures how the embedding
 * separates people the model never saw.
 *
 * <p>Only identities with at least one image take part. Each side is a new {@link ImageDataset} whose identities
 * are renumbered 0..k-1 in their original order, keeping their names (names are what identify a person across
 * splits); images keep their original relative order. The same dataset, arguments and Rng seed always give the
 * same split.
 */
public final class Splits {
    private Splits() {
    }

    /**
     * The two sides of a split.
     *
     * @param trainIdentities identity indices of the source dataset that went to {@code train}, ascending
     * @param testIdentities  identity indices of the source dataset that went to {@code test}, ascending
     */
    public record Split(ImageDataset train, ImageDataset test, int[] trainIdentities, int[] testIdentities) {
    }

    /**
     * Holds out {@code round(testFraction * identities)} random identities for test, clamped to at least one
     * identity on each side.
     */
    public static Split byIdentity(ImageDataset dataset, double testFraction, Rng rng) {
        if (!(testFraction > 0 && testFraction < 1)) {
            throw new IllegalArgumentException("Splits.byIdentity: testFraction must be in (0, 1), got "
                    + testFraction);
        }
        int n = dataset.identitiesWithAtLeast(1).length;
        if (n < 2) {
            throw new IllegalArgumentException("Splits.byIdentity: need at least 2 identities with images, got " + n);
        }
        int testCount = (int) Math.max(1, Math.min(n - 1, Math.round(testFraction * n)));
        return byIdentity(dataset, testCount, rng);
    }

    /** Holds out {@code testIdentityCount} random identities (of those with images) for test. */
    public static Split byIdentity(ImageDataset dataset, int testIdentityCount, Rng rng) {
        int[] present = dataset.identitiesWithAtLeast(1);
        if (testIdentityCount < 1 || testIdentityCount >= present.length) {
            throw new IllegalArgumentException("Splits.byIdentity: testIdentityCount must be in 1.."
                    + (present.length - 1) + " (" + present.length + " identities with images), got "
                    + testIdentityCount);
        }
        int[] order = present.clone();
        rng.shuffle(order);
        boolean[] isTest = new boolean[dataset.identityCount()];
        for (int i = 0; i < testIdentityCount; i++) {
            isTest[order[i]] = true;
        }
        return split(dataset, isTest);
    }

    /**
     * Holds out the identities named in {@code testNames} (e.g. the reference AT&amp;T split: s5, s6, s7). Every
     * name must exist and have images, and at least one identity must stay in train.
     */
    public static Split byIdentityNames(ImageDataset dataset, Set<String> testNames) {
        return split(dataset, named("Splits.byIdentityNames", dataset, testNames));
    }

    /**
     * {@code images} without the people named in {@code names}: the train side of {@link #byIdentityNames}, the
     * same images with the same labels and names, but a view of {@code images} that reads nothing until a batch
     * is asked for (for a set too big to hold as pixels). Every name must exist, and one person must stay.
     */
    public static LabelledImages withoutIdentities(LabelledImages images, Set<String> names) {
        boolean[] left = named("Splits.withoutIdentities", images, names);
        int[] counts = counts(images);
        List<Integer> kept = new ArrayList<>();
        for (int id = 0; id < counts.length; id++) {
            if (counts[id] > 0 && !left[id]) {
                kept.add(id);
            }
        }
        Side side = side(images, kept.stream().mapToInt(Integer::intValue).toArray());
        return new View(images, side.indices(), side.labels(), side.names());
    }

    /** Which identities {@code names} names, refused when one is missing or they would leave no identity. */
    private static boolean[] named(String op, LabelledImages images, Set<String> names) {
        int[] counts = counts(images);
        boolean[] isNamed = new boolean[images.identityCount()];
        Set<String> missing = new HashSet<>(names);
        int withImages = 0;
        for (int id = 0; id < images.identityCount(); id++) {
            withImages += counts[id] > 0 ? 1 : 0;
            if (names.contains(images.identityNames().get(id))) {
                if (counts[id] == 0) {
                    throw new IllegalArgumentException(op + ": identity '" + images.identityNames().get(id)
                            + "' has no images");
                }
                isNamed[id] = true;
                missing.remove(images.identityNames().get(id));
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(op + ": no identity named " + missing.stream().sorted().toList());
        }
        if (names.isEmpty() || names.size() >= withImages) {
            throw new IllegalArgumentException(op + ": need between 1 and (identities - 1) names, got "
                    + names.size() + " of " + withImages + " identities with images");
        }
        return isNamed;
    }

    private static int[] counts(LabelledImages images) {
        int[] counts = new int[images.identityCount()];
        for (int label : images.labels()) {
            counts[label]++;
        }
        return counts;
    }

    private static Split split(ImageDataset dataset, boolean[] isTest) {
        List<Integer> trainIds = new ArrayList<>();
        List<Integer> testIds = new ArrayList<>();
        for (int id = 0; id < dataset.identityCount(); id++) {
            if (dataset.countOf(id) > 0) {
                (isTest[id] ? testIds : trainIds).add(id);
            }
        }
        int[] train = trainIds.stream().mapToInt(Integer::intValue).toArray();
        int[] test = testIds.stream().mapToInt(Integer::intValue).toArray();
        return new Split(materialise(dataset, train), materialise(dataset, test), train, test);
    }

    /** The images of {@code identities} (ascending), relabelled 0..k-1, in memory. */
    private static ImageDataset materialise(ImageDataset dataset, int[] identities) {
        Side side = side(dataset, identities);
        return new ImageDataset(dataset.batch(side.indices()), side.labels(), side.names());
    }

    /**
     * One side of a split: the images of the source that belong to it, in their order, their labels 0..k-1, and
     * the names of those k identities.
     */
    private record Side(int[] indices, int[] labels, List<String> names) {
    }

    /** The side of {@code identities} (ascending): their images relabelled 0..k-1 in that order. */
    private static Side side(LabelledImages images, int[] identities) {
        int[] newLabel = new int[images.identityCount()];
        Arrays.fill(newLabel, -1);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < identities.length; i++) {
            newLabel[identities[i]] = i;
            names.add(images.identityNames().get(identities[i]));
        }
        int[] labelOf = images.labels();
        List<Integer> picked = new ArrayList<>();
        for (int i = 0; i < labelOf.length; i++) {
            if (newLabel[labelOf[i]] >= 0) {
                picked.add(i);
            }
        }
        int[] indices = picked.stream().mapToInt(Integer::intValue).toArray();
        int[] labels = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            labels[i] = newLabel[labelOf[indices[i]]];
        }
        return new Side(indices, labels, List.copyOf(names));
    }

    /** The images of a {@link Side} of {@code source}, read from it when a batch asks for them. */
    private record View(LabelledImages source, int[] indices, int[] labelOf, List<String> identityNames)
            implements LabelledImages {
        @Override
        public int size() {
            return indices.length;
        }

        @Override
        public int[] labels() {
            return labelOf.clone();
        }

        @Override
        public int channels() {
            return source.channels();
        }

        @Override
        public int height() {
            return source.height();
        }

        @Override
        public int width() {
            return source.width();
        }

        @Override
        public Tensor batch(int... picked) throws IOException {
            int[] inSource = new int[picked.length];
            for (int i = 0; i < picked.length; i++) {
                inSource[i] = indices[picked[i]];
            }
            return source.batch(inSource);
        }

        @Override
        public String toString() {
            return LabelledImages.describe(this);
        }
    }
}
