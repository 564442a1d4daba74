package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FaceFoldersTest {

    @TempDir
    Path root;

    /** A 2x3 PGM whose every pixel is {@code value} (so the test can tell images apart after loading). */
    private static void writeFace(Path file, int value, int height, int width) throws IOException {
        Files.createDirectories(file.getParent());
        float[] px = new float[height * width];
        java.util.Arrays.fill(px, value);
        Images.writePgm(GrayImage.of(height, width, 255f, px), file);
    }

    private static void writeFace(Path file, int value) throws IOException {
        writeFace(file, value, 2, 3);
    }

    @Test
    void naturalOrder() {
        List<String> names = new ArrayList<>(List.of("s10", "s2", "s1", "S3", "s01", "a", "10.pgm", "9.pgm", "s1a",
                "s100000000000000000000"));
        names.sort(NaturalOrder.INSTANCE);
        assertThat(names).containsExactly("9.pgm", "10.pgm", "a", "s01", "s1", "s1a", "s2", "S3", "s10",
                "s100000000000000000000");
    }

    @Test
    void loadsIdentitiesAndImagesInNaturalOrderSkippingHiddenAndNonImages() throws IOException {
        // Pixel value = 10 * identity position + image position, so order is visible in the data.
        writeFace(root.resolve("s1/1.pgm"), 0);
        writeFace(root.resolve("s1/2.pgm"), 1);
        writeFace(root.resolve("s1/10.pgm"), 2);
        writeFace(root.resolve("s2/3.pgm"), 10);
        writeFace(root.resolve("s10/1.pgm"), 20);
        writeFace(root.resolve("s10/.hidden.pgm"), 99);
        Files.writeString(root.resolve("s10/notes.txt"), "not an image");
        writeFace(root.resolve(".git/1.pgm"), 99);
        Files.writeString(root.resolve("README.md"), "ignored");

        ImageDataset ds = FaceFolders.load(root);
        assertThat(ds.identityNames()).containsExactly("s1", "s2", "s10");
        assertThat(ds.labels()).containsExactly(0, 0, 0, 1, 2);
        assertThat(ds.images().shape()).containsExactly(5, 1, 2, 3);
        float[] firstPixels = new float[ds.size()];
        for (int i = 0; i < ds.size(); i++) {
            firstPixels[i] = ds.images().get(i, 0, 1, 2) * 255f;
        }
        assertThat(firstPixels).containsExactly(new float[] {0, 1, 2, 10, 20}, within(1e-4f));
    }

    @Test
    void mixesPgmAndPngAndScalesToUnit() throws IOException {
        writeFace(root.resolve("alice/a.pgm"), 255);
        BufferedImage png = new BufferedImage(3, 2, BufferedImage.TYPE_BYTE_GRAY);
        png.getRaster().setSample(0, 0, 0, 51);
        Files.createDirectories(root.resolve("bob"));
        ImageIO.write(png, "png", root.resolve("bob/b.PNG").toFile());
        ImageDataset ds = FaceFolders.load(root);
        assertThat(ds.identityNames()).containsExactly("alice", "bob");
        assertThat(ds.images().get(0, 0, 0, 0)).isEqualTo(1f);
        assertThat(ds.images().get(1, 0, 0, 0)).isEqualTo(0.2f);
        assertThat(ds.images().get(1, 0, 1, 2)).isEqualTo(0f);
    }

    @Test
    void mixedSizesNeedAResize() throws IOException {
        writeFace(root.resolve("s1/1.pgm"), 10, 2, 3);
        writeFace(root.resolve("s2/1.pgm"), 20, 4, 5);
        assertThatThrownBy(() -> FaceFolders.load(root)).isInstanceOf(IOException.class)
                .hasMessageContaining(root.resolve("s2/1.pgm").toString())
                .hasMessageContaining("4x5").hasMessageContaining("2x3")
                .hasMessageContaining(root.resolve("s1/1.pgm").toString())
                .hasMessageContaining("resizeTo");
        ImageDataset ds = FaceFolders.load(root, FaceFolders.Options.resizeTo(3, 3));
        assertThat(ds.images().shape()).containsExactly(2, 1, 3, 3);
        assertThat(ds.images().get(1, 0, 2, 2)).isCloseTo(20 / 255f, within(1e-6f));
    }

    @Test
    void emptyLayoutsGiveClearErrors() throws IOException {
        assertThatThrownBy(() -> FaceFolders.load(root)).isInstanceOf(IOException.class)
                .hasMessageContaining("no identity folders");
        Files.writeString(root.resolve("file.txt"), "x");
        assertThatThrownBy(() -> FaceFolders.load(root.resolve("file.txt")))
                .isInstanceOf(NotDirectoryException.class);
        writeFace(root.resolve("s1/1.pgm"), 1);
        Files.createDirectories(root.resolve("s2"));
        Files.writeString(root.resolve("s2/readme.txt"), "no images here");
        assertThatThrownBy(() -> FaceFolders.load(root)).isInstanceOf(IOException.class)
                .hasMessageContaining(root.resolve("s2").toString()).hasMessageContaining("no image files");
    }

    @Test
    void corruptImageNamesTheFile() throws IOException {
        writeFace(root.resolve("s1/1.pgm"), 1);
        Files.writeString(root.resolve("s1/2.pgm"), "P5\n2 3\n255\n");
        assertThatThrownBy(() -> FaceFolders.load(root)).isInstanceOf(ImageFormatException.class)
                .hasMessageContaining(root.resolve("s1/2.pgm").toString())
                .hasMessageContaining("raster truncated");
    }

    @Test
    void aListingReadsOnlyTheImagesABatchAsksFor() throws IOException {
        writeFace(root.resolve("s1/1.pgm"), 10);
        writeFace(root.resolve("s1/2.pgm"), 11);
        writeFace(root.resolve("s2/1.pgm"), 20);
        Files.writeString(root.resolve("s2/2.pgm"), "P5\n2 3\n255\n");      // truncated: fails when read
        writeFace(root.resolve("s3/1.pgm"), 30, 4, 5);                     // another size: fails without a resize
        LabelledImages listed = FaceFolders.list(root, FaceFolders.Options.defaults());
        assertThat(listed.identityNames()).containsExactly("s1", "s2", "s3");
        assertThat(listed.labels()).containsExactly(0, 0, 1, 1, 2);
        assertThat(LabelledImages.describe(listed)).isEqualTo("ImageDataset[5 images of 3 identities, 1x2x3]");
        float[] read = listed.batch(2, 0).toArray();
        assertThat(read[0] * 255f).isCloseTo(20f, within(1e-4f));
        assertThat(read[6] * 255f).isCloseTo(10f, within(1e-4f));
        assertThatThrownBy(() -> listed.batch(1, 3)).isInstanceOf(ImageFormatException.class)
                .hasMessageContaining(root.resolve("s2/2.pgm").toString());
        assertThatThrownBy(() -> listed.batch(4)).isInstanceOf(IOException.class)
                .hasMessageContaining(root.resolve("s3/1.pgm") + ": image is 4x5 (HxW) but "
                        + root.resolve("s1/1.pgm") + " is 2x3");
        // resized as load resizes: the same pixels
        Files.delete(root.resolve("s2/2.pgm"));
        FaceFolders.Options resize = FaceFolders.Options.resizeTo(3, 4);
        LabelledImages resized = FaceFolders.list(root, resize);
        assertThat(resized.batch(LabelledImages.indices(0, 4)).toArray())
                .containsExactly(FaceFolders.load(root, resize).images().toArray());
    }

    @Test
    void optionsValidate() {
        assertThatThrownBy(() -> FaceFolders.Options.resizeTo(0, 5)).hasMessageContaining("0x5");
        assertThatThrownBy(() -> new FaceFolders.Options(5, 0)).hasMessageContaining("5x0");
    }

    @Test
    void loadsAttFaces() throws IOException {
        Path att = SharedDataDir.require("att_faces");
        ImageDataset ds = FaceFolders.load(att);
        assertThat(ds.size()).isEqualTo(400);
        assertThat(ds.identityCount()).isEqualTo(40);
        assertThat(ds.images().shape()).containsExactly(400, 1, 112, 92);
        assertThat(ds.identityNames().subList(0, 11))
                .containsExactly("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11");
        for (int id = 0; id < 40; id++) {
            assertThat(ds.countOf(id)).isEqualTo(10);
        }
        // s1/1.pgm's raster starts with bytes 0x30 0x31 0x2d (after the 14-byte header).
        assertThat(ds.images().get(0, 0, 0, 0)).isEqualTo(0x30 / 255f);
        assertThat(ds.images().get(0, 0, 0, 1)).isEqualTo(0x31 / 255f);
        assertThat(ds.images().get(0, 0, 0, 2)).isEqualTo(0x2d / 255f);
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : ds.images().data()) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertThat(min).isGreaterThanOrEqualTo(0f);
        assertThat(max).isLessThanOrEqualTo(1f).isGreaterThan(0.5f);

        ImageDataset small = FaceFolders.load(att, FaceFolders.Options.resizeTo(56, 46));
        assertThat(small.images().shape()).containsExactly(400, 1, 56, 46);
    }
}
