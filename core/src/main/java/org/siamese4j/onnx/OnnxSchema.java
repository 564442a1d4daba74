package org.siamese4j.onnx;

/**
 * The field numbers of the ONNX messages this package reads and writes, in one place for the reader and the
 * writer. They come from {@code onnx/onnx.proto} of the ONNX repository (github.com/onnx/onnx, the file at commit
 * 64209faab4da3d679f2d46c7f725f6f2b779279b, IR version 10); field numbers never change between ONNX versions, so
 * files of every IR version read the same way. Fields not listed here are skipped when read and never written;
 * the reader refuses the few whose loss would change what the model computes (sparse initializers, tensor
 * segments, external data, subgraphs).
 */
final class OnnxSchema {
    private OnnxSchema() {
    }

    /** {@code ModelProto}. */
    static final class Model {
        static final int IR_VERSION = 1;
        static final int PRODUCER_NAME = 2;
        static final int PRODUCER_VERSION = 3;
        static final int GRAPH = 7;
        static final int OPSET_IMPORT = 8;
        static final int METADATA_PROPS = 14;

        private Model() {
        }
    }

    /** {@code OperatorSetIdProto}. */
    static final class Opset {
        static final int DOMAIN = 1;
        static final int VERSION = 2;

        private Opset() {
        }
    }

    /** {@code StringStringEntryProto}: the key-value pairs of metadata and of external data locations. */
    static final class Entry {
        static final int KEY = 1;
        static final int VALUE = 2;

        private Entry() {
        }
    }

    /** {@code GraphProto}. */
    static final class Graph {
        static final int NODE = 1;
        static final int NAME = 2;
        static final int INITIALIZER = 5;
        static final int INPUT = 11;
        static final int OUTPUT = 12;
        static final int VALUE_INFO = 13;
        /** Refused: weights stored this way would be lost if skipped. */
        static final int SPARSE_INITIALIZER = 15;

        private Graph() {
        }
    }

    /** {@code NodeProto}. */
    static final class Node {
        static final int INPUT = 1;
        static final int OUTPUT = 2;
        static final int NAME = 3;
        static final int OP_TYPE = 4;
        static final int ATTRIBUTE = 5;
        static final int DOMAIN = 7;

        private Node() {
        }
    }

    /** {@code AttributeProto}. */
    static final class Attribute {
        static final int NAME = 1;
        static final int F = 2;
        static final int I = 3;
        static final int S = 4;
        static final int T = 5;
        static final int FLOATS = 7;
        static final int INTS = 8;
        static final int STRINGS = 9;
        static final int TYPE = 20;
        // Refused: subgraphs (control flow), lists of tensors, sparse tensors, types, references into a function.
        static final int G = 6;
        static final int TENSORS = 10;
        static final int GRAPHS = 11;
        static final int TP = 14;
        static final int TYPE_PROTOS = 15;
        static final int REF_ATTR_NAME = 21;
        static final int SPARSE_TENSOR = 22;
        static final int SPARSE_TENSORS = 23;

        private Attribute() {
        }
    }

    /** {@code TensorProto}. */
    static final class Tensor {
        static final int DIMS = 1;
        static final int DATA_TYPE = 2;
        /** Refused: a tensor stored in pieces. */
        static final int SEGMENT = 3;
        static final int FLOAT_DATA = 4;
        static final int INT32_DATA = 5;
        static final int STRING_DATA = 6;
        static final int INT64_DATA = 7;
        static final int NAME = 8;
        static final int RAW_DATA = 9;
        static final int DOUBLE_DATA = 10;
        static final int UINT64_DATA = 11;
        static final int EXTERNAL_DATA = 13;
        static final int DATA_LOCATION = 14;
        /** {@code DataLocation.EXTERNAL}: the data is in another file. */
        static final int LOCATION_EXTERNAL = 1;

        private Tensor() {
        }
    }

    /** {@code ValueInfoProto}. */
    static final class ValueInfo {
        static final int NAME = 1;
        static final int TYPE = 2;

        private ValueInfo() {
        }
    }

    /** {@code TypeProto}: only tensor types are read; the others are refused by name. */
    static final class Type {
        static final int TENSOR_TYPE = 1;
        static final int SEQUENCE_TYPE = 4;
        static final int MAP_TYPE = 5;
        static final int SPARSE_TENSOR_TYPE = 8;
        static final int OPTIONAL_TYPE = 9;

        private Type() {
        }
    }

    /** {@code TypeProto.Tensor}. */
    static final class TensorType {
        static final int ELEM_TYPE = 1;
        static final int SHAPE = 2;

        private TensorType() {
        }
    }

    /** {@code TensorShapeProto} and its {@code Dimension}. */
    static final class Shape {
        static final int DIM = 1;
        static final int DIM_VALUE = 1;
        static final int DIM_PARAM = 2;

        private Shape() {
        }
    }
}
