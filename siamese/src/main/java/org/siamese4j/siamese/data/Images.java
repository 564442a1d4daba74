package org.siamese4j.siamese.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.SampleModel;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.FileImageInputStream;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageInputStreamImpl;

/**
 * Reads images from untrusted files into single-channel {@link GrayImage}s ({@link #read}), or keeping their colour
 * into {@link ColorImage}s ({@link #readColor}), in pure Java.
 *
 * <ul>
 *   <li>PGM (Netpbm grey map) by our own parser: {@code P2} (plain, ASCII decimal samples) and {@code P5} (raw;
 *       one byte per sample when maxval &lt;= 255, two bytes big-endian when maxval &gt; 255). Comments ({@code #}
 *       to the end of the line) are accepted anywhere whitespace is, except between the maxval and a P5 raster,
 *       where the format demands exactly one whitespace byte. Bytes after the raster are ignored.</li>
 *   <li>Anything else {@code javax.imageio} can decode (PNG, JPEG, BMP, GIF...). Grey images keep their samples
 *       and bit depth (a 16-bit grey PNG gets maxValue 65535); colour and palette images become luma
 *       {@code 0.299 R + 0.587 G + 0.114 B} of their 8-bit sRGB values (ITU-R BT.601, the weights of PIL's
 *       {@code convert("L")}), not rounded, maxValue 255. Alpha is ignored.</li>
 * </ul>
 *
 * <p>Every malformed input raises {@link ImageFormatException}, naming the file, the problem and where: bad
 * magic, non-numeric or out-of-range header fields, more than {@link #MAX_PIXELS} pixels or more than
 * {@link #maxDecodedBytes()} of decoded image, a PNG declaring more rows than its file could hold compressed (all
 * checked from the header before any pixel buffer is allocated; a javax.imageio decoder that still runs out of
 * memory is reported the same way), samples above maxval
 * (or, for decoded grey images, above the declared bit depth), truncated rasters, and any decoder failure or
 * decoder warning (javax.imageio's JPEG reader only warns about a truncated file; we treat that as an error).
 */
public final class Images {
    /**
     * The largest image accepted: 64 megapixels (2^26 = 67,108,864 pixels, 256 MiB of floats). Checked against the
     * declared width x height before allocating, so a 20-byte file claiming 100000 x 100000 pixels fails fast.
     */
    public static final long MAX_PIXELS = 64L * 1024 * 1024;
    /** The most bytes deflate can decompress from one byte (a 258-byte match in two bits). */
    private static final long MAX_DEFLATE_RATIO = 1032;

    private Images() {
    }

    /** Reads a PGM (detected by its {@code P2}/{@code P5} magic, not its name) or any javax.imageio format. */
    public static GrayImage read(Path file) throws IOException {
        return read(file, GREY);
    }

    /**
     * Reads an image keeping its colour, for networks that take red, green and blue planes: a colour or palette
     * image gives its 8-bit sRGB values (maxValue 255; alpha ignored), a grey one (a PGM, a grey PNG) its plane
     * three times, at its own bit depth. Checked and bounded as {@link #read(Path)}.
     */
    public static ColorImage readColor(Path file) throws IOException {
        return read(file, COLOR);
    }

    /** What a file is decoded to: a grey image (colour as luma) or a colour one (grey repeated). */
    private interface Decoding<T> {
        T fromGrey(GrayImage grey);

        T fromImageIo(BufferedImage image, String source, String format) throws ImageFormatException;

        /** Floats per pixel of the decoded copy, for the memory check made from the header. */
        int floatsPerPixel();
    }

    private static final Decoding<GrayImage> GREY = new Decoding<>() {
        @Override
        public GrayImage fromGrey(GrayImage grey) {
            return grey;
        }

        @Override
        public GrayImage fromImageIo(BufferedImage image, String source, String format) throws ImageFormatException {
            return toGray(image, source, format);
        }

        @Override
        public int floatsPerPixel() {
            return 1;
        }
    };

    private static final Decoding<ColorImage> COLOR = new Decoding<>() {
        @Override
        public ColorImage fromGrey(GrayImage grey) {
            return ColorImage.fromGray(grey);
        }

        @Override
        public ColorImage fromImageIo(BufferedImage image, String source, String format)
                throws ImageFormatException {
            return toColor(image, source, format);
        }

        @Override
        public int floatsPerPixel() {
            return ColorImage.CHANNELS;
        }
    };

