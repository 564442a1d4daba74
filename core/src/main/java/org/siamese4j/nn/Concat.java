package org.siamese4j.nn;

import java.util.Arrays;
import java.util.List;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Runs several branches on the same input and joins their outputs along dimension 1 (channels or features):
 * {@code cat([b(x) for b in branches], dim=1)}. An ensemble of K embedding towers saved as one model is
 * {@code concat(TOWER_1 | ... | TOWER_K) l2norm}; the spec {@code concat(BRANCH | BRANCH[ | ...])} of
 * {@link ArchSpec} builds it.
 *
 * <p>Its one child is {@code branches}, a container whose children are the branches {@code 0}, {@code 1}, ...,
 * so the state-dict names are {@code branches.0.0.weight}, {@code branches.1.4.running_var}, ...: those of the
 * PyTorch module
 * <pre>
 * class Concat(nn.Module):
 *     def __init__(self, *branches):
 *         super().__init__()
 *         self.branches = nn.ModuleList(branches)    # each an nn.Sequential
 *
 *     def forward(self, x):
 *         return torch.cat([b(x) for b in self.branches], dim=1)
 * </pre>
 * The branch outputs must agree in every dimension but 1. One branch is allowed: its output, unchanged.
 */
public final class Concat extends Module {
    private final List<Sequential> branches;

    public Concat(Sequential... branches) {
        this(branches == null ? null : Arrays.asList(branches));
    }

    public Concat(List<Sequential> branches) {
        if (branches == null || branches.isEmpty()) {
            throw new IllegalArgumentException("Concat: needs at least one branch");
        }
        for (int k = 0; k < branches.size(); k++) {
            if (branches.get(k) == null) {
                throw new IllegalArgumentException("Concat: branch " + k + " is null");
            }
        }
        this.branches = List.copyOf(branches);
        registerModule("branches", new ModuleList(this.branches));
    }

    @Override
    public Tensor forward(Tensor input) {
        Tensor[] outputs = new Tensor[branches.size()];
        for (int k = 0; k < outputs.length; k++) {
            outputs[k] = branches.get(k).forward(input);
            checkJoinable(k, outputs[k].shape(), outputs[0].shape(), input);
        }
        return Tensor.concat(1, outputs);
    }

    /**
     * Branch k's output shape against branch 0's: same rank, at least [N, D], equal but in dimension 1. Checked
     * here, before Tensor.concat, so the message names branches rather than concat's "tensor k".
     */
    private static void checkJoinable(int k, int[] shape, int[] first, Tensor input) {
        if (shape.length < 2) {
            throw new IllegalArgumentException("Concat: branch " + k + " gives " + Shapes.toString(shape)
                    + " for input " + Shapes.toString(input.shape()) + ", which has no dimension 1 to join along");
        }
        boolean fits = shape.length == first.length;
        for (int d = 0; fits && d < shape.length; d++) {
            fits = d == 1 || shape[d] == first[d];
        }
        if (!fits) {
            throw new IllegalArgumentException("Concat: branch " + k + " gives " + Shapes.toString(shape)
                    + " but branch 0 gives " + Shapes.toString(first) + " for input " + Shapes.toString(input.shape())
                    + "; the outputs are joined along dimension 1, so they must agree in every other dimension");
        }
    }

    /** The branches, in order: branch k is child {@code branches.k}. */
    public List<Sequential> branches() {
        return branches;
    }

    /** The number of branches. */
    public int size() {
        return branches.size();
    }

    /**
     * PyTorch's {@code nn.ModuleList}: holds the branches under {@code "0"}, {@code "1"}, ... so that their names
     * get the {@code branches.k.} prefix; it computes nothing (Concat runs the branches), as in PyTorch.
     */
    private static final class ModuleList extends Module {
        ModuleList(List<Sequential> modules) {
            for (int k = 0; k < modules.size(); k++) {
                registerModule(Integer.toString(k), modules.get(k));
            }
        }

        @Override
        public Tensor forward(Tensor input) {
            throw new UnsupportedOperationException("ModuleList: a container has no forward; its Concat runs the "
                    + "branches");
        }
    }
}
