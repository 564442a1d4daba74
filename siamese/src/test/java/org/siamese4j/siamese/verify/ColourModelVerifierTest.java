package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.onnx.OnnxExporter;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A siamese4j tower that takes colour images (3x6x5), saved with {@link ModelFile}, used as a face model from
 * elsewhere would be: with a sidecar stating BGR, 0-255 pixels, mean 127.5 and std 128, and a threshold.
 */
class ColourModelVerifierTest {
    private static final int[] INPUT = {3, 6, 5};
    private static final ArchSpec ARCH = ArchSpec.parse("conv(4,3,pad=1) relu flatten dense(6)");

    @TempDir
    Path dir;
    private Sequential tower;
    private Path model;

    @BeforeEach
    void saveModel() throws Exception {
        tower = ARCH.build(INPUT, new Rng(7));
        tower.eval();
        model = dir.resolve("face.safetensors");
        ModelFile.save(model, tower, ARCH, INPUT);
    }

    private static Preprocessing bgrFace() {
        return PreprocessingTest.arcFace(6, 5).withOptions(Map.of("channel-order", "bgr"));
    }

    /** A colour PNG of {@code h x w} with pixels drawn from {@code rng}; returns its red, green and blue planes. */
    static float[][] colourPng(Path file, int h, int w, Rng rng, int base) throws Exception {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        float[][] planes = new float[3][h * w];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] v = new int[3];
                for (int c = 0; c < 3; c++) {
                    v[c] = Math.min(255, base + (int) (rng.nextFloat() * 60));
                    planes[c][y * w + x] = v[c];
                }
                img.setRGB(x, y, (v[0] << 16) | (v[1] << 8) | v[2]);
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(img, "png", file.toFile());
        return planes;
    }

    /** The tower's embedding of one input, by hand. */
    private float[] forward(float[] input) {
        try (var noGrad = Tensor.noGrad()) {
            return tower.forward(Tensor.wrap(input, 1, 3, 6, 5)).data();
        }
    }

    private void writeSidecar(ModelSidecar s) throws Exception {
        s.write(ModelSidecar.pathFor(model));
    }

    @Test
    void withoutASidecarTheModelTakesRgbInZeroToOne() throws Exception {
        Path png = dir.resolve("a.png");
        float[][] planes = colourPng(png, 6, 5, new Rng(1), 40);
        Verifier v = Verifier.load(model);
        assertThat(v.preprocessing()).contains(Preprocessing.of(INPUT, null));
        float[] x = new float[90];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 30; i++) {
                x[c * 30 + i] = planes[c][i] / 255f;
            }
        }
        assertThat(v.embed(png)).containsExactly(forward(x));
        assertThat(v.arch()).isEqualTo(ARCH);
        assertThat(v.samplesPerPass(64)).isEqualTo(ModelFile.samplesPerPass(ARCH, INPUT, 64));
    }

    @Test
    void theSidecarsPreprocessingDistanceAndThresholdApply() throws Exception {
        writeSidecar(new ModelSidecar(bgrFace(), Map.of("distance", "cosine", "threshold", "0.25"), 6, "test"));
        Path png = dir.resolve("a.png");
        float[][] planes = colourPng(png, 6, 5, new Rng(2), 100);
        Verifier v = Verifier.load(model);
        assertThat(v.preprocessing()).contains(bgrFace());
        assertThat(v.distanceKind()).isEqualTo(Distance.COSINE);
        assertThat(v.threshold().orElseThrow().value()).isEqualTo(0.25);
        float[] x = new float[90];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 30; i++) {
                x[c * 30 + i] = (planes[2 - c][i] - 127.5f) / 128f;
            }
        }
        float[] expected = forward(x);
        assertThat(v.embed(png)).containsExactly(expected);
        // a photo twice the size is resized plane by plane as the grey path resizes
        Path big = dir.resolve("big.png");
        float[][] bigPlanes = colourPng(big, 12, 10, new Rng(3), 100);
        float[] resized = new float[90];
        for (int c = 0; c < 3; c++) {
            float[] p = GrayImage.of(12, 10, 255f, bigPlanes[2 - c]).resize(6, 5).pixels();
            for (int i = 0; i < 30; i++) {
                resized[c * 30 + i] = (p[i] - 127.5f) / 128f;
            }
        }
        assertThat(v.embed(big)).containsExactly(forward(resized));
        // a grey file meets the colour model as its plane three times
        Path pgm = dir.resolve("g.pgm");
        GrayImage grey = GrayImage.of(6, 5, 255f, planes[1]);
        Images.writePgm(grey, pgm);
        float[] repeated = new float[90];
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < 30; i++) {
                repeated[c * 30 + i] = (planes[1][i] - 127.5f) / 128f;
            }
        }
        assertThat(v.embed(pgm)).containsExactly(forward(repeated));
        assertThat(v.verify(png, png).same()).isTrue();
    }

    @Test
    void aSidecarThatDoesNotFitTheModelIsRefusedNamingTheKey() throws Exception {
        writeSidecar(new ModelSidecar(PreprocessingTest.arcFace(112, 112), Map.of(), 0, null));
        assertThatThrownBy(() -> Verifier.load(model)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("key \"preprocessing.input_size\"").hasMessageContaining("3x112x112")
                .hasMessageContaining("3x6x5");
        writeSidecar(new ModelSidecar(bgrFace().withOptions(Map.of("color", "grey")), Map.of(), 0, null));
        assertThatThrownBy(() -> Verifier.load(model)).hasMessageContaining("key \"preprocessing.color\"");
        writeSidecar(new ModelSidecar(null, Map.of(), 128, null));
        assertThatThrownBy(() -> Verifier.load(model)).hasMessageContaining("key \"embedding_size\"")
                .hasMessageContaining("128").hasMessageContaining("gives 6");
        writeSidecar(new ModelSidecar(null, Map.of("threshold", "Infinity"), 0, null));
        assertThatThrownBy(() -> Verifier.load(model)).hasMessageContaining("key \"threshold\"")
                .hasMessageContaining("accept every pair");
        writeSidecar(new ModelSidecar(null, Map.of("distance", "manhattan"), 0, null));
        assertThatThrownBy(() -> Verifier.load(model)).hasMessageContaining("key \"distance\"")
                .hasMessageContaining("cosine");
    }

    @Test
    void theFingerprintChangesWithTheSidecarsPreprocessingOnly() throws Exception {
        String plain = Verifier.load(model).fingerprint();
        writeSidecar(new ModelSidecar(null, Map.of("threshold", "0.5"), 6, null));
        assertThat(Verifier.load(model).fingerprint()).isEqualTo(plain);
        writeSidecar(new ModelSidecar(bgrFace(), Map.of(), 0, null));
        assertThat(Verifier.load(model).fingerprint()).isNotEqualTo(plain);
    }

    @Test
    void calibratesOnAFolderOfColourFacesAndTheThresholdRoundTripsThroughTheSidecar() throws Exception {
        writeSidecar(new ModelSidecar(bgrFace(), Map.of(), 0, null));
        Path faces = dir.resolve("faces");
        Rng rng = new Rng(4);
        for (int person = 0; person < 3; person++) {
            for (int i = 0; i < 3; i++) {
                colourPng(faces.resolve("p" + person).resolve(i + ".png"), 6, 5, rng, 60 * person);
            }
        }
        Verifier v = Verifier.load(model);
        Verifier calibrated = v.calibrate(faces, Calibration.bestAccuracy());
        Threshold t = calibrated.threshold().orElseThrow();
        assertThat(t.pairs()).isEqualTo(36);
        // the same threshold as calibrating the embeddings of the files listed by hand
        List<Path> files = new ArrayList<>();
        int[] labels = new int[9];
        for (int k = 0; k < 9; k++) {
            files.add(faces.resolve("p" + k / 3).resolve(k % 3 + ".png"));
            labels[k] = k / 3;
        }
        // (in the same batches: one image at a time rounds differently in the last bits)
        float[][] embeddings = v.embedFiles(files);
        assertThat(v.calibrate(embeddings, labels, Calibration.bestAccuracy()).value()).isEqualTo(t.value());
        calibrated.sidecar("a test tower").write(ModelSidecar.pathFor(model));
        Verifier reloaded = Verifier.load(model);
        assertThat(reloaded.threshold()).contains(t);
        assertThat(reloaded.preprocessing()).contains(bgrFace());
        assertThat(ModelSidecar.read(ModelSidecar.pathFor(model)).source()).isEqualTo("a test tower");
    }

    @Test
    void aTowerWithoutAnArchSpecEmbedsAlikeInModestBatches() throws Exception {
        Verifier spec = Verifier.load(model).withPreprocessing(bgrFace());
        Sequential copy = ARCH.build(INPUT, new Rng(99));
        copy.loadStateDict(tower.stateDict(), true);
        Verifier v = Verifier.ofTower(copy, INPUT, bgrFace(), Distance.EUCLIDEAN, "a graph");
        assertThat(v.arch()).isNull();
        assertThat(v.architecture()).isEqualTo("a graph");
        assertThat(v.embeddingSize()).isEqualTo(6);
        assertThat(v.samplesPerPass(64)).isEqualTo(8);
        Path png = dir.resolve("a.png");
        colourPng(png, 6, 5, new Rng(5), 20);
        assertThat(v.embed(png)).containsExactly(spec.embed(png));
        assertThat(v.toString()).contains("a graph on 3x6x5");
        assertThatThrownBy(() -> v.save(dir.resolve("x.safetensors"))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("sidecar");
        // a gallery records the description where an arch spec would be, and takes the verifier back
        Gallery g = new Gallery(v.withThreshold(1.0));
        g.enrollEmbeddings("alice", new float[][] {v.embed(png)});
        Path file = dir.resolve("g.gallery");
        g.save(file);
        assertThat(Gallery.load(file, v.withThreshold(1.0)).identify(png).nearest()).isEqualTo("alice");
        assertThatThrownBy(() -> Verifier.ofTower(copy, new int[] {3, 6, 6}, null, Distance.EUCLIDEAN, "x"))
                .isInstanceOf(RuntimeException.class);
        assertThatThrownBy(() -> Verifier.ofTower(copy, INPUT, PreprocessingTest.arcFace(6, 6), Distance.EUCLIDEAN,
                "x")).hasMessageContaining("3x6x6").hasMessageContaining("3x6x5");
    }

    @Test
    void anOnnxExportOfTheTowerLoadsAsAVerifierThatEmbedsAlike() throws Exception {
        Path onnx = dir.resolve("face.ONNX");
        OnnxExporter.export(tower, INPUT).write(onnx);
        assertThat(Verifier.isOnnx(onnx)).isTrue();
        assertThat(Verifier.isOnnx(model)).isFalse();
        Verifier imported = Verifier.load(onnx).withPreprocessing(bgrFace());
        Verifier original = Verifier.load(model).withPreprocessing(bgrFace());
        assertThat(imported.arch()).isNull();
        assertThat(imported.architecture()).isEqualTo("onnx face.ONNX");
        assertThat(imported.distanceKind()).isEqualTo(Distance.COSINE);
        Path png = dir.resolve("a.png");
        colourPng(png, 6, 5, new Rng(5), 20);
        float[] a = imported.embed(png);
        float[] b = original.embed(png);
        assertThat(a).hasSize(6);
        for (int i = 0; i < a.length; i++) {
            assertThat(a[i]).as("element %d", i).isCloseTo(b[i], within(1e-5f));
        }
    }

    @Test
    void aDamagedOnnxFileIsRefusedNamingTheFile() throws Exception {
        Path onnx = Files.write(dir.resolve("face.onnx"), new byte[] {8, 7});
        assertThatThrownBy(() -> Verifier.load(onnx)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("face.onnx");
    }
}
