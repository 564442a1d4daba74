package org.siamese4j.siamese.verify;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.siamese4j.io.AtomicFiles;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.tensor.Tensor;

/**
 * The people a {@link Verifier} can recognise: enrol a person from a few images (no retraining, the classic new
 * employee), identify a probe image as the nearest enrolled person or as unknown, remove people, save and load.
 *
 * <h2>Templates</h2>
 * Every embedding enrolled for a person is kept (not their mean), and a probe's distance to a person is the
 * smallest distance to any of them: the nearest neighbour. So identification compares exactly the quantity the
 * verifier's threshold was calibrated on, the distance between two single images, and a person photographed
 * under very different conditions keeps each condition. Enrolling an existing name adds to that person's
 * embeddings. The cost is one distance per stored embedding per probe (a gallery of 1,000 people with 5 images of
 * 128-d embeddings: 640,000 multiply-adds, well under a millisecond).
 *
 * <p>{@link #identify} answers the nearest person (ties broken by name, so the answer does not depend on
 * enrolment order) with their distance, and {@link Match#known()} when that distance is within the verifier's
 * threshold; above it, the probe is {@link Match#UNKNOWN unknown}.
 *
 * <p>With a verifier whose model has a learned similarity head ({@link Verifier#hasHead()}), "nearest" means the
 * highest P(same): the head scores the probe against every stored embedding (in one forward pass over all of
 * them), a person's score is their best one, and the probe is known when it is at least the threshold. The
 * embeddings stored are the tower's, and the file records the fingerprint of tower and head together.
 *
 * <h2>Threads</h2>
 * Any number of threads may identify, enrol and remove at once. The people are held in an immutable snapshot
 * that writers replace (copy on write, one writer at a time); a reader takes the current snapshot and works on it
 * without locking, so every answer is the answer for one consistent gallery state (that before or after each
 * concurrent write, never a half-written one), and no write is lost. Embedding images, the expensive part, runs
 * outside the writers' lock, concurrently (see {@link Verifier} on sharing the network).
 *
 * <h2>File</h2>
 * {@link #save} writes a safetensors file atomically and under the file's lock (through {@link AtomicFiles}); a new
 * file is readable by its owner only (0600 on POSIX file systems), an existing one keeps its permissions. Tensor
 * {@code person.<i>} [k_i, D] holds person i's embeddings, and the metadata holds
 * <table>
 * <caption>Gallery metadata</caption>
 * <tr><th>key</th><th>value</th></tr>
 * <tr><td>{@code format}</td><td>{@value #FORMAT}</td></tr>
 * <tr><td>{@code format_version}</td><td>{@code 1}</td></tr>
 * <tr><td>{@code model}</td><td>the {@link Verifier#fingerprint()} of the model that made the embeddings</td></tr>
 * <tr><td>{@code model_arch}, {@code model_input}</td><td>that model's arch spec and input shape (for
 *     messages)</td></tr>
 * <tr><td>{@code embedding_size}</td><td>D</td></tr>
 * <tr><td>{@code people}</td><td>the number of people n</td></tr>
 * <tr><td>{@code name.<i>}</td><td>person i's name, i = 0 .. n-1, in enrolment order</td></tr>
 * </table>
 * {@link #load} checks all of it (a {@link ModelFormatException} naming the field otherwise) and refuses a gallery
 * built with another model than the verifier's ({@link ModelMismatchException}).
 */
public final class Gallery {
    public static final String FORMAT = "siamese4j-gallery";
    public static final int FORMAT_VERSION = 1;

    static final String KEY_FORMAT = "format";
    static final String KEY_FORMAT_VERSION = "format_version";
    static final String KEY_MODEL = "model";
    static final String KEY_MODEL_ARCH = "model_arch";
    static final String KEY_MODEL_INPUT = "model_input";
    static final String KEY_EMBEDDING_SIZE = "embedding_size";
    static final String KEY_PEOPLE = "people";
    static final String NAME_PREFIX = "name.";
    static final String TENSOR_PREFIX = "person.";

    /** Longest name accepted. */
    public static final int MAX_NAME_LENGTH = 256;

    private final Verifier verifier;
    /** One writer at a time builds the next snapshot; readers never take it. */
    private final Object writeLock = new Object();
    /** Name to embeddings, enrolment order; the map and arrays are never modified once published. */
    private volatile Map<String, float[][]> people;
    /** See {@link #snapshotEntriesWritten()}; guarded by the write lock. */
    private long snapshotEntriesWritten;

