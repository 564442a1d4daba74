package org.siamese4j.siamese.verify;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.siamese4j.io.AtomicFiles;
import org.siamese4j.io.Json;
import org.siamese4j.io.ModelFormatException;

/**
 * The small JSON file beside a face model that says how to use it: {@code face.onnx} has {@code face.onnx.json}
 * ({@link #pathFor}). {@link Verifier#load} reads it when it exists, for any model file, and its values override
 * what the model file implies. Every key is optional; unknown keys are refused (a typo would otherwise be silently
 * ignored):
 * <table>
 * <caption>Sidecar keys</caption>
 * <tr><th>key</th><th>value</th></tr>
 * <tr><td>{@code preprocessing}</td><td>an object with {@code input_size} ("112x112", must be the model's),
 *     {@code color} ("rgb" or "grey", must match the model's channels), {@code channel_order} ("rgb" or "bgr"),
 *     {@code pixel_range} ("0-1" or "0-255"), {@code mean} and {@code std} (a number or one per channel); all six
 *     required ({@link Preprocessing})</td></tr>
 * <tr><td>{@code distance}</td><td>"euclidean", "squared_euclidean" or "cosine"</td></tr>
 * <tr><td>{@code threshold}, {@code threshold_kind}, {@code threshold_target_far}, {@code threshold_tar},
 *     {@code threshold_far}, {@code threshold_accuracy}, {@code threshold_pairs}</td><td>the decision threshold
 *     and how it was chosen, with the meaning (and checks) of the model-file metadata keys of the same names
 *     ({@link Verifier}); numbers, or the string "-Infinity" for a threshold that accepts nothing</td></tr>
 * <tr><td>{@code embedding_size}</td><td>the model's embedding width, checked against the model on
 *     loading</td></tr>
 * <tr><td>{@code source}</td><td>free text: where the model came from (its name, URL, licence)</td></tr>
 * </table>
 * A hostile sidecar is refused naming the key: a file over {@value #MAX_BYTES} bytes, malformed JSON or bad
 * UTF-8, a value of the wrong type, out of range, or too long.
 *
 * @param preprocessing  the preprocessing, or null to keep the model's own
 * @param decision       distance and threshold keys as text (the model-file metadata vocabulary), checked by
 *                       {@link Verifier} against the model's score direction
 * @param embeddingSize  the embedding width, or 0 when not stated
 * @param source         where the model came from, or null
 */
