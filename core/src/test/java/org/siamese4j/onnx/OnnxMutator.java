package org.siamese4j.onnx;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import org.siamese4j.io.FuzzRunner;
import org.siamese4j.io.FuzzRunner.Mutation;

/**
 * Damages valid ONNX files for the fuzz test, blindly (bytes flipped, cut, spliced, deleted, repeated, lengths
 * overwritten) and knowing the wire format: the file is parsed into a tree of fields (a length-delimited value
 * that parses as a message is taken for one), one field is changed, dropped, repeated, renumbered, retyped or
 * joined by a hostile one, and the tree is encoded again with every enclosing length fixed, so the damage reaches
 * the checks behind the wire format (data types, dimensions, attribute types, external data, nesting).
 */
final class OnnxMutator {
    private OnnxMutator() {
    }

    static final String[] KINDS = {
        "bitflip", "truncate", "splice", "delete", "duplicate", "length", "varint", "drop", "clone", "wiretype",
        "renumber", "insert"
    };

    /** Values that break assumptions: signs, widths, the limits of int and long, and element counts. */
    private static final long[] HOSTILE_VALUES = {
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 16, 20, 22, 23, 99, 255, 65536, Integer.MAX_VALUE,
        Integer.MAX_VALUE - 8L, 1L << 31, 1L << 32, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, -1, -2
    };

    /** One field of a parsed message: a varint, fixed or length-delimited value, or raw bytes put in by a mutation. */
    static final class Field {
        int number;
        /** 0, 1, 2 or 5; -1 for raw bytes written as they are. */
        int wire;
        long value;
        byte[] bytes;
        /** The sub-message, when the length-delimited value parses as one. */
        List<Field> children;
        /** Where the length prefix of a length-delimited value is in the original file. */
        int lengthAt;

        Field copy() {
            Field f = new Field();
            f.number = number;
            f.wire = wire;
            f.value = value;
            f.bytes = bytes;
            f.lengthAt = lengthAt;
            if (children != null) {
                f.children = new ArrayList<>();
                children.forEach(c -> f.children.add(c.copy()));
            }
            return f;
        }
    }

    static Mutation mutate(byte[] base, List<byte[]> others, Random r) {
        String kind = KINDS[r.nextInt(KINDS.length)];
        byte[] b = base.clone();
        switch (kind) {
            case "bitflip":
            case "truncate":
            case "splice":
            case "delete":
            case "duplicate":
                return FuzzRunner.damage(kind, base, others, r, base.length);
            case "length": {
                List<Field> delimited = new ArrayList<>();
                for (Field f : all(parse(b, 0, b.length, 0))) {
                    if (f.wire == 2) {
                        delimited.add(f);
                    }
                }
                Field f = delimited.get(r.nextInt(delimited.size()));
                long old = f.children != null ? encode(f.children).length : f.bytes.length;
                long[] choices = {old + 1, old - 1, old + 8, 0, b.length, b.length - f.lengthAt, Integer.MAX_VALUE,
                    1L << 32, Long.MAX_VALUE, -1, r.nextInt(b.length + 1)};
                long v = choices[r.nextInt(choices.length)];
                int oldBytes = varint(old).length;
                byte[] out = FuzzRunner.replace(b, f.lengthAt, f.lengthAt + oldBytes, varint(v));
                return new Mutation(kind, "length at " + f.lengthAt + ": " + old + " -> " + Long.toUnsignedString(v),
                        out);
            }
            default:
                return structural(kind, b, r);
        }
    }

