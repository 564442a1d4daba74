package org.siamese4j.onnx;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

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

/**
 * Encodes an {@link OnnxModel} as a {@code ModelProto}, fields in field-number order as protobuf's own
 * serializers write them. Tensors go in {@code raw_data} (little-endian, as PyTorch writes them) in their data
 * type; repeated integers and floats of attributes and dimensions are written unpacked, the proto2 default of
 * {@code onnx.proto}, which every protobuf parser reads. Empty singular strings are left out (they read back as
 * empty); repeated strings are always written, since a node input {@code ""} means an optional input left out.
 */
final class OnnxWriter {
    private static final int CHUNK_BYTES = 1 << 16;

    private OnnxWriter() {
    }

    static ProtoWriter model(OnnxModel m) {
        ProtoWriter w = new ProtoWriter();
        w.varintField(Model.IR_VERSION, m.irVersion());
        optionalString(w, Model.PRODUCER_NAME, m.producerName());
        optionalString(w, Model.PRODUCER_VERSION, m.producerVersion());
        w.messageField(Model.GRAPH, graph(m.graph()));
        for (OnnxOpset o : m.opsetImports()) {
            ProtoWriter ow = new ProtoWriter();
            optionalString(ow, Opset.DOMAIN, o.domain());
            ow.varintField(Opset.VERSION, o.version());
            w.messageField(Model.OPSET_IMPORT, ow);
        }
        for (Map.Entry<String, String> e : m.metadata().entrySet()) {
            ProtoWriter ew = new ProtoWriter();
            ew.stringField(Entry.KEY, e.getKey());
            ew.stringField(Entry.VALUE, e.getValue());
            w.messageField(Model.METADATA_PROPS, ew);
        }
        return w;
    }

    private static ProtoWriter graph(OnnxGraph g) {
        ProtoWriter w = new ProtoWriter();
        for (OnnxNode n : g.nodes()) {
            w.messageField(Graph.NODE, node(n));
        }
        optionalString(w, Graph.NAME, g.name());
        for (OnnxTensor t : g.initializers()) {
            w.messageField(Graph.INITIALIZER, tensor(t));
        }
        for (OnnxValueInfo v : g.inputs()) {
            w.messageField(Graph.INPUT, valueInfo(v));
        }
        for (OnnxValueInfo v : g.outputs()) {
            w.messageField(Graph.OUTPUT, valueInfo(v));
        }
        for (OnnxValueInfo v : g.valueInfo()) {
            w.messageField(Graph.VALUE_INFO, valueInfo(v));
        }
        return w;
    }

    private static ProtoWriter node(OnnxNode n) {
        ProtoWriter w = new ProtoWriter();
        n.inputs().forEach(s -> w.stringField(Node.INPUT, s));
        n.outputs().forEach(s -> w.stringField(Node.OUTPUT, s));
        optionalString(w, Node.NAME, n.name());
        optionalString(w, Node.OP_TYPE, n.opType());
        for (OnnxAttribute a : n.attributes()) {
            w.messageField(Node.ATTRIBUTE, attribute(a));
        }
        optionalString(w, Node.DOMAIN, n.domain());
        return w;
    }

    private static ProtoWriter attribute(OnnxAttribute a) {
        ProtoWriter w = new ProtoWriter();
        w.stringField(Attribute.NAME, a.name());
        switch (a.type()) {
            case FLOAT -> w.floatField(Attribute.F, (Float) a.value());
            case INT -> w.varintField(Attribute.I, (Long) a.value());
            case STRING -> w.stringField(Attribute.S, (String) a.value());
            case TENSOR -> w.messageField(Attribute.T, tensor((OnnxTensor) a.value()));
            case FLOATS -> {
                for (float f : (float[]) a.value()) {
                    w.floatField(Attribute.FLOATS, f);
                }
            }
            case INTS -> {
                for (long i : (long[]) a.value()) {
                    w.varintField(Attribute.INTS, i);
                }
            }
            case STRINGS -> a.asStrings().forEach(s -> w.stringField(Attribute.STRINGS, s));
            default -> throw new AssertionError(a.type());
        }
        w.varintField(Attribute.TYPE, a.type().code());
        return w;
    }

    private static ProtoWriter tensor(OnnxTensor t) {
        ProtoWriter w = new ProtoWriter();
        for (long d : t.dims()) {
            w.varintField(Tensor.DIMS, d);
        }
        w.varintField(Tensor.DATA_TYPE, t.dataType().code());
        optionalString(w, Tensor.NAME, t.name());
        w.payloadField(Tensor.RAW_DATA, rawData(t));
        return w;
    }

    /** A tensor's values as little-endian bytes of its data type, converted chunk by chunk as they go out. */
    private static ProtoWriter.Payload rawData(OnnxTensor t) {
        OnnxDataType type = t.dataType();
        int width = type.rawBytes();
        long length = (long) t.elementCount() * width;
        return new ProtoWriter.Payload() {
            @Override
            public long length() {
                return length;
            }

            @Override
            public void writeTo(OutputStream out) throws IOException {
                ByteBuffer chunk = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, length))
                        .order(ByteOrder.LITTLE_ENDIAN);
                int count = t.elementCount();
                float[] floats = type.isFloating() ? t.floatValues() : null;
                long[] longs = type.isFloating() ? null : t.longValues();
                for (int i = 0; i < count; i++) {
                    switch (type) {
                        case FLOAT -> chunk.putFloat(floats[i]);
                        case DOUBLE -> chunk.putDouble(floats[i]);
                        case INT32 -> chunk.putInt((int) longs[i]); // INT32 values fit an int (OnnxTensor checks)
                        case INT64 -> chunk.putLong(longs[i]);
                        default -> throw new AssertionError(type);
                    }
                    if (!chunk.hasRemaining()) {
                        out.write(chunk.array(), 0, chunk.position());
                        chunk.clear();
                    }
                }
                out.write(chunk.array(), 0, chunk.position());
            }
        };
    }

    private static ProtoWriter valueInfo(OnnxValueInfo v) {
        ProtoWriter w = new ProtoWriter();
        optionalString(w, ValueInfo.NAME, v.name());
        if (v.elemType() != OnnxDataType.UNDEFINED || v.hasShape()) {
            ProtoWriter tensorType = new ProtoWriter();
            tensorType.varintField(TensorType.ELEM_TYPE, v.elemType().code());
            if (v.hasShape()) {
                ProtoWriter shape = new ProtoWriter();
                for (OnnxDimension d : v.shape()) {
                    ProtoWriter dim = new ProtoWriter();
                    if (d.isKnown()) {
                        dim.varintField(Shape.DIM_VALUE, d.value());
                    } else {
                        optionalString(dim, Shape.DIM_PARAM, d.param());
                    }
                    shape.messageField(Shape.DIM, dim);
                }
                tensorType.messageField(TensorType.SHAPE, shape);
            }
            ProtoWriter type = new ProtoWriter();
            type.messageField(Type.TENSOR_TYPE, tensorType);
            w.messageField(ValueInfo.TYPE, type);
        }
        return w;
    }

    private static void optionalString(ProtoWriter w, int field, String value) {
        if (!value.isEmpty()) {
            w.stringField(field, value);
        }
    }
}
