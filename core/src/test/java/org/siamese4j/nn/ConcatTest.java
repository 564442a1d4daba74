package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** cat([b(x) for b in branches], dim=1): values, gradients, names and the shape check. */
class ConcatTest {

    private static void assertGradients(GradCheck.Result r) {
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    private static Conv2d conv(int in, int out, int k, int stride, int pad, Rng rng) {
        return new Conv2d(in, out, k, stride, pad, 1, PaddingMode.ZEROS, true, rng);
    }

    @Test
    void forwardIsTheBranchesOutputsJoinedAlongDimensionOne() {
        Rng rng = new Rng(1);
        Sequential a = new Sequential(new Linear(4, 3, rng), new Tanh());
        Sequential b = new Sequential(new Linear(4, 2, rng));
        Sequential c = new Sequential(new Linear(4, 1, rng), new Sigmoid());
        Concat concat = new Concat(a, b, c);
        Tensor x = Tensor.uniform(new Rng(2), -1f, 1f, 5, 4);
        Tensor y = concat.forward(x);
        assertThat(y.shape()).containsExactly(5, 6);
        float[] ya = a.forward(x).toArray();
        float[] yb = b.forward(x).toArray();
        float[] yc = c.forward(x).toArray();
        float[] expected = new float[5 * 6];
        for (int n = 0; n < 5; n++) {
            System.arraycopy(ya, n * 3, expected, n * 6, 3);
            System.arraycopy(yb, n * 2, expected, n * 6 + 3, 2);
            System.arraycopy(yc, n, expected, n * 6 + 5, 1);
        }
        assertThat(y.toArray()).containsExactly(expected);
        assertThat(concat.branches()).containsExactly(a, b, c);
        assertThat(concat.size()).isEqualTo(3);
    }

    @Test
    void imagesAreJoinedAlongTheChannels() {
        Rng rng = new Rng(3);
        Sequential a = new Sequential(conv(2, 3, 3, 1, 1, rng));
        Sequential b = new Sequential(conv(2, 1, 1, 1, 0, rng), new ReLU());
        Tensor x = Tensor.uniform(new Rng(4), -1f, 1f, 2, 2, 4, 5);
        Tensor y = new Concat(a, b).forward(x);
        assertThat(y.shape()).containsExactly(2, 4, 4, 5);
        assertThat(y.toArray()).containsExactly(Tensor.concat(1, a.forward(x), b.forward(x)).toArray());
    }

    @Test
    void oneBranchIsThatBranch() {
        Sequential only = new Sequential(new Linear(3, 2, new Rng(5)));
        Tensor x = Tensor.uniform(new Rng(6), -1f, 1f, 4, 3);
        assertThat(new Concat(only).forward(x).toArray()).containsExactly(only.forward(x).toArray());
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        Rng rng = new Rng(7);
        Conv2d c1 = conv(2, 2, 3, 2, 1, rng);   // 2x5x4 -> 2x3x2
        Conv2d c2 = conv(2, 3, 1, 2, 0, rng);   // 2x5x4 -> 3x3x2
        Concat concat = new Concat(new Sequential(c1, new Tanh()), new Sequential(c2));
        Tensor x = Tensor.uniform(new Rng(8), -1f, 1f, 2, 2, 5, 4).requiresGrad(true);
        assertThat(concat.forward(x).shape()).containsExactly(2, 5, 3, 2);
        // tanh after the join, so every output element depends non-linearly on both branches' weights
        assertGradients(GradCheck.check(in -> concat.forward(in[0]).tanh(), x, c1.weight(), c1.bias(), c2.weight(),
                c2.bias()));
    }

    @Test
    void stateDictNamesAreThoseOfThePyTorchModule() {
        Rng rng = new Rng(9);
        Concat concat = new Concat(new Sequential(conv(1, 2, 3, 1, 1, rng), new BatchNorm2d(2)),
                new Sequential(conv(1, 3, 1, 1, 0, rng)));
        assertThat(concat.stateDict().keySet()).containsExactly("branches.0.0.weight", "branches.0.0.bias",
                "branches.0.1.weight", "branches.0.1.bias", "branches.0.1.running_mean", "branches.0.1.running_var",
                "branches.0.1.num_batches_tracked", "branches.1.0.weight", "branches.1.0.bias");
        assertThat(new Sequential(new ReLU(), concat).stateDict()).containsKey("1.branches.1.0.weight");
        assertThat(concat.namedModules().keySet()).containsExactly("", "branches", "branches.0", "branches.0.0",
                "branches.0.1", "branches.1", "branches.1.0");
        assertThat(concat.toString()).startsWith("Concat(\n  (branches): ModuleList(\n    (0): Sequential(\n"
                + "      (0): Conv2d(1, 2,");
        concat.eval();
        assertThat(concat.branches().get(0).get(1).isTraining()).isFalse();
        // freezing by path reaches into a branch
        concat.freezeExcept("branches.1");
        assertThat(concat.trainableParameters()).hasSize(2);
    }

    @Test
    void branchesThatDisagreeBesidesDimensionOneAreRefusedWithBothShapes() {
        Rng rng = new Rng(10);
        Concat strided = new Concat(new Sequential(conv(2, 4, 1, 1, 0, rng)),
                new Sequential(conv(2, 4, 1, 2, 0, rng)));
        assertThatThrownBy(() -> strided.forward(Tensor.zeros(1, 2, 4, 4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Concat: branch 1 gives [1, 4, 2, 2] but branch 0 gives [1, 4, 4, 4] for input "
                        + "[1, 2, 4, 4]; the outputs are joined along dimension 1, so they must agree in every other "
                        + "dimension");
        Concat ranks = new Concat(new Sequential(new Flatten()), new Sequential(new ReLU()));
        assertThatThrownBy(() -> ranks.forward(Tensor.zeros(1, 2, 3, 3))).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("branch 1 gives [1, 2, 3, 3] but branch 0 gives "
                        + "[1, 18]");
        assertThatThrownBy(() -> new Concat()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one branch");
        assertThatThrownBy(() -> new Concat((List<Sequential>) null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least one branch");
        assertThatThrownBy(() -> new Concat(new Sequential(), null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("branch 1 is null");
    }
}
