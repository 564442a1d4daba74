package org.siamese4j.siamese.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class TripletsTest {

    @Test
    void holdsParallelArraysAndReportsSize() {
        Triplets t = new Triplets(new int[] {0, 1}, new int[] {2, 3}, new int[] {4, 5});
        assertThat(t.size()).isEqualTo(2);
        assertThat(t.isEmpty()).isFalse();
        assertThat(t.anchor(1)).isEqualTo(1);
        assertThat(t.positive(1)).isEqualTo(3);
        assertThat(t.negative(0)).isEqualTo(4);
        assertThat(Triplets.empty().size()).isZero();
        assertThat(Triplets.empty().isEmpty()).isTrue();
    }

    @Test
    void ownsItsArrays() {
        int[] a = {0, 1};
        Triplets t = new Triplets(a, new int[] {2, 3}, new int[] {4, 5});
        a[0] = 9;
        t.anchors()[1] = 9;
        assertThat(t.anchors()).containsExactly(0, 1);
    }

    @Test
    void equalityComparesContents() {
        Triplets t = new Triplets(new int[] {0}, new int[] {1}, new int[] {2});
        assertThat(t).isEqualTo(new Triplets(new int[] {0}, new int[] {1}, new int[] {2}));
        assertThat(t).hasSameHashCodeAs(new Triplets(new int[] {0}, new int[] {1}, new int[] {2}));
        assertThat(t).isNotEqualTo(new Triplets(new int[] {0}, new int[] {1}, new int[] {3}));
        assertThat(t.toString()).isEqualTo("Triplets[1: (0, 1, 2)]");
    }

    @Test
    void concatKeepsOrder() {
        Triplets a = new Triplets(new int[] {0}, new int[] {1}, new int[] {2});
        Triplets b = new Triplets(new int[] {3, 4}, new int[] {5, 6}, new int[] {7, 8});
        Triplets c = Triplets.concat(List.of(a, Triplets.empty(), b));
        assertThat(c.anchors()).containsExactly(0, 3, 4);
        assertThat(c.positives()).containsExactly(1, 5, 6);
        assertThat(c.negatives()).containsExactly(2, 7, 8);
    }

    @Test
    void rejectsMismatchedLengthsNullsAndNegativeIndices() {
        assertThatThrownBy(() -> new Triplets(new int[] {0, 1}, new int[] {2}, new int[] {3, 4}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("same length").hasMessageContaining("2 anchors")
                .hasMessageContaining("1 positives").hasMessageContaining("2 negatives");
        assertThatThrownBy(() -> new Triplets(null, new int[0], new int[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
        assertThatThrownBy(() -> new Triplets(new int[] {0, 1}, new int[] {2, -1}, new int[] {3, 4}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("triplet 1").hasMessageContaining("(1, -1, 4)");
        Triplets t = new Triplets(new int[] {0}, new int[] {1}, new int[] {2});
        assertThatThrownBy(() -> t.anchor(1)).isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("index 1");
    }

    @Test
    void requireValidForNamesTheBrokenTriplet() {
        int[] labels = {0, 0, 1, 1};
        new Triplets(new int[] {0, 3}, new int[] {1, 2}, new int[] {2, 0}).requireValidFor(labels);
        assertThatThrownBy(() -> new Triplets(new int[] {0}, new int[] {0}, new int[] {2}).requireValidFor(labels))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("anchor as its positive");
        assertThatThrownBy(() -> new Triplets(new int[] {0}, new int[] {2}, new int[] {3}).requireValidFor(labels))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("positive of label 1");
        assertThatThrownBy(() -> new Triplets(new int[] {0}, new int[] {1}, new int[] {1}).requireValidFor(labels))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("negative of the anchor's label");
        assertThatThrownBy(() -> new Triplets(new int[] {0}, new int[] {1}, new int[] {4}).requireValidFor(labels))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside [0, 4)");
    }
}
