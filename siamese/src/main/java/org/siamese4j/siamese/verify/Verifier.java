package org.siamese4j.siamese.verify;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.ToDoubleBiFunction;
import java.util.function.UnaryOperator;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.onnx.OnnxImporter;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.ColorImage;
import org.siamese4j.siamese.data.FaceFolders;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.LabelledImages;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.NaturalOrder;
import org.siamese4j.siamese.data.Normalization;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.head.SimilarityHead;
import org.siamese4j.siamese.metrics.OperatingPoint;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.metrics.Thresholds;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Face verification for applications: a trained tower loaded from a model file, embedding images and deciding
 * whether two images show the same person.
 *
 * <pre>{@code
 * Verifier v = Verifier.load(Path.of("faces.safetensors"));
 * Verification r = v.verify(Path.of("alice-1.pgm"), Path.of("alice-2.pgm"));
 * if (r.same()) { ... }     // r.distance() <= r.threshold()
 * }</pre>
 *
 * <p>With several reference images of a person (a folder of photos), {@link #verifyAgainstFolder} and the
 * {@code verifyAgainst} overloads score the probe against each and accept by the fraction of references that pass
 * the threshold or by the mean score ({@link MultiReferencePolicy}, {@link MultiReferenceVerification}).
 *
 * <h2>Two kinds of model: a distance, or a learned similarity head</h2>
 * A pair of images is scored from the two embeddings, in one of two ways, and {@link #scoreDirection()} says which:
 * <ul>
 *   <li>a <b>distance model</b> (a plain model file): the score is a {@link Distance} between the embeddings
 *       ({@value #KEY_DISTANCE} metadata), smaller means more alike ({@link ScoreDirection#LOWER_IS_SAME}), and a
 *       pair is the same person when {@code distance <= threshold};</li>
 *   <li>a <b>head model</b> (a model file with a {@link SimilarityHead}, as {@link HeadSiameseNetwork#save} writes
 *       it): the score is the head's P(same) for the pair, in [0, 1], larger means more alike
 *       ({@link ScoreDirection#HIGHER_IS_SAME}), and a pair is the same person when {@code P(same) >= threshold}.
 *       The head is learnt, so there is no distance: {@link #distance} and {@link #withDistance} refuse, and
 *       {@link #distanceKind()} is null.</li>
 * </ul>
 * Everything that decides ({@link #verify}, {@link #calibrate}, {@link #verifyAgainst}, {@link Gallery#identify})
 * works on {@link #score} and its direction, so it works alike for both; the threshold is in the score's units.
 * A head model's P(same) is computed in double from the head's float logit, exactly as
 * {@link HeadSiameseNetwork#score} computes it.
 *
 * <h2>Images</h2>
 * The model file stores the input shape the tower was trained on ({@code input}, e.g. {@code 1x112x92}). Every
 * image is prepared as {@link #preprocessing()} says. A siamese4j model file's own ({@link Preprocessing#of}) is
 * exactly how the training data was prepared: scaled to [0, 1] (divided by its maxval), resized bilinearly
 * ({@link GrayImage#resize}) to the model's height and width when its size differs, then, if the file stores
 * {@value #KEY_INPUT_MEAN} and {@value #KEY_INPUT_STD}, standardised as {@code (x - mean) / std} (a
 * {@link Normalization} fitted on the training set). A 1-channel model reads files in grey (colour as luma), a
 * 3-channel one in colour ({@link Images#readColor}; a grey file's plane three times). A face model from elsewhere
 * states its own preprocessing (RGB or BGR, 0-255 pixels, per-channel mean and std) in a sidecar beside it
 * ({@link ModelSidecar}, read by {@link #load}) or through {@link #withPreprocessing}. {@link #embed(float[])}
 * takes any input already in the pixel range with the model's exact shape (and still applies the
 * standardisation). For a head model, {@code embed} gives the tower's embedding, which the head then scores in
 * pairs.
 *
 * <h2>Towers</h2>
 * The tower is any {@link Module} taking [N, C, H, W] (or [N, F]) and giving [N, D]: a siamese4j model file's
 * {@link Sequential} with its {@link ArchSpec} (which bounds the images per forward pass by their activation memory,
 * {@link ModelFile#samplesPerPass}), or a network without one ({@link #ofTower}: an imported graph, embedded
 * {@value #TOWER_BATCH} images at a time). {@link #load} reads {@code .onnx} files through the ONNX importer (issue
 * 18) and everything else as a siamese4j model file, then applies the sidecar {@code MODEL.json} if there is one.
 *
 * <h2>Metadata keys</h2>
 * Besides {@link ModelFile}'s reserved keys, a verifier reads and writes these metadata strings (all optional;
 * unknown keys are kept and written back by {@link #save}):
 * <table>
 * <caption>Verifier metadata</caption>
 * <tr><th>key</th><th>value</th></tr>
 * <tr><td>{@value #KEY_DISTANCE}</td><td>{@code euclidean} (default when absent), {@code squared_euclidean} or
 *     {@code cosine}: the distance between embeddings; a head model has none, and a head model file that has
 *     this key is refused</td></tr>
 * <tr><td>{@value #KEY_THRESHOLD}</td><td>the decision threshold on the score (the distance, or a head's P(same)),
 *     a decimal number; the infinity on the accept-nothing side is allowed ({@code -Infinity} for a distance,
 *     {@code Infinity} for P(same)), the other one is refused; absent: the model is not calibrated and
 *     {@link #verify} refuses</td></tr>
 * <tr><td>{@value #KEY_THRESHOLD_KIND}</td><td>{@code manual}, {@code target_far} or {@code best_accuracy}
 *     (default {@code manual})</td></tr>
 * <tr><td>{@value #KEY_THRESHOLD_TARGET_FAR}</td><td>the target false-accept rate, with {@code target_far}</td></tr>
 * <tr><td>{@value #KEY_THRESHOLD_TAR}, {@value #KEY_THRESHOLD_FAR}, {@value #KEY_THRESHOLD_ACCURACY},
 *     {@value #KEY_THRESHOLD_PAIRS}</td><td>what the threshold did on the calibration pairs (informational)</td></tr>
 * <tr><td>{@value #KEY_INPUT_MEAN}, {@value #KEY_INPUT_STD}</td><td>input standardisation applied after scaling
 *     to [0, 1]; both or neither</td></tr>
 * </table>
 *
 * <h2>Threads</h2>
 * A verifier is immutable (calibrating or setting a threshold returns a new one sharing the network) and may be
 * used from any number of threads at once. Its network (and head) is a private copy, put in evaluation mode once
 * and never switched back, and every forward pass runs under {@link Tensor#noGrad()}: in that state a forward pass
 * only reads the weights (batch norm reads its running statistics without updating them, dropout is the
 * identity), records no graph, and allocates its own output tensors; the kernels' scratch buffers are per thread.
 * That is the sharing {@link Tensor}'s contract allows, so forward passes are not serialised.
 */
public final class Verifier {
    public static final String KEY_DISTANCE = "distance";
    public static final String KEY_THRESHOLD = "threshold";
    public static final String KEY_THRESHOLD_KIND = "threshold_kind";
    public static final String KEY_THRESHOLD_TARGET_FAR = "threshold_target_far";
    public static final String KEY_THRESHOLD_TAR = "threshold_tar";
    public static final String KEY_THRESHOLD_FAR = "threshold_far";
    public static final String KEY_THRESHOLD_ACCURACY = "threshold_accuracy";
    public static final String KEY_THRESHOLD_PAIRS = "threshold_pairs";
    public static final String KEY_INPUT_MEAN = "input_mean";
    public static final String KEY_INPUT_STD = "input_std";

    private static final Set<String> OWN_KEYS = Set.of(KEY_DISTANCE, KEY_THRESHOLD, KEY_THRESHOLD_KIND,
            KEY_THRESHOLD_TARGET_FAR, KEY_THRESHOLD_TAR, KEY_THRESHOLD_FAR, KEY_THRESHOLD_ACCURACY,
            KEY_THRESHOLD_PAIRS, KEY_INPUT_MEAN, KEY_INPUT_STD);
    private static final Set<String> MODEL_FILE_KEYS = Set.of(ModelFile.KEY_FORMAT, ModelFile.KEY_FORMAT_VERSION,
            ModelFile.KEY_ARCH, ModelFile.KEY_INPUT, ModelFile.KEY_HEAD, ModelFile.KEY_HEAD_INPUT);

    /** Images per forward pass when embedding many, unless fewer fit the memory ({@link #imagesPerPass}). */
    private static final int BATCH = 32;
    /** Pairs per forward pass of a similarity head (a few dense layers on [N, D]: cheap, so large batches). */
    private static final int HEAD_BATCH = 1024;
    /** Up to this many images, calibration scores every pair; beyond, a seeded sample. */
    private static final int ALL_PAIRS_UP_TO = 1000;
    private static final int SAMPLED_PAIRS = 100_000;
    private static final long SAMPLE_SEED = 0x5EEDL;

    /** Images per forward pass of a tower without an arch spec, whose activation sizes are not known up front. */
    private static final int TOWER_BATCH = 8;

    private final Module model;
    /** The tower's spec; null for a tower built elsewhere (an imported network). */
    private final ArchSpec arch;
    /** The spec's canonical text, or the description of a tower without one. */
    private final String architecture;
    private final int[] inputShape;
    private final int embeddingSize;
    /** The distance of a distance model; null for a head model. */
    private final Distance distance;
    /** The similarity head of a head model, in evaluation mode; null for a distance model. */
    private final SimilarityHead head;
    private final Threshold threshold;
    private final Normalization normalization;
    /** How an image becomes the input; null for a model that takes feature vectors, or images of 2 or 4+ channels. */
    private final Preprocessing preprocessing;
    private final Map<String, String> extraMetadata;
    private final String fingerprint;
    /** {@link #BATCH}, or fewer when that many images' activations would not fit the memory one may take. */
    private final int imagesPerPass;
    /** {@link #HEAD_BATCH}, or fewer when a wide head's activations for that many pairs would not fit; 0: no head. */
    private final int pairsPerPass;

    private Verifier(Module model, ArchSpec arch, String architecture, int[] inputShape, int embeddingSize,
                     Distance distance, SimilarityHead head, Threshold threshold, Normalization normalization,
                     Preprocessing preprocessing, Map<String, String> extraMetadata, String fingerprint) {
        this.model = model;
        this.arch = arch;
        this.architecture = architecture;
        this.inputShape = inputShape;
        this.embeddingSize = embeddingSize;
        this.distance = distance;
        this.head = head;
        this.threshold = threshold;
        this.normalization = normalization;
        this.preprocessing = preprocessing;
        this.extraMetadata = extraMetadata;
        this.fingerprint = fingerprint;
        this.imagesPerPass = samplesPerPass(arch, inputShape, BATCH);
        this.pairsPerPass = head == null ? 0
                : ModelFile.samplesPerPass(head.arch(), new int[] {head.features()}, HEAD_BATCH);
    }

    // =====================================================================================================
    // Creating
    // =====================================================================================================

    /**
     * Loads a model file ({@link ModelFile#load}) and its verifier metadata (see the class comment). A file with a
     * similarity head ({@code head} metadata, as {@link HeadSiameseNetwork#save} writes) gives a head model, whose
     * score is the head's P(same); a plain file gives a distance model.
     *
     * @throws ModelFormatException for a damaged file, a model that does not output [N, D] embeddings, a head that
     *                              does not fit the tower or is not a similarity head (one logit), or bad verifier
     *                              metadata (naming the key and value)
     * @throws IOException          when the file cannot be read
     */
    public static Verifier load(Path modelFile) throws IOException {
        Objects.requireNonNull(modelFile, "Verifier.load: modelFile is null");
        Verifier v = isOnnx(modelFile) ? loadOnnx(modelFile) : of(ModelFile.load(modelFile), modelFile.toString());
        Optional<ModelSidecar> sidecar = ModelSidecar.readIfPresent(modelFile);
        return sidecar.isEmpty() ? v : v.withSidecar(sidecar.get(), ModelSidecar.pathFor(modelFile).toString());
    }

    /** Whether {@link #load} reads {@code modelFile} as ONNX: its name ends in {@code .onnx}, in any case. */
    public static boolean isOnnx(Path modelFile) {
        Path name = modelFile.getFileName();
        return name != null && name.toString().toLowerCase(Locale.ROOT).endsWith(".onnx");
    }

    /**
     * An ONNX face model as a verifier: the imported graph as the tower, taking images as its input shape says,
     * pixels in [0, 1] with no standardisation and cosine distance until a sidecar ({@link ModelSidecar}) says
     * otherwise ({@link #load} applies it next).
     */
    private static Verifier loadOnnx(Path onnxFile) throws IOException {
        OnnxImporter.ImportedModel imported = OnnxImporter.load(onnxFile);
        return ofTower(imported.graph(), imported.inputShape(), Preprocessing.of(imported.inputShape(), null),
                Distance.COSINE, "onnx " + onnxFile.getFileName());
    }

    /**
     * A verifier for a tower that has no arch spec (an imported network, a {@code Graph}), uncalibrated. The tower
     * is taken over, not copied, and put in evaluation mode: do not train it afterwards. Its embedding width is
     * measured with one forward pass of zeros; images are embedded {@value #TOWER_BATCH} at a time, as the
     * activation sizes of an arbitrary tower are not known up front.
     *
     * @param inputShape    one input, [C, H, W] (C = 1 or 3) or [F]
     * @param preprocessing how images become inputs, of the same [C, H, W]; null for a tower of feature vectors
     * @param description   names the tower where an arch spec would ({@link #architecture()}, a gallery's file),
     *                      e.g. {@code onnx face.onnx}
     * @throws IllegalArgumentException when the tower does not output one [1, D] embedding for one input, or the
     *                                  preprocessing does not fit the input shape
     */
    public static Verifier ofTower(Module tower, int[] inputShape, Preprocessing preprocessing, Distance distance,
                                   String description) {
        Objects.requireNonNull(tower, "Verifier.ofTower: tower is null");
        Objects.requireNonNull(inputShape, "Verifier.ofTower: inputShape is null");
        Objects.requireNonNull(distance, "Verifier.ofTower: distance is null");
        Objects.requireNonNull(description, "Verifier.ofTower: description is null");
        int[] input = inputShape.clone();
        if (preprocessing != null && !Arrays.equals(preprocessing.inputShape(), input)) {
            throw new IllegalArgumentException("Verifier.ofTower: the preprocessing (" + preprocessing + ") gives "
                    + ArchSpec.formatInput(preprocessing.inputShape()) + ", the tower takes "
                    + ArchSpec.formatInput(input));
        }
        tower.eval();
        long size = 1;
        for (int d : input) {
            if (d < 1) {
                throw new IllegalArgumentException("Verifier.ofTower: input shape " + Arrays.toString(input)
                        + " has a dimension below 1");
            }
            size *= d;
        }
        int[] batchShape = new int[input.length + 1];
        batchShape[0] = 1;
        System.arraycopy(input, 0, batchShape, 1, input.length);
        int[] out;
        try (var noGrad = Tensor.noGrad()) {
            out = tower.forward(Tensor.wrap(new float[Math.toIntExact(size)], batchShape)).shape();
        }
        if (out.length != 2 || out[0] != 1) {
            throw new IllegalArgumentException("Verifier.ofTower: " + description + " outputs "
                    + Arrays.toString(out) + " for one input " + ArchSpec.formatInput(input)
                    + ", not one embedding vector [1, D]");
        }
        String print = fingerprint("tower " + tower, input, tower, null);
        return new Verifier(tower, null, description, input, out[1], distance, null, null, null, preprocessing,
                Map.of(), print);
    }

    /**
     * This verifier with a sidecar's preprocessing, distance and threshold replacing the model file's (each only
     * when the sidecar states it). A sidecar distance other than the model's drops a threshold the sidecar does not
     * give, which was in the other distance's units. The network is shared.
     *
     * @param src names the sidecar in errors
     * @throws ModelFormatException naming the sidecar key: a preprocessing whose input size or colour is not the
     *                              model's, an embedding size that is not the model's, a distance on a head model,
     *                              or a distance or threshold value the model-file metadata would refuse
     */
    public Verifier withSidecar(ModelSidecar sidecar, String src) throws ModelFormatException {
        Objects.requireNonNull(sidecar, "Verifier.withSidecar: sidecar is null");
        UnaryOperator<String> where = key -> "key " + ModelFormatException.quoted(key);
        if (sidecar.embeddingSize() > 0 && sidecar.embeddingSize() != embeddingSize) {
            throw new ModelFormatException(src, "the sidecar states " + sidecar.embeddingSize() + "-d embeddings, the "
                    + "model (" + architecture + ") gives " + embeddingSize + "; is it the sidecar of another model?",
                    where.apply(ModelSidecar.KEY_EMBEDDING_SIZE));
        }
        Preprocessing pre = preprocessing;
        if (sidecar.preprocessing() != null) {
            pre = sidecar.preprocessing();
            String problem = preprocessingProblem(pre);
            if (problem != null) {
                throw new ModelFormatException(src, problem, where.apply(ModelSidecar.KEY_PREPROCESSING + "."
                        + (inputShape.length == 3 && pre.channels() != inputShape[0] ? "color" : "input_size")));
            }
        }
        Map<String, String> decision = sidecar.decision();
        Distance newDistance = distance;
        if (decision.containsKey(KEY_DISTANCE)) {
            if (head != null) {
                throw new ModelFormatException(src, "the model has a similarity head, which scores pairs itself "
                        + "(P(same)); the sidecar's distance does not apply, remove the key",
                        where.apply(KEY_DISTANCE));
            }
            newDistance = parseDistance(src, decision.get(KEY_DISTANCE), where);
        }
        Threshold newThreshold = newDistance == distance ? threshold : null;
        if (decision.keySet().stream().anyMatch(k -> k.startsWith(KEY_THRESHOLD))) {
            newThreshold = parseThreshold(src, decision, scoreDirection(), where);
        }
        return new Verifier(model, arch, architecture, inputShape, embeddingSize, newDistance, head, newThreshold,
                normalization, pre, extraMetadata, fingerprint);
    }

    /**
     * This verifier with another preprocessing (of the model's input shape), e.g. from command-line options; the
     * network is shared and the threshold kept.
     *
     * @throws IllegalArgumentException when its input size or colour is not the model's
     */
    public Verifier withPreprocessing(Preprocessing newPreprocessing) {
        Objects.requireNonNull(newPreprocessing, "Verifier.withPreprocessing: preprocessing is null");
        String problem = preprocessingProblem(newPreprocessing);
        if (problem != null) {
            throw new IllegalArgumentException("Verifier.withPreprocessing: " + problem);
        }
        return new Verifier(model, arch, architecture, inputShape, embeddingSize, distance, head, threshold,
                normalization, newPreprocessing, extraMetadata, fingerprint);
    }

    /** Why {@code p} cannot feed this model (another input size or channel count), or null. */
    private String preprocessingProblem(Preprocessing p) {
        if (!Arrays.equals(p.inputShape(), inputShape)) {
            return "the preprocessing (" + p + ") gives " + ArchSpec.formatInput(p.inputShape()) + " inputs, the "
                    + "model takes " + ArchSpec.formatInput(inputShape);
        }
        return null;
    }

    /**
     * The preprocessing a siamese4j model implies for images ({@link Preprocessing#of}); null for a model of
     * feature vectors or of images with other than 1 or 3 channels, which takes its input as floats only.
     */
    private static Preprocessing imagePreprocessing(int[] input, Normalization normalization) {
        return Preprocessing.imageInputProblem(input) == null ? Preprocessing.of(input, normalization) : null;
    }

    /** {@code most}, or fewer when that many inputs' activations would not fit ({@link ModelFile#samplesPerPass}). */
    private static int samplesPerPass(ArchSpec arch, int[] input, int most) {
        return arch != null ? ModelFile.samplesPerPass(arch, input, most) : Math.max(1, Math.min(most, TOWER_BATCH));
    }

    /**
     * How many inputs to embed in one forward pass when {@code most} would be welcome: fewer when that many inputs'
     * activations would not fit the memory one may take (the arch spec's bound, {@link ModelFile#samplesPerPass}),
     * at most {@value #TOWER_BATCH} for a tower without an arch spec.
     */
    public int samplesPerPass(int most) {
        return samplesPerPass(arch, inputShape, most);
    }

    /**
     * A verifier for a model already loaded by {@link ModelFile#load}, with or without a head; {@code source} names
     * it in errors. The network is taken over, not copied: do not train or switch its mode afterwards (use
     * {@link #of(Module, ArchSpec, int[], Distance, Normalization)} or
     * {@link #of(HeadSiameseNetwork, ArchSpec, int[], Normalization)}, which copy, to keep training a network).
     */
    public static Verifier of(ModelFile.LoadedModel loaded, String source) throws ModelFormatException {
        Objects.requireNonNull(loaded, "Verifier.of: loaded is null");
        String src = String.valueOf(source);
        Map<String, String> meta = loaded.metadata();
        int[] input = loaded.inputShape();
        int width = embeddingWidth(loaded.arch(), input, src);
        SimilarityHead head = null;
        Distance distance = null;
        if (loaded.head().isPresent()) {
            // checks that the head takes the tower's width and ends in one logit, naming the field otherwise
            head = HeadSiameseNetwork.of(loaded, src).head();
            head.eval();
            if (meta.containsKey(KEY_DISTANCE)) {
                throw new ModelFormatException(src, "the model has a similarity head, which scores pairs itself "
                        + "(P(same)), but the metadata also sets a distance '" + shorten(meta.get(KEY_DISTANCE))
                        + "'; remove the key", metadataField(KEY_DISTANCE));
            }
        } else {
            distance = parseDistance(src, meta.get(KEY_DISTANCE), Verifier::metadataField);
        }
        ScoreDirection direction = head == null ? ScoreDirection.LOWER_IS_SAME : ScoreDirection.HIGHER_IS_SAME;
        Threshold threshold = parseThreshold(src, meta, direction, Verifier::metadataField);
        Normalization normalization = parseNormalization(src, meta, Verifier::metadataField);
        Map<String, String> extra = new LinkedHashMap<>();
        meta.forEach((k, v) -> {
            if (!OWN_KEYS.contains(k) && !MODEL_FILE_KEYS.contains(k)) {
                extra.put(k, v);
            }
        });
        Sequential model = loaded.model();
        model.eval();
        return new Verifier(model, loaded.arch(), loaded.arch().toString(), input, width, distance, head, threshold,
                normalization, imagePreprocessing(input, normalization), Collections.unmodifiableMap(extra),
                fingerprint(loaded.arch(), input, model, head));
    }

    /**
     * A verifier for a network in memory (e.g. just trained), uncalibrated. The weights are copied, so the
     * caller may go on training {@code model} without affecting the verifier.
     *
     * @param model         the tower; must be exactly what {@code arch.build(inputShape, ...)} makes
     * @param normalization the input standardisation used in training, or null for none
     * @throws IllegalArgumentException when {@code arch} does not describe {@code model} or the model does not
     *                                  output [N, D] embeddings
     */
    public static Verifier of(Module model, ArchSpec arch, int[] inputShape, Distance distance,
                              Normalization normalization) {
        Objects.requireNonNull(model, "Verifier.of: model is null");
        Objects.requireNonNull(distance, "Verifier.of: distance is null");
        Sequential copy = copyTower("Verifier.of", model, arch, inputShape);
        int[] input = inputShape.clone();
        return new Verifier(copy, arch, arch.toString(), input, embeddingWidthOf(arch, input), distance, null, null,
                normalization, imagePreprocessing(input, normalization), Map.of(),
                fingerprint(arch, input, copy, null));
    }

    /**
     * A verifier for a pair model with a learned similarity head in memory (e.g. just trained with
     * {@link org.siamese4j.siamese.train.HeadObjective}), uncalibrated; its score is the head's P(same). Tower and
     * head are copied, so the caller may go on training {@code network}.
     *
     * @param towerArch     the tower's spec; must describe {@code network.tower()} exactly for {@code inputShape}
     * @param normalization the input standardisation used in training, or null for none
     * @throws IllegalArgumentException when {@code towerArch} does not describe the tower, the tower does not output
     *                                  [N, D] embeddings, or the head does not take D features
     */
    public static Verifier of(HeadSiameseNetwork network, ArchSpec towerArch, int[] inputShape,
                              Normalization normalization) {
        Objects.requireNonNull(network, "Verifier.of: network is null");
        Sequential copy = copyTower("Verifier.of", network.tower(), towerArch, inputShape);
        int[] input = inputShape.clone();
        int width = embeddingWidthOf(towerArch, input);
        SimilarityHead source = network.head();
        if (source.features() != width) {
            throw new IllegalArgumentException("Verifier.of: the tower '" + towerArch + "' outputs " + width
                    + " features, the head takes " + source.features());
        }
        Sequential layers = source.arch().build(new int[] {width}, new Rng(0));
        layers.loadStateDict(source.layers().stateDict(), true);
        SimilarityHead head = SimilarityHead.of(layers, source.arch(), width);
        head.eval();
        return new Verifier(copy, towerArch, towerArch.toString(), input, width, null, head, null, normalization,
                imagePreprocessing(input, normalization), Map.of(), fingerprint(towerArch, input, copy, head));
    }

    /** A copy of {@code model} in evaluation mode, after checking that {@code arch} describes it exactly. */
    private static Sequential copyTower(String op, Module model, ArchSpec arch, int[] inputShape) {
        Objects.requireNonNull(arch, op + ": arch is null");
        Objects.requireNonNull(inputShape, op + ": inputShape is null");
        List<String> differences = arch.differences(model, inputShape);
        if (!differences.isEmpty()) {
            throw new IllegalArgumentException(op + ": the spec '" + arch + "' for input "
                    + ArchSpec.formatInput(inputShape) + " does not describe the model: " + differences);
        }
        embeddingWidthOf(arch, inputShape);
        Sequential copy = arch.build(inputShape.clone(), new Rng(0));
        copy.loadStateDict(model.stateDict(), true);
        copy.eval();
        return copy;
    }

    private static int embeddingWidthOf(ArchSpec arch, int[] input) {
        try {
            return embeddingWidth(arch, input, "Verifier.of");
        } catch (ModelFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** This verifier with a hand-set threshold ({@code threshold_kind = manual}), in the score's units. */
    public Verifier withThreshold(double value) {
        return withThreshold(Threshold.manual(value));
    }

    /**
     * This verifier with {@code threshold}; the network is shared, not copied.
     *
     * @throws IllegalArgumentException for the infinity that would accept every pair ({@code +Infinity} for a
     *                                  distance model, {@code -Infinity} for a head model)
     */
    public Verifier withThreshold(Threshold threshold) {
        Objects.requireNonNull(threshold, "Verifier.withThreshold: threshold is null");
        String problem = acceptEverythingProblem(threshold.value(), scoreDirection());
        if (problem != null) {
            throw new IllegalArgumentException("Verifier.withThreshold: " + problem);
        }
        return new Verifier(model, arch, architecture, inputShape, embeddingSize, distance, head, threshold,
                normalization, preprocessing, extraMetadata, fingerprint);
    }

    /**
     * This verifier with another distance; drops the threshold, which was in the old distance's units.
     *
     * @throws IllegalStateException for a head model, which has no distance
     */
    public Verifier withDistance(Distance newDistance) {
        Objects.requireNonNull(newDistance, "Verifier.withDistance: distance is null");
        if (head != null) {
            throw new IllegalStateException("Verifier.withDistance: this model scores pairs with its learned "
                    + "similarity head (P(same)), not with a distance; there is no distance to change");
        }
        return new Verifier(model, arch, architecture, inputShape, embeddingSize, newDistance, null,
                newDistance == distance ? threshold : null, normalization, preprocessing, extraMetadata, fingerprint);
    }

    /**
     * Saves the network (and the head of a head model) with this verifier's distance, threshold and
     * normalisation in the metadata (see the class comment), atomically ({@link ModelFile#save}). Extra metadata
     * the loaded file had is kept.
     */
    public void save(Path file) throws IOException {
        if (arch == null) {
            throw new IllegalStateException("Verifier.save: the tower (" + architecture + ") has no arch spec, so it "
                    + "cannot be written as a siamese4j model file; keep its own file and write the threshold to "
                    + "its sidecar: sidecar(source).write(ModelSidecar.pathFor(modelFile))");
        }
        ModelFile.save(file, model, arch, inputShape, head == null ? null : head.toModelFileHead(), metadata());
    }

    // =====================================================================================================
    // Embedding
    // =====================================================================================================

    /**
     * The embedding of an image file (PGM, PNG, JPEG, ...), prepared as {@link #preprocessing()} says: read in grey
     * ({@link Images#read}) for a 1-channel model, in colour ({@link Images#readColor}) for a 3-channel one.
     */
    public float[] embed(Path image) throws IOException {
        Objects.requireNonNull(image, "Verifier.embed: image is null");
        return embedPrepared(requirePreprocessing().prepare(image), 1)[0];
    }

    /**
     * The embedding of an image at any size and maxval: scaled, resized, standardised as {@link #preprocessing()}
     * says, embedded; a 3-channel model gets the grey plane three times.
     */
    public float[] embed(GrayImage image) {
        return embedPrepared(requirePreprocessing().prepare(image), 1)[0];
    }

    /** The embedding of a colour image, for a 3-channel model (a grey model refuses: read the file in grey). */
    public float[] embed(ColorImage image) {
        return embedPrepared(requirePreprocessing().prepare(image), 1)[0];
    }

    /**
     * The embedding of one input of the model's exact shape (C*H*W values, row-major, planes in the model's channel
     * order, or F features) already in the preprocessing's pixel range ([0, 1] for a siamese4j model); the
     * standardisation, if any, is applied here.
     */
    public float[] embed(float[] input) {
        Objects.requireNonNull(input, "Verifier.embed: input is null");
        int size = inputSize();
        if (input.length != size) {
            throw new IllegalArgumentException("Verifier.embed: the model takes " + ArchSpec.formatInput(inputShape)
                    + " = " + size + " values per input, got " + input.length);
        }
        return embedPrepared(standardise(input.clone()), 1)[0];
    }

    /** Embeddings of many images, in order, in batches. */
    public float[][] embedAll(List<GrayImage> images) {
        Objects.requireNonNull(images, "Verifier.embedAll: images is null");
        Preprocessing p = requirePreprocessing();
        return embedPreparedAll(lazily(images.size(), i -> p.prepare(images.get(i))));
    }

    /**
     * Embeddings of image files, in order, in batches; each file is held at the model's input size from the
     * moment it is read, so many large photos take little memory.
     *
     * @throws IOException when a file cannot be read or decoded (naming it)
     */
    public float[][] embedFiles(List<Path> images) throws IOException {
        Objects.requireNonNull(images, "Verifier.embedFiles: images is null");
        Preprocessing p = requirePreprocessing();
        List<float[]> prepared = new ArrayList<>(images.size());
        for (Path image : images) {
            prepared.add(p.prepare(Objects.requireNonNull(image, "Verifier.embedFiles: an image is null")));
        }
        return embedPreparedAll(prepared);
    }

    /**
     * Embeddings of {@code count} inputs handed out by {@code batches} already prepared (in the model's input
     * shape, standardised: what {@link Preprocessing#prepare} gives), {@code batchSize} at a time, as
     * {@link Embeddings#of(Module, int, int, Embeddings.Batches)} computes them with this verifier's network. For
     * callers that read a large set a batch at a time; pick the batch size with {@link #samplesPerPass(int)}.
     */
    public <X extends Exception> float[][] embedBatches(int count, int batchSize, Embeddings.Batches<X> batches)
            throws X {
        Objects.requireNonNull(batches, "Verifier.embedBatches: batches is null");
        // the network is in eval mode for good: Embeddings sets eval mode and restores it, writing what is there
        return Embeddings.of(model, count, batchSize, batches);
    }

    /** {@code prepare(i)} for i in [0, size), computed when asked for, so a batch at a time is held. */
    private static List<float[]> lazily(int size, java.util.function.IntFunction<float[]> prepare) {
        return new java.util.AbstractList<>() {
            @Override
            public float[] get(int index) {
                return prepare.apply(index);
            }

            @Override
            public int size() {
                return size;
            }
        };
    }

    /** The prepared inputs in batches of {@link #imagesPerPass}; each element is asked for once. */
    private float[][] embedPreparedAll(List<float[]> prepared) {
        int size = inputSize();
        float[][] out = new float[prepared.size()][];
        for (int start = 0; start < prepared.size(); start += imagesPerPass) {
            int n = Math.min(imagesPerPass, prepared.size() - start);
            float[] batch = new float[n * size];
            for (int i = 0; i < n; i++) {
                System.arraycopy(prepared.get(start + i), 0, batch, i * size, size);
            }
            float[][] e = embedPrepared(batch, n);
            System.arraycopy(e, 0, out, start, n);
        }
        return out;
    }

    /**
     * Embeddings of every image of a dataset whose images are in [0, 1] (as {@code FaceFolders} and
     * {@code SyntheticFaces} make them), channels in RGB order, prepared as {@link #preprocessing()} says (images of
     * another height or width are resized).
     */
    public float[][] embedAll(ImageDataset data) {
        Objects.requireNonNull(data, "Verifier.embedAll: data is null");
        if (inputShape.length != 3) {
            throw new IllegalArgumentException("Verifier.embedAll: the model takes feature vectors ("
                    + ArchSpec.formatInput(inputShape) + "), not images; use embed(float[])");
        }
        int c = data.channels();
        if (c != inputShape[0]) {
            throw new IllegalArgumentException("Verifier.embedAll: the model takes " + inputShape[0]
                    + " channel(s) (input " + ArchSpec.formatInput(inputShape) + "), the dataset has " + c);
        }
        Preprocessing p = requirePreprocessing();
        int h = data.height();
        int w = data.width();
        float[] all = data.images().data();
        int srcSize = c * h * w;
        return embedPreparedAll(lazily(data.size(), i -> {
            float[] x = Arrays.copyOfRange(all, i * srcSize, (i + 1) * srcSize);
            return c == 1 ? p.prepare(GrayImage.of(h, w, 1f, x)) : p.prepare(ColorImage.of(h, w, 1f, x));
        }));
    }

    private Preprocessing requirePreprocessing() {
        if (preprocessing == null) {
            throw new IllegalArgumentException("Verifier: " + Preprocessing.imageInputProblem(inputShape)
                    + "; pass the input as float[] with embed(float[])");
        }
        return preprocessing;
    }

    /** In place: the preprocessing's standardisation, or the model file's for a model of feature vectors. */
    private float[] standardise(float[] x) {
        if (preprocessing != null) {
            return preprocessing.normalise(x);
        }
        if (normalization != null) {
            float mean = normalization.mean();
            float std = normalization.std();
            for (int i = 0; i < x.length; i++) {
                x[i] = (x[i] - mean) / std;
            }
        }
        return x;
    }

    /** One forward pass over {@code n} prepared inputs; eval mode, no graph. */
    private float[][] embedPrepared(float[] batch, int n) {
        int[] shape = new int[inputShape.length + 1];
        shape[0] = n;
        System.arraycopy(inputShape, 0, shape, 1, inputShape.length);
        float[] values;
        try (var noGrad = Tensor.noGrad()) {
            values = model.forward(Tensor.wrap(batch, shape)).data();
        }
        float[][] out = new float[n][];
        for (int i = 0; i < n; i++) {
            out[i] = Arrays.copyOfRange(values, i * embeddingSize, (i + 1) * embeddingSize);
            for (float v : out[i]) {
                if (!Float.isFinite(v)) {
                    throw new IllegalStateException("Verifier: the model produced a non-finite embedding value "
                            + v + " (input " + (i + 1) + " of " + n + "); check the input values and the weights");
                }
            }
        }
        return out;
    }

    // =====================================================================================================
    // Verifying
    // =====================================================================================================

    /**
     * This verifier's distance between two embeddings (of this model).
     *
     * @throws IllegalStateException for a head model, which scores pairs with its head: use {@link #score}
     */
    public double distance(float[] a, float[] b) {
        if (head != null) {
            throw new IllegalStateException("Verifier.distance: this model scores pairs with its learned similarity "
                    + "head (P(same), higher is more alike), not with a distance; use score(a, b)");
        }
        checkPair("Verifier.distance", a, b);
        return distance.between(a, b);
    }

    /**
     * The score of a pair of embeddings (of this model), the quantity the threshold applies to: the distance for a
     * distance model (lower is more alike), the head's P(same) for a head model (higher is more alike); see
     * {@link #scoreDirection()}.
     */
    public double score(float[] a, float[] b) {
        checkPair("Verifier.score", a, b);
        return head == null ? distance.between(a, b) : headScores(new float[][] {a}, new float[][] {b})[0];
    }

    /** Which end of {@link #score} means "same": LOWER_IS_SAME for a distance model, HIGHER_IS_SAME for a head. */
    public ScoreDirection scoreDirection() {
        return head == null ? ScoreDirection.LOWER_IS_SAME : ScoreDirection.HIGHER_IS_SAME;
    }

    private void checkPair(String op, float[] a, float[] b) {
        Objects.requireNonNull(a, op + ": a is null");
        Objects.requireNonNull(b, op + ": b is null");
        if (a.length != embeddingSize || b.length != embeddingSize) {
            throw new IllegalArgumentException(op + ": embeddings of this model have " + embeddingSize
                    + " values, got " + a.length + " and " + b.length);
        }
    }

    /**
     * The score of {@code probe} against each of {@code others}, in order (all checked to be of this model's
     * width). A head scores them in batches of {@value #HEAD_BATCH} pairs, one forward pass each.
     */
    double[] scoreAgainst(float[] probe, float[][] others) {
        float[][] first = new float[others.length][];
        for (int i = 0; i < others.length; i++) {
            checkPair("Verifier.score", probe, others[i]);
            first[i] = probe;
        }
        return scorePairs(first, others);
    }

    /** Scores of the pairs {@code (first[i], second[i])}; the embeddings must already be checked. */
    private double[] scorePairs(float[][] first, float[][] second) {
        if (head != null) {
            return headScores(first, second);
        }
        double[] out = new double[first.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = distance.between(first[i], second[i]);
        }
        return out;
    }

    /**
     * The scores of {@code probe} against rows {@code from} to {@code from + count - 1} of {@code rows}, a row-major
     * matrix of this model's embeddings, into {@code out[0 .. count-1]}: {@link #scoreAgainst} on a gallery's flat
     * storage, with no array per row. The rows must already be checked; a head scores them in batches of
     * {@value #HEAD_BATCH} pairs (fewer for a head too wide for that many in memory), one forward pass each.
     */
    void scoreAgainstRows(float[] probe, float[] rows, int from, int count, double[] out) {
        int d = embeddingSize;
        if (probe.length != d) {
            throw new IllegalArgumentException("Verifier.score: embeddings of this model have " + d + " values, got "
                    + probe.length);
        }
        Objects.checkFromIndexSize((long) from * d, (long) count * d, rows.length);
        if (head == null) {
            for (int i = 0; i < count; i++) {
                out[i] = distance.between(probe, rows, (from + i) * d);
            }
            return;
        }
        int perPass = pairsPerPass;
        float[] probes = new float[Math.min(perPass, count) * d];
        for (int i = 0; i < probes.length; i += d) {
            System.arraycopy(probe, 0, probes, i, d);
        }
        for (int start = 0; start < count; start += perPass) {
            int m = Math.min(perPass, count - start);
            float[] stored = Arrays.copyOfRange(rows, (from + start) * d, (from + start + m) * d);
            headBatch(m == perPass ? probes : Arrays.copyOf(probes, m * d), stored, m, out, start, count);
        }
    }

    /**
     * P(same) of each pair from the head's logits: the head in evaluation mode, no graph, up to
     * {@value #HEAD_BATCH} pairs per forward pass (fewer for a wide head, as for images); the sigmoid in double, as
     * {@link HeadSiameseNetwork#score}.
     */
    private double[] headScores(float[][] first, float[][] second) {
        int n = first.length;
        int d = embeddingSize;
        double[] out = new double[n];
        for (int start = 0; start < n; start += pairsPerPass) {
            int m = Math.min(pairsPerPass, n - start);
            float[] a = new float[m * d];
            float[] b = new float[m * d];
            for (int i = 0; i < m; i++) {
                System.arraycopy(first[start + i], 0, a, i * d, d);
                System.arraycopy(second[start + i], 0, b, i * d, d);
            }
            headBatch(a, b, m, out, start, n);
        }
        return out;
    }

    /**
     * P(same) of the {@code m} pairs (row i of {@code a}, row i of {@code b}), [m, D] each, in one forward pass,
     * into {@code out[at .. at+m-1]}; {@code n}, the pairs of the whole call, is for the message of a NaN.
     */
    private void headBatch(float[] a, float[] b, int m, double[] out, int at, int n) {
        int d = embeddingSize;
        float[] logits;
        try (var noGrad = Tensor.noGrad()) {
            logits = head.logits(Tensor.wrap(a, m, d), Tensor.wrap(b, m, d)).toArray();
        }
        for (int i = 0; i < m; i++) {
            if (Float.isNaN(logits[i])) {
                throw new IllegalStateException("Verifier: the similarity head produced a NaN logit (pair "
                        + (at + i + 1) + " of " + n + "); check the embeddings and the head's weights");
            }
            out[at + i] = sigmoid(logits[i]);
        }
    }

    /** 1 / (1 + e^-z) in double, with exp only of -|z| (no overflow); the same as HeadSiameseNetwork.score. */
    private static double sigmoid(float z) {
        if (z >= 0f) {
            return 1.0 / (1.0 + Math.exp(-(double) z));
        }
        double e = Math.exp(z);
        return e / (1.0 + e);
    }

    /** Whether two image files show the same person. */
    public Verification verify(Path a, Path b) throws IOException {
        Threshold t = requireThreshold();
        return decide(embed(a), embed(b), t);
    }

    /** Whether two images show the same person. */
    public Verification verify(GrayImage a, GrayImage b) {
        Threshold t = requireThreshold();
        return decide(embed(a), embed(b), t);
    }

    /** Whether two embeddings (from {@link #embed}) are of the same person. */
    public Verification verifyEmbeddings(float[] a, float[] b) {
        Threshold t = requireThreshold();
        return decide(a, b, t);
    }

    private Verification decide(float[] a, float[] b, Threshold t) {
        double s = score(a, b);
        ScoreDirection direction = scoreDirection();
        return new Verification(s, direction.accepts(s, t.value()), t.value(), distance, direction);
    }

    Threshold requireThreshold() {
        if (threshold == null) {
            throw new IllegalStateException("Verifier: the model is not calibrated (its file has no '"
                    + KEY_THRESHOLD + "' metadata); calibrate it on labelled images with calibrate(...) or set "
                    + "one with withThreshold(...)");
        }
        return threshold;
    }

    // =====================================================================================================
    // Verifying against several references
    // =====================================================================================================

    /**
     * Whether {@code probe} shows the person of several reference images: the probe is scored ({@link #score}: the
     * distance, or a head's P(same)) against every reference, each score is compared with the threshold, and
     * {@code policy} combines them ({@link MultiReferencePolicy}: by the fraction of references that pass, and by
     * the mean score; both are reported). The probe and the references are embedded together, in batches of up to
     * {@value #BATCH} images per forward pass, and a head scores all the references in one pass.
     *
     * <p>The threshold is the single-pair one ({@link #threshold()}): a reference passes exactly when
     * {@link #verify} would call it and the probe the same person. The result's direction is
     * {@link #scoreDirection()}: {@link ScoreDirection#LOWER_IS_SAME} for a distance model,
     * {@link ScoreDirection#HIGHER_IS_SAME} for a head model (a reference passes when its P(same) is at least the
     * threshold).
     *
     * @param references at least one image of the person
     * @throws IllegalStateException    when the verifier has no threshold (calibrate or set one first)
     * @throws IllegalArgumentException when {@code references} is empty or holds a null
     */
    public MultiReferenceVerification verifyAgainst(GrayImage probe, List<GrayImage> references,
                                                    MultiReferencePolicy policy) {
        Threshold t = requireThreshold();
        Objects.requireNonNull(probe, "Verifier.verifyAgainst: probe is null");
        checkReferences("Verifier.verifyAgainst", references);
        Objects.requireNonNull(policy, "Verifier.verifyAgainst: policy is null");
        List<GrayImage> all = new ArrayList<>(references.size() + 1);
        all.add(probe);
        all.addAll(references);
        List<String> names = new ArrayList<>(references.size());
        for (int i = 0; i < references.size(); i++) {
            names.add("reference " + i);
        }
        return decideAgainst(embedAll(all), names, t, policy);
    }

    /**
     * As {@link #verifyAgainst(GrayImage, List, MultiReferencePolicy)} for image files; every file is read before
     * anything is embedded, and each reference is named by its path in the result. Each image is held at the
     * model's input size from the moment it is read, so a folder of large photos takes little memory.
     *
     * @throws IOException when a file cannot be read or decoded (naming it)
     */
    public MultiReferenceVerification verifyAgainst(Path probe, List<Path> references, MultiReferencePolicy policy)
            throws IOException {
        Threshold t = requireThreshold();
        Objects.requireNonNull(probe, "Verifier.verifyAgainst: probe is null");
        checkReferences("Verifier.verifyAgainst", references);
        Objects.requireNonNull(policy, "Verifier.verifyAgainst: policy is null");
        List<Path> all = new ArrayList<>(references.size() + 1);
        all.add(probe);
        all.addAll(references);
        List<String> names = new ArrayList<>(references.size());
        for (Path ref : references) {
            names.add(ref.toString());
        }
        return decideAgainst(embedFiles(all), names, t, policy);
    }

    /**
     * As {@link #verifyAgainst(Path, List, MultiReferencePolicy)} with every image of a folder as a reference
     * ({@link #referenceImages}: the webcam-verifier layout, one folder of photos of the person).
     *
     * @throws IOException when the folder is missing, not a folder, or holds no image file, or an image cannot be
     *                     decoded (naming the folder or the file)
     */
    public MultiReferenceVerification verifyAgainstFolder(Path probe, Path referenceFolder,
                                                          MultiReferencePolicy policy) throws IOException {
        requireThreshold();
        return verifyAgainst(probe, referenceImages(referenceFolder), policy);
    }

    /**
     * As {@link #verifyAgainst(GrayImage, List, MultiReferencePolicy)} for embeddings already computed with
     * {@link #embed} (store a person's reference embeddings once, score each new photo against them).
     */
    public MultiReferenceVerification verifyEmbeddingAgainst(float[] probe, List<float[]> references,
                                                             MultiReferencePolicy policy) {
        Threshold t = requireThreshold();
        Objects.requireNonNull(probe, "Verifier.verifyEmbeddingAgainst: probe is null");
        checkReferences("Verifier.verifyEmbeddingAgainst", references);
        Objects.requireNonNull(policy, "Verifier.verifyEmbeddingAgainst: policy is null");
        float[][] all = new float[references.size() + 1][];
        all[0] = probe;
        List<String> names = new ArrayList<>(references.size());
        for (int i = 0; i < references.size(); i++) {
            all[i + 1] = references.get(i);
            names.add("reference " + i);
        }
        return decideAgainst(all, names, t, policy);
    }

    /**
     * The reference images of a folder: its non-hidden regular files whose extension is one of
     * {@link FaceFolders#IMAGE_EXTENSIONS} (case-insensitive), in {@link NaturalOrder} ({@code 2.png} before
     * {@code 10.png}). Other files and subfolders are ignored, so a notes file or a thumbnail folder does no harm.
     *
     * @throws NoSuchFileException   when the folder does not exist
     * @throws NotDirectoryException when it is a file
     * @throws IOException           when it holds no image file (naming the folder, the extensions looked for and
     *                               how many other entries were ignored)
     */
    public static List<Path> referenceImages(Path folder) throws IOException {
        Objects.requireNonNull(folder, "Verifier.referenceImages: folder is null");
        if (!Files.exists(folder)) {
            throw new NoSuchFileException(folder.toString(), null, "the reference folder does not exist");
        }
        if (!Files.isDirectory(folder)) {
            throw new NotDirectoryException(folder + " (references are given as a folder of images of one person)");
        }
        List<Path> images = new ArrayList<>();
        int ignored = 0;
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(folder)) {
            for (Path f : stream) {
                String name = f.getFileName().toString();
                int dot = name.lastIndexOf('.');
                boolean image = dot > 0
                        && FaceFolders.IMAGE_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
                if (image && !name.startsWith(".") && !Files.isHidden(f) && Files.isRegularFile(f)) {
                    images.add(f);
                } else {
                    ignored++;
                }
            }
        }
        if (images.isEmpty()) {
            throw new IOException(folder + ": no reference images in this folder (non-hidden files ending in ."
                    + String.join(", .", FaceFolders.IMAGE_EXTENSIONS.stream().sorted().toList()) + "; "
                    + ignored + " other entr" + (ignored == 1 ? "y" : "ies") + " ignored, subfolders are not "
                    + "searched)");
        }
        images.sort((a, b) -> NaturalOrder.INSTANCE.compare(a.getFileName().toString(),
                b.getFileName().toString()));
        return images;
    }

    private static void checkReferences(String op, List<?> references) {
        Objects.requireNonNull(references, op + ": references is null");
        if (references.isEmpty()) {
            throw new IllegalArgumentException(op + ": no reference images given; pass at least one image of the "
                    + "person to verify against");
        }
        for (int i = 0; i < references.size(); i++) {
            if (references.get(i) == null) {
                throw new IllegalArgumentException(op + ": reference " + i + " of " + references.size()
                        + " is null");
            }
        }
    }

    /** {@code embeddings[0]} is the probe, the rest the references in order. */
    private MultiReferenceVerification decideAgainst(float[][] embeddings, List<String> names, Threshold t,
                                                     MultiReferencePolicy policy) {
        double[] scores = scoreAgainst(embeddings[0], Arrays.copyOfRange(embeddings, 1, embeddings.length));
        return policy.decide(names, scores, scoreDirection(), t.value());
    }

    // =====================================================================================================
    // Calibrating
    // =====================================================================================================

    /**
     * This verifier with a threshold chosen on a labelled set (images in [0, 1], at least two people, ideally
     * people not seen in training). Up to {@value #ALL_PAIRS_UP_TO} images every pair is scored; beyond, a seeded
     * sample of up to {@value #SAMPLED_PAIRS} same-person and as many different-person pairs. Pairs are scored by
     * {@link #score}, so a head model's threshold is on P(same) (and a target FAR too strict for the pairs gives
     * {@code +Infinity}, accepting nothing, where a distance model gets {@code -Infinity}).
     *
     * @throws IllegalArgumentException when the set has no same-person or no different-person pair, or too few
     *                                  different pairs for the target FAR
     */
    public Verifier calibrate(ImageDataset labelled, Calibration calibration) {
        Objects.requireNonNull(labelled, "Verifier.calibrate: labelled is null");
        return withThreshold(calibrate(embedAll(labelled), labelled.labels(), calibration));
    }

    /**
     * This verifier with a threshold chosen on a folder of labelled faces (one subfolder per person, as
     * {@link FaceFolders#files} lists it), each image read and prepared as {@link #preprocessing()} says, a batch at
     * a time; see {@link #calibrate(ImageDataset, Calibration)} for the pairs scored.
     *
     * @throws IOException when the folder's layout is wrong or an image cannot be read (naming it)
     */
    public Verifier calibrate(Path folder, Calibration calibration) throws IOException {
        Objects.requireNonNull(folder, "Verifier.calibrate: folder is null");
        Objects.requireNonNull(calibration, "Verifier.calibrate: calibration is null");
        FaceFolders.LabelledFiles faces = FaceFolders.files(folder);
        LabelledImages images = requirePreprocessing().images(faces);
        float[][] embeddings = embedBatches(images.size(), imagesPerPass,
                (from, to) -> images.batch(LabelledImages.indices(from, to)));
        return withThreshold(calibrate(embeddings, faces.labels(), calibration));
    }

    /** The threshold {@code calibration} picks for these embeddings (of this model) and identity labels. */
    public Threshold calibrate(float[][] embeddings, int[] labels, Calibration calibration) {
        Objects.requireNonNull(embeddings, "Verifier.calibrate: embeddings is null");
        Objects.requireNonNull(labels, "Verifier.calibrate: labels is null");
        Objects.requireNonNull(calibration, "Verifier.calibrate: calibration is null");
        if (embeddings.length != labels.length) {
            throw new IllegalArgumentException("Verifier.calibrate: " + embeddings.length + " embeddings but "
                    + labels.length + " labels");
        }
        long same = samePairCount(labels);
        long total = (long) labels.length * (labels.length - 1) / 2;
        if (same == 0 || same == total) {
            throw new IllegalArgumentException("Verifier.calibrate: the labelled set has " + same
                    + " same-person and " + (total - same) + " different-person pairs; calibration needs both "
                    + "(at least two people, one of them with two images)");
        }
        ScoreDirection direction = scoreDirection();
        // A distance is computed pair by pair as the pairs are picked. A head scores pairs far faster in batches,
        // so for a head the pairs are picked first with a placeholder score of 0 and then scored together.
        ToDoubleBiFunction<float[], float[]> pickScore = head == null ? this::distance : (a, b) -> 0.0;
        ScoredPairs pairs = labels.length <= ALL_PAIRS_UP_TO
                ? ScoredPairs.all(embeddings, labels, pickScore, direction)
                : ScoredPairs.sampled(embeddings, labels, (int) Math.min(same, SAMPLED_PAIRS),
                (int) Math.min(total - same, SAMPLED_PAIRS), new Rng(SAMPLE_SEED), pickScore, direction);
        double[] scores;
        if (head == null) {
            scores = pairs.scores();
        } else {
            int[] first = pairs.first();
            int[] second = pairs.second();
            float[][] a = new float[first.length][];
            float[][] b = new float[first.length][];
            for (int i = 0; i < first.length; i++) {
                checkPair("Verifier.calibrate", embeddings[first[i]], embeddings[second[i]]);
                a[i] = embeddings[first[i]];
                b[i] = embeddings[second[i]];
            }
            scores = headScores(a, b);
        }
        boolean[] isSame = pairs.same();
        OperatingPoint p = calibration.kind() == Threshold.Kind.TARGET_FAR
                ? Thresholds.forFar(scores, isSame, direction, calibration.targetFar())
                : Thresholds.forBestAccuracy(scores, isSame, direction);
        OperatingPoint measured = Thresholds.evaluate(scores, isSame, direction, p.threshold());
        return new Threshold(p.threshold(), calibration.kind(), calibration.targetFar(), measured.tar(),
                measured.far(), measured.accuracy(), scores.length);
    }

    private static long samePairCount(int[] labels) {
        Map<Integer, Long> counts = new HashMap<>();
        for (int l : labels) {
            counts.merge(l, 1L, Long::sum);
        }
        long same = 0;
        for (long c : counts.values()) {
            same += c * (c - 1) / 2;
        }
        return same;
    }

    // =====================================================================================================
    // Description
    // =====================================================================================================

    /** The tower's arch spec; null for a tower without one ({@link #ofTower}, an imported network). */
    public ArchSpec arch() {
        return arch;
    }

    /** The tower in words: the canonical arch spec, or the description of a tower without one. */
    public String architecture() {
        return architecture;
    }

    /**
     * How an image becomes the model's input: the model file's own ({@link Preprocessing#of}) unless a sidecar or
     * {@link #withPreprocessing} replaced it; empty for a model that takes feature vectors.
     */
    public Optional<Preprocessing> preprocessing() {
        return Optional.ofNullable(preprocessing);
    }

    /**
     * What a sidecar beside this model would hold to load it as this verifier: the preprocessing, distance,
     * threshold and embedding size ({@link ModelSidecar}).
     *
     * @param source free text on where the model came from, or null
     */
    public ModelSidecar sidecar(String source) {
        Map<String, String> decision = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : metadata().entrySet()) {
            if (ModelSidecar.DECISION_KEYS.contains(e.getKey())) {
                decision.put(e.getKey(), e.getValue());
            }
        }
        return new ModelSidecar(preprocessing, decision, embeddingSize, source);
    }

    /** One input's shape, [C, H, W] or [F]. */
    public int[] inputShape() {
        return inputShape.clone();
    }

    /** Values per embedding. */
    public int embeddingSize() {
        return embeddingSize;
    }

    /** The distance between embeddings that a distance model decides by; null for a head model. */
    public Distance distanceKind() {
        return distance;
    }

    /** Whether this is a head model: pairs are scored by a learned similarity head's P(same), not a distance. */
    public boolean hasHead() {
        return head != null;
    }

    /** The similarity head's architecture, for a head model; empty for a distance model. */
    public Optional<ArchSpec> headArch() {
        return head == null ? Optional.empty() : Optional.of(head.arch());
    }

    /** The decision threshold; empty when the model is not calibrated. */
    public Optional<Threshold> threshold() {
        return Optional.ofNullable(threshold);
    }

    public Optional<Normalization> normalization() {
        return Optional.ofNullable(normalization);
    }

    /**
     * Identifies the network: {@code sha256:} and the hex SHA-256 of the canonical arch spec, the input shape and
     * every weight and buffer (names, shapes and float bits, in state-dict order; batch norm's
     * {@code num_batches_tracked} counter is left out, as it does not enter the maths), then, for a head model, the
     * head's spec, feature count, weights and buffers. Two verifiers with the same fingerprint compute the same
     * embeddings and scores; a {@link Gallery} records it to refuse another model.
     */
    public String fingerprint() {
        if (preprocessing == null || preprocessing.equals(imagePreprocessing(inputShape, normalization))) {
            return fingerprint;
        }
        // a preprocessing other than the model's own changes every embedding of an image
        MessageDigest sha = sha256();
        update(sha, fingerprint);
        update(sha, "preprocessing");
        update(sha, preprocessing.toString());
        return hex(sha);
    }

    /** The metadata {@link #save} writes besides {@link ModelFile}'s own keys. */
    public Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>(extraMetadata);
        if (distance != null) {
            m.put(KEY_DISTANCE, distance.name().toLowerCase(Locale.ROOT));
        }
        if (threshold != null) {
            m.put(KEY_THRESHOLD, Double.toString(threshold.value()));
            m.put(KEY_THRESHOLD_KIND, threshold.kind().token());
            putIfNumber(m, KEY_THRESHOLD_TARGET_FAR, threshold.targetFar());
            putIfNumber(m, KEY_THRESHOLD_TAR, threshold.tar());
            putIfNumber(m, KEY_THRESHOLD_FAR, threshold.far());
            putIfNumber(m, KEY_THRESHOLD_ACCURACY, threshold.accuracy());
            if (threshold.pairs() > 0) {
                m.put(KEY_THRESHOLD_PAIRS, Long.toString(threshold.pairs()));
            }
        }
        if (normalization != null) {
            m.put(KEY_INPUT_MEAN, Float.toString(normalization.mean()));
            m.put(KEY_INPUT_STD, Float.toString(normalization.std()));
        }
        return m;
    }

    private static void putIfNumber(Map<String, String> m, String key, double v) {
        if (!Double.isNaN(v)) {
            m.put(key, Double.toString(v));
        }
    }

    int inputSize() {
        int size = 1;
        for (int d : inputShape) {
            size *= d;
        }
        return size;
    }

    @Override
    public String toString() {
        return "Verifier[" + architecture + " on " + ArchSpec.formatInput(inputShape) + ", " + embeddingSize
                + "-d embeddings, " + (head == null ? distance.name().toLowerCase(Locale.ROOT)
                : "similarity head '" + head.arch() + "' (P(same))") + ", "
                + (threshold == null ? "not calibrated" : threshold.toString()) + "]";
    }

    // =====================================================================================================
    // Metadata parsing
    // =====================================================================================================

    private static int embeddingWidth(ArchSpec arch, int[] input, String src) throws ModelFormatException {
        int[] out = arch.outputShape(input);
        if (out.length != 1) {
            throw new ModelFormatException(src, "the model outputs " + Arrays.toString(out)
                    + " per input, not an embedding vector; a verifier needs a tower ending in flat features (add "
                    + "flatten and dense layers)", metadataField(ModelFile.KEY_ARCH));
        }
        return out[0];
    }

    private static Distance parseDistance(String src, String value, UnaryOperator<String> where)
            throws ModelFormatException {
        if (value == null) {
            return Distance.EUCLIDEAN;
        }
        for (Distance d : Distance.values()) {
            if (d.name().toLowerCase(Locale.ROOT).equals(value)) {
                return d;
            }
        }
        throw new ModelFormatException(src, "unknown distance '" + shorten(value)
                + "'; expected euclidean, squared_euclidean or cosine", where.apply(KEY_DISTANCE));
    }

    /**
     * Why a threshold would accept every pair (+Infinity on a distance, -Infinity on a probability), or null. The
     * other infinity, which accepts nothing, is what a target FAR too strict for the calibration pairs gives.
     */
    private static String acceptEverythingProblem(double value, ScoreDirection direction) {
        if (direction == ScoreDirection.LOWER_IS_SAME && value == Double.POSITIVE_INFINITY) {
            return "the threshold of a distance model must be a number or -Infinity (accepts nothing), got "
                    + "Infinity, which would accept every pair";
        }
        if (direction == ScoreDirection.HIGHER_IS_SAME && value == Double.NEGATIVE_INFINITY) {
            return "the threshold of a head model (on P(same)) must be a number or Infinity (accepts nothing), got "
                    + "-Infinity, which would accept every pair";
        }
        return null;
    }

    private static Threshold parseThreshold(String src, Map<String, String> meta, ScoreDirection direction,
                                            UnaryOperator<String> where) throws ModelFormatException {
        String value = meta.get(KEY_THRESHOLD);
        if (value == null) {
            for (String k : List.of(KEY_THRESHOLD_KIND, KEY_THRESHOLD_TARGET_FAR, KEY_THRESHOLD_TAR,
                    KEY_THRESHOLD_FAR, KEY_THRESHOLD_ACCURACY, KEY_THRESHOLD_PAIRS)) {
                if (meta.containsKey(k)) {
                    throw new ModelFormatException(src, "'" + k + "' is present but '" + KEY_THRESHOLD
                            + "' is not", where.apply(KEY_THRESHOLD));
                }
            }
            return null;
        }
        double t = number(src, KEY_THRESHOLD, value, where);
        String problem = acceptEverythingProblem(t, direction);
        if (problem != null) {
            throw new ModelFormatException(src, problem, where.apply(KEY_THRESHOLD));
        }
        String kindText = meta.getOrDefault(KEY_THRESHOLD_KIND, Threshold.Kind.MANUAL.token());
        Threshold.Kind kind = Threshold.Kind.byToken(kindText);
        if (kind == null) {
            throw new ModelFormatException(src, "unknown threshold kind '" + shorten(kindText)
                    + "'; expected manual, target_far or best_accuracy", where.apply(KEY_THRESHOLD_KIND));
        }
        double targetFar = optionalNumber(src, meta, KEY_THRESHOLD_TARGET_FAR, where);
        if (kind == Threshold.Kind.TARGET_FAR && !(targetFar > 0 && targetFar <= 1)) {
            throw new ModelFormatException(src, "threshold kind target_far needs '" + KEY_THRESHOLD_TARGET_FAR
                    + "' in (0, 1], got " + meta.get(KEY_THRESHOLD_TARGET_FAR),
                    where.apply(KEY_THRESHOLD_TARGET_FAR));
        }
        double tar = rate(src, meta, KEY_THRESHOLD_TAR, where);
        double far = rate(src, meta, KEY_THRESHOLD_FAR, where);
        double accuracy = rate(src, meta, KEY_THRESHOLD_ACCURACY, where);
        long pairs = 0;
        String pairsText = meta.get(KEY_THRESHOLD_PAIRS);
        if (pairsText != null) {
            try {
                pairs = Long.parseLong(pairsText);
            } catch (NumberFormatException e) {
                pairs = -1;
            }
            if (pairs < 0) {
                throw new ModelFormatException(src, "'" + KEY_THRESHOLD_PAIRS + "' must be a count, got '"
                        + shorten(pairsText) + "'", where.apply(KEY_THRESHOLD_PAIRS));
            }
        }
        return new Threshold(t, kind, kind == Threshold.Kind.TARGET_FAR ? targetFar : Double.NaN, tar, far,
                accuracy, pairs);
    }

    private static Normalization parseNormalization(String src, Map<String, String> meta,
                                                    UnaryOperator<String> where)
            throws ModelFormatException {
        String mean = meta.get(KEY_INPUT_MEAN);
        String std = meta.get(KEY_INPUT_STD);
        if (mean == null && std == null) {
            return null;
        }
        if (mean == null || std == null) {
            String missing = mean == null ? KEY_INPUT_MEAN : KEY_INPUT_STD;
            throw new ModelFormatException(src, "'" + KEY_INPUT_MEAN + "' and '" + KEY_INPUT_STD
                    + "' go together; '" + missing + "' is missing", where.apply(missing));
        }
        double m = number(src, KEY_INPUT_MEAN, mean, where);
        double s = number(src, KEY_INPUT_STD, std, where);
        try {
            return new Normalization((float) m, (float) s);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(src, e.getMessage(), where.apply(Double.isFinite(m) ? KEY_INPUT_STD
                    : KEY_INPUT_MEAN), e);
        }
    }

    /** A rate in [0, 1], or NaN when absent. */
    private static double rate(String src, Map<String, String> meta, String key, UnaryOperator<String> where)
            throws ModelFormatException {
        double v = optionalNumber(src, meta, key, where);
        if (!Double.isNaN(v) && !(v >= 0 && v <= 1)) {
            throw new ModelFormatException(src, "'" + key + "' must be in [0, 1], got " + meta.get(key),
                    where.apply(key));
        }
        return v;
    }

    private static double optionalNumber(String src, Map<String, String> meta, String key,
                                         UnaryOperator<String> where) throws ModelFormatException {
        String v = meta.get(key);
        return v == null ? Double.NaN : number(src, key, v, where);
    }

    /** A decimal number (infinities allowed, NaN not). */
    private static double number(String src, String key, String text, UnaryOperator<String> where)
            throws ModelFormatException {
        double v;
        try {
            v = Double.parseDouble(text.trim());
        } catch (NumberFormatException e) {
            throw new ModelFormatException(src, "'" + key + "' is not a number: '" + shorten(text) + "'",
                    where.apply(key), e);
        }
        if (Double.isNaN(v)) {
            throw new ModelFormatException(src, "'" + key + "' is NaN", where.apply(key));
        }
        return v;
    }

    static String metadataField(String key) {
        return "metadata field \"" + key + "\"";
    }

    /**
     * A value from a file, fit to quote in a message: control characters escaped as backslash-u and four hex digits (a terminal
     * would act on an escape sequence in a hostile file's name or metadata), cut to 80 characters.
     */
    static String shorten(String s) {
        String cut = s.length() <= 80 ? s : s.substring(0, 77) + "...";
        StringBuilder sb = null;
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            if (Character.isISOControl(c)) {
                if (sb == null) {
                    sb = new StringBuilder(cut.length() + 8).append(cut, 0, i);
                }
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else if (sb != null) {
                sb.append(c);
            }
        }
        return sb == null ? cut : sb.toString();
    }

    // =====================================================================================================
    // Fingerprint
    // =====================================================================================================

    private static String fingerprint(ArchSpec arch, int[] input, Module model, SimilarityHead head) {
        return fingerprint(arch.toString(), input, model, head);
    }

    /** {@code architecture}: the canonical spec, or for a tower without one its module structure. */
    private static String fingerprint(String architecture, int[] input, Module model, SimilarityHead head) {
        MessageDigest sha = sha256();
        update(sha, architecture);
        update(sha, ArchSpec.formatInput(input));
        updateState(sha, model);
        if (head != null) {
            // after the tower, so a distance model's fingerprint is what it always was
            update(sha, ModelFile.KEY_HEAD);
            update(sha, head.arch().toString());
            update(sha, Integer.toString(head.features()));
            updateState(sha, head);
        }
        return hex(sha);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    private static String hex(MessageDigest sha) {
        StringBuilder hex = new StringBuilder("sha256:");
        for (byte b : sha.digest()) {
            hex.append(String.format(Locale.ROOT, "%02x", b));
        }
        return hex.toString();
    }

    /** Every weight and buffer of {@code model}: names, shapes and float bits, in state-dict order. */
    private static void updateState(MessageDigest sha, Module model) {
        List<Map.Entry<String, Tensor>> entries = new ArrayList<>(model.stateDict().entrySet());
        for (Map.Entry<String, Tensor> e : entries) {
            String name = e.getKey();
            if (name.equals("num_batches_tracked") || name.endsWith(".num_batches_tracked")) {
                continue;
            }
            update(sha, name);
            Tensor t = e.getValue();
            int[] shape = t.shape();
            ByteBuffer header = ByteBuffer.allocate(4 * (shape.length + 1)).putInt(shape.length);
            for (int d : shape) {
                header.putInt(d);
            }
            sha.update(header.array());
            float[] data = t.data();
            ByteBuffer buf = ByteBuffer.allocate(4 * Math.min(data.length, 4096));
            for (int start = 0; start < data.length; start += 4096) {
                buf.clear();
                int end = Math.min(data.length, start + 4096);
                for (int i = start; i < end; i++) {
                    buf.putInt(Float.floatToIntBits(data[i]));
                }
                sha.update(buf.array(), 0, buf.position());
            }
        }
    }

    /** Length-prefixed, so ("ab", "c") and ("a", "bc") differ. */
    private static void update(MessageDigest sha, String s) {
        byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        sha.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
        sha.update(bytes);
    }
}
