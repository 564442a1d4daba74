package org.siamese4j.siamese.data;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.siamese4j.tensor.Tensor;

/**
 * Loads a face dataset stored as one folder per identity, the AT&amp;T (ORL) layout {@code root/s1/1.pgm ...
 * root/s40/10.pgm}, into an {@link ImageDataset} of grey images [N, 1, H, W] scaled to [0, 1].
 *
 * <ul>
 *   <li>Identities are the non-hidden subdirectories of {@code root}, in {@link NaturalOrder} ({@code s2} before
 *       {@code s10}); the folder name is the identity name and its position the label. Files directly in
 *       {@code root} (a README, a licence) are ignored.</li>
 *   <li>Images are the non-hidden regular files of an identity folder whose extension is one of
 *       {@link #IMAGE_EXTENSIONS} (case-insensitive), in natural order; other files are ignored. Nested folders
 *       are not searched.</li>
 *   <li>Hidden means a name starting with '.' or {@link Files#isHidden}.</li>
 *   <li>Without a resize target every image must have the size of the first one; with one, each image is
 *       resized bilinearly ({@link GrayImage#resize}) after scaling.</li>
 * </ul>
 *
 * <p>Errors are {@link IOException}s with the offending path: a root that is not a folder, a root without
 * identity folders, an identity folder without images, a size mismatch; unreadable images raise
 * {@link ImageFormatException}.
 */
public final class FaceFolders {
    /** The file extensions treated as images. */
    public static final Set<String> IMAGE_EXTENSIONS = Set.of("pgm", "png", "jpg", "jpeg", "bmp", "gif");

    private FaceFolders() {
    }

    /**
     * Loading options.
     *
     * @param resizeHeight target height, or 0 to keep the files' size
     * @param resizeWidth  target width, or 0 to keep the files' size
     */
    public record Options(int resizeHeight, int resizeWidth) {
        public Options {
            if ((resizeHeight == 0) != (resizeWidth == 0) || resizeHeight < 0 || resizeWidth < 0) {
                throw new IllegalArgumentException("FaceFolders.Options: resize target must be both positive or"
                        + " both 0 (no resize), got " + resizeHeight + "x" + resizeWidth);
            }
        }

        /** Keep the files' own size (which must then be the same for all). */
        public static Options defaults() {
            return new Options(0, 0);
        }

        /** Resize every image to {@code height x width}. */
        public static Options resizeTo(int height, int width) {
            if (height < 1 || width < 1) {
                throw new IllegalArgumentException("FaceFolders.Options: resize target must be positive, got "
                        + height + "x" + width);
            }
            return new Options(height, width);
        }

        public boolean resizes() {
            return resizeHeight > 0;
        }
    }

    public static ImageDataset load(Path root) throws IOException {
        return load(root, Options.defaults());
    }

    /** Every image under {@code root}, read into memory: {@link #list} read in full. */
    public static ImageDataset load(Path root, Options options) throws IOException {
        return ImageDataset.of(list(root, options));
    }

    /**
     * The images under {@code root} with their labels and names, listed but not read: each {@link
     * LabelledImages#batch} reads its files, so a folder of any size can be embedded a batch at a time. The
     * layout is checked here (a root that is not a folder, no identity folders, an identity folder without
     * images); an image that cannot be read, or whose size differs without a resize target, fails the batch that
     * reads it. Without a resize target the first image is read now, for the size.
     */
    public static LabelledImages list(Path root, Options options) throws IOException {
        LabelledFiles listed = files(root);
        List<Path> files = listed.files();
        int height = options.resizeHeight();
        int width = options.resizeWidth();
        if (!options.resizes()) {
            GrayImage first = Images.read(files.get(0));
            height = first.height();
            width = first.width();
        }
        return new Listing(files, listed.labels(), listed.identityNames(), options.resizes(), height, width);
    }

