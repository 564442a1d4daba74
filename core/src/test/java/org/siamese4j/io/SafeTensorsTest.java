package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.siamese4j.io.Bytes.concat;
import static org.siamese4j.io.Bytes.entry;
import static org.siamese4j.io.Bytes.f32;
import static org.siamese4j.io.Bytes.f64;
import static org.siamese4j.io.Bytes.file;
import static org.siamese4j.io.Bytes.u16;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.SafeTensors.Contents;
import org.siamese4j.io.SafeTensors.ReadOptions;
import org.siamese4j.io.SafeTensors.TensorInfo;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class SafeTensorsTest {

    private static final String NAME = "hostile.safetensors";
    private static final String READS = "this library reads F32, F16, BF16, F64 and the integer dtypes BOOL, U8, I8,"
            + " I16, I32, I64";

    @TempDir
    Path dir;

    // =====================================================================================================
    // Round trips
    // =====================================================================================================

    @Test
    void roundTripKeepsValuesShapesOrderAndMetadata() throws IOException {
        Rng rng = new Rng(7);
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        // Deliberately not sorted: the order must survive.
        tensors.put("z.last", Tensor.randn(rng, 3, 1, 3, 3));
        tensors.put("0.weight", Tensor.randn(rng, 7, 1, 5));
        tensors.put("a.scalar", Tensor.scalar(-0.0f));
        tensors.put("empty", Tensor.zeros(0, 5));
        tensors.put("m.bias", Tensor.of(Float.MIN_VALUE, -Float.MAX_VALUE, 1e-40f, 3f));
        tensors.put("названия \"quoted\"\n😀", Tensor.of(1f, 2f, 3f));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("arch", "conv(32,3,pad=1) relu maxpool(2)");
        meta.put("escapes", "a\"b\\c\n\t\u0000\u001f/");
        meta.put("unicode", "é 😀 \u2028");
        meta.put("", "empty key");

        Path file = dir.resolve("model.safetensors");
        SafeTensors.write(file, tensors, meta);
        Contents back = SafeTensors.read(file);

        assertThat(back.tensors().keySet()).containsExactlyElementsOf(tensors.keySet());
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor got = back.tensors().get(e.getKey());
            assertThat(got.shape()).as(e.getKey()).containsExactly(e.getValue().shape());
            assertThat(bits(got.data())).as(e.getKey()).containsExactlyElementsOf(bits(e.getValue().data()));
        }
        assertThat(back.metadata()).containsExactlyEntriesOf(meta);
        assertThat(back.tensors().get("a.scalar").rank()).isZero();
        assertThat(Files.list(dir)).containsExactlyInAnyOrder(file, FileLocks.lockFileOf(file));
    }

    @Test
    void writesExactlyTheBytesTheSpecDescribes() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("b", Tensor.of(1f, -2f));
        tensors.put("a", Tensor.scalar(0.5f));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensors.write(out, tensors, Map.of("k", "v"));

        String json = "{\"__metadata__\":{\"k\":\"v\"},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[8,12]}}";
        int padded = (json.length() + 7) / 8 * 8; // the data section starts 8-byte aligned
        String header = json + " ".repeat(padded - json.length());
        byte[] expected = file(header, concat(
                new byte[] {0, 0, (byte) 0x80, 0x3f}, // 1.0f little-endian
                new byte[] {0, 0, 0, (byte) 0xc0},    // -2.0f
                new byte[] {0, 0, 0, 0x3f}));         // 0.5f
        assertThat(out.toByteArray()).containsExactly(expected);

        Path file = dir.resolve("same.safetensors");
        SafeTensors.write(file, tensors, Map.of("k", "v"));
        assertThat(Files.readAllBytes(file)).containsExactly(expected);
    }

    @Test
    void noMetadataMeansNoMetadataKeyAndEmptyMap() throws IOException {
        Path file = dir.resolve("bare.safetensors");
        SafeTensors.write(file, Map.of("w", Tensor.of(1f)), null);
        assertThat(new String(Files.readAllBytes(file), StandardCharsets.UTF_8)).doesNotContain("__metadata__");
        assertThat(SafeTensors.read(file).metadata()).isEmpty();
        assertThat(SafeTensors.readMetadata(file)).isEmpty();

        // No tensors at all is a valid file too: the header "{}" padded to 8 bytes, and no data.
        Path nothing = dir.resolve("nothing.safetensors");
        SafeTensors.write(nothing, Map.of(), Map.of());
        assertThat(Files.readAllBytes(nothing)).containsExactly(file("{}      ", new byte[0]));
        assertThat(SafeTensors.read(nothing).tensors()).isEmpty();
    }

    @Test
    void writeKeepsNonFiniteValuesAndReadRejectsThemUnlessAllowed() throws IOException {
        Path file = dir.resolve("diverged.safetensors");
        float nanWithPayload = Float.intBitsToFloat(0x7fc0_1234);
        float[] values = {1, 2, 3, 4, Float.POSITIVE_INFINITY, nanWithPayload};
        SafeTensors.write(file, Map.of("w", Tensor.of(values, 2, 3)), Map.of());

        ModelFormatException e = catchThrowableOfType(ModelFormatException.class, () -> SafeTensors.read(file));
        assertThat(e.problem()).isEqualTo("non-finite value Infinity in tensor \"w\" at element 4 (index [1, 1]);"
                + " load with ReadOptions.ALLOW_NON_FINITE to accept it");
        long dataStart = 8 + ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        assertThat(e.location()).isEqualTo("byte " + (dataStart + 16));
        assertThat(e.file()).isEqualTo(file.toString());

        Tensor w = SafeTensors.read(file, ReadOptions.ALLOW_NON_FINITE).tensors().get("w");
        assertThat(w.data()[4]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Float.floatToRawIntBits(w.data()[5])).isEqualTo(0x7fc0_1234);
    }

    @Test
    void readHeaderListsEntriesWithoutLoadingAndIncludesUnsupportedDtypes() throws IOException {
        String header = "{" + entry("w", "F32", "[2,3]", 0, 24) + "," + entry("ids", "U64", "[2]", 24, 40) + "}";
        Path file = dir.resolve("mixed.safetensors");
        Files.write(file, file(header, new byte[40]));

        Map<String, TensorInfo> infos = SafeTensors.readHeader(file);
        assertThat(infos.keySet()).containsExactly("w", "ids");
        assertThat(infos.get("w")).isEqualTo(new TensorInfo("F32", new int[] {2, 3}, 0, 24));
        assertThat(infos.get("ids")).isEqualTo(new TensorInfo("U64", new int[] {2}, 24, 40));
        assertThat(infos.get("ids").byteSize()).isEqualTo(16);

        assertThatThrownBy(() -> SafeTensors.read(file)).isInstanceOf(ModelFormatException.class)
                .hasMessage(file + ": unsupported dtype U64 (" + READS + ") (at header field \"ids\".dtype)");
    }

    // =====================================================================================================
    // Integer dtypes: PyTorch's buffers
    // =====================================================================================================

    @Test
    void readsTheIntegerDtypesOfPyTorchStateDictsAndKeepsEachDtype() throws IOException {
        // I64 first, as the reference writer orders them, then the narrower ones.
        String header = "{" + entry("count", "I64", "[]", 0, 8) + "," + entry("big", "I64", "[3]", 8, 32) + ","
                + entry("i32", "I32", "[2]", 32, 40) + "," + entry("i16", "I16", "[2]", 40, 44) + ","
                + entry("i8", "I8", "[2]", 44, 46) + "," + entry("u8", "U8", "[2]", 46, 48) + ","
                + entry("mask", "BOOL", "[2]", 48, 50) + "," + entry("w", "F32", "[1]", 50, 54) + "}";
        ByteBuffer data = Bytes.le(54);
        data.putLong(3).putLong(-7).putLong((1L << 24) + 1).putLong(Long.MAX_VALUE);
        data.putInt(Integer.MIN_VALUE).putInt(123_456);
        data.putShort((short) -32768).putShort((short) 300);
        data.put((byte) -128).put((byte) 127);
        data.put((byte) 0xff).put((byte) 0);
        data.put((byte) 1).put((byte) 0);
        data.putFloat(0.5f);
        Path file = dir.resolve("ints.safetensors");
        Files.write(file, file(header, data.array()));

        Contents c = SafeTensors.read(file);

        assertThat(c.tensors().get("count").rank()).isZero();
        assertThat(c.tensors().get("count").item()).isEqualTo(3f);
        // Rounded to the nearest float32 beyond 2^24, as F64 is.
        assertThat(c.tensors().get("big").data()).containsExactly(-7f, 0x1p24f, 0x1p63f);
        assertThat(c.tensors().get("i32").data()).containsExactly(-0x1p31f, 123_456f);
        assertThat(c.tensors().get("i16").data()).containsExactly(-32768f, 300f);
        assertThat(c.tensors().get("i8").data()).containsExactly(-128f, 127f);
        assertThat(c.tensors().get("u8").data()).containsExactly(255f, 0f);
        assertThat(c.tensors().get("mask").data()).containsExactly(1f, 0f);
        assertThat(c.dtypes()).containsExactly(Map.entry("count", "I64"), Map.entry("big", "I64"),
                Map.entry("i32", "I32"), Map.entry("i16", "I16"), Map.entry("i8", "I8"), Map.entry("u8", "U8"),
                Map.entry("mask", "BOOL"), Map.entry("w", "F32"));
        assertThat(c.isInteger("mask")).isTrue();
        assertThat(c.isInteger("w")).isFalse();
        assertThat(c.isInteger("absent")).isFalse();

        ModelFormatException e = catchThrowableOfType(ModelFormatException.class,
                () -> SafeTensors.requireFloating(c, "ints.safetensors"));
        assertThat(e.problem()).isEqualTo("tensor \"count\" has the integer dtype I64 where floating point (F32, F16,"
                + " BF16 or F64) is expected");
        assertThat(e.location()).isEqualTo("header field \"count\".dtype");
    }

    @Test
    void anIntegerTensorOfTheWrongByteLengthIsRefusedWithItsName() {
        // num_batches_tracked as a 4-byte value: I64 needs 8.
        assertFails(file("{" + entry("1.num_batches_tracked", "I64", "[]", 0, 4) + "}", new byte[4]),
                "data_offsets [0, 4] span 4 bytes but I64 shape [] needs 8",
                "header field \"1.num_batches_tracked\".data_offsets");
        assertFails(file("{" + entry("ids", "I32", "[3]", 0, 8) + "}", new byte[8]),
                "data_offsets [0, 8] span 8 bytes but I32 shape [3] needs 12", "header field \"ids\".data_offsets");
        // Data cut short after a valid header: the I64 runs past the end.
        assertFails(file("{" + entry("n", "I64", "[]", 0, 8) + "}", new byte[7]),
                "data_offsets [0, 8] go past the end of the data section, which has 7 bytes",
                "header field \"n\".data_offsets");
    }

    @Test
    void aBoolByteOtherThanZeroOrOneIsRefusedWithItsOffset() {
        String header = "{" + entry("mask", "BOOL", "[2,2]", 0, 4) + "}";
        byte[] bytes = file(header, new byte[] {1, 0, 2, 1});
        assertFails(bytes, "BOOL byte 0x02 in tensor \"mask\" at element 2 is neither 0 nor 1",
                "byte " + (8 + header.length() + 2));
    }

    @Test
    void writesI64TensorsFirstWithTheBytesTheSpecDescribes() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("w", Tensor.of(1f, -2f, 3f)); // 12 bytes: an I64 after it would sit at offset 12
        tensors.put("n", Tensor.scalar(3f));
        tensors.put("big", Tensor.of(-0x1p62f, 0x1p40f));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensors.write(out, tensors, null, Set.of("n", "big"));

        String json = "{\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                + "\"big\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[8,24]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}}";
        String padded = json + " ".repeat((8 - json.length() % 8) % 8);
        ByteBuffer data = Bytes.le(36).putLong(3).putLong(-(1L << 62)).putLong(1L << 40);
        data.putFloat(1f).putFloat(-2f).putFloat(3f);
        assertThat(out.toByteArray()).isEqualTo(file(padded, data.array()));

        Contents back = SafeTensors.read(out.toByteArray(), "mem");
        assertThat(back.dtypes()).containsEntry("n", "I64").containsEntry("w", "F32");
        assertThat(back.tensors().get("big").data()).containsExactly(-0x1p62f, 0x1p40f);
    }

    @Test
    void writesU8TensorsLastOneBytePerElement() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("text", Tensor.of(104f, 105f, 255f)); // 3 bytes: anything after it would be misaligned
        tensors.put("w", Tensor.of(1f, -2f));
        tensors.put("n", Tensor.scalar(3f));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        SafeTensors.write(out, tensors, null, Set.of("n"), Set.of("text"));

        String json = "{\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                + "\"text\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[16,19]}}";
        String padded = json + " ".repeat((8 - json.length() % 8) % 8);
        ByteBuffer data = Bytes.le(19).putLong(3).putFloat(1f).putFloat(-2f).put((byte) 104).put((byte) 105)
                .put((byte) 0xff);
        assertThat(out.toByteArray()).isEqualTo(file(padded, data.array()));

        Contents back = SafeTensors.read(out.toByteArray(), "mem");
        assertThat(back.dtypes()).containsEntry("text", "U8").containsEntry("n", "I64").containsEntry("w", "F32");
        assertThat(back.tensors().get("text").data()).containsExactly(104f, 105f, 255f);
    }

    @Test
    void writingAsU8RefusesValuesOutsideAByteAndANameGivenTwoDtypes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Map<String, Tensor> tensors = Map.of("b", Tensor.of(0f, 256f), "c", Tensor.of(-1f), "d", Tensor.of(0.5f));
        assertThatThrownBy(() -> SafeTensors.write(out, tensors, null, Set.of(), Set.of("b")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("SafeTensors.write: \"b\" holds 256.0 at flat index 1, not a whole number in the range of U8");
        assertThatThrownBy(() -> SafeTensors.write(out, tensors, null, Set.of(), Set.of("c")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds -1.0 at flat index 0");
        assertThatThrownBy(() -> SafeTensors.write(out, tensors, null, Set.of(), Set.of("d")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds 0.5 at flat index 0");
        assertThatThrownBy(() -> SafeTensors.write(out, Map.of("e", Tensor.of(1f)), null, Set.of("e"), Set.of("e")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("SafeTensors.write: \"e\" is to be written both as I64 and as U8");
        assertThatThrownBy(() -> SafeTensors.write(out, tensors, null, Set.of(), Set.of("typo")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("SafeTensors.write: \"typo\" is to be written as U8 but is not one of the tensors");
        assertThat(out.size()).isZero();
    }

    @Test
    void writingAsI64RefusesFractionsAndUnknownNamesBeforeTouchingDisk() throws IOException {
        Path file = dir.resolve("never.safetensors");
        Map<String, Tensor> tensors = Map.of("n", Tensor.of(1f, 2.5f), "m", Tensor.of(0x1p63f));
        assertThatThrownBy(() -> SafeTensors.write(file, tensors, null, Set.of("n")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("SafeTensors.write: \"n\" holds 2.5 at flat index 1, not a whole number in the range of I64");
        assertThatThrownBy(() -> SafeTensors.write(file, tensors, null, Set.of("m")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds 9.223372E18 at flat index 0");
        assertThatThrownBy(() -> SafeTensors.write(file, Map.of("n", Tensor.of(Float.NaN)), null, Set.of("n")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("holds NaN");
        assertThatThrownBy(() -> SafeTensors.write(file, tensors, null, Set.of("typo")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("SafeTensors.write: \"typo\" is to be written as I64 but is not one of the tensors");
        try (Stream<Path> listing = Files.list(dir)) {
            assertThat(listing).isEmpty();
        }
    }

    @Test
    void writeRejectsReservedNameAndUnencodableStringsBeforeTouchingDisk() throws IOException {
        Path file = dir.resolve("never.safetensors");
        assertThatThrownBy(() -> SafeTensors.write(file, Map.of("__metadata__", Tensor.of(1f)), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
        assertThatThrownBy(() -> SafeTensors.write(file, Map.of("bad\ud800", Tensor.of(1f)), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpaired surrogate U+D800");
        assertThatThrownBy(() -> SafeTensors.write(file, Map.of("w", Tensor.of(1f)), Map.of("k", "\udc00")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unpaired surrogate U+DC00");
        try (Stream<Path> listing = Files.list(dir)) {
            assertThat(listing).isEmpty();
        }
    }

    // =====================================================================================================
    // A file built by hand, per the specification, with every dtype we read
    // =====================================================================================================

    @Test
    void loadsHandBuiltFileWithF16Bf16F64AndF32() throws IOException {
        // Entries in an unusual field order, with whitespace, an escaped name and a trailing-space pad:
        // all allowed by the specification and produced by other writers.
        String header = "{ \"__metadata__\": {\"format\": \"pt\", \"note\": \"caf\\u00e9 \\\"x\\\"\"},\n"
                + "  \"half\":   {\"shape\": [2, 4], \"dtype\": \"F16\", \"data_offsets\": [0, 16]},\n"
                + "  \"br\\u0061in\": {\"dtype\": \"BF16\", \"data_offsets\": [16, 26], \"shape\": [5]},\n"
                + "  \"double\": {\"dtype\": \"F64\", \"shape\": [4], \"data_offsets\": [26, 58]},\n"
                + "  \"single\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [58, 62]},\n"
                + "  \"none\":   {\"dtype\": \"F16\", \"shape\": [0, 3], \"data_offsets\": [62, 62]}\n"
                + "}      ";
        byte[] data = concat(
                u16(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x3555, 0x8000),
                u16(0x3F80, 0xC040, 0x4049, 0x0001, 0x7F7F),
                f64(0.1, -1e-50, 3.0e38, 1.0000000596046448),
                f32(42.5f));
        assertThat(data).hasSize(62);
        Path file = dir.resolve("by-hand.safetensors");
        Files.write(file, file(header, data));

        Contents c = SafeTensors.read(file);

        assertThat(c.tensors().keySet()).containsExactly("half", "brain", "double", "single", "none");
        assertThat(c.metadata()).containsExactly(Map.entry("format", "pt"), Map.entry("note", "café \"x\""));

        Tensor half = c.tensors().get("half");
        assertThat(half.shape()).containsExactly(2, 4);
        assertThat(half.data()).containsExactly(
                1f, -2f, 65504f,
                0x1p-24f,          // smallest subnormal half
                1023 * 0x1p-24f,   // largest subnormal half
                0x1p-14f,          // smallest normal half
                0.333251953125f,   // 0x3555: 1.0101010101b * 2^-2
                -0f);
        assertThat(Float.floatToRawIntBits(half.data()[7])).isEqualTo(0x8000_0000);

        assertThat(c.tensors().get("brain").data()).containsExactly(
                1f, -3f, 3.140625f,
                0x1p-133f,                               // smallest subnormal bfloat16
                Float.intBitsToFloat(0x7F7F_0000));      // largest finite bfloat16
        assertThat(c.tensors().get("brain").data()[4]).isEqualTo(3.3895313892515355e38f);

        // F64 is rounded to the nearest float32: 1 + 2^-24 lies halfway and goes to the even neighbour 1.
        assertThat(c.tensors().get("double").data()).containsExactly(0.1f, -0f, 3.0e38f, 1f);
        assertThat(Float.floatToRawIntBits(c.tensors().get("double").data()[1])).isEqualTo(0x8000_0000);

        Tensor single = c.tensors().get("single");
        assertThat(single.rank()).isZero();
        assertThat(single.item()).isEqualTo(42.5f);

        assertThat(c.tensors().get("none").shape()).containsExactly(0, 3);
        assertThat(c.tensors().get("none").size()).isZero();
    }

    @Test
    void nonFiniteHalfBfloatAndDoubleValuesAreRejectedWithNameAndIndex() throws IOException {
        String header = "{" + entry("h", "F16", "[4]", 0, 8) + "," + entry("b", "BF16", "[3]", 8, 14) + ","
                + entry("d", "F64", "[2]", 14, 30) + "}";
        byte[] finite = concat(u16(0x3C00, 0x3C00, 0x3C00, 0x3C00), u16(0x3F80, 0x3F80, 0x3F80), f64(1, 2));

        assertThat(problem(file(header, patch(finite, 4, u16(0x7C00)))))
                .startsWith("non-finite value Infinity in tensor \"h\" at element 2;");
        assertThat(problem(file(header, patch(finite, 6, u16(0xFE00)))))
                .startsWith("non-finite value NaN in tensor \"h\" at element 3;");
        assertThat(problem(file(header, patch(finite, 8, u16(0xFF80)))))
                .startsWith("non-finite value -Infinity in tensor \"b\" at element 0;");
        assertThat(problem(file(header, patch(finite, 22, f64(1e300)))))
                .startsWith("F64 value 1.0E300 overflows float32 in tensor \"d\" at element 1;");
        assertThat(problem(file(header, patch(finite, 14, f64(Double.NaN)))))
                .startsWith("non-finite value NaN in tensor \"d\" at element 0;");

        byte[] all = file(header, concat(u16(0x7C00, 0xFC00, 0x7E00, 0x7C01), u16(0x7F80, 0xFF80, 0x7FC0),
                f64(1e300, Double.NEGATIVE_INFINITY)));
        Contents c = SafeTensors.read(all, NAME, ReadOptions.ALLOW_NON_FINITE);
        assertThat(c.tensors().get("h").data()).containsExactly(Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.NaN, Float.NaN);
        assertThat(c.tensors().get("b").data()).containsExactly(Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                Float.NaN);
        assertThat(c.tensors().get("d").data()).containsExactly(Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY);
    }

    // =====================================================================================================
    // Hostile files: each problem named, with where it is
    // =====================================================================================================

    @Test
    void tooShortForTheLengthField() {
        assertFails(new byte[0], "file has 0 bytes, fewer than the 8-byte header length", "byte 0");
        assertFails(new byte[7], "file has 7 bytes, fewer than the 8-byte header length", "byte 0");
    }

    @Test
    void headerLengthBeyondFileOrLimitIsRejectedBeforeAllocating() {
        byte[] header = "{}".getBytes(StandardCharsets.UTF_8);
        assertFails(file(3, header, new byte[0]),
                "header length 3 goes past the end of the file (10 bytes, leaving at most 2 for the header)",
                "byte 0 (header length)");
        assertFails(file(1, header, new byte[0]), "header length 1 is too small for a JSON object",
                "byte 0 (header length)");
        assertFails(file(-1, header, new byte[0]),
                "header length 18446744073709551615 is over the limit of 100000000 bytes: this is not a safetensors file", "byte 0 (header length)");
        assertFails(file(Long.MAX_VALUE, header, new byte[0]),
                "header length 9223372036854775807 is over the limit of 100000000 bytes: this is not a safetensors file", "byte 0 (header length)");
        assertFails(file(100_000_001, header, new byte[0]),
                "header length 100000001 is over the limit of 100000000 bytes: this is not a safetensors file", "byte 0 (header length)");

        // A claim of 99 MB in a 10-byte file must not allocate 99 MB.
        long before = ThreadCounters.allocatedBytes();
        assertFails(file(99_000_000, header, new byte[0]),
                "header length 99000000 goes past the end of the file (10 bytes, leaving at most 2 for the header)",
                "byte 0 (header length)");
        ThreadCounters.assertAllocatedBelow(before, 1 << 20);
    }

    @Test
    void aHeaderLongerThanTheHeapHasRoomForIsRefusedBeforeReadingIt() throws IOException {
        // Issue 16: a 95 MB header (within the format's limit) ran a -Xmx256m heap out of memory while being read.
        assertThat(SafeTensors.maxHeaderBytes())
                .isEqualTo(Math.min(SafeTensors.MAX_HEADER_BYTES, Runtime.getRuntime().maxMemory() / 16));
        byte[] padded = file("{}" + " ".repeat(999_998), new byte[0]);
        long before = ThreadCounters.allocatedBytes();
        ModelFormatException e = catchThrowableOfType(ModelFormatException.class,
                () -> SafeTensors.read(padded, NAME, 999_999));
        ThreadCounters.assertAllocatedBelow(before, 100_000);
        assertThat(e.getMessage()).isEqualTo(NAME + ": the header is 1000000 bytes, above the cap of 999999 bytes"
                + " this JVM reads (a sixteenth of the maximum heap, -Xmx; SafeTensors.maxHeaderBytes) (at header)");
        assertThat(SafeTensors.read(padded, NAME, 1_000_000).tensors()).isEmpty();
    }

    @Test
    void invalidUtf8IsFoundAfterTheFirstChunkChecked() {
        // the header is checked 8192 characters at a time: the bad byte sits in the third chunk
        byte[] header = ("{\"" + "a".repeat(20_000) + "\":1}").getBytes(StandardCharsets.UTF_8);
        header[15_000] = (byte) 0xFF;
        assertFails(file(header.length, header, new byte[0]), "header is not valid UTF-8", "byte 15008");
    }

    @Test
    void aTextFileIsNamedAsOne() {
        byte[] text = "hello world, this is a text file\nsecond line\n".getBytes(StandardCharsets.US_ASCII);
        assertFails(text, "header length 8031924123371070824 is over the limit of 100000000 bytes: this is not a "
                + "safetensors file (it starts with the text \"hello world, this is a t\")", "byte 0 (header length)");
    }

    @Test
    void headerMustBeUtf8JsonObject() {
        assertFails(file(" {}", new byte[0]), "header does not start with '{' (found byte 0x20): this is not a safetensors file",
                "byte 8");
        assertFails(file("[1]", new byte[0]), "header does not start with '{' (found byte 0x5B): this is not a safetensors file",
                "byte 8");
        byte[] badUtf8 = "{\"a\u00ff\":1}".getBytes(StandardCharsets.ISO_8859_1);
        assertFails(file(badUtf8.length, badUtf8, new byte[0]), "header is not valid UTF-8", "byte 11");
        assertFails(file("{\"w\":", new byte[0]), "malformed header JSON: unexpected end of input, expected a value",
                "byte 13");
        assertFails(file("{}x", new byte[0]), "malformed header JSON: unexpected 'x' after the JSON value", "byte 10");
        // Byte offsets count UTF-8 bytes, not characters: "é" takes two.
        assertFails(file("{\"é\":{}, x}", new byte[0]),
                "malformed header JSON: unexpected 'x', expected a string key", "byte 18");
    }

    @Test
    void duplicateTensorNamesAreRejected() {
        String header = "{" + entry("w", "F32", "[1]", 0, 4) + "," + entry("w", "F32", "[1]", 4, 8) + "}";
        assertFails(file(header, new byte[8]), "malformed header JSON: duplicate key \"w\"", "byte 62");
    }

    @Test
    void dtypeMustBeKnownAndLoadable() {
        assertFails(file("{" + entry("w", "F128", "[1]", 0, 16) + "}", new byte[16]),
                "unknown dtype \"F128\" (" + READS + ")", "header field \"w\".dtype");
        assertFails(file("{" + entry("w", "F8_E4M3", "[3]", 0, 3) + "}", new byte[3]),
                "unsupported dtype F8_E4M3 (" + READS + ")", "header field \"w\".dtype");
        assertFails(file("{\"w\":{\"dtype\":7,\"shape\":[],\"data_offsets\":[0,4]}}", new byte[4]),
                "dtype must be a string, found a number", "header field \"w\".dtype");
    }

    @Test
    void shapeMustBeSmallNonNegativeIntegers() {
        assertFails(file("{" + entry("w", "F32", "[2,-1]", 0, 4) + "}", new byte[4]),
                "dimension -1 is not an integer from 0 to 2147483647", "header field \"w\".shape[1]");
        assertFails(file("{" + entry("w", "F32", "[2.0]", 0, 8) + "}", new byte[8]),
                "dimension 2.0 is not an integer from 0 to 2147483647", "header field \"w\".shape[0]");
        assertFails(file("{" + entry("w", "F32", "[2147483648]", 0, 8) + "}", new byte[8]),
                "dimension 2147483648 is not an integer from 0 to 2147483647", "header field \"w\".shape[0]");
        assertFails(file("{" + entry("w", "F32", "[99999999999999999999]", 0, 8) + "}", new byte[8]),
                "dimension 99999999999999999999 is not an integer from 0 to 2147483647", "header field \"w\".shape[0]");
        assertFails(file("{" + entry("w", "F32", "[\"3\"]", 0, 12) + "}", new byte[12]),
                "dimension \"3\" is not an integer from 0 to 2147483647", "header field \"w\".shape[0]");
        assertFails(file("{" + entry("w", "F32", "[2147483647,2147483647,2147483647]", 0, 8) + "}", new byte[8]),
                "shape [2147483647, 2147483647, 2147483647] has more elements than a 64-bit count holds",
                "header field \"w\".shape");
        assertFails(file("{" + entry("w", "F32", "[" + "1,".repeat(64) + "1]", 0, 4) + "}", new byte[4]),
                "shape has 65 dimensions, more than 64", "header field \"w\".shape");
        assertFails(file("{" + entry("w", "F32", "{}", 0, 4) + "}", new byte[4]),
                "shape must be an array of dimensions, found an object", "header field \"w\".shape");
    }

    @Test
    void tensorTooLargeForJavaArrayIsRejectedBeforeAllocating() {
        // 2^31 - 1 F16 elements would take 4 GiB of bytes; the offsets claim them, the file does not hold them.
        assertFails(file("{" + entry("w", "F16", "[2147483647]", 0, 4294967294L) + "}", new byte[4]),
                "data_offsets [0, 4294967294] go past the end of the data section, which has 4 bytes",
                "header field \"w\".data_offsets");
    }

    @Test
    void emptyTensorsWithHugeDimensionsLoadOnlyIfATensorCanHoldTheShape() throws IOException {
        // Zero first: every partial product is 0, so the tensor exists (and takes no bytes).
        String ok = "{" + entry("e", "F32", "[0,2147483647,2147483647]", 0, 0) + "}";
        assertThat(SafeTensors.read(file(ok, new byte[0]), NAME).tensors().get("e").shape())
                .containsExactly(0, 2147483647, 2147483647);
        // Zero last: the file is valid safetensors, but a partial product passes the Java array limit.
        String tooLarge = "{" + entry("e", "F32", "[2147483647,2,0]", 0, 0) + "}";
        assertFails(file(tooLarge, new byte[0]), "shape [2147483647, 2, 0] is too large for a tensor (more"
                + " elements than a Java array holds)", "header field \"e\".shape");
        Path file = dir.resolve("huge-empty.safetensors");
        Files.write(file, file(tooLarge, new byte[0]));
        assertThat(SafeTensors.readHeader(file).get("e").byteSize()).isZero();
    }

    @Test
    void offsetsMustBeInRangeOrderedAndMatchTheShape() {
        assertFails(file("{" + entry("w", "F32", "[3]", 0, 12) + "}", new byte[8]),
                "data_offsets [0, 12] go past the end of the data section, which has 8 bytes",
                "header field \"w\".data_offsets");
        assertFails(file("{" + entry("w", "F32", "[0]", 8, 4) + "}", new byte[8]),
                "data_offsets [8, 4] begin after they end", "header field \"w\".data_offsets");
        assertFails(file("{" + entry("w", "F32", "[3]", 0, 8) + "}", new byte[8]),
                "data_offsets [0, 8] span 8 bytes but F32 shape [3] needs 12", "header field \"w\".data_offsets");
        assertFails(file("{" + entry("w", "F16", "[2,2]", 0, 4) + "}", new byte[4]),
                "data_offsets [0, 4] span 4 bytes but F16 shape [2, 2] needs 8", "header field \"w\".data_offsets");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", new byte[4]),
                "data_offsets must be [begin, end] with two non-negative integers, found [-4, 0]",
                "header field \"w\".data_offsets");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", new byte[4]),
                "data_offsets must be [begin, end] with two non-negative integers, found [0, 4, 8]",
                "header field \"w\".data_offsets");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551620]}}",
                new byte[4]), "data_offsets must be [begin, end] with two non-negative integers, found "
                        + "[0, 18446744073709551620]", "header field \"w\".data_offsets");
    }

    @Test
    void overlappingTensorsAreRejected() {
        String header = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 4, 12) + "}";
        assertFails(file(header, new byte[12]),
                "tensors \"a\" (data bytes 0 to 8) and \"b\" (data bytes 4 to 12) overlap",
                "header field \"b\".data_offsets");
        // Two names for the same bytes is an overlap too.
        String alias = "{" + entry("a", "F32", "[2]", 0, 8) + "," + entry("b", "F32", "[2]", 0, 8) + "}";
        assertThat(problem(file(alias, new byte[8]))).endsWith("overlap");
    }

    @Test
    void gapsAndTrailingBytesAreRejectedAsTheSpecRequires() throws IOException {
        String gap = "{" + entry("a", "F32", "[1]", 0, 4) + "," + entry("b", "F32", "[1]", 8, 12) + "}";
        byte[] withGap = file(gap, new byte[12]);
        assertFails(withGap, "data bytes 4 to 8 belong to no tensor (the data section must have no gaps)",
                "byte " + (withGap.length - 12 + 4));
        String one = "{" + entry("a", "F32", "[1]", 0, 4) + "}";
        byte[] trailing = file(one, new byte[9]);
        assertFails(trailing, "data bytes 4 to 9 belong to no tensor (the data section must end with the last tensor)",
                "byte " + (trailing.length - 5));
        assertFails(file("{}", new byte[1]),
                "data bytes 0 to 1 belong to no tensor (the data section must end with the last tensor)", "byte 10");
        // Out of header order is fine as long as the bytes tile; empty tensors may sit anywhere.
        String shuffled = "{" + entry("b", "F32", "[1]", 4, 8) + "," + entry("e", "F32", "[0,7]", 4, 4) + ","
                + entry("a", "F32", "[1]", 0, 4) + "}";
        assertThat(SafeTensors.read(file(shuffled, f32(1, 2)), NAME).tensors().keySet())
                .containsExactly("b", "e", "a");
    }

    @Test
    void tensorEntriesHaveExactlyTheThreeFields() {
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[0]),
                "tensor entry has no \"data_offsets\"", "header field \"w\"");
        assertFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", new byte[4]),
                "unknown field \"extra\" in tensor entry (expected dtype, shape, data_offsets)", "header field \"w\"");
        assertFails(file("{\"w\":[1,2]}", new byte[0]), "tensor entry must be an object, found an array",
                "header field \"w\"");
    }

    @Test
    void metadataMustMapStringsToStrings() {
        assertFails(file("{\"__metadata__\":{\"epoch\":3}}", new byte[0]),
                "__metadata__ values must be strings, found a number", "header field \"__metadata__\".\"epoch\"");
        assertFails(file("{\"__metadata__\":[\"a\"]}", new byte[0]),
                "__metadata__ must be an object of strings, found an array", "header field \"__metadata__\"");
    }

    @Test
    void deepNestingIsRejectedWithoutStackOverflow() {
        String deep = "{\"__metadata__\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}";
        assertThat(problem(file(deep, new byte[0]))).isEqualTo("malformed header JSON: nesting deeper than 32 levels");
    }

    @Test
    void hostileNamesCannotForgeMessageLines() {
        String header = "{\"evil\\nname: all good\":{\"dtype\":\"X\",\"shape\":[],\"data_offsets\":[0,0]}}";
        ModelFormatException e = catchThrowableOfType(ModelFormatException.class,
                () -> SafeTensors.read(file(header, new byte[0]), NAME));
        assertThat(e.getMessage()).doesNotContain("\n").contains("\"evil\\nname: all good\"");
        String longName = "n".repeat(100_000);
        e = catchThrowableOfType(ModelFormatException.class,
                () -> SafeTensors.read(file("{\"" + longName + "\":1}", new byte[0]), NAME));
        assertThat(e.getMessage().length()).isLessThan(400);
    }

    @Test
    void messageNamesFileProblemAndLocationFromPathToo() throws IOException {
        Path file = dir.resolve("truncated.safetensors");
        byte[] good = validFile();
        Files.write(file, java.util.Arrays.copyOf(good, good.length - 3));
        ModelFormatException e = catchThrowableOfType(ModelFormatException.class, () -> SafeTensors.read(file));
        assertThat(e.file()).isEqualTo(file.toString());
        assertThat(e.problem()).contains("go past the end of the data section");
        assertThat(e.getMessage()).isEqualTo(e.file() + ": " + e.problem() + " (at " + e.location() + ")");
        assertThatThrownBy(() -> SafeTensors.readHeader(file)).isInstanceOf(ModelFormatException.class);
        assertThatThrownBy(() -> SafeTensors.read(dir.resolve("missing.safetensors")))
                .isInstanceOf(java.nio.file.NoSuchFileException.class);
    }

    // =====================================================================================================
    // Helpers
    // =====================================================================================================

    static byte[] validFile() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("0.weight", Tensor.randn(new Rng(1), 3, 2, 3, 3));
        t.put("0.bias", Tensor.randn(new Rng(2), 3));
        SafeTensors.write(out, t, Map.of("arch", "conv(3,3) relu"));
        return out.toByteArray();
    }

    private static void assertFails(byte[] bytes, String problem, String location) {
        ModelFormatException e = catchThrowableOfType(ModelFormatException.class, () -> SafeTensors.read(bytes, NAME));
        assertThat(e).as("expected a ModelFormatException for: " + problem).isNotNull();
        assertThat(e.problem()).isEqualTo(problem);
        assertThat(e.location()).isEqualTo(location);
        assertThat(e.file()).isEqualTo(NAME);
        assertThat(e.getMessage()).isEqualTo(NAME + ": " + problem + " (at " + location + ")");
    }

    private static String problem(byte[] bytes) {
        ModelFormatException e = catchThrowableOfType(ModelFormatException.class, () -> SafeTensors.read(bytes, NAME));
        assertThat(e).isNotNull();
        return e.problem();
    }

    private static byte[] patch(byte[] data, int at, byte[] with) {
        byte[] copy = data.clone();
        System.arraycopy(with, 0, copy, at, with.length);
        return copy;
    }

    private static List<Integer> bits(float[] values) {
        return java.util.stream.IntStream.range(0, values.length)
                .mapToObj(i -> Float.floatToRawIntBits(values[i])).toList();
    }
}
