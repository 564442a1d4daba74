package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** body(x) + x and body(x) + shortcut(x): values, gradients, names and the shape check. */
class ResidualTest {

    private static void assertGradients(GradCheck.Result r) {
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    private static Conv2d conv(int in, int out, int k, int stride, int pad, Rng rng) {
        return new Conv2d(in, out, k, stride, pad, 1, PaddingMode.ZEROS, true, rng);
    }

    @Test
    void identityShortcutAddsTheInput() {
        Rng rng = new Rng(1);
        Sequential body = new Sequential(new Linear(4, 4, rng), new Tanh());
        Residual block = new Residual(body);
        Tensor x = Tensor.uniform(new Rng(2), -1f, 1f, 3, 4);
        assertThat(block.forward(x).toArray()).containsExactly(body.forward(x).add(x).toArray());
        assertThat(block.shortcut()).isNull();
        assertThat(block.body()).isSameAs(body);
    }

    @Test
    void gradientsThroughAnIdentityBlockMatchFiniteDifferences() {
        Rng rng = new Rng(3);
        Conv2d c1 = conv(2, 2, 3, 1, 1, rng);
        Conv2d c2 = conv(2, 2, 3, 1, 1, rng);
        Residual block = new Residual(new Sequential(c1, new Tanh(), c2));
        Tensor x = Tensor.uniform(new Rng(4), -1f, 1f, 2, 2, 5, 4).requiresGrad(true);
        assertGradients(GradCheck.check(in -> block.forward(in[0]).tanh(), x, c1.weight(), c1.bias(), c2.weight(),
                c2.bias()));
    }

    @Test
    void gradientsThroughAProjectionBlockMatchFiniteDifferences() {
        Rng rng = new Rng(5);
        Conv2d c1 = conv(2, 3, 3, 2, 1, rng);   // 2x7x6 -> 3x4x3
        Conv2d c2 = conv(3, 3, 3, 1, 1, rng);
        Conv2d projection = conv(2, 3, 1, 2, 0, rng);
        Residual block = new Residual(new Sequential(c1, new Tanh(), c2), new Sequential(projection));
        Tensor x = Tensor.uniform(new Rng(6), -1f, 1f, 2, 2, 7, 6).requiresGrad(true);
        Tensor y = block.forward(x);
        assertThat(y.shape()).containsExactly(2, 3, 4, 3);
        assertThat(y.toArray()).containsExactly(
                c2.forward(c1.forward(x).tanh()).add(projection.forward(x)).toArray());
        assertGradients(GradCheck.check(in -> block.forward(in[0]), x, c1.weight(), c1.bias(), c2.weight(),
                c2.bias(), projection.weight(), projection.bias()));
    }

    @Test
    void stateDictNamesAreThoseOfThePyTorchModule() {
        Rng rng = new Rng(7);
        Residual identity = new Residual(new Sequential(conv(2, 2, 3, 1, 1, rng), new BatchNorm2d(2)));
        assertThat(identity.stateDict().keySet()).containsExactly("body.0.weight", "body.0.bias", "body.1.weight",
                "body.1.bias", "body.1.running_mean", "body.1.running_var", "body.1.num_batches_tracked");
        Residual projected = new Residual(new Sequential(conv(2, 4, 3, 2, 1, rng)),
                new Sequential(conv(2, 4, 1, 2, 0, rng), new BatchNorm2d(4)));
        assertThat(projected.stateDict().keySet()).containsExactly("body.0.weight", "body.0.bias",
                "shortcut.0.weight", "shortcut.0.bias", "shortcut.1.weight", "shortcut.1.bias",
                "shortcut.1.running_mean", "shortcut.1.running_var", "shortcut.1.num_batches_tracked");
        assertThat(projected.toString()).startsWith("Residual(\n  (body): Sequential(\n    (0): Conv2d(2, 4,")
                .contains("\n  (shortcut): Sequential(\n    (0): Conv2d(2, 4, kernel_size=(1, 1), stride=(2, 2))");
        projected.eval();
        assertThat(projected.shortcut().get(1).isTraining()).isFalse();
    }

    @Test
    void aShapeChangeWithoutAMatchingShortcutIsRefusedWithBothShapes() {
        Rng rng = new Rng(8);
        Residual widening = new Residual(new Sequential(conv(2, 4, 1, 1, 0, rng)));
        assertThatThrownBy(() -> widening.forward(Tensor.zeros(1, 2, 3, 3)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the body gives [1, 4, 3, 3] but the identity shortcut gives the input "
                        + "[1, 2, 3, 3]").hasMessageContaining("needs a projection shortcut");
        // a [N, C, 1, 1] body output would broadcast over the input in a plain add: refused here
        Residual pooled = new Residual(new Sequential(new AvgPool2d(3)));
        assertThatThrownBy(() -> pooled.forward(Tensor.zeros(1, 2, 3, 3))).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("[1, 2, 1, 1]");
        Residual mismatched = new Residual(new Sequential(conv(2, 4, 1, 2, 0, rng)),
                new Sequential(conv(2, 4, 1, 1, 0, rng)));
        assertThatThrownBy(() -> mismatched.forward(Tensor.zeros(1, 2, 4, 4))).isInstanceOf(
                IllegalArgumentException.class).hasMessageContaining("the body gives [1, 4, 2, 2] but the shortcut "
                        + "gives [1, 4, 4, 4]");
        assertThatThrownBy(() -> new Residual(null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("body is null");
    }
}
