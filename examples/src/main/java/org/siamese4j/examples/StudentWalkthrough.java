package org.siamese4j.examples;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.Sequential;
import org.siamese4j.nn.Tanh;
import org.siamese4j.optim.SGD;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.SiameseNetwork;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A Siamese network small enough to follow by hand: a tower {@code dense(6) tanh dense(2)} maps 4-number
 * "photos" of three people to points in the plane. One training step is printed in full: the terms of the
 * contrastive loss for one pair and of the triplet loss for one triplet, the gradient that backpropagation puts
 * on each layer's weights, and the losses after one SGD step. Then a short training run shows the losses fall,
 * and two gradient checks compare backpropagation with finite differences: on the loss as a function of the two
 * embeddings, and through the whole network on the first layer's weights.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp examples/target/siamese4j.jar \
 *     org.siamese4j.examples.StudentWalkthrough [--steps 200] [--lr 0.1] [--seed 1]</pre>
 *
 * Read it with docs/autograd.md (how backward works) and docs/siamese.md (the losses).
 */
public final class StudentWalkthrough {
    static final int PEOPLE = 3;
    static final int FEATURES = 4;
    static final float MARGIN = 1f;

    record Settings(int steps, float lr, long seed) {
        static Settings defaults() {
            return new Settings(200, 0.1f, 1);
        }
    }

    /** Mean loss (pair + triplet) over the first and the last ten training steps, and the gradient checks. */
    record Outcome(double firstLoss, double lastLoss, GradCheck.Result embeddingCheck,
                   GradCheck.Result weightCheck) {
    }

    private StudentWalkthrough() {
    }

