package org.siamese4j.onnx;

import static org.siamese4j.io.ModelFormatException.quoted;
import static org.siamese4j.onnx.ProtoReader.FIXED32;
import static org.siamese4j.onnx.ProtoReader.VARINT;
import static org.siamese4j.onnx.ProtoReader.fieldNumber;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.siamese4j.onnx.OnnxSchema.Attribute;
import org.siamese4j.onnx.OnnxSchema.Entry;
import org.siamese4j.onnx.OnnxSchema.Graph;
import org.siamese4j.onnx.OnnxSchema.Model;
import org.siamese4j.onnx.OnnxSchema.Node;
import org.siamese4j.onnx.OnnxSchema.Opset;
import org.siamese4j.onnx.OnnxSchema.Shape;
import org.siamese4j.onnx.OnnxSchema.Tensor;
import org.siamese4j.onnx.OnnxSchema.TensorType;
import org.siamese4j.onnx.OnnxSchema.Type;
import org.siamese4j.onnx.OnnxSchema.ValueInfo;
import org.siamese4j.onnx.ProtoReader.FloatList;
import org.siamese4j.onnx.ProtoReader.LongList;

/**
 * Decodes a {@code ModelProto} into {@link OnnxModel} and the records under it, one method per message, with the
 * field numbers of {@link OnnxSchema}. The wire format and its bounds are {@link ProtoReader}'s; this class adds
 * what the fields mean: tensor data matching its type and dimensions, attribute types, and the refusal of what
 * this package does not load (other data types, external data, subgraphs, non-tensor types), naming the field.
 *
 * <p>A singular field given twice keeps the last value, as protobuf does, except a sub-message given twice (a
 * second graph, tensor or type), which protobuf would merge: that is refused. Unknown fields are skipped.
 */
final class OnnxReader {
    private final ProtoReader in;

    private OnnxReader(byte[] bytes, String source) {
        this.in = new ProtoReader(bytes, source);
    }

    static OnnxModel read(byte[] bytes, String source) throws OnnxFormatException {
        return new OnnxReader(bytes, source).model();
    }

    // =========================================================================================================
    // Model, opsets, metadata
    // =========================================================================================================

    private OnnxModel model() throws OnnxFormatException {
        FieldPath at = FieldPath.ROOT;
        long irVersion = 0;
        String producerName = "";
        String producerVersion = "";
        OnnxGraph graph = null;
        List<OnnxOpset> opsets = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        int metadataCount = 0;
        while (in.hasMore()) {
            int fieldAt = in.position();
            int tag = in.readTag(at);
            switch (fieldNumber(tag)) {
                case Model.IR_VERSION -> irVersion = varint(tag, at, "ir_version");
                case Model.PRODUCER_NAME -> producerName = in.readString(tag, at, "producer_name");
                case Model.PRODUCER_VERSION -> producerVersion = in.readString(tag, at, "producer_version");
                case Model.GRAPH -> {
                    once(graph, at, "graph", fieldAt);
                    graph = graph(tag, at.child("graph"));
                }
                case Model.OPSET_IMPORT -> opsets.add(opset(tag, at.element("opset_import", opsets.size())));
                case Model.METADATA_PROPS -> entry(tag, at.element("metadata_props", metadataCount++), metadata);
                default -> in.skip(tag, at);
            }
        }
        if (graph == null) {
            throw in.fail(in.position() == 0 ? "the file is empty, not an ONNX model"
                    : "no graph (field 7): not an ONNX model, or one without a computation", at, null, 0);
        }
        return new OnnxModel(irVersion, producerName, producerVersion, opsets, metadata, graph);
    }

