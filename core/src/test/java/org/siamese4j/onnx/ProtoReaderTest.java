package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.junit.jupiter.api.Test;
import org.siamese4j.io.ThreadCounters;
import org.siamese4j.onnx.ProtoReader.FloatList;
import org.siamese4j.onnx.ProtoReader.LongList;

/** The wire format on hand-built bytes: every field kind, every malformation, and the bounds. */
class ProtoReaderTest {
    private static final FieldPath AT = FieldPath.ROOT.child("graph").element("node", 3);

    private static ProtoReader reader(Wire w) {
        return new ProtoReader(w.bytes(), "test.onnx");
    }

    private static OnnxFormatException failure(ThrowingRead read) {
        return catchThrowableOfType(read::run, OnnxFormatException.class);
    }

    @FunctionalInterface
    private interface ThrowingRead {
        void run() throws OnnxFormatException;
    }

    @Test
    void varintsOfOneToTenBytesDecodeToTheirValues() throws OnnxFormatException {
        long[] values = {0, 1, 127, 128, 300, 16_383, 16_384, Integer.MAX_VALUE, 1L << 32, Long.MAX_VALUE, -1,
            Long.MIN_VALUE, -300};
        int[] sizes = {1, 1, 1, 2, 2, 2, 3, 5, 5, 9, 10, 10, 10};
        for (int i = 0; i < values.length; i++) {
            Wire w = new Wire().rawVarint(values[i]);
            assertThat(w.size()).as("encoded size of %d", values[i]).isEqualTo(sizes[i]);
            ProtoReader in = reader(w);
            assertThat(in.readVarint(AT, "dims")).isEqualTo(values[i]);
            assertThat(in.hasMore()).isFalse();
        }
        // 300 = 0b10_0101100: low group first with the continuation bit, as the protobuf documentation shows it
        assertThat(new Wire().rawVarint(300).bytes()).containsExactly(0xac - 256, 0x02);
    }

    @Test
    void aVarintOfElevenBytesOrBeyond64BitsIsRefusedAtItsStart() {
        Wire eleven = new Wire().raw(0x08).raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01);
        ProtoReader in = reader(eleven);
        OnnxFormatException e = failure(() -> in.readVarint(AT, "x"));
        assertThat(e).isNull(); // the first byte, 0x08, is a whole varint
        OnnxFormatException tooLong = failure(() -> in.readVarint(AT, "dims"));
        assertThat(tooLong.problem()).isEqualTo("varint longer than 10 bytes");
        assertThat(tooLong.fieldPath()).isEqualTo("graph.node[3].dims");
        assertThat(tooLong.offset()).isEqualTo(1);
        assertThat(tooLong.getMessage()).isEqualTo("test.onnx: varint longer than 10 bytes (at graph.node[3].dims,"
                + " byte 1)");