    private static <T> T read(Path file, Decoding<T> decoding) throws IOException {
        String source = file.toString();
        requireRegularFile(file);
        long length = Files.size(file);
        if (length == 0) {
            throw new ImageFormatException(source, "empty file", "byte 0");
        }
        if (startsWithNetpbmMagic(file)) {
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                return decoding.fromGrey(new PgmParser(in, source, length, maxDecodedBytes()).parse());
            }
        }
        try (ImageInputStream iis = new FileImageInputStream(file.toFile())) {
            return decodeWithImageIo(iis, source, maxDecodedBytes(), decoding);
        }
    }

    /** Like {@link #read(Path)} for bytes in memory; {@code sourceName} is used in error messages. */
    public static GrayImage read(byte[] bytes, String sourceName) throws IOException {
        return read(bytes, sourceName, maxDecodedBytes());
    }

    /** As {@link #read(byte[], String)} with the decoded-size cap given, for tests of small heaps. */
    static GrayImage read(byte[] bytes, String sourceName, long maxDecodedBytes) throws IOException {
        if (bytes.length == 0) {
            throw new ImageFormatException(sourceName, "empty input", "byte 0");
        }
        if (bytes.length >= 2 && bytes[0] == 'P' && bytes[1] >= '0' && bytes[1] <= '9') {
            return new PgmParser(new ByteArrayInputStream(bytes), sourceName, bytes.length, maxDecodedBytes).parse();
        }
        try (ImageInputStream iis = new ByteArrayImageInputStream(bytes)) {
            return decodeWithImageIo(iis, sourceName, maxDecodedBytes, GREY);
        }
    }

    /**
     * Reads one PGM from a stream of unknown length: truncation is found while reading, not up front, and the
     * pixel buffer grows with the samples that actually arrive (a short stream whose header claims millions of
     * pixels fails without allocating for them). The stream is left after the raster, not closed.
     */
    public static GrayImage readPgm(InputStream in, String sourceName) throws IOException {
        return new PgmParser(in instanceof BufferedInputStream ? in : new BufferedInputStream(in), sourceName, -1,
                maxDecodedBytes()).parse();
    }

    /** Reads a file and returns it scaled to [0, 1] (divided by its maxValue). */
    public static GrayImage readScaled(Path file) throws IOException {
        return read(file).scaledToUnit();
    }

    /**
     * Refuses, saying what it is, a path that is not a regular file: a folder, a FIFO or device (reading one could
     * block for ever), a symbolic link loop or a link to nothing, or nothing at all.
     */
    private static void requireRegularFile(Path file) throws IOException {
        if (Files.isRegularFile(file)) {
            return;
        }
        String what;
        if (Files.isDirectory(file)) {
            what = "is a folder, not an image file";
        } else if (Files.exists(file)) {
            what = "is not a regular file (a FIFO, device or socket), not an image file";
        } else if (Files.isSymbolicLink(file)) {
            boolean loop;
            try {
                file.toRealPath();
                loop = false;
            } catch (FileSystemException e) {
                loop = !(e instanceof NoSuchFileException);
            }
            what = loop ? "is a symbolic link that loops (or is too deep), not an image file"
                    : "is a symbolic link to a missing file";
        } else {
            throw new NoSuchFileException(file.toString(), null, "no such image file");
        }
        throw new FileSystemException(file.toString(), null, what);
    }

    private static boolean startsWithNetpbmMagic(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            int b0 = in.read();
            int b1 = in.read();
            return b0 == 'P' && b1 >= '0' && b1 <= '9';
        }
    }

    // =====================================================================================================
    // Writing
    // =====================================================================================================

    /**
     * Writes a binary PGM (P5). Samples are mapped from [0, image.maxValue()] to [0, maxval], rounded and clamped;
     * maxval &gt; 255 writes two bytes per sample, big-endian.
     */
    public static void writePgm(GrayImage image, int maxval, OutputStream out) throws IOException {
        if (maxval < 1 || maxval > 65535) {
            throw new IllegalArgumentException("writePgm: maxval must be in 1..65535, got " + maxval);
        }
        String header = "P5\n" + image.width() + " " + image.height() + "\n" + maxval + "\n";
        out.write(header.getBytes(StandardCharsets.US_ASCII));
        float[] px = image.pixels();
        int bytesPer = maxval > 255 ? 2 : 1;
        byte[] raster = new byte[px.length * bytesPer];
        float scale = maxval / image.maxValue();
        for (int i = 0; i < px.length; i++) {
            int v = Math.round(Math.min(Math.max(px[i] * scale, 0f), maxval));
            if (bytesPer == 1) {
                raster[i] = (byte) v;
            } else {
                raster[2 * i] = (byte) (v >>> 8);
                raster[2 * i + 1] = (byte) v;
            }
        }
        out.write(raster);
    }

    /** Writes a binary PGM file: 8-bit when the image's maxValue is at most 255, else 16-bit. */
    public static void writePgm(GrayImage image, Path file) throws IOException {
        int maxval = image.maxValue() > 255 ? 65535 : 255;
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file))) {
            writePgm(image, maxval, out);
        }
    }

    // =====================================================================================================
    // javax.imageio formats
    // =====================================================================================================

    /**
     * The most memory one image may take once decoded: a quarter of the maximum heap ({@code -Xmx}), checked from
     * the header before decoding, on top of {@link #MAX_PIXELS}: for a PGM its float raster (4 bytes a pixel), for
     * the javax.imageio formats the decoder's image and the grey float copy made of it. These have to
     * fit next to what the caller already holds (a model, a batch, the other images of a folder) and the
     * decoder's own buffers, and the garbage collector needs room to work; a quarter leaves three quarters for
     * those. At {@code -Xmx256m} it is 64 MiB, enough for an 8-bit grey image of 13 megapixels or an 8-bit
     * colour one of 9; at the default heap (a quarter of physical memory) it is far larger.
     */
    public static long maxDecodedBytes() {
        return Runtime.getRuntime().maxMemory() / 4;
    }

    /**
     * Bytes per pixel of the image the decoder will allocate, from the header: data elements per pixel (one per
     * band, or one for several bands packed into an int) times their size, for the larger of the file's raw
     * layout and the default destination type that {@code read(0)} fills. A TIFF may declare hundreds of samples
     * per pixel, so counting pixels alone says little about memory.
     */
    private static long decodedBytesPerPixel(ImageReader reader) throws IOException {
        long bytes = 0;
        List<ImageTypeSpecifier> types = new ArrayList<>();
        ImageTypeSpecifier raw = reader.getRawImageType(0);
        if (raw != null) {
            types.add(raw);
        }
        Iterator<ImageTypeSpecifier> destinations = reader.getImageTypes(0);
        if (destinations != null && destinations.hasNext()) {
            types.add(destinations.next());
        }
        for (ImageTypeSpecifier type : types) {
            SampleModel sm = type.getSampleModel();
            long bits = (long) sm.getNumDataElements() * DataBuffer.getDataTypeSize(sm.getDataType());
            bytes = Math.max(bytes, (bits + 7) / 8);
        }
        // A reader that describes neither: assume one packed ARGB int per pixel, what most decoders fall back to.
        return bytes > 0 ? bytes : Integer.BYTES;
    }

    private static ImageFormatException outOfMemory(String source, String format, int width, int height,
                                                    long maxDecodedBytes, Throwable cause) {
        return new ImageFormatException(source, format + " decoder ran out of memory on a " + width + "x" + height
                + " image (decoded-size cap " + maxDecodedBytes + " bytes, a quarter of the maximum heap; give"
                + " the JVM more with -Xmx)", "decoding", cause);
    }

    private static <T> T decodeWithImageIo(ImageInputStream iis, String source, long maxDecodedBytes,
                                           Decoding<T> decoding) throws IOException {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(iis);
        if (!readers.hasNext()) {
            throw new ImageFormatException(source, "not a PGM (P2/P5) and not a format javax.imageio can read;"
                    + " first bytes " + firstBytes(iis), "byte 0, magic");
        }
        ImageReader reader = readers.next();
        String format = reader.getFormatName();
        List<String> warnings = new ArrayList<>();
        int width = -1;
        int height = -1;
        try {
            reader.setInput(iis, true, true);
            reader.addIIOReadWarningListener((r, warning) -> warnings.add(warning));
            width = reader.getWidth(0);
            height = reader.getHeight(0);
            if (width < 1 || height < 1) {
                throw new ImageFormatException(source, format + " header declares a " + width + "x" + height
                        + " image", "image header (width x height)");
            }
            if ((long) width * height > MAX_PIXELS) {
                throw new ImageFormatException(source, format + " header declares " + width + "x" + height + " = "
                        + (long) width * height + " pixels, above the cap of " + MAX_PIXELS
                        + " (Images.MAX_PIXELS)", "image header (width x height)");
            }
            long bytesPerPixel = decodedBytesPerPixel(reader);
            // The decoder's image plus the float copy toGray (or toColor) makes of it.
            long decodedBytes = (long) width * height * (bytesPerPixel + (long) Float.BYTES
                    * decoding.floatsPerPixel());
            if (decodedBytes > maxDecodedBytes) {
                throw new ImageFormatException(source, format + " header declares " + width + "x" + height
                        + " pixels of " + bytesPerPixel + " byte(s) each: " + decodedBytes + " bytes decoded (with"
                        + " the grey copy), above the cap of " + maxDecodedBytes + " bytes (a quarter of the"
                        + " maximum heap, -Xmx; Images.maxDecodedBytes)", "image header (width x height x samples)");
            }
            long length = iis.length();
            if ("png".equalsIgnoreCase(format) && length > 0) {
                // A PNG's rows are deflate-compressed, and deflate packs at most 1032 bytes into one (258-byte
                // matches of two bits): a file of L bytes holds at most 1032 L bytes of rows. Each row takes at
                // least a filter byte and a bit a pixel, so a header declaring more rows than that is corrupt, and
                // the decoder would only spend time on a raster its data runs out for.
                long rowBytes = height * (1 + ((long) width + 7) / 8);
                if (rowBytes > MAX_DEFLATE_RATIO * length) {
                    throw new ImageFormatException(source, format + " header declares " + width + "x" + height
                            + " pixels, at least " + rowBytes + " bytes of rows, more than a file of " + length
                            + " bytes can hold (deflate expands at most " + MAX_DEFLATE_RATIO + ":1)",
                            "image header (width x height)");
                }
            }
            BufferedImage image;
            T decoded;
            try {
                image = reader.read(0);
                if (!warnings.isEmpty()) {
                    throw new ImageFormatException(source, format + " decoder warning: "
                            + String.join("; ", warnings), "stream position " + position(iis));
                }
                decoded = decoding.fromImageIo(image, source, format);
            } catch (OutOfMemoryError e) {
                throw outOfMemory(source, format, width, height, maxDecodedBytes, e);
            }
            return decoded;
        } catch (ImageFormatException e) {
            throw e;
        } catch (IIOException | EOFException | RuntimeException e) {
            // The PNG reader wraps everything, an OutOfMemoryError too, in "Caught exception during read".
            for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                if (c instanceof OutOfMemoryError) {
                    throw outOfMemory(source, format, width, height, maxDecodedBytes, c);
                }
            }
            // Decoders signal corrupt data with IIOException, some with unchecked exceptions, and a read past
            // the end of a truncated input with the stream's bare EOFException (the BMP reader does).
            String detail = e.getMessage() != null ? e.getMessage()
                    : e instanceof EOFException ? "unexpected end of input" : e.getClass().getName();
            throw new ImageFormatException(source, format + " decoder failed: " + detail,
                    "stream position " + position(iis), e);
        } finally {
            reader.dispose();
        }
    }

    /**
     * Bytes in memory as a stream that knows its length, so javax.imageio picks the same reader as for the same
     * bytes in a file. (With the length unknown, as from a MemoryCacheImageInputStream, the WBMP reader, a format
     * without magic, claims almost any input starting with two zero bytes, e.g. an IDX file.)
     */
    private static final class ByteArrayImageInputStream extends ImageInputStreamImpl {
        private final byte[] bytes;

        ByteArrayImageInputStream(byte[] bytes) {
            this.bytes = bytes;
        }

        @Override
        public int read() throws IOException {
            checkClosed();
            bitOffset = 0;
            return streamPos < bytes.length ? bytes[(int) streamPos++] & 0xFF : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            checkClosed();
            Objects.checkFromIndexSize(off, len, b.length);
            bitOffset = 0;
            if (len == 0) {
                return 0;
            }
            if (streamPos >= bytes.length) {
                return -1;
            }
            int n = (int) Math.min(len, bytes.length - streamPos);
            System.arraycopy(bytes, (int) streamPos, b, off, n);
            streamPos += n;
            return n;
        }

        @Override
        public long length() {
            return bytes.length;
        }
    }

    /** Whether the decoded image is grey with integer samples, read raw rather than through sRGB. */
    private static boolean isRawGrey(BufferedImage image) {
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        return !(cm instanceof IndexColorModel)
                && cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY
                && cm.getNumColorComponents() == 1
                && cm.getComponentSize(0) <= 16
                && raster.getTransferType() != DataBuffer.TYPE_FLOAT
                && raster.getTransferType() != DataBuffer.TYPE_DOUBLE;
    }

    /** A colour image's 8-bit sRGB planes; a grey one's raw plane three times (as {@link #toGray} reads it). */
    private static ColorImage toColor(BufferedImage image, String source, String format)
            throws ImageFormatException {
        if (isRawGrey(image)) {
            return ColorImage.fromGray(toGray(image, source, format));
        }
        int width = image.getWidth();
        int height = image.getHeight();
        float[] red = new float[width * height];
        float[] green = new float[width * height];
        float[] blue = new float[width * height];
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            image.getRGB(0, y, width, 1, row, 0, width);
            for (int x = 0; x < width; x++) {
                int argb = row[x];
                red[y * width + x] = (argb >>> 16) & 0xFF;
                green[y * width + x] = (argb >>> 8) & 0xFF;
                blue[y * width + x] = argb & 0xFF;
            }
        }
        return ColorImage.wrap(height, width, 255f, red, green, blue);
    }

    private static GrayImage toGray(BufferedImage image, String source, String format)
            throws ImageFormatException {
        int width = image.getWidth();
        int height = image.getHeight();
        ColorModel cm = image.getColorModel();
        Raster raster = image.getRaster();
        float[] px = new float[width * height];
        if (isRawGrey(image)) {
            // Raw samples, not getRGB: that would push linear grey through a gamma curve and drop to 8 bits.
            raster.getSamples(0, 0, width, height, 0, px);
            int bits = cm.getComponentSize(0);
            float max = (float) ((1 << bits) - 1);
            for (int i = 0; i < px.length; i++) {
                // A decoder can store more bits than the header declares (a TIFF with BitsPerSample 7 over 8-bit
                // data); GrayImage promises samples in [0, maxValue].
                if (!(px[i] >= 0 && px[i] <= max)) {
                    throw new ImageFormatException(source, format + " sample value " + (long) px[i]
                            + " outside the " + bits + "-bit range 0.." + (long) max, "pixel row " + i / width
                            + " column " + i % width);
                }
            }
            return GrayImage.wrap(height, width, max, px);
        }
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            image.getRGB(0, y, width, 1, row, 0, width);
            for (int x = 0; x < width; x++) {
                int argb = row[x];
                px[y * width + x] = 0.299f * ((argb >>> 16) & 0xFF) + 0.587f * ((argb >>> 8) & 0xFF)
                        + 0.114f * (argb & 0xFF);
            }
        }
        return GrayImage.wrap(height, width, 255f, px);
    }

    private static String firstBytes(ImageInputStream iis) {
        StringBuilder sb = new StringBuilder();
        try {
            iis.seek(0);
            for (int i = 0; i < 8; i++) {
                int b = iis.read();
                if (b < 0) {
                    break;
                }
                sb.append(String.format("%02x ", b));
            }
        } catch (IOException e) {
            sb.append("(unreadable)");
        }
        return sb.toString().trim();
    }

    private static String position(ImageInputStream iis) {
        try {
            return String.valueOf(iis.getStreamPosition());
        } catch (IOException e) {
            return "unknown";
        }
    }

    // =====================================================================================================
    // PGM
    // =====================================================================================================

    /** One pass over a PGM stream, tracking the byte offset for error messages. */
    private static final class PgmParser {
        private final InputStream in;
        private final String source;
        /** Total length of the input in bytes, or -1 if unknown. */
        private final long length;
        /** The cap on the float raster, {@link Images#maxDecodedBytes()} but for tests. */
        private final long maxDecodedBytes;
        /** Offset of the next byte {@link #read()} returns. */
        private long pos;
        /** The byte that ended the last number (whitespace, '#', or -1 for end of input). */
        private int terminator;

        PgmParser(InputStream in, String source, long length, long maxDecodedBytes) {
            this.in = in;
            this.source = source;
            this.length = length;
            this.maxDecodedBytes = maxDecodedBytes;
        }

        GrayImage parse() throws IOException {
            int b0 = read();
            int b1 = read();
            int b2 = read();
            boolean magicP = b0 == 'P' && b1 >= '0' && b1 <= '9';
            if (magicP && b1 != '2' && b1 != '5') {
                throw fail("unsupported Netpbm type 'P" + (char) b1 + "': only grey maps P2 (plain) and P5 (raw)"
                        + " are read", "byte 0, magic");
            }
            if (!magicP || !(isWhitespace(b2) || b2 == '#')) {
                throw fail("bad magic " + describe(b0, b1, b2) + ": a PGM starts with 'P2' or 'P5' and whitespace",
                        "byte 0, magic");
            }
            if (b2 == '#') {
                skipComment();
            }
            boolean plain = b1 == '2';
            long width = headerField("width", 1, Integer.MAX_VALUE);
            long height = headerField("height", 1, Integer.MAX_VALUE);
            if (width * height > MAX_PIXELS) {
                throw fail(width + "x" + height + " = " + width * height + " pixels is above the cap of "
                        + MAX_PIXELS + " (Images.MAX_PIXELS)", "header fields 'width' and 'height'");
            }
            long maxval = headerField("maxval", 1, 65535);
            int n = (int) (width * height);
            int bytesPer = maxval > 255 ? 2 : 1;
            if (plain) {
                // A plain sample takes at least one digit plus a separator (none after the last one).
                checkRemaining(2L * n - 1, n + " plain samples need at least " + (2L * n - 1) + " bytes");
            } else {
                if (terminator == '#' || terminator < 0) {
                    throw fail(terminator < 0 ? "raster truncated: the file ends after the header"
                            : "a comment between maxval and a P5 raster is not allowed (exactly one whitespace"
                            + " byte must follow maxval)", "byte " + pos + ", after header field 'maxval'");
                }
                checkRemaining((long) n * bytesPer, width + "x" + height + " samples of " + bytesPer
                        + " byte(s) need " + (long) n * bytesPer + " bytes");
            }
            // After the truncation check, which names the real problem of a short file, before any allocation.
            long decodedBytes = (long) n * Float.BYTES;
            if (decodedBytes > maxDecodedBytes) {
                throw fail("header declares " + width + "x" + height + " pixels: " + decodedBytes + " bytes decoded"
                        + " (4-byte floats), above the cap of " + maxDecodedBytes + " bytes (a quarter of the maximum"
                        + " heap, -Xmx; Images.maxDecodedBytes)", "header fields 'width' and 'height'");
            }
            float[] px = plain ? readPlainRaster(n, (int) width, (int) maxval)
                    : readRawRaster(n, (int) width, (int) maxval, bytesPer);
            return GrayImage.wrap((int) height, (int) width, maxval, px);
        }

        private void checkRemaining(long needed, String what) throws ImageFormatException {
            if (length >= 0 && length - pos < needed) {
                throw fail("raster truncated: " + what + " after the header, the file has " + (length - pos),
                        "byte " + pos + ", start of raster");
            }
        }

        /**
         * A buffer for the {@code n} samples: all of it when the known input length has vouched for them, else a
         * first chunk that {@link #ensure} grows as samples arrive, so memory follows the data, not the header.
         */
        private float[] rasterBuffer(int n) {
            return new float[length >= 0 ? n : Math.min(n, 1 << 16)];
        }

        private static float[] ensure(float[] px, int needed, int n) {
            return needed <= px.length ? px : Arrays.copyOf(px, (int) Math.min(n, Math.max(needed, 2L * px.length)));
        }

        private float[] readRawRaster(int n, int width, int maxval, int bytesPer) throws IOException {
            long rasterStart = pos;
            long needed = (long) n * bytesPer;
            byte[] buf = new byte[(int) Math.min(needed, 1 << 16)];
            float[] px = rasterBuffer(n);
            int index = 0;
            while (index < n) {
                int want = (int) Math.min(buf.length, (long) (n - index) * bytesPer);
                int got = in.readNBytes(buf, 0, want);
                long chunkStart = pos;
                pos += got;
                if (got < want) {
                    throw fail("raster truncated: expected " + needed + " bytes of pixel data, found "
                            + (pos - rasterStart), "byte " + pos + ", end of input");
                }
                px = ensure(px, index + want / bytesPer, n);
                for (int i = 0; i < want; i += bytesPer) {
                    int v = bytesPer == 1 ? buf[i] & 0xFF : ((buf[i] & 0xFF) << 8) | (buf[i + 1] & 0xFF);
                    if (v > maxval) {
                        throw fail("sample value " + v + " exceeds maxval " + maxval, "byte " + (chunkStart + i)
                                + ", pixel row " + index / width + " column " + index % width);
                    }
                    px[index++] = v;
                }
            }
            return px;
        }

        private float[] readPlainRaster(int n, int width, int maxval) throws IOException {
            float[] px = rasterBuffer(n);
            for (int i = 0; i < n; i++) {
                int b = skipWhitespaceAndComments();
                long start = pos - 1;
                String where = "byte " + start + ", pixel row " + i / width + " column " + i % width;
                if (b < 0) {
                    throw fail("raster truncated: expected " + n + " samples, found " + i,
                            "byte " + pos + ", end of input");
                }
                long v = number(b, "sample", where, maxval);
                px = ensure(px, i + 1, n);
                px[i] = v;
            }
            return px;
        }

        /** Reads one header number in [min, max], skipping whitespace and comments before it. */
        private long headerField(String field, long min, long max) throws IOException {
            int b = skipWhitespaceAndComments();
            long start = pos - 1;
            String where = "byte " + start + ", header field '" + field + "'";
            if (b < 0) {
                throw fail("header truncated: the file ends before header field '" + field + "'",
                        "byte " + pos + ", header field '" + field + "'");
            }
            long v = number(b, "header field '" + field + "'", where, Long.MAX_VALUE);
            if (v < min || v > max) {
                throw fail("header field '" + field + "' must be in " + min + ".." + max + ", got " + v, where);
            }
            return v;
        }

        /**
         * Parses the decimal number starting with byte {@code first}; it must end with whitespace, a comment or
         * the end of input. Values above {@code limit} (or above int range) fail without reading further.
         */
        private long number(int first, String what, String where, long limit) throws IOException {
            if (!isDigit(first)) {
                throw fail(what + " is not a decimal number: found " + describe(first), where);
            }
            long v = 0;
            int b = first;
            while (isDigit(b)) {
                v = v * 10 + (b - '0');
                if (v > Integer.MAX_VALUE) {
                    throw fail(what + " is too large (above " + Integer.MAX_VALUE + ")", where);
                }
                b = read();
            }
            if (b >= 0 && !isWhitespace(b) && b != '#') {
                throw fail(what + " is not a decimal number: found " + describe(b) + " after the digits",
                        "byte " + (pos - 1) + ", in " + where.replaceFirst("^byte ", "the number starting at byte "));
            }
            if (v > limit) {
                throw fail(what + " value " + v + " exceeds maxval " + limit, where);
            }
            terminator = b;
            if (b == '#') {
                skipComment();
            }
            return v;
        }

        private int skipWhitespaceAndComments() throws IOException {
            while (true) {
                int b = read();
                if (b == '#') {
                    skipComment();
                } else if (!isWhitespace(b)) {
                    return b;
                }
            }
        }

        private void skipComment() throws IOException {
            int b;
            do {
                b = read();
            } while (b >= 0 && b != '\n' && b != '\r');
        }

        private int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                pos++;
            }
            return b;
        }

        private ImageFormatException fail(String problem, String where) {
            return new ImageFormatException(source, problem, where);
        }

        private static boolean isDigit(int b) {
            return b >= '0' && b <= '9';
        }

        private static boolean isWhitespace(int b) {
            return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == 0x0B || b == '\f';
        }

        private static String describe(int... bytes) {
            StringBuilder sb = new StringBuilder();
            for (int b : bytes) {
                if (sb.length() > 0) {
                    sb.append(' ');
                }
                if (b < 0) {
                    sb.append("end of input");
                } else if (b >= 0x21 && b < 0x7F) {
                    sb.append('\'').append((char) b).append('\'');
                } else {
                    sb.append(String.format("0x%02X", b));
                }
            }
            return sb.toString();
        }
    }
}
