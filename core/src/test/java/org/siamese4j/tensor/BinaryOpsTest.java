package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.siamese4j.tensor.GradAssert.assertGradientsMatch;
import static org.siamese4j.tensor.GradAssert.input;

import org.junit.jupiter.api.Test;

class BinaryOpsTest {

    @Test
    void addBroadcastsRowVectorOverMatrix() {
        Tensor a = Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}});
        Tensor b = Tensor.of(10f, 20f, 30f);
        assertThat(a.add(b).toArray()).containsExactly(11, 22, 33, 14, 25, 36);
        assertThat(a.add(b).shape()).containsExactly(2, 3);
    }

    @Test
    void broadcastsBothWays() {
        Tensor col = Tensor.of(new float[] {1, 2}, 2, 1);
        Tensor row = Tensor.of(new float[] {10, 20, 30}, 1, 3);
        assertThat(col.mul(row).toArray()).containsExactly(10, 20, 30, 20, 40, 60);
    }

    @Test
    void mismatchNamesOpAndBothShapes() {
        assertThatThrownBy(() -> Tensor.zeros(2, 3).add(Tensor.zeros(4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("add").hasMessageContaining("[2, 3]").hasMessageContaining("[4]");
    }

    @Test
    void divAndSubForward() {
        Tensor a = Tensor.of(6f, 8f);
        Tensor b = Tensor.of(3f, 2f);
        assertThat(a.div(b).toArray()).containsExactly(2f, 4f);
        assertThat(a.sub(b).toArray()).containsExactly(3f, 6f);
        assertThat(a.mul(0.5f).add(1f).toArray()).containsExactly(4f, 5f);
    }

    @Test
    void gradientsSameShape() {
        assertGradientsMatch(in -> in[0].add(in[1]), input(1, 3, 5), input(2, 3, 5));
        assertGradientsMatch(in -> in[0].sub(in[1]), input(3, 3, 5), input(4, 3, 5));
        assertGradientsMatch(in -> in[0].mul(in[1]), input(5, 3, 5), input(6, 3, 5));
        assertGradientsMatch(in -> in[0].div(in[1].add(3f)), input(7, 3, 5), input(8, 3, 5));
        assertGradientsMatch(in -> in[0].mul(2.5f).sub(0.5f), input(9, 7));
    }

    @Test
    void gradientsWithBroadcasting() {
        assertGradientsMatch(in -> in[0].add(in[1]), input(1, 2, 3, 5), input(2, 5));
        assertGradientsMatch(in -> in[0].sub(in[1]), input(3, 3, 1), input(4, 1, 5));
        assertGradientsMatch(in -> in[0].mul(in[1]), input(5, 2, 3, 5), input(6, 3, 1));
        assertGradientsMatch(in -> in[0].div(in[1].add(3f)), input(7, 3, 5), input(8, 1));
    }

    @Test
    void gradientsInTheShapesOfImportedNetworks() {
        // What an ONNX graph of a CNN embedder does with Add, Mul and Div: a bias [C, 1, 1] added to [N, C, H, W],
        // a squeeze-and-excitation gate [N, C, 1, 1] and a per-channel scale [1, C, 1, 1] multiplied in, a residual
        // add of equal shapes, and L2 normalisation x / ||x|| with the norm kept as [N, 1].
        assertGradientsMatch(in -> in[0].add(in[1]), input(11, 2, 3, 4, 5), input(12, 3, 1, 1));
        assertGradientsMatch(in -> in[0].mul(in[1]), input(13, 2, 3, 4, 5), input(14, 2, 3, 1, 1));
        assertGradientsMatch(in -> in[0].mul(in[1]), input(15, 2, 3, 4, 5), input(16, 1, 3, 1, 1));
        assertGradientsMatch(in -> in[0].add(in[1]), input(17, 2, 3, 4, 5), input(18, 2, 3, 4, 5));
        assertGradientsMatch(in -> in[0].div(in[0].square().sum(1, true).sqrt()), input(19, 3, 6));
    }

    @Test
    void tensorUsedTwiceGetsBothContributions() {
        Tensor x = Tensor.of(3f).requiresGrad(true);
        x.mul(x).add(x).sum().backward();      // d/dx (x^2 + x) = 2x + 1
        assertThat(x.grad().item()).isEqualTo(7f);
    }
}
