package org.siamese4j.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Init;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.Towers;
import org.siamese4j.siamese.data.FaceFolders;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.Splits;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.mining.OfflineTripletSelector;
import org.siamese4j.siamese.train.OfflineTripletObjective;
import org.siamese4j.siamese.train.Trainer;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Triplet loss with offline mining in stages (the FaceNet paper's first recipe, before it moved to online mining):
 * each stage draws random triplets (anchor, positive, negative) from the whole training set, measures them with
 * the current network, and keeps only the hard ones (the negative is closer than the positive) and the semi-hard
 * ones (the negative is farther, but by less than the margin); the network then trains on those. Easy triplets
 * (already a margin apart) give zero loss and zero gradient, so throwing them away spends the training steps where
 * they teach something. As the network improves, fewer candidates are non-easy; the selection stops when their
 * fraction drops below a threshold. The tower ends in an L2-normalisation, so every embedding lies on the unit
 * sphere and distances are between 0 and 2, and its convolution and dense weights are re-initialised with Xavier
 * (Glorot) uniform initialisation.
 *
 * <p>By default on synthetic faces (half a minute or so on 2 cores); {@code --data PATH} uses the AT&amp;T faces.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp examples/target/siamese4j.jar \
 *     org.siamese4j.examples.OfflineMiningExample [--data PATH/att_faces] [--stages 6] [--candidates 1500]
 *     [--passes 2] [--batch 32] [--margin 0.3] [--lr 0.002] [--min-non-easy 0.05] [--people 100] [--images 6]
 *     [--test-people 40] [--seed 5]</pre>
 */
public final class OfflineMiningExample {
    /**
     * What a run does; {@link #defaults()} is the synthetic run of the docs.
     *
     * @param stages     at most this many mining stages
     * @param candidates random triplets measured per stage
     * @param passes     passes over each stage's kept triplets
     * @param batch      triplets per optimiser step
     * @param minNonEasy stop after a stage with fewer non-easy candidates than this fraction
     * @param people     synthetic training people (ignored with AT&amp;T faces)
     * @param images     images per synthetic person
     * @param testPeople people held out, never seen in training
     */
    record Settings(int stages, int candidates, int passes, int batch, float margin, float lr, double minNonEasy,
                    int people, int images, int testPeople, long seed) {
        static Settings defaults() {
            return new Settings(6, 1500, 2, 32, 0.3f, 2e-3f, 0.05, 100, 6, 40, 5);
        }
    }

    /** What {@link #run} measured: one report and one mean loss per stage, and the held-out evaluation. */
    record Outcome(List<OfflineTripletSelector.StageReport> stages, float[] stageLoss, double untrainedAuc,
                   VerificationReport heldOut) {
    }

    private OfflineMiningExample() {
    }

    public static void main(String[] args) throws IOException {
        ExampleArgs a;
        Settings s;
        try {
            a = new ExampleArgs("OfflineMiningExample", args, Set.of("data", "stages", "candidates", "passes",
                    "batch", "margin", "lr", "min-non-easy", "people", "images", "test-people", "seed"));
            Settings d = Settings.defaults();
            boolean att = a.string("data", null) != null;
            String fraction = a.string("min-non-easy", Double.toString(d.minNonEasy()));
            double minNonEasy;
            try {
                minNonEasy = Double.parseDouble(fraction.trim());
            } catch (NumberFormatException e) {
                minNonEasy = Double.NaN;
            }
            if (!(minNonEasy >= 0 && minNonEasy <= 1)) {
                throw new IllegalArgumentException("OfflineMiningExample: --min-non-easy expects a fraction from 0 "
                        + "to 1 (0: never stop early), got '" + fraction + "'");
            }
            s = new Settings(a.integer("stages", d.stages(), 1), a.integer("candidates", d.candidates(), 1),
                    a.integer("passes", d.passes(), 1), a.integer("batch", d.batch(), 1),
                    a.number("margin", d.margin()), a.number("lr", d.lr()), minNonEasy,
                    a.integer("people", d.people(), 2), a.integer("images", d.images(), 2),
                    a.integer("test-people", att ? 10 : d.testPeople(), 2), a.longValue("seed", d.seed()));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        String data = a.string("data", null);
        ImageDataset train;
        ImageDataset test;
        if (data == null) {
            train = SyntheticFaces.generateRange(0, s.people(), s.images(), s.seed(), 56, 46);
            // identities from 1000 on: people the training set never contains
            test = SyntheticFaces.generateRange(1000, s.testPeople(), 6, s.seed(), 56, 46);
        } else {
            if (!Files.isDirectory(Path.of(data))) {
                System.err.println("OfflineMiningExample: --data PATH must name the att_faces folder (s1 .. s40, "
                        + "ten PGM images each); '" + data + "' is not a folder. See docs/examples.md for how to get "
                        + "the AT&T faces.");
                System.exit(2);
                return;
            }
            ImageDataset faces = FaceFolders.load(Path.of(data), FaceFolders.Options.resizeTo(56, 46));
            Splits.Split split = Splits.byIdentity(faces, s.testPeople(), new Rng(s.seed()).split());
            train = split.train();
            test = split.test();
        }
        run(train, test, s, System.out);
    }

    /** Trains on {@code train} in mining stages and evaluates on {@code test} (other people, 1x56x46 images). */
    static Outcome run(ImageDataset train, ImageDataset test, Settings s, PrintStream out) {
        Rng rng = new Rng(s.seed());
        Sequential tower = Towers.small(rng.split());
        xavierInit(tower, rng.split());
        double untrained = report(tower, test).auc();
        out.printf(Locale.ROOT, "train %s, test %s (other people); Xavier-initialised tower with unit-length "
                + "embeddings; untrained held-out AUC %.3f%n", train, test, untrained);

        TripletLoss loss = TripletLoss.hard(s.margin(), Distance.EUCLIDEAN);
        Optimizer optimizer = new Adam(tower.parameters(), s.lr());
        out.printf(Locale.ROOT, "margin %.2f; each stage measures %d random triplets and keeps the %s ones; stop "
                + "below %.0f%% non-easy or after %d stages%n", s.margin(), s.candidates(),
                OfflineTripletObjective.KEEP, 100 * s.minNonEasy(), s.stages());

        // One stage per epoch: the objective mines with the tower as it is, then the trainer runs the passes.
        List<OfflineTripletSelector.StageReport> stages = new ArrayList<>();
        List<Float> stageLoss = new ArrayList<>();
        OfflineTripletObjective objective = new OfflineTripletObjective(train, loss, s.candidates(), s.minNonEasy(),
                s.batch(), s.passes(), rng.split(), stages::add);
        Trainer trainer = Trainer.builder(tower, objective, optimizer, train).listener(new Trainer.Listener() {
            @Override
            public void onEpoch(Trainer.EpochReport e) {
                OfflineTripletSelector.StageReport r = stages.get(stages.size() - 1);
                float mean = e.steps() == 0 ? 0f : (float) e.meanLoss();
                stageLoss.add(mean);
                out.printf(Locale.ROOT, "%s (easy %d, semi-hard %d, hard %d of %d); trained %d steps, mean loss "
                                + "%.4f%n", r, r.stats().easy(), r.stats().semiHard(), r.stats().hard(),
                        r.candidates(), e.steps(), mean);
            }
        }).build();
        Trainer.Result result;
        try {
            result = trainer.fit(Trainer.Budget.epochs(s.stages()));
        } catch (IOException e) {
            throw new UncheckedIOException("no checkpoint is written, so this cannot happen", e);
        }
        out.println("stopped: " + (result.reason() == Trainer.StopReason.OBJECTIVE_DONE ? "few non-easy triplets left"
                : "stage limit reached"));

        VerificationReport report = report(tower, test);
        out.printf(Locale.ROOT, "held-out people: AUC %.3f (untrained %.3f), EER %.3f, 10-fold accuracy %.3f at "
                + "distance %.3f%n", report.auc(), untrained, report.eer(), report.accuracy(), report.threshold());
        float[] losses = new float[stageLoss.size()];
        for (int i = 0; i < losses.length; i++) {
            losses[i] = stageLoss.get(i);
        }
        return new Outcome(stages, losses, untrained, report);
    }

    /**
     * Xavier (Glorot) uniform initialisation of every convolution and dense layer: weights from U(-b, b) with
     * b = sqrt(6 / (fanIn + fanOut)), which keeps the variance of activations and of gradients about the same from
     * layer to layer; biases zero.
     */
    static void xavierInit(Module tower, Rng rng) {
        for (Module m : tower.namedModules().values()) {
            Tensor weight = null;
            Tensor bias = null;
            if (m instanceof Conv2d conv) {
                weight = conv.weight();
                bias = conv.bias();
            } else if (m instanceof Linear linear) {
                weight = linear.weight();
                bias = linear.bias();
            }
            if (weight != null) {
                Init.xavierUniform(weight, 1.0, rng);
                if (bias != null) {
                    Init.zeros(bias);
                }
            }
        }
    }

    private static VerificationReport report(Sequential tower, ImageDataset data) {
        return VerificationReport.evaluate(Embeddings.of(tower, data, 64), data.labels(),
                EmbeddingDistance.EUCLIDEAN, Math.min(5, data.identityCount()), 200, new Rng(3));
    }
}
