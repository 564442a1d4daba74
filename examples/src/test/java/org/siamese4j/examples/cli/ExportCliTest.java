package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.onnx.OnnxExporter;
import org.siamese4j.onnx.OnnxModel;
import org.siamese4j.tensor.Rng;

/** {@code siamese4j export --model M --out M.onnx}: the file written and what is printed, and the usage errors. */
class ExportCliTest extends CliRunner {
    private static final int[] INPUT = {1, 12, 10};

    @TempDir
    Path dir;

    private Path savedModel() throws IOException {
        ArchSpec arch = ArchSpec.parse("conv(4,3,pad=1) batchnorm relu maxpool(2) residual(conv(4,3,pad=1) batchnorm)"
                + " globalavgpool flatten dense(8) l2norm");
        Path model = dir.resolve("model.safetensors");
        ModelFile.save(model, arch.build(INPUT, new Rng(5)), arch, INPUT);
        return model;
    }

    @Test
    void exportWritesTheOnnxModelOfTheFileAndDescribesIt() throws IOException {
        Path model = savedModel();
        Path onnx = dir.resolve("model.onnx");
        assertThat(run("export", "--model", model.toString(), "--out", onnx.toString())).as(stderr()).isEqualTo(0);
        OnnxModel written = OnnxModel.read(onnx);
        assertThat(written).isEqualTo(OnnxExporter.export(ModelFile.load(model)));
        assertThat(written.metadata()).containsEntry("input", "1x12x10");
        assertThat(stdout()).startsWith("wrote " + onnx + "\n")
                .contains("input:      input: FLOAT [batch, 1, 12, 10]")
                .contains("output:     embedding: FLOAT [batch, 8]")
                .contains("operators:  Conv 2, BatchNormalization 2, Relu 1, MaxPool 1, Add 1");
    }

    @Test
    void missingOptionsAreUsageErrorsAndABadModelAFailureWithNothingWritten() throws IOException {
        assertThat(run("export", "--model", "m.safetensors")).isEqualTo(2);
        assertThat(stderr()).contains("--model MODEL and --out FILE.onnx are required");
        Path notAModel = Files.writeString(dir.resolve("notes.txt"), "hello");
        Path onnx = dir.resolve("out.onnx");
        assertThat(run("export", "--model", notAModel.toString(), "--out", onnx.toString())).isEqualTo(1);
        assertThat(stderr()).startsWith("siamese4j export: error:");
        assertThat(onnx).doesNotExist();
        assertThat(run("help")).isEqualTo(0);
        assertThat(stdout()).contains("export     write a model's tower as an ONNX file");
    }
}