    /** An empty gallery for {@code verifier}'s model. */
    public Gallery(Verifier verifier) {
        this(verifier, Map.of());
    }

    private Gallery(Verifier verifier, Map<String, float[][]> people) {
        this.verifier = Objects.requireNonNull(verifier, "Gallery: verifier is null");
        this.people = people;
    }

    public Verifier verifier() {
        return verifier;
    }

    // =====================================================================================================
    // Enrolling
    // =====================================================================================================

    /**
     * Enrols {@code name} from images of them (any size; prepared as the verifier prepares images). An existing
     * name gets these embeddings added to theirs.
     *
     * @throws IllegalArgumentException for a blank or over-long name, a name with control characters, or no image
     */
    public void enroll(String name, GrayImage... images) {
        checkName(name);
        Objects.requireNonNull(images, "Gallery.enroll: images is null");
        if (images.length == 0) {
            throw new IllegalArgumentException("Gallery.enroll: no image given for '" + name + "'");
        }
        enrollEmbeddings(name, verifier.embedAll(Arrays.asList(images)));
    }

    /** Enrols {@code name} from image files; all are read before the gallery changes. */
    public void enroll(String name, Path... images) throws IOException {
        checkName(name);
        Objects.requireNonNull(images, "Gallery.enroll: images is null");
        if (images.length == 0) {
            throw new IllegalArgumentException("Gallery.enroll: no image given for '" + name + "'");
        }
        float[][] embeddings = new float[images.length][];
        for (int i = 0; i < images.length; i++) {
            embeddings[i] = verifier.embed(images[i]);
        }
        enrollEmbeddings(name, embeddings);
    }

    /** Enrols {@code name} from embeddings of the verifier's model (copied). */
    public void enrollEmbeddings(String name, float[]... embeddings) {
        checkName(name);
        Objects.requireNonNull(embeddings, "Gallery.enrollEmbeddings: embeddings is null");
        if (embeddings.length == 0) {
            throw new IllegalArgumentException("Gallery.enrollEmbeddings: no embedding given for '" + name + "'");
        }
        float[][] copies = new float[embeddings.length][];
        for (int i = 0; i < embeddings.length; i++) {
            copies[i] = checkEmbedding("Gallery.enrollEmbeddings", embeddings[i], i);
        }
        synchronized (writeLock) {
            LinkedHashMap<String, float[][]> next = new LinkedHashMap<>(people);
            float[][] old = next.get(name);
            next.put(name, old == null ? copies : joined(old, copies));
            publish(next);
        }
    }

    /**
     * Enrols many people at once: each name with its embeddings of the verifier's model (copied), in the map's
     * iteration order. The same as {@link #enrollEmbeddings} once per entry (a name already enrolled gets these
     * embeddings added to theirs; a map holds each name once, so a batch has no duplicates of its own), but the
     * gallery is copied and replaced once for the whole batch, not once per person: enrolling n people one by one
     * copies 1 + 2 + ... + n entries (40,000 people took 16 s), this copies the gallery once.
     *
     * <p>All or nothing: every name and embedding is checked before the gallery changes, so a bad entry anywhere
     * leaves it as it was, and concurrent readers see the gallery before the batch or after all of it.
     *
     * @throws IllegalArgumentException for a bad name, a person without embeddings, or a bad embedding (null, wrong
     *                                  size, not finite), naming the person
     */
    public void enrollAll(Map<String, ? extends List<float[]>> batch) {
        Objects.requireNonNull(batch, "Gallery.enrollAll: batch is null");
        // checked and copied outside the lock: readers and other writers are not held up by a large batch
        LinkedHashMap<String, float[][]> copies = new LinkedHashMap<>(batch.size() * 2);
        for (Map.Entry<String, ? extends List<float[]>> e : batch.entrySet()) {
            String name = e.getKey();
            checkName(name);
            List<float[]> embeddings = e.getValue();
            if (embeddings == null || embeddings.isEmpty()) {
                throw new IllegalArgumentException("Gallery.enrollAll: no embedding given for '"
                        + Verifier.shorten(name) + "'");
            }
            float[][] rows = new float[embeddings.size()][];
            for (int i = 0; i < rows.length; i++) {
                rows[i] = checkEmbedding("Gallery.enrollAll: '" + Verifier.shorten(name) + "'", embeddings.get(i), i);
            }
            copies.put(name, rows);
        }
        if (copies.isEmpty()) {
            return;
        }
        synchronized (writeLock) {
            LinkedHashMap<String, float[][]> next = new LinkedHashMap<>(people);
            for (Map.Entry<String, float[][]> e : copies.entrySet()) {
                float[][] old = next.get(e.getKey());
                next.put(e.getKey(), old == null ? e.getValue() : joined(old, e.getValue()));
            }
            publish(next);
        }
    }