    /**
     * The image files under a root of identity folders, with the identity of each: what {@link #list} reads, in
     * its order, for a caller that reads the files its own way (in colour, with a model's preprocessing).
     *
     * @param files         every image, identity by identity, each identity's in natural order
     * @param labels        {@code labels[i]} is the identity index of {@code files.get(i)}
     * @param identityNames the identity folders' names, by label
     */
    public record LabelledFiles(List<Path> files, int[] labels, List<String> identityNames) {
        public LabelledFiles {
            files = List.copyOf(files);
            labels = labels.clone();
            identityNames = List.copyOf(identityNames);
        }

        @Override
        public int[] labels() {
            return labels.clone();
        }
    }

    /**
     * The layout {@link #list} checks, without reading an image.
     *
     * @throws IOException for a root that is not a folder, no identity folders, or an identity folder without
     *                     images (naming it)
     */
    public static LabelledFiles files(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            throw new NotDirectoryException(root + " (FaceFolders.load needs a folder with one subfolder per"
                    + " identity)");
        }
        List<Path> identityDirs = new ArrayList<>();
        for (Path child : list(root)) {
            if (!isHidden(child) && Files.isDirectory(child)) {
                identityDirs.add(child);
            }
        }
        if (identityDirs.isEmpty()) {
            throw new IOException(root + ": no identity folders (non-hidden subfolders, one per identity) found");
        }
        identityDirs.sort((a, b) -> NaturalOrder.INSTANCE.compare(a.getFileName().toString(),
                b.getFileName().toString()));

        List<String> names = new ArrayList<>();
        List<Path> files = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        for (int id = 0; id < identityDirs.size(); id++) {
            Path dir = identityDirs.get(id);
            names.add(dir.getFileName().toString());
            List<Path> images = new ArrayList<>();
            for (Path f : list(dir)) {
                if (!isHidden(f) && Files.isRegularFile(f) && isImageName(f)) {
                    images.add(f);
                }
            }
            if (images.isEmpty()) {
                throw new IOException(dir + ": identity folder has no image files (extensions "
                        + String.join(", ", IMAGE_EXTENSIONS.stream().sorted().toList()) + ")");
            }
            images.sort((a, b) -> NaturalOrder.INSTANCE.compare(a.getFileName().toString(),
                    b.getFileName().toString()));
            for (Path f : images) {
                files.add(f);
                labels.add(id);
            }
        }
        return new LabelledFiles(files, labels.stream().mapToInt(Integer::intValue).toArray(), names);
    }

    /** The files of {@link #list}, read when a batch asks for them. */
    private record Listing(List<Path> files, int[] labelOf, List<String> names, boolean resizes, int height,
                           int width) implements LabelledImages {
        @Override
        public int size() {
            return files.size();
        }

        @Override
        public int[] labels() {
            return labelOf.clone();
        }

        @Override
        public List<String> identityNames() {
            return names;
        }

        @Override
        public int channels() {
            return 1;
        }

        @Override
        public Tensor batch(int... indices) throws IOException {
            int pixels = height * width;
            float[] data = new float[Math.multiplyExact(indices.length, pixels)];
            for (int i = 0; i < indices.length; i++) {
                Path f = files.get(indices[i]);
                GrayImage img = Images.read(f).scaledToUnit();
                if (resizes) {
                    img = img.resize(height, width);
                } else if (img.height() != height || img.width() != width) {
                    throw new IOException(f + ": image is " + img.height() + "x" + img.width() + " (HxW) but "
                            + files.get(0) + " is " + height + "x" + width
                            + "; pass FaceFolders.Options.resizeTo(h, w) to load images of mixed sizes");
                }
                img.copyInto(data, i * pixels);
            }
            return Tensor.wrap(data, indices.length, 1, height, width);
        }

        @Override
        public String toString() {
            return LabelledImages.describe(this);
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            stream.forEach(out::add);
        }
        return out;
    }

    private static boolean isHidden(Path p) throws IOException {
        return p.getFileName().toString().startsWith(".") || Files.isHidden(p);
    }

    /** Whether a file name ends in one of {@link #IMAGE_EXTENSIONS}, the files this loader reads. */
    public static boolean isImageName(Path p) {
        String name = p.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 && IMAGE_EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }
}
