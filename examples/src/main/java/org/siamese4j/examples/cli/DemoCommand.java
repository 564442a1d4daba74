package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.util.Locale;
import org.siamese4j.data.ToyShapes;
import org.siamese4j.data.ToyShapes.LabelledImages;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.ReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.optim.Adam;
import org.siamese4j.optim.CosineAnnealingLR;
import org.siamese4j.tensor.Functional;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * {@code siamese4j demo}: trains a small convolutional network from scratch on generated images (bars,
 * crosses, rings; nothing to download) and reports its accuracy on images it never saw, before and after
 * training. It exercises the whole core: conv, pooling, dense layers, cross-entropy, autograd and Adam.
 */
final class DemoCommand implements Siamese4j.Command {
    private static final int SIZE = 24;

    @Override
    public String summary() {
        return "train a small CNN from scratch on generated shape images and report held-out accuracy";
    }

    @Override
    public Options options() {
        return new Options("demo")
                .option("epochs", "training epochs (default 6)")
                .option("train", "number of training images (default 3000)")
                .option("batch", "images per step (default 50)")
                .option("lr", "Adam learning rate (default 0.005)")
                .option("seed", "random seed (default 42)")
                .option("threads", "worker threads for the kernels (default: all processors)");
    }

    @Override
    public int run(Options o, PrintStream out) {
        int epochs = o.integer("epochs", 6, 1, 1000);
        int trainCount = o.integer("train", 3000, 30, 1_000_000);
        int batch = o.integer("batch", 50, 1, 10_000);
        float lr = o.number("lr", 0.005f, 1e-7f, 10f);
        long seed = o.longValue("seed", 42);
        int threads = o.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024);
        if (!o.positional().isEmpty()) {
            throw new Options.UsageException("unexpected argument '" + o.positional().get(0) + "'");
        }
        Parallel.setThreads(threads);
        boolean terminal = System.console() != null;

        Rng rng = new Rng(seed);
        LabelledImages train = ToyShapes.generate(trainCount, SIZE, rng.split());
        LabelledImages test = ToyShapes.generate(600, SIZE, rng.split());
        Rng init = rng.split();
        // 24x24 -conv3-> 16x24x24 -pool-> 12x12 -conv3-> 32x12x12 -pool-> 6x6 -> 64 -> 3
        Sequential model = new Sequential(
                new Conv2d(1, 16, 3, 1, 1, init), new ReLU(), new MaxPool2d(2),
                new Conv2d(16, 32, 3, 1, 1, init), new ReLU(), new MaxPool2d(2),
                new Flatten(), new Linear(32 * 6 * 6, 64, init), new ReLU(), new Linear(64, ToyShapes.CLASSES, init));

        out.println("siamese4j demo: classify generated " + SIZE + "x" + SIZE + " images of "
                + String.join(", ", ToyShapes.CLASS_NAMES));
        out.printf(Locale.ROOT, "kernels: %s, threads: %d, training images: %d, held-out images: %d%n",
                KernelProvider.kernels().name(), Parallel.threads(), train.size(), test.size());
        out.println(model);
        out.printf(Locale.ROOT, "parameters: %,d%n", model.parameterCount());
        double before = accuracy(model, test);
        out.printf(Locale.ROOT, "held-out accuracy before training: %.1f%% (chance is %.1f%%)%n", 100 * before,
                100.0 / ToyShapes.CLASSES);

        Adam optimizer = new Adam(model.parameters(), lr);
        CosineAnnealingLR schedule = new CosineAnnealingLR(optimizer, epochs);
        Rng order = rng.split();
        int steps = (train.size() + batch - 1) / batch;
        long start = System.nanoTime();
        for (int epoch = 1; epoch <= epochs; epoch++) {
            LabelledImages shuffled = train.reorder(order.permutation(train.size()));
            Progress progress = new Progress(out, terminal, String.format(Locale.ROOT, "epoch %d/%d", epoch, epochs),
                    steps);
            double lossSum = 0;
            for (int step = 0; step < steps; step++) {
                LabelledImages b = shuffled.range(step * batch, Math.min(train.size(), (step + 1) * batch));
                optimizer.zeroGrad();
                Tensor loss = Functional.crossEntropy(model.forward(b.images()), b.labels());
                loss.backward();
                optimizer.step();
                lossSum += loss.item();
                progress.update(step + 1, String.format(Locale.ROOT, "loss %.4f", lossSum / (step + 1)), batch);
            }
            schedule.step();
            out.printf(Locale.ROOT, "epoch %d/%d: mean loss %.4f, held-out accuracy %.1f%%%n", epoch, epochs,
                    lossSum / steps, 100 * accuracy(model, test));
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double after = accuracy(model, test);
        out.printf(Locale.ROOT, "done in %.1f s (%.0f images/s): held-out accuracy %.1f%% -> %.1f%%%n", seconds,
                (double) epochs * train.size() / seconds, 100 * before, 100 * after);
        return 0;
    }

    private static double accuracy(Module model, LabelledImages data) {
        model.eval();
        int correct = 0;
        try (var noGrad = Tensor.noGrad()) {
            int[] predicted = model.forward(data.images()).argmax(1);
            for (int i = 0; i < predicted.length; i++) {
                correct += predicted[i] == data.labels()[i] ? 1 : 0;
            }
        }
        model.train();
        return (double) correct / data.size();
    }
}