    private static float[][] joined(float[][] old, float[][] added) {
        float[][] joined = Arrays.copyOf(old, old.length + added.length);
        System.arraycopy(added, 0, joined, old.length, added.length);
        return joined;
    }

    /** Replaces the snapshot; the caller holds the write lock. */
    private void publish(LinkedHashMap<String, float[][]> next) {
        snapshotEntriesWritten += next.size();
        people = Collections.unmodifiableMap(next);
    }

    /**
     * People copied into new snapshots since this gallery was made (each write copies the whole gallery): lets a
     * test see that a batch costs one copy, without timing anything.
     */
    long snapshotEntriesWritten() {
        synchronized (writeLock) {
            return snapshotEntriesWritten;
        }
    }

    /** Removes a person; returns whether they were enrolled. */
    public boolean remove(String name) {
        Objects.requireNonNull(name, "Gallery.remove: name is null");
        synchronized (writeLock) {
            if (!people.containsKey(name)) {
                return false;
            }
            LinkedHashMap<String, float[][]> next = new LinkedHashMap<>(people);
            next.remove(name);
            publish(next);
            return true;
        }
    }

    /** The enrolled names, in enrolment order (a snapshot). */
    public List<String> names() {
        return List.copyOf(people.keySet());
    }

    public boolean contains(String name) {
        return people.containsKey(name);
    }

    /** Number of people. */
    public int size() {
        return people.size();
    }

    /** Copies of the embeddings stored for {@code name}; empty when not enrolled. */
    public float[][] embeddingsOf(String name) {
        float[][] stored = people.get(name);
        if (stored == null) {
            return new float[0][];
        }
        float[][] out = new float[stored.length][];
        for (int i = 0; i < stored.length; i++) {
            out[i] = stored[i].clone();
        }
        return out;
    }

    // =====================================================================================================
    // Identifying
    // =====================================================================================================

    /** The nearest enrolled person to an image file, or unknown. */
    public Match identify(Path image) throws IOException {
        Threshold t = verifier.requireThreshold();
        return nearest(verifier.embed(image), t);
    }

    /** The nearest enrolled person to an image, or unknown. */
    public Match identify(GrayImage image) {
        Threshold t = verifier.requireThreshold();
        return nearest(verifier.embed(image), t);
    }

    /** The nearest enrolled person to an embedding of the verifier's model, or unknown. */
    public Match identifyEmbedding(float[] embedding) {
        Threshold t = verifier.requireThreshold();
        return nearest(checkEmbedding("Gallery.identifyEmbedding", embedding, 0), t);
    }

    private Match nearest(float[] probe, Threshold t) {
        Map<String, float[][]> snapshot = people;
        // every stored embedding in one list, so a head scores them all in one pass
        List<String> owners = new ArrayList<>();
        List<float[]> stored = new ArrayList<>();
        for (Map.Entry<String, float[][]> e : snapshot.entrySet()) {
            for (float[] s : e.getValue()) {
                owners.add(e.getKey());
                stored.add(s);
            }
        }
        double[] scores = verifier.scoreAgainst(probe, stored.toArray(float[][]::new));
        ScoreDirection direction = verifier.scoreDirection();
        boolean lowerIsSame = direction == ScoreDirection.LOWER_IS_SAME;
        String best = null;
        double bestScore = lowerIsSame ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        for (int i = 0; i < scores.length; i++) {
            double s = scores[i];
            String name = owners.get(i);
            boolean better = lowerIsSame ? s < bestScore : s > bestScore;
            // ties go to the smaller name, so the answer does not depend on enrolment order
            if (best == null || better || (s == bestScore && name.compareTo(best) < 0)) {
                best = name;
                bestScore = s;
            }
        }
        return new Match(best, bestScore, t.value(), best != null && direction.accepts(bestScore, t.value()),
                direction);
    }

    // =====================================================================================================
    // Files
    // =====================================================================================================

