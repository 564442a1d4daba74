package org.siamese4j.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Reads the protobuf wire format from bytes in memory, treating them as hostile.
 *
 * <p>A message is a sequence of fields, each a tag (a varint: field number times 8 plus the wire type) then a
 * value: a varint (wire type 0), 8 little-endian bytes (1), a varint length then that many bytes (2: strings,
 * bytes, sub-messages and packed repeated scalars) or 4 little-endian bytes (5). Varints hold 7 bits a byte, least
 * significant group first, the top bit set on every byte but the last; a negative {@code int32} or {@code int64}
 * takes all 10 bytes. Wire types 3 and 4 (groups, deprecated) are not used by ONNX and are refused; 6 and 7 do
 * not exist.
 *
 * <p>Every read stays within the current limit (the end of the file, or of the sub-message being read): a length
 * is checked against the bytes that remain before anything is allocated for it, so what a reader allocates is
 * bounded by a small multiple of the file's size. Sub-messages nest at most {@link #MAX_DEPTH} deep. Every failure
 * is an {@link OnnxFormatException} naming the field path and the byte offset.
 */
final class ProtoReader {
    static final int VARINT = 0;
    static final int FIXED64 = 1;
    static final int LENGTH_DELIMITED = 2;
    static final int FIXED32 = 5;
    /** A 64-bit value takes at most 10 varint bytes (7 bits each). */
    static final int MAX_VARINT_BYTES = 10;
    /**
     * Deepest nesting of sub-messages. The ONNX subset read here nests 6 deep at most (graph, value_info, type,
     * tensor_type, shape, dim under the model); recursive messages (subgraphs, nested types) are refused, so this
     * guard is a second line against a future change that recurses.
     */
    static final int MAX_DEPTH = 16;
    /**
     * The most nodes a graph may have. Each message and string decoded becomes objects (about 240 bytes of heap
     * for an empty node, 2 bytes of file), so the count of what is built, not the file size, bounds the heap a
     * hostile file can take. A CNN embedder has 10^2 to 10^3 nodes (ArcFace's ResNet-100 about 1,000) and the
     * largest exported graphs (language models) about 10^5: a million leaves ten times that.
     */
    static final int MAX_NODES = 1_000_000;
    /**
     * The most messages and strings decoded in all (nodes, attributes, tensors, value infos, dimensions, names,
     * node inputs and outputs...): 8 per node of the largest graph allowed, more than real models use (a node is
     * a message with a name, an operator, 1 to 3 inputs, an output and a few named attributes, most of them shared
     * by the exporters' small graphs of weights). At worst, one empty node per 2 bytes, this is about 1 GB of heap
     * for a 16 MB file; without the cap a 100 MB file of empty messages took 12 GB and ended in OutOfMemoryError.
     */
    static final long MAX_DECODED = 8L * MAX_NODES;

    private final byte[] buf;
    private final String source;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder(); // reports malformed input
    private int pos;
    private int limit;
    private int depth;
    /** Messages and strings decoded so far, against {@link #MAX_DECODED}. */
    private long decoded;
    /** Where the last tag read starts: the offset a wrong wire type is reported at. */
    private int tagStart;

    ProtoReader(byte[] buf, String source) {
        this.buf = buf;
        this.source = source;
        this.limit = buf.length;
    }

    static int fieldNumber(int tag) {
        return tag >>> 3;
    }

    static int wireType(int tag) {
        return tag & 7;
    }

    /** The byte offset of the next read. */
    int position() {
        return pos;
    }

    /** Whether the current message has fields left. */
    boolean hasMore() {
        return pos < limit;
    }

