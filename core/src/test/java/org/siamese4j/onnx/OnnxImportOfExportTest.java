package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.Locale;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.onnx.OnnxImporter.ImportedModel;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * What OnnxExporter writes imports back and computes what the exported tower computes: bit for bit with every layer
 * kept as exported (Options.fineTuning: the same ops in the same order), to float rounding with batch norm folded.
 * Reflect padding is exported as a Pad node before its Conv, which the importer folds back into the Conv.
 */
class OnnxImportOfExportTest {

    private static void assertImportsBack(String what, Sequential tower, OnnxModel exported, Tensor x)
            throws IOException {
        tower.eval();
        OnnxModel read = OnnxModel.read(exported.toBytes(), what);
        ImportedModel kept = OnnxImporter.importModel(read, OnnxImporter.Options.fineTuning(), what);
        ImportedModel folded = OnnxImporter.importModel(read, OnnxImporter.Options.inference(), what);
        try (var scope = Tensor.noGrad()) {
            Tensor ours = tower.forward(x);
            Tensor back = kept.graph().forward(x);
            double foldedDiff = OnnxImporterParityTest.maxDifference(folded.graph().forward(x), ours);
            System.out.printf(Locale.ROOT, "%s exported and imported: %s as exported, max |difference| %.3g with "
                    + "batch norm folded%n", what, java.util.Arrays.equals(back.toArray(), ours.toArray())
                    ? "the same bits" : "different bits", foldedDiff);
            assertThat(back.toArray()).as(what).containsExactly(ours.toArray());
            assertThat(foldedDiff).as(what).isLessThanOrEqualTo(1e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference_like", "residual", "depthwise_prelu", "reflect_dilated"})
    void theExportersTowersImportBackBitForBit(String name) throws IOException {
        ExportFixtures.Tower tower = ExportFixtures.towers().get(name);
        tower.model().loadStateDict(SafeTensors.read(OnnxImporterParityTest.fixture("export/" + name
                + "_state.safetensors")).tensors(), true);
        Tensor x = SafeTensors.read(OnnxImporterParityTest.fixture("export/" + name + "_io.safetensors")).tensors()
                .get("input");
        tower.model().eval();
        assertImportsBack("export/" + name, tower.model(), OnnxExporter.export(tower.model(), tower.inputShape()), x);
    }

    @Test
    void everyLayerKindTheExporterWritesImportsBackBitForBit() throws IOException {
        String spec = "conv(4,3,stride=2,pad=1,pad_mode=reflect) batchnorm relu conv(4,3,pad=1,groups=4)"
                + " leakyrelu(0.2) prelu maxpool(2) avgpool(2,stride=1) residual(conv(4,1) batchnorm sigmoid |"
                + " conv(4,1)) tanh globalavgpool flatten dense(6) batchnorm prelu dropout(0.1) dense(5) l2norm";
        int[] input = {3, 12, 10};
        Sequential tower = ArchSpec.parse(spec).build(input, new Rng(1));
        // running statistics other than 0 and 1, so that the batch norms do something
        tower.train();
        try (var scope = Tensor.noGrad()) {
            tower.forward(Tensor.uniform(new Rng(2), -1f, 1f, 6, 3, 12, 10));
        }
        tower.eval();
        assertImportsBack("every layer kind", tower, OnnxExporter.export(tower, input),
                Tensor.uniform(new Rng(3), -1f, 1f, 4, 3, 12, 10));
    }

    @Test
    void anEnsembleOfTowersInAConcatImportsBackBitForBit() throws IOException {
        String tower = "conv(4,3,pad=1) batchnorm relu maxpool(2) conv(8,3,pad=1) batchnorm relu maxpool(2) flatten"
                + " dense(8) l2norm";
        String spec = "concat(" + tower + " | " + tower + " | conv(2,1) relu globalavgpool flatten) l2norm";
        int[] input = {1, 12, 10};
        Sequential ensemble = ArchSpec.parse(spec).build(input, new Rng(4));
        ensemble.train();
        try (var scope = Tensor.noGrad()) {
            ensemble.forward(Tensor.uniform(new Rng(5), -1f, 1f, 6, 1, 12, 10));
        }
        ensemble.eval();
        assertImportsBack("a concat ensemble", ensemble, OnnxExporter.export(ensemble, input),
                Tensor.uniform(new Rng(6), -1f, 1f, 4, 1, 12, 10));
    }
}
