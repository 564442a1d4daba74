package org.siamese4j.examples.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.siamese4j.io.Checkpoint;
import org.siamese4j.io.ModelFile;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.FaceFolders;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.LabelledImages;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.verify.Preprocessing;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Tensor;

/**
 * What the commands share: the {@code --data DIR|synthetic[:IDSxIMAGES]} argument, loading models and images,
 * and the default architecture.
 *
 * <p>Synthetic data: the faces of {@link SyntheticFaces}, family {@link #SYNTHETIC_SEED}. Training uses people
 * 0, 1, ...; held-out evaluation uses people from {@link #HELD_OUT_FIRST} on, so a model trained on synthetic faces
 * and evaluated with {@code --data synthetic} never sees a test person in training.
 */
final class CliData {
    /** The face family of {@code --data synthetic} (fixed: the seed of a run does not change the people). */
    static final long SYNTHETIC_SEED = 11;
    /** First identity of the held-out synthetic people. */
    static final int HELD_OUT_FIRST = 100_000;
    /** First identity of the synthetic validation people: neither training nor held-out people. */
    static final int VALIDATION_FIRST = 200_000;
    /** {@link org.siamese4j.siamese.Towers#small} as a spec: three conv blocks, a 64-d unit-length embedding. */
    static final String DEFAULT_ARCH = "conv(16,3,pad=1) batchnorm relu maxpool(2) conv(32,3,pad=1) batchnorm relu "
            + "maxpool(2) conv(64,3,pad=1) batchnorm relu maxpool(2) flatten dense(64) l2norm";
    static final String DEFAULT_INPUT = "1x56x46";
    /** Metadata keys the train command writes next to the weights. */
    static final String KEY_THRESHOLD = "threshold";
    static final String KEY_DISTANCE = "distance";
    /** Metadata: the names of the people a model was trained on, and validated on, comma-separated. */
    static final String KEY_TRAINING_PEOPLE = "training_people";
    static final String KEY_VALIDATION_PEOPLE = "validation_people";
    /** The people the model a run started from ({@code train --init}) had seen. */
    static final String KEY_INIT_PEOPLE = "init_people";

    private CliData() {
    }

    /**
     * The people the model file says it was trained and validated on, or that the model it started from had seen
     * (none for an older file).
     */
    static Set<String> seenPeople(Map<String, String> metadata) {
        Set<String> seen = new HashSet<>();
        for (String key : List.of(KEY_TRAINING_PEOPLE, KEY_VALIDATION_PEOPLE, KEY_INIT_PEOPLE)) {
            String names = metadata.get(key);
            if (names != null && !names.isEmpty()) {
                seen.addAll(Arrays.asList(names.split(",")));
            }
        }
        return seen;
    }

    /** A parsed {@code --data} value: a folder, or synthetic people with a count of people and images each. */
    record DataSpec(Path folder, int identities, int imagesPerIdentity) {
        boolean synthetic() {
            return folder == null;
        }

        @Override
        public String toString() {
            return synthetic() ? "synthetic:" + identities + "x" + imagesPerIdentity : folder.toString();
        }
    }

    /** Parses {@code synthetic}, {@code synthetic:N} (N people) or {@code synthetic:NxK}, or a folder path. */
    static DataSpec parseData(String text, int defaultIdentities, int defaultImages) {
        String t = text.trim();
        if (t.equals("synthetic")) {
            return new DataSpec(null, defaultIdentities, defaultImages);
        }
        if (t.startsWith("synthetic:")) {
            String[] parts = t.substring("synthetic:".length()).toLowerCase(Locale.ROOT).split("x", -1);
            try {
                int ids = Integer.parseInt(parts[0]);
                int imgs = parts.length > 1 ? Integer.parseInt(parts[1]) : defaultImages;
                if (parts.length <= 2 && ids >= 2 && ids <= 100_000 && imgs >= 2 && imgs <= 1000) {
                    return new DataSpec(null, ids, imgs);
                }
            } catch (NumberFormatException e) {
                // fall through to the usage message
            }
            throw new Options.UsageException("--data '" + text + "' is not valid; use a folder with one subfolder "
                    + "per person, or synthetic, synthetic:PEOPLE or synthetic:PEOPLExIMAGES (people 2 to 100000, "
                    + "images 2 to 1000 each)");
        }
        return new DataSpec(Path.of(t), 0, 0);
    }

