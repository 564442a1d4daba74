package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.tensor.Rng;

/**
 * Issue 16: eval and embed of more images than the heap holds as pixels, each in a JVM of its own with a small
 * -Xmx. The target, 100,000 images of 56x46 in -Xmx1g, scaled down: 6,400 images (66 MB as floats) in -Xmx64m.
 * eval and embed used to hold every image as floats before embedding, more than the whole heap here; now they read
 * a batch at a time and keep the embeddings only. The model is a cheap random one: memory is what is tested.
 */
class EvalMemoryCliTest extends CliRunner {
    private static final int[] INPUT = {1, 56, 46};
    private static final int PEOPLE = 800;
    private static final int IMAGES_EACH = 8;
    /** The heap of the child JVMs, with this JVM's kernels so that embeddings can be compared to the last bit. */
    private static final List<String> SMALL_HEAP = concat(ChildJvm.sameKernels(), List.of("-Xmx64m"));

    @TempDir
    Path dir;

    @Test
    void evalAndEmbedOfAFolderLargerThanTheHeapReadItABatchAtATime() throws Exception {
        ArchSpec arch = ArchSpec.parse("maxpool(4) flatten dense(16) l2norm");
        Path model = dir.resolve("m.safetensors");
        ModelFile.save(model, arch.build(INPUT, new Rng(3)), arch, INPUT, Map.of("threshold", "0.5"));
        Path faces = dir.resolve("faces");
        List<String> files = writeFaces(faces);

        Path log = dir.resolve("eval.txt");
        Process eval = ChildJvm.start(log, SMALL_HEAP, "eval", "--model", model.toString(), "--data",
                faces.toString(), "--max-pairs", "100000", "--trials", "100", "--json");
        String json = ChildJvm.finish(eval, log, Duration.ofSeconds(120));
        assertThat(eval.exitValue()).as(json).isZero();
        assertThat(json).contains("\"images\":" + files.size()).contains("\"identities\":" + PEOPLE)
                .contains("\"positive_pairs\":" + PEOPLE * IMAGES_EACH * (IMAGES_EACH - 1) / 2)
                .containsPattern("\"rank1\":0\\.[0-9]+");

        log = dir.resolve("embed.txt");
        List<String> args = new ArrayList<>(List.of("embed", "--model", model.toString()));
        args.addAll(files);
        Process embed = ChildJvm.start(log, SMALL_HEAP, args.toArray(String[]::new));
        String lines = ChildJvm.finish(embed, log, Duration.ofSeconds(120));
        assertThat(embed.exitValue()).as(lines.substring(0, Math.min(2000, lines.length()))).isZero();
        List<String> printed = lines.lines().filter(l -> l.contains("\t")).toList();
        assertThat(printed).hasSize(files.size());
        // in the order given, across batch boundaries: the lines of an embed of fewer images in the same batches
        // of 64 (a batch of another size may round differently in the last bits)
        for (int[] run : new int[][] {{0, 128}, {files.size() - 64, files.size()}}) {
            List<String> some = new ArrayList<>(List.of("embed", "--model", model.toString()));
            some.addAll(files.subList(run[0], run[1]));
            assertThat(run(some.toArray(String[]::new))).isZero();
            assertThat(stdout().lines().toList()).isEqualTo(printed.subList(run[0], run[1]));
        }
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** {@link #PEOPLE} folders of {@link #IMAGES_EACH} noise images of the model's size; returns their paths. */
    private static List<String> writeFaces(Path faces) throws IOException {
        Rng rng = new Rng(5);
        List<String> files = new ArrayList<>();
        float[] px = new float[INPUT[1] * INPUT[2]];
        for (int p = 0; p < PEOPLE; p++) {
            Path person = Files.createDirectories(faces.resolve("p" + p));
            for (int k = 0; k < IMAGES_EACH; k++) {
                for (int i = 0; i < px.length; i++) {
                    px[i] = rng.nextInt(256);
                }
                Path file = person.resolve(k + ".pgm");
                Images.writePgm(GrayImage.of(INPUT[1], INPUT[2], 255f, px), file);
                files.add(file.toString());
            }
        }
        return files;
    }
}
