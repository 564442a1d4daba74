package org.siamese4j.siamese.verify;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
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
 * embeddings. The cost is one distance per stored embedding per probe, in one pass over a single array of all of
 * them (a gallery of 1,000 people with 5 images of 128-d embeddings: 640,000 multiply-adds, well under a
 * millisecond).
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
 * outside the writers' lock, concurrently (see {@link Verifier} on sharing the network). Each write copies every
 * stored embedding into the next snapshot, so enrol many people with {@link #enrollAll}, one copy for all.
 *
 * <h2>File</h2>
 * {@link #save} writes a safetensors file atomically and under the file's lock (through {@link AtomicFiles}); a new
 * file is readable by its owner only (0600 on POSIX file systems), an existing one keeps its permissions. Format
 * version 2, which {@link #save} writes, holds three tensors whatever the number of people, so the file's header
 * stays the same size (version 1 had a tensor and a name per person, and its header's limit of a million JSON
 * values stopped it near 70,000 people):
 * <table>
 * <caption>Gallery tensors, version 2</caption>
 * <tr><th>tensor</th><th>dtype, shape</th><th>content</th></tr>
 * <tr><td>{@code embeddings}</td><td>F32 [rows, D]</td><td>every stored embedding, person after person in
 *     enrolment order, each person's in the order enrolled</td></tr>
 * <tr><td>{@code counts}</td><td>I64 [n]</td><td>how many rows person i has, each from 1 to
 *     {@link #MAX_EMBEDDINGS_PER_PERSON}, adding up to rows</td></tr>
 * <tr><td>{@code names}</td><td>U8 [bytes]</td><td>the n names in enrolment order, in UTF-8, separated by
 *     {@code '\n'} (a name cannot hold a control character); no bytes for an empty gallery</td></tr>
 * </table>
 * and the metadata holds
 * <table>
 * <caption>Gallery metadata</caption>
 * <tr><th>key</th><th>value</th></tr>
 * <tr><td>{@code format}</td><td>{@value #FORMAT}</td></tr>
 * <tr><td>{@code format_version}</td><td>{@code 2} ({@code 1} in files of older versions)</td></tr>
 * <tr><td>{@code model}</td><td>the {@link Verifier#fingerprint()} of the model that made the embeddings</td></tr>
 * <tr><td>{@code model_arch}, {@code model_input}</td><td>that model's arch spec and input shape (for
 *     messages)</td></tr>
 * <tr><td>{@code embedding_size}</td><td>D</td></tr>
 * <tr><td>{@code people}</td><td>the number of people n</td></tr>
 * </table>
 * Version 1, still read, has the same metadata, plus {@code name.<i>}, person i's name (i = 0 .. n-1, in enrolment
 * order), and instead of the three tensors one tensor {@code person.<i>} [k_i, D] per person.
 * {@link #load} treats the file as hostile: the counts must match the rows and the names the people, names must
 * be ones {@link #enroll} accepts and differ, and no tensor but these may be present; what it allocates is bounded
 * by the file's size, since every size it uses is checked against a tensor the file holds.
 * {@link #load} checks all of it (a {@link ModelFormatException} naming the field otherwise) and refuses a gallery
 * built with another model than the verifier's ({@link ModelMismatchException}).
 */
public final class Gallery {
    public static final String FORMAT = "siamese4j-gallery";
    /** The version {@link #save} writes; {@link #load} reads it and version 1. */
    public static final int FORMAT_VERSION = 2;

    static final String KEY_FORMAT = "format";
    static final String KEY_FORMAT_VERSION = "format_version";
    static final String KEY_MODEL = "model";
    static final String KEY_MODEL_ARCH = "model_arch";
    static final String KEY_MODEL_INPUT = "model_input";
    static final String KEY_EMBEDDING_SIZE = "embedding_size";
    static final String KEY_PEOPLE = "people";
    /** Version 2: every embedding, [rows, D], person after person in enrolment order. */
    static final String TENSOR_EMBEDDINGS = "embeddings";
    /** Version 2: how many rows of the embeddings each person has, [n], I64. */
    static final String TENSOR_COUNTS = "counts";
    /** Version 2: the names in enrolment order, UTF-8, separated by '\n', U8. */
    static final String TENSOR_NAMES = "names";
    /** Version 1: metadata {@code name.<i>} is person i's name. */
    static final String NAME_PREFIX = "name.";
    /** Version 1: tensor {@code person.<i>} holds person i's embeddings. */
    static final String TENSOR_PREFIX = "person.";

    /** Longest name accepted. */
    public static final int MAX_NAME_LENGTH = 256;
    /**
     * Most embeddings one person may have: 2^24, the largest count a file's counts (read as float32, like every
     * safetensors value here) hold exactly.
     */
    public static final int MAX_EMBEDDINGS_PER_PERSON = 1 << 24;
    /** Most floats a gallery holds, all embeddings together: one Java array. */
    private static final long MAX_VALUES = Integer.MAX_VALUE - 8;
    /** Stored embeddings scored per call of the verifier, so the scores of any gallery fit a small buffer. */
    private static final int SCORE_BLOCK = 4096;

    private final Verifier verifier;
    /** One writer at a time builds the next snapshot; readers never take it. */
    private final Object writeLock = new Object();
    /** The current people; never modified once published, replaced by writers. */
    private volatile People people;
    /** See {@link #snapshotEntriesWritten()}; guarded by the write lock. */
    private long snapshotEntriesWritten;

    /**
     * One gallery state, never modified once published. Person p (in enrolment order) is {@code names[p]}, whose
     * embeddings are rows {@code first[p]} to {@code first[p+1] - 1} of {@code embeddings}, a row-major [rows, D]
     * matrix: the layout of the file, and one array for identify to scan. {@code index} maps a name to p.
     */
    private record People(String[] names, int[] first, float[] embeddings, Map<String, Integer> index) {
        static final People EMPTY = of(new String[0], new int[1], new float[0]);

        static People of(String[] names, int[] first, float[] embeddings) {
            Map<String, Integer> index = new HashMap<>((int) Math.min(Integer.MAX_VALUE, names.length * 4L / 3 + 1));
            for (int p = 0; p < names.length; p++) {
                index.put(names[p], p);
            }
            return new People(names, first, embeddings, index);
        }

        int size() {
            return names.length;
        }

        int rows() {
            return first[names.length];
        }

        int rowsOf(int p) {
            return first[p + 1] - first[p];
        }
    }

    /** An empty gallery for {@code verifier}'s model. */
    public Gallery(Verifier verifier) {
        this(verifier, People.EMPTY);
    }

    private Gallery(Verifier verifier, People people) {
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
        LinkedHashMap<String, float[][]> batch = new LinkedHashMap<>();
        batch.put(name, copies);
        synchronized (writeLock) {
            publish(with(people, batch, verifier.embeddingSize()));
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
            publish(with(people, copies, verifier.embeddingSize()));
        }
    }

    /**
     * {@code old} with the embeddings of {@code batch} (checked copies of this model's width) added: a name already
     * enrolled gets them after theirs, a new name comes after everyone, in the batch's order.
     *
     * @throws IllegalArgumentException when a person would have more than {@link #MAX_EMBEDDINGS_PER_PERSON}
     *                                  embeddings, or the gallery more floats than one array holds
     */
    private static People with(People old, LinkedHashMap<String, float[][]> batch, int d) {
        int n = old.size();
        // people already enrolled who get more embeddings, in person order; new people, in batch order
        TreeMap<Integer, float[][]> added = new TreeMap<>();
        List<Map.Entry<String, float[][]>> fresh = new ArrayList<>();
        long rows = old.rows();
        for (Map.Entry<String, float[][]> e : batch.entrySet()) {
            Integer p = old.index().get(e.getKey());
            long count = e.getValue().length + (p == null ? 0 : old.rowsOf(p));
            if (count > MAX_EMBEDDINGS_PER_PERSON) {
                throw new IllegalArgumentException("Gallery: '" + Verifier.shorten(e.getKey()) + "' would have "
                        + count + " embeddings, more than the " + MAX_EMBEDDINGS_PER_PERSON + " a person may have");
            }
            if (p == null) {
                fresh.add(e);
            } else {
                added.put(p, e.getValue());
            }
            rows += e.getValue().length;
        }
        if (rows * d > MAX_VALUES) {
            throw new IllegalArgumentException("Gallery: " + rows + " embeddings of " + d + " values are more than"
                    + " one gallery holds (" + MAX_VALUES + " values, one Java array)");
        }
        String[] names = Arrays.copyOf(old.names(), n + fresh.size());
        int[] first = new int[names.length + 1];
        float[] embeddings = new float[(int) (rows * d)];
        int row = 0;    // the next free row of the new matrix
        int next = 0;   // the next old person to copy
        for (Map.Entry<Integer, float[][]> e : added.entrySet()) {
            int p = e.getKey();
            row = copyPeople(old, next, p + 1, first, embeddings, row, d);
            row = appendRows(e.getValue(), embeddings, row, d); // right after p's own rows
            next = p + 1;
        }
        row = copyPeople(old, next, n, first, embeddings, row, d);
        for (int i = 0; i < fresh.size(); i++) {
            names[n + i] = fresh.get(i).getKey();
            first[n + i] = row;
            row = appendRows(fresh.get(i).getValue(), embeddings, row, d);
        }
        first[names.length] = row;
        return People.of(names, first, embeddings);
    }

    /**
     * Copies old people {@code from} to {@code to - 1} (their rows are contiguous: one copy) to row {@code row} of
     * {@code embeddings}, setting their {@code first}; returns the next free row.
     */
    private static int copyPeople(People old, int from, int to, int[] first, float[] embeddings, int row, int d) {
        int shift = row - old.first()[from];
        for (int p = from; p < to; p++) {
            first[p] = old.first()[p] + shift;
        }
        int count = old.first()[to] - old.first()[from];
        System.arraycopy(old.embeddings(), old.first()[from] * d, embeddings, row * d, count * d);
        return row + count;
    }

    private static int appendRows(float[][] rows, float[] embeddings, int row, int d) {
        for (float[] r : rows) {
            System.arraycopy(r, 0, embeddings, row * d, d);
            row++;
        }
        return row;
    }

    /** {@code old} without person p. */
    private static People without(People old, int p, int d) {
        int n = old.size();
        String[] names = new String[n - 1];
        System.arraycopy(old.names(), 0, names, 0, p);
        System.arraycopy(old.names(), p + 1, names, p, n - 1 - p);
        int removed = old.rowsOf(p);
        int[] first = new int[n];
        System.arraycopy(old.first(), 0, first, 0, p);
        for (int q = p; q < n; q++) {
            first[q] = old.first()[q + 1] - removed;
        }
        float[] embeddings = new float[(old.rows() - removed) * d];
        System.arraycopy(old.embeddings(), 0, embeddings, 0, old.first()[p] * d);
        System.arraycopy(old.embeddings(), old.first()[p + 1] * d, embeddings, old.first()[p] * d,
                (old.rows() - old.first()[p + 1]) * d);
        return People.of(names, first, embeddings);
    }

    /** Replaces the snapshot; the caller holds the write lock. */
    private void publish(People next) {
        snapshotEntriesWritten += next.size();
        people = next;
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
            Integer p = people.index().get(name);
            if (p == null) {
                return false;
            }
            publish(without(people, p, verifier.embeddingSize()));
            return true;
        }
    }

    /** The enrolled names, in enrolment order (a snapshot). */
    public List<String> names() {
        return List.of(people.names());
    }

    public boolean contains(String name) {
        return people.index().containsKey(name);
    }

    /** Number of people. */
    public int size() {
        return people.size();
    }

    /** Copies of the embeddings stored for {@code name}; empty when not enrolled. */
    public float[][] embeddingsOf(String name) {
        People s = people;
        Integer p = s.index().get(name);
        if (p == null) {
            return new float[0][];
        }
        int d = verifier.embeddingSize();
        float[][] out = new float[s.rowsOf(p)][];
        for (int i = 0; i < out.length; i++) {
            int from = (s.first()[p] + i) * d;
            out[i] = Arrays.copyOfRange(s.embeddings(), from, from + d);
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
        People s = people;
        ScoreDirection direction = verifier.scoreDirection();
        boolean lowerIsSame = direction == ScoreDirection.LOWER_IS_SAME;
        int best = -1;
        double bestScore = lowerIsSame ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        // one pass over the stored rows, in blocks so the scores need no array as large as the gallery
        int rows = s.rows();
        double[] scores = new double[Math.min(SCORE_BLOCK, rows)];
        int p = 0; // the owner of the current row: first[p] <= row < first[p + 1]
        for (int from = 0; from < rows; from += SCORE_BLOCK) {
            int count = Math.min(SCORE_BLOCK, rows - from);
            verifier.scoreAgainstRows(probe, s.embeddings(), from, count, scores);
            for (int i = 0; i < count; i++) {
                while (from + i >= s.first()[p + 1]) {
                    p++;
                }
                double score = scores[i];
                boolean better = lowerIsSame ? score < bestScore : score > bestScore;
                // ties go to the smaller name, so the answer does not depend on enrolment order
                if (best < 0 || better || (score == bestScore && s.names()[p].compareTo(s.names()[best]) < 0)) {
                    best = p;
                    bestScore = score;
                }
            }
        }
        return new Match(best < 0 ? null : s.names()[best], bestScore, t.value(),
                best >= 0 && direction.accepts(bestScore, t.value()), direction);
    }

    // =====================================================================================================
    // Files
    // =====================================================================================================

    /** Writes the gallery atomically, in format version 2 (see the class comment). */
    public void save(Path file) throws IOException {
        Objects.requireNonNull(file, "Gallery.save: file is null");
        People s = people;
        int d = verifier.embeddingSize();
        LinkedHashMap<String, String> meta = new LinkedHashMap<>();
        meta.put(KEY_FORMAT, FORMAT);
        meta.put(KEY_FORMAT_VERSION, Integer.toString(FORMAT_VERSION));
        meta.put(KEY_MODEL, verifier.fingerprint());
        meta.put(KEY_MODEL_ARCH, verifier.architecture());
        meta.put(KEY_MODEL_INPUT, ArchSpec.formatInput(verifier.inputShape()));
        meta.put(KEY_EMBEDDING_SIZE, Integer.toString(d));
        meta.put(KEY_PEOPLE, Integer.toString(s.size()));
        float[] counts = new float[s.size()];
        for (int p = 0; p < counts.length; p++) {
            counts[p] = s.rowsOf(p); // at most MAX_EMBEDDINGS_PER_PERSON: exact
        }
        // names may not hold control characters, so a newline separates them unambiguously
        byte[] utf8 = String.join("\n", s.names()).getBytes(StandardCharsets.UTF_8);
        float[] nameBytes = new float[utf8.length];
        for (int i = 0; i < utf8.length; i++) {
            nameBytes[i] = utf8[i] & 0xff;
        }
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put(TENSOR_EMBEDDINGS, Tensor.wrap(s.embeddings(), s.rows(), d));
        tensors.put(TENSOR_COUNTS, Tensor.wrap(counts, counts.length));
        tensors.put(TENSOR_NAMES, Tensor.wrap(nameBytes, nameBytes.length));
        // a new gallery is private: face embeddings are biometric data; an existing one keeps its permissions
        AtomicFiles.writeLocked(file, AtomicFiles.OWNER_ONLY, out -> SafeTensors.write(out, tensors, meta,
                Set.of(TENSOR_COUNTS), Set.of(TENSOR_NAMES)));
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
        String model = required(src, meta, KEY_MODEL);
        int d = count(src, meta, KEY_EMBEDDING_SIZE);
        if (d < 1) {
            throw new ModelFormatException(src, "embedding_size must be positive, got " + d,
                    Verifier.metadataField(KEY_EMBEDDING_SIZE));
        }
        int n = count(src, meta, KEY_PEOPLE);
        People people = version == 1 ? readVersion1(src, contents, n, d) : readVersion2(src, contents, n, d);
        if (!model.equals(verifier.fingerprint()) || d != verifier.embeddingSize()) {
            throw new ModelMismatchException(src + ": the gallery was built with another model ("
                    + Verifier.shorten(meta.getOrDefault(KEY_MODEL_ARCH, "?")) + " on "
                    + Verifier.shorten(meta.getOrDefault(KEY_MODEL_INPUT, "?")) + ", " + Verifier.shorten(model)
                    + ") than the one given (" + verifier.architecture() + " on "
                    + ArchSpec.formatInput(verifier.inputShape()) + ", " + verifier.fingerprint()
                    + "); load the model it was built with, or enrol the people again with this one");
        }
        return new Gallery(verifier, people);
    }

    /**
     * Version 2: tensors embeddings [rows, D] (floating point), counts [n] (integers >= 1 adding up to rows) and
     * names (U8: n valid names in UTF-8, separated by '\n', no two alike), and nothing else. Every size is checked
     * against a tensor before anything is allocated for it, so what is allocated is bounded by the file's size.
     */
    private static People readVersion2(String src, SafeTensors.Contents contents, int n, int d)
            throws ModelFormatException {
        Map<String, Tensor> tensors = contents.tensors();
        Set<String> expected = Set.of(TENSOR_EMBEDDINGS, TENSOR_COUNTS, TENSOR_NAMES);
        for (String name : tensors.keySet()) {
            if (!expected.contains(name)) {
                throw new ModelFormatException(src, "unexpected tensor '" + Verifier.shorten(name) + "': a version 2"
                        + " gallery holds the tensors embeddings, counts and names", headerField(name));
            }
        }
        Tensor embeddings = requiredTensor(src, tensors, TENSOR_EMBEDDINGS);
        Tensor counts = requiredTensor(src, tensors, TENSOR_COUNTS);
        Tensor names = requiredTensor(src, tensors, TENSOR_NAMES);
        if (contents.isInteger(TENSOR_EMBEDDINGS)) {
            throw new ModelFormatException(src, "tensor 'embeddings' has the integer dtype "
                    + contents.dtypes().get(TENSOR_EMBEDDINGS) + " where floating point (" + SafeTensors.FLOAT_DTYPES
                    + ") is expected", headerField(TENSOR_EMBEDDINGS) + ".dtype");
        }
        if (!contents.isInteger(TENSOR_COUNTS)) {
            throw new ModelFormatException(src, "tensor 'counts' has the dtype " + contents.dtypes().get(TENSOR_COUNTS)
                    + " where an integer dtype (I64) is expected", headerField(TENSOR_COUNTS) + ".dtype");
        }
        if (!"U8".equals(contents.dtypes().get(TENSOR_NAMES))) {
            throw new ModelFormatException(src, "tensor 'names' has the dtype " + contents.dtypes().get(TENSOR_NAMES)
                    + " where U8 (UTF-8 bytes) is expected", headerField(TENSOR_NAMES) + ".dtype");
        }
        int[] shape = embeddings.shape();
        if (shape.length != 2 || shape[1] != d) {
            throw new ModelFormatException(src, "tensor 'embeddings' has shape " + Arrays.toString(shape)
                    + ", expected [rows, " + d + "] (embedding_size is " + d + ")",
                    headerField(TENSOR_EMBEDDINGS) + ".shape");
        }
        if (counts.rank() != 1 || counts.dim(0) != n) {
            throw new ModelFormatException(src, "tensor 'counts' has shape " + Arrays.toString(counts.shape())
                    + ", expected [" + n + "], one count per person (people is " + n + ")",
                    headerField(TENSOR_COUNTS) + ".shape");
        }
        if (names.rank() != 1) {
            throw new ModelFormatException(src, "tensor 'names' has shape " + Arrays.toString(names.shape())
                    + ", expected [bytes]", headerField(TENSOR_NAMES) + ".shape");
        }
        // counts: who owns which rows
        float[] k = counts.data();
        long rows = 0;
        for (int p = 0; p < n; p++) {
            if (!(k[p] >= 1 && k[p] <= MAX_EMBEDDINGS_PER_PERSON)) {
                throw new ModelFormatException(src, "counts[" + p + "] is " + (long) k[p] + "; every person has from 1"
                        + " to " + MAX_EMBEDDINGS_PER_PERSON + " embeddings", headerField(TENSOR_COUNTS));
            }
            rows += (long) k[p];
        }
        if (rows != shape[0]) {
            throw new ModelFormatException(src, "counts add up to " + rows + " embeddings but tensor 'embeddings' has "
                    + shape[0] + " rows", headerField(TENSOR_COUNTS));
        }
        int[] first = new int[n + 1];
        for (int p = 0; p < n; p++) {
            first[p + 1] = first[p] + (int) k[p];
        }
        return People.of(splitNames(src, names.data(), n), first, embeddings.data());
    }

    /** The n names of the names tensor (bytes of UTF-8 text, one name a line), each checked as enrolment does. */
    private static String[] splitNames(String src, float[] bytes, int n) throws ModelFormatException {
        String where = headerField(TENSOR_NAMES);
        byte[] utf8 = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            utf8[i] = (byte) bytes[i]; // U8: whole numbers from 0 to 255
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(utf8)).toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(src, "tensor 'names' is not valid UTF-8 text", where);
        }
        // no names is no bytes; n names are n - 1 newlines
        String[] names = n == 0 && text.isEmpty() ? new String[0] : text.split("\n", -1);
        if (names.length != n) {
            throw new ModelFormatException(src, "tensor 'names' holds " + names.length + " names (one a line) but"
                    + " people is " + n, where);
        }
        Map<String, Integer> seen = new HashMap<>();
        for (int p = 0; p < n; p++) {
            String problem = nameProblem(names[p]);
            if (problem != null) {
                throw new ModelFormatException(src, "bad name of person " + p + ": " + problem, where);
            }
            Integer before = seen.put(names[p], p);
            if (before != null) {
                throw new ModelFormatException(src, "name '" + Verifier.shorten(names[p]) + "' appears twice (people "
                        + before + " and " + p + ")", where);
            }
        }
        return names;
    }

    /** Version 1: tensor {@code person.<i>} [k_i, D] and metadata {@code name.<i>} per person. */
    private static People readVersion1(String src, SafeTensors.Contents contents, int n, int d)
            throws ModelFormatException {
        SafeTensors.requireFloating(contents, src);
        Map<String, Tensor> tensors = contents.tensors();
        Map<String, String> meta = contents.metadata();
        if (n != tensors.size()) {
            throw new ModelFormatException(src, "people says " + n + " but the file holds " + tensors.size()
                    + " tensors", Verifier.metadataField(KEY_PEOPLE));
        }
        LinkedHashMap<String, float[][]> people = new LinkedHashMap<>();
        long values = 0;
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
            if (shape.length != 2 || shape[0] < 1 || shape[0] > MAX_EMBEDDINGS_PER_PERSON || shape[1] != d) {
                throw new ModelFormatException(src, "tensor '" + TENSOR_PREFIX + i + "' has shape "
                        + Arrays.toString(shape) + ", expected [k, " + d + "] with 1 <= k <= "
                        + MAX_EMBEDDINGS_PER_PERSON, headerField(TENSOR_PREFIX + i) + ".shape");
            }
            values += t.size();
            if (values > MAX_VALUES) {
                throw new ModelFormatException(src, "the people's embeddings hold more than the " + MAX_VALUES
                        + " values a gallery holds", headerField(TENSOR_PREFIX + i));
            }
            float[] data = t.data();
            float[][] rows = new float[shape[0]][];
            for (int r = 0; r < rows.length; r++) {
                rows[r] = Arrays.copyOfRange(data, r * d, (r + 1) * d);
            }
            people.put(name, rows);
        }
        return with(People.EMPTY, people, d);
    }

    private static Tensor requiredTensor(String src, Map<String, Tensor> tensors, String name)
            throws ModelFormatException {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new ModelFormatException(src, "tensor '" + name + "' is missing; a version 2 gallery holds the"
                    + " tensors embeddings, counts and names" + (tensors.isEmpty() ? "" : ", this file holds "
                    + names(tensors.keySet())), "header");
        }
        return t;
    }

    /** The location of a tensor's header entry, as {@link SafeTensors} names it (control characters escaped). */
    private static String headerField(String tensor) {
        return "header field \"" + Verifier.shorten(tensor) + "\"";
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
