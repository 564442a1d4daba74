package org.siamese4j.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.nn.Graph;
import org.siamese4j.onnx.OnnxImporter;
import org.siamese4j.onnx.OnnxModel;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Inference of an imported ONNX network ({@link OnnxImporter#load}, batch norm folded, eval mode), with the
 * protocol of {@link TowerBench}'s inference benchmarks ({@link InferenceBench}: {@code inferBatch1}, latency in
 * ms; {@code inferBatch64}, images/s in the secondary {@code images} column). Issue 18 measures batch 1 on 1
 * thread and batch 64 on 2 threads, against ONNX Runtime Java on the same file ({@code bench/onnx-peer/run.sh};
 * both in one session: {@code bench/onnx-same-run.sh}).
 *
 * <p>{@code model} is one of the importer's fixtures bundled in this jar ({@link #BUNDLED}, copied by the bench
 * pom from core's test resources) or the path of any {@code .onnx} file: {@code -p model=/path/to/net.onnx}.
 * The images are uniform in [0, 1) with the model's own input shape.
 */
public class OnnxNetBench extends InferenceBench {
    /** The fixtures in this jar, as {@code org/siamese4j/bench/onnx/NAME_opset13.onnx}. */
    static final List<String> BUNDLED = List.of("mobilefacenet_like", "resnet_small");

    @Param({"1", "2"})
    public int threads;

    /** A bundled fixture's name or an {@code .onnx} file's path. */
    @Param({"mobilefacenet_like"})
    public String model;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        Parallel.setThreads(threads);
        KernelLine.print();
        OnnxImporter.ImportedModel imported = load(model);
        Graph net = imported.graph();
        inferenceNetwork = net;
        int[] chw = imported.inputShape();
        System.out.println("# model " + model + ": input " + Arrays.toString(chw) + ", " + imported.outputSize()
                + " outputs, " + net.parameterCount() + " parameters");
        Rng rng = new Rng(7);
        single = Tensor.rand(rng, 1, chw[0], chw[1], chw[2]);
        batch64 = Tensor.rand(rng, 64, chw[0], chw[1], chw[2]);
    }

    /** The bundled fixture of that name, or else the file at that path, imported for inference. */
    static OnnxImporter.ImportedModel load(String model) throws IOException {
        if (!BUNDLED.contains(model)) {
            Path file = Path.of(model);
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("OnnxNetBench: model '" + model
                        + "' is neither a bundled fixture " + BUNDLED + " nor an existing .onnx file");
            }
            return OnnxImporter.load(file);
        }
        String resource = "onnx/" + model + "_opset13.onnx";
        try (InputStream in = OnnxNetBench.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("OnnxNetBench: resource " + resource + " is not in the jar");
            }
            return OnnxImporter.importModel(OnnxModel.read(in.readAllBytes(), resource),
                    OnnxImporter.Options.inference(), resource);
        }
    }
}
