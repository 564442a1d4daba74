package org.siamese4j.siamese.verify;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.siamese4j.io.Json;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.data.ColorImage;
import org.siamese4j.siamese.data.FaceFolders;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.LabelledImages;
import org.siamese4j.siamese.data.Normalization;
import org.siamese4j.tensor.Tensor;

/**
 * How an image becomes a face model's input, in this order:
 * <ol>
 *   <li>read as grey ({@link Images#read}: colour files as luma) for a 1-channel model, or in colour
 *       ({@link Images#readColor}: a grey file's plane repeated) for a 3-channel one;</li>
 *   <li>scaled to the pixel range: {@link PixelRange#UNIT} divides by the image's maxValue (white is 1),
 *       {@link PixelRange#BYTE} maps white to 255 (an 8-bit image keeps its exact sample values);</li>
 *   <li>resized bilinearly ({@link GrayImage#resize}, each plane alike) to the model's height and width when the
 *       size differs;</li>
 *   <li>for a colour model, the planes put in the model's {@link ChannelOrder} (BGR for networks trained on
 *       OpenCV's images);</li>
 *   <li>standardised per channel, {@code (x - mean[c]) / std[c]}, in float, with mean and std in the pixel
 *       range's units.</li>
 * </ol>
 * A siamese4j model file implies its own ({@link #of(int[], Normalization)}: grey or RGB, [0, 1], the file's
 * one mean and std or none); a face model from elsewhere states it in a sidecar ({@link ModelSidecar}) or on the
 * command line ({@link #withOptions}). MobileFaceNet and ArcFace take {@code rgb 112x112, pixels 0-255, mean 127.5,
 * std 128}.
 *
 * @param channels     1 (grey) or 3 (colour)
 * @param height       the model's input height
 * @param width        the model's input width
 * @param channelOrder the order of the colour planes (RGB for a grey model, where it does not apply)
 * @param pixelRange   the units of the pixels, and of mean and std
 * @param mean         one mean per channel
 * @param std          one standard deviation per channel, each positive
 */
