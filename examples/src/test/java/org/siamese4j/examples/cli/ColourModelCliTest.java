package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.StringJoiner;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.verify.ModelSidecar;
import org.siamese4j.siamese.verify.Preprocessing;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;

/**
 * The commands on a colour face model used as one from elsewhere would be: a random siamese4j tower on 3x8x8
 * saved with {@link ModelFile}, a sidecar stating its preprocessing (BGR, 0-255, mean 127.5, std 128), colour PNGs
 * written here, three people of three photos each, each person a colour of their own.
 */
class ColourModelCliTest extends CliRunner {
    private static final int[] INPUT = {3, 8, 8};
    private static final Preprocessing BGR_FACE = new Preprocessing(3, 8, 8, Preprocessing.ChannelOrder.BGR,
            Preprocessing.PixelRange.BYTE, new float[] {127.5f}, new float[] {128f});

    @TempDir
    Path dir;
    private Path model;
    private Path faces;

    @BeforeEach
    void setUp() throws IOException {
        ArchSpec arch = ArchSpec.parse("conv(4,3,pad=1) relu flatten dense(6) l2norm");
        model = dir.resolve("face.safetensors");
        ModelFile.save(model, arch.build(INPUT, new Rng(3)), arch, INPUT);
        faces = dir.resolve("faces");
        Rng rng = new Rng(11);
        int[][] colours = {{220, 40, 40}, {40, 200, 60}, {50, 60, 230}};
        for (int person = 0; person < 3; person++) {
            for (int i = 0; i < 3; i++) {
                png(faces.resolve("p" + person).resolve(i + ".png"), colours[person], rng);
            }
        }
    }

