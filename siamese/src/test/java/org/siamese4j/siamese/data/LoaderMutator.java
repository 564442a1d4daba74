package org.siamese4j.siamese.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.GZIPOutputStream;

/**
 * Damages valid image and IDX files for {@link LoaderFuzzTest}: generic byte damage (what disks and networks
 * do) plus rewrites of the numbers a parser trusts (what an attacker does): PGM width/height/maxval, PNG IHDR
 * fields and chunk lengths, JPEG SOF dimensions and segment lengths, IDX magic and dimensions. A mutation depends
 * only on the seed file and the {@link Random}, so a case replays from its seed.
 */
final class LoaderMutator {
    private LoaderMutator() {
    }

    /** How the bytes are laid out, which decides where the header numbers are. */
    enum Layout {
        PGM, PNG, JPEG, IDX, GZIP,
        /** A binary header without a parser here (BMP, GIF, TIFF): numbers are rewritten at any early offset. */
        OTHER
    }

    /** A valid file; for a gzip IDX file also the IDX content inside, which mutations may damage instead. */
    record Seed(String name, Layout layout, byte[] bytes, byte[] gunzipped) {
        boolean gzip() {
            return gunzipped != null;
        }
    }

    record Mutation(String kind, String description, byte[] bytes) {
    }

    static final String[] KINDS = {"bitflip", "truncate", "splice", "delete", "duplicate", "field", "length", "fill"};

    /** Header numbers an attacker would try in a PGM: signs, overflow, the caps, non-numbers. */
    private static final String[] PGM_NUMBERS = {
        "0", "1", "-1", "00", "007", "255", "256", "65535", "65536", "8192", "100000", "4000000", "16777216",
        "2147483647", "2147483648", "4294967296", "99999999999999999999", "1e3", "x", "",
    };

    /** 32-bit header values: zero, sign bit, all ones, powers of two up to and past the pixel cap. */
    private static final int[] INT_VALUES = {
        0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, 1 << 16, 1 << 20, 1 << 24, 100_000, 2_000_000,
    };

    static Mutation mutate(Seed seed, List<byte[]> donors, Random r) {
        String kind = KINDS[r.nextInt(KINDS.length)];
        // Header numbers of a gzip file live in its content: damage that and compress again, so the lie
        // reaches the IDX parser through a valid gzip stream. Half the other mutations do the same.
        boolean inside = seed.gzip() && (kind.equals("field") || kind.equals("length") || r.nextBoolean());
        byte[] base = inside ? seed.gunzipped() : seed.bytes();
        Layout layout = inside ? Layout.IDX : seed.layout();
        Mutation m = mutate(kind, base.clone(), layout, donors, r);
        if (!inside) {
            return m;
        }
        return new Mutation(kind, "in gzip content: " + m.description(), gzip(m.bytes()));
    }

    private static Mutation mutate(String kind, byte[] b, Layout layout, List<byte[]> donors, Random r) {
        int headerEnd = Math.min(b.length, headerEnd(b, layout));
        switch (kind) {
            case "bitflip": {
                int flips = 1 + r.nextInt(4);
                StringBuilder d = new StringBuilder("flip bits");
                for (int i = 0; i < flips; i++) {
                    // Half the flips land in the header, where the parsing decisions are made.
                    int at = r.nextBoolean() ? r.nextInt(Math.min(b.length, headerEnd + 8)) : r.nextInt(b.length);
                    int bit = r.nextInt(8);
                    b[at] ^= (byte) (1 << bit);
                    d.append(' ').append(at).append(':').append(bit);
                }
                return new Mutation(kind, d.toString(), b);
            }
            case "truncate": {
                // Half the cuts inside the header, the rest anywhere.
                int len = r.nextBoolean() ? r.nextInt(headerEnd + 1) : r.nextInt(b.length);
                return new Mutation(kind, "truncate to " + len, Arrays.copyOf(b, len));
            }
            case "splice": {
                byte[] donor = donors.get(r.nextInt(donors.size()));
                int from = r.nextInt(donor.length);
                int len = r.nextInt(Math.min(64, donor.length - from) + 1);
                int at = r.nextInt(b.length + 1);
                int replace = r.nextBoolean() ? Math.min(len, b.length - at) : 0;
                return new Mutation(kind, "splice " + len + " donor bytes from " + from + " at " + at
                        + " replacing " + replace, replace(b, at, at + replace, Arrays.copyOfRange(donor, from,
                        from + len)));
            }
            case "delete": {
                int at = r.nextInt(b.length);
                int len = 1 + r.nextInt(Math.min(32, b.length - at));
                return new Mutation(kind, "delete " + len + " bytes at " + at, replace(b, at, at + len, new byte[0]));
            }
            case "duplicate": {
                int at = r.nextInt(b.length);
                int len = 1 + r.nextInt(Math.min(48, b.length - at));
                return new Mutation(kind, "duplicate " + len + " bytes at " + at,
                        replace(b, at, at, Arrays.copyOfRange(b, at, at + len)));
            }
            case "fill": {
                // Damage past the header: samples above maxval, corrupt deflate/entropy-coded data.
                int at = headerEnd < b.length ? headerEnd + r.nextInt(b.length - headerEnd) : r.nextInt(b.length);
                int len = 1 + r.nextInt(16);
                int fill = new int[] {0x00, 0xFF, r.nextInt(256)}[r.nextInt(3)];
                for (int i = at; i < Math.min(b.length, at + len); i++) {
                    b[i] = (byte) fill;
                }
                return new Mutation(kind, String.format("fill %d bytes at %d with 0x%02X", len, at, fill), b);
            }
            case "field":
            case "length":
                return rewriteNumber(kind, b, layout, r);
            default:
                throw new AssertionError(kind);
        }
    }

