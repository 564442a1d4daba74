package org.siamese4j.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class TensorTest {

    @Test
    void factoriesFillAndShape() {
        assertThat(Tensor.zeros(2, 3).toArray()).containsOnly(0f).hasSize(6);
        assertThat(Tensor.ones(4).toArray()).containsExactly(1f, 1f, 1f, 1f);
        assertThat(Tensor.full(2.5f, 1, 2).toArray()).containsExactly(2.5f, 2.5f);
        assertThat(Tensor.arange(4).toArray()).containsExactly(0f, 1f, 2f, 3f);
        assertThat(Tensor.arange(1, 2, 0.25f).toArray()).containsExactly(1f, 1.25f, 1.5f, 1.75f);
        assertThat(Tensor.arange(3, 0, -1).toArray()).containsExactly(3f, 2f, 1f);
        assertThat(Tensor.scalar(3f).rank()).isZero();
        assertThat(Tensor.scalar(3f).item()).isEqualTo(3f);
        Tensor m = Tensor.of(new float[][] {{1, 2, 3}, {4, 5, 6}});
        assertThat(m.shape()).containsExactly(2, 3);
        assertThat(m.get(1, 2)).isEqualTo(6f);
        assertThat(m.dim(-1)).isEqualTo(3);
    }

    @Test
    void ofCopiesButWrapShares() {
        float[] values = {1, 2};
        Tensor copied = Tensor.of(values, 2);
        Tensor wrapped = Tensor.wrap(values, 2);
        values[0] = 9;
        assertThat(copied.get(0)).isEqualTo(1f);
        assertThat(wrapped.get(0)).isEqualTo(9f);
    }

    @Test
    void seededRandomIsReproducibleAndHasTheRightMoments() {
        Tensor a = Tensor.randn(new Rng(42), 10000);
        Tensor b = Tensor.randn(new Rng(42), 10000);
        assertThat(a.toArray()).containsExactly(b.toArray());
        double mean = 0;
        double sq = 0;
        for (float v : a.data()) {
            mean += v;
            sq += v * v;
        }
        mean /= a.size();
        double var = sq / a.size() - mean * mean;
        // standard error of the mean is 0.01 and of the variance about 0.014 for 10000 samples: 5 sigma bounds
        assertThat(mean).isCloseTo(0, within(0.05));
        assertThat(var).isCloseTo(1, within(0.07));
        Tensor u = Tensor.uniform(new Rng(1), -2f, 3f, 1000);
        for (float v : u.data()) {
            assertThat(v).isGreaterThanOrEqualTo(-2f).isLessThan(3f);
        }
    }

    @Test
    void rngStateRestoresTheStream() {
        Rng r = new Rng(7);
        r.nextLong();
        long saved = r.state();
        double next = r.nextGaussian();
        assertThat(new Rng(0).restore(saved).nextGaussian()).isEqualTo(next);
        int[] p = new Rng(3).permutation(10);
        assertThat(p).containsExactlyInAnyOrder(0, 1, 2, 3, 4, 5, 6, 7, 8, 9);
        assertThatThrownBy(() -> r.nextInt(0)).hasMessageContaining("0");
    }

    @Test
    void reshapeIsAViewAndInfersMinusOne() {
        Tensor x = Tensor.arange(6);
        Tensor y = x.reshape(2, -1);
        assertThat(y.shape()).containsExactly(2, 3);
        y.set(100f, 0, 1);
        assertThat(x.get(1)).isEqualTo(100f);
        assertThat(Tensor.zeros(2, 3, 4).flatten().shape()).containsExactly(2, 12);
        assertThat(Tensor.zeros(2, 3, 4).flatten(0).shape()).containsExactly(24);
        assertThatThrownBy(() -> x.reshape(4, -1)).hasMessageContaining("[6]").hasMessageContaining("[4, -1]");
        assertThatThrownBy(() -> x.reshape(-1, -1)).hasMessageContaining("only one");
    }

    @Test
    void badShapesAndIndicesAreNamed() {
        assertThatThrownBy(() -> Tensor.zeros(2, -1)).hasMessageContaining("[2, -1]");
        assertThatThrownBy(() -> Tensor.of(new float[] {1, 2, 3}, 2, 2)).hasMessageContaining("3 values")
                .hasMessageContaining("[2, 2]");
        assertThatThrownBy(() -> Tensor.zeros(2, 3).get(2, 0)).hasMessageContaining("[2, 0]");
        assertThatThrownBy(() -> Tensor.zeros(2, 3).dim(2)).hasMessageContaining("-2 to 1");
        assertThatThrownBy(() -> Tensor.of(new float[][] {{1, 2}, {3}})).hasMessageContaining("ragged");
        assertThatThrownBy(() -> Tensor.zeros(2).item()).hasMessageContaining("[2]");
    }

    @Test
    void toStringIsReadable() {
        Tensor m = Tensor.of(new float[][] {{1, 2}, {3, 4.5f}});
        assertThat(m.toString()).isEqualTo("tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]], shape=[2, 2])");
        Tensor p = Tensor.ones(2).requiresGrad(true);
        assertThat(p.toString()).endsWith("requires_grad=true)");
        assertThat(p.mul(2f).toString()).contains("grad_fn=mul_scalar");
        String big = Tensor.arange(5000).toString();
        assertThat(big).startsWith("tensor([0.0000, 1.0000, 2.0000, ..., 4997.0000").contains("shape=[5000]");
        assertThat(Tensor.scalar(1e-7f).toString()).contains("1.0000e-07");
    }
}
