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
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.CosineAnnealingLR;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.Idx;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.Retrieval;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.mining.BatchHardMiner;
import org.siamese4j.siamese.mining.OnlineMiner;
import org.siamese4j.siamese.mining.SemiHardMiner;
import org.siamese4j.siamese.train.OnlineTripletObjective;
import org.siamese4j.siamese.train.Trainer;
import org.siamese4j.tensor.Rng;

/**
 * A held-out metric-learning benchmark on Fashion-MNIST: train an embedding on clothing classes 0-5 only, then
 * measure how well it groups classes 6-9 (shirt, sneaker, bag, ankle boot), which it has never seen. That is the
 * face-verification question ("recognise people who were not in the training set") on data where it is harder:
 * a shirt looks much like the T-shirts, pullovers and coats of training, while a sneaker or a bag is new.
 *
 * <p>Training: a small conv tower built from an {@link ArchSpec} for 1x28x28 images, triplet loss with online
 * mining ({@link OnlineTripletObjective}, through the {@link Trainer}) on P x K batches (P classes x K images),
 * Adam with a cosine learning-rate schedule. An epoch is as many batches as it takes to draw as many images as the
 * training subset holds. Evaluation, on the 1,000
 * test-set images of each held-out class: leave-one-out retrieval ({@link Retrieval}: Recall@1, Recall@4,
 * R-precision, MAP@R) and the verification AUC over every pair. The same figures are printed for the untrained
 * tower and for raw pixels (the 784 grey values as the embedding), so the trained numbers have something to be
 * compared with, and Recall@1 and MAP@R for the seen classes' test images, which shows how much better the
 * network does on the classes it was trained on.
 *
 * <p>The defaults are a short run on purpose: on these held-out classes the gain over the untrained tower comes
 * early, and longer training (or semi-hard mining, which fits the seen classes faster) makes it shrink or turn into
 * a loss. docs/fashion-mnist.md has the figures.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp examples/target/siamese4j.jar \
 *     org.siamese4j.examples.FashionMnistBenchmark --data PATH/fashion-mnist [--epochs 2] [--train-per-class 1000]
 *     [--test-per-class 1000] [--p 6] [--k 32] [--miner batch-hard|semi-hard] [--margin 0.2] [--lr 0.001]
 *     [--arch SPEC] [--seed 1] [--threads N]</pre>
 */
public final class FashionMnistBenchmark {
    /** Class names of Fashion-MNIST, label order (Xiao, Rasul and Vollgraf 2017). */
    static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");
    /** Classes 0 .. TRAIN_CLASSES - 1 are trained on; the rest are held out. */
    static final int TRAIN_CLASSES = 6;
    /** Two conv blocks (28 -> 14 -> 7), then a 64-number unit-length embedding; about 0.2 M parameters. */
    static final String ARCH = "conv(32,3,pad=1) batchnorm relu maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) "
            + "flatten dense(64) l2norm";
    static final int[] INPUT = {1, 28, 28};

    /** What a run does; {@link #defaults()} is the configuration of docs/fashion-mnist.md. */
    record Settings(String arch, int epochs, int trainPerClass, int testPerClass, int p, int k, String miner,
                    float margin, float lr, long seed) {
        static Settings defaults() {
            return new Settings(ARCH, 2, 1000, 1000, 6, 32, "batch-hard", 0.2f, 1e-3f, 1);
        }
    }

