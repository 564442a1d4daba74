package org.siamese4j.onnx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.siamese4j.io.ModelFormatException;

/**
 * Writes the protobuf wire format ({@link ProtoReader} describes it).
 *
 * <p>A sub-message's length prefix needs its size, known once it is complete, so a sub-message is built in a
 * writer of its own and then appended whole. Appending copies no bytes: a writer is a list of segments (runs of
 * small encoded fields, and payloads such as tensor data that are encoded only when the whole is written out),
 * so writing a model never holds its weights twice as bytes.
 */
final class ProtoWriter {
    /** Bytes written out lazily: a tensor's data, converted to little-endian as it goes out. */
    interface Payload {
        long length();

        void writeTo(OutputStream out) throws IOException;
    }

    private final List<Object> segments = new ArrayList<>(); // byte[] or Payload
    private byte[] pending = new byte[32];
    private int used;
    private long size;

    /** The encoded size in bytes. */
    long size() {
        return size;
    }

    void varintField(int field, long value) {
        tag(field, ProtoReader.VARINT);
        varint(value);
    }

    void floatField(int field, float value) {
        tag(field, ProtoReader.FIXED32);
        int bits = Float.floatToRawIntBits(value);
        for (int i = 0; i < 4; i++) {
            put((byte) (bits >>> (8 * i)));
        }
    }

    /** A string field in UTF-8; a string with an unpaired surrogate has no UTF-8 form and is refused. */
    void stringField(int field, String value) {
        byte[] utf8;
        try {
            ByteBuffer b = StandardCharsets.UTF_8.newEncoder().encode(CharBuffer.wrap(value)); // reports, not replaces
            utf8 = Arrays.copyOf(b.array(), b.limit());
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("text " + ModelFormatException.quoted(value)
                    + " has an unpaired surrogate, which UTF-8 cannot encode");
        }
        tag(field, ProtoReader.LENGTH_DELIMITED);
        varint(utf8.length);
        append(utf8, utf8.length);
    }

    /** A sub-message, built completely in {@code child}, which must not be written to afterwards. */
    void messageField(int field, ProtoWriter child) {
        tag(field, ProtoReader.LENGTH_DELIMITED);
        varint(child.size);
        child.flush();
        flush();
        segments.addAll(child.segments);
        size += child.size;
    }

    /** A bytes field whose content {@code payload} writes when the whole is written out. */
    void payloadField(int field, Payload payload) {
        tag(field, ProtoReader.LENGTH_DELIMITED);
        varint(payload.length());
        flush();
        segments.add(payload);
        size += payload.length();
    }

    void writeTo(OutputStream out) throws IOException {
        flush();
        for (Object s : segments) {
            if (s instanceof byte[] b) {
                out.write(b);
            } else {
                ((Payload) s).writeTo(out);
            }
        }
    }

    /** The encoded bytes; for messages that fit an array. */
    byte[] toByteArray() {
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(size + " bytes do not fit an array");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream((int) size);
        try {
            writeTo(out);
        } catch (IOException e) {
            throw new AssertionError("an in-memory stream cannot fail", e);
        }
        return out.toByteArray();
    }

    private void tag(int field, int wireType) {
        varint(((long) field << 3) | wireType);
    }

    /** Unsigned base-128, least significant group first; a negative value takes 10 bytes, as protobuf's int64. */
    private void varint(long v) {
        while ((v & ~0x7fL) != 0) {
            put((byte) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        put((byte) v);
    }

    private void put(byte b) {
        if (used == pending.length) {
            pending = Arrays.copyOf(pending, 2 * pending.length);
        }
        pending[used++] = b;
        size++;
    }

    private void append(byte[] bytes, int n) {
        if (n > 256) {
            flush();
            segments.add(bytes);
            size += n;
        } else {
            for (int i = 0; i < n; i++) {
                put(bytes[i]);
            }
        }
    }

    /** Moves the pending small writes into a segment of their own. */
    private void flush() {
        if (used > 0) {
            segments.add(Arrays.copyOf(pending, used));
            used = 0;
        }
    }
}
