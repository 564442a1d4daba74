package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.siamese.data.ColorImage;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.Normalization;

class PreprocessingTest {
    @TempDir
    Path dir;

    /** MobileFaceNet / ArcFace: RGB, 0-255, (x - 127.5) / 128. */
    static Preprocessing arcFace(int h, int w) {
        return new Preprocessing(3, h, w, Preprocessing.ChannelOrder.RGB, Preprocessing.PixelRange.BYTE,
                new float[] {127.5f}, new float[] {128f});
    }

    /** A 3x2 colour PNG whose red, green and blue differ at every pixel; returns the planes written. */
    static float[][] writeColourPng(Path file) throws Exception {
        BufferedImage img = new BufferedImage(2, 3, BufferedImage.TYPE_INT_RGB);
        float[][] planes = new float[3][6];
        for (int y = 0; y < 3; y++) {
            for (int x = 0; x < 2; x++) {
                int r = 10 + 40 * y + x;
                int g = 200 - 30 * x - y;
                int b = 7 * (x + 2 * y) + 1;
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
                planes[0][y * 2 + x] = r;
                planes[1][y * 2 + x] = g;
                planes[2][y * 2 + x] = b;
            }
        }
        ImageIO.write(img, "png", file.toFile());
        return planes;
    }

    @Test
    void readColorKeepsTheThreeChannelsOfAColourPng() throws Exception {
        Path png = dir.resolve("c.png");
        float[][] planes = writeColourPng(png);
        ColorImage c = Images.readColor(png);
        assertThat(c.height()).isEqualTo(3);
        assertThat(c.width()).isEqualTo(2);
        assertThat(c.maxValue()).isEqualTo(255f);
        for (int ch = 0; ch < 3; ch++) {
            assertThat(c.plane(ch).pixels()).containsExactly(planes[ch]);
        }
        // the grey reader still gives luma of the same file
        GrayImage grey = Images.read(png);
        assertThat(grey.get(1, 1)).isEqualTo(0.299f * planes[0][3] + 0.587f * planes[1][3] + 0.114f * planes[2][3]);
    }

    @Test
    void readColorRepeatsTheGreyPlaneOfAPgm() throws Exception {
        Path pgm = dir.resolve("g.pgm");
        GrayImage g = GrayImage.of(2, 2, 65535f, new float[] {0, 1000, 40000, 65535});
        Images.writePgm(g, pgm);
        ColorImage c = Images.readColor(pgm);
        assertThat(c.maxValue()).isEqualTo(65535f);
        for (int ch = 0; ch < 3; ch++) {
            assertThat(c.plane(ch).pixels()).containsExactly(0, 1000, 40000, 65535);
        }
    }

    @Test
    void theModelFilesOwnPreprocessingLeavesEveryBitAsTheGreyPathDid() {
        float[] px = new float[35];
        for (int i = 0; i < px.length; i++) {
            px[i] = (i * 37) % 256;
        }
        GrayImage image = GrayImage.of(5, 7, 255f, px);
        float[] before = image.scaledToUnit().resize(4, 3).pixels();
        assertThat(Preprocessing.of(new int[] {1, 4, 3}, null).prepare(image)).containsExactly(before);
        Normalization n = new Normalization(0.43f, 0.27f);
        float[] standardised = before.clone();
        for (int i = 0; i < standardised.length; i++) {
            standardised[i] = (standardised[i] - 0.43f) / 0.27f;
        }
        assertThat(Preprocessing.of(new int[] {1, 4, 3}, n).prepare(image)).containsExactly(standardised);
    }

