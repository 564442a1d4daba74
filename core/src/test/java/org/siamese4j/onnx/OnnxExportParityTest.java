package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.tensor.Tensor;

/**
 * The fixed-seed towers of {@link ExportFixtures}, with their committed state, exported again, against the files
 * committed under {@code export/} and what ONNX Runtime 1.30 computed from those files ({@code check_export.py},
 * with every graph optimisation off): the export gives the committed bytes (so any change in what the exporter
 * writes is seen here, and the fixtures regenerated on purpose), and our own forward gives ONNX Runtime's
 * embeddings.
 */
class OnnxExportParityTest {
    /** Float32 rounding of two implementations of the same maths on unit-length embeddings. */
    private static final float TOLERANCE = 1e-5f;

    private static Path fixture(String file) {
        try {
            return Path.of(OnnxExportParityTest.class.getResource("export/" + file).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference_like", "residual", "depthwise_prelu", "reflect_dilated"})
    void theExportIsTheCommittedFileAndOurForwardGivesOnnxRuntimesOutput(String name) throws IOException {
        ExportFixtures.Tower tower = ExportFixtures.towers().get(name);
        tower.model().loadStateDict(SafeTensors.read(fixture(name + "_state.safetensors")).tensors(), true);
        tower.model().eval();
        OnnxModel exported = OnnxExporter.export(tower.model(), tower.inputShape());
        byte[] committed = Files.readAllBytes(fixture(name + ".onnx"));
        // the library's version is part of the file; the rest must be the same bytes
        OnnxModel asCommitted = new OnnxModel(exported.irVersion(), exported.producerName(),
                OnnxModel.read(committed).producerVersion(), exported.opsetImports(), exported.metadata(),
                exported.graph());
        assertThat(asCommitted.toBytes()).as(name + ".onnx").isEqualTo(committed);

        Map<String, Tensor> io = SafeTensors.read(fixture(name + "_io.safetensors")).tensors();
        Tensor input = io.get("input");
        Tensor expected = io.get("output");
        assertThat(input.dim(0)).isEqualTo(3);
        Tensor ours;
        try (var noGrad = Tensor.noGrad()) {
            ours = tower.model().forward(input);
        }
        assertThat(ours.shape()).containsExactly(expected.shape());
        float worst = 0;
        for (int i = 0; i < ours.data().length; i++) {
            worst = Math.max(worst, Math.abs(ours.data()[i] - expected.data()[i]));
        }
        System.out.printf("%s: ONNX Runtime vs ours, max |difference| %.2e over %d values%n", name, worst,
                ours.data().length);
        assertThat(worst).as(name + ": max |ONNX Runtime - ours|").isLessThanOrEqualTo(TOLERANCE);
    }
}
