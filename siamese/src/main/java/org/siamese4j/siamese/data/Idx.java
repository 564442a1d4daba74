package org.siamese4j.siamese.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.siamese4j.tensor.Tensor;

/**
 * Reads the IDX files of MNIST and Fashion-MNIST: images (magic {@code 0x00000803}: unsigned bytes, 3 dims
 * count x rows x cols) and labels ({@code 0x00000801}: unsigned bytes, 1 dim count), all header numbers 32-bit
 * big-endian. A file starting with the gzip magic {@code 1f 8b} is decompressed on the fly, whatever its name;
 * any other file is read raw.
 *
 * <p>Files are untrusted, and every problem raises {@link ImageFormatException} naming the file, the problem and
 * the byte offset or header field: wrong magic (including a label file passed as images), unsupported element
 * type, zero rows or columns, more than {@link Images#MAX_PIXELS} pixels per image or {@link #MAX_VALUES} values in
 * total, a raw file whose length disagrees with its header, a gzip stream that is corrupt, ends early or carries
 * bytes after the declared data, and labels outside the given identity names. Memory grows only as data actually
 * arrives, so a small file declaring billions of images fails after reading what it has, not by allocating for
 * what it claims.
 */
public final class Idx {
    /** Magic of an unsigned-byte, 3-dimensional IDX file (images). */
    public static final int IMAGES_MAGIC = 0x00000803;
    /** Magic of an unsigned-byte, 1-dimensional IDX file (labels). */
    public static final int LABELS_MAGIC = 0x00000801;
    /** Cap on the values in one file: the largest Java array, minus headroom some JVMs reserve. */
    public static final long MAX_VALUES = Integer.MAX_VALUE - 8L;

    private Idx() {
    }

    /**
     * Images and labels as a dataset whose identities are the classes, named {@code "0"}, {@code "1"}, ... up to
     * the largest label.
     */
    public static ImageDataset read(Path images, Path labels) throws IOException {
        return read(images, labels, null);
    }

    /**
     * Images and labels as a dataset whose identity {@code i} is named {@code names.get(i)} (for Fashion-MNIST
     * "T-shirt/top", "Trouser", ...); every label must be below {@code names.size()}. A null list means
     * {@code "0".."max label"}.
     */
    public static ImageDataset read(Path images, Path labels, List<String> names) throws IOException {
        Tensor x = readImages(images);
        int[] y = readLabels(labels);
        if (y.length != x.dim(0)) {
            throw new ImageFormatException(labels.toString(), "has " + y.length + " labels but " + images + " has "
                    + x.dim(0) + " images", "byte 4, header field 'count'");
        }
        int max = -1;
        for (int v : y) {
            max = Math.max(max, v);
        }
        if (names == null) {
            List<String> generated = new ArrayList<>();
            for (int i = 0; i <= max; i++) {
                generated.add(Integer.toString(i));
            }
            names = generated;
        } else {
            for (int i = 0; i < y.length; i++) {
                if (y[i] >= names.size()) {
                    throw new ImageFormatException(labels.toString(), "label " + y[i] + " of item " + i
                            + " has no identity name (" + names.size() + " names given)",
                            "label item " + i + ", data byte " + (8 + i));
                }
            }
        }
        return new ImageDataset(x, y, names);
    }

    /** An images file as [count, 1, rows, cols] floats in [0, 1] (bytes divided by 255). */
    public static Tensor readImages(Path file) throws IOException {
        try (Source in = Source.open(file)) {
            int magic = in.readInt("magic");
            if (magic != IMAGES_MAGIC) {
                throw in.fail(magicProblem(magic, IMAGES_MAGIC, "images"), "byte 0, magic");
            }
            long count = in.readDim("count");
            long rows = in.readDim("rows");
            long cols = in.readDim("cols");
            if (rows == 0 || cols == 0) {
                throw in.fail("images of " + rows + "x" + cols + " pixels", "byte 8, header fields 'rows', 'cols'");
            }
            if (rows * cols > Images.MAX_PIXELS) {
                throw in.fail(rows + "x" + cols + " = " + rows * cols + " pixels per image is above the cap of "
                        + Images.MAX_PIXELS + " (Images.MAX_PIXELS)", "byte 8, header fields 'rows', 'cols'");
            }
            long values = count * rows * cols;
            if (values > MAX_VALUES) {
                throw in.fail(count + " images of " + rows + "x" + cols + " = " + values
                        + " values is above the cap of " + MAX_VALUES + " (Idx.MAX_VALUES)",
                        "byte 4, header fields 'count', 'rows', 'cols'");
            }
            byte[] bytes = in.readData(values, count + " images of " + rows + "x" + cols);
            float[] px = new float[bytes.length];
            for (int i = 0; i < px.length; i++) {
                px[i] = (bytes[i] & 0xFF) / 255f;
            }
            return Tensor.wrap(px, (int) count, 1, (int) rows, (int) cols);
        }
    }