    /** Writes the gallery atomically (see the class comment). */
    public void save(Path file) throws IOException {
        Objects.requireNonNull(file, "Gallery.save: file is null");
        Map<String, float[][]> snapshot = people;
        int d = verifier.embeddingSize();
        LinkedHashMap<String, String> meta = new LinkedHashMap<>();
        meta.put(KEY_FORMAT, FORMAT);
        meta.put(KEY_FORMAT_VERSION, Integer.toString(FORMAT_VERSION));
        meta.put(KEY_MODEL, verifier.fingerprint());
        meta.put(KEY_MODEL_ARCH, verifier.arch().toString());
        meta.put(KEY_MODEL_INPUT, ArchSpec.formatInput(verifier.inputShape()));
        meta.put(KEY_EMBEDDING_SIZE, Integer.toString(d));
        meta.put(KEY_PEOPLE, Integer.toString(snapshot.size()));
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        int i = 0;
        for (Map.Entry<String, float[][]> e : snapshot.entrySet()) {
            float[][] rows = e.getValue();
            float[] flat = new float[rows.length * d];
            for (int r = 0; r < rows.length; r++) {
                System.arraycopy(rows[r], 0, flat, r * d, d);
            }
            meta.put(NAME_PREFIX + i, e.getKey());
            tensors.put(TENSOR_PREFIX + i, Tensor.wrap(flat, rows.length, d));
            i++;
        }
        // a new gallery is private: face embeddings are biometric data; an existing one keeps its permissions
        try {
            AtomicFiles.writeLocked(file, AtomicFiles.OWNER_ONLY, out -> SafeTensors.write(out, tensors, meta));
        } catch (IllegalArgumentException e) {
            // one tensor and one name per person, 14 JSON values: about 71,000 people fill what a header may hold
            throw new IllegalArgumentException("Gallery.save: " + snapshot.size() + " people are more than one "
                    + "gallery file holds (" + e.getMessage() + "); " + file + " was not written", e);
        }
    }

    /**
     * The gallery saved in {@code file}, or a new empty one when the file does not exist yet: what an application
     * wants on its first run, before anyone is enrolled. Otherwise as {@link #load}.
     */
    public static Gallery loadOrCreate(Path file, Verifier verifier) throws IOException {
        Objects.requireNonNull(file, "Gallery.loadOrCreate: file is null");
        return Files.exists(file) ? load(file, verifier) : new Gallery(verifier);
    }

