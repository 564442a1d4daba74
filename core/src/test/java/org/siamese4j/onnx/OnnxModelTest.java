package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ThreadCounters;
import org.siamese4j.tensor.Tensor;

/**
 * {@link OnnxModel} on models built through the API (round trips) and on messages built byte by byte with
 * {@link Wire} (every form a writer may use, and every refusal with its field path and byte offset).
 */
class OnnxModelTest {
    @TempDir
    Path dir;

    private static OnnxModel read(Wire w) throws OnnxFormatException {
        return OnnxModel.read(w.bytes(), "hand.onnx");
    }

    private static OnnxFormatException refusal(Wire w) {
        OnnxFormatException e = catchThrowableOfType(() -> read(w), OnnxFormatException.class);
        assertThat(e).as("refused").isNotNull();
        assertThat(e.file()).isEqualTo("hand.onnx");
        return e;
    }

    /** Where {@code part} first occurs in {@code whole}: the byte offset of a hand-built field in its file. */
    private static int indexOf(byte[] whole, byte[] part) {
        outer:
        for (int i = 0; i + part.length <= whole.length; i++) {
            for (int j = 0; j < part.length; j++) {
                if (whole[i + j] != part[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }

    private static Wire graphWithInitializer(Wire tensor) {
        return Wire.model(Wire.reluGraph().message(5, tensor));
    }

    private static OnnxTensor onlyInitializer(Wire tensor) throws OnnxFormatException {
        List<OnnxTensor> all = read(graphWithInitializer(tensor)).graph().initializers();
        assertThat(all).hasSize(1);
        return all.get(0);
    }

    // =========================================================================================================
    // Round trips
    // =========================================================================================================

    @Test
    void everyKindOfFieldWritesAndReadsBackEqualThroughAFile() throws IOException {
        OnnxModel model = OnnxSamples.everyKindOfField();
        Path file = dir.resolve("every.onnx");
        model.write(file);
        OnnxModel back = OnnxModel.read(file);
        assertThat(back).isEqualTo(model);
        // spot checks, so that equality of two wrong things cannot pass
        assertThat(back.graph().nodes().get(2).inputs()).containsExactly("c", "", "k");
        assertThat(back.graph().nodes().get(0).attribute("pads").orElseThrow().asInts())
                .containsExactly(-1, 0, Long.MAX_VALUE, Long.MIN_VALUE);
        assertThat(back.graph().initializer("conv.weight").orElseThrow().floats())
                .containsExactly(0.5f, -1.25f, Float.NaN, -0f);
        assertThat(back.graph().initializer("axes").orElseThrow().longs()).containsExactly(0, -2, Integer.MIN_VALUE);
        assertThat(back.graph().nodes().get(3).attribute("modes").orElseThrow().asStrings())
                .containsExactly("a", "", "ç");
        assertThat(back.graph().inputs().get(0).shape()).extracting(OnnxDimension::toString)
                .containsExactly("batch", "1", "?", "2");
        assertThat(back.graph().inputs().get(1).shape()).isNull();
        assertThat(back.graph().outputs().get(1).shape()).isEmpty();
        assertThat(back.metadata()).containsExactly(Map.entry("input", "3x112x112"), Map.entry("mean", "0.5,0.5,0.5"));
        // the atomic write leaves the file and its lock, no temporary file
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("every.onnx",
                    ".every.onnx.lock");
        }
    }

    @Test
    void bytesStreamAndFileHoldTheSameEncodingWhichIsStableOnRewrite() throws IOException {
        OnnxModel model = OnnxSamples.everyKindOfField();
        byte[] bytes = model.toBytes();
        ByteArrayOutputStream stream = new ByteArrayOutputStream();
        model.write(stream);
        Path file = dir.resolve("m.onnx");
        model.write(file);
        assertThat(stream.toByteArray()).isEqualTo(bytes);
        assertThat(Files.readAllBytes(file)).isEqualTo(bytes);
        assertThat(OnnxModel.read(bytes).toBytes()).isEqualTo(bytes);
    }

    @Test
    void aDoubleTensorIsHeldAsFloat32AndWrittenBackAsDoubles() throws OnnxFormatException {
        OnnxTensor t = onlyInitializer(new Wire().varint(1, 2).varint(2, 11).string(8, "d")
                .bytes(9, new Wire().raw(Wire.le(Double.doubleToLongBits(0.1), Double.doubleToLongBits(1e300)))
                        .bytes()));
        assertThat(t.dataType()).isEqualTo(OnnxDataType.DOUBLE);
        assertThat(t.floats()).containsExactly(0.1f, Float.POSITIVE_INFINITY);
        OnnxModel written = OnnxModel.read(new OnnxModel(7, "", "", List.of(), Map.of(),
                new OnnxGraph("", List.of(), List.of(t), List.of(), List.of(), List.of())).toBytes());
        assertThat(written.graph().initializers().get(0)).isEqualTo(t);
    }

    // =========================================================================================================
    // Hand-built messages: every form of the data
    // =========================================================================================================

    @Test
    void floatTensorsReadFromRawDataAndFromPackedOrUnpackedFloatData() throws OnnxFormatException {
        float[] values = {1.5f, -2f, 0f, 3.25f, Float.MIN_VALUE, -Float.MAX_VALUE};
        OnnxTensor raw = onlyInitializer(new Wire().varint(1, 2).varint(1, 3).varint(2, 1).string(8, "w")
                .bytes(9, Wire.le(values)));
        OnnxTensor packed = onlyInitializer(new Wire().packedVarints(1, 2, 3).varint(2, 1).string(8, "w")
                .packedFloats(4, values));
        Wire unpacked = new Wire().varint(2, 1).string(8, "w").varint(1, 2);
        for (float v : values) {
            unpacked.floatField(4, v);
        }
        OnnxTensor split = onlyInitializer(unpacked.varint(1, 3)); // dims may come in any order of fields
        for (OnnxTensor t : List.of(raw, packed, split)) {
            assertThat(t.name()).isEqualTo("w");
            assertThat(t.dataType()).isEqualTo(OnnxDataType.FLOAT);
            assertThat(t.dims()).containsExactly(2, 3);
            assertThat(t.floats()).containsExactly(values);
            assertThat(t.toTensor().shape()).containsExactly(2, 3);
        }
        assertThat(raw).isEqualTo(packed).isEqualTo(split);
    }

    @Test
    void integerTensorsReadFromRawDataAndTheirOwnFields() throws OnnxFormatException {
        OnnxTensor int64Raw = onlyInitializer(new Wire().varint(1, 3).varint(2, 7)
                .bytes(9, Wire.le(-1L, Long.MAX_VALUE, 8L)));
        OnnxTensor int64Packed = onlyInitializer(new Wire().varint(1, 3).varint(2, 7)
                .packedVarints(7, -1, Long.MAX_VALUE, 8));
        OnnxTensor int64Unpacked = onlyInitializer(new Wire().varint(1, 3).varint(2, 7)
                .varint(7, -1).varint(7, Long.MAX_VALUE).varint(7, 8));
        for (OnnxTensor t : List.of(int64Raw, int64Packed, int64Unpacked)) {
            assertThat(t.dataType()).isEqualTo(OnnxDataType.INT64);
            assertThat(t.longs()).containsExactly(-1, Long.MAX_VALUE, 8);
            assertThat(t.isFloating()).isFalse();
        }
        // an int32 is sign-extended to 10 varint bytes on the wire; raw INT32 takes 4 bytes each
        OnnxTensor int32 = onlyInitializer(new Wire().varint(1, 2).varint(2, 6).packedVarints(5, -5, 70000));
        OnnxTensor int32Raw = onlyInitializer(new Wire().varint(1, 2).varint(2, 6)
                .bytes(9, new byte[] {-5, -1, -1, -1, 0x70, 0x11, 1, 0}));
        assertThat(int32.longs()).containsExactly(-5, 70000);
        assertThat(int32Raw.longs()).containsExactly(-5, 70000);
        assertThat(int32.dataType()).isEqualTo(OnnxDataType.INT32);
        OnnxTensor doubles = onlyInitializer(new Wire().varint(1, 2).varint(2, 11).packedDoubles(10, 0.5, -1e-50));
        assertThat(doubles.floats()).containsExactly(0.5f, -0f);
    }

    @Test
    void scalarsAndEmptyTensors() throws OnnxFormatException {
        OnnxTensor scalar = onlyInitializer(new Wire().varint(2, 1).bytes(9, Wire.le(4.5f)));
        assertThat(scalar.rank()).isZero();
        assertThat(scalar.floats()).containsExactly(4.5f);
        assertThat(scalar.toTensor().item()).isEqualTo(4.5f);
        OnnxTensor empty = onlyInitializer(new Wire().varint(1, 0).varint(1, 1_000_000).varint(2, 1));
        assertThat(empty.elementCount()).isZero();
        assertThat(empty.dims()).containsExactly(0, 1_000_000);
    }

    @Test
    void unknownFieldsAreSkippedInEveryMessage() throws OnnxFormatException {
        Wire junk = new Wire().varint(99, 5).string(98, "doc").fixed32(97, 1).fixed64(96, 2).bytes(95, new byte[40]);
        byte[] j = junk.bytes();
        Wire tensor = new Wire().raw(j).varint(1, 1).raw(j).varint(2, 1).raw(j).bytes(9, Wire.le(7f)).raw(j);
        Wire node = new Wire().raw(j).string(1, "x").string(6, "a doc string").string(2, "y").string(4, "Relu")
                .message(5, new Wire().string(1, "alpha").raw(j).floatField(2, 0.5f).varint(20, 1)).raw(j);
        Wire graph = new Wire().raw(j).message(1, node).message(5, tensor).string(10, "graph doc")
                .message(11, new Wire().raw(j).string(1, "x").raw(j)).message(12, Wire.floatValue("y", 1))
                .message(14, new Wire().string(1, "a quantization annotation"));
        Wire model = new Wire().raw(j).varint(1, 9).string(6, "model doc").message(7, graph).raw(j)
                .message(8, new Wire().raw(j).varint(2, 21)).message(20, new Wire().string(1, "training info"));
        OnnxModel m = read(model);
        assertThat(m.irVersion()).isEqualTo(9);
        assertThat(m.opsetVersion("")).hasValue(21);
        assertThat(m.graph().nodes().get(0).attribute("alpha").orElseThrow().asFloat()).isEqualTo(0.5f);
        assertThat(m.graph().initializers().get(0).floats()).containsExactly(7f);
        assertThat(m.graph().inputs().get(0)).isEqualTo(new OnnxValueInfo("x", OnnxDataType.UNDEFINED, null));
    }

    @Test
    void attributesWithoutATypeTakeItFromTheirValueAsInIrVersion1() throws OnnxFormatException {
        Wire node = new Wire().string(4, "Conv")
                .message(5, new Wire().string(1, "strides").varint(8, 2).varint(8, 2))
                .message(5, new Wire().string(1, "epsilon").floatField(2, 1e-5f))
                .message(5, new Wire().string(1, "mode").string(4, "constant"))
                .message(5, new Wire().string(1, "value").message(5, new Wire().varint(2, 7).bytes(9, Wire.le(3L))));
        OnnxNode n = read(Wire.model(new Wire().message(1, node))).graph().nodes().get(0);
        assertThat(n.attribute("strides").orElseThrow().asInts()).containsExactly(2, 2);
        assertThat(n.attribute("epsilon").orElseThrow().asFloat()).isEqualTo(1e-5f);
        assertThat(n.attribute("mode").orElseThrow().asString()).isEqualTo("constant");
        assertThat(n.attribute("value").orElseThrow().asTensor().longs()).containsExactly(3);
        assertThat(n.attribute("value").orElseThrow().type()).isEqualTo(OnnxAttribute.Type.TENSOR);
        assertThatThrownBy(() -> n.attribute("mode").orElseThrow().asInts())
                .hasMessage("attribute \"mode\" is STRING, not INTS");
        // a typed list with no elements is an empty list
        Wire typedEmpty = new Wire().string(4, "Pad").message(5, new Wire().string(1, "pads").varint(20, 7));
        assertThat(read(Wire.model(new Wire().message(1, typedEmpty))).graph().nodes().get(0).attribute("pads")
                .orElseThrow().asInts()).isEmpty();
    }

    // =========================================================================================================
    // Refusals, each naming the field path and byte offset
    // =========================================================================================================

    @Test
    void otherDataTypesAreRefusedNamingTheTensorAndItsType() {
        Wire tensor = new Wire().varint(1, 2).varint(2, 9).string(8, "mask").bytes(9, new byte[] {0, 1});
        Wire file = graphWithInitializer(tensor);
        OnnxFormatException e = refusal(file);
        assertThat(e.problem()).isEqualTo("tensor \"mask\" has data type BOOL (9); this reader loads FLOAT, DOUBLE,"
                + " INT32 and INT64 tensors");
        assertThat(e.fieldPath()).isEqualTo("graph.initializer[0].data_type");
        assertThat(e.offset()).isEqualTo(indexOf(file.bytes(), tensor.bytes()) + 2);
        assertThat(refusal(graphWithInitializer(new Wire().varint(2, 16).bytes(9, new byte[2]))).problem())
                .isEqualTo("the tensor has data type BFLOAT16 (16); this reader loads FLOAT, DOUBLE, INT32 and INT64"
                        + " tensors");
        assertThat(refusal(graphWithInitializer(new Wire().varint(2, 99))).problem()).contains("unknown (99)");
        assertThat(refusal(graphWithInitializer(new Wire().string(8, "t"))).problem())
                .startsWith("tensor \"t\" has data type UNDEFINED (0)");
    }

    @Test
    void externalDataIsRefusedWithWhereItLivesAndHowToEmbedIt() {
        Wire tensor = new Wire().varint(1, 4).varint(2, 1).string(8, "big")
                .message(13, new Wire().string(1, "location").string(2, "weights.bin"))
                .message(13, new Wire().string(1, "offset").string(2, "0")).varint(14, 1);
        Wire file = graphWithInitializer(tensor);
        OnnxFormatException e = refusal(file);
        assertThat(e.problem()).isEqualTo("tensor \"big\" keeps its data in another file (\"weights.bin\"); this"
                + " reader needs the weights inside the .onnx file (in Python: onnx.save_model(onnx.load(path), path,"
                + " save_as_external_data=False))");
        assertThat(e.fieldPath()).isEqualTo("graph.initializer[0].data_location");
        byte[] b = file.bytes();
        assertThat(e.offset()).isEqualTo(indexOf(b, tensor.bytes()) + tensor.size() - 2);
        assertThat(refusal(graphWithInitializer(new Wire().varint(2, 1).varint(14, 2))).problem())
                .isEqualTo("the tensor has data_location 2, neither DEFAULT (0) nor EXTERNAL (1)");
    }

    @Test
    void subgraphsAndOtherUnloadedAttributeValuesAreRefused() {
        Wire ifNode = new Wire().string(4, "If").message(5, new Wire().string(1, "then_branch")
                .message(6, Wire.reluGraph()).varint(20, 5));
        Wire file = Wire.model(new Wire().message(1, new Wire().string(4, "Relu")).message(1, ifNode));
        OnnxFormatException e = refusal(file);
        assertThat(e.problem()).isEqualTo("attribute \"then_branch\" holds a subgraph; control flow (If, Loop, Scan)"
                + " is not supported: CNN embedders do not need it");
        assertThat(e.fieldPath()).isEqualTo("graph.node[1].attribute[0].g");
        assertThat(refusal(Wire.model(new Wire().message(1, new Wire().message(5, new Wire().string(1, "b")
                .message(11, new Wire()))))).fieldPath()).isEqualTo("graph.node[0].attribute[0].graphs");
        assertThat(refusal(Wire.model(new Wire().message(1, new Wire().message(5, new Wire().string(1, "ts")
                .message(10, new Wire()))))).problem())
                .isEqualTo("attribute \"ts\" holds a list of tensors, which this reader does not load");
        assertThat(refusal(Wire.model(new Wire().message(1, new Wire().message(5, new Wire().string(1, "g")
                .varint(20, 5))))).problem()).isEqualTo("attribute \"g\" has type GRAPH (5); this reader loads FLOAT,"
                + " INT, STRING, TENSOR, FLOATS, INTS and STRINGS");
        assertThat(refusal(Wire.model(new Wire().message(1, new Wire().message(5, new Wire().string(1, "r")
                .string(21, "outer"))))).fieldPath()).isEqualTo("graph.node[0].attribute[0].ref_attr_name");
    }

    @Test
    void attributesMustHoldTheValueTheirTypeSaysAndHaveDistinctNames() {
        assertThat(refusal(Wire.model(new Wire().message(1, new Wire().message(5, new Wire().string(1, "k")
                .varint(20, 2))))).problem()).isEqualTo("attribute \"k\" has type INT but no value of that type");
        assertThat(refusal(Wire.model(new Wire().message(1, new Wire().message(5, new Wire().string(1, "k")))))
                .problem()).isEqualTo("attribute \"k\" has no type and no value");
        assertThat(refusal(Wire.model(new Wire().message(1, new Wire().message(5, new Wire().string(1, "k")
                .varint(3, 1).floatField(2, 1f))))).problem())
                .isEqualTo("attribute \"k\" has no type and values of both FLOAT and INT");
        Wire twice = new Wire().string(4, "Conv").message(5, new Wire().string(1, "group").varint(3, 1).varint(20, 2))
                .message(5, new Wire().string(1, "group").varint(3, 2).varint(20, 2));
        OnnxFormatException e = refusal(Wire.model(new Wire().message(1, twice)));
        assertThat(e.problem()).isEqualTo("a second attribute named \"group\"");
        assertThat(e.fieldPath()).isEqualTo("graph.node[0].attribute[1]");
    }

    @Test
    void dataThatDoesNotMatchTheDimensionsIsRefusedWithBothCounts() {
        Wire raw = new Wire().varint(1, 2).varint(1, 3).varint(2, 1).string(8, "w").bytes(9, new byte[20]);
        Wire file = graphWithInitializer(raw);
        OnnxFormatException e = refusal(file);
        assertThat(e.problem()).isEqualTo("tensor \"w\": raw_data has 20 bytes where dims [2, 3] of FLOAT call for 24");
        assertThat(e.fieldPath()).isEqualTo("graph.initializer[0].raw_data");
        assertThat(e.offset()).isEqualTo(indexOf(file.bytes(), raw.bytes()) + 9);
        assertThat(refusal(graphWithInitializer(new Wire().varint(1, 3).varint(2, 7).packedVarints(7, 1, 2)))
                .problem()).isEqualTo("the tensor: int64_data has 2 values where dims [3] call for 3");
        assertThat(refusal(graphWithInitializer(new Wire().varint(1, 3).varint(2, 1).string(8, "w"))).problem())
                .isEqualTo("tensor \"w\" has no data for the 3 elements of dims [3]");
        assertThat(refusal(graphWithInitializer(new Wire().varint(1, 1).varint(2, 1).packedVarints(7, 1))).problem())
                .isEqualTo("the tensor of type FLOAT holds its values in int64_data, which is for other types (expected"
                        + " raw_data or float_data)");
        assertThat(refusal(graphWithInitializer(new Wire().varint(1, 1).varint(2, 1).packedFloats(4, 1f)
                .bytes(9, Wire.le(1f)))).problem())
                .isEqualTo("the tensor holds data both in float_data and in raw_data");
    }

    @Test
    void dimensionsAreCheckedInLongArithmeticBeforeAnythingIsAllocated() {
        long before = ThreadCounters.allocatedBytes();
        OnnxFormatException product = refusal(graphWithInitializer(new Wire().varint(1, 65536).varint(1, 65536)
                .varint(2, 1).string(8, "w")));
        ThreadCounters.assertAllocatedBelow(before, 4 << 20);
        assertThat(product.problem()).isEqualTo("tensor \"w\": dims [65536, 65536] call for more elements than a Java"
                + " array holds (2147483639)");
        assertThat(product.fieldPath()).isEqualTo("graph.initializer[0].dims");
        // 2^32 * 2^32 would overflow a long to 0: each factor is bounded first
        assertThat(refusal(graphWithInitializer(new Wire().varint(1, 1L << 32).varint(1, 1L << 32).varint(1, 0)
                .varint(2, 1))).problem()).isEqualTo("the tensor: dimension 0 is 4294967296, more elements than a"
                + " Java array holds");
        assertThat(refusal(graphWithInitializer(new Wire().varint(1, 3).varint(1, -2).varint(2, 1))).problem())
                .isEqualTo("the tensor: dimension 1 is -2, below 0");
    }

    @Test
    void aConstantsTensorIsNamedByItsFullFieldPath() {
        Wire constant = new Wire().string(4, "Constant").message(5, new Wire().string(1, "value")
                .message(5, new Wire().varint(1, -1).varint(2, 1)).varint(20, 4));
        Wire file = Wire.model(new Wire().message(1, new Wire().string(4, "Relu")).message(1, constant));
        OnnxFormatException e = refusal(file);
        assertThat(e.fieldPath()).isEqualTo("graph.node[1].attribute[0].t.dims");
        // the dims field sits 21 bytes into the node: op_type (10 bytes), the attribute's tag and length (2), its
        // name (7), the tensor's tag and length (2)
        assertThat(e.getMessage()).isEqualTo("hand.onnx: the tensor: dimension 0 is -1, below 0 (at"
                + " graph.node[1].attribute[0].t.dims, byte " + (indexOf(file.bytes(), constant.bytes()) + 21) + ")");
    }

    @Test
    void sparseInitializersSegmentsAndNonTensorTypesAreRefused() {
        assertThat(refusal(Wire.model(Wire.reluGraph().message(15, new Wire()))).fieldPath())
                .isEqualTo("graph.sparse_initializer");
        assertThat(refusal(graphWithInitializer(new Wire().message(3, new Wire().varint(1, 0)))).problem())
                .isEqualTo("the tensor is stored in segments, which this reader does not join");
        Wire sequence = new Wire().string(1, "s").message(2, new Wire().message(4, new Wire()));
        OnnxFormatException e = refusal(Wire.model(new Wire().message(11, sequence)));
        assertThat(e.problem()).isEqualTo("value \"s\" has a sequence type; only tensor values are supported");
        assertThat(e.fieldPath()).isEqualTo("graph.input[0].type.#4");
        assertThat(refusal(Wire.model(new Wire().message(12, new Wire().message(2, new Wire().message(1,
                new Wire().varint(1, 77)))))).problem()).isEqualTo("elem_type 77 is not an ONNX data type");
        assertThat(refusal(Wire.model(new Wire().message(12, new Wire().message(2, new Wire().message(1,
                new Wire().message(2, new Wire().message(1, new Wire().varint(1, -4))))))))
                .fieldPath()).isEqualTo("graph.output[0].type.tensor_type.shape.dim[0].dim_value");
    }

    @Test
    void aSecondGraphOrTensorOrMetadataKeyIsRefused() {
        Wire twoGraphs = Wire.model(Wire.reluGraph()).message(7, Wire.reluGraph());
        assertThat(refusal(twoGraphs).problem()).isEqualTo("graph is given twice");
        Wire twoKeys = Wire.model(Wire.reluGraph()).message(14, new Wire().string(1, "k").string(2, "1"))
                .message(14, new Wire().string(1, "k").string(2, "2"));
        OnnxFormatException e = refusal(twoKeys);
        assertThat(e.problem()).isEqualTo("key \"k\" appears twice");
        assertThat(e.fieldPath()).isEqualTo("metadata_props[1].key");
    }

    @Test
    void emptyAndForeignFilesAreRefusedClearly() throws IOException {
        assertThat(refusal(new Wire()).getMessage()).isEqualTo("hand.onnx: the file is empty, not an ONNX model (at"
                + " byte 0)");
        assertThat(refusal(new Wire().varint(1, 7)).problem())
                .isEqualTo("no graph (field 7): not an ONNX model, or one without a computation");
        // a text file, a safetensors file: wrong wire types or lengths at the first bytes
        for (String text : List.of("hello, world\n", "{\"a\": 1}",
                "\u0008\u0000\u0000\u0000\u0000\u0000\u0000\u0000{}")) {
            OnnxFormatException e = catchThrowableOfType(() -> OnnxModel.read(text.getBytes(StandardCharsets.UTF_8)),
                    OnnxFormatException.class);
            assertThat(e).as(text).isNotNull();
            assertThat(e.file()).isEqualTo("ONNX bytes");
        }
        Path folder = Files.createDirectory(dir.resolve("model.onnx"));
        assertThatThrownBy(() -> OnnxModel.read(folder)).isInstanceOf(FileSystemException.class)
                .hasMessageContaining("is a folder");
    }

    @Test
    void aFileBeyondTwoGibibytesIsRefusedBeforeItIsRead() throws IOException {
        Path big = dir.resolve("big.onnx");
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(big.toFile(), "rw")) {
            f.setLength(OnnxModel.MAX_FILE_BYTES + 1); // sparse: no disk is used
        }
        long before = ThreadCounters.allocatedBytes();
        OnnxFormatException e = catchThrowableOfType(() -> OnnxModel.read(big), OnnxFormatException.class);
        ThreadCounters.assertAllocatedBelow(before, 1 << 20);
        assertThat(e.getMessage()).isEqualTo(big + ": the file has 2147483640 bytes, more than the 2147483639 a"
                + " protobuf message can hold; models this large keep their weights as external data, which this"
                + " reader does not load");
        assertThat(e.offset()).isEqualTo(-1);
    }

    @Test
    void namesMustBeValidUtf8() {
        Wire node = new Wire().bytes(3, new byte[] {'c', (byte) 0xff}).string(4, "Relu");
        OnnxFormatException e = refusal(Wire.model(new Wire().message(1, node)));
        assertThat(e.problem()).isEqualTo("text of 2 bytes is not valid UTF-8");
        assertThat(e.fieldPath()).isEqualTo("graph.node[0].name");
    }

    // =========================================================================================================
    // The API
    // =========================================================================================================

    @Test
    void factoriesCheckTheirValues() {
        assertThatThrownBy(() -> OnnxTensor.ofFloats("w", new long[] {2, 2}, 1f, 2f, 3f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("tensor \"w\": dims [2, 2] call for 4 elements but 3 values were given");
        assertThatThrownBy(() -> OnnxTensor.of("i", OnnxDataType.INT32, new long[] {1}, new long[] {1L << 31}))
                .hasMessage("tensor \"i\": value 2147483648 at flat index 0 does not fit INT32");
        assertThatThrownBy(() -> OnnxTensor.of("b", OnnxDataType.BOOL, new long[] {1}, new long[] {1}))
                .hasMessage("tensor \"b\": integer values need the data type INT64 or INT32, not BOOL");
        assertThatThrownBy(() -> OnnxTensor.ofInt64("i", new long[] {1}, 1).toTensor())
                .isInstanceOf(IllegalStateException.class).hasMessage("tensor \"i\" holds INT64 integers, not floats");
        assertThatThrownBy(() -> new OnnxNode("n", "Conv", "", List.of(), List.of(), List.of(
                OnnxAttribute.ofInt("group", 1), OnnxAttribute.ofInt("group", 2))))
                .hasMessage("node \"n\" has two attributes named \"group\"");
        assertThatThrownBy(() -> OnnxDimension.symbolic("n").equals(new OnnxDimension(3, "n")))
                .isInstanceOf(IllegalArgumentException.class);
        Tensor t = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        OnnxTensor fromTensor = OnnxTensor.of("fc.weight", t);
        assertThat(fromTensor.dims()).containsExactly(2, 3);
        assertThat(fromTensor.toTensor().toArray()).containsExactly(t.toArray());
        t.data()[0] = 99; // a copy was taken
        assertThat(fromTensor.floats()[0]).isEqualTo(1f);
    }

    @Test
    void anUnpairedSurrogateCannotBeWrittenAndNothingIsWritten() {
        OnnxModel bad = new OnnxModel(7, "bad \ud800", "", List.of(), Map.of(), new OnnxGraph("", List.of(),
                List.of(), List.of(), List.of(), List.of()));
        Path file = dir.resolve("bad.onnx");
        assertThatThrownBy(() -> bad.write(file)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("text \"bad \\uD800\" has an unpaired surrogate, which UTF-8 cannot encode");
        assertThat(file).doesNotExist();
    }

    @Test
    void describeSummarisesTheModelForPeople() {
        assertThat(OnnxSamples.everyKindOfField().describe()).isEqualTo("""
                producer:   siamese4j 0.1, IR version 8
                opsets:     ai.onnx 13, com.example 1
                graph:      "every kind", 4 nodes, 5 initializers, 6 parameters
                input:      input: FLOAT [batch, 1, ?, 2]
                output:     out: FLOAT [1, 2, 3, 4]
                output:     extra: INT64 []
                operators:  Conv 1, Constant 1, Clip 1, com.example.Custom 1
                metadata:   "input" = "3x112x112"
                metadata:   "mean" = "0.5,0.5,0.5"
                """);
        assertThat(OnnxSamples.everyKindOfField().opsetVersion("ai.onnx")).hasValue(13);
        assertThat(OnnxSamples.everyKindOfField().opsetVersion("com.example")).hasValue(1);
        assertThat(OnnxSamples.everyKindOfField().opsetVersion("com.other")).isEmpty();
    }
}
