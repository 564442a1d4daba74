package org.siamese4j.onnx;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

import org.siamese4j.io.AtomicFiles;
import org.siamese4j.io.ModelFormatException;

/**
 * An ONNX model file ({@code ModelProto}): who made it, the operator sets it imports, and its graph. This is the
 * file as it is, read and written by a protobuf reader and writer of our own; mapping its nodes onto layers is
 * another step.
 *
 * <h2>Reading</h2>
 * Files are treated as hostile, as the safetensors reader treats its files. The whole file is read into memory (at
 * most {@link #MAX_FILE_BYTES}, protobuf's own 2 GiB limit; larger models keep their weights as external data,
 * which is refused), then decoded:
 * <ul>
 *   <li>every length is checked against the bytes that remain in its enclosing message before anything is
 *       allocated for it, so decoding allocates a bounded multiple of the file's size: for a model, mostly
 *       weights, about its own size (the float arrays; {@code raw_data} is converted where it lies), and at
 *       worst, for a file of nothing but empty messages, about 120 bytes per byte of file (measured on JDK 17:
 *       each message becomes an object with its lists); so at most {@code ProtoReader.MAX_NODES} (a million) nodes and
 *       eight times as many messages and strings in all are decoded, which bounds that at about 1 GB whatever
 *       the file's size, and beyond which the file is refused. Varints longer than 10 bytes, unknown wire types,
 *       groups and truncated fields are refused; unknown fields are skipped; repeated numbers are read packed
 *       or not;</li>
 *   <li>a tensor's dimensions are at least 0 and their product, computed in {@code long}, at most
 *       {@link OnnxTensor#MAX_ELEMENTS}; its data (in {@code raw_data}, little-endian, or in the field of its
 *       type) holds exactly that many elements; FLOAT, DOUBLE (rounded to float32), INT32 and INT64 tensors are
 *       loaded, other types are refused naming the tensor and its type, and so is data in an external file;</li>
 *   <li>subgraphs (attributes of If, Loop, Scan), sparse initializers, tensor segments and non-tensor value types
 *       are refused: CNN embedders use none of them. The decoder does not recurse beyond the fixed depth of the
 *       messages it reads;</li>
 *   <li>text (names, operator types, string attributes) must be valid UTF-8.</li>
 * </ul>
 * Every failure is an {@link OnnxFormatException} naming the field path ({@code graph.node[12].attribute[0].t.dims})
 * and the byte offset. Failures of the file system itself are the usual {@link IOException}s. Values are loaded
 * as they are: NaN and infinite weights are not refused here.
 *
 * <h2>Writing</h2>
 * {@link #write(Path)} writes what it holds in protobuf's field order (see {@code OnnxWriter}), tensors as
 * {@code raw_data}, replacing the file atomically through {@link AtomicFiles}; what it writes reads back equal.
 *
 * @param irVersion       the IR version of the file format (PyTorch 1.13 writes 7 for opset 13)
 * @param producerName    the tool that made the file, e.g. {@code pytorch} (may be empty)
 * @param producerVersion its version, e.g. {@code 1.13.0} (may be empty)
 * @param opsetImports    the operator sets, domain and version
 * @param metadata        string metadata ({@code metadata_props}), in file order
 * @param graph           the computation
 */