    /**
     * Reads a gallery written by {@link #save} for use with {@code verifier}.
     *
     * @throws ModelFormatException   for a damaged file or bad content, naming the field
     * @throws ModelMismatchException when the gallery was built with another model than {@code verifier}'s
     * @throws IOException            when the file cannot be read
     */
    public static Gallery load(Path file, Verifier verifier) throws IOException {
        Objects.requireNonNull(file, "Gallery.load: file is null");
        Objects.requireNonNull(verifier, "Gallery.load: verifier is null");
        String src = file.toString();
        SafeTensors.Contents contents = SafeTensors.read(file);
        Map<String, String> meta = contents.metadata();
        String format = meta.get(KEY_FORMAT);
        if (!FORMAT.equals(format)) {
            String hint = "siamese4j-model".equals(format) ? "; this is a model file, not a gallery"
                    : format == null ? "; this is not a gallery file" : "";
            throw new ModelFormatException(src, "format is " + (format == null ? "missing" : "'"
                    + Verifier.shorten(format) + "'") + ", expected '" + FORMAT + "'" + hint,
                    Verifier.metadataField(KEY_FORMAT));
        }
        int version = count(src, meta, KEY_FORMAT_VERSION);
        if (version < 1 || version > FORMAT_VERSION) {
            throw new ModelFormatException(src, "format_version " + version + " is not one this library reads (1 to "
                    + FORMAT_VERSION + ")", Verifier.metadataField(KEY_FORMAT_VERSION));
        }
        SafeTensors.requireFloating(contents, src); // after the format check: a model file is named as such
        String model = required(src, meta, KEY_MODEL);
        int d = count(src, meta, KEY_EMBEDDING_SIZE);
        if (d < 1) {
            throw new ModelFormatException(src, "embedding_size must be positive, got " + d,
                    Verifier.metadataField(KEY_EMBEDDING_SIZE));
        }
        int n = count(src, meta, KEY_PEOPLE);
        Map<String, Tensor> tensors = contents.tensors();
        if (n != tensors.size()) {
            throw new ModelFormatException(src, "people says " + n + " but the file holds " + tensors.size()
                    + " tensors", Verifier.metadataField(KEY_PEOPLE));
        }
        LinkedHashMap<String, float[][]> people = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String name = required(src, meta, NAME_PREFIX + i);
            String problem = nameProblem(name);
            if (problem != null) {
                throw new ModelFormatException(src, "bad name: " + problem, Verifier.metadataField(NAME_PREFIX + i));
            }
            if (people.containsKey(name)) {
                throw new ModelFormatException(src, "name '" + Verifier.shorten(name) + "' appears twice",
                        Verifier.metadataField(NAME_PREFIX + i));
            }
            Tensor t = tensors.get(TENSOR_PREFIX + i);
            if (t == null) {
                throw new ModelFormatException(src, "tensor '" + TENSOR_PREFIX + i + "' (the embeddings of '"
                        + Verifier.shorten(name) + "') is missing; the tensors are " + names(tensors.keySet()),
                        "header");
            }
            int[] shape = t.shape();
            if (shape.length != 2 || shape[0] < 1 || shape[1] != d) {
                throw new ModelFormatException(src, "tensor '" + TENSOR_PREFIX + i + "' has shape "
                        + Arrays.toString(shape) + ", expected [k, " + d + "] with k >= 1",
                        "header field \"" + TENSOR_PREFIX + i + "\".shape");
            }
            float[] data = t.data();
            float[][] rows = new float[shape[0]][];
            for (int r = 0; r < rows.length; r++) {
                rows[r] = Arrays.copyOfRange(data, r * d, (r + 1) * d);
            }
            people.put(name, rows);
        }
        if (!model.equals(verifier.fingerprint()) || d != verifier.embeddingSize()) {
            throw new ModelMismatchException(src + ": the gallery was built with another model ("
                    + Verifier.shorten(meta.getOrDefault(KEY_MODEL_ARCH, "?")) + " on "
                    + Verifier.shorten(meta.getOrDefault(KEY_MODEL_INPUT, "?")) + ", " + Verifier.shorten(model)
                    + ") than the one given (" + verifier.arch() + " on "
                    + ArchSpec.formatInput(verifier.inputShape()) + ", " + verifier.fingerprint()
                    + "); load the model it was built with, or enrol the people again with this one");
        }
        return new Gallery(verifier, Collections.unmodifiableMap(people));
    }

    private static String names(Set<String> names) {
        List<String> list = new ArrayList<>();
        for (String s : names) {
            if (list.size() == 5) {
                list.add("...");
                break;
            }
            list.add("'" + Verifier.shorten(s) + "'");
        }
        return String.join(", ", list);
    }

    private static String required(String src, Map<String, String> meta, String key) throws ModelFormatException {
        String v = meta.get(key);
        if (v == null) {
            throw new ModelFormatException(src, "the metadata has no '" + key + "' key", Verifier.metadataField(key));
        }
        return v;
    }

    private static int count(String src, Map<String, String> meta, String key) throws ModelFormatException {
        String v = required(src, meta, key);
        try {
            int c = Integer.parseInt(v);
            if (c >= 0) {
                return c;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new ModelFormatException(src, "'" + key + "' must be a non-negative integer, got '"
                + Verifier.shorten(v) + "'", Verifier.metadataField(key));
    }

    // =====================================================================================================
    // Checks
    // =====================================================================================================

    private static void checkName(String name) {
        if (name == null) {
            throw new IllegalArgumentException("Gallery: name is null");
        }
        String problem = nameProblem(name);
        if (problem != null) {
            throw new IllegalArgumentException("Gallery: " + problem);
        }
    }

    /** Why a name is refused, or null. */
    private static String nameProblem(String name) {
        if (name.isBlank()) {
            return "a name must not be blank, got '" + name + "'";
        }
        if (name.length() > MAX_NAME_LENGTH) {
            return "a name may have at most " + MAX_NAME_LENGTH + " characters, got " + name.length();
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (Character.isISOControl(c)) {
                return "name '" + Verifier.shorten(name) + "' has a control character at index " + i;
            }
            if (Character.isHighSurrogate(c) && i + 1 < name.length() && Character.isLowSurrogate(name.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return "name has an unpaired surrogate at index " + i + " (not valid Unicode text)";
            }
        }
        return null;
    }

    private float[] checkEmbedding(String op, float[] e, int index) {
        if (e == null) {
            throw new IllegalArgumentException(op + ": embedding " + index + " is null");
        }
        if (e.length != verifier.embeddingSize()) {
            throw new IllegalArgumentException(op + ": the model's embeddings have " + verifier.embeddingSize()
                    + " values, embedding " + index + " has " + e.length);
        }
        for (int k = 0; k < e.length; k++) {
            if (!Float.isFinite(e[k])) {
                throw new IllegalArgumentException(op + ": embedding " + index + " holds " + e[k] + " at " + k);
            }
        }
        return e.clone();
    }

    @Override
    public String toString() {
        return "Gallery[" + size() + " people, " + verifier + "]";
    }
}