    /** A 10x12 photo (resized to 8x8 by the preprocessing) of {@code colour} with some noise. */
    private static void png(Path file, int[] colour, Rng rng) throws IOException {
        BufferedImage img = new BufferedImage(12, 10, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 10; y++) {
            for (int x = 0; x < 12; x++) {
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    int v = Math.max(0, Math.min(255, colour[c] + (int) ((rng.nextFloat() - 0.5f) * 40) + 3 * x));
                    rgb = (rgb << 8) | v;
                }
                img.setRGB(x, y, rgb);
            }
        }
        Files.createDirectories(file.getParent());
        ImageIO.write(img, "png", file.toFile());
    }

    private String face(int person, int i) {
        return faces.resolve("p" + person).resolve(i + ".png").toString();
    }

    @Test
    void withoutASidecarCalibrateStoresTheThresholdInTheModelFileAsTrainDoes() throws Exception {
        assertThat(run("verify", "--model", model.toString(), face(0, 0), face(0, 1))).isEqualTo(1);
        assertThat(stderr()).contains("no decision threshold").contains("siamese4j calibrate --model");
        assertThat(run("calibrate", "--model", model.toString(), "--data", faces.toString())).isZero();
        assertThat(stdout()).contains("best_accuracy").contains("on 36 pairs")
                .contains("preprocessing: rgb 8x8, pixels 0-1, mean 0.0, std 1.0")
                .contains("written to the model file's metadata");
        assertThat(ModelSidecar.pathFor(model)).doesNotExist();
        assertThat(ModelFile.load(model).metadata()).containsEntry("threshold_kind", "best_accuracy")
                .containsKey("threshold");
        assertThat(run("verify", "--model", model.toString(), face(0, 0), face(0, 0))).isZero();
        assertThat(stdout()).contains("decision: same");
    }

    @Test
    void theSidecarsPreprocessingAndThresholdServeEveryCommand() throws Exception {
        new ModelSidecar(BGR_FACE, Map.of(), 6, "a test tower").write(ModelSidecar.pathFor(model));
        byte[] weights = Files.readAllBytes(model);
        assertThat(run("calibrate", "--model", model.toString(), "--data", faces.toString(), "--target-far", "0.5"))
                .isZero();
        assertThat(stdout()).contains("target_far 0.5").contains("preprocessing: bgr 8x8, pixels 0-255, mean 127.5")
                .contains("written to the sidecar " + ModelSidecar.pathFor(model));
        assertThat(Files.readAllBytes(model)).isEqualTo(weights);
        ModelSidecar sidecar = ModelSidecar.read(ModelSidecar.pathFor(model));
        assertThat(sidecar.preprocessing()).isEqualTo(BGR_FACE);
        assertThat(sidecar.source()).isEqualTo("a test tower");
        assertThat(sidecar.decision()).containsEntry("threshold_kind", "target_far")
                .containsEntry("threshold_target_far", "0.5");
        Verifier v = Verifier.load(model);
        assertThat(v.threshold().orElseThrow().value()).isEqualTo(Double.parseDouble(sidecar.decision()
                .get("threshold")));

        // embed prints what the API computes with the sidecar's preprocessing, bit for bit
        assertThat(run("embed", "--model", model.toString(), face(1, 2))).isZero();
        StringJoiner expected = new StringJoiner(" ");
        for (float x : v.embed(Path.of(face(1, 2)))) {
            expected.add(Float.toString(x));
        }
        assertThat(stdout().trim()).isEqualTo(face(1, 2) + "\t" + expected);

        assertThat(run("verify", "--model", model.toString(), face(2, 0), face(2, 0))).isZero();
        assertThat(stdout()).contains("decision: same");
        Path gallery = dir.resolve("people.gallery");
        assertThat(run("enroll", "--model", model.toString(), "--gallery", gallery.toString(), "--name", "blue",
                face(2, 0), face(2, 1))).isZero();
        assertThat(run("identify", "--model", model.toString(), "--gallery", gallery.toString(), face(2, 1)))
                .isZero();
        assertThat(stdout()).contains("blue");

        assertThat(run("eval", "--model", model.toString(), "--data", faces.toString(), "--ways", "2", "--trials",
                "20", "--json")).isZero();
        assertThat(stdout()).contains("\"model_threshold\":" + v.threshold().orElseThrow().value())
                .contains("\"images\":9");
        assertThat(run("eval", "--model", model.toString())).isEqualTo(2);
        assertThat(stderr()).contains("synthetic faces are grey").contains("--data FOLDER");
    }

    @Test
    void preprocessingOptionsOverrideAndCalibrateStoresThemInANewSidecar() throws Exception {
        assertThat(run("calibrate", "--model", model.toString(), "--data", faces.toString(), "--channel-order", "bgr",
                "--pixel-range", "0-255", "--mean", "127.5", "--std", "128", "--source", "made in a test")).isZero();
        assertThat(stdout()).contains("written to the sidecar");
        ModelSidecar sidecar = ModelSidecar.read(ModelSidecar.pathFor(model));
        assertThat(sidecar.preprocessing()).isEqualTo(BGR_FACE);
        assertThat(sidecar.source()).isEqualTo("made in a test");
        assertThat(sidecar.embeddingSize()).isEqualTo(6);
        // on the command line, the options win over the sidecar
        assertThat(run("embed", "--model", model.toString(), face(0, 0))).isZero();
        String withSidecar = stdout();
        assertThat(run("embed", "--model", model.toString(), "--channel-order", "rgb", face(0, 0))).isZero();
        assertThat(stdout()).isNotEqualTo(withSidecar);
    }

    @Test
    void badPreprocessingOptionsAreUsageErrorsNamingTheOptionAndTheValidValues() {
        assertThat(run("embed", "--model", model.toString(), "--color", "cmyk", face(0, 0))).isEqualTo(2);
        assertThat(stderr()).contains("--color 'cmyk'").contains("valid: rgb, grey");
        assertThat(run("verify", "--model", model.toString(), "--pixel-range", "0-100", face(0, 0), face(0, 1)))
                .isEqualTo(2);
        assertThat(stderr()).contains("--pixel-range").contains("valid: 0-1, 0-255");
        assertThat(run("embed", "--model", model.toString(), "--input-size", "112x112", face(0, 0))).isEqualTo(2);
        assertThat(stderr()).contains("3x112x112").contains("3x8x8");
        assertThat(run("embed", "--model", model.toString(), "--color", "grey", face(0, 0))).isEqualTo(2);
        assertThat(stderr()).contains("1x8x8").contains("3x8x8");
        assertThat(run("calibrate", "--model", model.toString(), "--data", faces.toString(), "--target-far", "2"))
                .isEqualTo(2);
        assertThat(stderr()).contains("--target-far 2 is out of range");
        assertThat(run("calibrate", "--model", model.toString())).isEqualTo(2);
        assertThat(stderr()).contains("--data is required");
    }

    @Test
    void anOnnxFaceModelIsCalibratedIntoItsSidecarAndThenVerifies() throws Exception {
        Path onnx = dir.resolve("face.onnx");
        assertThat(run("export", "--model", model.toString(), "--out", onnx.toString())).as(stderr()).isZero();
        String[] preprocessing = {"--color", "rgb", "--channel-order", "bgr", "--pixel-range", "0-255", "--mean",
                "127.5", "--std", "128"};
        assertThat(run(concat(new String[] {"calibrate", "--model", onnx.toString(), "--data", faces.toString()},
                preprocessing))).as(stderr()).isZero();
        Path sidecar = ModelSidecar.pathFor(onnx);
        assertThat(sidecar).exists();
        assertThat(ModelSidecar.read(sidecar).preprocessing()).isEqualTo(BGR_FACE);
        assertThat(ModelSidecar.read(sidecar).decision()).containsKey("threshold");
        // the sidecar now carries the preprocessing and the threshold: no options needed
        assertThat(run("verify", "--model", onnx.toString(), face(1, 0), face(1, 1))).as(stderr()).isZero();
        assertThat(stdout()).contains("decision: same");
        assertThat(run("verify", "--model", onnx.toString(), face(1, 0), face(2, 1))).as(stderr()).isEqualTo(0);
        assertThat(stdout()).contains("decision: different");
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void aDamagedOnnxFileIsRefusedOnOneLine() throws Exception {
        Path onnx = Files.write(dir.resolve("face.onnx"), new byte[] {8, 7});
        assertThat(run("embed", "--model", onnx.toString(), face(0, 0))).isEqualTo(1);
        assertThat(stderr()).contains("face.onnx").doesNotContain("Exception").doesNotContain("\tat ");
        assertThat(run("help")).isZero();
        assertThat(stdout()).contains("calibrate").contains("export");
    }
}