    /** The figures of one embedding on one evaluation set. */
    record Figures(Retrieval.Report retrieval, double auc) {
        double mapAtR() {
            return retrieval.mapAtR();
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "Recall@1 %.3f, Recall@4 %.3f, R-precision %.3f, MAP@R %.3f, AUC %.3f",
                    retrieval.recallAt(1), retrieval.recallAt(4), retrieval.rPrecision(), retrieval.mapAtR(), auc);
        }
    }

    /**
     * What {@link #run} measured: held-out figures for raw pixels and the tower before and after training, and
     * retrieval on the seen classes' test images before and after.
     */
    record Outcome(Figures pixels, Figures untrained, Figures trained, Retrieval.Report seenUntrained,
                   Retrieval.Report seenTrained, float[] epochLoss, double trainSeconds) {
    }

    private FashionMnistBenchmark() {
    }

    public static void main(String[] args) throws IOException {
        ExampleArgs a;
        Settings s;
        Path data;
        try {
            a = new ExampleArgs("FashionMnistBenchmark", args, Set.of("data", "arch", "epochs", "train-per-class",
                    "test-per-class", "p", "k", "miner", "margin", "lr", "seed", "threads"));
            String dir = a.string("data", null);
            if (dir == null || !Files.isRegularFile(Path.of(dir, "train-images-idx3-ubyte.gz"))) {
                throw new IllegalArgumentException("FashionMnistBenchmark: --data PATH must name the Fashion-MNIST "
                        + "folder holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
                        + "t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
                        + (dir == null ? "" : "; '" + dir + "' does not") + ". See docs/fashion-mnist.md.");
            }
            data = Path.of(dir);
            Settings d = Settings.defaults();
            s = new Settings(a.string("arch", d.arch()), a.integer("epochs", d.epochs(), 1),
                    a.integer("train-per-class", d.trainPerClass(), 2),
                    a.integer("test-per-class", d.testPerClass(), 2), a.integer("p", d.p(), 2),
                    a.integer("k", d.k(), 2), a.string("miner", d.miner()), a.number("margin", d.margin()),
                    a.number("lr", d.lr()), a.longValue("seed", d.seed()));
            miner(s.miner());
            int[] embedding = ArchSpec.parse(s.arch()).outputShape(INPUT);   // fails unless it fits 1x28x28
            if (embedding.length != 1) {
                throw new IllegalArgumentException("FashionMnistBenchmark: --arch must end in a vector (add "
                        + "flatten and dense), but it outputs " + ArchSpec.formatInput(embedding) + " per image");
            }
            if (s.p() > TRAIN_CLASSES) {
                throw new IllegalArgumentException("FashionMnistBenchmark: --p is the number of classes per batch, "
                        + "at most the " + TRAIN_CLASSES + " training classes, got " + s.p());
            }
            Parallel.setThreads(a.integer("threads", Runtime.getRuntime().availableProcessors(), 1));
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.exit(2);
            return;
        }
        ImageDataset train = Idx.read(data.resolve("train-images-idx3-ubyte.gz"),
                data.resolve("train-labels-idx1-ubyte.gz"), CLASS_NAMES);
        ImageDataset test = Idx.read(data.resolve("t10k-images-idx3-ubyte.gz"),
                data.resolve("t10k-labels-idx1-ubyte.gz"), CLASS_NAMES);
        run(train, test, s, System.out);
    }

    /**
     * Trains on {@code trainPerClass} images of each class 0-5 of {@code trainSet} (seeded draw) and evaluates on
     * {@code testPerClass} images of each class 6-9 of {@code testSet}, printing progress and the figures.
     */
    static Outcome run(ImageDataset trainSet, ImageDataset testSet, Settings s, PrintStream out) {
        long start = System.nanoTime();
        Rng rng = new Rng(s.seed());
        ImageDataset train = perClass(trainSet, 0, TRAIN_CLASSES, s.trainPerClass(), rng.split());
        ImageDataset heldOut = perClass(testSet, TRAIN_CLASSES, CLASS_NAMES.size(), s.testPerClass(), rng.split());
        ImageDataset seen = perClass(testSet, 0, TRAIN_CLASSES, s.testPerClass(), rng.split());
        out.printf(Locale.ROOT, "Fashion-MNIST: train classes 0-5 (%s), %d images; held-out classes 6-9 (%s), %d "
                        + "test images%n", String.join(", ", CLASS_NAMES.subList(0, TRAIN_CLASSES)), train.size(),
                String.join(", ", CLASS_NAMES.subList(TRAIN_CLASSES, CLASS_NAMES.size())), heldOut.size());
        out.printf(Locale.ROOT, "kernels %s, threads %d, JDK %s%n", KernelProvider.kernels().name(),
                Parallel.threads(), Runtime.version());

        Figures pixels = figures(pixelEmbeddings(heldOut), heldOut.labels());
        out.printf(Locale.ROOT, "held-out, raw pixels:     %s%n", pixels);
        ArchSpec arch = ArchSpec.parse(s.arch());
        Sequential tower = arch.build(INPUT, rng.split());
        Figures untrained = figures(Embeddings.of(tower, heldOut, 256), heldOut.labels());
        out.printf(Locale.ROOT, "held-out, untrained:      %s%n", untrained);
        Retrieval.Report seenUntrained = seenRetrieval(tower, seen);

        Adam adam = new Adam(tower.parameters(), s.lr());
        OnlineTripletObjective objective = new OnlineTripletObjective(train, s.p(), s.k(),
                TripletLoss.hard(s.margin(), Distance.EUCLIDEAN), miner(s.miner()), rng.split());
        int stepsPerEpoch = objective.stepsPerEpoch();
        CosineAnnealingLR schedule = new CosineAnnealingLR(adam, s.epochs() * stepsPerEpoch);
        out.printf(Locale.ROOT, "tower %s (%,d parameters); triplet loss, margin %.2f, %s miner, P %d x K %d, "
                        + "%d steps per epoch, Adam %.4f with cosine decay%n", arch,
                arch.parameterCount(INPUT), s.margin(), s.miner(), s.p(), s.k(), stepsPerEpoch, s.lr());

        long trainStart = System.nanoTime();
        float[] epochLoss = new float[s.epochs()];
        long[] kinds = new long[3];                 // easy, semi-hard, hard triplets of the epoch
        Trainer trainer = Trainer.builder(tower, objective, adam, train).schedule(schedule)
                .listener(new Trainer.Listener() {
                    @Override
                    public void onStep(Trainer.StepReport r) {
                        if (!r.skipped()) {
                            kinds[0] += r.mined().easy();
                            kinds[1] += r.mined().semiHard();
                            kinds[2] += r.mined().hard();
                        }
                    }

                    @Override
                    public void onEpoch(Trainer.EpochReport e) {
                        long triplets = Math.max(1, kinds[0] + kinds[1] + kinds[2]);
                        epochLoss[e.epoch() - 1] = (float) e.meanLoss();
                        Retrieval.Report now = Retrieval.leaveOneOut(Embeddings.of(tower, heldOut, 256),
                                heldOut.labels(), 1);
                        out.printf(Locale.ROOT, "epoch %2d: loss %.4f, active %3.0f%%, triplets easy %3.0f%% "
                                        + "semi-hard %3.0f%% hard %3.0f%%; held-out Recall@1 %.3f, MAP@R %.3f "
                                        + "(%.0f s)%n", e.epoch(), e.meanLoss(), 100 * e.activeFraction(),
                                100.0 * kinds[0] / triplets, 100.0 * kinds[1] / triplets, 100.0 * kinds[2] / triplets,
                                now.recallAt(1), now.mapAtR(), seconds(trainStart));
                        java.util.Arrays.fill(kinds, 0);
                    }
                }).build();
        try {
            trainer.fit(Trainer.Budget.epochs(s.epochs()));
        } catch (IOException e) {
            throw new UncheckedIOException("no checkpoint is written, so this cannot happen", e);
        }
        double trainSeconds = seconds(trainStart);

        Figures trained = figures(Embeddings.of(tower, heldOut, 256), heldOut.labels());
        Retrieval.Report seenTrained = seenRetrieval(tower, seen);
        out.printf(Locale.ROOT, "held-out, trained:        %s%n", trained);
        out.printf(Locale.ROOT, "seen classes 0-5, %d test images: Recall@1 %.3f -> %.3f, MAP@R %.3f -> %.3f "
                        + "(untrained -> trained)%n", seen.size(), seenUntrained.recallAt(1),
                seenTrained.recallAt(1), seenUntrained.mapAtR(), seenTrained.mapAtR());
        out.printf(Locale.ROOT, "training %.0f s, total %.0f s%n", trainSeconds, seconds(start));
        return new Outcome(pixels, untrained, trained, seenUntrained, seenTrained, epochLoss, trainSeconds);
    }

    /** Retrieval among the seen classes' test images: images the tower never trained on, of classes it did. */
    private static Retrieval.Report seenRetrieval(Sequential tower, ImageDataset seen) {
        return Retrieval.leaveOneOut(Embeddings.of(tower, seen, 256), seen.labels(), EmbeddingDistance.EUCLIDEAN, 1);
    }

    static OnlineMiner miner(String name) {
        return switch (name) {
            case "semi-hard" -> new SemiHardMiner();
            case "batch-hard" -> new BatchHardMiner();
            default -> throw new IllegalArgumentException("FashionMnistBenchmark: unknown --miner '" + name
                    + "'; valid: semi-hard, batch-hard");
        };
    }

    /**
     * Retrieval (leave-one-out, Euclidean) and the AUC over every pair. Every pair of 4,000 images is 8 million
     * pairs, a few seconds and a few hundred megabytes; that is why the AUC is not measured after every epoch.
     */
    static Figures figures(float[][] embeddings, int[] labels) {
        Retrieval.Report retrieval = Retrieval.leaveOneOut(embeddings, labels, EmbeddingDistance.EUCLIDEAN, 1, 4);
        double auc = ScoredPairs.all(embeddings, labels, EmbeddingDistance.EUCLIDEAN).roc().auc();
        return new Figures(retrieval, auc);
    }

    /**
     * {@code perClass} images of each class in [{@code from}, {@code to}), drawn without replacement with
     * {@code rng} and kept in file order (all of a class's images when it has fewer).
     */
    static ImageDataset perClass(ImageDataset data, int from, int to, int perClass, Rng rng) {
        List<Integer> picked = new ArrayList<>();
        for (int c = from; c < to; c++) {
            int[] members = data.indicesOf(c);
            int[] order = rng.permutation(members.length);
            int take = Math.min(perClass, members.length);
            int[] chosen = new int[take];
            for (int i = 0; i < take; i++) {
                chosen[i] = members[order[i]];
            }
            for (int i : chosen) {
                picked.add(i);
            }
        }
        int[] indices = picked.stream().mapToInt(Integer::intValue).sorted().toArray();
        return data.subset(indices);
    }

    /** Each image's grey values, row by row, as its "embedding". */
    static float[][] pixelEmbeddings(ImageDataset data) {
        float[] px = data.images().data();
        int d = data.channels() * data.height() * data.width();
        float[][] out = new float[data.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = java.util.Arrays.copyOfRange(px, i * d, (i + 1) * d);
        }
        return out;
    }

    private static double seconds(long since) {
        return (System.nanoTime() - since) / 1e9;
    }
}