    /** The next field's tag, checked: a field number from 1 and a wire type ONNX can hold. */
    int readTag(FieldPath at) throws OnnxFormatException {
        int start = pos;
        tagStart = start;
        long tag = readVarint(at, null);
        if (tag >>> 32 != 0) {
            throw fail("field tag " + Long.toUnsignedString(tag) + " is wider than 32 bits", at, null, start);
        }
        int field = (int) (tag >>> 3);
        int wire = (int) (tag & 7);
        if (field == 0) {
            throw fail("field number 0 is not valid protobuf (tag " + tag + ")", at, null, start);
        }
        if (wire == 3 || wire == 4) {
            throw fail("field " + field + " has wire type " + wire + " (a group), which ONNX does not use", at, null,
                    start);
        }
        if (wire == 6 || wire == 7) {
            throw fail("field " + field + " has wire type " + wire + ", which does not exist", at, null, start);
        }
        return (int) tag;
    }

    /** Fails unless {@code tag} has wire type {@code expected}. */
    void expectWireType(int tag, int expected, FieldPath at, String field) throws OnnxFormatException {
        if (wireType(tag) != expected) {
            throw wrongWireType(tag, wireTypeName(expected), at, field);
        }
    }

    long readVarint(FieldPath at, String field) throws OnnxFormatException {
        int start = pos;
        long result = 0;
        for (int i = 0; i < MAX_VARINT_BYTES; i++) {
            if (pos >= limit) {
                throw truncated("a varint", at, field, start);
            }
            int b = buf[pos++];
            if (i == MAX_VARINT_BYTES - 1 && (b & 0xfe) != 0) {
                throw fail((b & 0x80) != 0 ? "varint longer than " + MAX_VARINT_BYTES + " bytes"
                        : "varint overflows 64 bits", at, field, start);
            }
            result |= (long) (b & 0x7f) << (7 * i);
            if (b >= 0) {
                return result;
            }
        }
        throw new AssertionError("unreachable: the tenth byte ends or fails");
    }

