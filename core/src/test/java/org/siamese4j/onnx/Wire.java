package org.siamese4j.onnx;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds protobuf messages byte by byte in tests, independently of {@link ProtoWriter}: fields in any order and
 * form (packed or not), lengths that lie, tags of any wire type. Field numbers are written as literals from
 * {@code onnx.proto}, not taken from {@link OnnxSchema}, so a wrong constant there fails the tests.
 */
final class Wire {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    byte[] bytes() {
        return out.toByteArray();
    }

    int size() {
        return out.size();
    }

    Wire tag(int field, int wireType) {
        return rawVarint(((long) field << 3) | wireType);
    }

    Wire rawVarint(long v) {
        while ((v & ~0x7fL) != 0) {
            out.write((int) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        out.write((int) v);
        return this;
    }

    Wire raw(byte... bytes) {
        out.writeBytes(bytes);
        return this;
    }

    Wire raw(int... bytes) {
        for (int b : bytes) {
            out.write(b);
        }
        return this;
    }

    Wire varint(int field, long v) {
        return tag(field, 0).rawVarint(v);
    }

    Wire fixed32(int field, int bits) {
        tag(field, 5);
        out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bits).array());
        return this;
    }

    Wire floatField(int field, float v) {
        return fixed32(field, Float.floatToRawIntBits(v));
    }

    Wire fixed64(int field, long bits) {
        tag(field, 1);
        out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(bits).array());
        return this;
    }

    Wire bytes(int field, byte[] b) {
        tag(field, 2).rawVarint(b.length);
        out.writeBytes(b);
        return this;
    }

    Wire string(int field, String s) {
        return bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    Wire message(int field, Wire m) {
        return bytes(field, m.bytes());
    }

    Wire packedVarints(int field, long... values) {
        Wire p = new Wire();
        for (long v : values) {
            p.rawVarint(v);
        }
        return bytes(field, p.bytes());
    }

    Wire packedFloats(int field, float... values) {
        return bytes(field, le(values));
    }

    Wire packedDoubles(int field, double... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            b.putDouble(v);
        }
        return bytes(field, b.array());
    }

    static byte[] le(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    static byte[] le(long... values) {
        ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            b.putLong(v);
        }
        return b.array();
    }

    // ---- ONNX messages with the usual fields, for tests that change one thing ----

    /** A model (IR 7, opset 13) around {@code graph}. */
    static Wire model(Wire graph) {
        return new Wire().varint(1, 7).string(2, "test").message(7, graph)
                .message(8, new Wire().string(1, "").varint(2, 13));
    }

    /** A graph of one Relu node from {@code x} to {@code y}, with extra fields appended by the caller. */
    static Wire reluGraph() {
        return new Wire().message(1, new Wire().string(1, "x").string(2, "y").string(3, "relu").string(4, "Relu"))
                .string(2, "g").message(11, floatValue("x", 1, 4)).message(12, floatValue("y", 1, 4));
    }

    /** A value_info of a FLOAT tensor with known dimensions. */
    static Wire floatValue(String name, long... dims) {
        Wire shape = new Wire();
        for (long d : dims) {
            shape.message(1, new Wire().varint(1, d));
        }
        return new Wire().string(1, name)
                .message(2, new Wire().message(1, new Wire().varint(1, 1).message(2, shape)));
    }
}