    /** The mutations on the parsed tree, encoded again with correct enclosing lengths. */
    private static Mutation structural(String kind, byte[] b, Random r) {
        List<Field> root = parse(b, 0, b.length, 0);
        List<List<Field>> messages = new ArrayList<>();
        messages.add(root);
        for (Field f : all(root)) {
            if (f.children != null) {
                messages.add(f.children);
            }
        }
        List<Field> fields = all(root);
        Field target = fields.get(r.nextInt(fields.size()));
        List<Field> parent = parentOf(messages, target);
        String d;
        switch (kind) {
            case "varint": {
                List<Field> varints = new ArrayList<>();
                for (Field f : fields) {
                    if (f.wire == 0) {
                        varints.add(f);
                    }
                }
                Field f = varints.get(r.nextInt(varints.size()));
                long v = r.nextInt(4) == 0 ? f.value + r.nextInt(5) - 2
                        : HOSTILE_VALUES[r.nextInt(HOSTILE_VALUES.length)];
                d = "field " + f.number + " value " + f.value + " -> " + v;
                f.value = v;
                break;
            }
            case "drop":
                d = "drop field " + target.number;
                parent.remove(target);
                break;
            case "clone":
                d = "repeat field " + target.number;
                parent.add(parent.indexOf(target) + 1, target.copy());
                break;
            case "wiretype": {
                int[] wires = {0, 1, 2, 5};
                int w = wires[r.nextInt(wires.length)];
                d = "field " + target.number + " wire type " + target.wire + " -> " + w;
                retype(target, w);
                break;
            }
            case "renumber": {
                int[] numbers = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 21, 22, 23, 25, 99,
                    (1 << 29) - 1};
                int n = numbers[r.nextInt(numbers.length)];
                d = "field " + target.number + " renumbered " + n;
                target.number = n;
                break;
            }
            case "insert": {
                List<Field> into = messages.get(r.nextInt(messages.size()));
                Field hostile = hostile(r);
                d = "insert " + describe(hostile) + " into a message of " + into.size() + " fields";
                into.add(r.nextInt(into.size() + 1), hostile);
                break;
            }
            default:
                throw new AssertionError(kind);
        }
        return new Mutation(kind, d, encode(root));
    }

    /** A field that no valid file has, or that this reader refuses. */
    private static Field hostile(Random r) {
        Field f = new Field();
        switch (r.nextInt(8)) {
            case 0 -> { // a group, an undefined wire type, field 0
                f.wire = -1;
                f.bytes = new byte[][] {{0x0b}, {0x0c}, {0x0e}, {0x07}, {0x00}}[r.nextInt(5)];
            }
            case 1 -> { // a varint of 11 bytes
                f.wire = -1;
                f.bytes = new byte[] {0x08, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0x01};
            }
            case 2 -> { // a length claim far beyond the end
                f.wire = -1;
                f.bytes = new byte[] {0x4a, -1, -1, -1, -1, 0x07, 1, 2, 3};
            }
            case 3 -> { // messages nested deeper than the reader goes
                Field inner = new Field();
                inner.number = 1;
                inner.wire = 2;
                inner.children = new ArrayList<>();
                Field outer = inner;
                for (int i = 0; i < 40; i++) {
                    Field next = new Field();
                    next.number = 1 + r.nextInt(13);
                    next.wire = 2;
                    next.children = new ArrayList<>(List.of(outer));
                    outer = next;
                }
                return outer;
            }
            case 4 -> { // a packed run of continuation bytes: one truncated varint
                f.number = 1 + r.nextInt(10);
                f.wire = 2;
                f.bytes = new byte[1 + r.nextInt(40)];
                Arrays.fill(f.bytes, (byte) 0x80);
            }
            case 5 -> { // a varint field of a hostile value with a number ONNX uses
                f.number = new int[] {1, 2, 3, 5, 7, 8, 14, 20}[r.nextInt(8)];
                f.wire = 0;
                f.value = HOSTILE_VALUES[r.nextInt(HOSTILE_VALUES.length)];
            }
            case 6 -> { // an empty sub-message under a number ONNX uses for one
                f.number = new int[] {1, 2, 3, 5, 6, 7, 10, 11, 12, 13, 15, 22}[r.nextInt(12)];
                f.wire = 2;
                f.children = new ArrayList<>();
            }
            default -> { // text that is not UTF-8
                f.number = 1 + r.nextInt(8);
                f.wire = 2;
                f.bytes = new byte[] {'x', (byte) 0xc3};
            }
        }
        return f;
    }

    private static String describe(Field f) {
        return f.wire == -1 ? "raw bytes " + Arrays.toString(f.bytes) : "field " + f.number + " wire " + f.wire;
    }

    /** Gives {@code f} another wire type, keeping what it can of its value (a number, or its bytes). */
    private static void retype(Field f, int wire) {
        byte[] payload = f.wire == 2 ? (f.children != null ? encode(f.children) : f.bytes)
                : f.wire == 0 ? varint(f.value) : f.bytes;
        long number = f.wire == 0 ? f.value : payload.length;
        if (wire != 2) {
            f.children = null;
        }
        f.bytes = wire == 2 ? payload : null; // fixed values are encoded from f.value
        f.value = number;
        f.wire = wire;
    }

    private static List<Field> parentOf(List<List<Field>> messages, Field target) {
        for (List<Field> m : messages) {
            for (Field f : m) {
                if (f == target) {
                    return m;
                }
            }
        }
        throw new AssertionError("field without a message");
    }

    /** Every field of the tree, depth first. */
    static List<Field> all(List<Field> message) {
        List<Field> out = new ArrayList<>();
        for (Field f : message) {
            out.add(f);
            if (f.children != null) {
                out.addAll(all(f.children));
            }
        }
        return out;
    }

    /** The fields of {@code b[from, to)}, or null when those bytes are not a message. */
    static List<Field> parse(byte[] b, int from, int to, int depth) {
        List<Field> out = new ArrayList<>();
        int[] pos = {from};
        while (pos[0] < to) {
            long tag = readVarint(b, pos, to);
            if (tag < 0 || (tag >>> 3) == 0 || (tag >>> 3) > (1 << 29)) {
                return null;
            }
            Field f = new Field();
            f.number = (int) (tag >>> 3);
            f.wire = (int) (tag & 7);
            switch (f.wire) {
                case 0 -> {
                    f.value = readVarint(b, pos, to);
                    if (pos[0] < 0) {
                        return null;
                    }
                }
                case 1, 5 -> {
                    int n = f.wire == 1 ? 8 : 4;
                    if (to - pos[0] < n) {
                        return null;
                    }
                    f.bytes = Arrays.copyOfRange(b, pos[0], pos[0] + n);
                    pos[0] += n;
                }
                case 2 -> {
                    f.lengthAt = pos[0];
                    long n = readVarint(b, pos, to);
                    if (pos[0] < 0 || n < 0 || n > to - pos[0]) {
                        return null;
                    }
                    int start = pos[0];
                    int end = start + (int) n;
                    f.bytes = Arrays.copyOfRange(b, start, end);
                    f.children = n > 0 && depth < 12 ? parse(b, start, end, depth + 1) : null;
                    pos[0] = end;
                }
                default -> {
                    return null;
                }
            }
            out.add(f);
        }
        return out;
    }

    /** A varint from {@code b[pos[0]]}, advancing pos; pos[0] becomes -1 when it runs past {@code to}. */
    private static long readVarint(byte[] b, int[] pos, int to) {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos[0] >= to) {
                pos[0] = -1;
                return -1;
            }
            int x = b[pos[0]++];
            v |= (long) (x & 0x7f) << shift;
            if (x >= 0) {
                return v;
            }
        }
        pos[0] = -1;
        return -1;
    }

    static byte[] encode(List<Field> message) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Field f : message) {
            if (f.wire == -1) {
                out.writeBytes(f.bytes);
                continue;
            }
            out.writeBytes(varint(((long) f.number << 3) | f.wire));
            switch (f.wire) {
                case 0 -> out.writeBytes(varint(f.value));
                case 1, 5 -> {
                    int n = f.wire == 1 ? 8 : 4;
                    byte[] fixed = f.bytes != null && f.bytes.length == n ? f.bytes : littleEndian(f.value, n);
                    out.writeBytes(fixed);
                }
                case 2 -> {
                    byte[] payload = f.children != null ? encode(f.children) : f.bytes;
                    out.writeBytes(varint(payload.length));
                    out.writeBytes(payload);
                }
                default -> throw new AssertionError(f.wire);
            }
        }
        return out.toByteArray();
    }

    private static byte[] littleEndian(long v, int n) {
        byte[] out = new byte[n];
        for (int i = 0; i < n; i++) {
            out[i] = (byte) (v >>> (8 * i));
        }
        return out;
    }

    static byte[] varint(long v) {
        return new Wire().rawVarint(v).bytes();
    }
}