public record OnnxModel(long irVersion, String producerName, String producerVersion, List<OnnxOpset> opsetImports,
                        Map<String, String> metadata, OnnxGraph graph) {
    /** The largest file read or written: the largest Java array, within protobuf's limit of 2 GiB per message. */
    public static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;

    public OnnxModel {
        Objects.requireNonNull(producerName, "producerName");
        Objects.requireNonNull(producerVersion, "producerVersion");
        opsetImports = List.copyOf(opsetImports);
        metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        Objects.requireNonNull(graph, "graph");
    }

    // =========================================================================================================
    // Reading and writing
    // =========================================================================================================

    /** Reads an {@code .onnx} file. See the class comment for what is checked. */
    public static OnnxModel read(Path file) throws IOException {
        if (Files.isDirectory(file)) {
            throw new FileSystemException(file.toString(), null, "is a folder, not a file");
        }
        long size = Files.size(file);
        if (size > MAX_FILE_BYTES) {
            throw new OnnxFormatException(file.toString(), "the file has " + size + " bytes, more than the "
                    + MAX_FILE_BYTES + " a protobuf message can hold; models this large keep their weights as"
                    + " external data, which this reader does not load", "", -1);
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes((int) size); // a file that grew since is read to its old size
        }
        return OnnxReader.read(bytes, file.toString());
    }

    /** Reads a model from bytes in memory; errors name the source {@code "ONNX bytes"}. */
    public static OnnxModel read(byte[] bytes) throws OnnxFormatException {
        return read(bytes, "ONNX bytes");
    }

    /** Reads a model from bytes in memory; {@code sourceName} stands for the file name in error messages. */
    public static OnnxModel read(byte[] bytes, String sourceName) throws OnnxFormatException {
        Objects.requireNonNull(bytes, "bytes");
        return OnnxReader.read(bytes, String.valueOf(sourceName));
    }

    /**
     * Writes this model to {@code file}, replacing it atomically (under its lock, as models are saved).
     *
     * @throws IllegalArgumentException the encoding would exceed {@link #MAX_FILE_BYTES} or a text has no UTF-8
     *                                  form (an unpaired surrogate); nothing is written then
     */
    public void write(Path file) throws IOException {
        ProtoWriter encoded = encoded();
        AtomicFiles.writeLocked(file, null, encoded::writeTo);
    }

    /** Writes this model to a stream (not closed). */
    public void write(OutputStream out) throws IOException {
        encoded().writeTo(out);
    }

    /** The encoded model. */
    public byte[] toBytes() {
        return encoded().toByteArray();
    }

    private ProtoWriter encoded() {
        ProtoWriter w = OnnxWriter.model(this);
        if (w.size() > MAX_FILE_BYTES) {
            throw new IllegalArgumentException("the model would take " + w.size() + " bytes, more than the "
                    + MAX_FILE_BYTES + " a protobuf message (and this reader) can hold");
        }
        return w;
    }

    // =========================================================================================================
    // Questions about the model
    // =========================================================================================================

    /** The version of the operator set imported for {@code domain} ({@code ""} or {@code "ai.onnx"}: the standard). */
    public OptionalLong opsetVersion(String domain) {
        boolean standard = OnnxOpset.isDefaultDomain(domain);
        for (OnnxOpset o : opsetImports) {
            if (standard ? o.isDefaultDomain() : o.domain().equals(domain)) {
                return OptionalLong.of(o.version());
            }
        }
        return OptionalLong.empty();
    }

    /**
     * A few lines for people: producer, IR version, opsets, the graph's size, its inputs and outputs with their
     * shapes, and how often each operator is used, in order of first use. For example:
     * <pre>
     * producer:   pytorch 1.13.0, IR version 7
     * opsets:     ai.onnx 13
     * graph:      "torch_jit", 10 nodes, 7 initializers, 348 parameters
     * input:      input: FLOAT [batch, 3, 16, 16]
     * output:     embedding: FLOAT [batch, 4]
     * operators:  Conv 2, PRelu 1, MaxPool 1, Relu 1, Add 1, GlobalAveragePool 1, Constant 1, Reshape 1, Gemm 1
     * </pre>
     * The parameters are the elements of the floating-point initializers; inputs that name an initializer (as
     * files of IR version 3 and older list them) are left out.
     */
    public String describe() {
        StringBuilder sb = new StringBuilder();
        String producer = (producerName + " " + producerVersion).trim();
        line(sb, "producer", (producer.isEmpty() ? "(not given)" : producer) + ", IR version " + irVersion);
        line(sb, "opsets", opsetImports.isEmpty() ? "(none)"
                : String.join(", ", opsetImports.stream().map(OnnxOpset::toString).toList()));
        line(sb, "graph", ModelFormatException.quoted(graph.name()) + ", " + graph.nodes().size() + " nodes, "
                + graph.initializers().size() + " initializers, "
                + String.format(Locale.ROOT, "%,d", graph.parameterCount()) + " parameters");
        for (OnnxValueInfo v : graph.dataInputs()) {
            line(sb, "input", v.toString());
        }
        for (OnnxValueInfo v : graph.outputs()) {
            line(sb, "output", v.toString());
        }
        Map<String, Integer> ops = new LinkedHashMap<>();
        for (OnnxNode n : graph.nodes()) {
            ops.merge(n.domain().isEmpty() ? n.opType() : n.domain() + "." + n.opType(), 1, Integer::sum);
        }
        line(sb, "operators", ops.isEmpty() ? "(none)"
                : String.join(", ", ops.entrySet().stream().map(e -> e.getKey() + " " + e.getValue()).toList()));
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            line(sb, "metadata", ModelFormatException.quoted(e.getKey()) + " = "
                    + ModelFormatException.quoted(e.getValue()));
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String label, String text) {
        sb.append(String.format(Locale.ROOT, "%-11s %s", label + ":", text)).append('\n');
    }
}