    private OnnxOpset opset(int tag, FieldPath at) throws OnnxFormatException {
        int enclosing = in.enterMessage(tag, at);
        String domain = "";
        long version = 0;
        while (in.hasMore()) {
            int t = in.readTag(at);
            switch (fieldNumber(t)) {
                case Opset.DOMAIN -> domain = in.readString(t, at, "domain");
                case Opset.VERSION -> version = varint(t, at, "version");
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        return new OnnxOpset(domain, version);
    }

    /** A {@code StringStringEntryProto} put into {@code into}; a key given twice is refused (keys are distinct). */
    private void entry(int tag, FieldPath at, Map<String, String> into) throws OnnxFormatException {
        int start = in.position();
        int enclosing = in.enterMessage(tag, at);
        String key = "";
        String value = "";
        while (in.hasMore()) {
            int t = in.readTag(at);
            switch (fieldNumber(t)) {
                case Entry.KEY -> key = in.readString(t, at, "key");
                case Entry.VALUE -> value = in.readString(t, at, "value");
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        if (into.put(key, value) != null) {
            throw in.fail("key " + quoted(key) + " appears twice", at, "key", start);
        }
    }

    // =========================================================================================================
    // Graph and nodes
    // =========================================================================================================

    private OnnxGraph graph(int tag, FieldPath at) throws OnnxFormatException {
        int enclosing = in.enterMessage(tag, at);
        String name = "";
        List<OnnxNode> nodes = new ArrayList<>();
        List<OnnxTensor> initializers = new ArrayList<>();
        List<OnnxValueInfo> inputs = new ArrayList<>();
        List<OnnxValueInfo> outputs = new ArrayList<>();
        List<OnnxValueInfo> valueInfo = new ArrayList<>();
        while (in.hasMore()) {
            int fieldAt = in.position();
            int t = in.readTag(at);
            switch (fieldNumber(t)) {
                case Graph.NODE -> {
                    if (nodes.size() == ProtoReader.MAX_NODES) {
                        throw in.fail("more than " + ProtoReader.MAX_NODES + " nodes: more than any real model has"
                                + " (see ProtoReader.MAX_NODES)", at.element("node", nodes.size()), null, fieldAt);
                    }
                    nodes.add(node(t, at.element("node", nodes.size())));
                }
                case Graph.NAME -> name = in.readString(t, at, "name");
                case Graph.INITIALIZER -> initializers.add(tensor(t, at.element("initializer", initializers.size())));
                case Graph.INPUT -> inputs.add(valueInfo(t, at.element("input", inputs.size())));
                case Graph.OUTPUT -> outputs.add(valueInfo(t, at.element("output", outputs.size())));
                case Graph.VALUE_INFO -> valueInfo.add(valueInfo(t, at.element("value_info", valueInfo.size())));
                case Graph.SPARSE_INITIALIZER -> throw in.fail("the graph has a sparse initializer, which this"
                        + " reader does not load (store the weights dense)", at, "sparse_initializer", fieldAt);
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        return new OnnxGraph(name, nodes, initializers, inputs, outputs, valueInfo);
    }

    private OnnxNode node(int tag, FieldPath at) throws OnnxFormatException {
        int enclosing = in.enterMessage(tag, at);
        String name = "";
        String opType = "";
        String domain = "";
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        List<OnnxAttribute> attributes = new ArrayList<>();
        Set<String> attributeNames = null; // made for a second attribute: most nodes have none or one
        while (in.hasMore()) {
            int fieldAt = in.position();
            int t = in.readTag(at);
            switch (fieldNumber(t)) {
                case Node.INPUT -> inputs.add(in.readString(t, at, "input"));
                case Node.OUTPUT -> outputs.add(in.readString(t, at, "output"));
                case Node.NAME -> name = in.readString(t, at, "name");
                case Node.OP_TYPE -> opType = in.readString(t, at, "op_type");
                case Node.DOMAIN -> domain = in.readString(t, at, "domain");
                case Node.ATTRIBUTE -> {
                    FieldPath attributeAt = at.element("attribute", attributes.size());
                    OnnxAttribute a = attribute(t, attributeAt);
                    if (attributeNames == null && !attributes.isEmpty()) {
                        attributeNames = new HashSet<>();
                        attributeNames.add(attributes.get(0).name());
                    }
                    if (attributeNames != null && !attributeNames.add(a.name())) {
                        throw in.fail("a second attribute named " + quoted(a.name()), attributeAt, null, fieldAt);
                    }
                    attributes.add(a);
                }
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        return new OnnxNode(name, opType, domain, inputs, outputs, attributes);
    }

    private OnnxAttribute attribute(int tag, FieldPath at) throws OnnxFormatException {
        int start = in.position();
        int enclosing = in.enterMessage(tag, at);
        String name = "";
        long typeCode = 0;
        int typeAt = start;
        // the value fields, each null until seen; an attribute holds exactly one
        Float f = null;
        Long i = null;
        String s = null;
        OnnxTensor t = null;
        FloatList floats = null;
        LongList ints = null;
        List<String> strings = null;
        while (in.hasMore()) {
            int fieldAt = in.position();
            int tg = in.readTag(at);
            switch (fieldNumber(tg)) {
                case Attribute.NAME -> name = in.readString(tg, at, "name");
                case Attribute.TYPE -> {
                    typeAt = fieldAt;
                    typeCode = varint(tg, at, "type");
                }
                case Attribute.F -> {
                    in.expectWireType(tg, FIXED32, at, "f");
                    f = Float.intBitsToFloat(in.readFixed32(at, "f"));
                }
                case Attribute.I -> i = varint(tg, at, "i");
                case Attribute.S -> s = in.readString(tg, at, "s");
                case Attribute.T -> {
                    once(t, at, "t", fieldAt);
                    t = tensor(tg, at.child("t"));
                }
                case Attribute.FLOATS -> in.readFloats(tg, floats = floats == null ? new FloatList() : floats, at,
                        "floats");
                case Attribute.INTS -> in.readVarints(tg, ints = ints == null ? new LongList() : ints, at, "ints");
                case Attribute.STRINGS -> (strings = strings == null ? new ArrayList<>() : strings)
                        .add(in.readString(tg, at, "strings"));
                case Attribute.G, Attribute.GRAPHS -> throw in.fail("attribute " + quoted(name) + " holds a subgraph;"
                        + " control flow (If, Loop, Scan) is not supported: CNN embedders do not need it", at,
                        fieldNumber(tg) == Attribute.G ? "g" : "graphs", fieldAt);
                case Attribute.TENSORS -> throw unloaded(name, "a list of tensors", at, "tensors", fieldAt);
                case Attribute.SPARSE_TENSOR -> throw unloaded(name, "a sparse tensor", at, "sparse_tensor", fieldAt);
                case Attribute.SPARSE_TENSORS -> throw unloaded(name, "a list of sparse tensors", at,
                        "sparse_tensors", fieldAt);
                case Attribute.TP -> throw unloaded(name, "a type", at, "tp", fieldAt);
                case Attribute.TYPE_PROTOS -> throw unloaded(name, "a list of types", at, "type_protos", fieldAt);
                case Attribute.REF_ATTR_NAME -> throw in.fail("attribute " + quoted(name) + " refers to an attribute"
                        + " of an enclosing function, which only model-local functions may do", at, "ref_attr_name",
                        fieldAt);
                default -> in.skip(tg, at);
            }
        }
        in.exitMessage(enclosing);

        Object[] byType = {f, i, s, t, floats, ints, strings};
        OnnxAttribute.Type[] types = OnnxAttribute.Type.values(); // in the order of byType
        OnnxAttribute.Type type;
        if (typeCode != 0) {
            type = OnnxAttribute.Type.ofCode(typeCode);
            if (type == null) {
                throw in.fail("attribute " + quoted(name) + " has type " + OnnxAttribute.typeName(typeCode)
                        + "; this reader loads FLOAT, INT, STRING, TENSOR, FLOATS, INTS and STRINGS", at, "type",
                        typeAt);
            }
        } else {
            // IR version 1 had no type field: the one value field present says it
            type = null;
            for (int k = 0; k < byType.length; k++) {
                if (byType[k] != null) {
                    if (type != null) {
                        throw in.fail("attribute " + quoted(name) + " has no type and values of both " + type + " and "
                                + types[k], at, null, start);
                    }
                    type = types[k];
                }
            }
            if (type == null) {
                throw in.fail("attribute " + quoted(name) + " has no type and no value", at, null, start);
            }
        }
        Object value = switch (type) {
            case FLOATS -> floats == null ? new float[0] : floats.toArray();
            case INTS -> ints == null ? new long[0] : ints.toArray();
            case STRINGS -> strings == null ? List.of() : List.copyOf(strings);
            default -> byType[type.ordinal()];
        };
        if (value == null) {
            throw in.fail("attribute " + quoted(name) + " has type " + type + " but no value of that type", at,
                    null, start);
        }
        return OnnxAttribute.read(name, type, value);
    }

    private OnnxFormatException unloaded(String attribute, String what, FieldPath at, String field, int fieldAt) {
        return in.fail("attribute " + quoted(attribute) + " holds " + what + ", which this reader does not load", at,
                field, fieldAt);
    }

    // =========================================================================================================
    // Tensors
    // =========================================================================================================

    /** The fields of a {@code TensorProto} as read, checked and converted by {@link #build}. */
    private final class TensorFields {
        final FieldPath at;
        final int start;
        String name = "";
        final LongList dims = new LongList();
        int dimsAt = -1;
        long dataType;
        int dataTypeAt = -1;
        long location;
        int locationAt = -1;
        /** Where each data field starts, by field number (-1: absent). */
        final int[] dataAt = new int[16];
        FloatList floats;
        LongList longs;
        int rawFrom;
        int rawLength;
        /** Where an external file holds the data: {@code location}, {@code offset}, ... */
        final Map<String, String> external = new LinkedHashMap<>();

        TensorFields(FieldPath at, int start) {
            this.at = at;
            this.start = start;
            Arrays.fill(dataAt, -1);
        }

        /** Notes data in {@code field} at {@code fieldAt}, refusing a second kind of data beside it. */
        void data(int field, int fieldAt) throws OnnxFormatException {
            for (int other : DATA_FIELDS) {
                if (other != field && dataAt[other] >= 0) {
                    throw in.fail(describe() + " holds data both in " + dataFieldName(other) + " and in "
                            + dataFieldName(field), at, dataFieldName(field), fieldAt);
                }
            }
            if (dataAt[field] < 0) {
                dataAt[field] = fieldAt;
            }
        }

        String describe() {
            return name.isEmpty() ? "the tensor" : "tensor " + quoted(name);
        }

        OnnxTensor build() throws OnnxFormatException {
            if (location == Tensor.LOCATION_EXTERNAL) {
                throw in.fail(describe() + " keeps its data in another file"
                        + (external.containsKey("location") ? " (" + quoted(external.get("location")) + ")" : "")
                        + "; this reader needs the weights inside the .onnx file (in Python: onnx.save_model(onnx.load("
                        + "path), path, save_as_external_data=False))", at, "data_location", locationAt);
            }
            if (location != 0) {
                throw in.fail(describe() + " has data_location " + location + ", neither DEFAULT (0) nor EXTERNAL (1)",
                        at, "data_location", locationAt);
            }
            OnnxDataType type = OnnxDataType.ofCode(dataType);
            if (type == null || !type.isLoaded()) {
                throw in.fail(describe() + " has data type " + OnnxDataType.describe(dataType) + "; this reader loads "
                        + OnnxDataType.LOADED + " tensors", at, "data_type", dataTypeAt >= 0 ? dataTypeAt : start);
            }
            long[] shape = dims.toArray();
            String problem = OnnxTensor.dimsProblem(shape);
            if (problem != null) {
                throw in.fail(describe() + ": " + problem, at, "dims", dimsAt);
            }
            int count = OnnxTensor.elementCount(shape);
            int typed = typedField(type);
            int field = -1;
            for (int f : DATA_FIELDS) {
                if (dataAt[f] >= 0) {
                    field = f;
                }
            }
            if (field < 0) {
                if (count != 0) {
                    throw in.fail(describe() + " has no data for the " + count + " elements of dims "
                            + Arrays.toString(shape), at, null, start);
                }
                field = typed;
            } else if (field != Tensor.RAW_DATA && field != typed) {
                throw in.fail(describe() + " of type " + type + " holds its values in " + dataFieldName(field)
                        + ", which is for other types (expected raw_data or " + dataFieldName(typed) + ")", at,
                        dataFieldName(field), dataAt[field]);
            }
            float[] floatValues = null;
            long[] longValues = null;
            if (field == Tensor.RAW_DATA) {
                long expected = (long) count * type.rawBytes();
                if (rawLength != expected) {
                    throw in.fail(describe() + ": raw_data has " + rawLength + " bytes where dims "
                            + Arrays.toString(shape) + " of " + type + " call for " + expected, at,
                            "raw_data", dataAt[field]);
                }
                ByteBuffer raw = in.littleEndian(rawFrom, rawLength);
                if (type.isFloating()) {
                    floatValues = new float[count];
                    for (int k = 0; k < count; k++) {
                        floatValues[k] = type == OnnxDataType.FLOAT ? raw.getFloat() : (float) raw.getDouble();
                    }
                } else {
                    longValues = new long[count];
                    for (int k = 0; k < count; k++) {
                        longValues[k] = type == OnnxDataType.INT64 ? raw.getLong() : raw.getInt();
                    }
                }
            } else {
                int n = type.isFloating() ? size(floats) : size(longs);
                if (n != count) {
                    throw in.fail(describe() + ": " + dataFieldName(field) + " has " + n + " values where dims "
                            + Arrays.toString(shape) + " call for " + count, at, dataFieldName(field),
                            dataAt[field] >= 0 ? dataAt[field] : start);
                }
                if (type.isFloating()) {
                    floatValues = floats == null ? new float[0] : floats.toArray();
                } else {
                    longValues = longs == null ? new long[0] : longs.toArray();
                    if (type == OnnxDataType.INT32) {
                        for (int k = 0; k < longValues.length; k++) {
                            longValues[k] = (int) longValues[k]; // an int32 is sign-extended to 64 bits on the wire
                        }
                    }
                }
            }
            return OnnxTensor.read(name, type, shape, floatValues, longValues);
        }
    }

    /** The fields that may hold a tensor's values. */
    private static final int[] DATA_FIELDS = {Tensor.FLOAT_DATA, Tensor.INT32_DATA, Tensor.STRING_DATA,
        Tensor.INT64_DATA, Tensor.RAW_DATA, Tensor.DOUBLE_DATA, Tensor.UINT64_DATA};

    private static String dataFieldName(int field) {
        return switch (field) {
            case Tensor.FLOAT_DATA -> "float_data";
            case Tensor.INT32_DATA -> "int32_data";
            case Tensor.STRING_DATA -> "string_data";
            case Tensor.INT64_DATA -> "int64_data";
            case Tensor.RAW_DATA -> "raw_data";
            case Tensor.DOUBLE_DATA -> "double_data";
            case Tensor.UINT64_DATA -> "uint64_data";
            default -> throw new AssertionError(field);
        };
    }

    /** The field a loaded type's values have besides {@code raw_data}. */
    private static int typedField(OnnxDataType type) {
        return switch (type) {
            case FLOAT -> Tensor.FLOAT_DATA;
            case DOUBLE -> Tensor.DOUBLE_DATA;
            case INT32 -> Tensor.INT32_DATA;
            case INT64 -> Tensor.INT64_DATA;
            default -> throw new AssertionError(type);
        };
    }

    private static int size(FloatList list) {
        return list == null ? 0 : list.size();
    }

    private static int size(LongList list) {
        return list == null ? 0 : list.size();
    }

    private OnnxTensor tensor(int tag, FieldPath at) throws OnnxFormatException {
        TensorFields tf = new TensorFields(at, in.position());
        int enclosing = in.enterMessage(tag, at);
        while (in.hasMore()) {
            int fieldAt = in.position();
            int t = in.readTag(at);
            int field = fieldNumber(t);
            switch (field) {
                case Tensor.DIMS -> {
                    tf.dimsAt = tf.dimsAt < 0 ? fieldAt : tf.dimsAt;
                    in.readVarints(t, tf.dims, at, "dims");
                }
                case Tensor.DATA_TYPE -> {
                    tf.dataTypeAt = fieldAt;
                    tf.dataType = varint(t, at, "data_type");
                }
                case Tensor.NAME -> tf.name = in.readString(t, at, "name");
                case Tensor.FLOAT_DATA -> {
                    tf.data(field, fieldAt);
                    in.readFloats(t, tf.floats = tf.floats == null ? new FloatList() : tf.floats, at, "float_data");
                }
                case Tensor.DOUBLE_DATA -> {
                    tf.data(field, fieldAt);
                    in.readDoublesAsFloats(t, tf.floats = tf.floats == null ? new FloatList() : tf.floats, at,
                            "double_data");
                }
                case Tensor.INT32_DATA, Tensor.INT64_DATA -> {
                    tf.data(field, fieldAt);
                    in.readVarints(t, tf.longs = tf.longs == null ? new LongList() : tf.longs, at,
                            dataFieldName(field));
                }
                case Tensor.RAW_DATA -> {
                    tf.data(field, fieldAt);
                    tf.rawFrom = in.readBytesInPlace(t, at, "raw_data");
                    tf.rawLength = in.position() - tf.rawFrom;
                }
                case Tensor.STRING_DATA, Tensor.UINT64_DATA -> {
                    // types this reader refuses; noted so the data type check names them
                    tf.data(field, fieldAt);
                    in.skip(t, at);
                }
                case Tensor.DATA_LOCATION -> {
                    tf.locationAt = fieldAt;
                    tf.location = varint(t, at, "data_location");
                }
                case Tensor.EXTERNAL_DATA -> entry(t, at.element("external_data", tf.external.size()), tf.external);
                case Tensor.SEGMENT -> throw in.fail(tf.describe() + " is stored in segments, which this reader does"
                        + " not join", at, "segment", fieldAt);
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        return tf.build();
    }

    // =========================================================================================================
    // Value types
    // =========================================================================================================

    /** The element type and shape of a tensor type; shape null when the file gives none. */
    private record TensorTypeInfo(OnnxDataType elemType, List<OnnxDimension> shape) {
        static final TensorTypeInfo NONE = new TensorTypeInfo(OnnxDataType.UNDEFINED, null);
    }

    private OnnxValueInfo valueInfo(int tag, FieldPath at) throws OnnxFormatException {
        int enclosing = in.enterMessage(tag, at);
        String name = "";
        TensorTypeInfo type = null;
        while (in.hasMore()) {
            int fieldAt = in.position();
            int t = in.readTag(at);
            switch (fieldNumber(t)) {
                case ValueInfo.NAME -> name = in.readString(t, at, "name");
                case ValueInfo.TYPE -> {
                    once(type, at, "type", fieldAt);
                    type = type(t, at.child("type"), name);
                }
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        type = type == null ? TensorTypeInfo.NONE : type;
        return new OnnxValueInfo(name, type.elemType(), type.shape());
    }

    private TensorTypeInfo type(int tag, FieldPath at, String valueName) throws OnnxFormatException {
        int enclosing = in.enterMessage(tag, at);
        TensorTypeInfo tensor = null;
        while (in.hasMore()) {
            int fieldAt = in.position();
            int t = in.readTag(at);
            int field = fieldNumber(t);
            switch (field) {
                case Type.TENSOR_TYPE -> {
                    once(tensor, at, "tensor_type", fieldAt);
                    tensor = tensorType(t, at.child("tensor_type"));
                }
                case Type.SEQUENCE_TYPE, Type.MAP_TYPE, Type.SPARSE_TENSOR_TYPE, Type.OPTIONAL_TYPE -> {
                    String kind = field == Type.SEQUENCE_TYPE ? "sequence" : field == Type.MAP_TYPE ? "map"
                            : field == Type.SPARSE_TENSOR_TYPE ? "sparse tensor" : "optional";
                    throw in.fail("value " + quoted(valueName) + " has a " + kind + " type; only tensor values are"
                            + " supported", at, "#" + field, fieldAt);
                }
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        return tensor == null ? TensorTypeInfo.NONE : tensor;
    }

    private TensorTypeInfo tensorType(int tag, FieldPath at) throws OnnxFormatException {
        int enclosing = in.enterMessage(tag, at);
        OnnxDataType elemType = OnnxDataType.UNDEFINED;
        List<OnnxDimension> shape = null;
        while (in.hasMore()) {
            int fieldAt = in.position();
            int t = in.readTag(at);
            switch (fieldNumber(t)) {
                case TensorType.ELEM_TYPE -> {
                    long code = varint(t, at, "elem_type");
                    elemType = OnnxDataType.ofCode(code);
                    if (elemType == null) {
                        throw in.fail("elem_type " + code + " is not an ONNX data type", at, "elem_type", fieldAt);
                    }
                }
                case TensorType.SHAPE -> {
                    once(shape, at, "shape", fieldAt);
                    shape = shape(t, at.child("shape"));
                }
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        return new TensorTypeInfo(elemType, shape);
    }

    private List<OnnxDimension> shape(int tag, FieldPath at) throws OnnxFormatException {
        int enclosing = in.enterMessage(tag, at);
        List<OnnxDimension> dims = new ArrayList<>();
        while (in.hasMore()) {
            int t = in.readTag(at);
            if (fieldNumber(t) == Shape.DIM) {
                dims.add(dimension(t, at.element("dim", dims.size())));
            } else {
                in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        return dims;
    }

    private OnnxDimension dimension(int tag, FieldPath at) throws OnnxFormatException {
        int enclosing = in.enterMessage(tag, at);
        long value = -1;
        String param = "";
        while (in.hasMore()) {
            int fieldAt = in.position();
            int t = in.readTag(at);
            switch (fieldNumber(t)) {
                case Shape.DIM_VALUE -> {
                    value = varint(t, at, "dim_value");
                    if (value < 0) {
                        throw in.fail("dimension " + value + " is below 0", at, "dim_value", fieldAt);
                    }
                    param = ""; // one of: the last given wins, as protobuf's oneof
                }
                case Shape.DIM_PARAM -> {
                    param = in.readString(t, at, "dim_param");
                    value = -1;
                }
                default -> in.skip(t, at);
            }
        }
        in.exitMessage(enclosing);
        return new OnnxDimension(value, param);
    }

    // =========================================================================================================
    // Helpers
    // =========================================================================================================

    private long varint(int tag, FieldPath at, String field) throws OnnxFormatException {
        in.expectWireType(tag, VARINT, at, field);
        return in.readVarint(at, field);
    }

    /** Refuses a sub-message given a second time (protobuf would merge the two, which this reader does not). */
    private void once(Object seen, FieldPath at, String field, int fieldAt) throws OnnxFormatException {
        if (seen != null) {
            throw in.fail(field + " is given twice", at, field, fieldAt);
        }
    }
}