    public static void main(String[] args) {
        Settings d = Settings.defaults();
        Settings s;
        try {
            ExampleArgs a = new ExampleArgs("StudentWalkthrough", args, Set.of("steps", "lr", "seed"));
            s = new Settings(a.integer("steps", d.steps(), 1), a.number("lr", d.lr()),
                    a.longValue("seed", d.seed()));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        run(s, System.out);
    }

    static Outcome run(Settings s, PrintStream out) {
        Rng rng = new Rng(s.seed());
        // Each person is a fixed point in R^4; a "photo" of them is that point plus noise.
        float[][] people = new float[PEOPLE][FEATURES];
        for (float[] p : people) {
            for (int f = 0; f < FEATURES; f++) {
                p[f] = (float) rng.nextGaussian();
            }
        }
        Sequential tower = new Sequential(new Linear(FEATURES, 6, rng.split()), new Tanh(),
                new Linear(6, 2, rng.split()));
        SiameseNetwork net = new SiameseNetwork(tower);
        // Label 1 = same person here; the tutorial's DIFFERENT_IS_ONE would flip them (see LabelConvention).
        ContrastiveLoss contrastive = new ContrastiveLoss(MARGIN, LabelConvention.SAME_IS_ONE);
        TripletLoss triplet = TripletLoss.hard(MARGIN, Distance.EUCLIDEAN);
        SGD sgd = new SGD(net.parameters(), s.lr());
        out.println("tower: " + tower.parameterCount() + " parameters; people at " + fmt(people));

        // ---- one step, in full ----
        Tensor pairA = photo(people, 0, rng);
        Tensor pairB = photo(people, 1, rng);   // two people: a negative pair
        Tensor anchor = photo(people, 2, rng);
        Tensor positive = photo(people, 2, rng);
        Tensor negative = photo(people, 0, rng);
        out.println();
        out.println("== one training step ==");
        double before = explain(net, contrastive, triplet, pairA, pairB, anchor, positive, negative, out, true);
        out.println("gradients (set by backward of pair loss + triplet loss):");
        for (Map.Entry<String, Tensor> p : tower.namedParameters().entrySet()) {
            Tensor g = p.getValue().grad();
            out.printf(Locale.ROOT, "  %-10s %-7s |grad| = %.5f%n", p.getKey(), Arrays.toString(p.getValue().shape()),
                    g == null ? 0.0 : norm(g.data()));
        }
        out.println("  (the last bias gets no gradient: moving every embedding by the same vector changes no distance)");
        sgd.step();
        sgd.zeroGrad();
        double after = explain(net, contrastive, triplet, pairA, pairB, anchor, positive, negative, out, false);
        sgd.zeroGrad();
        out.printf(Locale.ROOT, "after one SGD step (lr %.2f) the same examples cost %.5f instead of %.5f%n",
                s.lr(), after, before);

        // ---- a short training run: a random pair (half same, half different) and a random triplet per step ----
        out.println();
        out.println("== training ==");
        double first = 0;
        double last = 0;
        int window = Math.min(10, s.steps());
        for (int step = 1; step <= s.steps(); step++) {
            boolean same = rng.nextInt(2) == 0;
            int p = rng.nextInt(PEOPLE);
            int q = same ? p : (p + 1 + rng.nextInt(PEOPLE - 1)) % PEOPLE;
            int n = (p + 1 + rng.nextInt(PEOPLE - 1)) % PEOPLE;
            SiameseNetwork.PairEmbeddings e = net.forwardPair(photo(people, p, rng), photo(people, q, rng));
            LossResult pair = contrastive.compute(Distance.EUCLIDEAN, e.first(), e.second(), new int[] {same ? 1 : 0});
            LossResult trip = triplet.compute(net.embed(photo(people, p, rng)), net.embed(photo(people, p, rng)),
                    net.embed(photo(people, n, rng)));
            Tensor loss = pair.loss().add(trip.loss());
            loss.backward();
            sgd.step();
            sgd.zeroGrad();
            double value = loss.item();
            if (step <= window) {
                first += value / window;
            }
            if (step > s.steps() - window) {
                last += value / window;
            }
            if (step == 1 || step % Math.max(1, s.steps() / 8) == 0 || step == s.steps()) {
                out.printf(Locale.ROOT, "step %4d: %s pair loss %.4f, triplet loss %.4f%n", step,
                        same ? "same     " : "different", pair.value(), trip.value());
            }
        }
        out.printf(Locale.ROOT, "mean loss over the first %d steps %.4f, over the last %d steps %.4f%n", window,
                first, window, last);

        // ---- gradient checks: backward against (f(x + h) - f(x - h)) / 2h ----
        out.println();
        out.println("== gradient checks ==");
        // two pairs at distances 0.5 and 0.6, both inside the margin: the pull term of a same pair (label 1) and
        // the push term of a different pair (label 0) are both active and smooth there (the push term has a kink
        // at D = margin, the distance one at D = 0; a check must stay away from both)
        Tensor a = Tensor.wrap(new float[] {0.2f, 0.1f, -0.3f, 0.4f}, 2, 2).requiresGrad(true);
        Tensor b = Tensor.wrap(new float[] {0.5f, 0.5f, 0.3f, 0.4f}, 2, 2).requiresGrad(true);
        GradCheck.Result onEmbeddings = GradCheck.check(
                in -> contrastive.compute(Distance.EUCLIDEAN, in[0], in[1], new int[] {1, 0}).loss(), a, b);
        out.println("contrastive loss of a same and a different pair, w.r.t. the embeddings: " + onEmbeddings);
        Tensor x = photo(people, 2, rng);
        Tensor y = photo(people, 2, rng);
        Tensor firstWeights = tower.parameters().get(0);
        GradCheck.Result onWeights = GradCheck.check(in -> {
            // `in[0]` is the first layer's weight tensor itself: the check perturbs it in place
            SiameseNetwork.PairEmbeddings e = net.forwardPair(x, y);
            return contrastive.compute(Distance.EUCLIDEAN, e.first(), e.second(), new int[] {1}).loss();
        }, firstWeights);
        out.println("contrastive loss of a same pair through the network, w.r.t. layer 0's weights: " + onWeights);
        sgd.zeroGrad();
        return new Outcome(first, last, onEmbeddings, onWeights);
    }

    /** Prints the loss terms of the pair and the triplet; with {@code backward}, also backpropagates their sum. */
    private static double explain(SiameseNetwork net, ContrastiveLoss contrastive, TripletLoss triplet, Tensor pairA,
                                  Tensor pairB, Tensor anchor, Tensor positive, Tensor negative, PrintStream out,
                                  boolean backward) {
        SiameseNetwork.PairEmbeddings e = net.forwardPair(pairA, pairB);
        Tensor distance = Distance.EUCLIDEAN.rowwise(e.first(), e.second());
        double dist = distance.toArray()[0];
        LossResult pair = contrastive.compute(distance, new int[] {0});
        Tensor ea = net.embed(anchor);
        Tensor ep = net.embed(positive);
        Tensor en = net.embed(negative);
        double dap = Distance.EUCLIDEAN.rowwise(ea, ep).toArray()[0];
        double dan = Distance.EUCLIDEAN.rowwise(ea, en).toArray()[0];
        LossResult trip = triplet.compute(ea, ep, en);
        Tensor total = pair.loss().add(trip.loss());
        if (backward) {
            out.printf(Locale.ROOT, "pair of two people: embeddings %s and %s%n", fmt(e.first().toArray()),
                    fmt(e.second().toArray()));
            out.printf(Locale.ROOT, "  D = %.5f; label 0 (different): pull term 0, push term max(m - D, 0)^2 = "
                    + "max(%.1f - %.5f, 0)^2 = %.5f%n", dist, MARGIN, dist, pair.value());
            out.printf(Locale.ROOT, "triplet: d(a, p) = %.5f, d(a, n) = %.5f; loss max(d(a,p) - d(a,n) + m, 0) = "
                    + "max(%.5f - %.5f + %.1f, 0) = %.5f%n", dap, dan, dap, dan, MARGIN, trip.value());
            total.backward();
        }
        return total.item();
    }

    /** A noisy photo of person {@code p}: [1, FEATURES]. */
    private static Tensor photo(float[][] people, int p, Rng rng) {
        float[] v = people[p].clone();
        for (int f = 0; f < FEATURES; f++) {
            v[f] += (float) (0.3 * rng.nextGaussian());
        }
        return Tensor.wrap(v, 1, FEATURES);
    }

    private static double norm(float[] v) {
        double s = 0;
        for (float f : v) {
            s += (double) f * f;
        }
        return Math.sqrt(s);
    }

    private static String fmt(float[] v) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < v.length; i++) {
            sb.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, "%.3f", v[i]));
        }
        return sb.append(')').toString();
    }

    private static String fmt(float[][] rows) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < rows.length; i++) {
            sb.append(i > 0 ? ", " : "").append(fmt(rows[i]));
        }
        return sb.toString();
    }
}
