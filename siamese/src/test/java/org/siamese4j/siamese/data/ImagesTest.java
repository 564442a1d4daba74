package org.siamese4j.siamese.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImagesTest {

    @TempDir
    Path tmp;

    /** ASCII header followed by raw bytes. */
    private static byte[] pgm(String header, int... raster) {
        byte[] h = header.getBytes(StandardCharsets.US_ASCII);
        byte[] out = Arrays.copyOf(h, h.length + raster.length);
        for (int i = 0; i < raster.length; i++) {
            out[h.length + i] = (byte) raster[i];
        }
        return out;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static AbstractThrowableAssert<?, ? extends Throwable> assertBad(byte[] bytes, String... fragments) {
        AbstractThrowableAssert<?, ? extends Throwable> a = assertThatThrownBy(() -> Images.read(bytes, "mem.pgm"))
                .isInstanceOf(ImageFormatException.class)
                .hasMessageStartingWith("mem.pgm: ");
        for (String f : fragments) {
            a = a.hasMessageContaining(f);
        }
        return a;
    }

    // ---- PGM ---------------------------------------------------------------------------------------------

    @Test
    void plainP2WithCommentsRoundTrips() throws IOException {
        String text = "P2\n# made by hand\n3 2\n# maxval next\n10\n0 5 10\n3 # inline comment\n 7\t1\n";
        GrayImage img = Images.read(ascii(text), "p2");
        assertThat(img.height()).isEqualTo(2);
        assertThat(img.width()).isEqualTo(3);
        assertThat(img.maxValue()).isEqualTo(10f);
        assertThat(img.pixels()).containsExactly(0, 5, 10, 3, 7, 1);
        assertThat(img.get(1, 1)).isEqualTo(7f);
        assertThat(img.scaledToUnit().pixels()).containsExactly(0f, 0.5f, 1f, 0.3f, 0.7f, 0.1f);
    }

    @Test
    void rawP5EightBit() throws IOException {
        GrayImage img = Images.read(pgm("P5\n3 2\n255\n", 0, 1, 128, 200, 254, 255), "p5");
        assertThat(img.pixels()).containsExactly(0, 1, 128, 200, 254, 255);
        assertThat(img.maxValue()).isEqualTo(255f);
        assertThat(img.scaledToUnit().get(1, 2)).isEqualTo(1f);
    }

    @Test
    void rawP5SixteenBitIsBigEndian() throws IOException {
        // maxval 1000 > 255: two bytes per sample, most significant first.
        GrayImage img = Images.read(pgm("P5 2 2 1000\n", 0x00, 0x00, 0x01, 0x00, 0x03, 0xE7, 0x03, 0xE8), "p5-16");
        assertThat(img.pixels()).containsExactly(0, 256, 999, 1000);
        assertThat(img.maxValue()).isEqualTo(1000f);
        assertThat(img.scaledToUnit().pixels()).containsExactly(0f, 0.256f, 0.999f, 1f);

        GrayImage full = Images.read(pgm("P5\n1 1\n65535\n", 0xFF, 0xFE), "p5-65535");
        assertThat(full.pixels()).containsExactly(65534);
    }

    @Test
    void commentsAnywhereInTheHeader() throws IOException {
        // Comments right after the magic, between fields, directly after a number, with CR line ends.
        byte[] bytes = pgm("P5#after magic\n#one\r3#glued to width\n  # two\n2\n#three\n255\n", 1, 2, 3, 4, 5, 6);
        GrayImage img = Images.read(bytes, "comments");
        assertThat(img.width()).isEqualTo(3);
        assertThat(img.height()).isEqualTo(2);
        assertThat(img.pixels()).containsExactly(1, 2, 3, 4, 5, 6);
    }

    @Test
    void readsFromStreamAndIgnoresTrailingBytes() throws IOException {
        byte[] bytes = pgm("P5\n2 1\n255\n", 9, 8, 77, 77, 77);
        GrayImage img = Images.readPgm(new ByteArrayInputStream(bytes), "stream");
        assertThat(img.pixels()).containsExactly(9, 8);
    }

    @Test
    void writePgmRoundTripsEightAndSixteenBit() throws IOException {
        GrayImage eight = GrayImage.of(2, 3, 255f, new float[] {0, 1, 2, 100, 254, 255});
        Path f8 = tmp.resolve("eight.pgm");
        Images.writePgm(eight, f8);
        assertThat(Arrays.copyOf(Files.readAllBytes(f8), 11)).isEqualTo(ascii("P5\n3 2\n255\n"));
        assertThat(Images.read(f8).pixels()).containsExactly(eight.pixels());

        GrayImage sixteen = GrayImage.of(1, 3, 65535f, new float[] {0, 300, 65535});
        Path f16 = tmp.resolve("sixteen.pgm");
        Images.writePgm(sixteen, f16);
        GrayImage back = Images.read(f16);
        assertThat(back.maxValue()).isEqualTo(65535f);
        assertThat(back.pixels()).containsExactly(0, 300, 65535);
    }

    // ---- untrusted PGM input -----------------------------------------------------------------------------

    @Test
    void badMagic() {
        assertBad(ascii("Q5\n1 1\n255\n\0"), "not a PGM", "javax.imageio");
        assertThatThrownBy(() -> Images.readPgm(new ByteArrayInputStream(ascii("Q5\n1 1\n255\n\0")), "s.pgm"))
                .isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("s.pgm").hasMessageContaining("bad magic").hasMessageContaining("byte 0");
        assertBad(ascii("P51 1\n255\n\0"), "bad magic", "byte 0, magic");
        assertBad(ascii("P6\n1 1\n255\n\0\0\0"), "unsupported Netpbm type 'P6'", "byte 0");
        assertBad(new byte[0], "empty");
    }

    @Test
    void nonNumericHeaderFieldsNameTheFieldAndOffset() {
        assertBad(ascii("P5\n3 x2\n255\n"), "header field 'height' is not a decimal number", "'x'",
                "byte 5, header field 'height'");
        assertBad(ascii("P5\n3 2y\n255\n"), "header field 'height'", "'y' after the digits",
                "at byte 6, in the number starting at byte 5");
        assertBad(ascii("P5\n-3 2\n255\n"), "header field 'width'", "'-'");
        assertBad(ascii("P5\n3 2\n2.5\n"), "header field 'maxval'", "'.'");
    }

    @Test
    void outOfRangeHeaderFields() {
        assertBad(ascii("P5\n0 2\n255\n"), "header field 'width' must be in 1..", "byte 3");
        assertBad(ascii("P5\n3 0\n255\n"), "header field 'height' must be in 1..");
        assertBad(ascii("P5\n3 2\n0\n"), "header field 'maxval' must be in 1..65535, got 0");
        assertBad(ascii("P5\n3 2\n65536\n"), "header field 'maxval' must be in 1..65535, got 65536");
        assertBad(ascii("P5\n99999999999 2\n255\n"), "header field 'width' is too large");
    }

    @Test
    void absurdDimensionsFailBeforeAllocating() {
        // 100000 x 100000 = 10^10 pixels: a 40 GB float buffer if the cap were not checked first.
        byte[] bytes = ascii("P5\n100000 100000\n255\n");
        assertBad(bytes, "10000000000 pixels", "cap of " + Images.MAX_PIXELS,
                "header fields 'width' and 'height'");
        assertThatThrownBy(() -> Images.readPgm(new ByteArrayInputStream(bytes), "stream"))
                .isInstanceOf(ImageFormatException.class).hasMessageContaining("Images.MAX_PIXELS");
        // Below the cap but far larger than the file: caught from the known file length, before allocating.
        assertBad(ascii("P5\n8000 8000\n255\n"), "raster truncated", "64000000 bytes", "start of raster");
    }

    @Test
    void streamClaimingMillionsOfPixelsFailsWithoutAllocatingForThem() {
        // Found by LoaderFuzzTest: from a stream the length is unknown, and the raster buffer used to be allocated
        // from the header: 4000x4000 (below the cap) was 64 MB of floats for a stream of a few bytes.
        long before = ThreadCounters.allocatedBytes();
        assertThatThrownBy(() -> Images.readPgm(new ByteArrayInputStream(pgm("P5\n4000 4000\n255\n", 1, 2, 3)), "s"))
                .isInstanceOf(ImageFormatException.class).hasMessageContaining("raster truncated")
                .hasMessageContaining("found 3");
        assertThatThrownBy(() -> Images.readPgm(new ByteArrayInputStream(ascii("P2 4000 4000 9 1 2 3")), "s"))
                .isInstanceOf(ImageFormatException.class).hasMessageContaining("expected 16000000 samples, found 3");
        long allocated = ThreadCounters.allocatedBytes() - before;
        if (before >= 0) {
            assertThat(allocated).as("bytes allocated").isLessThan(8L << 20);
        }
    }

    @Test
    void streamReadGrowsItsBufferToImagesLargerThanTheFirstChunk() throws IOException {
        // 301x257 = 77357 samples: more than the 65536 allocated before any data arrives.
        float[] px = new float[257 * 301];
        for (int i = 0; i < px.length; i++) {
            px[i] = (i * 7919L) % 65536;
        }
        GrayImage image = GrayImage.of(257, 301, 65535f, px);
        for (int maxval : new int[] {255, 65535}) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Images.writePgm(image, maxval, out);
            GrayImage raw = Images.readPgm(new ByteArrayInputStream(out.toByteArray()), "raw");
            assertThat(raw.pixels()).isEqualTo(Images.read(out.toByteArray(), "bytes").pixels());
        }
        StringBuilder plain = new StringBuilder("P2 301 257 65535\n");
        for (float v : px) {
            plain.append((int) v).append(' ');
        }
        GrayImage fromPlain = Images.readPgm(new ByteArrayInputStream(ascii(plain.toString())), "plain");
        assertThat(fromPlain.pixels()).isEqualTo(px);
    }

    @Test
    void truncatedHeaderAndRaster() {
        assertBad(ascii("P5\n3 "), "header truncated", "header field 'height'");
        assertBad(ascii("P5\n3 2\n255"), "raster truncated", "ends after the header");
        assertBad(pgm("P5\n3 2\n255\n", 1, 2, 3, 4), "raster truncated", "need 6 bytes", "has 4", "byte 11");
        assertBad(pgm("P5\n2 2\n1000\n", 0, 1, 0, 2, 0, 3), "raster truncated", "need 8 bytes");
        // From a stream the length is unknown: found while reading, at the offset where the data ends.
        assertThatThrownBy(() -> Images.readPgm(new ByteArrayInputStream(pgm("P5\n3 2\n255\n", 1, 2, 3, 4)), "s"))
                .isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("raster truncated").hasMessageContaining("expected 6 bytes")
                .hasMessageContaining("found 4").hasMessageContaining("byte 15");
        assertBad(ascii("P2\n3 2\n9\n1 2 3 4 5\n"), "raster truncated");
        assertThatThrownBy(() -> Images.readPgm(new ByteArrayInputStream(ascii("P2 3 2 9 1 2 3 4 5")), "s"))
                .isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("expected 6 samples, found 5");
    }

    @Test
    void samplesAboveMaxvalAndBadPlainSamples() {
        assertBad(pgm("P5\n2 2\n100\n", 1, 2, 200, 3), "sample value 200 exceeds maxval 100", "byte 13",
                "pixel row 1 column 0");
        assertBad(pgm("P5\n1 2\n1000\n", 0, 1, 0x03, 0xE9), "sample value 1001 exceeds maxval 1000", "row 1");
        assertBad(ascii("P2\n2 1\n9\n3 12\n"), "sample value 12 exceeds maxval 9", "column 1");
        assertBad(ascii("P2\n2 1\n9\n3 z\n"), "sample is not a decimal number", "'z'", "byte 11");
    }

    @Test
    void commentBetweenMaxvalAndRawRasterIsRejected() {
        assertBad(pgm("P5\n1 1\n255#c\n", 7), "comment between maxval and a P5 raster");
    }

    @Test
    void messageHasSourceProblemAndLocation() {
        assertThatThrownBy(() -> Images.read(ascii("P5\n3 x\n255\n"), "faces/s1/1.pgm"))
                .isInstanceOfSatisfying(ImageFormatException.class, e -> {
                    assertThat(e.source()).isEqualTo("faces/s1/1.pgm");
                    assertThat(e.problem()).contains("'height'");
                    assertThat(e.location()).isEqualTo("byte 5, header field 'height'");
                    assertThat(e).isInstanceOf(IOException.class);
                });
    }

    @Test
    void fileErrorsNameThePath() throws IOException {
        Path f = tmp.resolve("bad.pgm");
        Files.write(f, pgm("P5\n2 2\n255\n", 1));
        assertThatThrownBy(() -> Images.read(f)).isInstanceOf(ImageFormatException.class)
                .hasMessageStartingWith(f.toString()).hasMessageContaining("raster truncated");
    }

    // ---- javax.imageio formats ---------------------------------------------------------------------------

    private static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(ImageIO.write(img, format, out)).as("writer for " + format).isTrue();
        return out.toByteArray();
    }

    private static BufferedImage greyGradient(int h, int w) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, 20 + 3 * x + 2 * y);
            }
        }
        return img;
    }

    @Test
    void greyPngKeepsExactSamples() throws IOException {
        BufferedImage src = greyGradient(5, 7);
        Path f = tmp.resolve("grey.png");
        Files.write(f, encode(src, "png"));
        GrayImage img = Images.read(f);
        assertThat(img.height()).isEqualTo(5);
        assertThat(img.width()).isEqualTo(7);
        assertThat(img.maxValue()).isEqualTo(255f);
        for (int y = 0; y < 5; y++) {
            for (int x = 0; x < 7; x++) {
                assertThat(img.get(y, x)).isEqualTo(20f + 3 * x + 2 * y);
            }
        }
    }

    @Test
    void sixteenBitGreyPngKeepsDepth() throws IOException {
        BufferedImage src = new BufferedImage(3, 1, BufferedImage.TYPE_USHORT_GRAY);
        src.getRaster().setSamples(0, 0, 3, 1, 0, new int[] {0, 1234, 65535});
        GrayImage img = Images.read(encode(src, "png"), "16.png");
        assertThat(img.maxValue()).isEqualTo(65535f);
        assertThat(img.pixels()).containsExactly(0, 1234, 65535);
    }

    @Test
    void colourPngBecomesLuma() throws IOException {
        BufferedImage src = new BufferedImage(4, 1, BufferedImage.TYPE_INT_RGB);
        src.setRGB(0, 0, 0xFF0000);
        src.setRGB(1, 0, 0x00FF00);
        src.setRGB(2, 0, 0x0000FF);
        src.setRGB(3, 0, 0xFFFFFF);
        GrayImage img = Images.read(encode(src, "png"), "rgb.png");
        assertThat(img.maxValue()).isEqualTo(255f);
        assertThat(img.get(0, 0)).isCloseTo(0.299f * 255, within(1e-3f));
        assertThat(img.get(0, 1)).isCloseTo(0.587f * 255, within(1e-3f));
        assertThat(img.get(0, 2)).isCloseTo(0.114f * 255, within(1e-3f));
        assertThat(img.get(0, 3)).isCloseTo(255f, within(1e-3f));
    }

    @Test
    void greyJpegIsCloseToTheOriginal() throws IOException {
        BufferedImage src = greyGradient(16, 16);
        Path f = tmp.resolve("face.jpg");
        Files.write(f, encode(src, "jpg"));
        GrayImage img = Images.read(f);
        assertThat(img.height()).isEqualTo(16);
        assertThat(img.width()).isEqualTo(16);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                // Lossy, but a smooth gradient survives at default quality within a few grey levels.
                assertThat(img.get(y, x)).isCloseTo(20f + 3 * x + 2 * y, within(4f));
            }
        }
    }

    @Test
    void truncatedPngAndJpegAreFormatErrors() throws IOException {
        byte[] png = encode(greyGradient(32, 32), "png");
        assertThatThrownBy(() -> Images.read(Arrays.copyOf(png, png.length / 2), "cut.png"))
                .isInstanceOf(ImageFormatException.class)
                .hasMessageStartingWith("cut.png: ").hasMessageContaining("png").hasMessageContaining("at stream");
        // Cut inside the entropy-coded data, javax.imageio's JPEG reader only warns and returns a partial image.
        BufferedImage texture = new BufferedImage(64, 64, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 64; y++) {
            for (int x = 0; x < 64; x++) {
                texture.getRaster().setSample(x, y, 0, (7 * x + 13 * y) % 256);
            }
        }
        byte[] jpg = encode(texture, "jpg");
        assertThatThrownBy(() -> Images.read(Arrays.copyOf(jpg, jpg.length * 4 / 5), "cut.jpg"))
                .isInstanceOf(ImageFormatException.class)
                .hasMessageStartingWith("cut.jpg: ").hasMessageContaining("JPEG decoder warning")
                .hasMessageContaining("at stream position");
    }

    @Test
    void decoderReadingPastTheEndIsAFormatError() throws IOException {
        // Found by LoaderFuzzTest: javax.imageio's BMP reader hits the end of a truncated file with the stream's
        // bare EOFException (no message), not an IIOException.
        byte[] bmp = encode(greyGradient(8, 8), "bmp");
        byte[] cut = Arrays.copyOf(bmp, bmp.length - 10);
        assertBad(cut, "bmp decoder failed: unexpected end of input", "at stream position")
                .hasMessageNotContaining("null");
        Path f = tmp.resolve("cut.bmp");
        Files.write(f, cut);
        assertThatThrownBy(() -> Images.read(f)).isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("bmp decoder failed: unexpected end of input");
    }

    @Test
    void bytesInMemoryPickTheSameDecoderAsAFile() throws IOException {
        // Found by LoaderFuzzTest: from a stream of unknown length, javax.imageio's WBMP reader (a format without
        // magic) claimed any input starting with two zero bytes; an IDX labels file loaded as an 8x1 image.
        byte[] idxLabels = {0, 0, 8, 1, 0, 0, 0, 1, 7};
        assertBad(idxLabels, "not a PGM (P2/P5) and not a format javax.imageio can read", "00 00 08 01");
        Path f = tmp.resolve("labels");
        Files.write(f, idxLabels);
        assertThatThrownBy(() -> Images.read(f)).isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("not a format javax.imageio can read");
        // A WBMP whose length matches its header is still read, from memory as from a file.
        byte[] wbmp = {0, 0, 8, 2, (byte) 0xF0, 0x0F};
        Path w = tmp.resolve("two-rows.wbmp");
        Files.write(w, wbmp);
        assertThat(Images.read(wbmp, "mem.wbmp").pixels()).isEqualTo(Images.read(w).pixels())
                .containsExactly(255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255);
    }

    @Test
    void greySamplesAboveTheDeclaredBitDepthAreAFormatError() throws IOException {
        // Found by LoaderFuzzTest: a grey TIFF whose BitsPerSample (tag 258) says 7 over 8-bit data decoded to
        // samples above 127 in an image whose maxValue was 127.
        BufferedImage src = greyGradient(3, 4);
        src.getRaster().setSample(2, 1, 0, 200);
        byte[] tiff = encode(src, "tiff");
        ByteBuffer b = ByteBuffer.wrap(tiff);
        b.order(tiff[0] == 'I' ? java.nio.ByteOrder.LITTLE_ENDIAN : java.nio.ByteOrder.BIG_ENDIAN);
        int ifd = b.getInt(4);
        int entries = b.getShort(ifd) & 0xFFFF;
        boolean patched = false;
        for (int e = 0; e < entries; e++) {
            int at = ifd + 2 + 12 * e;
            if (b.getShort(at) == 258) {
                assertThat(b.getShort(at + 8)).as("BitsPerSample").isEqualTo((short) 8);
                b.putShort(at + 8, (short) 7);
                patched = true;
            }
        }
        assertThat(patched).as("BitsPerSample entry found").isTrue();
        // Which sample trips first depends on how the decoder unpacks the mislabelled bits.
        assertBad(tiff, "tif sample value", "outside the 7-bit range 0..127", "at pixel row");
    }

    @Test
    void unknownFormatNamesItsFirstBytes() {
        assertBad(new byte[] {0x12, 0x34, 0x56}, "not a PGM", "12 34 56", "byte 0");
    }

    @Test
    void pngDeclaringHugeSizeFailsFromTheHeader() {
        // Signature + an IHDR chunk claiming 100000 x 100000 grey pixels, and nothing else.
        ByteBuffer ihdr = ByteBuffer.allocate(17);
        ihdr.put("IHDR".getBytes(StandardCharsets.US_ASCII)).putInt(100_000).putInt(100_000)
                .put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0).put((byte) 0);
        CRC32 crc = new CRC32();
        crc.update(ihdr.array());
        ByteBuffer png = ByteBuffer.allocate(8 + 4 + 17 + 4);
        png.put(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}).putInt(13).put(ihdr.array())
                .putInt((int) crc.getValue());
        assertBad(png.array(), "100000x100000", "Images.MAX_PIXELS", "image header");
    }

    @Test
    void pngDeclaringMoreRowsThanItsDataCanHoldFailsFromTheHeader() throws IOException {
        // LoaderFuzzTest once mutated a PNG's width to 11184810: under MAX_PIXELS and, on a large heap, under the
        // decoded-size cap, so the decoder spent a second of CPU on a raster its few bytes of data run out for.
        byte[] widened = hostilePng(11_184_810, 5, 8, 0);
        assertBad(widened, "png header declares 11184810x5 pixels, at least 6990515 bytes of rows, more than a file of "
                + widened.length + " bytes can hold (deflate expands at most 1032:1)", "image header (width x height)");
        // The bound is deflate's own, so no real PNG is refused: 2000 x 2000 of one grey, 4 MB of rows, compresses
        // to a few KB and loads.
        byte[] flat = encode(new BufferedImage(2000, 2000, BufferedImage.TYPE_BYTE_GRAY), "png");
        assertThat((long) flat.length * 1032).isGreaterThan(2000L * 2001);
        assertThat(Images.read(flat, "flat.png").width()).isEqualTo(2000);
    }

    // ---- decoded memory ----------------------------------------------------------------------------------

    /** The decoded-size cap at -Xmx256m, where the hostile files of issue 16 were found. */
    private static final long SMALL_HEAP_CAP = (256L << 20) / 4;

    private static byte[] pngChunk(String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        return ByteBuffer.allocate(12 + data.length).putInt(data.length).put(t).put(data)
                .putInt((int) crc.getValue()).array();
    }

    /** A PNG whose header declares width x height (bit depth, colour type) over a few bytes of zero pixel data. */
    private static byte[] hostilePng(int width, int height, int bitDepth, int colourType) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
        out.write(pngChunk("IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) bitDepth)
                .put((byte) colourType).put((byte) 0).put((byte) 0).put((byte) 0).array()));
        ByteArrayOutputStream idat = new ByteArrayOutputStream();
        try (java.util.zip.DeflaterOutputStream z = new java.util.zip.DeflaterOutputStream(idat)) {
            z.write(new byte[64]);
        }
        out.write(pngChunk("IDAT", idat.toByteArray()));
        out.write(pngChunk("IEND", new byte[0]));
        return out.toByteArray();
    }

    /**
     * A little-endian TIFF whose header declares width x height grey pixels of {@code samples} 8-bit samples each
     * (PhotometricInterpretation 1, one uncompressed strip), followed by 16 bytes of data.
     */
    private static byte[] hostileTiff(int width, int height, int samples) {
        int entries = 9;
        int bitsAt = 8 + 2 + 12 * entries + 4;
        int dataAt = bitsAt + 2 * samples;
        ByteBuffer b = ByteBuffer.allocate(dataAt + 16).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(8).putShort((short) entries);
        tiffEntry(b, 256, 4, 1, width);           // ImageWidth
        tiffEntry(b, 257, 4, 1, height);          // ImageLength
        tiffEntry(b, 258, 3, samples, bitsAt);    // BitsPerSample, one per sample, stored after the IFD
        tiffEntry(b, 259, 3, 1, 1);               // Compression: none
        tiffEntry(b, 262, 3, 1, 1);               // PhotometricInterpretation: black is zero
        tiffEntry(b, 273, 4, 1, dataAt);          // StripOffsets
        tiffEntry(b, 277, 3, 1, samples);         // SamplesPerPixel
        tiffEntry(b, 278, 4, 1, height);          // RowsPerStrip
        tiffEntry(b, 279, 4, 1, 16);              // StripByteCounts
        b.putInt(0);
        for (int i = 0; i < samples; i++) {
            b.putShort((short) 8);
        }
        return b.array();
    }

    private static void tiffEntry(ByteBuffer b, int tag, int type, int count, int value) {
        b.putShort((short) tag).putShort((short) type).putInt(count);
        if (type == 3 && count == 1) {
            b.putShort((short) value).putShort((short) 0);
        } else {
            b.putInt(value);
        }
    }

    /** Asserts the read is refused from the header, on one line, having allocated far less than the image. */
    private static void assertRefusedBeforeDecoding(ThrowingReader read, String... fragments) {
        long before = ThreadCounters.allocatedBytes();
        AbstractThrowableAssert<?, ? extends Throwable> a = assertThatThrownBy(read::read)
                .isInstanceOf(ImageFormatException.class)
                .hasMessageContaining("image header (width x height x samples)")
                .hasMessageNotContaining("\n");
        for (String f : fragments) {
            a = a.hasMessageContaining(f);
        }
        long allocated = ThreadCounters.allocatedBytes() - before;
        if (before >= 0) {
            assertThat(allocated).as("bytes allocated").isLessThan(8L << 20);
        }
    }

    @FunctionalInterface
    private interface ThrowingReader {
        void read() throws IOException;
    }

    @Test
    void pngDeclaringMoreDecodedMemoryThanTheCapIsRefusedFromTheHeader() throws IOException {
        // Issue 16: a small PNG declaring 8192x8192 grey pixels, under MAX_PIXELS, ended in "Java heap space"
        // at -Xmx256m. 64 Mi pixels of 1 byte plus their 4-byte float copy is 320 MiB, above that heap's cap.
        byte[] grey = hostilePng(8192, 8192, 8, 0);
        assertThat(grey.length).isLessThan(200);
        assertRefusedBeforeDecoding(() -> Images.read(grey, "big.png", SMALL_HEAP_CAP), "big.png: png header declares"
                + " 8192x8192 pixels of 1 byte(s) each: 335544320 bytes", "above the cap of 67108864 bytes",
                "Images.maxDecodedBytes");
        // 16-bit RGBA is 8 bytes a pixel: 4096x4096 is 192 MiB with the copy, and its OOM used to surface as "png
        // decoder failed: Caught exception during read:".
        byte[] rgba16 = hostilePng(4096, 4096, 16, 6);
        assertRefusedBeforeDecoding(() -> Images.read(rgba16, "rgba16.png", SMALL_HEAP_CAP),
                "rgba16.png: png header declares 4096x4096 pixels of 8 byte(s) each: 201326592 bytes");
    }

    @Test
    void tiffWithHundredsOfSamplesPerPixelIsRefusedFromTheHeader() {
        // Issue 16: a TIFF (named .png) of 2048x2048 pixels with 400 samples each decoded for 12 s at 2.7 GB.
        byte[] tiff = hostileTiff(2048, 2048, 400);
        assertRefusedBeforeDecoding(() -> Images.read(tiff, "faces.png", SMALL_HEAP_CAP),
                "faces.png: tif header declares 2048x2048 pixels of 400 byte(s) each: 1694498816 bytes",
                "cap of 67108864 bytes");
        // Through the public entry point, at whatever heap the tests run with: 8192x8192x400 is 26 GB decoded.
        byte[] huge = hostileTiff(8192, 8192, 400);
        assertThat(8192L * 8192 * 404).isGreaterThan(Images.maxDecodedBytes());
        assertRefusedBeforeDecoding(() -> Images.read(huge, "huge.tif"),
                "huge.tif: tif header declares 8192x8192 pixels of 400 byte(s) each",
                "above the cap of " + Images.maxDecodedBytes() + " bytes");
    }

    @Test
    void pgmDeclaringMoreDecodedMemoryThanTheCapIsRefusedBeforeAllocating() throws IOException {
        // Issue 16: a PGM was bounded by MAX_PIXELS only: an 8192x8192 P5 (64 MiB on disk, under the cap) became
        // 256 MiB of floats, all of a -Xmx256m heap. Here 1000x800 pixels are 3,200,000 bytes of floats.
        byte[] p5 = pgm("P5\n1000 800\n255\n", new int[1000 * 800]);
        byte[] p2 = ascii("P2 1000 800 9\n" + "0 ".repeat(1000 * 800));
        for (byte[] bytes : List.of(p5, p2)) {
            long before = ThreadCounters.allocatedBytes();
            assertThatThrownBy(() -> Images.read(bytes, "big.pgm", 3_199_999))
                    .isInstanceOf(ImageFormatException.class)
                    .hasMessage("big.pgm: header declares 1000x800 pixels: 3200000 bytes decoded (4-byte floats),"
                            + " above the cap of 3199999 bytes (a quarter of the maximum heap, -Xmx;"
                            + " Images.maxDecodedBytes) (at header fields 'width' and 'height')");
            long allocated = ThreadCounters.allocatedBytes() - before;
            if (before >= 0) {
                assertThat(allocated).as("bytes allocated").isLessThan(1 << 20);
            }
            assertThat(Images.read(bytes, "big.pgm", 3_200_000).width()).isEqualTo(1000);
        }
        // A short file is still reported as truncated, its real problem, whatever the cap.
        assertThatThrownBy(() -> Images.read(ascii("P5\n1000 800\n255\n"), "short.pgm", 1))
                .isInstanceOf(ImageFormatException.class).hasMessageContaining("raster truncated");
    }

    @Test
    void imagesUnderTheDecodedMemoryCapStillLoad() throws IOException {
        assertThat(Images.maxDecodedBytes()).isEqualTo(Runtime.getRuntime().maxMemory() / 4);
        // 1000x1000 grey is 5 MB decoded with its copy: well under even the small heap's cap.
        BufferedImage big = new BufferedImage(1000, 1000, BufferedImage.TYPE_BYTE_GRAY);
        big.getRaster().setSample(999, 999, 0, 77);
        GrayImage img = Images.read(encode(big, "png"), "big.png", SMALL_HEAP_CAP);
        assertThat(img.get(999, 999)).isEqualTo(77f);
        // A real 16-bit RGBA PNG decodes to luma of its 8-bit values.
        java.awt.image.ColorModel cm = new java.awt.image.ComponentColorModel(
                java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_sRGB), true, false,
                java.awt.Transparency.TRANSLUCENT, java.awt.image.DataBuffer.TYPE_USHORT);
        BufferedImage rgba = new BufferedImage(cm, cm.createCompatibleWritableRaster(2, 1), false, null);
        rgba.getRaster().setPixel(0, 0, new int[] {65535, 65535, 65535, 65535});
        rgba.getRaster().setPixel(1, 0, new int[] {65535, 0, 0, 65535});
        byte[] png = encode(rgba, "png");
        assertThat(png[24]).as("bit depth").isEqualTo((byte) 16);
        assertThat(png[25]).as("colour type RGBA").isEqualTo((byte) 6);
        GrayImage luma = Images.read(png, "rgba16.png", SMALL_HEAP_CAP);
        assertThat(luma.get(0, 0)).isCloseTo(255f, within(1e-3f));
        assertThat(luma.get(0, 1)).isCloseTo(0.299f * 255, within(1e-3f));
    }
}
