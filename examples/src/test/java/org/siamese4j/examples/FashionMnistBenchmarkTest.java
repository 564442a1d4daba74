package org.siamese4j.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.siamese4j.siamese.data.Idx;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The Fashion-MNIST held-out benchmark: a short run (about ten seconds on 2 cores) when the data is present, and
 * the class split and subset draw on a toy dataset always.
 */
class FashionMnistBenchmarkTest {

    /**
     * Train on 300 images of each class 0-5 for 2 short epochs, evaluate on 150 images of each never-seen class
     * 6-9: the trained tower must rank and verify the held-out classes better than the same tower untrained.
     */
    @Test
    @Tag("training")
    void trainingOnClasses0To5HelpsOnTheUnseenClasses6To9() throws IOException {
        Path dir = fashionMnist();
        assumeTrue(dir != null, "Fashion-MNIST not found (../shared/data/fashion-mnist); skipped");
        ImageDataset train = Idx.read(dir.resolve("train-images-idx3-ubyte.gz"),
                dir.resolve("train-labels-idx1-ubyte.gz"), FashionMnistBenchmark.CLASS_NAMES);
        ImageDataset test = Idx.read(dir.resolve("t10k-images-idx3-ubyte.gz"),
                dir.resolve("t10k-labels-idx1-ubyte.gz"), FashionMnistBenchmark.CLASS_NAMES);
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buffer, true, StandardCharsets.UTF_8);

        FashionMnistBenchmark.Outcome o = FashionMnistBenchmark.run(train, test,
                new FashionMnistBenchmark.Settings(FashionMnistBenchmark.ARCH, 2, 300, 150, 6, 16, "batch-hard",
                        0.2f, 1e-3f, 1), out);
        String printed = buffer.toString(StandardCharsets.UTF_8);
        System.out.print(printed);

        // every held-out image is a query with 149 mates among the 599 others
        assertThat(o.trained().retrieval().queries()).isEqualTo(600);
        assertThat(o.untrained().retrieval().queries()).isEqualTo(600);
        assertThat(o.trained().auc()).isGreaterThan(o.untrained().auc());
        assertThat(o.trained().mapAtR()).isGreaterThan(o.untrained().mapAtR());
        assertThat(o.trained().retrieval().rPrecision()).isGreaterThan(o.untrained().retrieval().rPrecision());
        // the seen classes were learnt: their test images are ranked better than by the untrained tower
        assertThat(o.seenTrained().mapAtR()).isGreaterThan(o.seenUntrained().mapAtR());
        assertThat(o.seenTrained().queries()).isEqualTo(900);
        assertThat(o.epochLoss()).hasSize(2);
        for (float l : o.epochLoss()) {
            assertThat(l).isFinite().isPositive();
        }
        assertThat(printed).contains("1800 images; held-out classes 6-9 (Shirt, Sneaker, Bag, Ankle boot), 600 test")
                .contains("held-out, raw pixels:").contains("held-out, untrained:").contains("epoch  2: loss")
                .contains("held-out, trained:").contains("seen classes 0-5, 900 test images: Recall@1");
    }

    @Test
    void perClassDrawsFromTheAskedClassesOnlyAndIsSeeded() {
        // 10 classes x 7 images, image i of class c at index 10 * i + c (classes interleaved, as in the files)
        int n = 70;
        int[] labels = new int[n];
        float[] px = new float[n * 4];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 10;
            Arrays.fill(px, i * 4, i * 4 + 4, i);
        }
        ImageDataset data = new ImageDataset(Tensor.wrap(px, n, 1, 2, 2), labels, FashionMnistBenchmark.CLASS_NAMES);

        ImageDataset heldOut = FashionMnistBenchmark.perClass(data, 6, 10, 3, new Rng(4));
        assertThat(heldOut.size()).isEqualTo(12);
        for (int c = 0; c < 10; c++) {
            assertThat(heldOut.countOf(c)).isEqualTo(c >= 6 ? 3 : 0);
        }
        ImageDataset again = FashionMnistBenchmark.perClass(data, 6, 10, 3, new Rng(4));
        assertThat(FashionMnistBenchmark.pixelEmbeddings(again)).isDeepEqualTo(
                FashionMnistBenchmark.pixelEmbeddings(heldOut));
        // a class with fewer images than asked gives all of them
        assertThat(FashionMnistBenchmark.perClass(data, 0, 6, 50, new Rng(1)).size()).isEqualTo(42);
        // pixels: each image's values, row by row; image of original index 10 * i + c has value 10 * i + c
        float[][] p = FashionMnistBenchmark.pixelEmbeddings(heldOut);
        for (int i = 0; i < p.length; i++) {
            assertThat(p[i]).hasSize(4);
            assertThat((int) p[i][0] % 10).isEqualTo(heldOut.label(i));
        }
    }

    @Test
    void unknownMinerIsNamedWithTheValidChoices() {
        assertThatThrownBy(() -> FashionMnistBenchmark.miner("batch-all"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown --miner 'batch-all'; valid: semi-hard, batch-hard");
    }

    /** shared/data/fashion-mnist next to the repository, found by walking up from the working directory. */
    private static Path fashionMnist() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path candidate = p.resolve("shared").resolve("data").resolve("fashion-mnist");
            if (Files.isRegularFile(candidate.resolve("train-images-idx3-ubyte.gz"))) {
                return candidate;
            }
        }
        return null;
    }
}
