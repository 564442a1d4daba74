package org.siamese4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a> format, the
 * weight format shared with PyTorch.
 *
 * <h2>Format</h2>
 * <ol>
 *   <li>8 bytes: {@code N}, the header length, an unsigned little-endian 64-bit integer;</li>
 *   <li>{@code N} bytes: the header, a UTF-8 JSON object starting with <code>{</code> and possibly padded
 *       with trailing spaces, mapping each tensor name to
 *       <code>{"dtype": "F32", "shape": [3, 5], "data_offsets": [BEGIN, END]}</code>, plus an optional
 *       {@code "__metadata__"} object of string values;</li>
 *   <li>the data section: each tensor's elements, row-major, little-endian, at bytes
 *       {@code [BEGIN, END)} counted from the start of the data section.</li>
 * </ol>
 *
 * <h2>Writing</h2>
 * {@link #write(Path, Map, Map)} writes float32 ({@code F32}) tensors in the map's order, both in the header
 * and in the data section, with {@code __metadata__} first when there is any. The header is padded with
 * spaces to a multiple of 8 bytes so the data starts 8-byte aligned, as the reference writer does. Values
 * are written as they are, NaN and infinities included. {@link #write(Path, Map, Map, Set)} writes the
 * tensors it names as {@code I64} instead (PyTorch's dtype for integer buffers such as batch norm's
 * {@code num_batches_tracked}), placed first so every tensor stays aligned to its element size; the stream form
 * {@link #write(OutputStream, Map, Map, Set, Set)} also writes tensors it names as {@code U8} (bytes, such as
 * UTF-8 text), placed last. The file is replaced atomically through {@link AtomicFiles}: after a crash it holds
 * either the old or the new content.
 *
 * <h2>Reading</h2>
 * Files are treated as hostile. Every check below runs before memory is allocated for what the file
 * claims, and every failure is a {@link ModelFormatException} naming the file, the problem and the byte
 * offset or header field:
 * <ul>
 *   <li>the file holds at least the 8-byte length; the header length is at least 2, at most
 *       {@link #MAX_HEADER_BYTES} (the reference implementation's limit) and within the file, and at most
 *       {@link #maxHeaderBytes()}, what the heap leaves room to read and parse;</li>
 *   <li>the header is valid UTF-8, starts with <code>{</code> as the specification requires, and is JSON
 *       within the limits of {@code Json}: depth 32, strings up to 16 Mi chars, 10<sup>6</sup> values, no
 *       duplicate keys (so no duplicate tensor names). Any JSON whitespace is accepted inside and after the
 *       object, not only the trailing spaces the specification names;</li>
 *   <li>each tensor entry has exactly the fields {@code dtype}, {@code shape}, {@code data_offsets}; a known
 *       dtype; at most 64 dimensions, each an integer in {@code [0, 2^31-1]}; offsets {@code [begin, end]}
 *       with {@code begin <= end <= } the data section length and {@code end - begin} equal to the element
 *       count times the dtype size; {@code __metadata__} maps strings to strings. Loading also needs the
 *       shape to fit a {@link Tensor} (no partial product of the dimensions beyond a Java array), which
 *       only an empty tensor with huge other dimensions can miss;</li>
 *   <li>the tensors' byte ranges do not overlap and cover the data section exactly, with no gap and
 *       nothing after the last tensor. The safetensors specification requires this ("the byte buffer
 *       needs to be entirely indexed, and cannot contain holes", which rules out polyglot files); it also
 *       means the floats allocated never exceed four times the file size (one-byte integers widen to
 *       float32). Empty tensors (a zero dimension) take no bytes and may sit at any offset within the section;</li>
 *   <li>loading converts F32, F16, BF16 and F64 to float32 (F16 and BF16 exactly, F64 rounded to nearest),
 *       and also the integer dtypes of PyTorch state dicts, {@code BOOL}, {@code U8}, {@code I8}, {@code I16},
 *       {@code I32} and {@code I64} (exactly up to 2^24 in magnitude, rounded to nearest beyond; a
 *       {@code BOOL} byte other than 0 or 1 is refused with its offset). PyTorch keeps integer buffers such as
 *       batch norm's {@code num_batches_tracked} in them. {@link Contents#dtypes()} keeps each tensor's dtype
 *       so callers can refuse integer data where a weight belongs ({@link #requireFloating}, and
 *       {@link ModelFile}'s tensor check); other known dtypes ({@code U16}, {@code F8_E4M3}, ...) are named as
 *       unsupported;</li>
 *   <li>by default any NaN or infinity after conversion (including an F64 value beyond the float32 range)
 *       is rejected with the tensor name, the element index and its byte offset: weights like that come
 *       from a diverged run or a damaged file, and would otherwise poison every output silently.
 *       {@link ReadOptions#ALLOW_NON_FINITE} loads them as they are.</li>
 * </ul>
 * Failures of the file system itself (missing file, no permission) are the usual {@link IOException}s.
 * Reading never writes anything.
 */
public final class SafeTensors {
    /** The largest header accepted, in bytes: the limit of the reference implementation. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;
    /** Most dimensions a tensor may have. */
    public static final int MAX_RANK = 64;

    /**
     * The longest header this JVM reads: {@link #MAX_HEADER_BYTES}, or a sixteenth of the maximum heap
     * ({@code -Xmx}) when that is less. A header is read whole, then held as text (up to two bytes a character)
     * and parsed: about four times its length, which has to fit in a quarter of the heap, the share
     * {@code ModelFile.maxActivationBytes} and {@code Images.maxDecodedBytes} give one model or image. At
     * {@code -Xmx256m} it is 16 MiB, twice the header of a 70,000-person gallery; from a 1.6 GB heap on it is
     * the format's 100,000,000 bytes.
     */
    public static long maxHeaderBytes() {
        return Math.min(MAX_HEADER_BYTES, Runtime.getRuntime().maxMemory() / 16);
    }

    static final String METADATA_KEY = "__metadata__";
    private static final int CHUNK_BYTES = 1 << 16;
    private static final Set<String> ENTRY_FIELDS = Set.of("dtype", "shape", "data_offsets");

    private SafeTensors() {
    }

    /**
     * What a file holds: tensors in header order (all float32 in memory), the {@code __metadata__} strings and
     * each tensor's dtype in the file ({@code "F32"}, {@code "I64"}, ...), so a caller can tell an integer buffer
     * from a weight (the maps are unmodifiable).
     */
    public record Contents(LinkedHashMap<String, Tensor> tensors, Map<String, String> metadata,
                           Map<String, String> dtypes) {
        public Contents {
            Objects.requireNonNull(tensors, "tensors");
            Objects.requireNonNull(metadata, "metadata");
            Objects.requireNonNull(dtypes, "dtypes");
        }

        /** Contents whose tensors are all {@code F32}. */
        public Contents(LinkedHashMap<String, Tensor> tensors, Map<String, String> metadata) {
            this(tensors, metadata, allF32(tensors));
        }

        private static Map<String, String> allF32(Map<String, Tensor> tensors) {
            Map<String, String> out = new LinkedHashMap<>();
            tensors.keySet().forEach(name -> out.put(name, DType.F32.name()));
            return Collections.unmodifiableMap(out);
        }

        /** Whether the file stores {@code name} with an integer dtype ({@code BOOL}, {@code U8}, ... {@code I64}). */
        public boolean isInteger(String name) {
            DType dtype = DType.byName(String.valueOf(dtypes.get(name)));
            return dtype != null && dtype.kind == Kind.INTEGER;
        }
    }

    /**
     * How lenient reading is.
     *
     * @param allowNonFinite load NaN and infinite weights instead of rejecting the file
     */
    public record ReadOptions(boolean allowNonFinite) {
        /** Rejects non-finite weights. */
        public static final ReadOptions DEFAULT = new ReadOptions(false);
        /** Loads non-finite weights as they are. */
        public static final ReadOptions ALLOW_NON_FINITE = new ReadOptions(true);
    }

    /**
     * One tensor's header entry, for tools that inspect a file without loading it.
     *
     * @param dtype the safetensors dtype name, e.g. {@code "F32"}; may be one this library cannot load
     * @param shape the dimensions (a copy)
     * @param begin first byte, counted from the start of the data section
     * @param end   one past the last byte
     */
    public record TensorInfo(String dtype, int[] shape, long begin, long end) {
        public TensorInfo {
            Objects.requireNonNull(dtype, "dtype");
            shape = shape.clone();
        }

        @Override
        public int[] shape() {
            return shape.clone();
        }

        public long byteSize() {
            return end - begin;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TensorInfo that && dtype.equals(that.dtype) && Arrays.equals(shape, that.shape)
                    && begin == that.begin && end == that.end;
        }

        @Override
        public int hashCode() {
            return Objects.hash(dtype, Arrays.hashCode(shape), begin, end);
        }

        @Override
        public String toString() {
            return dtype + Arrays.toString(shape) + " bytes [" + begin + ", " + end + ")";
        }
    }

    /** How this library reads a dtype. */
    private enum Kind {
        /** Converted to float32; a weight may have it. */
        FLOAT,
        /** Converted to float32 (exactly up to 2^24 in magnitude); only buffers such as counters may have it. */
        INTEGER,
        /** Listed by {@link #readHeader} but not loaded. */
        UNSUPPORTED
    }

    /** The dtypes of the safetensors specification with a whole number of bytes per element. */
    private enum DType {
        F32(4, Kind.FLOAT), F16(2, Kind.FLOAT), BF16(2, Kind.FLOAT), F64(8, Kind.FLOAT),
        // The integer dtypes a PyTorch state dict can hold (torch.bool, uint8, int8, int16, int32, int64).
        BOOL(1, Kind.INTEGER), U8(1, Kind.INTEGER), I8(1, Kind.INTEGER), I16(2, Kind.INTEGER),
        I32(4, Kind.INTEGER), I64(8, Kind.INTEGER),
        F8_E5M2(1, Kind.UNSUPPORTED), F8_E4M3(1, Kind.UNSUPPORTED), F8_E8M0(1, Kind.UNSUPPORTED),
        U16(2, Kind.UNSUPPORTED), U32(4, Kind.UNSUPPORTED), U64(8, Kind.UNSUPPORTED), C64(8, Kind.UNSUPPORTED);

        final int size;
        final Kind kind;

        DType(int size, Kind kind) {
            this.size = size;
            this.kind = kind;
        }

        static DType byName(String name) {
            for (DType d : values()) {
                if (d.name().equals(name)) {
                    return d;
                }
            }
            return null;
        }
    }

    private static final String LOADABLE = "this library reads F32, F16, BF16, F64 and the integer dtypes BOOL, U8,"
            + " I8, I16, I32, I64";
    /** The dtypes a weight may have, for messages. */
    public static final String FLOAT_DTYPES = "F32, F16, BF16 or F64";

    // =====================================================================================================
    // Writing
    // =====================================================================================================

    /**
     * Writes {@code tensors} as F32, in the map's order, and {@code metadata} (may be null or empty) to
     * {@code file}, replacing it atomically.
     *
     * @throws IllegalArgumentException a tensor named {@code __metadata__}, a name or metadata string with an
     *                                  unpaired surrogate (it has no UTF-8 form), a rank above {@link #MAX_RANK}
     *                                  or a header over {@link #MAX_HEADER_BYTES}; nothing is written then
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        write(file, tensors, metadata, Set.of());
    }

    /**
     * As {@link #write(Path, Map, Map)}, with the tensors named in {@code int64} written as {@code I64}, the
     * dtype PyTorch gives integer buffers such as batch norm's {@code num_batches_tracked}. The I64 tensors come
     * first in the file, then the others in the map's order, so each starts at a multiple of its element size
     * (the reference writer orders by dtype for the same reason: readers that map the file view the bytes in
     * place).
     *
     * @throws IllegalArgumentException also when a name in {@code int64} is not a tensor of the map, or one of
     *                                  its values is not a whole number in the {@code long} range
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata,
                             Set<String> int64) throws IOException {
        Objects.requireNonNull(file, "file");
        List<Written> ordered = order(tensors, int64, Set.of());
        byte[] header = encodeHeader(ordered, metadata);
        AtomicFiles.writeLocked(file, null, out -> writeBody(out, header, ordered));
    }

    /** As {@link #write(Path, Map, Map)}, to a stream (not closed); no atomicity beyond the stream's own. */
    public static void write(OutputStream out, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        write(out, tensors, metadata, Set.of());
    }

    /** As {@link #write(Path, Map, Map, Set)}, to a stream (not closed); no atomicity beyond the stream's own. */
    public static void write(OutputStream out, Map<String, Tensor> tensors, Map<String, String> metadata,
                             Set<String> int64) throws IOException {
        write(out, tensors, metadata, int64, Set.of());
    }

    /**
     * As {@link #write(OutputStream, Map, Map, Set)}, with the tensors named in {@code uint8} written as {@code U8},
     * one byte per element (bytes such as UTF-8 text, which as F32 would take four times the room). They come
     * last, after the I64 and F32 tensors, so every tensor still starts at a multiple of its element size.
     *
     * @throws IllegalArgumentException also when a name in {@code uint8} is not a tensor of the map or is also in
     *                                  {@code int64}, or one of its values is not a whole number from 0 to 255
     */
    public static void write(OutputStream out, Map<String, Tensor> tensors, Map<String, String> metadata,
                             Set<String> int64, Set<String> uint8) throws IOException {
        Objects.requireNonNull(out, "out");
        List<Written> ordered = order(tensors, int64, uint8);
        byte[] header = encodeHeader(ordered, metadata);
        writeBody(out, header, ordered);
    }

    /** A tensor to write and the dtype it is written as. */
    private record Written(String name, Tensor tensor, DType dtype) {
    }

    /**
     * The I64 tensors, then the F32 ones, then the U8 ones, each group in the map's order (widest elements first,
     * so each tensor starts aligned to its element size); checks the integer values first.
     */
    private static List<Written> order(Map<String, Tensor> tensors, Set<String> int64, Set<String> uint8) {
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(int64, "int64");
        Objects.requireNonNull(uint8, "uint8");
        // [-2^63, 2^63): the floats a long holds exactly
        checkIntegers(tensors, int64, DType.I64, -0x1p63f, 0x1p63f);
        checkIntegers(tensors, uint8, DType.U8, 0f, 256f);
        for (String name : uint8) {
            if (int64.contains(name)) {
                throw new IllegalArgumentException("SafeTensors.write: " + Json.quoteForMessage(name)
                        + " is to be written both as I64 and as U8");
            }
        }
        List<Written> ordered = new ArrayList<>();
        for (DType dtype : List.of(DType.I64, DType.F32, DType.U8)) {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                DType written = int64.contains(e.getKey()) ? DType.I64
                        : uint8.contains(e.getKey()) ? DType.U8 : DType.F32;
                if (written == dtype) {
                    ordered.add(new Written(e.getKey(), e.getValue(), dtype));
                }
            }
        }
        return ordered;
    }

    /** Every tensor named in {@code names} is one of {@code tensors} and holds whole numbers in [min, max). */
    private static void checkIntegers(Map<String, Tensor> tensors, Set<String> names, DType dtype, float min,
                                      float max) {
        for (String name : names) {
            if (!tensors.containsKey(name)) {
                throw new IllegalArgumentException("SafeTensors.write: " + Json.quoteForMessage(name)
                        + " is to be written as " + dtype + " but is not one of the tensors");
            }
            Tensor t = tensors.get(name);
            if (t == null) {
                continue; // encodeHeader names it
            }
            float[] d = t.data();
            for (int i = 0; i < d.length; i++) {
                // rint also rejects NaN and infinities
                if (d[i] != Math.rint(d[i]) || !(d[i] >= min && d[i] < max)) {
                    throw new IllegalArgumentException("SafeTensors.write: " + Json.quoteForMessage(name) + " holds "
                            + d[i] + " at flat index " + i + ", not a whole number in the range of " + dtype);
                }
            }
        }
    }

    private static byte[] encodeHeader(List<Written> tensors, Map<String, String> metadata) {
        Map<String, Object> root = new LinkedHashMap<>();
        if (metadata != null && !metadata.isEmpty()) {
            Map<String, String> meta = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                if (e.getKey() == null) {
                    throw new NullPointerException("metadata key is null");
                }
                if (e.getValue() == null) {
                    throw new NullPointerException("metadata " + Json.quoteForMessage(e.getKey()) + " is null");
                }
                meta.put(e.getKey(), e.getValue());
            }
            root.put(METADATA_KEY, meta);
        }
        long offset = 0;
        for (Written w : tensors) {
            String name = w.name();
            Tensor t = w.tensor();
            if (name == null) {
                throw new NullPointerException("tensor name is null");
            }
            if (t == null) {
                throw new NullPointerException("tensor " + Json.quoteForMessage(name) + " is null");
            }
            if (name.equals(METADATA_KEY)) {
                throw new IllegalArgumentException("\"" + METADATA_KEY
                        + "\" is reserved for the metadata and cannot name a tensor");
            }
            if (t.rank() > MAX_RANK) {
                throw new IllegalArgumentException("tensor " + Json.quoteForMessage(name) + " has rank " + t.rank()
                        + ", more than the " + MAX_RANK + " dimensions a file may hold");
            }
            DType dtype = w.dtype();
            long bytes = (long) dtype.size * t.size();
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("dtype", dtype.name());
            info.put("shape", t.shape());
            info.put("data_offsets", new long[] {offset, offset + bytes});
            root.put(name, info);
            offset += bytes;
        }
        byte[] json = Json.write(root).getBytes(StandardCharsets.UTF_8);
        // Pad with spaces (allowed by the spec) so the data section starts at a multiple of 8.
        long padded = (json.length + 7L) & ~7L;
        if (padded > MAX_HEADER_BYTES) {
            throw new IllegalArgumentException("header would be " + padded + " bytes, more than the "
                    + MAX_HEADER_BYTES + " readers accept");
        }
        // The reader also caps the header's JSON values; a file it would refuse must not be written (a gallery of
        // 100,000 people was, and could not be loaded). Fewer bytes than values is impossible, so small headers
        // skip the second parse.
        if (json.length > Json.MAX_VALUES) {
            try {
                Json.parse(new String(json, StandardCharsets.UTF_8));
            } catch (Json.SyntaxException e) {
                throw new IllegalArgumentException("the header of " + tensors.size() + " tensors and "
                        + (metadata == null ? 0 : metadata.size()) + " metadata entries has " + e.getMessage()
                        + " (the most readers accept); this library will not write a file it cannot read back");
            }
        }
        byte[] header = Arrays.copyOf(json, (int) padded);
        Arrays.fill(header, json.length, header.length, (byte) ' ');
        return header;
    }

    private static void writeBody(OutputStream out, byte[] header, List<Written> tensors) throws IOException {
        ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
        out.write(length.array());
        out.write(header);
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer floats = chunk.asFloatBuffer(); // inherits little-endian order
        LongBuffer longs = chunk.asLongBuffer();
        byte[] bytes = chunk.array();
        for (Written w : tensors) {
            float[] d = w.tensor().data();
            int perChunk = CHUNK_BYTES / w.dtype().size;
            for (int off = 0; off < d.length; off += perChunk) {
                int n = Math.min(perChunk, d.length - off);
                // integers are whole numbers in the dtype's range, checked by order()
                switch (w.dtype()) {
                    case I64 -> {
                        longs.clear();
                        for (int i = 0; i < n; i++) {
                            longs.put((long) d[off + i]);
                        }
                    }
                    case U8 -> {
                        for (int i = 0; i < n; i++) {
                            bytes[i] = (byte) d[off + i];
                        }
                    }
                    case F32 -> {
                        floats.clear();
                        floats.put(d, off, n);
                    }
                    default -> throw new AssertionError(w.dtype());
                }
                out.write(bytes, 0, n * w.dtype().size);
            }
        }
    }

    // =====================================================================================================
    // Reading
    // =====================================================================================================

    /** Loads every tensor and the metadata, rejecting non-finite weights. See the class comment. */
    public static Contents read(Path file) throws IOException {
        return read(file, ReadOptions.DEFAULT);
    }

    public static Contents read(Path file, ReadOptions options) throws IOException {
        Objects.requireNonNull(options, "options");
        requireNotFolder(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(new ChannelSource(ch, file.toString()), options, maxHeaderBytes());
        }
    }

    /** Loads from bytes already in memory; {@code sourceName} stands for the file name in error messages. */
    public static Contents read(byte[] bytes, String sourceName) throws ModelFormatException {
        return read(bytes, sourceName, ReadOptions.DEFAULT);
    }

    public static Contents read(byte[] bytes, String sourceName, ReadOptions options) throws ModelFormatException {
        Objects.requireNonNull(bytes, "bytes");
        Objects.requireNonNull(options, "options");
        try {
            return read(new BytesSource(bytes, String.valueOf(sourceName)), options, maxHeaderBytes());
        } catch (ModelFormatException e) {
            throw e;
        } catch (IOException e) {
            throw new AssertionError("in-memory source cannot fail with I/O", e);
        }
    }

    /**
     * The tensor entries in header order, validated as for {@link #read(Path)} except that dtypes this
     * library cannot load are listed too, and the data is neither read nor checked for NaN.
     */
    public static Map<String, TensorInfo> readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = parseHeader(new ChannelSource(ch, file.toString()), maxHeaderBytes());
            Map<String, TensorInfo> out = new LinkedHashMap<>();
            for (Entry e : h.entries) {
                out.put(e.name, new TensorInfo(e.dtype.name(), e.shape, e.begin, e.end));
            }
            return Collections.unmodifiableMap(out);
        }
    }

    /** The {@code __metadata__} strings (empty when absent), after validating the whole header. */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        requireNotFolder(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return parseHeader(new ChannelSource(ch, file.toString()), maxHeaderBytes()).metadata;
        }
    }

    /** A folder opens for reading on Linux and fails at the first read with "Is a directory", naming nothing. */
    private static void requireNotFolder(Path file) throws FileSystemException {
        if (Files.isDirectory(file)) {
            throw new FileSystemException(file.toString(), null, "is a folder, not a file");
        }
    }

    /** As {@link #read(byte[], String)} with the header cap given, for tests of small heaps. */
    static Contents read(byte[] bytes, String sourceName, long maxHeaderBytes) throws IOException {
        return read(new BytesSource(bytes, sourceName), ReadOptions.DEFAULT, maxHeaderBytes);
    }

    private static Contents read(Source src, ReadOptions options, long maxHeaderBytes) throws IOException {
        Header h = parseHeader(src, maxHeaderBytes);
        // Refuse what we cannot load before allocating anything for it.
        for (Entry e : h.entries) {
            if (e.dtype.kind == Kind.UNSUPPORTED) {
                throw fail(src, "unsupported dtype " + e.dtype + " (" + LOADABLE + ")", field(e.name, "dtype"));
            }
            try {
                Shapes.size(e.shape); // the tensor's own limit, which also bounds partial products
            } catch (IllegalArgumentException tooLarge) {
                throw fail(src, "shape " + Arrays.toString(e.shape) + " is too large for a tensor (more elements"
                        + " than a Java array holds)", field(e.name, "shape"));
            }
        }
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        Map<String, String> dtypes = new LinkedHashMap<>();
        for (Entry e : h.entries) {
            float[] values = new float[(int) e.count];
            convert(src, h, e, values, options.allowNonFinite());
            tensors.put(e.name, Tensor.wrap(values, e.shape));
            dtypes.put(e.name, e.dtype.name());
        }
        return new Contents(tensors, h.metadata, Collections.unmodifiableMap(dtypes));
    }

    /**
     * Fails on the first tensor {@code contents} holds with an integer dtype, naming it: for files whose
     * tensors are all weights or optimiser state, where integer data means the file is not what the caller
     * thinks it is. {@code source} names the file in the message.
     */
    public static void requireFloating(Contents contents, String source) throws ModelFormatException {
        for (String name : contents.tensors().keySet()) {
            if (contents.isInteger(name)) {
                throw new ModelFormatException(source, "tensor " + Json.quoteForMessage(name) + " has the integer dtype "
                        + contents.dtypes().get(name) + " where floating point (" + FLOAT_DTYPES + ") is expected",
                        field(name, "dtype"));
            }
        }
    }

    /** Reads one tensor's bytes chunk by chunk into float32. */
    private static void convert(Source src, Header h, Entry e, float[] values, boolean allowNonFinite)
            throws IOException {
        long remaining = e.end - e.begin;
        long position = h.dataStart + e.begin;
        ByteBuffer buf = ByteBuffer.allocate((int) Math.min(CHUNK_BYTES, remaining)).order(ByteOrder.LITTLE_ENDIAN);
        int i = 0;
        while (remaining > 0) {
            int len = (int) Math.min(buf.capacity(), remaining);
            buf.clear().limit(len);
            src.readFully(position, buf);
            buf.flip();
            switch (e.dtype) {
                case F32:
                    for (; buf.hasRemaining(); i++) {
                        values[i] = buf.getFloat();
                        if (!allowNonFinite && !Float.isFinite(values[i])) {
                            throw nonFinite(src, h, e, i, values[i], null);
                        }
                    }
                    break;
                case F16:
                    for (; buf.hasRemaining(); i++) {
                        values[i] = FloatBits.float16ToFloat(buf.getShort());
                        if (!allowNonFinite && !Float.isFinite(values[i])) {
                            throw nonFinite(src, h, e, i, values[i], null);
                        }
                    }
                    break;
                case BF16:
                    for (; buf.hasRemaining(); i++) {
                        values[i] = FloatBits.bfloat16ToFloat(buf.getShort());
                        if (!allowNonFinite && !Float.isFinite(values[i])) {
                            throw nonFinite(src, h, e, i, values[i], null);
                        }
                    }
                    break;
                case F64:
                    for (; buf.hasRemaining(); i++) {
                        double d = buf.getDouble();
                        values[i] = (float) d;
                        if (!allowNonFinite && !Float.isFinite(values[i])) {
                            throw nonFinite(src, h, e, i, values[i], d);
                        }
                    }
                    break;
                // Integers: (float) rounds to nearest, exact up to 2^24 in magnitude, which every count a
                // batch-norm buffer reaches in practice stays below. Integers are finite: no check needed.
                case BOOL:
                    for (; buf.hasRemaining(); i++) {
                        byte b = buf.get();
                        if (b != 0 && b != 1) {
                            throw fail(src, String.format("BOOL byte 0x%02X in tensor %s at element %d is neither 0"
                                    + " nor 1", b & 0xff, Json.quoteForMessage(e.name), i), "byte " + elementOffset(h, e, i));
                        }
                        values[i] = b;
                    }
                    break;
                case U8:
                    for (; buf.hasRemaining(); i++) {
                        values[i] = buf.get() & 0xff;
                    }
                    break;
                case I8:
                    for (; buf.hasRemaining(); i++) {
                        values[i] = buf.get();
                    }
                    break;
                case I16:
                    for (; buf.hasRemaining(); i++) {
                        values[i] = buf.getShort();
                    }
                    break;
                case I32:
                    for (; buf.hasRemaining(); i++) {
                        values[i] = buf.getInt();
                    }
                    break;
                case I64:
                    for (; buf.hasRemaining(); i++) {
                        values[i] = buf.getLong();
                    }
                    break;
                default:
                    throw new AssertionError(e.dtype);
            }
            position += len;
            remaining -= len;
        }
    }

    private static ModelFormatException nonFinite(Source src, Header h, Entry e, int index, float value,
            Double original) {
        String what = original != null && Double.isFinite(original)
                ? "F64 value " + original + " overflows float32"
                : "non-finite value " + value;
        return fail(src, what + " in tensor " + Json.quoteForMessage(e.name) + " at element " + index
                        + (e.shape.length > 1 ? " (index " + Arrays.toString(unravel(index, e.shape)) + ")" : "")
                        + "; load with ReadOptions.ALLOW_NON_FINITE to accept it",
                "byte " + elementOffset(h, e, index));
    }

    private static long elementOffset(Header h, Entry e, int index) {
        return h.dataStart + e.begin + (long) index * e.dtype.size;
    }

    private static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }

    // =====================================================================================================
    // Header validation
    // =====================================================================================================

    private record Entry(String name, DType dtype, int[] shape, long count, long begin, long end) {
    }

    private record Header(long dataStart, long dataLength, List<Entry> entries, Map<String, String> metadata) {
    }

    private static final String LENGTH_FIELD = "byte 0 (header length)";

    private static Header parseHeader(Source src, long maxHeaderBytes) throws IOException {
        long size = src.size();
        if (size < 8) {
            throw fail(src, "file has " + size + " bytes, fewer than the 8-byte header length", "byte 0");
        }
        ByteBuffer lengthBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        src.readFully(0, lengthBuf);
        long n = lengthBuf.getLong(0);
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw fail(src, "header length " + Long.toUnsignedString(n) + " is over the limit of "
                    + MAX_HEADER_BYTES + " bytes: this is not a safetensors file" + textPreview(src), LENGTH_FIELD);
        }
        if (n > size - 8) {
            throw fail(src, "header length " + n + " goes past the end of the file (" + size
                    + " bytes, leaving at most " + (size - 8) + " for the header)", LENGTH_FIELD);
        }
        if (n < 2) {
            throw fail(src, "header length " + n + " is too small for a JSON object", LENGTH_FIELD);
        }
        if (n > maxHeaderBytes) {
            throw fail(src, "the header is " + n + " bytes, above the cap of " + maxHeaderBytes + " bytes this JVM"
                    + " reads (a sixteenth of the maximum heap, -Xmx; SafeTensors.maxHeaderBytes)", "header");
        }
        byte[] headerBytes = new byte[(int) n];
        src.readFully(8, ByteBuffer.wrap(headerBytes));
        if (headerBytes[0] != '{') {
            throw fail(src, String.format("header does not start with '{' (found byte 0x%02X): this is not a "
                    + "safetensors file", headerBytes[0] & 0xff) + textPreview(src), "byte 8");
        }
        String text = decodeUtf8(src, headerBytes);
        Object root;
        try {
            root = Json.parse(text);
        } catch (Json.SyntaxException e) {
            throw fail(src, "malformed header JSON: " + e.getMessage(), "byte " + (8 + utf8Length(text, e.position())));
        }
        if (!(root instanceof Map)) {
            throw fail(src, "header is not a JSON object", "byte 8");
        }
        long dataStart = 8 + n;
        long dataLength = size - dataStart;
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = Map.of();
        for (Map.Entry<?, ?> kv : ((Map<?, ?>) root).entrySet()) {
            String name = (String) kv.getKey();
            if (name.equals(METADATA_KEY)) {
                metadata = metadata(src, kv.getValue());
            } else {
                entries.add(entry(src, name, kv.getValue(), dataLength));
            }
        }
        checkCoverage(src, entries, dataStart, dataLength);
        return new Header(dataStart, dataLength, entries, metadata);
    }

    private static Map<String, String> metadata(Source src, Object value) throws ModelFormatException {
        if (!(value instanceof Map)) {
            throw fail(src, METADATA_KEY + " must be an object of strings, found " + kind(value), field(METADATA_KEY));
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> kv : ((Map<?, ?>) value).entrySet()) {
            String key = (String) kv.getKey();
            if (!(kv.getValue() instanceof String)) {
                throw fail(src, METADATA_KEY + " values must be strings, found " + kind(kv.getValue()),
                        field(METADATA_KEY, Json.quoteForMessage(key)));
            }
            out.put(key, (String) kv.getValue());
        }
        return Collections.unmodifiableMap(out);
    }

    private static Entry entry(Source src, String name, Object value, long dataLength) throws ModelFormatException {
        if (!(value instanceof Map)) {
            throw fail(src, "tensor entry must be an object, found " + kind(value), field(name));
        }
        Map<?, ?> m = (Map<?, ?>) value;
        for (Object key : m.keySet()) {
            if (!ENTRY_FIELDS.contains(key)) {
                throw fail(src, "unknown field " + Json.quoteForMessage((String) key)
                        + " in tensor entry (expected dtype, shape, data_offsets)", field(name));
            }
        }
        for (String required : List.of("dtype", "shape", "data_offsets")) {
            if (!m.containsKey(required)) {
                throw fail(src, "tensor entry has no \"" + required + "\"", field(name));
            }
        }
        // dtype
        Object dt = m.get("dtype");
        if (!(dt instanceof String)) {
            throw fail(src, "dtype must be a string, found " + kind(dt), field(name, "dtype"));
        }
        DType dtype = DType.byName((String) dt);
        if (dtype == null) {
            throw fail(src, "unknown dtype " + Json.quoteForMessage((String) dt) + " (" + LOADABLE + ")",
                    field(name, "dtype"));
        }
        // shape
        Object sh = m.get("shape");
        if (!(sh instanceof List)) {
            throw fail(src, "shape must be an array of dimensions, found " + kind(sh), field(name, "shape"));
        }
        List<?> dims = (List<?>) sh;
        if (dims.size() > MAX_RANK) {
            throw fail(src, "shape has " + dims.size() + " dimensions, more than " + MAX_RANK, field(name, "shape"));
        }
        int[] shape = new int[dims.size()];
        for (int i = 0; i < shape.length; i++) {
            Long d = integer(dims.get(i));
            if (d == null || d < 0 || d > Integer.MAX_VALUE) {
                throw fail(src, "dimension " + show(dims.get(i)) + " is not an integer from 0 to "
                        + Integer.MAX_VALUE, field(name, "shape[" + i + "]"));
            }
            shape[i] = (int) (long) d;
        }
        long count;
        long bytes;
        if (Arrays.stream(shape).anyMatch(d -> d == 0)) {
            count = 0; // empty, however large the other dimensions
            bytes = 0;
        } else {
            try {
                count = 1;
                for (int d : shape) {
                    count = Math.multiplyExact(count, d);
                }
                bytes = Math.multiplyExact(count, dtype.size);
            } catch (ArithmeticException e) {
                throw fail(src, "shape " + Arrays.toString(shape) + " has more elements than a 64-bit count holds",
                        field(name, "shape"));
            }
        }
        // data_offsets
        Object off = m.get("data_offsets");
        Long begin = null;
        Long end = null;
        if (off instanceof List && ((List<?>) off).size() == 2) {
            begin = integer(((List<?>) off).get(0));
            end = integer(((List<?>) off).get(1));
        }
        if (begin == null || end == null || begin < 0 || end < 0) {
            throw fail(src, "data_offsets must be [begin, end] with two non-negative integers, found " + show(off),
                    field(name, "data_offsets"));
        }
        String range = "data_offsets [" + begin + ", " + end + "]";
        if (begin > end) {
            throw fail(src, range + " begin after they end", field(name, "data_offsets"));
        }
        if (end > dataLength) {
            throw fail(src, range + " go past the end of the data section, which has " + dataLength + " bytes",
                    field(name, "data_offsets"));
        }
        if (end - begin != bytes) {
            throw fail(src, range + " span " + (end - begin) + " bytes but " + dtype + " shape "
                    + Arrays.toString(shape) + " needs " + bytes, field(name, "data_offsets"));
        }
        return new Entry(name, dtype, shape, count, begin, end);
    }

    /**
     * Byte ranges must tile the data section: no overlap (two tensors sharing bytes), no gap and nothing
     * after the last tensor (bytes no tensor accounts for, where a polyglot file would hide its payload).
     */
    private static void checkCoverage(Source src, List<Entry> entries, long dataStart, long dataLength)
            throws ModelFormatException {
        List<Entry> sorted = new ArrayList<>();
        for (Entry e : entries) {
            if (e.end > e.begin) {
                sorted.add(e);
            }
        }
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        Entry previous = null;
        for (Entry e : sorted) {
            if (e.begin < expected) {
                throw fail(src, "tensors " + Json.quoteForMessage(previous.name) + " (data bytes " + previous.begin
                        + " to " + previous.end + ") and " + Json.quoteForMessage(e.name) + " (data bytes " + e.begin
                        + " to " + e.end + ") overlap", field(e.name, "data_offsets"));
            }
            if (e.begin > expected) {
                throw fail(src, "data bytes " + expected + " to " + e.begin + " belong to no tensor (the data"
                        + " section must have no gaps)", "byte " + (dataStart + expected));
            }
            expected = e.end;
            previous = e;
        }
        if (expected != dataLength) {
            throw fail(src, "data bytes " + expected + " to " + dataLength + " belong to no tensor (the data"
                    + " section must end with the last tensor)", "byte " + (dataStart + expected));
        }
    }

    // =====================================================================================================
    // Helpers
    // =====================================================================================================

    private static String decodeUtf8(Source src, byte[] bytes) throws ModelFormatException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        // Checked chunk by chunk, then decoded by String: a buffer of the whole text would double the memory
        // a long header takes (maxHeaderBytes counts on four times its length).
        CharBuffer out = CharBuffer.allocate(8192);
        CoderResult result;
        do {
            out.clear();
            result = decoder.decode(in, out, true);
        } while (result.isOverflow());
        if (!result.isError()) {
            result = decoder.flush(out.clear());
        }
        if (result.isError()) {
            throw fail(src, "header is not valid UTF-8", "byte " + (8 + in.position()));
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** Bytes taken in UTF-8 by {@code text[0, end)}: turns a JSON char position into a file offset. */
    private static long utf8Length(String text, int end) {
        long bytes = 0;
        for (int i = 0; i < end && i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c)) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    private static Long integer(Object v) {
        return v instanceof Json.Num ? ((Json.Num) v).asLong() : null;
    }

    private static String kind(Object v) {
        if (v == null) {
            return "null";
        } else if (v instanceof Map) {
            return "an object";
        } else if (v instanceof List) {
            return "an array";
        } else if (v instanceof String) {
            return "a string";
        } else if (v instanceof Boolean) {
            return "a boolean";
        }
        return "a number";
    }

    /** A JSON value for an error message, short whatever the file holds. */
    private static String show(Object v) {
        if (v instanceof Json.Num || v instanceof Boolean || v == null) {
            return String.valueOf(v);
        }
        if (v instanceof String) {
            return Json.quoteForMessage((String) v);
        }
        if (v instanceof List && ((List<?>) v).size() <= 4) {
            StringBuilder sb = new StringBuilder("[");
            for (Object o : (List<?>) v) {
                sb.append(sb.length() > 1 ? ", " : "");
                sb.append(o instanceof List || o instanceof Map ? kind(o) : show(o));
            }
            return sb.append(']').toString();
        }
        return kind(v);
    }

    private static String field(String name) {
        return "header field " + Json.quoteForMessage(name);
    }

    private static String field(String name, String sub) {
        return field(name) + "." + sub;
    }

    /**
     * {@code " (it starts with the text \"...\")"} when the file's first bytes are printable ASCII, else empty:
     * a text file given where a model belongs is the usual way to get here, and the text says which file it was.
     */
    private static String textPreview(Source src) throws IOException {
        ByteBuffer head = ByteBuffer.allocate((int) Math.min(24, src.size()));
        src.readFully(0, head);
        StringBuilder text = new StringBuilder();
        for (byte b : head.array()) {
            if (b < 0x20 && b != '\n' && b != '\r' && b != '\t' || b == 0x7f) {
                return "";
            }
            text.append(Character.isWhitespace(b) ? ' ' : (char) b);
        }
        return " (it starts with the text \"" + text.toString().strip() + "\")";
    }

    private static ModelFormatException fail(Source src, String problem, String location) {
        return new ModelFormatException(src.name(), problem, location);
    }

    // =====================================================================================================
    // Sources
    // =====================================================================================================

    /** Random-access bytes: a file channel or an array. */
    private interface Source {
        String name();

        long size() throws IOException;

        /** Fills {@code dst} from {@code position}; the file ending first is a format error. */
        void readFully(long position, ByteBuffer dst) throws IOException;
    }

    private record BytesSource(byte[] bytes, String name) implements Source {
        @Override
        public long size() {
            return bytes.length;
        }

        @Override
        public void readFully(long position, ByteBuffer dst) throws ModelFormatException {
            int len = dst.remaining();
            if (position < 0 || position + len > bytes.length) {
                throw new ModelFormatException(name, "data ends at byte " + bytes.length + " before byte "
                        + (position + len), "byte " + bytes.length);
            }
            dst.put(bytes, (int) position, len);
        }
    }

    private record ChannelSource(FileChannel channel, String name) implements Source {
        @Override
        public long size() throws IOException {
            return channel.size();
        }

        @Override
        public void readFully(long position, ByteBuffer dst) throws IOException {
            long p = position;
            while (dst.hasRemaining()) {
                int read = channel.read(dst, p);
                if (read < 0) {
                    throw new ModelFormatException(name, "file ended at byte " + p
                            + " while reading (was it shortened while being read?)", "byte " + p);
                }
                p += read;
            }
        }
    }
}
