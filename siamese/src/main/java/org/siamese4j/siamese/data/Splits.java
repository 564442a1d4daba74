package org.siamese4j.siamese.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.siamese4j.tensor.Rng;

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
        boolean[] isTest = new boolean[dataset.identityCount()];
        Set<String> missing = new HashSet<>(testNames);
        for (int id = 0; id < dataset.identityCount(); id++) {
            if (testNames.contains(dataset.identityNames().get(id))) {
                if (dataset.countOf(id) == 0) {
                    throw new IllegalArgumentException("Splits.byIdentityNames: identity '"
                            + dataset.identityNames().get(id) + "' has no images");
                }
                isTest[id] = true;
                missing.remove(dataset.identityNames().get(id));
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("Splits.byIdentityNames: no identity named " + missing.stream()
                    .sorted().toList());
        }
        if (testNames.isEmpty() || testNames.size() >= dataset.identitiesWithAtLeast(1).length) {
            throw new IllegalArgumentException("Splits.byIdentityNames: need between 1 and (identities - 1) test"
                    + " names, got " + testNames.size() + " of " + dataset.identitiesWithAtLeast(1).length);
        }
        return split(dataset, isTest);
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
        return new Split(side(dataset, train), side(dataset, test), train, test);
    }

    /** The images of {@code identities} (ascending), relabelled 0..k-1. */
    private static ImageDataset side(ImageDataset dataset, int[] identities) {
        int[] newLabel = new int[dataset.identityCount()];
        Arrays.fill(newLabel, -1);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < identities.length; i++) {
            newLabel[identities[i]] = i;
            names.add(dataset.identityNames().get(identities[i]));
        }
        List<Integer> picked = new ArrayList<>();
        for (int i = 0; i < dataset.size(); i++) {
            if (newLabel[dataset.label(i)] >= 0) {
                picked.add(i);
            }
        }
        int[] indices = picked.stream().mapToInt(Integer::intValue).toArray();
        int[] labels = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            labels[i] = newLabel[dataset.label(indices[i])];
        }
        return new ImageDataset(dataset.batch(indices), labels, names);
    }
}
