package org.siamese4j.siamese.head;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class SimilarityHeadTest {

    /**
     * Embeddings e1, e2 [n, d] (leaves needing gradients) whose coordinates either differ by at least 0.1, so the
     * finite-difference step (1e-2) never crosses the kink of |e1 - e2|, or are exactly equal, on the kink.
     */
    private static Tensor[] pairWithSomeEqualCoordinates(long seed, int n, int d) {
        Rng rng = new Rng(seed);
        Tensor e1 = Tensor.uniform(rng, -1f, 1f, n, d);
        float[] b = e1.toArray();
        for (int i = 0; i < b.length; i++) {
            if (i % 3 == 1) {
                continue; // equal coordinate: |e1 - e2| = 0
            }
            float offset = 0.1f + 0.8f * rng.nextFloat();
            b[i] += rng.nextBoolean() ? offset : -offset;
        }
        return new Tensor[] {e1.requiresGrad(true), Tensor.of(b, n, d).requiresGrad(true)};
    }

    private static Tensor targets(int n) {
        float[] t = new float[n];
        for (int i = 0; i < n; i++) {
            t[i] = i % 2;
        }
        return Tensor.of(t);
    }

    private static void assertGradientsMatch(java.util.function.Function<Tensor[], Tensor> f, Tensor... inputs) {
        GradCheck.Result r = GradCheck.check(f, inputs);
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    // ---------------------------------------------------------------------------------------- gradients

    @Test
    void wholeHeadGradientMatchesFiniteDifferencesIncludingEqualCoordinates() {
        // |e1 - e2| -> dense(5) tanh dense(1) -> logit -> BCE: inputs are both embeddings and every head weight
        SimilarityHead head = SimilarityHead.parse("dense(5) tanh dense(1)", 4, new Rng(1));
        Tensor[] e = pairWithSomeEqualCoordinates(2, 3, 4);
        Tensor y = targets(3);
        List<Tensor> inputs = new ArrayList<>(List.of(e[0], e[1]));
        inputs.addAll(head.parameters());
        assertGradientsMatch(in -> Functional.binaryCrossEntropyWithLogits(head.logits(in[0], in[1]), y),
                inputs.toArray(new Tensor[0]));

        // Koch's head: a single weighted L1 distance
        SimilarityHead koch = SimilarityHead.parse("dense(1)", 5, new Rng(3));
        Tensor[] f = pairWithSomeEqualCoordinates(4, 4, 5);
        List<Tensor> kochInputs = new ArrayList<>(List.of(f[0], f[1]));
        kochInputs.addAll(koch.parameters());
        assertGradientsMatch(in -> Functional.binaryCrossEntropyWithLogits(koch.logits(in[0], in[1]), targets(4)),
                kochInputs.toArray(new Tensor[0]));
    }

    @Test
    void equalCoordinatesGetTheSubgradientZero() {
        SimilarityHead head = SimilarityHead.parse("dense(1)", 3, new Rng(5));
        Tensor e1 = Tensor.of(new float[] {0.5f, -0.2f, 0.3f}, 1, 3).requiresGrad(true);
        Tensor e2 = Tensor.of(new float[] {0.5f, 0.4f, 0.3f}, 1, 3).requiresGrad(true);
        Functional.binaryCrossEntropyWithLogits(head.logits(e1, e2), Tensor.of(1f)).backward();
        float[] g1 = e1.grad().toArray();
        float[] g2 = e2.grad().toArray();
        // coordinates 0 and 2 agree: sign(0) = 0, so no gradient; coordinate 1 gets opposite gradients
        assertThat(g1[0]).isZero();
        assertThat(g1[2]).isZero();
        assertThat(g2[0]).isZero();
        assertThat(g1[1]).isNotZero().isEqualTo(-g2[1]);
        assertThat(g1).doesNotContain(Float.NaN);
        // the weight of an equal coordinate gets no gradient either (its input is 0)
        assertThat(head.layers().stateDict().get("0.weight").toArray()).hasSize(3);
        float[] gw = head.parameters().get(0).grad().toArray();
        assertThat(gw[0]).isZero();
        assertThat(gw[1]).isNotZero();
    }

    // ---------------------------------------------------------------------------------------- behaviour

    @Test
    void logitsAreSymmetricInThePairAndOnePerPair() {
        SimilarityHead head = SimilarityHead.parse("dense(6) relu dense(1)", 4, new Rng(7));
        Tensor a = Tensor.randn(new Rng(8), 5, 4);
        Tensor b = Tensor.randn(new Rng(9), 5, 4);
        Tensor ab = head.logits(a, b);
        assertThat(ab.shape()).containsExactly(5);
        assertThat(head.logits(b, a).toArray()).containsExactly(ab.toArray());
        // it is the layers applied to |a - b|
        assertThat(head.forward(a.sub(b).abs()).toArray()).containsExactly(ab.toArray());
    }

    @Test
    void stateDictIsTheSpecsSequential() {
        SimilarityHead head = SimilarityHead.parse("dense(6) relu dense(1)", 4, new Rng(7));
        assertThat(head.stateDict().keySet()).containsExactly("0.weight", "0.bias", "2.weight", "2.bias");
        assertThat(head.layers().stateDict().keySet()).containsExactlyElementsOf(head.stateDict().keySet());
        assertThat(head.parameters()).containsExactlyElementsOf(head.layers().parameters());
        assertThat(head.features()).isEqualTo(4);
        assertThat(head.arch()).isEqualTo(ArchSpec.parse("dense(6) relu dense(1)"));
        // switching the head's mode switches its layers
        head.eval();
        assertThat(head.layers().get(0).isTraining()).isFalse();
    }

    @Test
    void ofWrapsBuiltLayersAndChecksTheSpec() {
        ArchSpec spec = ArchSpec.parse("dense(3) tanh dense(1)");
        SimilarityHead built = SimilarityHead.of(spec.build(new int[] {4}, new Rng(1)), spec, 4);
        assertThat(built.stateDict().keySet()).containsExactly("0.weight", "0.bias", "2.weight", "2.bias");
        assertThatThrownBy(() -> SimilarityHead.of(spec.build(new int[] {5}, new Rng(1)), spec, 4))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not describe the layers");
    }

    // ---------------------------------------------------------------------------------------- validation

    @Test
    void theSpecMustEndInExactlyOneLogit() {
        assertThatThrownBy(() -> SimilarityHead.parse("dense(8) relu dense(2)", 16, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'dense(8) relu dense(2)' on 16 features outputs [2]")
                .hasMessageContaining("exactly 1 value").hasMessageContaining("end it with dense(1)");
        assertThatThrownBy(() -> SimilarityHead.parse("relu", 16, new Rng(1)))
                .hasMessageContaining("outputs [16]");
        assertThatThrownBy(() -> SimilarityHead.parse("dense(1) sigmoid", 16, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ends in sigmoid")
                .hasMessageContaining("logit");
        assertThatThrownBy(() -> SimilarityHead.parse("conv(4,3) dense(1)", 16, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("does not fit |e1 - e2| of 16")
                .hasMessageContaining("conv");
        assertThatThrownBy(() -> SimilarityHead.parse("dense(1)", 0, new Rng(1)))
                .hasMessageContaining("at least 1 feature, got 0");
        // a tanh after the last dense still gives one value: allowed (a bounded logit)
        assertThat(SimilarityHead.parse("dense(1) tanh", 16, new Rng(1)).features()).isEqualTo(16);
    }

    @Test
    void logitsCheckTheEmbeddings() {
        SimilarityHead head = SimilarityHead.parse("dense(1)", 4, new Rng(1));
        assertThatThrownBy(() -> head.logits(Tensor.zeros(2, 4), Tensor.zeros(3, 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 4]")
                .hasMessageContaining("[3, 4]");
        assertThatThrownBy(() -> head.logits(Tensor.zeros(2, 5), Tensor.zeros(2, 5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the head takes 4 features, the embeddings have 5");
    }
}
