package org.siamese4j.nn;

import java.util.Arrays;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * A residual block, {@code body(x) + shortcut(x)}, where the shortcut is the identity or, when the body changes
 * the shape (a stride, more channels), a projection such as a 1x1 convolution. The spec
 * {@code residual(BODY[ | SHORTCUT])} of {@link ArchSpec} builds it.
 *
 * <p>Its children are {@code body} and, with a projection, {@code shortcut}, so the state-dict names are
 * {@code body.0.weight}, {@code shortcut.0.weight}, ...: those of the PyTorch module
 * <pre>
 * class Residual(nn.Module):
 *     def __init__(self, body, shortcut=None):
 *         super().__init__()
 *         self.body = body            # nn.Sequential
 *         self.shortcut = shortcut    # nn.Sequential or None
 *
 *     def forward(self, x):
 *         return self.body(x) + (x if self.shortcut is None else self.shortcut(x))
 * </pre>
 * An activation after the sum (ResNet's) is the next layer, not part of the block.
 */
public final class Residual extends Module {
    private final Sequential body;
    private final Sequential shortcut;

    /** {@code body(x) + x}. */
    public Residual(Sequential body) {
        this(body, null);
    }

    /** {@code body(x) + shortcut(x)}; a null shortcut is the identity. */
    public Residual(Sequential body, Sequential shortcut) {
        if (body == null) {
            throw new IllegalArgumentException("Residual: body is null");
        }
        this.body = registerModule("body", body);
        this.shortcut = shortcut == null ? null : registerModule("shortcut", shortcut);
    }

    @Override
    public Tensor forward(Tensor input) {
        Tensor main = body.forward(input);
        Tensor skip = shortcut == null ? input : shortcut.forward(input);
        // Tensor.add would broadcast a [N, C, 1, 1] body output over the input: in a residual block that is
        // a wiring mistake, not an intent, so the shapes must be equal.
        if (!Arrays.equals(main.shape(), skip.shape())) {
            throw new IllegalArgumentException("Residual: the body gives " + Shapes.toString(main.shape())
                    + " but the " + (shortcut == null ? "identity shortcut gives the input " : "shortcut gives ")
                    + Shapes.toString(skip.shape()) + " for input " + Shapes.toString(input.shape())
                    + (shortcut == null ? "; a body that changes the shape needs a projection shortcut" : ""));
        }
        return main.add(skip);
    }

    public Sequential body() {
        return body;
    }

    /** The projection, or null for the identity. */
    public Sequential shortcut() {
        return shortcut;
    }
}
