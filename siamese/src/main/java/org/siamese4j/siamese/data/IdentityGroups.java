package org.siamese4j.siamese.data;

import java.util.ArrayList;
import java.util.List;

/** Image indices grouped by label, shared by the samplers. Labels are checked once here. */
final class IdentityGroups {
    /** {@code byIdentity[id]} = indices of the images with label {@code id}, ascending. */
    final int[][] byIdentity;

    IdentityGroups(int[] labels, String owner) {
        int max = -1;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0) {
                throw new IllegalArgumentException(owner + ": label " + labels[i] + " of image " + i
                        + " is negative");
            }
            max = Math.max(max, labels[i]);
        }
        int[] counts = new int[max + 1];
        for (int label : labels) {
            counts[label]++;
        }
        byIdentity = new int[max + 1][];
        for (int id = 0; id <= max; id++) {
            byIdentity[id] = new int[counts[id]];
        }
        int[] filled = new int[max + 1];
        for (int i = 0; i < labels.length; i++) {
            byIdentity[labels[i]][filled[labels[i]]++] = i;
        }
    }

    /** The identities with at least {@code min} images, ascending. */
    int[] withAtLeast(int min) {
        List<Integer> ids = new ArrayList<>();
        for (int id = 0; id < byIdentity.length; id++) {
            if (byIdentity[id].length >= min) {
                ids.add(id);
            }
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }
}
