package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.nio.file.Path;
import org.siamese4j.io.ModelFile;
import org.siamese4j.onnx.OnnxExporter;
import org.siamese4j.onnx.OnnxModel;

/**
 * {@code siamese4j export}: writes a model file's tower as an ONNX model ({@link OnnxExporter}), so that ONNX
 * Runtime and other ONNX tools run it; prints what was written. A head network in the file is left out.
 */
final class ExportCommand implements Siamese4j.Command {
    @Override
    public String summary() {
        return "write a model's tower as an ONNX file (opset 13) for ONNX Runtime";
    }

    @Override
    public Options options() {
        return new Options("export")
                .option("model", "model file written by train (required)")
                .option("out", "the ONNX file to write, e.g. model.onnx (required; replaced if it exists)");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        o.requireNoPositional();
        String modelPath = o.string("model", null);
        String outPath = o.string("out", null);
        if (modelPath == null || outPath == null) {
            throw new Options.UsageException("--model MODEL and --out FILE.onnx are required");
        }
        OnnxModel onnx = OnnxExporter.export(CliData.loadModel(modelPath));
        onnx.write(Path.of(outPath));
        out.println("wrote " + outPath);
        out.print(onnx.describe());
        return 0;
    }
}