    int readFixed32(FieldPath at, String field) throws OnnxFormatException {
        require(4, "a fixed32 (4 bytes)", at, field);
        int v = ByteBuffer.wrap(buf, pos, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        pos += 4;
        return v;
    }

    long readFixed64(FieldPath at, String field) throws OnnxFormatException {
        require(8, "a fixed64 (8 bytes)", at, field);
        long v = ByteBuffer.wrap(buf, pos, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        pos += 8;
        return v;
    }

    /** A length prefix, checked against the bytes left in the current message. */
    int readLength(FieldPath at, String field) throws OnnxFormatException {
        int start = pos;
        long n = readVarint(at, field);
        if (n < 0 || n > limit - pos) {
            int left = limit - pos;
            throw fail("length " + Long.toUnsignedString(n) + " runs past " + end() + " (" + left
                    + (left == 1 ? " byte remains)" : " bytes remain)"), at, field, start);
        }
        return (int) n;
    }

    /**
     * Enters a sub-message (wire type 2): reads its length and makes its end the limit. Returns the enclosing
     * limit, to give back to {@link #exitMessage}.
     */
    int enterMessage(int tag, FieldPath at) throws OnnxFormatException {
        expectWireType(tag, LENGTH_DELIMITED, at, null);
        int start = pos;
        int n = readLength(at, null);
        if (depth >= MAX_DEPTH) {
            throw fail("messages nest deeper than " + MAX_DEPTH, at, null, start);
        }
        countDecoded(at, null, start);
        depth++;
        int enclosing = limit;
        limit = pos + n;
        return enclosing;
    }

    /** Counts one more message or string decoded; refuses the file beyond {@link #MAX_DECODED}. */
    private void countDecoded(FieldPath at, String field, int offset) throws OnnxFormatException {
        if (++decoded > MAX_DECODED) {
            throw fail("more than " + MAX_DECODED + " messages and strings (" + MAX_NODES / 1_000_000 + " million "
                    + "nodes' worth): more than any real model holds, refused before decoding it fills the heap",
                    at, field, offset);
        }
    }

    /** Leaves the sub-message entered last, whose fields have all been read. */
    void exitMessage(int enclosingLimit) {
        if (pos != limit) {
            throw new IllegalStateException("sub-message left at byte " + pos + " before its end at " + limit);
        }
        limit = enclosingLimit;
        depth--;
    }

    /** A string field: length-delimited, valid UTF-8. */
    String readString(int tag, FieldPath at, String field) throws OnnxFormatException {
        expectWireType(tag, LENGTH_DELIMITED, at, field);
        int start = pos;
        int n = readLength(at, field);
        countDecoded(at, field, start);
        int from = pos;
        pos += n;
        boolean ascii = true;
        for (int i = from; i < from + n && ascii; i++) {
            ascii = buf[i] >= 0;
        }
        if (ascii) {
            return new String(buf, from, n, StandardCharsets.US_ASCII);
        }
        try {
            return utf8.decode(ByteBuffer.wrap(buf, from, n)).toString();
        } catch (CharacterCodingException e) {
            throw fail("text of " + n + " bytes is not valid UTF-8", at, field, start);
        }
    }

    /** A bytes field, left where it is: returns the offset of its first byte; its length is {@code end - offset}. */
    int readBytesInPlace(int tag, FieldPath at, String field) throws OnnxFormatException {
        expectWireType(tag, LENGTH_DELIMITED, at, field);
        int n = readLength(at, field);
        int from = pos;
        pos += n;
        return from;
    }

    /** {@code length} bytes of the file from {@code offset}, little-endian, without copying. */
    ByteBuffer littleEndian(int offset, int length) {
        return ByteBuffer.wrap(buf, offset, length).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Skips one field of any wire type: unknown fields, and known ones this reader does not keep. */
    void skip(int tag, FieldPath at) throws OnnxFormatException {
        String field = "#" + fieldNumber(tag);
        switch (wireType(tag)) {
            case VARINT -> readVarint(at, field);
            case FIXED64 -> readFixed64(at, field);
            case LENGTH_DELIMITED -> {
                int n = readLength(at, field); // apart: "pos += readLength()" adds to pos as it was before
                pos += n;
            }
            case FIXED32 -> readFixed32(at, field);
            default -> throw new AssertionError("readTag admits no wire type " + wireType(tag));
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Repeated scalars: packed (one length-delimited run) or not (one element per field), both accepted, as
    // protobuf requires of a parser whichever form the schema declares.
    // ---------------------------------------------------------------------------------------------------------

    /** Appends a repeated varint field ({@code int64}, {@code int32}): one element, or a packed run. */
    void readVarints(int tag, LongList into, FieldPath at, String field) throws OnnxFormatException {
        switch (wireType(tag)) {
            case VARINT -> into.add(readVarint(at, field));
            case LENGTH_DELIMITED -> {
                int n = readLength(at, field);
                int end = pos + n;
                // Each varint ends with exactly one byte below 0x80: count them to size the array from the bytes
                // that exist (a truncated last varint fails below).
                int count = 0;
                for (int i = pos; i < end; i++) {
                    count += buf[i] >= 0 ? 1 : 0;
                }
                into.reserve(count);
                int enclosing = limit;
                limit = end;
                while (pos < end) {
                    into.add(readVarint(at, field));
                }
                limit = enclosing;
            }
            default -> throw wrongWireType(tag, "varint or packed (wire type 0 or 2)", at, field);
        }
    }

    /** Appends a repeated {@code float} field (fixed32 elements): one element, or a packed run. */
    void readFloats(int tag, FloatList into, FieldPath at, String field) throws OnnxFormatException {
        switch (wireType(tag)) {
            case FIXED32 -> into.add(Float.intBitsToFloat(readFixed32(at, field)));
            case LENGTH_DELIMITED -> {
                int start = pos;
                int n = readLength(at, field);
                if (n % 4 != 0) {
                    throw fail("packed floats take " + n + " bytes, not a multiple of 4", at, field, start);
                }
                into.reserve(n / 4);
                ByteBuffer b = littleEndian(pos, n);
                for (int i = 0; i < n / 4; i++) {
                    into.add(b.getFloat());
                }
                pos += n;
            }
            default -> throw wrongWireType(tag, "fixed32 or packed (wire type 5 or 2)", at, field);
        }
    }

    /** Appends a repeated {@code double} field (fixed64 elements), rounded to float32: one element or packed. */
    void readDoublesAsFloats(int tag, FloatList into, FieldPath at, String field) throws OnnxFormatException {
        switch (wireType(tag)) {
            case FIXED64 -> into.add((float) Double.longBitsToDouble(readFixed64(at, field)));
            case LENGTH_DELIMITED -> {
                int start = pos;
                int n = readLength(at, field);
                if (n % 8 != 0) {
                    throw fail("packed doubles take " + n + " bytes, not a multiple of 8", at, field, start);
                }
                into.reserve(n / 8);
                ByteBuffer b = littleEndian(pos, n);
                for (int i = 0; i < n / 8; i++) {
                    into.add((float) b.getDouble());
                }
                pos += n;
            }
            default -> throw wrongWireType(tag, "fixed64 or packed (wire type 1 or 2)", at, field);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Errors
    // ---------------------------------------------------------------------------------------------------------

    OnnxFormatException fail(String problem, FieldPath at, String field, long offset) {
        return new OnnxFormatException(source, problem, at.render(field), offset);
    }

    private OnnxFormatException wrongWireType(int tag, String expected, FieldPath at, String field) {
        return fail("wire type " + wireType(tag) + " (" + wireTypeName(wireType(tag)) + ") where field "
                + fieldNumber(tag) + " needs " + expected, at, field, tagStart);
    }

    private void require(int n, String what, FieldPath at, String field) throws OnnxFormatException {
        if (limit - pos < n) {
            throw truncated(what, at, field, pos);
        }
    }

    private OnnxFormatException truncated(String what, FieldPath at, String field, int start) {
        return fail("truncated: " + what + " runs past " + end(), at, field, start);
    }

    /** What the current limit is, for messages. */
    private String end() {
        return limit == buf.length ? "the end of the data at byte " + limit
                : "the end of its enclosing field at byte " + limit;
    }

    static String wireTypeName(int wireType) {
        return switch (wireType) {
            case VARINT -> "varint";
            case FIXED64 -> "fixed64";
            case LENGTH_DELIMITED -> "length-delimited";
            case FIXED32 -> "fixed32";
            case 3 -> "group start";
            case 4 -> "group end";
            default -> "undefined";
        };
    }

    // ---------------------------------------------------------------------------------------------------------
    // Growable primitive arrays for repeated fields (boxed lists would take 4 to 6 times the memory)
    // ---------------------------------------------------------------------------------------------------------

    static final class LongList {
        private long[] values = new long[4];
        private int size;

        void add(long v) {
            if (size == values.length) {
                reserve(1);
            }
            values[size++] = v;
        }

        void reserve(int more) {
            if (values.length - size < more) {
                values = Arrays.copyOf(values, (int) Math.min(Integer.MAX_VALUE - 8,
                        Math.max((long) size + more, 2L * values.length)));
            }
        }

        int size() {
            return size;
        }

        /** The values; the list is not used afterwards (a list filled exactly gives its own array, uncopied). */
        long[] toArray() {
            return size == values.length ? values : Arrays.copyOf(values, size);
        }
    }

    static final class FloatList {
        private float[] values = new float[4];
        private int size;

        void add(float v) {
            if (size == values.length) {
                reserve(1);
            }
            values[size++] = v;
        }

        void reserve(int more) {
            if (values.length - size < more) {
                values = Arrays.copyOf(values, (int) Math.min(Integer.MAX_VALUE - 8,
                        Math.max((long) size + more, 2L * values.length)));
            }
        }

        int size() {
            return size;
        }

        /** The values; the list is not used afterwards (a list filled exactly gives its own array, uncopied). */
        float[] toArray() {
            return size == values.length ? values : Arrays.copyOf(values, size);
        }
    }
}
