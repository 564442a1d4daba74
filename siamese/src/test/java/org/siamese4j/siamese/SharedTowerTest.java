package org.siamese4j.siamese;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.Sequential;
import org.siamese4j.nn.Tanh;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class SharedTowerTest {

    private static Sequential tower(long seed) {
        Rng rng = new Rng(seed);
        return new Sequential(new Linear(5, 7, rng), new Tanh(), new Linear(7, 3, rng));
    }

    private static List<float[]> gradients(List<Tensor> params) {
        List<float[]> out = new ArrayList<>();
        for (Tensor p : params) {
            out.add(p.grad() == null ? new float[p.size()] : p.grad().toArray());
            p.zeroGrad();
        }
        return out;
    }

    /** A loss that mixes both sides non-trivially: sum((e1 - e2)^2) + sum(e1 * e2). */
    private static Tensor pairLoss(Tensor e1, Tensor e2) {
        return e1.sub(e2).square().sum().add(e1.mul(e2).sum());
    }

    @Test
    void sharedTowerGradientIsTheSumOfTheBranchGradients() {
        Sequential t = tower(1);
        SiameseNetwork net = new SiameseNetwork(t);
        Rng rng = new Rng(2);
        Tensor a = Tensor.randn(rng, 4, 5);
        Tensor b = Tensor.randn(rng, 4, 5);

        // branch 1 alone: the second embedding is a constant (detached)
        pairLoss(net.embed(a), net.embed(b).detach()).backward();
        List<float[]> first = gradients(net.parameters());
        // branch 2 alone
        pairLoss(net.embed(a).detach(), net.embed(b)).backward();
        List<float[]> second = gradients(net.parameters());
        // both branches at once, as one batched pass
        SiameseNetwork.PairEmbeddings e = net.forwardPair(a, b);
        pairLoss(e.first(), e.second()).backward();
        List<float[]> joint = gradients(net.parameters());

        for (int p = 0; p < joint.size(); p++) {
            for (int i = 0; i < joint.get(p).length; i++) {
                assertThat(joint.get(p)[i]).isCloseTo(first.get(p)[i] + second.get(p)[i], within(1e-5f));
            }
            // not trivially zero on one side: both branches contribute
            assertThat(first.get(p)).isNotEqualTo(second.get(p));
        }
    }

    @Test
    void batchedPassEqualsSeparatePasses() {
        Sequential t = tower(3);
        Rng rng = new Rng(4);
        Tensor a = Tensor.randn(rng, 3, 5);
        Tensor p = Tensor.randn(rng, 3, 5);
        Tensor n = Tensor.randn(rng, 3, 5);
        TripletNetwork net = new TripletNetwork(t);
        TripletNetwork.TripletEmbeddings e = net.forwardTriplet(a, p, n);
        Function<Tensor, float[]> alone = x -> t.forward(x).toArray();
        assertThat(e.anchor().toArray()).containsExactly(alone.apply(a), within(1e-6f));
        assertThat(e.positive().toArray()).containsExactly(alone.apply(p), within(1e-6f));
        assertThat(e.negative().toArray()).containsExactly(alone.apply(n), within(1e-6f));
        assertThat(net.parameters()).hasSize(4);
    }

    @Test
    void tripletBranchesAllReachTheSharedWeights() {
        Sequential t = tower(5);
        TripletNetwork net = new TripletNetwork(t);
        Rng rng = new Rng(6);
        Tensor a = Tensor.randn(rng, 2, 5);
        Tensor p = Tensor.randn(rng, 2, 5);
        Tensor n = Tensor.randn(rng, 2, 5);
        TripletNetwork.TripletEmbeddings e = net.forwardTriplet(a, p, n);
        e.anchor().sub(e.positive()).square().sum().sub(e.anchor().sub(e.negative()).square().sum()).backward();
        float[] joint = gradients(net.parameters()).get(0);
        // each branch alone, the other two detached: anchor, then positive, then negative
        Tensor ea = t.forward(a);
        Tensor ep = t.forward(p);
        Tensor en = t.forward(n);
        ea.sub(ep.detach()).square().sum().sub(ea.sub(en.detach()).square().sum()).backward();
        float[] g1 = gradients(net.parameters()).get(0);
        ea = t.forward(a).detach();
        ep = t.forward(p);
        ea.sub(ep).square().sum().backward();
        float[] g2 = gradients(net.parameters()).get(0);
        ea = t.forward(a).detach();
        en = t.forward(n);
        ea.sub(en).square().sum().neg().backward();
        float[] g3 = gradients(net.parameters()).get(0);
        for (int i = 0; i < joint.length; i++) {
            assertThat(joint[i]).isCloseTo(g1[i] + g2[i] + g3[i], within(1e-5f));
        }
    }

    @Test
    void branchesMustHaveTheSameShape() {
        SiameseNetwork net = new SiameseNetwork(tower(7));
        assertThatThrownBy(() -> net.forwardPair(Tensor.zeros(2, 5), Tensor.zeros(3, 5)))
                .hasMessageContaining("[2, 5]").hasMessageContaining("[3, 5]");
        assertThatThrownBy(() -> new SiameseNetwork(null)).hasMessageContaining("null");
    }
}
