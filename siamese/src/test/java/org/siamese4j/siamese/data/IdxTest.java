package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.tensor.Tensor;

class IdxTest {

    @TempDir
    Path tmp;

    private static byte[] header(int magic, int... dims) {
        ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length);
        b.putInt(magic);
        for (int d : dims) {
            b.putInt(d);
        }
        return b.array();
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    /** 3 images of 2x3 whose 18 bytes are 0, 14, 28, ..., 238. */
    private static byte[] smallImages() {
        byte[] data = new byte[3 * 2 * 3];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 14);
        }
        return concat(header(Idx.IMAGES_MAGIC, 3, 2, 3), data);
    }

    private static byte[] smallLabels() {
        return concat(header(Idx.LABELS_MAGIC, 3), new byte[] {2, 0, 2});
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path f = tmp.resolve(name);
        Files.write(f, bytes);
        return f;
    }

    private AbstractThrowableAssert<?, ? extends Throwable> assertImagesFail(String name, byte[] bytes,
            String... fragments) throws IOException {
        Path f = write(name, bytes);
        AbstractThrowableAssert<?, ? extends Throwable> a = assertThatThrownBy(() -> Idx.readImages(f))
                .isInstanceOf(ImageFormatException.class).hasMessageStartingWith(f + ": ");
        for (String s : fragments) {
            a = a.hasMessageContaining(s);
        }
        return a;
    }

    @Test
    void readsRawImagesAndLabels() throws IOException {
        Tensor x = Idx.readImages(write("imgs-idx3-ubyte", smallImages()));
        assertThat(x.shape()).containsExactly(3, 1, 2, 3);
        assertThat(x.get(0, 0, 0, 0)).isEqualTo(0f);
        assertThat(x.get(0, 0, 0, 1)).isEqualTo(14 / 255f);
        assertThat(x.get(2, 0, 1, 2)).isEqualTo(17 * 14 / 255f);
        assertThat(Idx.readLabels(write("labels-idx1-ubyte", smallLabels()))).containsExactly(2, 0, 2);
    }

    @Test
    void gzipIsDetectedByMagicBytesNotName() throws IOException {
        // Misleading names both ways: the content decides.
        Path gzImages = write("imgs.raw", gzip(smallImages()));
        Path rawLabels = write("labels.gz", smallLabels());
        ImageDataset ds = Idx.read(gzImages, rawLabels);
        ImageDataset raw = Idx.read(write("imgs", smallImages()), write("labels", smallLabels()));
        assertThat(ds.images().toArray()).containsExactly(raw.images().toArray());
        assertThat(ds.labels()).containsExactly(2, 0, 2);
        // Default names run from "0" to the largest label.
        assertThat(ds.identityNames()).containsExactly("0", "1", "2");
        assertThat(ds.countOf(1)).isZero();
        assertThat(ds.indicesOf(2)).containsExactly(0, 2);
    }

    @Test
    void givenNamesAreUsedAndChecked() throws IOException {
        Path images = write("i", smallImages());
        Path labels = write("l", smallLabels());
        ImageDataset ds = Idx.read(images, labels, List.of("shirt", "trouser", "bag"));
        assertThat(ds.identityNames()).containsExactly("shirt", "trouser", "bag");
        assertThatThrownBy(() -> Idx.read(images, labels, List.of("a", "b")))
                .isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("label 2 of item 0 has no identity name (2 names given)")
                .hasMessageContaining("data byte 8");
    }

    @Test
    void countMismatchBetweenFiles() throws IOException {
        Path images = write("i", smallImages());
        Path labels = write("l", concat(header(Idx.LABELS_MAGIC, 2), new byte[] {1, 1}));
        assertThatThrownBy(() -> Idx.read(images, labels)).isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("has 2 labels but").hasMessageContaining("3 images")
                .hasMessageContaining("header field 'count'");
    }

    @Test
    void badMagic() throws IOException {
        assertImagesFail("labels-as-images", smallLabels(), "bad magic 0x00000801", "IDX labels file",
                "expected 0x00000803", "byte 0, magic");
        assertImagesFail("png", new byte[] {(byte) 0x89, 'P', 'N', 'G', 0, 0, 0, 0}, "not an IDX file");
        assertImagesFail("floats", header(0x00000D03, 1, 1, 1), "element type 0x0D");
        assertImagesFail("4d", header(0x00000804, 1, 1, 1, 1), "4 dimensions");
        Path images = write("imgs", smallImages());
        assertThatThrownBy(() -> Idx.readLabels(images)).isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("IDX images file").hasMessageContaining("expected 0x00000801");
    }

    @Test
    void rawLengthIsCheckedAgainstTheHeader() throws IOException {
        byte[] full = smallImages();
        assertImagesFail("short", Arrays.copyOf(full, full.length - 1), "truncated", "3 images of 2x3",
                "should be 34 bytes long, but it is 33", "byte 16, start of data");
        assertImagesFail("long", Arrays.copyOf(full, full.length + 2), "trailing bytes", "is 36");
        assertImagesFail("header-only", Arrays.copyOf(full, 10), "truncated header", "header field 'rows'");
        assertImagesFail("empty", new byte[0], "truncated header", "header field 'magic'");
    }

    @Test
    void gzipTruncationCorruptionAndTrailingData() throws IOException {
        byte[] gz = gzip(smallImages());
        assertImagesFail("cut.gz", Arrays.copyOf(gz, gz.length - 12), "truncated");
        // Valid gzip whose content is shorter or longer than its IDX header declares.
        byte[] full = smallImages();
        assertImagesFail("short.gz", gzip(Arrays.copyOf(full, full.length - 1)), "truncated",
                "decompressed stream has 17", "decompressed byte 33");
        assertImagesFail("long.gz", gzip(Arrays.copyOf(full, full.length + 1)), "trailing bytes",
                "decompressed byte 34");
        // The first deflate byte after the 10-byte gzip header: final block of the reserved type 3.
        byte[] corrupt = gz.clone();
        corrupt[10] = 0x07;
        assertImagesFail("corrupt.gz", corrupt, "corrupt gzip stream", "decompressed byte 0");
    }

    @Test
    void gzipCutInsideItsHeaderOrTrailerSaysSoWithoutNull() throws IOException {
        // Found by LoaderFuzzTest: GZIPInputStream's EOFException there has no message, which read "...: null".
        byte[] gz = gzip(smallImages());
        assertImagesFail("cut-header.gz", Arrays.copyOf(gz, 6), "truncated gzip header", "compressed byte 0")
                .hasMessageNotContaining("null");
        assertImagesFail("cut-trailer.gz", Arrays.copyOf(gz, gz.length - 3), "truncated gzip stream")
                .hasMessageNotContaining("null");
    }

    @Test
    void absurdDimensionsFailWithoutAllocating() throws IOException {
        assertImagesFail("zero-rows", header(Idx.IMAGES_MAGIC, 1, 0, 28), "0x28 pixels", "header fields 'rows'");
        assertImagesFail("huge-image", header(Idx.IMAGES_MAGIC, 1, 100_000, 100_000), "Images.MAX_PIXELS");
        assertImagesFail("unsigned", header(Idx.IMAGES_MAGIC, 0xFFFFFFFF, 28, 28),
                "header field 'count' is 4294967295", "byte 4");
        assertImagesFail("too-many", header(Idx.IMAGES_MAGIC, 0x7FFFFFFF, 28, 28), "Idx.MAX_VALUES");
        // 2,000,000 x 28 x 28 = 1.57e9 bytes claimed by a tiny gzip file: fails after reading the few bytes it
        // has, having grown its buffer only to what arrived (no 1.5 GB allocation).
        assertImagesFail("claims-a-lot.gz",
                gzip(concat(header(Idx.IMAGES_MAGIC, 2_000_000, 28, 28), new byte[100])), "truncated",
                "1568000000 data bytes", "decompressed stream has 100");
        assertImagesFail("claims-a-lot", concat(header(Idx.IMAGES_MAGIC, 2_000_000, 28, 28), new byte[100]),
                "truncated", "but it is 116");
    }

    @Test
    void emptyFileOfZeroImagesIsValid() throws IOException {
        Tensor x = Idx.readImages(write("none", header(Idx.IMAGES_MAGIC, 0, 28, 28)));
        assertThat(x.shape()).containsExactly(0, 1, 28, 28);
    }

    @Test
    void readsFashionMnistTestSet() throws IOException {
        Path dir = SharedDataDir.require("fashion-mnist");
        Path images = dir.resolve("t10k-images-idx3-ubyte.gz");
        Path labels = dir.resolve("t10k-labels-idx1-ubyte.gz");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(images) && Files.exists(labels),
                "Fashion-MNIST t10k files not in " + dir);
        ImageDataset ds = Idx.read(images, labels);
        assertThat(ds.images().shape()).containsExactly(10_000, 1, 28, 28);
        assertThat(ds.identityNames()).containsExactly("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
        for (int id = 0; id < 10; id++) {
            // The Fashion-MNIST test set is balanced: 1000 images per class.
            assertThat(ds.countOf(id)).isEqualTo(1000);
        }
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : ds.images().data()) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertThat(min).isEqualTo(0f);
        assertThat(max).isEqualTo(1f);
    }
}
