package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.junit.jupiter.api.Test;

class MovementOpsTest {

    /** 0, 1, 2, ... in the given shape. */
    private static Tensor iota(int... shape) {
        return Tensor.arange(Shapes.size(shape)).reshape(shape).copy();
    }

    // ---------------------------------------------------------------------------- transpose and permute

    @Test
    void transposeOfMatrix() {
        Tensor x = Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}});
        Tensor t = x.t();
        assertThat(t.shape()).containsExactly(3, 2);
        assertThat(t.toArray()).containsExactly(1, 4, 2, 5, 3, 6);
        assertThat(x.transpose(-1, 0).toArray()).containsExactly(1, 4, 2, 5, 3, 6);
    }

    @Test
    void transposeOfThreeDimensionsCopiesIntoContiguousStorage() {
        Tensor x = iota(2, 3, 4);
        Tensor t = x.transpose(0, 2);
        assertThat(t.shape()).containsExactly(4, 3, 2);
        assertThat(t.data()).isNotSameAs(x.data());
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 4; k++) {
                    assertThat(t.get(k, j, i)).isEqualTo(x.get(i, j, k));
                }
            }
        }
    }

    @Test
    void permuteMovesEveryDimension() {
        Tensor x = iota(2, 3, 4);
        Tensor p = x.permute(2, 0, 1);
        assertThat(p.shape()).containsExactly(4, 2, 3);
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 4; k++) {
                    assertThat(p.get(k, i, j)).isEqualTo(x.get(i, j, k));
                }
            }
        }
        // negative entries count from the end
        assertThat(x.permute(-1, 0, 1).toArray()).containsExactly(p.toArray());
        // permuting back restores the tensor
        assertThat(p.permute(1, 2, 0).toArray()).containsExactly(x.toArray());
    }

    @Test
    void transposeAndPermuteGradients() {
        assertGradientsMatch(in -> in[0].t(), input(1, 3, 5));
        assertGradientsMatch(in -> in[0].transpose(0, 2), input(2, 2, 3, 5));
        assertGradientsMatch(in -> in[0].permute(2, 0, 1), input(3, 2, 3, 5));
        assertGradientsMatch(in -> in[0].permute(1, 2, 0).mul(in[1]), input(4, 2, 3, 5), input(5, 3, 5, 2));
    }

    @Test
    void permuteRejectsNonPermutations() {
        assertThatThrownBy(() -> iota(2, 3, 4).permute(0, 0, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("permute").hasMessageContaining("[0, 0, 1]")
                .hasMessageContaining("[2, 3, 4]");
        assertThatThrownBy(() -> iota(2, 3, 4).permute(0, 3, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[0, 3, 1]").hasMessageContaining("out of range");
        assertThatThrownBy(() -> iota(2, 3, 4).permute(1, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[1, 0]").hasMessageContaining("rank 3");
        assertThatThrownBy(() -> iota(2, 3).transpose(0, 2))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("transpose").hasMessageContaining("dimension 2");
    }

    // ---------------------------------------------------------------------------- slice

    @Test
    void sliceCopiesRows() {
        Tensor x = iota(4, 3);
        Tensor s = x.slice(1, 3);
        assertThat(s.shape()).containsExactly(2, 3);
        assertThat(s.toArray()).containsExactly(3, 4, 5, 6, 7, 8);
        x.set(100f, 1, 0);
        assertThat(s.get(0, 0)).isEqualTo(3f);
        assertThat(x.slice(2, 2).shape()).containsExactly(0, 3);
    }

    @Test
    void sliceGradientLandsInTheSlicedRows() {
        Tensor x = input(1, 5, 3);
        x.slice(1, 4).sum().backward();
        assertThat(x.grad().toArray()).containsExactly(0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0);
        assertGradientsMatch(in -> in[0].slice(1, 4), input(2, 5, 3));
        assertGradientsMatch(in -> in[0].slice(0, 1), input(3, 3, 2, 5));
    }

    @Test
    void sliceRejectsBadRanges() {
        assertThatThrownBy(() -> iota(4, 3).slice(3, 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("start=3").hasMessageContaining("end=1").hasMessageContaining("size 4");
        assertThatThrownBy(() -> iota(4, 3).slice(2, 5))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("end=5").hasMessageContaining("size 4");
        assertThatThrownBy(() -> iota(4, 3).slice(-1, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("start=-1");
    }

    // ---------------------------------------------------------------------------- indexSelect and gather

    @Test
    void indexSelectPicksInOrderWithRepeats() {
        Tensor x = iota(3, 2);
        assertThat(x.indexSelect(0, 2, 0, 2).toArray()).containsExactly(4, 5, 0, 1, 4, 5);
        Tensor y = iota(2, 3);
        Tensor cols = y.indexSelect(1, 1, 1, 0, 2);
        assertThat(cols.shape()).containsExactly(2, 4);
        assertThat(cols.toArray()).containsExactly(1, 1, 0, 2, 4, 4, 3, 5);
        assertThat(iota(2, 3, 2).indexSelect(-2, 2).toArray()).containsExactly(4, 5, 10, 11);
    }

    @Test
    void indexSelectGradientAccumulatesRepeatedIndices() {
        Tensor x = input(1, 3, 2);
        x.indexSelect(0, 2, 0, 2).sum().backward();
        assertThat(x.grad().toArray()).containsExactly(1, 1, 0, 0, 2, 2);
        assertGradientsMatch(in -> in[0].indexSelect(0, 2, 0, 2, 2), input(2, 3, 5));
        assertGradientsMatch(in -> in[0].indexSelect(1, 1, 1, 0), input(3, 2, 3, 5));
        assertGradientsMatch(in -> in[0].indexSelect(2, 4, 0, 4), input(4, 2, 3, 5));
    }

    @Test
    void indexSelectNamesTheBadIndexAndItsPosition() {
        assertThatThrownBy(() -> iota(3, 2).indexSelect(0, 0, 3, 1))
                .isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("index 3 at position 1").hasMessageContaining("size 3");
        assertThatThrownBy(() -> iota(3, 2).indexSelect(1, -1))
                .isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("index -1 at position 0");
    }

    @Test
    void gatherAlongRowsAndColumnsLikeTorch() {
        Tensor x = Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}});
        // torch.gather(x, 1, [[2, 0], [1, 1]]) = [[3, 1], [5, 5]]
        Tensor byCol = x.gather(1, new int[] {2, 0, 1, 1}, new int[] {2, 2});
        assertThat(byCol.shape()).containsExactly(2, 2);
        assertThat(byCol.toArray()).containsExactly(3, 1, 5, 5);
        // torch.gather(x, 0, [[1, 0, 1]]) = [[4, 2, 6]]
        assertThat(x.gather(0, new int[] {1, 0, 1}, new int[] {1, 3}).toArray()).containsExactly(4, 2, 6);
    }

    @Test
    void gatherMatchesItsDefinitionInThreeDimensions() {
        Tensor x = iota(2, 4, 3);
        int[] indexShape = {2, 5, 2};
        int[] index = new int[20];
        Rng rng = new Rng(9);
        for (int p = 0; p < index.length; p++) {
            index[p] = rng.nextInt(4);
        }
        Tensor out = x.gather(1, index, indexShape);
        assertThat(out.shape()).containsExactly(2, 5, 2);
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 5; j++) {
                for (int k = 0; k < 2; k++) {
                    int idx = index[(i * 5 + j) * 2 + k];
                    assertThat(out.get(i, j, k)).isEqualTo(x.get(i, idx, k));
                }
            }
        }
    }

    @Test
    void gatherGradients() {
        int[] index = new int[2 * 4 * 3];
        Rng rng = new Rng(4);
        for (int p = 0; p < index.length; p++) {
            index[p] = rng.nextInt(5);
        }
        assertGradientsMatch(in -> in[0].gather(1, index, new int[] {2, 4, 3}), input(1, 2, 5, 3));
        assertGradientsMatch(in -> in[0].gather(0, new int[] {2, 0, 2, 1, 1, 2}, new int[] {2, 3}),
                input(2, 3, 5));
        assertGradientsMatch(in -> in[0].gather(-1, new int[] {4, 4, 0, 3, 1, 1}, new int[] {3, 2}),
                input(3, 3, 5));
        // a repeated index sends its gradient twice
        Tensor x = Tensor.of(1f, 2f, 3f).requiresGrad(true);
        x.gather(0, new int[] {2, 2, 0}, new int[] {3}).sum().backward();
        assertThat(x.grad().toArray()).containsExactly(1, 0, 2);
    }

    @Test
    void gatherErrors() {
        Tensor x = iota(2, 3);
        assertThatThrownBy(() -> x.gather(1, new int[] {0, 3}, new int[] {2, 1}))
                .isInstanceOf(IndexOutOfBoundsException.class)
                .hasMessageContaining("value 3").hasMessageContaining("[1, 0]").hasMessageContaining("size 3");
        assertThatThrownBy(() -> x.gather(1, new int[] {0, 1}, new int[] {2}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[2]").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> x.gather(1, new int[] {0, 1, 2}, new int[] {2, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3 values");
        assertThatThrownBy(() -> x.gather(1, new int[] {0, 1, 2}, new int[] {3, 1}))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[3, 1]").hasMessageContaining("dimension 0");
    }

    // ---------------------------------------------------------------------------- concat and stack

    @Test
    void concatAlongOuterAndInnerDimensions() {
        Tensor a = iota(2, 2);
        Tensor b = iota(1, 2).add(10f);
        assertThat(Tensor.concat(0, a, b).toArray()).containsExactly(0, 1, 2, 3, 10, 11);
        Tensor c = iota(2, 3).add(20f);
        Tensor joined = Tensor.concat(1, a, c);
        assertThat(joined.shape()).containsExactly(2, 5);
        assertThat(joined.toArray()).containsExactly(0, 1, 20, 21, 22, 2, 3, 23, 24, 25);
        assertThat(Tensor.concat(-1, a, c).toArray()).containsExactly(joined.toArray());
    }

    @Test
    void stackAddsANewDimension() {
        Tensor a = Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}});
        Tensor b = a.add(10f);
        Tensor s0 = Tensor.stack(0, a, b);
        assertThat(s0.shape()).containsExactly(2, 2, 3);
        assertThat(s0.toArray()).containsExactly(1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16);
        Tensor s1 = Tensor.stack(1, a, b);
        assertThat(s1.shape()).containsExactly(2, 2, 3);
        assertThat(s1.toArray()).containsExactly(1, 2, 3, 11, 12, 13, 4, 5, 6, 14, 15, 16);
        Tensor s2 = Tensor.stack(-1, a, b);
        assertThat(s2.shape()).containsExactly(2, 3, 2);
        assertThat(s2.toArray()).containsExactly(1, 11, 2, 12, 3, 13, 4, 14, 5, 15, 6, 16);
        assertThat(Tensor.stack(0, Tensor.scalar(1f), Tensor.scalar(2f)).toArray()).containsExactly(1, 2);
    }

    @Test
    void concatAndStackGradients() {
        assertGradientsMatch(in -> Tensor.concat(0, in[0], in[1]), input(1, 2, 5), input(2, 3, 5));
        assertGradientsMatch(in -> Tensor.concat(1, in[0], in[1], in[2]),
                input(3, 2, 1, 5), input(4, 2, 3, 5), input(5, 2, 2, 5));
        assertGradientsMatch(in -> Tensor.concat(2, in[0], in[1]), input(6, 2, 3, 5), input(7, 2, 3, 1));
        assertGradientsMatch(in -> Tensor.stack(1, in[0], in[1], in[2]),
                input(8, 3, 5), input(9, 3, 5), input(10, 3, 5));
        assertGradientsMatch(in -> Tensor.stack(2, in[0], in[1]), input(11, 2, 3, 5), input(12, 2, 3, 5));
        assertGradientsMatch(in -> Tensor.stack(3, in[0], in[1]), input(13, 2, 3, 5), input(14, 2, 3, 5));
        // channel concatenation of image batches, as an imported graph's Concat(axis=1) does
        assertGradientsMatch(in -> Tensor.concat(1, in[0], in[1]), input(15, 2, 3, 4, 5), input(16, 2, 1, 4, 5));
    }

    @Test
    void gradientReachesOnlyInputsThatNeedIt() {
        Tensor a = input(1, 2, 3);
        Tensor constant = Tensor.ones(2, 2);
        Tensor.concat(1, a, constant, a).sum().backward();
        // a appears twice, so each of its elements receives two contributions
        assertThat(a.grad().toArray()).containsOnly(2f);
        assertThat(constant.grad()).isNull();
        assertGradientsMatch(in -> Tensor.concat(1, in[0], Tensor.ones(2, 2), in[1]),
                input(2, 2, 3), input(3, 2, 1));
    }

    @Test
    void concatAndStackNameTheMismatchingTensor() {
        assertThatThrownBy(() -> Tensor.concat(1, Tensor.zeros(2, 3), Tensor.zeros(2, 1), Tensor.zeros(3, 2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("concat").hasMessageContaining("tensor 2")
                .hasMessageContaining("[3, 2]").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> Tensor.concat(0, Tensor.zeros(2, 3), Tensor.zeros(2, 3, 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("tensor 1").hasMessageContaining("[2, 3, 1]");
        assertThatThrownBy(() -> Tensor.stack(0, Tensor.zeros(2, 3), Tensor.zeros(2, 3), Tensor.zeros(3, 2)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stack").hasMessageContaining("tensor 2")
                .hasMessageContaining("[3, 2]").hasMessageContaining("[2, 3]");
        assertThatThrownBy(() -> Tensor.concat(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one");
        assertThatThrownBy(() -> Tensor.stack(3, Tensor.zeros(2, 3)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("dimension 3");
    }
}