    /**
     * "field" writes a hostile value (zero, negative, overflowing, past the caps); "length" a value near the
     * true one (off by one, doubled, halved), which keeps the header plausible and moves the damage to the data.
     */
    private static Mutation rewriteNumber(String kind, byte[] b, Layout layout, Random r) {
        boolean hostile = kind.equals("field");
        switch (layout) {
            case PGM: {
                List<int[]> tokens = pgmHeaderNumbers(b);
                if (tokens.isEmpty()) {
                    return new Mutation(kind, "no header number", b);
                }
                int t = r.nextInt(tokens.size());
                int[] tok = tokens.get(t);
                String old = new String(b, tok[0], tok[1] - tok[0], StandardCharsets.US_ASCII);
                String value;
                if (hostile) {
                    value = PGM_NUMBERS[r.nextInt(PGM_NUMBERS.length)];
                } else {
                    long v = Long.parseLong(old);
                    value = Long.toString(new long[] {v + 1, v - 1, 2 * v, v / 2, v * v}[r.nextInt(5)]);
                }
                String field = new String[] {"width", "height", "maxval"}[t];
                return new Mutation(kind, "PGM " + field + " " + old + " -> '" + value + "'",
                        replace(b, tok[0], tok[1], value.getBytes(StandardCharsets.US_ASCII)));
            }
            case PNG:
                return hostile && r.nextInt(4) > 0 ? pngIhdr(b, r) : pngChunkLength(kind, b, hostile, r);
            case JPEG:
                return hostile && r.nextInt(4) > 0 ? jpegSof(b, r) : jpegSegmentLength(kind, b, hostile, r);
            case IDX: {
                int dims = b.length >= 4 ? Math.min(b[3] & 0xFF, 3) : 0;
                if (hostile && (dims == 0 || r.nextInt(4) == 0)) {
                    int at = r.nextInt(Math.min(4, b.length));
                    int[] choices = at == 2 ? new int[] {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF}
                            : at == 3 ? new int[] {0, 1, 2, 3, 4, 255} : new int[] {1, 0x80, 0xFF};
                    int v = choices[r.nextInt(choices.length)];
                    int old = b[at] & 0xFF;
                    b[at] = (byte) v;
                    return new Mutation(kind, String.format("IDX magic byte %d 0x%02X -> 0x%02X", at, old, v), b);
                }
                if (b.length < 8) {
                    return new Mutation(kind, "no dimension", b);
                }
                int d = r.nextInt(Math.min(dims, (b.length - 4) / 4));
                int at = 4 + 4 * d;
                ByteBuffer buf = ByteBuffer.wrap(b);
                int old = buf.getInt(at);
                int v;
                if (hostile) {
                    v = r.nextInt(INT_VALUES.length + 2) < INT_VALUES.length ? INT_VALUES[r.nextInt(INT_VALUES.length)]
                            : r.nextInt();
                } else {
                    v = new int[] {old + 1, old - 1, 2 * old, old / 2, 0}[r.nextInt(5)];
                }
                buf.putInt(at, v);
                return new Mutation(kind, "IDX dimension " + d + " " + Integer.toUnsignedString(old) + " -> "
                        + Integer.toUnsignedString(v), b);
            }
            default:
                return headerWord(kind, b, hostile, r);
        }
    }