public record Preprocessing(int channels, int height, int width, ChannelOrder channelOrder, PixelRange pixelRange,
                            float[] mean, float[] std) {

    /** Order of a colour model's input planes. */
    public enum ChannelOrder {
        RGB, BGR;

        public String token() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The units of the pixels a model takes. */
    public enum PixelRange {
        /** [0, 1]: the sample divided by the image's maxValue. */
        UNIT("0-1"),
        /** [0, 255]: 8-bit samples as they are; deeper images scaled to it. */
        BYTE("0-255");

        private final String token;

        PixelRange(String token) {
            this.token = token;
        }

        public String token() {
            return token;
        }
    }

    /** The option names {@link #withOptions} reads, without the leading {@code --}. */
    public static final List<String> OPTIONS = List.of("input-size", "color", "channel-order", "pixel-range", "mean",
            "std");
    /** The keys of the sidecar's {@code preprocessing} object ({@link #toJson}, {@link #fromJson}). */
    public static final List<String> JSON_KEYS = List.of("input_size", "color", "channel_order", "pixel_range",
            "mean", "std");

    public Preprocessing {
        if (channels != 1 && channels != ColorImage.CHANNELS) {
            throw new IllegalArgumentException("Preprocessing: channels must be 1 (grey) or 3 (rgb), got " + channels);
        }
        if (height < 1 || width < 1 || (long) height * width > Images.MAX_PIXELS) {
            throw new IllegalArgumentException("Preprocessing: input size " + height + "x" + width + " must be "
                    + "positive and at most " + Images.MAX_PIXELS + " pixels");
        }
        Objects.requireNonNull(channelOrder, "Preprocessing: channelOrder is null");
        Objects.requireNonNull(pixelRange, "Preprocessing: pixelRange is null");
        mean = perChannel("mean", mean, channels);
        std = perChannel("std", std, channels);
        for (int c = 0; c < channels; c++) {
            if (!Float.isFinite(mean[c])) {
                throw new IllegalArgumentException("Preprocessing: mean must be finite, got " + mean[c]);
            }
            if (!(std[c] > 0) || !Float.isFinite(std[c])) {
                throw new IllegalArgumentException("Preprocessing: std must be positive and finite, got " + std[c]);
            }
        }
    }

    /** One value for every channel, or one per channel; a copy. */
    private static float[] perChannel(String what, float[] values, int channels) {
        Objects.requireNonNull(values, "Preprocessing: " + what + " is null");
        if (values.length == channels) {
            return values.clone();
        }
        if (values.length == 1) {
            float[] out = new float[channels];
            Arrays.fill(out, values[0]);
            return out;
        }
        throw new IllegalArgumentException("Preprocessing: " + what + " needs 1 value or " + channels
                + " (one per channel), got " + values.length);
    }

    /**
     * What a siamese4j model file implies: its input shape ([C, H, W], C = 1 or 3), pixels in [0, 1], RGB, and
     * its standardisation (one mean and std for all channels) or none (mean 0, std 1, which leaves every value's
     * bits as they are).
     */
    public static Preprocessing of(int[] inputShape, Normalization normalization) {
        Objects.requireNonNull(inputShape, "Preprocessing.of: inputShape is null");
        if (inputShape.length != 3) {
            throw new IllegalArgumentException("Preprocessing.of: the model takes " + ArchSpec.formatInput(inputShape)
                    + ", not images [C, H, W]");
        }
        float m = normalization == null ? 0f : normalization.mean();
        float s = normalization == null ? 1f : normalization.std();
        return new Preprocessing(inputShape[0], inputShape[1], inputShape[2], ChannelOrder.RGB, PixelRange.UNIT,
                new float[] {m}, new float[] {s});
    }

    /**
     * Why a model of input {@code inputShape} cannot take images, in words, or null when it can: it must take
     * [C, H, W] with C = 1 or 3, and H x W at most {@link Images#MAX_PIXELS} (the most an image is resized to).
     */
    public static String imageInputProblem(int[] inputShape) {
        if (inputShape.length != 3 || (inputShape[0] != 1 && inputShape[0] != ColorImage.CHANNELS)) {
            return "the model takes " + ArchSpec.formatInput(inputShape) + ", not grey (1xHxW) or colour (3xHxW) "
                    + "images";
        }
        long pixels = (long) inputShape[1] * inputShape[2];
        if (pixels > Images.MAX_PIXELS) {
            return "the model's input " + ArchSpec.formatInput(inputShape) + " is " + pixels + " pixels, above the "
                    + "cap of " + Images.MAX_PIXELS + " an image can be resized to (Images.MAX_PIXELS)";
        }
        return null;
    }

    @Override
    public float[] mean() {
        return mean.clone();
    }

    @Override
    public float[] std() {
        return std.clone();
    }

    /** The model input this gives, [C, H, W]. */
    public int[] inputShape() {
        return new int[] {channels, height, width};
    }

    // =====================================================================================================
    // Applying
    // =====================================================================================================

    /** An image file as the model's input (C*H*W values, planar), read in grey or colour as the model needs. */
    public float[] prepare(Path file) throws IOException {
        Objects.requireNonNull(file, "Preprocessing.prepare: file is null");
        return channels == 1 ? prepare(Images.read(file)) : prepare(Images.readColor(file));
    }

    /** A grey image as the model's input; for a colour model its plane is repeated. */
    public float[] prepare(GrayImage image) {
        Objects.requireNonNull(image, "Preprocessing.prepare: image is null");
        if (channels != 1) {
            return prepare(ColorImage.fromGray(image));
        }
        return normalise(atInputSize(image).pixels());
    }

    /** A colour image as the model's input. */
    public float[] prepare(ColorImage image) {
        Objects.requireNonNull(image, "Preprocessing.prepare: image is null");
        if (channels != ColorImage.CHANNELS) {
            throw new IllegalArgumentException("Preprocessing: the model takes grey images (" + this + "); read "
                    + "the file with Images.read, which turns colour into luma");
        }
        int plane = height * width;
        float[] out = new float[ColorImage.CHANNELS * plane];
        for (int c = 0; c < ColorImage.CHANNELS; c++) {
            int source = channelOrder == ChannelOrder.RGB ? c : ColorImage.CHANNELS - 1 - c;
            System.arraycopy(atInputSize(image.plane(source)).pixels(), 0, out, c * plane, plane);
        }
        return normalise(out);
    }

    /** One plane in the pixel range and at the model's size, not yet standardised. */
    private GrayImage atInputSize(GrayImage plane) {
        GrayImage x;
        if (pixelRange == PixelRange.UNIT) {
            x = plane.scaledToUnit();
        } else if (plane.maxValue() == 255f) {
            x = plane;
        } else {
            float[] px = plane.pixels();
            float scale = 255f / plane.maxValue();
            for (int i = 0; i < px.length; i++) {
                px[i] *= scale;
            }
            x = GrayImage.of(plane.height(), plane.width(), 255f, px);
        }
        if (x.height() != height || x.width() != width) {
            x = x.resize(height, width);
        }
        return x;
    }

    /**
     * Standardises, in place, an input already in the pixel range, at the model's size and channel order:
     * {@code (x - mean[c]) / std[c]} channel by channel.
     *
     * @throws IllegalArgumentException when {@code x} is not C*H*W values
     */
    public float[] normalise(float[] x) {
        int plane = height * width;
        if (x.length != channels * plane) {
            throw new IllegalArgumentException("Preprocessing: the model takes " + channels + "x" + height + "x"
                    + width + " = " + channels * plane + " values per input, got " + x.length);
        }
        for (int c = 0; c < channels; c++) {
            float m = mean[c];
            float s = std[c];
            for (int i = c * plane; i < (c + 1) * plane; i++) {
                x[i] = (x[i] - m) / s;
            }
        }
        return x;
    }

    /**
     * The files of a face folder ({@link FaceFolders#files}) as model inputs, read and prepared a batch at a time
     * when {@link LabelledImages#batch} asks (an unreadable file fails that batch, naming it).
     */
    public LabelledImages images(FaceFolders.LabelledFiles faces) {
        Objects.requireNonNull(faces, "Preprocessing.images: faces is null");
        List<Path> files = faces.files();
        return view(faces.labels(), faces.identityNames(), i -> prepare(files.get(i)));
    }

    /**
     * Images in [0, 1] (as {@link FaceFolders#list} and {@link org.siamese4j.siamese.data.SyntheticFaces} hand them
     * out, grey or RGB) as model inputs: each prepared as an image of maxValue 1, a batch at a time. For this
     * preprocessing of a siamese4j model file without standardisation the values come out unchanged, bit for bit.
     */
    public LabelledImages applyTo(LabelledImages unitImages) {
        Objects.requireNonNull(unitImages, "Preprocessing.applyTo: unitImages is null");
        int c = unitImages.channels();
        if (c != 1 && c != ColorImage.CHANNELS) {
            throw new IllegalArgumentException("Preprocessing.applyTo: images of " + c + " channels; 1 or 3 are "
                    + "prepared");
        }
        int h = unitImages.height();
        int w = unitImages.width();
        return view(unitImages.labels(), unitImages.identityNames(), i -> {
            float[] x = unitImages.batch(i).data();
            return c == 1 ? prepare(GrayImage.of(h, w, 1f, x)) : prepare(ColorImage.of(h, w, 1f, x));
        });
    }

    /** One input, prepared; may read a file. */
    private interface Source {
        float[] input(int index) throws IOException;
    }

    private LabelledImages view(int[] labels, List<String> names, Source source) {
        return new LabelledImages() {
            @Override
            public int size() {
                return labels.length;
            }

            @Override
            public int[] labels() {
                return labels.clone();
            }

            @Override
            public List<String> identityNames() {
                return names;
            }

            @Override
            public int channels() {
                return channels;
            }

            @Override
            public int height() {
                return height;
            }

            @Override
            public int width() {
                return width;
            }

            @Override
            public Tensor batch(int... indices) throws IOException {
                int size = channels * height * width;
                float[] data = new float[Math.multiplyExact(indices.length, size)];
                for (int i = 0; i < indices.length; i++) {
                    System.arraycopy(source.input(indices[i]), 0, data, i * size, size);
                }
                return Tensor.wrap(data, indices.length, channels, height, width);
            }

            @Override
            public String toString() {
                return LabelledImages.describe(this);
            }
        };
    }

    // =====================================================================================================
    // Parsing
    // =====================================================================================================

    /**
     * This preprocessing with the given command-line values replacing its own: keys are {@link #OPTIONS} (option
     * names without {@code --}), values as typed ({@code 112x112}, {@code rgb|grey}, {@code rgb|bgr},
     * {@code 0-1|0-255}, one number or one per channel separated by commas). Keys absent or mapped to null keep
     * this one's value. A mean or std given as one number applies to every channel; changing the colour keeps a
     * mean and std that were one value for all channels, and otherwise needs them given again.
     *
     * @throws IllegalArgumentException naming the option ({@code --mean}) and the valid values
     */
    public Preprocessing withOptions(Map<String, String> values) {
        Objects.requireNonNull(values, "Preprocessing.withOptions: values is null");
        for (String key : values.keySet()) {
            if (!OPTIONS.contains(key)) {
                throw new IllegalArgumentException("unknown preprocessing option --" + key + "; valid: --"
                        + String.join(", --", OPTIONS));
            }
        }
        return with(values, "--", Map.of("input-size", "input-size", "color", "color", "channel-order",
                "channel-order", "pixel-range", "pixel-range", "mean", "mean", "std", "std"));
    }

    /** The parser shared by options and JSON: {@code names} maps each concept to its key in {@code values}. */
    private Preprocessing with(Map<String, String> values, String prefix, Map<String, String> names) {
        int[] size = {height, width};
        String sizeText = values.get(names.get("input-size"));
        if (sizeText != null) {
            size = parseSize(prefix + names.get("input-size"), sizeText);
        }
        int newChannels = channels;
        String colorText = values.get(names.get("color"));
        if (colorText != null) {
            newChannels = switch (colorText.trim().toLowerCase(Locale.ROOT)) {
                case "rgb", "color", "colour" -> ColorImage.CHANNELS;
                case "grey", "gray" -> 1;
                default -> throw invalid(prefix + names.get("color"), colorText, "rgb, grey");
            };
        }
        ChannelOrder order = channelOrder;
        String orderText = values.get(names.get("channel-order"));
        if (orderText != null) {
            order = switch (orderText.trim().toLowerCase(Locale.ROOT)) {
                case "rgb" -> ChannelOrder.RGB;
                case "bgr" -> ChannelOrder.BGR;
                default -> throw invalid(prefix + names.get("channel-order"), orderText, "rgb, bgr");
            };
        }
        PixelRange range = pixelRange;
        String rangeText = values.get(names.get("pixel-range"));
        if (rangeText != null) {
            range = switch (rangeText.trim()) {
                case "0-1", "1" -> PixelRange.UNIT;
                case "0-255", "255" -> PixelRange.BYTE;
                default -> throw invalid(prefix + names.get("pixel-range"), rangeText, "0-1, 0-255");
            };
        }
        float[] newMean = parseValues(prefix + names.get("mean"), values.get(names.get("mean")), mean, newChannels,
                false);
        float[] newStd = parseValues(prefix + names.get("std"), values.get(names.get("std")), std, newChannels, true);
        return new Preprocessing(newChannels, size[0], size[1], order, range, newMean, newStd);
    }

    private static IllegalArgumentException invalid(String key, String value, String valid) {
        return new IllegalArgumentException(key + " '" + Verifier.shorten(value) + "' is not valid; valid: " + valid);
    }

    /** {@code HxW}, each at least 1, at most {@link Images#MAX_PIXELS} pixels. */
    private static int[] parseSize(String key, String text) {
        String[] parts = text.trim().toLowerCase(Locale.ROOT).split("x", -1);
        try {
            if (parts.length == 2) {
                int h = Integer.parseInt(parts[0].trim());
                int w = Integer.parseInt(parts[1].trim());
                if (h >= 1 && w >= 1 && (long) h * w <= Images.MAX_PIXELS) {
                    return new int[] {h, w};
                }
            }
        } catch (NumberFormatException e) {
            // the message below says what is valid
        }
        throw new IllegalArgumentException(key + " '" + Verifier.shorten(text) + "' is not valid; valid: HEIGHTxWIDTH"
                + " in pixels, e.g. 112x112 (at most " + Images.MAX_PIXELS + " pixels)");
    }

    /**
     * One number for every channel or one per channel, comma-separated; null keeps {@code old} when it suits the
     * channel count (the same value everywhere, or as many values).
     */
    private static float[] parseValues(String key, String text, float[] old, int channels, boolean positive) {
        if (text == null) {
            boolean uniform = true;
            for (float v : old) {
                uniform &= v == old[0];
            }
            if (old.length == channels || uniform) {
                return uniform ? new float[] {old[0]} : old;
            }
            throw new IllegalArgumentException(key + " is needed: the colour changed to " + channels + " channel(s) "
                    + "and the old value " + Arrays.toString(old) + " was per channel");
        }
        String[] parts = text.split(",", -1);
        String valid = "one number, or " + channels + " separated by commas (one per channel)"
                + (positive ? ", each positive" : "") + ", e.g. " + (positive ? "128 or 58.4,57.1,57.4"
                : "127.5 or 123.7,116.3,103.5");
        if (parts.length != 1 && parts.length != channels) {
            throw new IllegalArgumentException(key + " '" + Verifier.shorten(text) + "' has " + parts.length
                    + " values; valid: " + valid);
        }
        float[] out = new float[parts.length];
        for (int i = 0; i < parts.length; i++) {
            float v;
            try {
                v = Float.parseFloat(parts[i].trim());
            } catch (NumberFormatException e) {
                v = Float.NaN;
            }
            if (!Float.isFinite(v) || (positive && !(v > 0))) {
                throw new IllegalArgumentException(key + " '" + Verifier.shorten(text) + "' is not valid; valid: "
                        + valid);
            }
            out[i] = v;
        }
        return out;
    }

    /**
     * This preprocessing as the sidecar's {@code preprocessing} object: {@code input_size} ("112x112"),
     * {@code color} ("rgb" or "grey"), {@code channel_order}, {@code pixel_range} ("0-1" or "0-255"), {@code mean}
     * and {@code std} (arrays of numbers, one per channel).
     */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("input_size", height + "x" + width);
        m.put("color", channels == 1 ? "grey" : "rgb");
        m.put("channel_order", channelOrder.token());
        m.put("pixel_range", pixelRange.token());
        m.put("mean", numbers(mean));
        m.put("std", numbers(std));
        return m;
    }

    private static List<Object> numbers(float[] values) {
        List<Object> out = new ArrayList<>();
        for (float v : values) {
            out.add(new Json.Num(Float.toString(v)));
        }
        return out;
    }

    /**
     * The preprocessing a sidecar's {@code preprocessing} object states, its values as text (numbers already
     * turned into their tokens, arrays joined by commas); every key of {@link #JSON_KEYS} is required.
     *
     * @throws IllegalArgumentException naming the key ({@code preprocessing.mean}) and the valid values
     */
    static Preprocessing fromJson(Map<String, String> values) {
        for (String key : JSON_KEYS) {
            if (values.get(key) == null) {
                throw new IllegalArgumentException("preprocessing." + key + " is missing; the preprocessing object "
                        + "needs " + String.join(", ", JSON_KEYS));
            }
        }
        // input_size, color and channel_order given, so the starting point's own values never show
        Preprocessing start = new Preprocessing(1, 1, 1, ChannelOrder.RGB, PixelRange.UNIT, new float[] {0f},
                new float[] {1f});
        return start.with(values, "preprocessing.", Map.of("input-size", "input_size", "color", "color",
                "channel-order", "channel_order", "pixel-range", "pixel_range", "mean", "mean", "std", "std"));
    }

    // =====================================================================================================
    // Object methods (arrays compared by value)
    // =====================================================================================================

    @Override
    public boolean equals(Object o) {
        return o instanceof Preprocessing p && p.channels == channels && p.height == height && p.width == width
                && p.channelOrder == channelOrder && p.pixelRange == pixelRange && Arrays.equals(p.mean, mean)
                && Arrays.equals(p.std, std);
    }

    @Override
    public int hashCode() {
        return Objects.hash(channels, height, width, channelOrder, pixelRange, Arrays.hashCode(mean),
                Arrays.hashCode(std));
    }

    /** {@code rgb 112x112, pixels 0-255, mean 127.5, std 128.0} (BGR said when it applies). */
    @Override
    public String toString() {
        return (channels == 1 ? "grey" : channelOrder.token()) + " " + height + "x" + width + ", pixels "
                + pixelRange.token() + ", mean " + values(mean) + ", std " + values(std);
    }

    private static String values(float[] v) {
        boolean uniform = true;
        for (float x : v) {
            uniform &= x == v[0];
        }
        if (uniform) {
            return Float.toString(v[0]);
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            sb.append(i == 0 ? "" : ",").append(v[i]);
        }
        return sb.toString();
    }
}
