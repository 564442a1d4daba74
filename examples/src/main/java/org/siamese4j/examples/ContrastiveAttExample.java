package org.siamese4j.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.SiameseNetwork;
import org.siamese4j.siamese.Towers;
import org.siamese4j.siamese.data.FaceFolders;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.PairSampler;
import org.siamese4j.siamese.data.Pairs;
import org.siamese4j.siamese.data.Splits;
import org.siamese4j.siamese.loss.ContrastiveLoss;
import org.siamese4j.siamese.loss.LabelConvention;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The classic Siamese-network tutorial (PyTorch's, on the AT&amp;T faces) redone: one shared tower embeds both
 * images of a pair, the contrastive loss pulls a person's images together and pushes two people's apart until
 * they are a margin away, and the pairs are drawn half same-person, half different-person by {@link PairSampler}.
 * Unlike the tutorial, the people are split: the test people are never seen in training, so the held-out AUC
 * printed at the end measures recognising new faces, not remembering old ones.
 *
 * <p>The labels follow the tutorial: 1 means "different" ({@link LabelConvention#DIFFERENT_IS_ONE}, Hadsell et
 * al. 2006). The convention is passed to the loss explicitly, since mixing up the two conventions trains the
 * network backwards without any error.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp examples/target/siamese4j.jar \
 *     org.siamese4j.examples.ContrastiveAttExample --data PATH/att_faces [--epochs 12] [--steps 25] [--batch 32]
 *     [--margin 1.0] [--lr 0.002] [--test-people 10] [--seed 7]</pre>
 */
public final class ContrastiveAttExample {
    /** What a run does; {@link #defaults()} is about half a minute on 2 cores. */
    record Settings(int epochs, int stepsPerEpoch, int batchPairs, float margin, float lr, int testPeople,
                    long seed) {
        static Settings defaults() {
            return new Settings(12, 25, 32, 1.0f, 2e-3f, 10, 7);
        }
    }

    /** What {@link #run} measured. */
    record Outcome(float[] epochLoss, double untrainedAuc, VerificationReport heldOut) {
    }

    private ContrastiveAttExample() {
    }

    public static void main(String[] args) throws IOException {
        ExampleArgs a;
        try {
            a = new ExampleArgs("ContrastiveAttExample", args,
                    Set.of("data", "epochs", "steps", "batch", "margin", "lr", "test-people", "seed"));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        String data = a.string("data", null);
        if (data == null || !Files.isDirectory(Path.of(data))) {
            System.err.println("ContrastiveAttExample: --data PATH must name the att_faces folder (s1 .. s40, ten "
                    + "PGM images each)" + (data == null ? "" : "; '" + data + "' is not a folder")
                    + ". See docs/examples.md for how to get the AT&T faces.");
            System.exit(2);
            return;
        }
        Settings d = Settings.defaults();
        Settings s;
        try {
            s = new Settings(a.integer("epochs", d.epochs(), 1), a.integer("steps", d.stepsPerEpoch(), 1),
                    a.integer("batch", d.batchPairs(), 2), a.number("margin", d.margin()), a.number("lr", d.lr()),
                    a.integer("test-people", d.testPeople(), 2), a.longValue("seed", d.seed()));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        // half size (56x46): the small tower, and four times fewer pixels than the 112x92 originals
        ImageDataset faces = FaceFolders.load(Path.of(data), FaceFolders.Options.resizeTo(56, 46));
        run(faces, s, System.out);
    }

    /** Trains on all people but {@code testPeople} of {@code faces} (1x56x46 images) and evaluates on those. */
    static Outcome run(ImageDataset faces, Settings s, PrintStream out) {
        Rng rng = new Rng(s.seed());
        Splits.Split split = Splits.byIdentity(faces, s.testPeople(), rng.split());
        ImageDataset train = split.train();
        ImageDataset test = split.test();
        out.printf(Locale.ROOT, "%s: %d people train (%d images), %d other people test (%d images)%n", faces,
                train.identityCount(), train.size(), test.identityCount(), test.size());

        Sequential tower = Towers.small(rng.split());
        SiameseNetwork net = new SiameseNetwork(tower);
        LabelConvention convention = LabelConvention.DIFFERENT_IS_ONE;
        ContrastiveLoss loss = new ContrastiveLoss(s.margin(), convention);
        Optimizer optimizer = new Adam(net.parameters(), s.lr());
        PairSampler sampler = new PairSampler(train, 0.5, rng.split());
        double untrained = auc(tower, test);
        out.printf(Locale.ROOT, "%s, margin %.2f, %d pairs per step; untrained held-out AUC %.3f%n", convention,
                s.margin(), s.batchPairs(), untrained);

        float[] epochLoss = new float[s.epochs()];
        for (int epoch = 1; epoch <= s.epochs(); epoch++) {
            tower.train();
            double sum = 0;
            for (int step = 0; step < s.stepsPerEpoch(); step++) {
                Pairs pairs = sampler.sample(s.batchPairs());
                // the sampler says same = 1; the loss wants this convention's label
                int[] labels = new int[pairs.size()];
                for (int i = 0; i < labels.length; i++) {
                    labels[i] = convention.labelFor(pairs.isSame(i));
                }
                SiameseNetwork.PairEmbeddings e = net.forwardPair(train.batch(pairs.first()),
                        train.batch(pairs.second()));
                LossResult r = loss.compute(Distance.EUCLIDEAN, e.first(), e.second(), labels);
                optimizer.zeroGrad();
                r.loss().backward();
                optimizer.step();
                sum += r.value();
            }
            epochLoss[epoch - 1] = (float) (sum / s.stepsPerEpoch());
            out.printf(Locale.ROOT, "epoch %2d: contrastive loss %.4f%n", epoch, epochLoss[epoch - 1]);
        }
        VerificationReport report = report(tower, test);
        out.printf(Locale.ROOT, "held-out people: AUC %.3f, EER %.3f, 10-fold accuracy %.3f at distance %.3f%n",
                report.auc(), report.eer(), report.accuracy(), report.threshold());
        return new Outcome(epochLoss, untrained, report);
    }

    private static double auc(Sequential tower, ImageDataset data) {
        return report(tower, data).auc();
    }

    private static VerificationReport report(Sequential tower, ImageDataset data) {
        return VerificationReport.evaluate(Embeddings.of(tower, data, 64), data.labels(),
                EmbeddingDistance.EUCLIDEAN, Math.min(5, data.identityCount()), 200, new Rng(3));
    }
}
