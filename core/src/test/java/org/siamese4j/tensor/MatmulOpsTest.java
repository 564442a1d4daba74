package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.RealMatrix;
import org.junit.jupiter.api.Test;

class MatmulOpsTest {

    private static RealMatrix toMatrix(Tensor t) {
        double[][] rows = new double[t.dim(0)][t.dim(1)];
        for (int i = 0; i < rows.length; i++) {
            for (int j = 0; j < rows[i].length; j++) {
                rows[i][j] = t.get(i, j);
            }
        }
        return new Array2DRowRealMatrix(rows);
    }

    @Test
    void matchesCommonsMathForAllTransposeCombinations() {
        Tensor a = input(1, 7, 5);
        Tensor b = input(2, 5, 3);
        RealMatrix expected = toMatrix(a).multiply(toMatrix(b));
        Tensor[] results = {
            a.matmul(b),
            a.t().copy().matmul(b, true, false),
            a.matmul(b.t().copy(), false, true),
            a.t().copy().matmul(b.t().copy(), true, true),
        };
        for (Tensor c : results) {
            assertThat(c.shape()).containsExactly(7, 3);
            for (int i = 0; i < 7; i++) {
                for (int j = 0; j < 3; j++) {
                    assertThat((double) c.get(i, j)).isCloseTo(expected.getEntry(i, j), within(1e-5));
                }
            }
        }
    }

    @Test
    void gradientsForAllTransposeCombinations() {
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = ta ? input(3, 5, 7) : input(3, 7, 5);
                Tensor b = tb ? input(4, 3, 5) : input(4, 5, 3);
                assertGradientsMatch(in -> in[0].matmul(in[1], ta, tb), a, b);
            }
        }
    }

    @Test
    void batchedGradients() {
        assertGradientsMatch(in -> in[0].matmul(in[1]), input(5, 2, 3, 4), input(6, 2, 4, 5));
        assertGradientsMatch(in -> in[0].matmul(in[1], false, true), input(7, 3, 3, 4), input(8, 5, 4));
    }

    @Test
    void innerMismatchNamesBothShapes() {
        assertThatThrownBy(() -> Tensor.zeros(2, 3).matmul(Tensor.zeros(4, 5)))
                .hasMessageContaining("[2, 3]").hasMessageContaining("[4, 5]");
    }
}
