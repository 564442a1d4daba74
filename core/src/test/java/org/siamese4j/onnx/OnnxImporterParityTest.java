package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.nn.BatchNorm;
import org.siamese4j.onnx.OnnxImporter.ImportedModel;
import org.siamese4j.tensor.Tensor;

/**
 * Every fixture file PyTorch 1.13 wrote (README.md beside them) imports and gives torch's output to 1e-4, with
 * batch norm folded (inference) and kept (fine-tuning), on whichever kernels this surefire execution runs.
 */
class OnnxImporterParityTest {
    static final double TOLERANCE = 1e-4;

    static Path fixture(String name) {
        try {
            return Path.of(OnnxImporterParityTest.class.getResource(name).toURI());
        } catch (URISyntaxException | NullPointerException e) {
            throw new IllegalStateException("missing test resource " + name, e);
        }
    }

    static Stream<String> files() {
        return Stream.of("mobilefacenet_like", "resnet_small").flatMap(net -> Stream.of("_opset9", "_opset11",
                "_opset13", "_opset17", "_opset13_unfused_bn", "_opset21").map(s -> net + s + ".onnx"));
    }

    static Tensor[] io(String file) throws IOException {
        String net = file.startsWith("mobilefacenet_like") ? "mobilefacenet_like" : "resnet_small";
        var contents = SafeTensors.read(fixture(net + "_io.safetensors")).tensors();
        return new Tensor[] {contents.get("input"), contents.get("output")};
    }

    static double maxDifference(Tensor a, Tensor b) {
        assertThat(a.shape()).containsExactly(b.shape());
        double max = 0;
        for (int i = 0; i < a.size(); i++) {
            max = Math.max(max, Math.abs(a.data()[i] - b.data()[i]));
        }
        return max;
    }

    @ParameterizedTest
    @MethodSource("files")
    void importedNetworkGivesTorchsOutput(String file) throws IOException {
        Tensor[] io = io(file);
        for (OnnxImporter.Options options : new OnnxImporter.Options[] {OnnxImporter.Options.inference(),
            OnnxImporter.Options.fineTuning()}) {
            ImportedModel m = OnnxImporter.load(fixture(file), options);
            assertThat(m.graph().isTraining()).isFalse();
            assertThat(m.inputName()).isEqualTo("input");
            assertThat(m.outputName()).isEqualTo("embedding");
            assertThat(m.outputSize()).isEqualTo(128);
            assertThat(m.inputShape()).containsExactly(io[0].dim(1), io[0].dim(2), io[0].dim(3));
            Tensor y;
            try (var scope = Tensor.noGrad()) {
                y = m.graph().forward(io[0]);
            }
            double diff = maxDifference(y, io[1]);
            long batchNorms = m.graph().namedModules().values().stream().filter(BatchNorm.class::isInstance).count();
            System.out.printf(Locale.ROOT, "%s %s (%s kernels, %d batch norms kept): max |difference| to torch %.3g%n",
                    file, options, org.siamese4j.kernels.KernelProvider.description().replaceAll(" \\(.*", ""), batchNorms, diff);
            assertThat(diff).as(file + " " + options).isLessThanOrEqualTo(TOLERANCE);
            if (options.foldBatchNorm() && !file.contains("mobilefacenet")) {
                assertThat(batchNorms).isZero(); // every batch norm follows a conv in resnet_small
            }
            // a batch of one gives the same row: nothing depends on the batch size given at import
            Tensor first = io[0].slice(0, 1);
            try (var scope = Tensor.noGrad()) {
                assertThat(maxDifference(m.graph().forward(first), io[1].slice(0, 1))).isLessThanOrEqualTo(TOLERANCE);
            }
        }
    }

}
