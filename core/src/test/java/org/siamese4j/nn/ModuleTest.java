package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class ModuleTest {

    /** Conv2d-ReLU-MaxPool2d-BatchNorm2d-Flatten-Linear for 1x8x8 images: 8 -conv3-> 6 -pool2-> 3, 4*3*3 = 36. */
    private static Sequential smallCnn(long seed) {
        Rng rng = new Rng(seed);
        return new Sequential(new Conv2d(1, 4, 3, rng), new ReLU(), new MaxPool2d(2), new BatchNorm2d(4),
                new Flatten(), new Linear(36, 3, rng));
    }

    private static Map<String, List<Integer>> shapes(Map<String, Tensor> dict) {
        Map<String, List<Integer>> out = new LinkedHashMap<>();
        dict.forEach((k, v) -> out.put(k, java.util.Arrays.stream(v.shape()).boxed().toList()));
        return out;
    }

    @Test
    void stateDictHasPyTorchNamesShapesAndOrder() {
        Map<String, List<Integer>> expected = new LinkedHashMap<>();
        expected.put("0.weight", List.of(4, 1, 3, 3));
        expected.put("0.bias", List.of(4));
        expected.put("3.weight", List.of(4));
        expected.put("3.bias", List.of(4));
        expected.put("3.running_mean", List.of(4));
        expected.put("3.running_var", List.of(4));
        expected.put("3.num_batches_tracked", List.of());
        expected.put("5.weight", List.of(3, 36));
        expected.put("5.bias", List.of(3));
        assertThat(shapes(smallCnn(1).stateDict())).containsExactlyEntriesOf(expected);
    }

    @Test
    void parametersAndBuffersAreListedSeparately() {
        Sequential m = smallCnn(1);
        assertThat(m.namedParameters().keySet())
                .containsExactly("0.weight", "0.bias", "3.weight", "3.bias", "5.weight", "5.bias");
        assertThat(m.namedBuffers().keySet())
                .containsExactly("3.running_mean", "3.running_var", "3.num_batches_tracked");
        assertThat(m.parameters()).allMatch(Tensor::requiresGrad).hasSize(6);
        assertThat(m.namedBuffers().values()).noneMatch(Tensor::requiresGrad);
        // 4*9 + 4 (conv) + 4 + 4 (batch norm) + 3*36 + 3 (linear)
        assertThat(m.parameterCount()).isEqualTo(36 + 4 + 8 + 108 + 3);
        assertThat(m.namedModules().keySet()).containsExactly("", "0", "1", "2", "3", "4", "5");
    }

    @Test
    void batchNormBuffersStartAtPyTorchDefaults() {
        Map<String, Tensor> sd = smallCnn(1).stateDict();
        assertThat(sd.get("3.weight").toArray()).containsOnly(1f);
        assertThat(sd.get("3.bias").toArray()).containsOnly(0f);
        assertThat(sd.get("3.running_mean").toArray()).containsOnly(0f);
        assertThat(sd.get("3.running_var").toArray()).containsOnly(1f);
        assertThat(sd.get("3.num_batches_tracked").item()).isEqualTo(0f);
    }

    @Test
    void stateDictValuesAreDetachedViewsOfTheLiveTensors() {
        Sequential m = smallCnn(1);
        Tensor w = m.stateDict().get("5.weight");
        assertThat(w.requiresGrad()).isFalse();
        w.set(42f, 0, 0);
        assertThat(((Linear) m.get(5)).weight().get(0, 0)).isEqualTo(42f);
    }

    @Test
    void loadStateDictRoundTripCopiesInPlace() {
        Sequential source = smallCnn(1);
        BatchNorm2d bn = (BatchNorm2d) source.get(3);
        bn.runningMean().fill(0.25f);
        bn.runningVar().fill(3f);
        Sequential target = smallCnn(2);
        Tensor targetWeight = ((Conv2d) target.get(0)).weight();
        assertThat(targetWeight.toArray()).isNotEqualTo(((Conv2d) source.get(0)).weight().toArray());

        Module.LoadResult r = target.loadStateDict(source.stateDict(), true);

        assertThat(r.missingKeys()).isEmpty();
        assertThat(r.unexpectedKeys()).isEmpty();
        Map<String, Tensor> a = source.stateDict();
        Map<String, Tensor> b = target.stateDict();
        assertThat(b.keySet()).containsExactlyElementsOf(a.keySet());
        a.forEach((k, v) -> assertThat(b.get(k).toArray()).as(k).containsExactly(v.toArray()));
        // In place: the tensor an optimiser would hold is still the layer's weight, and still trainable.
        assertThat(((Conv2d) target.get(0)).weight()).isSameAs(targetWeight);
        assertThat(targetWeight.requiresGrad()).isTrue();
        // A copy, not shared storage.
        ((Conv2d) source.get(0)).weight().fill(7f);
        assertThat(targetWeight.toArray()).doesNotContain(7f);
    }

    @Test
    void strictLoadReportsMissingKeys() {
        Map<String, Tensor> sd = smallCnn(1).stateDict();
        sd.remove("5.bias");
        sd.remove("3.running_var");
        assertThatThrownBy(() -> smallCnn(2).loadStateDict(sd, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("missing keys [3.running_var, 5.bias]")
                .hasMessageNotContaining("unexpected");
    }

    @Test
    void strictLoadReportsUnexpectedKeys() {
        Map<String, Tensor> sd = smallCnn(1).stateDict();
        sd.put("6.weight", Tensor.zeros(2));
        assertThatThrownBy(() -> smallCnn(2).loadStateDict(sd, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unexpected keys [6.weight]")
                .hasMessageNotContaining("missing");
    }

    @Test
    void loadReportsShapeMismatchWithBothShapes() {
        Map<String, Tensor> sd = smallCnn(1).stateDict();
        sd.put("0.weight", Tensor.zeros(4, 1, 5, 5));
        assertThatThrownBy(() -> smallCnn(2).loadStateDict(sd, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size mismatch for 0.weight")
                .hasMessageContaining("[4, 1, 5, 5]")
                .hasMessageContaining("[4, 1, 3, 3]");
    }

    @Test
    void allProblemsAreReportedTogetherAndNothingIsCopied() {
        Map<String, Tensor> sd = smallCnn(1).stateDict();
        sd.remove("0.bias");
        sd.put("extra", Tensor.zeros(1));
        sd.put("5.weight", Tensor.zeros(36, 3));
        Sequential target = smallCnn(2);
        float[] before = ((Conv2d) target.get(0)).weight().toArray();
        assertThatThrownBy(() -> target.loadStateDict(sd, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Sequential")
                .hasMessageContaining("missing keys [0.bias]")
                .hasMessageContaining("unexpected keys [extra]")
                .hasMessageContaining("size mismatch for 5.weight")
                .hasMessageContaining("[36, 3]")
                .hasMessageContaining("[3, 36]");
        // Validation happens before copying: the valid 0.weight entry was not loaded either.
        assertThat(((Conv2d) target.get(0)).weight().toArray()).containsExactly(before);
    }

    @Test
    void nonStrictLoadListsMissingAndUnexpectedButStillRejectsShapes() {
        Sequential source = smallCnn(1);
        Map<String, Tensor> sd = source.stateDict();
        sd.remove("5.bias");
        sd.put("head.weight", Tensor.zeros(2));
        Sequential target = smallCnn(2);
        float[] oldBias = ((Linear) target.get(5)).bias().toArray();

        Module.LoadResult r = target.loadStateDict(sd, false);

        assertThat(r.missingKeys()).containsExactly("5.bias");
        assertThat(r.unexpectedKeys()).containsExactly("head.weight");
        assertThat(((Linear) target.get(5)).weight().toArray())
                .containsExactly(((Linear) source.get(5)).weight().toArray());
        assertThat(((Linear) target.get(5)).bias().toArray()).containsExactly(oldBias);

        sd.put("5.weight", Tensor.zeros(3, 35));
        assertThatThrownBy(() -> target.loadStateDict(sd, false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("size mismatch for 5.weight");
    }

    @Test
    void trainAndEvalPropagateToAllDescendants() {
        Rng rng = new Rng(3);
        Sequential inner = new Sequential(new Linear(3, 3, rng), new Dropout(0.5f, rng));
        Sequential outer = new Sequential(inner, new BatchNorm1d(3));
        assertThat(outer.namedModules().values()).allMatch(Module::isTraining);
        assertThat(outer.eval()).isSameAs(outer);
        assertThat(outer.namedModules().values()).noneMatch(Module::isTraining);
        outer.train();
        assertThat(outer.namedModules().values()).allMatch(Module::isTraining);
        inner.eval();
        assertThat(outer.isTraining()).isTrue();
        assertThat(inner.get(1).isTraining()).isFalse();
    }

    @Test
    void nestedNamesJoinWithDots() {
        Rng rng = new Rng(3);
        Sequential net = new Sequential(new Sequential(new Linear(2, 3, rng), new Tanh()), new BatchNorm1d(3));
        assertThat(net.stateDict().keySet()).containsExactly("0.0.weight", "0.0.bias", "1.weight", "1.bias",
                "1.running_mean", "1.running_var", "1.num_batches_tracked");
    }

    @Test
    void sharedLayerIsOneParameterSetButAppearsUnderEachStateDictName() {
        Linear shared = new Linear(2, 2, new Rng(1));
        Sequential net = new Sequential(shared, new Tanh(), shared);
        assertThat(net.namedParameters().keySet()).containsExactly("0.weight", "0.bias");
        assertThat(net.parameterCount()).isEqualTo(6);
        assertThat(net.stateDict().keySet()).containsExactly("0.weight", "0.bias", "2.weight", "2.bias");
    }

    @Test
    void zeroGradForgetsEveryGradient() {
        Linear lin = new Linear(3, 2, new Rng(4));
        lin.forward(Tensor.ones(5, 3)).sum().backward();
        assertThat(lin.weight().grad()).isNotNull();
        assertThat(lin.bias().grad().toArray()).containsOnly(5f);
        lin.zeroGrad();
        assertThat(lin.weight().grad()).isNull();
        assertThat(lin.bias().grad()).isNull();
    }

    @Test
    void reprLooksLikePyTorch() {
        assertThat(smallCnn(1).toString()).isEqualTo(String.join("\n",
                "Sequential(",
                "  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(1, 1))",
                "  (1): ReLU()",
                "  (2): MaxPool2d(kernel_size=2, stride=2, padding=0)",
                "  (3): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
                "  (4): Flatten(start_dim=1, end_dim=-1)",
                "  (5): Linear(in_features=36, out_features=3, bias=True)",
                ")"));
        Rng rng = new Rng(1);
        Sequential nested = new Sequential(new Sequential(new Linear(2, 3, false, rng), new LeakyReLU(0.2f)),
                new Dropout(0.25f, rng), new L2Normalize(),
                new Conv2d(2, 3, 3, 2, 1, 2, org.siamese4j.kernels.ConvGeometry.PaddingMode.REFLECT, false, rng));
        assertThat(nested.toString()).isEqualTo(String.join("\n",
                "Sequential(",
                "  (0): Sequential(",
                "    (0): Linear(in_features=2, out_features=3, bias=False)",
                "    (1): LeakyReLU(negative_slope=0.2)",
                "  )",
                "  (1): Dropout(p=0.25)",
                "  (2): L2Normalize(dim=1, eps=1e-12)",
                "  (3): Conv2d(2, 3, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 2), bias=False,"
                        + " padding_mode='reflect')",
                ")"));
    }

    /** A user-defined module, the way a Siamese tower would be written. */
    private static final class TwoHeads extends Module {
        final Linear body;
        final Linear head;

        TwoHeads(Rng rng) {
            body = registerModule("body", new Linear(4, 3, rng));
            head = registerModule("head", new Linear(3, 2, rng));
            registerBuffer("scale", Tensor.ones(2));
        }

        @Override
        public Tensor forward(Tensor x) {
            return head.forward(body.forward(x));
        }
    }

    @Test
    void customModuleListsOwnEntriesBeforeChildren() {
        TwoHeads m = new TwoHeads(new Rng(5));
        assertThat(m.stateDict().keySet()).containsExactly("scale", "body.weight", "body.bias", "head.weight",
                "head.bias");
        assertThat(m.forward(Tensor.ones(7, 4)).shape()).containsExactly(7, 2);
        assertThat(m.toString()).isEqualTo(String.join("\n",
                "TwoHeads(",
                "  (body): Linear(in_features=4, out_features=3, bias=True)",
                "  (head): Linear(in_features=3, out_features=2, bias=True)",
                ")"));
    }

    @Test
    void registrationRejectsBadNames() {
        class Bad extends Module {
            Bad(String first, String second) {
                registerParameter(first, Tensor.zeros(1));
                registerBuffer(second, Tensor.zeros(1));
            }

            @Override
            public Tensor forward(Tensor x) {
                return x;
            }
        }
        assertThatThrownBy(() -> new Bad("w", "w")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'w' is already registered");
        assertThatThrownBy(() -> new Bad("a.b", "c")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'a.b'");
        assertThatThrownBy(() -> new Bad("", "c")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("non-empty");
        assertThatThrownBy(() -> new Sequential(new ReLU(), null)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'1' is null");
    }

    @Test
    void sequentialIndexesLayers() {
        Sequential s = new Sequential(new ReLU(), new Tanh());
        s.add(new Sigmoid());
        assertThat(s.size()).isEqualTo(3);
        assertThat(s.get(2)).isInstanceOf(Sigmoid.class);
        assertThat(s.namedChildren().keySet()).containsExactly("0", "1", "2");
        assertThatThrownBy(() -> s.get(3)).isInstanceOf(IndexOutOfBoundsException.class).hasMessageContaining("3");
    }

    // ------------------------------------------------------------------------------------------ freezing

    /**
     * Only the conv (child "0") stays trainable: the batch norm and the linear after it are frozen, get no
     * gradient, and the frozen batch norm keeps its running statistics in training mode, while the gradient still
     * flows through both to the conv.
     */
    @Test
    void freezeExceptLeavesOnlyTheNamedChildTrainableAndGradientsFlowThroughFrozenLayers() {
        Sequential m = smallCnn(1);
        m.freezeExcept("0").train();
        assertThat(m.trainableParameters()).containsExactly(m.namedParameters().get("0.weight"),
                m.namedParameters().get("0.bias"));
        BatchNorm2d norm = (BatchNorm2d) m.get(3);
        assertThat(norm.isFrozen()).isTrue();
        m.namedBuffers().get("3.running_mean").copyFrom(Tensor.of(new float[] {0.1f, -0.2f, 0.3f, 0f}, 4));
        Map<String, Tensor> before = new LinkedHashMap<>();
        m.namedBuffers().forEach((name, t) -> before.put(name, t.copy()));
        Tensor x = Tensor.uniform(new Rng(3), -1f, 1f, 5, 1, 8, 8);
        Tensor y = m.forward(x);
        y.square().sum().backward();
        m.namedParameters().forEach((name, p) -> assertThat(p.grad()).as(name)
                .matches(g -> name.startsWith("0.") == (g != null)));
        assertThat(m.namedParameters().get("0.weight").grad().toArray()).satisfies(g -> assertThat(g).isNotEqualTo(
                new float[g.length]));
        m.namedBuffers().forEach((name, t) -> assertThat(t.toArray()).as(name).isEqualTo(before.get(name).toArray()));
        // frozen, the batch norm in training mode computes what it computes in evaluation mode
        Tensor evalOut;
        try (var scope = Tensor.noGrad()) {
            m.eval();
            evalOut = m.forward(x);
        }
        assertThat(y.toArray()).isEqualTo(evalOut.toArray());

        m.unfreeze().train();
        assertThat(m.trainableParameters()).hasSize(6);
        assertThat(norm.isFrozen()).isFalse();
        m.forward(x);
        assertThat(norm.numBatchesTracked()).isEqualTo(1);
        assertThat(norm.runningMean().toArray()).isNotEqualTo(before.get("3.running_mean").toArray());
    }

    @Test
    void freezeForgetsGradientsAndFreezeExceptRefusesUnknownPathsChangingNothing() {
        Sequential m = smallCnn(1);
        m.forward(Tensor.uniform(new Rng(3), -1f, 1f, 2, 1, 8, 8)).sum().backward();
        m.get(5).freeze();
        assertThat(m.namedParameters().get("5.weight").grad()).isNull();
        assertThat(m.namedParameters().get("0.weight").grad()).isNotNull();
        assertThatThrownBy(() -> m.freezeExcept("5", "fc", "6")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("Sequential.freezeExcept: no module at [fc, 6]; the modules are [0, 1, 2, 3, 4, 5]");
        assertThat(m.trainableParameters()).hasSize(4);   // 5 stays frozen, the rest trainable
    }
}
