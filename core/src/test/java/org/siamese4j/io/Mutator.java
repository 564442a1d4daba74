package org.siamese4j.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.siamese4j.io.FuzzRunner.Mutation;

/** Damages valid safetensors files the ways disks, networks and attackers do, for the fuzz test. */
final class Mutator {
    private Mutator() {
    }

    static final String[] KINDS = {
        "bitflip", "truncate", "splice", "delete", "duplicate", "length", "number", "number+length", "token",
        "dtype", "data"
    };

    private static final String[] NUMBERS = {
        "0", "1", "-1", "-0", "00", "2", "3", "7", "8", "1.5", "1e3", "1E-7", "2147483647", "2147483648",
        "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551615",
        "18446744073709551616", "99999999999999999999999", "100000000", "-9223372036854775808"
    };

    private static final String[] TOKENS = {
        ",", "\"", "{", "}", "[", "]", ":", "\\", "\\u", "\\ud800", " ", "\n", "\u0000", "null", "true", "-1",
        "1e999", "[0,0]", "[]", "{}", ",\"__metadata__\":{}", ",\"__metadata__\":{\"k\":1}", ",\"x\":1",
        "\"dtype\":\"F32\",", "\"shape\":[1],", "\"data_offsets\":[0,4],", "é", "😀", "\"\"", ",\"w\":{}",
    };

    private static final String[] DTYPES = {"F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E4M3", "X", ""};

    static Mutation mutate(byte[] base, List<byte[]> others, Random r) {
        String kind = KINDS[r.nextInt(KINDS.length)];
        byte[] b = base.clone();
        int headerEnd = headerEnd(b);
        switch (kind) {
            case "bitflip":
            case "truncate":
            case "splice":
            case "delete":
            case "duplicate":
                // half the flips land in the length field and header, where the parsing happens
                return FuzzRunner.damage(kind, base, others, r, headerEnd);
            case "length": {
                long n = headerEnd - 8;
                long[] choices = {0, 1, 2, n - 1, n + 1, n - 8, n + 8, b.length - 8, b.length - 7, b.length,
                    Long.MAX_VALUE, -1, 1L << 32, SafeTensors.MAX_HEADER_BYTES, SafeTensors.MAX_HEADER_BYTES + 1,
                    r.nextLong(), r.nextInt(b.length + 1)};
                long v = choices[r.nextInt(choices.length)];
                ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, v);
                return new Mutation(kind, "length field " + Long.toUnsignedString(v), b);
            }
            case "number":
            case "number+length": {
                List<int[]> runs = digitRuns(b, headerEnd);
                if (runs.isEmpty()) {
                    return new Mutation(kind, "no number to change", b);
                }
                int[] run = runs.get(r.nextInt(runs.size()));
                String old = new String(b, run[0], run[1] - run[0], StandardCharsets.US_ASCII);
                String replacement;
                int pick = r.nextInt(NUMBERS.length + 4);
                if (pick < NUMBERS.length) {
                    replacement = NUMBERS[pick];
                } else if (old.length() < 18) {
                    long v = Long.parseLong(old);
                    long[] near = {v + 1, v - 1, v * 2, v + 4 + r.nextInt(64)};
                    replacement = Long.toString(near[pick - NUMBERS.length]);
                } else {
                    replacement = "1";
                }
                byte[] out = FuzzRunner.replace(b, run[0], run[1], replacement.getBytes(StandardCharsets.US_ASCII));
                if (kind.equals("number+length")) {
                    fixLength(out, headerEnd - 8 + replacement.length() - old.length());
                }
                return new Mutation(kind, "number at " + run[0] + ": " + old + " -> " + replacement, out);
            }
            case "token": {
                String token = TOKENS[r.nextInt(TOKENS.length)];
                int at = 8 + r.nextInt(Math.max(1, headerEnd - 8));
                int replace = r.nextBoolean() ? Math.min(1, headerEnd - at) : 0;
                byte[] t = token.getBytes(StandardCharsets.UTF_8);
                byte[] out = FuzzRunner.replace(b, at, at + replace, t);
                fixLength(out, headerEnd - 8 + t.length - replace);
                return new Mutation(kind, "token " + Json.quoteForMessage(token) + " at " + at
                        + (replace > 0 ? " replacing a byte" : ""), out);
            }
            case "dtype": {
                String header = new String(b, 8, headerEnd - 8, StandardCharsets.ISO_8859_1);
                List<Integer> at = new ArrayList<>();
                for (int i = header.indexOf("\"dtype\":\""); i >= 0; i = header.indexOf("\"dtype\":\"", i + 1)) {
                    at.add(8 + i + 9);
                }
                if (at.isEmpty()) {
                    return new Mutation(kind, "no dtype to change", b);
                }
                int start = at.get(r.nextInt(at.size()));
                int end = start;
                while (end < headerEnd && b[end] != '"') {
                    end++;
                }
                String dtype = DTYPES[r.nextInt(DTYPES.length)];
                byte[] out = FuzzRunner.replace(b, start, end, dtype.getBytes(StandardCharsets.US_ASCII));
                fixLength(out, headerEnd - 8 + dtype.length() - (end - start));
                return new Mutation(kind, "dtype at " + start + " -> " + dtype, out);
            }
            case "data": {
                if (headerEnd >= b.length) {
                    return new Mutation(kind, "no data", b);
                }
                int width = new int[] {2, 4, 8}[r.nextInt(3)];
                int at = headerEnd + r.nextInt(b.length - headerEnd);
                byte fill = r.nextBoolean() ? (byte) 0xff : (byte) 0x7f;
                for (int i = at; i < Math.min(b.length, at + width); i++) {
                    b[i] = fill;
                }
                return new Mutation(kind, String.format("fill %d bytes at %d with 0x%02X", width, at, fill), b);
            }
            default:
                throw new AssertionError(kind);
        }
    }

    /** End of the header as the length field states it, clamped to the file. */
    private static int headerEnd(byte[] b) {
        if (b.length < 8) {
            return b.length;
        }
        long n = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return n < 0 || n > b.length - 8 ? b.length : (int) (8 + n);
    }

    private static List<int[]> digitRuns(byte[] b, int headerEnd) {
        List<int[]> runs = new ArrayList<>();
        for (int i = 8; i < headerEnd; i++) {
            if (b[i] >= '0' && b[i] <= '9') {
                int start = i;
                while (i < headerEnd && b[i] >= '0' && b[i] <= '9') {
                    i++;
                }
                runs.add(new int[] {start, i});
            }
        }
        return runs;
    }

    private static void fixLength(byte[] b, long headerLength) {
        if (b.length >= 8) {
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(0, headerLength);
        }
    }
}