    @Test
    void arcFaceConventionOnAColourFileAndChannelOrder() throws Exception {
        Path png = dir.resolve("c.png");
        float[][] planes = writeColourPng(png);
        float[] rgb = arcFace(3, 2).prepare(png);
        float[] bgr = arcFace(3, 2).withOptions(Map.of("channel-order", "bgr")).prepare(png);
        for (int ch = 0; ch < 3; ch++) {
            for (int i = 0; i < 6; i++) {
                assertThat(rgb[ch * 6 + i]).isEqualTo((planes[ch][i] - 127.5f) / 128f);
                assertThat(bgr[ch * 6 + i]).isEqualTo((planes[2 - ch][i] - 127.5f) / 128f);
            }
        }
        // per-channel mean and std in 0-1 units
        Preprocessing unit = arcFace(3, 2).withOptions(Map.of("pixel-range", "0-1", "mean", "0.5,0.4,0.3",
                "std", "0.2,0.25,0.5"));
        float[] x = unit.prepare(png);
        float[] means = {0.5f, 0.4f, 0.3f};
        float[] stds = {0.2f, 0.25f, 0.5f};
        for (int ch = 0; ch < 3; ch++) {
            assertThat(x[ch * 6 + 5]).isEqualTo((planes[ch][5] / 255f - means[ch]) / stds[ch]);
        }
    }

    @Test
    void aGreyImageMeetingAColourModelIsRepeatedAndDeeperImagesScaleTo255() {
        GrayImage g16 = GrayImage.of(1, 2, 65535f, new float[] {0f, 65535f});
        float[] x = arcFace(1, 2).prepare(g16);
        assertThat(x).containsExactly(-127.5f / 128f, 127.5f / 128f, -127.5f / 128f, 127.5f / 128f,
                -127.5f / 128f, 127.5f / 128f);
        // resized like the grey path: a 2x4 image shrinks to 1x2 by the same bilinear rule, plane by plane
        GrayImage wide = GrayImage.of(2, 4, 255f, new float[] {0, 0, 255, 255, 0, 0, 255, 255});
        assertThat(arcFace(1, 2).prepare(wide)).containsExactly(-127.5f / 128f, 127.5f / 128f, -127.5f / 128f,
                127.5f / 128f, -127.5f / 128f, 127.5f / 128f);
    }

    @Test
    void aGreyModelRefusesAColourImage() {
        ColorImage c = ColorImage.fromGray(GrayImage.of(1, 1, 1f, new float[] {0.5f}));
        assertThatThrownBy(() -> Preprocessing.of(new int[] {1, 1, 1}, null).prepare(c))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("grey").hasMessageContaining("luma");
    }

    @Test
    void optionsParseAndTheirErrorsNameTheOptionAndTheValidValues() {
        Preprocessing grey = Preprocessing.of(new int[] {1, 56, 46}, null);
        Preprocessing face = grey.withOptions(Map.of("input-size", "112x112", "color", "rgb", "pixel-range", "0-255",
                "mean", "127.5", "std", "128"));
        assertThat(face).isEqualTo(arcFace(112, 112));
        assertThat(face.toString()).isEqualTo("rgb 112x112, pixels 0-255, mean 127.5, std 128.0");
        assertThat(face.withOptions(Map.of("channel-order", "bgr", "mean", "1,2,3")).toString())
                .isEqualTo("bgr 112x112, pixels 0-255, mean 1.0,2.0,3.0, std 128.0");
        assertThat(grey.toString()).isEqualTo("grey 56x46, pixels 0-1, mean 0.0, std 1.0");
        Map<String, String[]> bad = new HashMap<>();
        bad.put("input-size", new String[] {"112", "--input-size", "HEIGHTxWIDTH"});
        bad.put("color", new String[] {"cmyk", "--color", "rgb, grey"});
        bad.put("channel-order", new String[] {"gbr", "--channel-order", "rgb, bgr"});
        bad.put("pixel-range", new String[] {"0-65535", "--pixel-range", "0-1, 0-255"});
        bad.put("mean", new String[] {"1,2", "--mean", "one per channel"});
        bad.put("std", new String[] {"0", "--std", "each positive"});
        for (Map.Entry<String, String[]> e : bad.entrySet()) {
            String[] v = e.getValue();
            assertThatThrownBy(() -> face.withOptions(Map.of(e.getKey(), v[0])))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(v[1]).hasMessageContaining(v[2]);
        }
        assertThatThrownBy(() -> face.withOptions(Map.of("gamma", "2")))
                .hasMessageContaining("--gamma").hasMessageContaining("--channel-order");
        // a per-channel mean does not silently survive a change to grey
        assertThatThrownBy(() -> face.withOptions(Map.of("mean", "1,2,3")).withOptions(Map.of("color", "grey")))
                .hasMessageContaining("--mean is needed");
    }
}
