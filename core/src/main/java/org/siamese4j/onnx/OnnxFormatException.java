package org.siamese4j.onnx;

import org.siamese4j.io.ModelFormatException;

/**
 * An ONNX file that is truncated, malformed, hostile, or holds something this reader does not load (a data type,
 * external data, a subgraph). Like every {@link ModelFormatException} its message reads
 * {@code "<file>: <problem> (at <location>)"}; here the location is the protobuf field path from the model down
 * to the offending field and the byte offset in the file, for example
 * {@code "graph.node[12].attribute[0].t.dims, byte 4711"}. Both parts are also available on their own.
 */
public class OnnxFormatException extends ModelFormatException {
    private static final long serialVersionUID = 1L;

    private final String fieldPath;
    private final long offset;

    /**
     * @param file      the file (or source name) being read
     * @param problem   what is wrong, in words, with the offending values
     * @param fieldPath the field path from the model message, e.g. {@code graph.initializer[3].raw_data}; empty
     *                  for the model message itself
     * @param offset    the byte offset of the problem in the file, or -1 when it concerns the whole file (then
     *                  the message has no location)
     */
    public OnnxFormatException(String file, String problem, String fieldPath, long offset) {
        super(file, problem, location(fieldPath, offset));
        this.fieldPath = fieldPath;
        this.offset = offset;
    }

    private static String location(String fieldPath, long offset) {
        if (offset < 0) {
            return null;
        }
        return fieldPath.isEmpty() ? "byte " + offset : fieldPath + ", byte " + offset;
    }

    /** The protobuf field path from the model message, e.g. {@code graph.node[12].attribute[0].t.dims}. */
    public String fieldPath() {
        return fieldPath;
    }

    /** The byte offset of the problem in the file, or -1 when it concerns the whole file. */
    public long offset() {
        return offset;
    }
}