    /** Synthetic people {@code first..first+n-1}, or the folder, at the model's input size, in memory. */
    static ImageDataset load(DataSpec spec, int firstSyntheticIdentity, int[] input) throws IOException {
        return ImageDataset.of(open(spec, firstSyntheticIdentity, input));
    }

    /**
     * As {@link #load}, but listed, not read: the images are read (or drawn) a batch at a time when embedded, so
     * the labels are known, and a request can be checked, before the slow part, and only one batch of pixels is
     * ever in memory. The folder's layout is checked here; an unreadable image fails the batch that reads it.
     */
    static LabelledImages open(DataSpec spec, int firstSyntheticIdentity, int[] input) throws IOException {
        requireGrey(input);
        return open(spec, firstSyntheticIdentity, input, null);
    }

    /**
     * As {@link #open}, each image prepared as {@code preprocessing} says (colour folders too); synthetic people,
     * who are grey, only for a grey model. Null: the grey images in [0, 1] as they are.
     */
    static LabelledImages open(DataSpec spec, int firstSyntheticIdentity, int[] input, Preprocessing preprocessing)
            throws IOException {
        if (preprocessing != null && spec.synthetic()) {
            if (input[0] != 1) {
                throw new Options.UsageException("synthetic faces are grey; a colour model ("
                        + ArchSpec.formatInput(input) + ") needs --data FOLDER of face photos");
            }
            return preprocessing.applyTo(open(spec, firstSyntheticIdentity, input, null));
        }
        if (spec.synthetic()) {
            return SyntheticFaces.range(firstSyntheticIdentity, spec.identities(), spec.imagesPerIdentity(),
                    SYNTHETIC_SEED, input[1], input[2]);
        }
        if (!Files.exists(spec.folder())) {
            throw new NoSuchFileException(spec.folder().toString(), null, "no such folder");
        }
        try {
            return preprocessing != null ? preprocessing.images(FaceFolders.files(spec.folder()))
                    : FaceFolders.list(spec.folder(), FaceFolders.Options.resizeTo(input[1], input[2]));
        } catch (IOException e) {
            explainFaceFolderLayout(spec.folder()); // looked into only on failure: a good folder is listed once
            throw e;
        }
    }

    /**
     * After the loader refused {@code folder}: throws, in the CLI's words, when it is one of the usual ways of
     * pointing {@code --data} at the wrong folder (a file, a folder of loose images, the folder one level above
     * the people's folders); returns for other problems, whose loader message stands. Like every file that cannot
     * be used, these are errors (exit code 1), not usage errors.
     */
    static void explainFaceFolderLayout(Path folder) throws IOException {
        String layout = "--data needs a folder with one subfolder per person, the person's images inside "
                + "(faces/alice/1.png, faces/bob/1.png, ...)";
        if (!Files.isDirectory(folder)) {
            throw new IOException(folder + " is a file, not a folder; " + layout);
        }
        List<Path> people = visibleChildren(folder).stream().filter(Files::isDirectory).toList();
        if (people.isEmpty()) {
            boolean looseImages = visibleChildren(folder).stream().anyMatch(FaceFolders::isImageName);
            throw new IOException(folder + (looseImages ? " holds images but no person folders; "
                    : " has no person folders; ") + layout);
        }
        List<Path> withoutImages = people.stream()
                .filter(p -> visibleChildren(p).stream().noneMatch(f -> Files.isRegularFile(f)
                        && FaceFolders.isImageName(f)))
                .toList();
        if (withoutImages.isEmpty()) {
            return;
        }
        List<Path> holdingFolders = withoutImages.stream()
                .filter(p -> visibleChildren(p).stream().anyMatch(Files::isDirectory)).toList();
        if (holdingFolders.size() == people.size()) {
            throw new IOException(folder + " is one level too high: " + holdingFolders.get(0)
                    + " holds folders, not images; did you mean --data " + String.join(" or --data ",
                    holdingFolders.stream().limit(3).map(Path::toString).toList()) + "?");
        }
        throw new IOException(withoutImages.get(0) + " has no images ("
                + String.join(", ", FaceFolders.IMAGE_EXTENSIONS.stream().sorted().toList()) + ")"
                + (withoutImages.size() > 1 ? ", nor have " + (withoutImages.size() - 1) + " other person folders"
                : "") + "; " + layout);
    }