public record ModelSidecar(Preprocessing preprocessing, Map<String, String> decision, int embeddingSize,
                           String source) {
    /** Largest sidecar read: a few hundred bytes are typical. */
    public static final int MAX_BYTES = 64 * 1024;
    /** Longest {@code source} text. */
    public static final int MAX_SOURCE_CHARS = 4096;
    public static final String KEY_PREPROCESSING = "preprocessing";
    public static final String KEY_EMBEDDING_SIZE = "embedding_size";
    public static final String KEY_SOURCE = "source";
    /** The distance and threshold keys, shared with the model file's metadata. */
    static final List<String> DECISION_KEYS = List.of(Verifier.KEY_DISTANCE, Verifier.KEY_THRESHOLD,
            Verifier.KEY_THRESHOLD_KIND, Verifier.KEY_THRESHOLD_TARGET_FAR, Verifier.KEY_THRESHOLD_TAR,
            Verifier.KEY_THRESHOLD_FAR, Verifier.KEY_THRESHOLD_ACCURACY, Verifier.KEY_THRESHOLD_PAIRS);
    /** Keys whose value is text; the other decision keys are numbers. */
    private static final Set<String> TEXT_KEYS = Set.of(Verifier.KEY_DISTANCE, Verifier.KEY_THRESHOLD_KIND);

    public ModelSidecar {
        decision = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(decision,
                "ModelSidecar: decision is null")));
        for (String key : decision.keySet()) {
            if (!DECISION_KEYS.contains(key)) {
                throw new IllegalArgumentException("ModelSidecar: '" + Verifier.shorten(key) + "' is not a decision "
                        + "key; valid: " + String.join(", ", DECISION_KEYS));
            }
        }
        if (embeddingSize < 0) {
            throw new IllegalArgumentException("ModelSidecar: embeddingSize must be >= 0, got " + embeddingSize);
        }
        if (source != null && source.length() > MAX_SOURCE_CHARS) {
            throw new IllegalArgumentException("ModelSidecar: source is " + source.length() + " characters, more "
                    + "than " + MAX_SOURCE_CHARS);
        }
    }

    /** The sidecar's place: the model file's name with {@code .json} appended, in the same folder. */
    public static Path pathFor(Path modelFile) {
        Objects.requireNonNull(modelFile, "ModelSidecar.pathFor: modelFile is null");
        return modelFile.resolveSibling(modelFile.getFileName() + ".json");
    }

    /** The sidecar of {@code modelFile} when it has one. */
    public static Optional<ModelSidecar> readIfPresent(Path modelFile) throws IOException {
        Path file = pathFor(modelFile);
        return Files.exists(file) ? Optional.of(read(file)) : Optional.empty();
    }

    /**
     * Reads a sidecar file.
     *
     * @throws ModelFormatException naming the key for anything wrong in it (see the class comment)
     */
    public static ModelSidecar read(Path file) throws IOException {
        String src = file.toString();
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(src, "the sidecar is not a regular file", null);
        }
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new ModelFormatException(src, "the sidecar is " + size + " bytes, more than the " + MAX_BYTES
                    + " a sidecar may have", "byte " + MAX_BYTES);
        }
        byte[] bytes = Files.readAllBytes(file);
        if (bytes.length > MAX_BYTES) {
            throw new ModelFormatException(src, "the sidecar grew past " + MAX_BYTES + " bytes while read",
                    "byte " + MAX_BYTES);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(src, "the sidecar is not UTF-8 text", null, e);
        }
        Object root;
        try {
            root = Json.parse(text);
        } catch (Json.SyntaxException e) {
            throw new ModelFormatException(src, "the sidecar is not valid JSON: " + e.getMessage(),
                    "character " + e.position(), e);
        }
        return fromJson(root, src);
    }

    /** The sidecar a parsed JSON document describes; {@code src} names it in errors. */
    static ModelSidecar fromJson(Object root, String src) throws ModelFormatException {
        if (!(root instanceof Map<?, ?> map)) {
            throw new ModelFormatException(src, "the sidecar must be a JSON object {...}, got " + kind(root), null);
        }
        Preprocessing preprocessing = null;
        Map<String, String> decision = new LinkedHashMap<>();
        int embeddingSize = 0;
        String source = null;
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = (String) e.getKey();
            Object value = e.getValue();
            if (key.equals(KEY_PREPROCESSING)) {
                preprocessing = preprocessing(value, src);
            } else if (key.equals(KEY_EMBEDDING_SIZE)) {
                Long n = value instanceof Json.Num num ? num.asLong() : null;
                if (n == null || n < 1 || n > 1 << 20) {
                    throw new ModelFormatException(src, "embedding_size must be a whole number from 1 to "
                            + (1 << 20) + ", got " + describe(value), where(key));
                }
                embeddingSize = (int) (long) n;
            } else if (key.equals(KEY_SOURCE)) {
                if (!(value instanceof String s) || s.length() > MAX_SOURCE_CHARS) {
                    throw new ModelFormatException(src, "source must be a string of at most " + MAX_SOURCE_CHARS
                            + " characters, got " + describe(value), where(key));
                }
                source = s;
            } else if (DECISION_KEYS.contains(key)) {
                decision.put(key, decisionValue(key, value, src));
            } else {
                throw new ModelFormatException(src, "unknown key " + ModelFormatException.quoted(key) + "; valid: "
                        + String.join(", ", allKeys()), where(key));
            }
        }
        return new ModelSidecar(preprocessing, decision, embeddingSize, source);
    }

    private static List<String> allKeys() {
        List<String> keys = new ArrayList<>(List.of(KEY_PREPROCESSING, KEY_EMBEDDING_SIZE, KEY_SOURCE));
        keys.addAll(DECISION_KEYS);
        return keys;
    }

    /** A decision value as the text the model-file metadata would hold; numbers keep their token. */
    private static String decisionValue(String key, Object value, String src) throws ModelFormatException {
        if (TEXT_KEYS.contains(key)) {
            if (value instanceof String s && s.length() <= 100) {
                return s;
            }
            throw new ModelFormatException(src, key + " must be a short string, got " + describe(value), where(key));
        }
        if (value instanceof Json.Num num) {
            return num.text();
        }
        if (value instanceof String s && (s.equals("Infinity") || s.equals("-Infinity"))) {
            return s;
        }
        throw new ModelFormatException(src, key + " must be a number (or the string \"-Infinity\" or \"Infinity\"), "
                + "got " + describe(value), where(key));
    }

    private static Preprocessing preprocessing(Object value, String src) throws ModelFormatException {
        if (!(value instanceof Map<?, ?> map)) {
            throw new ModelFormatException(src, "preprocessing must be an object {...}, got " + describe(value),
                    where(KEY_PREPROCESSING));
        }
        Map<String, String> values = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : map.entrySet()) {
            String key = (String) e.getKey();
            String path = KEY_PREPROCESSING + "." + key;
            if (!Preprocessing.JSON_KEYS.contains(key)) {
                throw new ModelFormatException(src, "unknown key " + ModelFormatException.quoted(path) + "; valid: "
                        + String.join(", ", Preprocessing.JSON_KEYS), where(path));
            }
            Object v = e.getValue();
            if (key.equals("mean") || key.equals("std")) {
                values.put(key, numbers(v, path, src));
            } else if (v instanceof String s && s.length() <= 100) {
                values.put(key, s);
            } else {
                throw new ModelFormatException(src, path + " must be a short string, got " + describe(v), where(path));
            }
        }
        try {
            return Preprocessing.fromJson(values);
        } catch (IllegalArgumentException e) {
            String key = e.getMessage().startsWith(KEY_PREPROCESSING + ".")
                    ? e.getMessage().substring(0, e.getMessage().indexOf(' ')) : KEY_PREPROCESSING;
            throw new ModelFormatException(src, e.getMessage(), where(key), e);
        }
    }

    /** A number, or an array of up to 3 numbers, as the comma-separated text {@link Preprocessing} parses. */
    private static String numbers(Object v, String path, String src) throws ModelFormatException {
        if (v instanceof Json.Num num) {
            return num.text();
        }
        if (v instanceof List<?> list && !list.isEmpty() && list.size() <= 3) {
            StringBuilder sb = new StringBuilder();
            for (Object item : list) {
                if (!(item instanceof Json.Num num)) {
                    break;
                }
                sb.append(sb.length() == 0 ? "" : ",").append(num.text());
            }
            if (sb.length() > 0 && sb.toString().split(",").length == list.size()) {
                return sb.toString();
            }
        }
        throw new ModelFormatException(src, path + " must be a number or an array of 1 to 3 numbers, got "
                + describe(v), where(path));
    }

    private static String where(String key) {
        return "key " + ModelFormatException.quoted(key);
    }

    private static String kind(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof Map) {
            return "an object";
        }
        if (v instanceof List) {
            return "an array";
        }
        if (v instanceof String) {
            return "a string";
        }
        if (v instanceof Json.Num) {
            return "a number";
        }
        return "a boolean";
    }

    /** A value for an error message: its kind, and numbers and short strings themselves. */
    private static String describe(Object v) {
        if (v instanceof Json.Num num) {
            return Verifier.shorten(num.text());
        }
        if (v instanceof String s) {
            return "the string " + ModelFormatException.quoted(Verifier.shorten(s));
        }
        return kind(v);
    }

    /** The sidecar as a JSON object, keys in the order of the class comment. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        if (source != null) {
            m.put(KEY_SOURCE, source);
        }
        if (embeddingSize > 0) {
            m.put(KEY_EMBEDDING_SIZE, embeddingSize);
        }
        if (preprocessing != null) {
            m.put(KEY_PREPROCESSING, preprocessing.toJson());
        }
        for (String key : DECISION_KEYS) {
            String v = decision.get(key);
            if (v == null) {
                continue;
            }
            boolean number = !TEXT_KEYS.contains(key) && !v.endsWith("Infinity");
            m.put(key, number ? new Json.Num(v) : v);
        }
        return m;
    }

    /** Writes this sidecar to {@code file} atomically ({@link AtomicFiles#write}), as indented-free UTF-8 JSON. */
    public void write(Path file) throws IOException {
        byte[] bytes = (Json.write(toJson()) + "\n").getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }
}
