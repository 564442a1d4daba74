package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.StringJoiner;
import org.siamese4j.io.ModelFile;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Tensor;

/**
 * {@code siamese4j embed}: the embedding vector of each image, one line per image ({@code PATH<TAB>v1 v2 ...}),
 * or with {@code --json} one JSON array of {@code {"image": PATH, "embedding": [...]}} objects.
 */
final class EmbedCommand implements Siamese4j.Command {
    @Override
    public String summary() {
        return "print the embedding vector of each image";
    }

    @Override
    public Options options() {
        return new Options("embed")
                .option("model", "model file written by train (required)")
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
        ModelFile.LoadedModel model = CliData.loadModel(modelPath);
        // a model whose verifier metadata verify would refuse (a NaN threshold, an unknown distance) is refused here
        // too, rather than embedded with as if it were sound
        Verifier.of(model, modelPath);
        Tensor batch = CliData.loadImages(images, model.inputShape());
        // all images in one forward pass, unless their activations would not fit the memory (then a few at a time)
        float[][] embeddings = Embeddings.of(model.model(), batch,
                ModelFile.samplesPerPass(model.arch(), model.inputShape(), images.size()));
        StringJoiner json = new StringJoiner(",\n  ", "[\n  ", "\n]");
        for (int i = 0; i < images.size(); i++) {
            StringJoiner values = new StringJoiner(o.flag("json") ? "," : " ");
            for (float v : embeddings[i]) {
                values.add(Float.toString(v));
            }
            if (o.flag("json")) {
                json.add("{\"image\":" + CliData.quote(images.get(i)) + ",\"embedding\":[" + values + "]}");
            } else {
                out.println(images.get(i) + "\t" + values);
            }
        }
        if (o.flag("json")) {
            out.println(json);
        }
        return 0;
    }
}
