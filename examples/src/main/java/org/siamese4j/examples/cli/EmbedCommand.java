package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.StringJoiner;
import org.siamese4j.siamese.verify.Preprocessing;
import org.siamese4j.siamese.verify.Verifier;

/**
 * {@code siamese4j embed}: the embedding vector of each image, one line per image ({@code PATH<TAB>v1 v2 ...}),
 * or with {@code --json} one JSON array of {@code {"image": PATH, "embedding": [...]}} objects. The images are
 * read and embedded at most {@value EvalCommand#EMBEDDING_BATCH} at a time, so memory holds one batch of pixels and
 * the embeddings, whatever the number of images.
 */
final class EmbedCommand implements Siamese4j.Command {
    @Override
    public String summary() {
        return "print the embedding vector of each image";
    }

    @Override
    public Options options() {
        return VerifierCli.withPreprocessingOptions(new Options("embed"))
                .option("model", VerifierCli.MODEL_HELP)
                .flag("json", "print one JSON array instead of one line per image");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        String modelPath = o.string("model", null);
        if (modelPath == null) {
            throw new Options.UsageException("--model MODEL is required");
        }
        List<String> images = o.positional();
        if (images.isEmpty()) {
            throw new Options.UsageException("give at least one image file (PGM, PNG, JPEG): embed --model MODEL IMG...");
        }
        // a model whose verifier metadata verify would refuse (a NaN threshold, an unknown distance) is refused here
        // too, rather than embedded with as if it were sound
        Verifier verifier = VerifierCli.load(o, modelPath);
        Preprocessing preprocessing = VerifierCli.preprocessing(verifier);
        // Read and embedded a batch at a time, as eval embeds: only the embeddings of all images are kept, and
        // nothing is printed until every image has been read, so a bad image leaves stdout empty. The batches are
        // of equal size (give or take one), never a last one of a few images: the GEMM multiplies a product of a
        // few rows by another path, which rounds differently, and embed prints what one batch of all images gave.
        // At most as many images a batch as the array size and the activation cap (a quarter of the heap) allow.
        int most = verifier.samplesPerPass(EvalCommand.embeddingBatch(verifier.inputShape()));
        int batches = (images.size() + most - 1) / most;
        float[][] embeddings = verifier.embedBatches(images.size(), (images.size() + batches - 1) / batches,
                (from, to) -> CliData.loadImages(images.subList(from, to), preprocessing));
        boolean json = o.flag("json");
        if (json) {
            out.println("[");
        }
        for (int i = 0; i < images.size(); i++) {
            StringJoiner values = new StringJoiner(json ? "," : " ");
            for (float v : embeddings[i]) {
                values.add(Float.toString(v));
            }
            if (json) {
                out.println("  {\"image\":" + CliData.quote(images.get(i)) + ",\"embedding\":[" + values + "]}"
                        + (i + 1 < images.size() ? "," : ""));
            } else {
                out.println(images.get(i) + "\t" + values);
            }
        }
        if (json) {
            out.println("]");
        }
        return 0;
    }
}