    /** The non-hidden entries of a folder. */
    private static List<Path> visibleChildren(Path folder) {
        try (var entries = Files.list(folder)) {
            return entries.filter(p -> !p.getFileName().toString().startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void requireGrey(int[] input) {
        if (input.length != 3 || input[0] != 1) {
            throw new Options.UsageException("the input must be grey images 1xHxW, got " + ArchSpec.formatInput(input));
        }
    }

    /** Loads a model file, after {@link #requireModelFile}. */
    static ModelFile.LoadedModel loadModel(String path) throws IOException {
        return ModelFile.load(requireModelFile(path));
    }

    /**
     * The path of {@code --model}, refused in the CLI's words when it names no file, a file that is not
     * safetensors (text, an image) or a training checkpoint.
     */
    static Path requireModelFile(String path) throws IOException {
        Path file = Path.of(path);
        if (Files.isDirectory(file)) {
            throw new FileSystemException(path, null, "is a folder, not a model file");
        }
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(path, null, "no such model file");
        }
        if (Verifier.isOnnx(file)) {
            return file;    // read by the ONNX importer, which says what is wrong with a file
        }
        String format;
        try {
            format = SafeTensors.readMetadata(file).get(ModelFile.KEY_FORMAT);
        } catch (ModelFormatException e) {
            if (!e.location().startsWith("byte 0") && !e.location().equals("byte 8")) {
                return file;        // safetensors with a damaged header: the loader says what and where
            }
            throw new IOException(path + " is not a model file: " + e.problem() + "; --model takes the "
                    + "file that train wrote (--out, default model.safetensors)", e);
        }
        if (Checkpoint.FORMAT.equals(format)) {
            throw new IOException(path + " is a training checkpoint, not a model; --model takes the file "
                    + "that train wrote (--out, default model.safetensors); to go on training, run: siamese4j train "
                    + "--resume " + path);
        }
        return file;
    }

    /**
     * Image files as one [N, C, H, W] batch of model inputs, each read and prepared as {@code preprocessing} says
     * (for a siamese4j grey model without standardisation: in [0, 1], resized to H x W when its size differs).
     */
    static Tensor loadImages(List<String> paths, Preprocessing preprocessing) throws IOException {
        int[] input = preprocessing.inputShape();
        int size = input[0] * input[1] * input[2];
        // checked before the batch is allocated: the model chooses the input size
        long values = (long) paths.size() * size;
        if (values > Integer.MAX_VALUE - 8) {
            throw new IOException(paths.size() + " images at the model's input " + ArchSpec.formatInput(input)
                    + " are " + values + " values, more than one batch holds; embed fewer images at a time");
        }
        float[] data = new float[(int) values];
        for (int i = 0; i < paths.size(); i++) {
            System.arraycopy(preprocessing.prepare(Path.of(paths.get(i))), 0, data, i * size, size);
        }
        return Tensor.wrap(data, paths.size(), input[0], input[1], input[2]);
    }

    /** A JSON string literal. */
    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    /** A JSON number, or null when not finite. */
    static String number(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }
}