    /** A 16- or 32-bit word of either byte order somewhere in the first 64 bytes. */
    private static Mutation headerWord(String kind, byte[] b, boolean hostile, Random r) {
        int width = r.nextBoolean() ? 2 : 4;
        if (b.length < width) {
            return new Mutation(kind, "no header word", b);
        }
        int at = r.nextInt(Math.min(64, b.length - width + 1));
        ByteBuffer buf = ByteBuffer.wrap(b).order(r.nextBoolean() ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        long old = width == 2 ? buf.getShort(at) & 0xFFFF : buf.getInt(at) & 0xFFFFFFFFL;
        long v = hostile ? new long[] {0, 1, 0xFFFF, 0x8000, 0x7FFFFFFF, 0x80000000L, 0xFFFFFFFFL, 1 << 20,
            r.nextLong()}[r.nextInt(9)] : new long[] {old + 1, old - 1, 2 * old, old / 2}[r.nextInt(4)];
        if (width == 2) {
            buf.putShort(at, (short) v);
        } else {
            buf.putInt(at, (int) v);
        }
        return new Mutation(kind, String.format("%s %d-bit word at %d: %d -> %d", buf.order(), 8 * width, at, old,
                width == 2 ? v & 0xFFFF : v & 0xFFFFFFFFL), b);
    }

    private static Mutation pngIhdr(byte[] b, Random r) {
        if (b.length < 33) {
            return new Mutation("field", "no IHDR", b);
        }
        ByteBuffer buf = ByteBuffer.wrap(b);
        String[] names = {"width", "height", "bit depth", "colour type", "compression", "filter", "interlace"};
        int f = r.nextInt(names.length);
        String change;
        if (f < 2) {
            int old = buf.getInt(16 + 4 * f);
            int other = Math.max(1, buf.getInt(20 - 4 * f));
            int v = r.nextInt(INT_VALUES.length + 4);
            // The last choice puts the image exactly at the pixel cap: allowed, so the decoder allocates it.
            v = v < INT_VALUES.length ? INT_VALUES[v] : v == INT_VALUES.length ? 2 * old
                    : v == INT_VALUES.length + 1 ? old + 1 + r.nextInt(64) : (int) (Images.MAX_PIXELS / other);
            buf.putInt(16 + 4 * f, v);
            change = Integer.toUnsignedString(old) + " -> " + Integer.toUnsignedString(v);
        } else {
            int[] choices = f == 2 ? new int[] {0, 1, 2, 3, 4, 5, 8, 16, 255}
                    : f == 3 ? new int[] {0, 1, 2, 3, 4, 5, 6, 7, 255} : new int[] {0, 1, 2, 255};
            int at = 22 + f;
            int old = b[at] & 0xFF;
            b[at] = (byte) choices[r.nextInt(choices.length)];
            change = old + " -> " + (b[at] & 0xFF);
        }
        // Usually with a matching CRC, so a reader that checks CRCs still sees the lie.
        boolean fixCrc = r.nextInt(8) > 0;
        if (fixCrc) {
            CRC32 crc = new CRC32();
            crc.update(b, 12, 17);
            buf.putInt(29, (int) crc.getValue());
        }
        return new Mutation("field", "PNG IHDR " + names[f] + " " + change + (fixCrc ? " (CRC fixed)" : ""), b);
    }

    private static Mutation pngChunkLength(String kind, byte[] b, boolean hostile, Random r) {
        List<Integer> starts = new ArrayList<>();
        ByteBuffer buf = ByteBuffer.wrap(b);
        for (long at = 8; at + 8 <= b.length; at += 12L + (buf.getInt((int) at) & 0xFFFFFFFFL)) {
            starts.add((int) at);
        }
        if (starts.isEmpty()) {
            return new Mutation(kind, "no chunk", b);
        }
        int at = starts.get(r.nextInt(starts.size()));
        int old = buf.getInt(at);
        int v = hostile ? new int[] {0, Integer.MAX_VALUE, Integer.MIN_VALUE, -1, b.length, r.nextInt()}[r.nextInt(6)]
                : new int[] {old + 1, old - 1, old + 12, 2 * old, old / 2}[r.nextInt(5)];
        buf.putInt(at, v);
        return new Mutation(kind, "PNG chunk " + new String(b, at + 4, 4, StandardCharsets.ISO_8859_1)
                + " length " + Integer.toUnsignedString(old) + " -> " + Integer.toUnsignedString(v), b);
    }

    /** Starts of the JPEG marker segments with a length field, up to and including SOS. */
    private static List<Integer> jpegSegments(byte[] b) {
        List<Integer> out = new ArrayList<>();
        int at = 2;
        while (at + 4 <= b.length && (b[at] & 0xFF) == 0xFF) {
            int marker = b[at + 1] & 0xFF;
            if (marker == 0xD8 || marker == 0xD9 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
                at += 2;
                continue;
            }
            out.add(at);
            if (marker == 0xDA) {
                break;
            }
            at += 2 + (((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF));
        }
        return out;
    }

    private static Mutation jpegSof(byte[] b, Random r) {
        for (int at : jpegSegments(b)) {
            int marker = b[at + 1] & 0xFF;
            if (marker >= 0xC0 && marker <= 0xC2 && at + 12 <= b.length) {
                String[] names = {"height", "width", "precision", "components", "sampling", "quant table"};
                int f = r.nextInt(names.length);
                ByteBuffer buf = ByteBuffer.wrap(b);
                if (f < 2) {
                    int pos = at + 5 + 2 * f;
                    int old = buf.getShort(pos) & 0xFFFF;
                    int[] choices = {0, 1, 0xFFFF, 0x8000, 8192, 2 * old, old + 1, r.nextInt(0x10000)};
                    int v = choices[r.nextInt(choices.length)] & 0xFFFF;
                    buf.putShort(pos, (short) v);
                    return new Mutation("field", "JPEG SOF " + names[f] + " " + old + " -> " + v, b);
                }
                int pos = f == 2 ? at + 4 : f == 3 ? at + 9 : at + (f == 4 ? 11 : 12);
                int[] choices = f == 2 ? new int[] {0, 1, 8, 12, 16, 255} : f == 3 ? new int[] {0, 1, 2, 3, 4, 255}
                        : new int[] {0x00, 0x11, 0x22, 0x44, 0x0F, 0xF1, 0xFF, 4, 255};
                int old = b[pos] & 0xFF;
                b[pos] = (byte) choices[r.nextInt(choices.length)];
                return new Mutation("field", "JPEG SOF " + names[f] + " " + old + " -> " + (b[pos] & 0xFF), b);
            }
        }
        return new Mutation("field", "no SOF", b);
    }

    private static Mutation jpegSegmentLength(String kind, byte[] b, boolean hostile, Random r) {
        List<Integer> segments = jpegSegments(b);
        if (segments.isEmpty()) {
            return new Mutation(kind, "no segment", b);
        }
        int at = segments.get(r.nextInt(segments.size()));
        ByteBuffer buf = ByteBuffer.wrap(b);
        int old = buf.getShort(at + 2) & 0xFFFF;
        int v = (hostile ? new int[] {0, 1, 2, 0xFFFF, r.nextInt(0x10000)}[r.nextInt(5)]
                : new int[] {old + 1, old - 1, old + 16, old - 16, 2 * old}[r.nextInt(5)]) & 0xFFFF;
        buf.putShort(at + 2, (short) v);
        return new Mutation(kind, String.format("JPEG segment FF%02X at %d length %d -> %d", b[at + 1] & 0xFF, at,
                old, v), b);
    }

    /** [start, end) of the width, height and maxval digits (fewer if the header is damaged). */
    private static List<int[]> pgmHeaderNumbers(byte[] b) {
        List<int[]> out = new ArrayList<>();
        int i = 2;
        while (out.size() < 3 && i < b.length) {
            if (b[i] == '#') {
                while (i < b.length && b[i] != '\n') {
                    i++;
                }
            } else if (b[i] >= '0' && b[i] <= '9') {
                int start = i;
                while (i < b.length && b[i] >= '0' && b[i] <= '9') {
                    i++;
                }
                out.add(new int[] {start, i});
            } else {
                i++;
            }
        }
        return out;
    }

    /** Where the header ends (an estimate is enough: it only steers where damage lands). */
    private static int headerEnd(byte[] b, Layout layout) {
        switch (layout) {
            case PGM: {
                List<int[]> numbers = pgmHeaderNumbers(b);
                return numbers.isEmpty() ? b.length : numbers.get(numbers.size() - 1)[1] + 1;
            }
            case PNG:
                return 33;
            case JPEG: {
                List<Integer> segments = jpegSegments(b);
                return segments.isEmpty() ? 2 : segments.get(segments.size() - 1) + 4;
            }
            case IDX:
                return b.length >= 4 ? 4 + 4 * Math.min(b[3] & 0xFF, 3) : 0;
            case GZIP:
                return 10;
            case OTHER:
                return 64;
            default:
                throw new AssertionError(layout);
        }
    }

    private static byte[] replace(byte[] b, int start, int end, byte[] with) {
        byte[] out = new byte[b.length - (end - start) + with.length];
        System.arraycopy(b, 0, out, 0, start);
        System.arraycopy(with, 0, out, start, with.length);
        System.arraycopy(b, end, out, start + with.length, b.length - end);
        return out;
    }

    static byte[] gzip(byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
