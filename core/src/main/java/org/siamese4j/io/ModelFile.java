package org.siamese4j.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * A trained model in one self-describing file: the weights as a {@link SafeTensors} file (float32, PyTorch's
 * state-dict names, batch norm's counter as int64) and, in its {@code __metadata__}, the architecture and input
 * shape needed to rebuild the network without any code:
 * <table>
 * <caption>Metadata keys</caption>
 * <tr><th>key</th><th>value</th></tr>
 * <tr><td>{@code format}</td><td>{@value #FORMAT}</td></tr>
 * <tr><td>{@code format_version}</td><td>{@code 1}</td></tr>
 * <tr><td>{@code arch}</td><td>the {@link ArchSpec}, canonical, e.g.
 *     {@code conv(32,3,pad=1) relu maxpool(2) ... dense(128) l2norm}</td></tr>
 * <tr><td>{@code input}</td><td>one input sample's shape, {@code CxHxW} ({@code 1x112x92}) or a feature
 *     count ({@code 16})</td></tr>
 * <tr><td>{@code head}</td><td>optional: the {@link ArchSpec} of a second network, the head, e.g.
 *     {@code dense(64) relu dense(1)}</td></tr>
 * <tr><td>{@code head_input}</td><td>with {@code head}: the head's input feature count ({@code 128})</td></tr>
 * </table>
 * plus any extra string metadata the caller adds (a description, the training data, the threshold).
 *
 * <h2>An optional head</h2>
 * Some models are two networks used together, such as a Siamese tower and the learned similarity head that
 * scores pairs of its embeddings. Both go in one file, so they cannot be separated by accident: the tower's
 * tensors under their usual names ({@code 0.weight}) and the head's under its state-dict names prefixed
 * {@code head.} ({@code head.0.weight}), with the {@code head} and {@code head_input} keys describing it. The
 * head is an ordinary {@link Sequential} built from its spec for a {@code [head_input]} input; what it means
 * (here: the tower's output compared pairwise) is up to the code that uses it. The strict checks below cover
 * the head's tensors exactly like the tower's; a file without {@code head} is a plain model file, loaded
 * exactly as before, and a stray {@code head.} tensor in it is reported as unexpected.
 *
 * <p>{@link #load} rebuilds the network from {@code arch} and {@code input} and loads the weights strictly:
 * every tensor the network has must be in the file with its exact shape, and the file must hold nothing
 * else. All differences are reported together in one {@link ModelFormatException}. The tensors are checked
 * against the shapes the spec implies <em>before</em> the network is built, so a hostile spec asking for a
 * giant network fails without allocating it. {@code format} and {@code format_version} may be absent (a file
 * written from PyTorch with only {@code arch} and {@code input} loads), but when present they must say
 * {@value #FORMAT} and a version this class reads.
 *
 * <p>Batch norm's {@code num_batches_tracked} counter is written as {@code I64}, its dtype in PyTorch, so
 * {@code load_state_dict(strict=True)} on a PyTorch model finds every key with PyTorch's own dtypes; it holds
 * the number of training-mode forward passes the layer has made (counted here in a float, exact up to 2^24),
 * or the value loaded. When loading, it may be stored with any dtype the reader accepts ({@code I64} from
 * PyTorch's {@code save_file(model.state_dict())}, {@code F32} from files this library wrote before it used
 * {@code I64}); its value is kept and, as in PyTorch in evaluation mode, does not enter the maths. It may also
 * be missing (some exporters drop it); it then stays 0. Its value must be a whole number of batches, 0 or more
 * (PyTorch only ever counts up). Every other tensor holds weights or running statistics and must be floating
 * point: an integer dtype there is refused, naming the tensor and its dtype.
 *
 * <p>{@link #loadInto} loads a file into a network built by hand, with the same strict name and shape
 * check; it needs no {@code arch} metadata. Every write goes through {@link AtomicFiles}: a crash leaves
 * either the old or the new file. The file layout is described for PyTorch users in
 * {@code docs/model-format.md}.
 */
public final class ModelFile {
    /** The value of the {@code format} metadata key. */
    public static final String FORMAT = "siamese4j-model";
    /** The version written; files of this version or older are read. */
    public static final int FORMAT_VERSION = 1;

    public static final String KEY_FORMAT = "format";
    public static final String KEY_FORMAT_VERSION = "format_version";
    public static final String KEY_ARCH = "arch";
    public static final String KEY_INPUT = "input";
    /** The optional head's architecture spec. */
    public static final String KEY_HEAD = "head";
    /** The optional head's input feature count. */
    public static final String KEY_HEAD_INPUT = "head_input";
    /** The prefix of the head's tensor names in the file: {@code head.0.weight}. */
    public static final String HEAD_PREFIX = "head.";

    private static final Set<String> RESERVED = Set.of(KEY_FORMAT, KEY_FORMAT_VERSION, KEY_ARCH, KEY_INPUT, KEY_HEAD,
            KEY_HEAD_INPUT);
    private static final String NUM_BATCHES_TRACKED = "num_batches_tracked";
    /** Problems listed in one message at most; a hostile file could have a million tensors. */
    private static final int MAX_LISTED = 20;

    private ModelFile() {
    }

    /**
     * The optional second network of a model file (see the class comment).
     *
     * @param model         the head network; loaded ones are in evaluation mode
     * @param arch          its architecture, stored under {@code head}
     * @param inputFeatures the feature count it takes, stored under {@code head_input}
     */
    public record Head(Sequential model, ArchSpec arch, int inputFeatures) {
        public Head {
            if (model == null || arch == null) {
                throw new IllegalArgumentException("ModelFile.Head: model and arch must not be null");
            }
            if (inputFeatures < 1) {
                throw new IllegalArgumentException("ModelFile.Head: inputFeatures must be >= 1, got " + inputFeatures);
            }
        }

        /** The head's input shape, {@code [inputFeatures]}. */
        public int[] inputShape() {
            return new int[] {inputFeatures};
        }
    }

    /**
     * A loaded model with its description.
     *
     * @param model      the network, in evaluation mode (call {@code train()} to fine-tune it)
     * @param arch       its architecture
     * @param inputShape one input sample's shape ([C, H, W] or [features])
     * @param metadata   every metadata string of the file, reserved keys included
     * @param head       the head network when the file has one ({@code head} metadata), in evaluation mode
     */
    public record LoadedModel(Sequential model, ArchSpec arch, int[] inputShape, Map<String, String> metadata,
                              Optional<Head> head) {
        public LoadedModel {
            inputShape = inputShape.clone();
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
            head = head == null ? Optional.empty() : head;
        }

        /** A model without a head. */
        public LoadedModel(Sequential model, ArchSpec arch, int[] inputShape, Map<String, String> metadata) {
            this(model, arch, inputShape, metadata, Optional.empty());
        }

        @Override
        public int[] inputShape() {
            return inputShape.clone();
        }
    }

    // =====================================================================================================
    // Saving
    // =====================================================================================================

    /** {@link #save(Path, Module, ArchSpec, int[], Map)} without extra metadata. */
    public static void save(Path file, Module model, ArchSpec arch, int[] inputShape) throws IOException {
        save(file, model, arch, inputShape, Map.of());
    }

    /**
     * Writes {@code model}'s state dict and the metadata (see the class comment) to {@code file}, replacing
     * it atomically.
     *
     * @param model         the network; must be exactly what {@code arch.build(inputShape, ...)} makes
     * @param extraMetadata more strings to store (may be null); the reserved keys {@code format},
     *                      {@code format_version}, {@code arch} and {@code input} are refused
     * @throws IllegalArgumentException before writing anything, when {@code arch} does not describe
     *                                  {@code model} (each difference listed), an extra key is reserved, or a
     *                                  weight is NaN or infinite (the file would not load)
     */
    public static void save(Path file, Module model, ArchSpec arch, int[] inputShape,
                            Map<String, String> extraMetadata) throws IOException {
        save(file, model, arch, inputShape, null, extraMetadata);
    }

    /**
     * As {@link #save(Path, Module, ArchSpec, int[], Map)}, with a head network (or null for none) stored in the
     * same file: its tensors prefixed {@code head.}, its spec and input feature count under {@code head} and
     * {@code head_input}.
     *
     * @throws IllegalArgumentException before writing anything, also when the head's spec does not describe
     *                                  the head for its {@code inputFeatures} or a head weight is not finite
     */
    public static void save(Path file, Module model, ArchSpec arch, int[] inputShape, Head head,
                            Map<String, String> extraMetadata) throws IOException {
        if (file == null || model == null || arch == null || inputShape == null) {
            throw new IllegalArgumentException("ModelFile.save: file, model, arch and inputShape must not be null");
        }
        List<String> differences = arch.differences(model, inputShape);
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException("ModelFile.save: the spec '" + arch + "' for input "
                    + ArchSpec.formatInput(inputShape) + " does not describe the model: " + joinLimited(differences));
        }
        if (head != null) {
            List<String> headDifferences = head.arch().differences(head.model(), head.inputShape());
            if (!headDifferences.isEmpty()) {
                throw new IllegalArgumentException("ModelFile.save: the head spec '" + head.arch() + "' for "
                        + head.inputFeatures() + " input features does not describe the head: "
                        + joinLimited(headDifferences));
            }
        }
        LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
        metadata.put(KEY_FORMAT, FORMAT);
        metadata.put(KEY_FORMAT_VERSION, Integer.toString(FORMAT_VERSION));
        metadata.put(KEY_ARCH, arch.toString());
        metadata.put(KEY_INPUT, ArchSpec.formatInput(inputShape));
        if (head != null) {
            metadata.put(KEY_HEAD, head.arch().toString());
            metadata.put(KEY_HEAD_INPUT, Integer.toString(head.inputFeatures()));
        }
        if (extraMetadata != null) {
            for (Map.Entry<String, String> e : extraMetadata.entrySet()) {
                if (e.getKey() == null || e.getValue() == null) {
                    throw new IllegalArgumentException("ModelFile.save: extra metadata has a null key or value: "
                            + e.getKey() + "=" + e.getValue());
                }
                if (RESERVED.contains(e.getKey())) {
                    throw new IllegalArgumentException("ModelFile.save: extra metadata key '" + e.getKey()
                            + "' is reserved (" + String.join(", ", RESERVED) + " are written by ModelFile)");
                }
                metadata.put(e.getKey(), e.getValue());
            }
        }
        LinkedHashMap<String, Tensor> state = model.stateDict();
        if (head != null) {
            head.model().stateDict().forEach((name, t) -> state.put(HEAD_PREFIX + name, t));
        }
        requireFinite(state);
        // PyTorch's own dtype for the counter, so its load_state_dict and tools comparing dtypes see what they
        // would have written themselves.
        Set<String> int64 = new LinkedHashSet<>();
        for (String name : state.keySet()) {
            if (isNumBatchesTracked(name)) {
                int64.add(name);
            }
        }
        SafeTensors.write(file, state, metadata, int64);
    }

    private static boolean isNumBatchesTracked(String name) {
        return name.equals(NUM_BATCHES_TRACKED) || name.endsWith("." + NUM_BATCHES_TRACKED);
    }

    private static void requireFinite(Map<String, Tensor> state) {
        for (Map.Entry<String, Tensor> e : state.entrySet()) {
            float[] d = e.getValue().data();
            for (int i = 0; i < d.length; i++) {
                if (!Float.isFinite(d[i])) {
                    throw new IllegalArgumentException("ModelFile.save: " + e.getKey() + " holds " + d[i]
                            + " at flat index " + i + "; a model with non-finite weights is not saved (it would "
                            + "not load); save a checkpoint from before the divergence instead");
                }
            }
        }
    }

    // =====================================================================================================
    // Loading
    // =====================================================================================================

    /**
     * Loads a model file with a fixed generator ({@code new Rng(0)}) for the layers that need one; only
     * dropout in training mode draws from it after loading. See {@link #load(Path, Rng)}.
     */
    public static LoadedModel load(Path file) throws IOException {
        return load(file, new Rng(0));
    }

    /**
     * Rebuilds the network from the file's {@code arch} and {@code input} metadata and loads its weights
     * strictly. {@code rng} initialises the network before the weights overwrite it, and dropout layers keep
     * it for their masks.
     *
     * @throws ModelFormatException naming the file, the problem and the metadata field or tensors: a damaged
     *                              or hostile file, missing or bad {@code arch}/{@code input}, a foreign
     *                              {@code format}, a newer {@code format_version}, or tensors that do not
     *                              match the architecture (missing and unexpected names and shape mismatches
     *                              all listed)
     * @throws IOException          when the file system fails (no such file, no permission)
     */
    public static LoadedModel load(Path file, Rng rng) throws IOException {
        return load(file, rng, SafeTensors.ReadOptions.DEFAULT);
    }

    /**
     * As {@link #load(Path, Rng)}; {@link SafeTensors.ReadOptions#ALLOW_NON_FINITE} loads NaN or infinite
     * weights (to inspect a diverged model) instead of refusing the file.
     */
    public static LoadedModel load(Path file, Rng rng, SafeTensors.ReadOptions options) throws IOException {
        requireArgs(file, rng);
        requireArgs(options, options);
        return load(SafeTensors.read(file, options), file.toString(), rng);
    }

    /** As {@link #load(Path, Rng)}, from the bytes of a file; {@code sourceName} stands for the file name. */
    public static LoadedModel load(byte[] bytes, String sourceName, Rng rng) throws ModelFormatException {
        requireArgs(bytes, rng);
        return load(SafeTensors.read(bytes, sourceName), String.valueOf(sourceName), rng);
    }

    private static LoadedModel load(SafeTensors.Contents contents, String source, Rng rng)
            throws ModelFormatException {
        Map<String, String> metadata = contents.metadata();
        checkFormat(source, metadata);
        ArchSpec arch;
        try {
            arch = ArchSpec.parse(required(source, metadata, KEY_ARCH,
                    "the architecture spec, e.g. \"conv(32,3,pad=1) relu maxpool(2) flatten dense(128)\"; "
                            + "to load weights into a network built by hand use ModelFile.loadInto"));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "bad architecture: " + e.getMessage(), metadataField(KEY_ARCH), e);
        }
        int[] input;
        try {
            input = ArchSpec.parseInput(required(source, metadata, KEY_INPUT,
                    "one input sample's shape, CxHxW such as \"1x112x92\" or a feature count such as \"16\""));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "bad input shape: " + e.getMessage(), metadataField(KEY_INPUT), e);
        }
        LinkedHashMap<String, int[]> expected;
        try {
            expected = arch.stateShapes(input);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "the architecture does not fit the input shape "
                    + ArchSpec.formatInput(input) + ": " + e.getMessage(), metadataField(KEY_ARCH), e);
        }
        HeadSpec headSpec = headSpec(source, metadata);
        if (headSpec != null) {
            headSpec.shapes().forEach((name, shape) -> expected.put(HEAD_PREFIX + name, shape));
        }
        checkTensors(source, expected, contents, headSpec == null ? "the arch spec"
                : "the arch and head specs", null);
        checkActivations(source, arch, input, maxActivationBytes());
        Map<String, Tensor> towerTensors = new LinkedHashMap<>();
        Map<String, Tensor> headTensors = new LinkedHashMap<>();
        split(contents.tensors(), towerTensors, headTensors, headSpec != null);
        Sequential model = arch.build(input, rng);
        model.loadStateDict(towerTensors, false);
        model.eval();
        Optional<Head> head = Optional.empty();
        if (headSpec != null) {
            Sequential headModel = headSpec.arch().build(new int[] {headSpec.inputFeatures()}, rng);
            headModel.loadStateDict(headTensors, false);
            headModel.eval();
            head = Optional.of(new Head(headModel, headSpec.arch(), headSpec.inputFeatures()));
        }
        return new LoadedModel(model, arch, input, metadata, head);
    }

    /**
     * The most activation memory a loaded model may need for one input sample: a quarter of the maximum heap
     * ({@code -Xmx}), the same share {@code Images.maxDecodedBytes} gives one decoded image. The weights were read
     * with the file, so they are bounded by its size; the activations are not (a 472-byte file with input
     * 1x8000x8000 and {@code conv(20,1)} asks for 5.4 GB per image). One sample has to fit with the weights, the
     * images being embedded and the garbage collector's headroom; a quarter leaves three quarters for those. The
     * default towers need far less: the reference tower on 1x112x92 about 5.3 MB, the CLI's default about 1 MB.
     */
    public static long maxActivationBytes() {
        return Runtime.getRuntime().maxMemory() / 4;
    }

    /**
     * How many samples one forward pass of this tower may take: {@code preferred}, or fewer when their activations
     * together ({@link ArchSpec#activationElements} floats each) would be above {@link #maxActivationBytes()}, the
     * cap one sample is held to at load; never fewer than 1. A tower whose one image is tens of megabytes (a large
     * input, wide layers) then embeds its images a few at a time instead of running out of memory on a batch.
     */
    public static int samplesPerPass(ArchSpec arch, int[] input, int preferred) {
        if (preferred < 1) {
            throw new IllegalArgumentException("ModelFile.samplesPerPass: preferred must be at least 1, got "
                    + preferred);
        }
        long perSample = Math.max(1, arch.activationElements(input) * Float.BYTES);
        return (int) Math.max(1, Math.min(preferred, maxActivationBytes() / perSample));
    }

    /**
     * Refuses a tower whose activations for one sample ({@link ArchSpec#activationElements}, 4-byte floats) are
     * above {@code maxBytes}, checked before the network is built or anything is run. Done here, in the one
     * place every user of a model file goes through (the CLI, {@code Verifier}, the examples), rather than in
     * each caller.
     */
    static void checkActivations(String source, ArchSpec arch, int[] input, long maxBytes)
            throws ModelFormatException {
        long bytes = arch.activationElements(input) * Float.BYTES;
        if (bytes > maxBytes) {
            throw new ModelFormatException(source, "the architecture needs " + bytes + " bytes of activations for"
                    + " one " + ArchSpec.formatInput(input) + " input (the input and every layer's output as floats),"
                    + " above the cap of " + maxBytes + " bytes (a quarter of the maximum heap, -Xmx;"
                    + " ModelFile.maxActivationBytes)", metadataField(KEY_INPUT));
        }
    }

    /** A head described by a file's metadata, before it is built. */
    private record HeadSpec(ArchSpec arch, int inputFeatures, LinkedHashMap<String, int[]> shapes) {
    }

    /**
     * The head the metadata describes, or null when it has neither {@code head} nor {@code head_input}; both or
     * neither must be present, and the spec must fit the feature count (checked without building anything).
     */
    private static HeadSpec headSpec(String source, Map<String, String> metadata) throws ModelFormatException {
        String spec = metadata.get(KEY_HEAD);
        String features = metadata.get(KEY_HEAD_INPUT);
        if (spec == null && features == null) {
            return null;
        }
        if (spec == null) {
            throw new ModelFormatException(source, "the metadata has \"" + KEY_HEAD_INPUT + "\" but no \"" + KEY_HEAD
                    + "\" key; a head needs both: its architecture spec, e.g. \"dense(1)\", and its input feature "
                    + "count", metadataField(KEY_HEAD));
        }
        if (features == null) {
            throw new ModelFormatException(source, "the metadata has \"" + KEY_HEAD + "\" but no \"" + KEY_HEAD_INPUT
                    + "\" key; it should hold the head's input feature count, such as \"128\"",
                    metadataField(KEY_HEAD_INPUT));
        }
        ArchSpec arch;
        try {
            arch = ArchSpec.parse(spec);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "bad head architecture: " + e.getMessage(), metadataField(KEY_HEAD),
                    e);
        }
        int[] input;
        try {
            input = ArchSpec.parseInput(features);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "bad head input: " + e.getMessage(), metadataField(KEY_HEAD_INPUT),
                    e);
        }
        if (input.length != 1) {
            throw new ModelFormatException(source, "head_input must be a feature count such as \"128\", got "
                    + Json.quoteForMessage(features), metadataField(KEY_HEAD_INPUT));
        }
        try {
            return new HeadSpec(arch, input[0], arch.stateShapes(input));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "the head architecture does not fit its input of " + input[0]
                    + " features: " + e.getMessage(), metadataField(KEY_HEAD), e);
        }
    }

    /** Sorts a file's tensors into the tower's and (names without the prefix) the head's. */
    private static void split(Map<String, Tensor> all, Map<String, Tensor> tower, Map<String, Tensor> head,
                              boolean hasHead) {
        all.forEach((name, t) -> {
            if (hasHead && name.startsWith(HEAD_PREFIX)) {
                head.put(name.substring(HEAD_PREFIX.length()), t);
            } else {
                tower.put(name, t);
            }
        });
    }

    /**
     * Loads the weights of {@code file} into {@code model} (built by hand, e.g. {@code Towers.reference}),
     * in place, with the same strict check as {@link #load}: every tensor of the model must be in the file
     * with its shape, and the file must hold no other tensor. {@code arch} and {@code input} metadata are not
     * needed (a file saved from PyTorch without metadata loads). The model keeps its training or evaluation
     * mode. On failure the model is unchanged.
     *
     * @return the file's metadata strings
     * @throws ModelFormatException listing every missing, unexpected and mis-shaped tensor, or for a damaged
     *                              file
     */
    public static Map<String, String> loadInto(Path file, Module model) throws IOException {
        return loadInto(file, model, SafeTensors.ReadOptions.DEFAULT);
    }

    /** As {@link #loadInto(Path, Module)}, with the reader's options (see {@link #load(Path, Rng, SafeTensors.ReadOptions)}). */
    public static Map<String, String> loadInto(Path file, Module model, SafeTensors.ReadOptions options)
            throws IOException {
        requireArgs(file, model);
        requireArgs(options, options);
        return loadInto(SafeTensors.read(file, options), file.toString(), model);
    }

    /** As {@link #loadInto(Path, Module)}, from the bytes of a file. */
    public static Map<String, String> loadInto(byte[] bytes, String sourceName, Module model)
            throws ModelFormatException {
        requireArgs(bytes, model);
        return loadInto(SafeTensors.read(bytes, sourceName), String.valueOf(sourceName), model);
    }

    /**
     * As {@link #loadInto(Path, Module)} for a file with a head: the tower's tensors go into {@code model} and
     * the {@code head.}-prefixed ones into {@code head}, with the same strict check over both (every tensor of
     * both modules present with its shape, nothing else in the file). Neither module changes on failure.
     */
    public static Map<String, String> loadInto(Path file, Module model, Module head) throws IOException {
        requireArgs(file, model);
        requireArgs(head, head);
        return loadInto(SafeTensors.read(file), file.toString(), model, head);
    }

    private static Map<String, String> loadInto(SafeTensors.Contents contents, String source, Module model)
            throws ModelFormatException {
        return loadInto(contents, source, model, null);
    }

    private static Map<String, String> loadInto(SafeTensors.Contents contents, String source, Module model,
                                                Module head) throws ModelFormatException {
        checkFormat(source, contents.metadata());
        LinkedHashMap<String, int[]> expected = new LinkedHashMap<>();
        model.stateDict().forEach((name, t) -> expected.put(name, t.shape()));
        if (head != null) {
            head.stateDict().forEach((name, t) -> expected.put(HEAD_PREFIX + name, t.shape()));
        }
        String hint = head == null && contents.metadata().containsKey(KEY_HEAD)
                ? "the file also holds a head (metadata \"" + KEY_HEAD + "\"); load it with ModelFile.load or "
                + "ModelFile.loadInto(file, model, head)" : null;
        checkTensors(source, expected, contents, head == null ? "the model" : "the model and head", hint);
        Map<String, Tensor> towerTensors = new LinkedHashMap<>();
        Map<String, Tensor> headTensors = new LinkedHashMap<>();
        split(contents.tensors(), towerTensors, headTensors, head != null);
        model.loadStateDict(towerTensors, false);
        if (head != null) {
            head.loadStateDict(headTensors, false);
        }
        return contents.metadata();
    }

    /**
     * Fails listing every tensor the file lacks, every tensor it has that {@code expected} does not, every
     * shape mismatch with both shapes, and every weight stored with an integer dtype.
     */
    private static void checkTensors(String source, Map<String, int[]> expected, SafeTensors.Contents contents,
                                     String target, String hint) throws ModelFormatException {
        Map<String, Tensor> actual = contents.tensors();
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        List<String> integers = new ArrayList<>();
        List<String> counts = new ArrayList<>();
        String firstField = null;
        for (Map.Entry<String, int[]> e : expected.entrySet()) {
            String name = e.getKey();
            Tensor t = actual.get(name);
            if (t == null) {
                if (!isNumBatchesTracked(name)) {
                    missing.add(name + " " + Shapes.toString(e.getValue()));
                }
            } else if (!Arrays.equals(t.shape(), e.getValue())) {
                mismatched.add(name + " is " + Shapes.toString(t.shape()) + " in the file, "
                        + Shapes.toString(e.getValue()) + " in " + target);
                if (firstField == null) {
                    firstField = "header field " + Json.quoteForMessage(name) + ".shape";
                }
            } else if (isNumBatchesTracked(name)) {
                // Any dtype holds the counter, but its value must be a count, or saving could not write it as I64.
                float count = t.size() == 1 ? t.data()[0] : Float.NaN;
                if (!(count >= 0 && count == Math.rint(count) && count < 0x1p63f)) {
                    counts.add(name + " holds " + count);
                    if (firstField == null) {
                        firstField = "header field " + Json.quoteForMessage(name);
                    }
                }
            } else if (contents.isInteger(name)) {
                // The counter is an integer in PyTorch and does not enter the maths in evaluation; a weight or
                // a running statistic stored as integers was quantised or mislabelled, and would load wrong.
                integers.add(name + " is " + contents.dtypes().get(name));
                if (firstField == null) {
                    firstField = "header field " + Json.quoteForMessage(name) + ".dtype";
                }
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : actual.entrySet()) {
            if (!expected.containsKey(e.getKey())) {
                unexpected.add(Json.quoteForMessage(e.getKey()) + " " + Shapes.toString(e.getValue().shape()));
                if (firstField == null) {
                    firstField = "header field " + Json.quoteForMessage(e.getKey());
                }
            }
        }
        if (missing.isEmpty() && unexpected.isEmpty() && mismatched.isEmpty() && integers.isEmpty()
                && counts.isEmpty()) {
            return;
        }
        List<String> problems = new ArrayList<>();
        if (!missing.isEmpty()) {
            problems.add(missing.size() + " missing: " + joinLimited(missing));
        }
        if (!unexpected.isEmpty()) {
            problems.add(unexpected.size() + " unexpected: " + joinLimited(unexpected));
        }
        if (!mismatched.isEmpty()) {
            problems.add(mismatched.size() + " of the wrong shape: " + joinLimited(mismatched));
        }
        if (!integers.isEmpty()) {
            problems.add(integers.size() + " with an integer dtype where " + target + " has a floating-point weight or"
                    + " statistic (" + SafeTensors.FLOAT_DTYPES + "; only num_batches_tracked may be an integer): "
                    + joinLimited(integers));
        }
        if (!counts.isEmpty()) {
            problems.add(counts.size() + " batch-norm counter(s) not a whole number of batches: " + joinLimited(counts));
        }
        int count = missing.size() + unexpected.size() + mismatched.size() + integers.size() + counts.size();
        // One problem has a precise place; several, or a missing tensor (no entry to point at), concern the header.
        String location = count == 1 && firstField != null ? firstField : "header";
        throw new ModelFormatException(source, "the tensors do not match " + target + ": "
                + String.join("; ", problems) + (hint == null ? "" : "; " + hint), location);
    }

    /** Refuses a file of another kind or a newer version; both keys may be absent. */
    private static void checkFormat(String source, Map<String, String> metadata) throws ModelFormatException {
        String format = metadata.get(KEY_FORMAT);
        if (format != null && !format.equals(FORMAT)) {
            throw new ModelFormatException(source, "this is not a model file: format is "
                    + Json.quoteForMessage(format) + ", expected \"" + FORMAT + "\""
                    + (format.equals("siamese4j-checkpoint") ? " (load checkpoints with Checkpoint.load)" : ""),
                    metadataField(KEY_FORMAT));
        }
        String version = metadata.get(KEY_FORMAT_VERSION);
        if (version != null) {
            int v;
            try {
                v = Integer.parseInt(version);
            } catch (NumberFormatException e) {
                throw new ModelFormatException(source, "format_version must be an integer, got "
                        + Json.quoteForMessage(version), metadataField(KEY_FORMAT_VERSION));
            }
            if (v < 1 || v > FORMAT_VERSION) {
                throw new ModelFormatException(source, "format_version " + v + " is not supported: this library "
                        + "reads version " + FORMAT_VERSION + (v > FORMAT_VERSION ? " (the file is newer)" : ""),
                        metadataField(KEY_FORMAT_VERSION));
            }
        }
    }

    private static String required(String source, Map<String, String> metadata, String key, String what)
            throws ModelFormatException {
        String value = metadata.get(key);
        if (value == null) {
            throw new ModelFormatException(source, "the metadata has no \"" + key + "\" key; it should hold " + what,
                    metadataField(key));
        }
        return value;
    }

    private static String metadataField(String key) {
        return "metadata field \"" + key + "\"";
    }

    private static String joinLimited(List<String> items) {
        if (items.size() <= MAX_LISTED) {
            return String.join(", ", items);
        }
        return String.join(", ", items.subList(0, MAX_LISTED)) + " and " + (items.size() - MAX_LISTED) + " more";
    }

    private static void requireArgs(Object source, Object other) {
        if (source == null || other == null) {
            throw new IllegalArgumentException("ModelFile: the file, the model or rng, and the options must not be "
                    + "null");
        }
    }
}