    /** A labels file as ints in 0..255. */
    public static int[] readLabels(Path file) throws IOException {
        try (Source in = Source.open(file)) {
            int magic = in.readInt("magic");
            if (magic != LABELS_MAGIC) {
                throw in.fail(magicProblem(magic, LABELS_MAGIC, "labels"), "byte 0, magic");
            }
            long count = in.readDim("count");
            if (count > MAX_VALUES) {
                throw in.fail(count + " labels is above the cap of " + MAX_VALUES + " (Idx.MAX_VALUES)",
                        "byte 4, header field 'count'");
            }
            byte[] bytes = in.readData(count, count + " labels");
            int[] labels = new int[bytes.length];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = bytes[i] & 0xFF;
            }
            return labels;
        }
    }

    private static String magicProblem(int magic, int expected, String kind) {
        String found = String.format("0x%08X", magic);
        String hint;
        if (magic == LABELS_MAGIC) {
            hint = " (that is an IDX labels file)";
        } else if (magic == IMAGES_MAGIC) {
            hint = " (that is an IDX images file)";
        } else if ((magic >>> 16) != 0) {
            hint = " (not an IDX file: the first two bytes must be 0)";
        } else if (((magic >>> 8) & 0xFF) != 0x08) {
            hint = String.format(" (element type 0x%02X; only 0x08, unsigned byte, is read)", (magic >>> 8) & 0xFF);
        } else {
            hint = " (" + (magic & 0xFF) + " dimensions)";
        }
        return "bad magic " + found + hint + ": expected " + String.format("0x%08X", expected) + " for IDX " + kind;
    }

    /** A raw or gunzipped stream that counts bytes for error messages. */
    private static final class Source implements AutoCloseable {
        private final InputStream in;
        private final String name;
        private final boolean gzip;
        /** Raw file length, or -1 for gzip (whose decompressed length is unknown until read). */
        private final long length;
        /** Bytes consumed (decompressed bytes for gzip). */
        private long pos;

        private Source(InputStream in, String name, boolean gzip, long length) {
            this.in = in;
            this.name = name;
            this.gzip = gzip;
            this.length = length;
        }

        static Source open(Path file) throws IOException {
            String name = file.toString();
            long length = Files.size(file);
            InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16);
            try {
                raw.mark(2);
                int b0 = raw.read();
                int b1 = raw.read();
                raw.reset();
                if (b0 == 0x1f && b1 == 0x8b) {
                    try {
                        return new Source(new BufferedInputStream(new GZIPInputStream(raw, 1 << 16), 1 << 16),
                                name, true, -1);
                    } catch (ZipException | EOFException e) {
                        // A cut-off header gives an EOFException without a message.
                        throw new ImageFormatException(name, e instanceof EOFException ? "truncated gzip header"
                                : "corrupt gzip header: " + e.getMessage(), "compressed byte 0", e);
                    }
                }
                return new Source(raw, name, false, length);
            } catch (IOException | RuntimeException e) {
                raw.close();
                throw e;
            }
        }

        int readInt(String field) throws IOException {
            byte[] b = readFully(4, "header field '" + field + "'");
            return ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
        }

        /** A dimension: an unsigned 32-bit count. */
        long readDim(String field) throws IOException {
            long offset = pos;
            long v = readInt(field) & 0xFFFFFFFFL;
            if (v > Integer.MAX_VALUE) {
                throw fail("header field '" + field + "' is " + v + ", above the largest supported "
                        + Integer.MAX_VALUE, where(offset) + ", header field '" + field + "'");
            }
            return v;
        }

        /**
         * Reads exactly {@code count} data bytes that must end the file. A raw file's length is checked against
         * the header before reading; a gzip stream is read in growing chunks so memory follows the data present.
         */
        byte[] readData(long count, String what) throws IOException {
            if (!gzip && length - pos != count) {
                throw fail((length - pos < count ? "truncated" : "trailing bytes") + ": the header declares " + what
                        + " = " + count + " data bytes after the " + pos + "-byte header, so the file should be "
                        + (pos + count) + " bytes long, but it is " + length, "byte " + pos + ", start of data");
            }
            long start = pos;
            byte[] data = new byte[(int) Math.min(count, 1 << 20)];
            int filled = 0;
            while (filled < count) {
                if (filled == data.length) {
                    data = Arrays.copyOf(data, (int) Math.min(count, 2L * data.length));
                }
                int got = read(data, filled, data.length - filled);
                if (got < 0) {
                    throw fail("truncated: the header declares " + what + " = " + count + " data bytes, the "
                            + (gzip ? "decompressed stream" : "file") + " has " + filled,
                            where(pos) + ", end of data");
                }
                filled += got;
            }
            if (read(new byte[1], 0, 1) > 0) {
                throw fail("trailing bytes after the " + count + " data bytes the header declares (" + what + ")",
                        where(start + count));
            }
            return data;
        }

        private byte[] readFully(int n, String field) throws IOException {
            byte[] b = new byte[n];
            int filled = 0;
            while (filled < n) {
                int got = read(b, filled, n - filled);
                if (got < 0) {
                    throw fail("truncated header: the " + (gzip ? "decompressed stream" : "file") + " ends inside "
                            + field, where(pos) + ", " + field);
                }
                filled += got;
            }
            return b;
        }

        private int read(byte[] b, int off, int len) throws IOException {
            try {
                int got = in.read(b, off, len);
                if (got > 0) {
                    pos += got;
                }
                return got;
            } catch (EOFException e) {
                // GZIPInputStream reports a cut-off compressed stream this way (a cut-off trailer without message).
                throw fail("truncated gzip stream" + (e.getMessage() == null ? "" : ": " + e.getMessage()),
                        where(pos), e);
            } catch (ZipException e) {
                throw fail("corrupt gzip stream: " + e.getMessage(), where(pos), e);
            }
        }

        private String where(long offset) {
            return (gzip ? "decompressed byte " : "byte ") + offset;
        }

        ImageFormatException fail(String problem, String location) {
            return new ImageFormatException(name, problem, location);
        }

        ImageFormatException fail(String problem, String location, Throwable cause) {
            return new ImageFormatException(name, problem, location, cause);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