        Wire overflow = new Wire().raw(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02);
        assertThat(failure(() -> reader(overflow).readVarint(AT, "i")).problem()).isEqualTo("varint overflows 64 bits");
    }

    @Test
    void truncatedValuesNameWhatRanPastTheEnd() {
        OnnxFormatException varint = failure(() -> reader(new Wire().raw(0x96)).readVarint(AT, "i"));
        assertThat(varint.problem()).isEqualTo("truncated: a varint runs past the end of the data at byte 1");
        assertThat(varint.offset()).isZero();
        OnnxFormatException fixed = failure(() -> reader(new Wire().raw(1, 2, 3)).readFixed32(AT, "f"));
        assertThat(fixed.problem())
                .isEqualTo("truncated: a fixed32 (4 bytes) runs past the end of the data at byte 3");
        OnnxFormatException fixed64 = failure(() -> reader(new Wire().raw(1, 2, 3, 4, 5, 6, 7)).readFixed64(AT, "d"));
        assertThat(fixed64.fieldPath()).isEqualTo("graph.node[3].d");
    }

    @Test
    void fixedWidthValuesAreLittleEndian() throws OnnxFormatException {
        ProtoReader in = reader(new Wire().raw(0x78, 0x56, 0x34, 0x12, 1, 0, 0, 0, 0, 0, 0, 0x80));
        assertThat(in.readFixed32(AT, "f")).isEqualTo(0x12345678);
        assertThat(in.readFixed64(AT, "d")).isEqualTo(0x8000000000000001L);
    }

    @Test
    void aLengthBeyondTheRemainingBytesIsRefusedBeforeAnythingIsAllocated() {
        Wire w = new Wire().tag(9, 2).rawVarint(Integer.MAX_VALUE).raw(1, 2, 3);
        ProtoReader in = reader(w);
        long before = ThreadCounters.allocatedBytes();
        OnnxFormatException e = failure(() -> in.readBytesInPlace(in.readTag(AT), AT, "raw_data"));
        ThreadCounters.assertAllocatedBelow(before, 1 << 20);
        assertThat(e.problem()).isEqualTo("length 2147483647 runs past the end of the data at byte 9 (3 bytes remain)");
        assertThat(e.offset()).isEqualTo(1);

        ProtoReader huge = reader(new Wire().tag(4, 2).rawVarint(-1L));
        assertThat(failure(() -> huge.readString(huge.readTag(AT), AT, "op_type")).problem())
                .startsWith("length 18446744073709551615 runs past");
    }

    @Test
    void aFieldRunningPastItsEnclosingMessageIsRefusedThoughTheFileGoesOn() throws OnnxFormatException {
        // a message of 3 bytes whose string claims 5; the file has 10 more bytes after it
        Wire w = new Wire().tag(1, 2).rawVarint(3).tag(4, 2).rawVarint(5).raw(0x41).raw(new byte[10]);
        ProtoReader in = reader(w);
        in.enterMessage(in.readTag(FieldPath.ROOT), AT);
        int tag = in.readTag(AT);
        OnnxFormatException e = failure(() -> in.readString(tag, AT, "op_type"));
        assertThat(e.problem())
                .isEqualTo("length 5 runs past the end of its enclosing field at byte 5 (1 byte remains)");
        assertThat(e.getMessage()).endsWith("(at graph.node[3].op_type, byte 3)");
    }

    @Test
    void groupsUndefinedWireTypesAndFieldZeroAreRefused() {
        assertThat(failure(() -> reader(new Wire().tag(5, 3)).readTag(AT)).problem())
                .isEqualTo("field 5 has wire type 3 (a group), which ONNX does not use");
        assertThat(failure(() -> reader(new Wire().tag(5, 4)).readTag(AT)).problem())
                .isEqualTo("field 5 has wire type 4 (a group), which ONNX does not use");
        assertThat(failure(() -> reader(new Wire().tag(5, 6)).readTag(AT)).problem())
                .isEqualTo("field 5 has wire type 6, which does not exist");
        assertThat(failure(() -> reader(new Wire().tag(1, 7)).readTag(AT)).problem())
                .isEqualTo("field 1 has wire type 7, which does not exist");
        assertThat(failure(() -> reader(new Wire().tag(0, 0)).readTag(AT)).problem())
                .isEqualTo("field number 0 is not valid protobuf (tag 0)");
        assertThat(failure(() -> reader(new Wire().rawVarint(1L << 35)).readTag(AT)).problem())
                .isEqualTo("field tag 34359738368 is wider than 32 bits");
    }

    @Test
    void aKnownFieldOfTheWrongWireTypeIsRefusedAtItsTag() throws OnnxFormatException {
        ProtoReader in = reader(new Wire().varint(1, 1).fixed32(4, 7));
        in.readVarint(AT, "x");
        in.readVarint(AT, "y");
        int tag = in.readTag(AT);
        OnnxFormatException e = failure(() -> in.readString(tag, AT, "op_type"));
        assertThat(e.problem()).isEqualTo("wire type 5 (fixed32) where field 4 needs length-delimited");
        assertThat(e.offset()).isEqualTo(2);
        FloatList floats = new FloatList();
        ProtoReader dims = reader(new Wire().fixed64(1, 1));
        int dimsTag = dims.readTag(AT);
        assertThat(failure(() -> dims.readVarints(dimsTag, new LongList(), AT, "dims")).problem())
                .isEqualTo("wire type 1 (fixed64) where field 1 needs varint or packed (wire type 0 or 2)");
        ProtoReader f = reader(new Wire().varint(7, 1));
        int fTag = f.readTag(AT);
        assertThat(failure(() -> f.readFloats(fTag, floats, AT, "floats")).problem())
                .isEqualTo("wire type 0 (varint) where field 7 needs fixed32 or packed (wire type 5 or 2)");
    }

    @Test
    void unknownFieldsOfEveryWireTypeAreSkipped() throws OnnxFormatException {
        Wire w = new Wire().varint(99, -1).fixed64(100, 5).bytes(101, new byte[300]).fixed32(102, 1)
                .string(4, "Conv");
        ProtoReader in = reader(w);
        for (int i = 0; i < 4; i++) {
            in.skip(in.readTag(AT), AT);
        }
        assertThat(in.readString(in.readTag(AT), AT, "op_type")).isEqualTo("Conv");
        assertThat(in.hasMore()).isFalse();
        ProtoReader cut = reader(new Wire().tag(101, 2).rawVarint(50).raw(1, 2));
        int tag = cut.readTag(AT);
        assertThat(failure(() -> cut.skip(tag, AT)).fieldPath()).isEqualTo("graph.node[3].#101");
    }

    @Test
    void repeatedScalarsAreReadPackedAndUnpackedAlike() throws OnnxFormatException {
        Wire w = new Wire().varint(1, 3).packedVarints(1, 5, -1, 300).varint(1, 7).packedVarints(1)
                .floatField(4, 1.5f).packedFloats(4, -2f, Float.NaN).fixed64(10, Double.doubleToLongBits(0.1))
                .packedDoubles(10, 1e300, -0.25);
        ProtoReader in = reader(w);
        LongList longs = new LongList();
        FloatList floats = new FloatList();
        for (int i = 0; i < 4; i++) {
            in.readVarints(in.readTag(AT), longs, AT, "dims");
        }
        in.readFloats(in.readTag(AT), floats, AT, "float_data");
        in.readFloats(in.readTag(AT), floats, AT, "float_data");
        in.readDoublesAsFloats(in.readTag(AT), floats, AT, "double_data");
        in.readDoublesAsFloats(in.readTag(AT), floats, AT, "double_data");
        assertThat(longs.toArray()).containsExactly(3, 5, -1, 300, 7);
        assertThat(floats.toArray()).containsExactly(1.5f, -2f, Float.NaN, 0.1f, Float.POSITIVE_INFINITY, -0.25f);
    }

    @Test
    void badPackedRunsAreRefused() throws OnnxFormatException {
        ProtoReader floats = reader(new Wire().bytes(4, new byte[6]));
        int tag = floats.readTag(AT);
        assertThat(failure(() -> floats.readFloats(tag, new FloatList(), AT, "float_data")).problem())
                .isEqualTo("packed floats take 6 bytes, not a multiple of 4");
        ProtoReader doubles = reader(new Wire().bytes(10, new byte[12]));
        int dTag = doubles.readTag(AT);
        assertThat(failure(() -> doubles.readDoublesAsFloats(dTag, new FloatList(), AT, "double_data")).problem())
                .isEqualTo("packed doubles take 12 bytes, not a multiple of 8");
        // the last varint of the run continues past the run's end, into the next field
        ProtoReader varints = reader(new Wire().bytes(1, new byte[] {1, (byte) 0x80}).varint(2, 1));
        int vTag = varints.readTag(AT);
        OnnxFormatException e = failure(() -> varints.readVarints(vTag, new LongList(), AT, "dims"));
        assertThat(e.problem()).isEqualTo("truncated: a varint runs past the end of its enclosing field at byte 4");
        assertThat(e.offset()).isEqualTo(3);
    }

    @Test
    void messagesNestAtMostMaxDepthDeep() throws OnnxFormatException {
        Wire inner = new Wire();
        for (int i = 0; i < ProtoReader.MAX_DEPTH + 1; i++) {
            inner = new Wire().message(1, inner);
        }
        ProtoReader in = reader(inner);
        for (int i = 0; i < ProtoReader.MAX_DEPTH; i++) {
            in.enterMessage(in.readTag(AT), AT);
        }
        int tag = in.readTag(AT);
        OnnxFormatException e = failure(() -> in.enterMessage(tag, AT));
        assertThat(e.problem()).isEqualTo("messages nest deeper than " + ProtoReader.MAX_DEPTH);
    }

    @Test
    void textMustBeValidUtf8() throws OnnxFormatException {
        ProtoReader good = reader(new Wire().string(3, "näme ✓ 😀"));
        assertThat(good.readString(good.readTag(AT), AT, "name")).isEqualTo("näme ✓ 😀");
        for (byte[] bad : new byte[][] {{(byte) 0xff}, {(byte) 0xc3}, {(byte) 0xed, (byte) 0xa0, (byte) 0x80},
            {(byte) 0xc0, (byte) 0xaf}}) {
            ProtoReader in = reader(new Wire().bytes(3, bad));
            int tag = in.readTag(AT);
            OnnxFormatException e = failure(() -> in.readString(tag, AT, "name"));
            assertThat(e.problem()).isEqualTo("text of " + bad.length + " bytes is not valid UTF-8");
            assertThat(e.offset()).isEqualTo(1);
        }
    }
}
