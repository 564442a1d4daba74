package org.siamese4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * A network architecture written on one line, such as the reference tower
 * <pre>
 * conv(32,3,pad=1) relu maxpool(2) conv(64,3,pad=1) relu maxpool(2) conv(128,3,pad=1) relu maxpool(2)
 * flatten dense(256) relu dense(128) l2norm
 * </pre>
 * It is what a model file stores under its {@code arch} metadata key and what command-line tools accept, so a
 * file describes the network its weights belong to. The full grammar, with examples, is in
 * {@code docs/model-format.md}.
 *
 * <h2>Grammar</h2>
 * Layers are separated by whitespace; each is {@code name} or {@code name(args)}. Arguments are separated by
 * commas; the required ones may be given by position or by name, the optional ones only by name
 * ({@code name=value}), and positional arguments come first, as in Python. Names are lower case.
 * <table>
 * <caption>Layers</caption>
 * <tr><th>layer</th><th>module</th><th>defaults</th></tr>
 * <tr><td>{@code conv(out,k[,stride=s][,pad=p][,pad_mode=zeros|reflect])}</td><td>{@link Conv2d}, k x k
 *     kernel, with bias</td><td>stride 1, pad 0, pad_mode zeros</td></tr>
 * <tr><td>{@code maxpool(k[,stride=s])}</td><td>{@link MaxPool2d}</td><td>stride k</td></tr>
 * <tr><td>{@code avgpool(k[,stride=s])}</td><td>{@link AvgPool2d}</td><td>stride k</td></tr>
 * <tr><td>{@code dense(out)}</td><td>{@link Linear}, with bias</td><td></td></tr>
 * <tr><td>{@code batchnorm}</td><td>{@link BatchNorm2d} on C x H x W, {@link BatchNorm1d} on features</td>
 *     <td>eps 1e-5, momentum 0.1</td></tr>
 * <tr><td>{@code dropout(p)}</td><td>{@link Dropout}, p in [0, 1]</td><td></td></tr>
 * <tr><td>{@code relu}, {@code sigmoid}, {@code tanh}</td><td>{@link ReLU}, {@link Sigmoid}, {@link Tanh}</td>
 *     <td></td></tr>
 * <tr><td>{@code leakyrelu(slope)}</td><td>{@link LeakyReLU}</td><td></td></tr>
 * <tr><td>{@code flatten}</td><td>{@link Flatten}: C x H x W becomes C*H*W features</td><td></td></tr>
 * <tr><td>{@code l2norm}</td><td>{@link L2Normalize} along dimension 1</td><td>eps 1e-12</td></tr>
 * </table>
 *
 * <h2>Shapes and names</h2>
 * {@link #build} is given the shape of one input sample, {@code C x H x W} (images) or {@code features}
 * (vectors), and follows it through the layers to infer each layer's input channels or features. A layer that
 * does not fit its input fails before anything is allocated, naming the layer and both shapes. {@code dense}
 * needs a flat input: as PyTorch's {@code nn.Linear}, it does not flatten by itself, so write {@code flatten}
 * first.
 *
 * <p>Layer i of the spec is child {@code "i"} of the built {@link Sequential}, exactly as in the equivalent
 * PyTorch {@code nn.Sequential} (parameter-free layers take an index too), which fixes the state-dict names:
 * {@code 0.weight}, {@code 0.bias}, {@code 4.running_var}. {@link #stateShapes} lists them without building.
 *
 * <p>Instances are immutable; {@link #toString()} is canonical (defaults left out, no spaces inside the
 * parentheses) and {@code parse(spec.toString()).equals(spec)}.
 */
public final class ArchSpec {

    /**
     * Elements a single tensor may hold: the JVM's largest array. Every shape the spec implies is checked
     * against it in {@code long} arithmetic, so a hostile spec (read from a file) cannot overflow an int.
     */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** Longest token quoted in an error message; a hostile spec could be very long. */
    private static final int MAX_QUOTED = 80;

    private static final Pattern UNSIGNED_INT = Pattern.compile("[0-9]+");
    private static final Pattern DECIMAL = Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");

    /** The layer kinds: the spec token, its arguments in positional order, and its usage line. */
    public enum Kind {
        CONV("conv", 2, "out", "k", "stride", "pad", "pad_mode"),
        MAXPOOL("maxpool", 1, "k", "stride"),
        AVGPOOL("avgpool", 1, "k", "stride"),
        DENSE("dense", 1, "out"),
        BATCHNORM("batchnorm", 0),
        DROPOUT("dropout", 1, "p"),
        RELU("relu", 0),
        LEAKYRELU("leakyrelu", 1, "slope"),
        SIGMOID("sigmoid", 0),
        TANH("tanh", 0),
        FLATTEN("flatten", 0),
        L2NORM("l2norm", 0);

        private final String token;
        private final int required;
        private final List<String> args;

        Kind(String token, int required, String... args) {
            this.token = token;
            this.required = required;
            this.args = List.of(args);
        }

        /** The name in a spec: {@code conv}, {@code maxpool}, ... */
        public String token() {
            return token;
        }

        /** Argument names; the first {@link #requiredArgs()} are required and may be positional. */
        public List<String> argNames() {
            return args;
        }

        public int requiredArgs() {
            return required;
        }

        /** {@code conv(out,k[,stride=s][,pad=p][,pad_mode=zeros|reflect])}. */
        public String usage() {
            if (args.isEmpty()) {
                return token;
            }
            StringBuilder sb = new StringBuilder(token).append('(');
            for (int i = 0; i < args.size(); i++) {
                String a = args.get(i);
                if (i < required) {
                    sb.append(i == 0 ? "" : ",").append(a);
                } else {
                    String value = a.equals("pad_mode") ? "zeros|reflect" : a.substring(0, 1);
                    sb.append('[').append(i == 0 ? "" : ",").append(a).append('=').append(value).append(']');
                }
            }
            return sb.append(')').toString();
        }

        /** The kind whose token is exactly {@code token}, or null. */
        static Kind byToken(String token) {
            for (Kind k : values()) {
                if (k.token.equals(token)) {
                    return k;
                }
            }
            return null;
        }
    }

    /**
     * One layer of a spec. Only the fields its kind uses are set; the others are 0 (and {@code padMode} is
     * null), so two equal layers are {@code equals}. Use the factories, which check the values.
     *
     * @param kind    the layer kind
     * @param out     output channels ({@code conv}) or features ({@code dense})
     * @param kernel  kernel size ({@code conv}, {@code maxpool}, {@code avgpool})
     * @param stride  stride ({@code conv}, pools), already resolved: a pool's default is its kernel size
     * @param pad     zero or reflection padding ({@code conv})
     * @param padMode padding mode ({@code conv})
     * @param value   the probability of {@code dropout} or the negative slope of {@code leakyrelu}
     */
    public record Layer(Kind kind, int out, int kernel, int stride, int pad, PaddingMode padMode, float value) {

        public Layer {
            if (kind == null) {
                throw new IllegalArgumentException("ArchSpec.Layer: kind is null");
            }
            boolean conv = kind == Kind.CONV;
            boolean pool = kind == Kind.MAXPOOL || kind == Kind.AVGPOOL;
            boolean hasValue = kind == Kind.DROPOUT || kind == Kind.LEAKYRELU;
            String name = kind.token;
            if (conv || kind == Kind.DENSE) {
                atLeast(name, "out", out, 1);
            } else {
                unused(name, "out", out);
            }
            if (conv || pool) {
                atLeast(name, "k", kernel, 1);
                atLeast(name, "stride", stride, 1);
            } else {
                unused(name, "k", kernel);
                unused(name, "stride", stride);
            }
            if (conv) {
                atLeast(name, "pad", pad, 0);
                if (padMode == null) {
                    throw new IllegalArgumentException("ArchSpec.Layer: conv needs a pad_mode, got null");
                }
            } else {
                unused(name, "pad", pad);
                if (padMode != null) {
                    throw new IllegalArgumentException("ArchSpec.Layer: " + name + " takes no pad_mode, got "
                            + padMode);
                }
            }
            if (kind == Kind.DROPOUT && !(value >= 0 && value <= 1)) {
                throw new IllegalArgumentException("ArchSpec.Layer: dropout probability p must be in [0, 1], got "
                        + value);
            }
            if (kind == Kind.LEAKYRELU && !Float.isFinite(value)) {
                throw new IllegalArgumentException("ArchSpec.Layer: leakyrelu slope must be finite, got " + value);
            }
            if (!hasValue && value != 0) {
                throw new IllegalArgumentException("ArchSpec.Layer: " + name + " takes no value, got " + value);
            }
            if (hasValue && value == 0) {
                value = 0f; // -0.0 and 0.0 print and compare alike
            }
        }

        /** {@code conv(out,k)}: stride 1, no padding. */
        public static Layer conv(int out, int k) {
            return conv(out, k, 1, 0, PaddingMode.ZEROS);
        }

        public static Layer conv(int out, int k, int stride, int pad, PaddingMode padMode) {
            return new Layer(Kind.CONV, out, k, stride, pad, padMode, 0f);
        }

        /** {@code maxpool(k)}: stride k. */
        public static Layer maxPool(int k) {
            return maxPool(k, k);
        }

        public static Layer maxPool(int k, int stride) {
            return new Layer(Kind.MAXPOOL, 0, k, stride, 0, null, 0f);
        }

        /** {@code avgpool(k)}: stride k. */
        public static Layer avgPool(int k) {
            return avgPool(k, k);
        }

        public static Layer avgPool(int k, int stride) {
            return new Layer(Kind.AVGPOOL, 0, k, stride, 0, null, 0f);
        }

        public static Layer dense(int out) {
            return new Layer(Kind.DENSE, out, 0, 0, 0, null, 0f);
        }

        public static Layer dropout(float p) {
            return new Layer(Kind.DROPOUT, 0, 0, 0, 0, null, p);
        }

        public static Layer leakyRelu(float slope) {
            return new Layer(Kind.LEAKYRELU, 0, 0, 0, 0, null, slope);
        }

        /** A layer without arguments: batchnorm, relu, sigmoid, tanh, flatten, l2norm. */
        public static Layer of(Kind kind) {
            if (kind != null && kind.required > 0) {
                throw new IllegalArgumentException("ArchSpec.Layer: " + kind.token + " needs arguments: "
                        + kind.usage());
            }
            return new Layer(kind, 0, 0, 0, 0, null, 0f);
        }

        /** The canonical spec token: {@code conv(32,3,pad=1)}, {@code maxpool(2)}, {@code relu}. */
        @Override
        public String toString() {
            switch (kind) {
                case CONV: {
                    StringBuilder sb = new StringBuilder("conv(").append(out).append(',').append(kernel);
                    if (stride != 1) {
                        sb.append(",stride=").append(stride);
                    }
                    if (pad != 0) {
                        sb.append(",pad=").append(pad);
                    }
                    if (padMode != PaddingMode.ZEROS) {
                        sb.append(",pad_mode=").append(padMode.name().toLowerCase(Locale.ROOT));
                    }
                    return sb.append(')').toString();
                }
                case MAXPOOL:
                case AVGPOOL:
                    return kind.token + "(" + kernel + (stride != kernel ? ",stride=" + stride : "") + ")";
                case DENSE:
                    return "dense(" + out + ")";
                case DROPOUT:
                case LEAKYRELU:
                    return kind.token + "(" + Module.py(value) + ")";
                default:
                    return kind.token;
            }
        }

        private static void atLeast(String layer, String arg, int v, int min) {
            if (v < min) {
                throw new IllegalArgumentException("ArchSpec.Layer: " + layer + " " + arg + " must be at least "
                        + min + ", got " + v);
            }
        }

        private static void unused(String layer, String arg, int v) {
            if (v != 0) {
                throw new IllegalArgumentException("ArchSpec.Layer: " + layer + " takes no " + arg + ", got " + v);
            }
        }
    }

    private final List<Layer> layers;

    private ArchSpec(List<Layer> layers) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("ArchSpec: a spec needs at least one layer");
        }
        for (Layer l : layers) {
            if (l == null) {
                throw new IllegalArgumentException("ArchSpec: layer " + layers.indexOf(null) + " is null");
            }
        }
        this.layers = List.copyOf(layers);
    }

    /** A spec of these layers, in order. */
    public static ArchSpec of(List<Layer> layers) {
        if (layers == null) {
            throw new IllegalArgumentException("ArchSpec: layers is null");
        }
        return new ArchSpec(new ArrayList<>(layers));
    }

    public static ArchSpec of(Layer... layers) {
        if (layers == null) {
            throw new IllegalArgumentException("ArchSpec: layers is null");
        }
        return new ArchSpec(Arrays.asList(layers));
    }

    /** The layers, index i being child {@code "i"} of the built {@link Sequential}. */
    public List<Layer> layers() {
        return layers;
    }

    public int size() {
        return layers.size();
    }

    // =====================================================================================================
    // Parsing
    // =====================================================================================================

    /**
     * Parses a spec (see the class comment for the grammar).
     *
     * @throws IllegalArgumentException naming the layer index, the offending token, what was expected and the
     *                                  valid layer or argument names
     */
    public static ArchSpec parse(String spec) {
        if (spec == null) {
            throw new IllegalArgumentException("arch spec: the spec is null");
        }
        List<Layer> layers = new ArrayList<>();
        int n = spec.length();
        int i = 0;
        while (true) {
            while (i < n && isSpace(spec.charAt(i))) {
                i++;
            }
            if (i == n) {
                break;
            }
            int index = layers.size();
            int start = i;
            while (i < n && isNameChar(spec.charAt(i))) {
                i++;
            }
            if (i == start) {
                throw new IllegalArgumentException("arch spec: layer " + index + ": expected a layer name at character "
                        + start + ", got " + describeChar(spec.charAt(start)) + "; valid layers: " + validNames());
            }
            String name = spec.substring(start, i);
            String args = null;
            int j = i;
            while (j < n && isSpace(spec.charAt(j))) {
                j++;
            }
            if (j < n && spec.charAt(j) == '(') {
                int close = j + 1;
                while (close < n && spec.charAt(close) != ')') {
                    if (spec.charAt(close) == '(') {
                        throw new IllegalArgumentException("arch spec: layer " + index + " '"
                                + quote(spec.substring(start, close + 1)) + "': unexpected '(' at character " + close
                                + " inside the arguments");
                    }
                    close++;
                }
                if (close == n) {
                    throw new IllegalArgumentException("arch spec: layer " + index + " '"
                            + quote(spec.substring(start)) + "': missing ')' for the '(' at character " + j);
                }
                args = spec.substring(j + 1, close);
                i = close + 1;
            }
            String token = spec.substring(start, i);
            if (i < n && !isSpace(spec.charAt(i))) {
                throw new IllegalArgumentException("arch spec: layer " + index + " '" + quote(token)
                        + "': expected a space or the end after it, got " + describeChar(spec.charAt(i))
                        + " at character " + i);
            }
            layers.add(parseLayer(index, name, token, args));
        }
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("arch spec: the spec is empty; expected layers separated by spaces, "
                    + "e.g. 'conv(32,3,pad=1) relu maxpool(2) flatten dense(128)'; valid layers: " + validNames());
        }
        return new ArchSpec(layers);
    }

    private static Layer parseLayer(int index, String name, String token, String argText) {
        String where = "arch spec: layer " + index + " '" + quote(token) + "': ";
        Kind kind = Kind.byToken(name);
        if (kind == null) {
            String hint = hint(name);
            throw new IllegalArgumentException(where + "unknown layer '" + quote(name) + "'"
                    + (hint != null ? " (did you mean '" + hint + "'?)" : "") + "; valid layers: " + validNames());
        }
        Map<String, String> args = splitArgs(where, kind, argText);
        switch (kind) {
            case CONV: {
                int out = intArg(where, kind, args, "out", 1, -1);
                int k = intArg(where, kind, args, "k", 1, -1);
                int stride = intArg(where, kind, args, "stride", 1, 1);
                int pad = intArg(where, kind, args, "pad", 0, 0);
                PaddingMode mode = PaddingMode.ZEROS;
                String m = args.get("pad_mode");
                if (m != null) {
                    if (m.equals("zeros")) {
                        mode = PaddingMode.ZEROS;
                    } else if (m.equals("reflect")) {
                        mode = PaddingMode.REFLECT;
                    } else {
                        throw new IllegalArgumentException(where + "pad_mode must be zeros or reflect, got '"
                                + quote(m) + "'");
                    }
                }
                return Layer.conv(out, k, stride, pad, mode);
            }
            case MAXPOOL:
            case AVGPOOL: {
                int k = intArg(where, kind, args, "k", 1, -1);
                int stride = intArg(where, kind, args, "stride", 1, k);
                return kind == Kind.MAXPOOL ? Layer.maxPool(k, stride) : Layer.avgPool(k, stride);
            }
            case DENSE:
                return Layer.dense(intArg(where, kind, args, "out", 1, -1));
            case DROPOUT: {
                float p = floatArg(where, kind, args, "p");
                if (!(p >= 0 && p <= 1)) {
                    throw new IllegalArgumentException(where + "p must be a probability in [0, 1], got "
                            + args.get("p"));
                }
                return Layer.dropout(p);
            }
            case LEAKYRELU:
                return Layer.leakyRelu(floatArg(where, kind, args, "slope"));
            default:
                return Layer.of(kind);
        }
    }

    /**
     * Splits {@code a,b,name=c} into argument name -> raw text, positional ones first, checking names,
     * duplicates and that every required argument is there. {@code argText} is null without parentheses.
     */
    private static Map<String, String> splitArgs(String where, Kind kind, String argText) {
        Map<String, String> out = new LinkedHashMap<>();
        if (argText == null || (argText.isBlank() && kind.required == 0)) {
            if (kind.required > 0) {
                throw new IllegalArgumentException(where + kind.token + " needs arguments: " + kind.usage());
            }
            return out;
        }
        if (kind.args.isEmpty()) {
            throw new IllegalArgumentException(where + kind.token + " takes no arguments; write '" + kind.token
                    + "'");
        }
        String[] parts = argText.split(",", -1);
        int positional = 0;
        boolean sawNamed = false;
        for (int a = 0; a < parts.length; a++) {
            String part = parts[a].strip();
            if (part.isEmpty()) {
                throw new IllegalArgumentException(where + "argument " + (a + 1) + " is empty; expected "
                        + kind.usage());
            }
            int eq = part.indexOf('=');
            String argName;
            String value;
            if (eq >= 0) {
                argName = part.substring(0, eq).strip();
                value = part.substring(eq + 1).strip();
                if (!kind.args.contains(argName)) {
                    throw new IllegalArgumentException(where + "unknown argument '" + quote(argName) + "'; "
                            + kind.token + " takes " + String.join(", ", kind.args) + " (" + kind.usage() + ")");
                }
                if (value.isEmpty()) {
                    throw new IllegalArgumentException(where + "argument '" + argName + "' has no value; expected "
                            + kind.usage());
                }
                sawNamed = true;
            } else {
                if (sawNamed) {
                    throw new IllegalArgumentException(where + "positional argument '" + quote(part)
                            + "' follows a named one; put positional arguments first: " + kind.usage());
                }
                if (positional >= kind.required) {
                    List<String> optional = kind.args.subList(kind.required, kind.args.size());
                    throw new IllegalArgumentException(where + "too many positional arguments at '" + quote(part)
                            + "': " + kind.token + " takes " + kind.required + " (" + String.join(", ",
                            kind.args.subList(0, kind.required)) + ")" + (optional.isEmpty() ? ""
                            : "; give " + String.join(", ", optional) + " by name, e.g. " + optional.get(0) + "="
                            + quote(part)) + "; expected " + kind.usage());
                }
                argName = kind.args.get(positional++);
                value = part;
            }
            if (out.put(argName, value) != null) {
                throw new IllegalArgumentException(where + "argument '" + argName + "' is given twice");
            }
        }
        for (int r = 0; r < kind.required; r++) {
            if (!out.containsKey(kind.args.get(r))) {
                throw new IllegalArgumentException(where + "missing argument '" + kind.args.get(r) + "'; expected "
                        + kind.usage());
            }
        }
        return out;
    }

    /** A non-negative decimal integer of at least {@code min}; {@code fallback} when absent (optional arguments). */
    private static int intArg(String where, Kind kind, Map<String, String> args, String name, int min,
                              int fallback) {
        String text = args.get(name);
        if (text == null) {
            return fallback;
        }
        if (!UNSIGNED_INT.matcher(text).matches()) {
            throw new IllegalArgumentException(where + name + " must be an integer >= " + min + ", got '"
                    + quote(text) + "'; expected " + kind.usage());
        }
        int v;
        try {
            v = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + name + " " + quote(text) + " is too large (at most "
                    + Integer.MAX_VALUE + ")");
        }
        if (v < min) {
            throw new IllegalArgumentException(where + name + " must be at least " + min + ", got " + v);
        }
        return v;
    }

    /** A finite decimal number ({@code 0.5}, {@code -1e-2}); no NaN, infinity, hex or type suffixes. */
    private static float floatArg(String where, Kind kind, Map<String, String> args, String name) {
        String text = args.get(name);
        if (!DECIMAL.matcher(text).matches()) {
            throw new IllegalArgumentException(where + name + " must be a decimal number, got '" + quote(text)
                    + "'; expected " + kind.usage());
        }
        float v = Float.parseFloat(text);
        if (!Float.isFinite(v)) {
            throw new IllegalArgumentException(where + name + " " + quote(text) + " is out of the float range");
        }
        return v;
    }

    /** Names people reach for from PyTorch or Keras. */
    private static String hint(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (Kind.byToken(lower) != null) {
            return lower;
        }
        switch (lower) {
            case "conv2d":
            case "convolution":
                return "conv";
            case "linear":
            case "fc":
            case "full":
                return "dense";
            case "maxpool2d":
            case "max_pool":
            case "pool":
                return "maxpool";
            case "avgpool2d":
            case "avg_pool":
                return "avgpool";
            case "bn":
            case "batchnorm1d":
            case "batchnorm2d":
            case "batch_norm":
                return "batchnorm";
            case "leaky_relu":
            case "lrelu":
                return "leakyrelu";
            case "l2normalize":
            case "normalize":
            case "l2":
                return "l2norm";
            default:
                return null;
        }
    }

    private static String validNames() {
        StringBuilder sb = new StringBuilder();
        for (Kind k : Kind.values()) {
            sb.append(sb.length() == 0 ? "" : ", ").append(k.usage());
        }
        return sb.toString();
    }

    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    private static boolean isNameChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    }

    private static String describeChar(char c) {
        return c >= 0x20 && c < 0x7f ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }

    /** The text, shortened and with control characters escaped, for an error message. */
    private static String quote(String s) {
        String t = s.length() > MAX_QUOTED ? s.substring(0, MAX_QUOTED) + "..." : s;
        StringBuilder sb = new StringBuilder(t.length());
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                sb.append(String.format("\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    // =====================================================================================================
    // Input shapes
    // =====================================================================================================

    /**
     * Parses the shape of one input sample: {@code CxHxW} ({@code 1x112x92}) for images or a single number
     * ({@code 16}) for feature vectors.
     */
    public static int[] parseInput(String text) {
        String usage = "expected CxHxW such as 1x112x92, or a feature count such as 16";
        if (text == null) {
            throw new IllegalArgumentException("input shape: the text is null; " + usage);
        }
        String[] parts = text.strip().split("x", -1);
        if (parts.length != 1 && parts.length != 3) {
            throw new IllegalArgumentException("input shape: '" + quote(text) + "' has " + parts.length
                    + " dimensions; " + usage);
        }
        int[] shape = new int[parts.length];
        for (int d = 0; d < parts.length; d++) {
            String p = parts[d];
            if (!UNSIGNED_INT.matcher(p).matches()) {
                throw new IllegalArgumentException("input shape: '" + quote(text) + "': dimension " + d + " '"
                        + quote(p) + "' is not a positive integer; " + usage);
            }
            try {
                shape[d] = Integer.parseInt(p);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("input shape: '" + quote(text) + "': dimension " + d
                        + " is too large");
            }
        }
        checkInput(shape);
        return shape;
    }

    /** The inverse of {@link #parseInput}: {@code [1, 112, 92]} gives {@code "1x112x92"}. */
    public static String formatInput(int[] inputShape) {
        checkInput(inputShape);
        StringBuilder sb = new StringBuilder();
        for (int d = 0; d < inputShape.length; d++) {
            sb.append(d == 0 ? "" : "x").append(inputShape[d]);
        }
        return sb.toString();
    }

    private static void checkInput(int[] shape) {
        if (shape == null) {
            throw new IllegalArgumentException("input shape: null; expected [C, H, W] or [features]");
        }
        if (shape.length != 1 && shape.length != 3) {
            throw new IllegalArgumentException("input shape: expected [C, H, W] or [features], got "
                    + Shapes.toString(shape));
        }
        long size = 1;
        for (int d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("input shape: every dimension must be positive, got "
                        + Shapes.toString(shape));
            }
            size *= d;
        }
        if (size > MAX_ELEMENTS) {
            throw new IllegalArgumentException("input shape: " + Shapes.toString(shape) + " has " + size
                    + " elements, more than a tensor holds (" + MAX_ELEMENTS + ")");
        }
    }

    // =====================================================================================================
    // Shapes
    // =====================================================================================================

    /**
     * The shape of one sample after each layer (entry i is the output of layer i), for one input sample of
     * shape {@code inputShape} ([C, H, W] or [features]).
     *
     * @throws IllegalArgumentException naming the first layer that does not fit, its input shape and what it
     *                                  needs
     */
    public List<int[]> layerShapes(int[] inputShape) {
        checkInput(inputShape);
        List<int[]> shapes = new ArrayList<>(layers.size());
        int[] x = inputShape.clone();
        for (int i = 0; i < layers.size(); i++) {
            x = outputOf(i, x);
            shapes.add(x);
        }
        return shapes;
    }

    /** The shape of one output sample, e.g. {@code [128]} for the reference tower. */
    public int[] outputShape(int[] inputShape) {
        List<int[]> shapes = layerShapes(inputShape);
        return shapes.get(shapes.size() - 1).clone();
    }

    /**
     * Floats of activation one input sample of shape {@code inputShape} flows through: the input plus every
     * layer's output, computed from the shapes alone. A forward pass that records the autograd graph keeps all of
     * them; one without it keeps fewer but adds its own workspaces (a convolution's unfolded input), so this is
     * the order of the memory one sample takes to embed, whatever the weights. A few bytes of spec can make it
     * huge: {@code conv(20,1)} on a 1x8000x8000 input is 1.3 G floats.
     *
     * @throws IllegalArgumentException as {@link #layerShapes} when a layer does not fit its input
     */
    public long activationElements(int[] inputShape) {
        List<int[]> shapes = layerShapes(inputShape);
        long total = 1;
        for (int d : inputShape) {
            total *= d;  // checked against MAX_ELEMENTS by layerShapes
        }
        for (int[] shape : shapes) {
            long size = 1;
            for (int d : shape) {
                size *= d;
            }
            // each size is at most MAX_ELEMENTS < 2^31 and there are fewer than 2^31 layers: no overflow
            total += size;
        }
        return total;
    }

    /** Output shape of layer i for input x (one sample), or a failure naming the layer and both shapes. */
    private int[] outputOf(int i, int[] x) {
        Layer l = layers.get(i);
        switch (l.kind()) {
            case CONV: {
                requireImage(i, x);
                if (l.padMode() == PaddingMode.REFLECT && (l.pad() >= x[1] || l.pad() >= x[2])) {
                    throw shapeError(i, x, "reflection padding " + l.pad() + " must be smaller than the input's "
                            + "height and width " + x[1] + "x" + x[2]);
                }
                int span = l.kernel(); // no dilation in the grammar
                long ph = x[1] + 2L * l.pad();
                long pw = x[2] + 2L * l.pad();
                if (span > ph || span > pw) {
                    throw shapeError(i, x, "its " + l.kernel() + "x" + l.kernel() + " kernel is larger than the "
                            + (l.pad() > 0 ? "padded " : "") + "input " + ph + "x" + pw);
                }
                long[] y = {l.out(), (ph - span) / l.stride() + 1, (pw - span) / l.stride() + 1};
                checkElements(i, "output", y);
                checkElements(i, "weight", weightShape(l, x));
                return new int[] {(int) y[0], (int) y[1], (int) y[2]};
            }
            case MAXPOOL:
            case AVGPOOL: {
                requireImage(i, x);
                if (l.kernel() > x[1] || l.kernel() > x[2]) {
                    throw shapeError(i, x, "its " + l.kernel() + "x" + l.kernel() + " window is larger than the "
                            + "input " + x[1] + "x" + x[2]);
                }
                return new int[] {x[0], (x[1] - l.kernel()) / l.stride() + 1, (x[2] - l.kernel()) / l.stride() + 1};
            }
            case DENSE: {
                if (x.length != 1) {
                    throw shapeError(i, x, "dense needs flat features [features] but gets [C, H, W]; put flatten "
                            + "before it (dense does not flatten by itself, like PyTorch's nn.Linear); flatten "
                            + "would give [" + ((long) x[0] * x[1] * x[2]) + "]");
                }
                checkElements(i, "weight", weightShape(l, x));
                return new int[] {l.out()};
            }
            case FLATTEN: {
                long size = 1;
                for (int d : x) {
                    size *= d;
                }
                return new int[] {(int) size}; // input sizes are checked against MAX_ELEMENTS
            }
            default:
                // batchnorm (2d or 1d by rank), dropout, activations and l2norm keep the shape
                return x;
        }
    }

    private void requireImage(int i, int[] x) {
        if (x.length != 3) {
            Layer l = layers.get(i);
            throw shapeError(i, x, l.kind().token + " needs an image input [C, H, W] but gets flat features"
                    + (i == 0 ? "; give an input shape CxHxW such as 1x112x92"
                    : "; conv and pooling layers must come before flatten"));
        }
    }

    private IllegalArgumentException shapeError(int i, int[] x, String problem) {
        return new IllegalArgumentException("arch spec: layer " + i + " " + layers.get(i) + " does not fit its input "
                + "shape " + Shapes.toString(x) + " (" + (i == 0 ? "the model input" : "the output of layer " + (i - 1)
                + " " + layers.get(i - 1)) + "): " + problem);
    }

    private void checkElements(int i, String what, long[] shape) {
        long size = 1;
        for (long d : shape) {
            // size and d are both at most MAX_ELEMENTS < 2^31 here, so the product fits a long
            size = d > MAX_ELEMENTS ? d : size * d;
            if (size > MAX_ELEMENTS) {
                throw new IllegalArgumentException("arch spec: layer " + i + " " + layers.get(i) + ": its " + what
                        + " " + Arrays.toString(shape) + " has more elements than a tensor holds ("
                        + MAX_ELEMENTS + ")");
            }
        }
    }

    /** [out, in, k, k] for conv, [out, in] for dense, given the layer's input shape x. */
    private static long[] weightShape(Layer l, int[] x) {
        return l.kind() == Kind.CONV ? new long[] {l.out(), x[0], l.kernel(), l.kernel()}
                : new long[] {l.out(), x[0]};
    }

    /**
     * The state dict of the network this spec builds for {@code inputShape}: PyTorch's names
     * ({@code 0.weight}, {@code 3.running_mean}) and shapes in PyTorch's order, computed without allocating
     * anything, so a model file can be checked before a (possibly huge) network is built from its spec.
     * Batch norm's {@code num_batches_tracked} has shape {@code []}.
     */
    public LinkedHashMap<String, int[]> stateShapes(int[] inputShape) {
        List<int[]> shapes = layerShapes(inputShape);
        LinkedHashMap<String, int[]> out = new LinkedHashMap<>();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int[] x = i == 0 ? inputShape : shapes.get(i - 1);
            switch (l.kind()) {
                case CONV:
                    out.put(i + ".weight", new int[] {l.out(), x[0], l.kernel(), l.kernel()});
                    out.put(i + ".bias", new int[] {l.out()});
                    break;
                case DENSE:
                    out.put(i + ".weight", new int[] {l.out(), x[0]});
                    out.put(i + ".bias", new int[] {l.out()});
                    break;
                case BATCHNORM:
                    out.put(i + ".weight", new int[] {x[0]});
                    out.put(i + ".bias", new int[] {x[0]});
                    out.put(i + ".running_mean", new int[] {x[0]});
                    out.put(i + ".running_var", new int[] {x[0]});
                    out.put(i + ".num_batches_tracked", new int[0]);
                    break;
                default:
                    break;
            }
        }
        return out;
    }

    /** Trainable values of the network built for {@code inputShape} (buffers excluded), without building it. */
    public long parameterCount(int[] inputShape) {
        long n = 0;
        for (Map.Entry<String, int[]> e : stateShapes(inputShape).entrySet()) {
            String name = e.getKey();
            if (name.endsWith(".weight") || name.endsWith(".bias")) {
                long size = 1;
                for (int d : e.getValue()) {
                    size *= d;
                }
                n += size;
            }
        }
        return n;
    }

    // =====================================================================================================
    // Building
    // =====================================================================================================

    /**
     * Builds the network for one input sample of shape {@code inputShape} ([C, H, W] or [features]); it then
     * takes batches [N, C, H, W] or [N, features]. Weights are initialised as PyTorch's defaults from
     * {@code rng}, and dropout layers draw their masks from the same {@code rng} (so whoever saves the
     * generator's state for a checkpoint also saves the dropout stream).
     *
     * @throws IllegalArgumentException before allocating anything, naming the first layer that does not fit
     *                                  its input and both shapes
     */
    public Sequential build(int[] inputShape, Rng rng) {
        if (rng == null) {
            throw new IllegalArgumentException("ArchSpec.build: rng is null");
        }
        List<int[]> shapes = layerShapes(inputShape);
        Sequential model = new Sequential();
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int[] x = i == 0 ? inputShape : shapes.get(i - 1);
            model.add(module(l, x, rng));
        }
        return model;
    }

    /**
     * How {@code model} differs from what {@link #build} makes of this spec for {@code inputShape}, one line
     * per difference, empty when it does not: the number of layers, each layer's module type and settings
     * (compared through its PyTorch-style repr, so a stride, padding or slope that differs shows), and the
     * state-dict names and shapes. Used to refuse saving a model under a spec that does not describe it.
     * Layers are compared without building the spec's dense layers, whose weights can be large.
     *
     * @throws IllegalArgumentException when the spec itself does not fit {@code inputShape}
     */
    public List<String> differences(Module model, int[] inputShape) {
        if (model == null) {
            throw new IllegalArgumentException("ArchSpec.differences: model is null");
        }
        List<int[]> shapes = layerShapes(inputShape);
        List<String> out = new ArrayList<>();
        if (!(model instanceof Sequential)) {
            out.add("the model is a " + model.getClass().getSimpleName() + ", the spec builds a Sequential of "
                    + layers.size() + (layers.size() == 1 ? " layer" : " layers"));
            return out;
        }
        Sequential seq = (Sequential) model;
        if (seq.size() != layers.size()) {
            out.add("the model has " + seq.size() + " layers, the spec " + layers.size());
        }
        Rng scratch = new Rng(0);
        for (int i = 0; i < Math.min(seq.size(), layers.size()); i++) {
            Layer l = layers.get(i);
            Module actual = seq.get(i);
            int[] x = i == 0 ? inputShape : shapes.get(i - 1);
            String expected;
            boolean same;
            if (l.kind() == Kind.DENSE) {
                // checked field by field: building it would allocate the (possibly huge) weight
                expected = "Linear(in_features=" + x[0] + ", out_features=" + l.out() + ", bias=True)";
                same = actual instanceof Linear && ((Linear) actual).inFeatures() == x[0]
                        && ((Linear) actual).outFeatures() == l.out() && ((Linear) actual).bias() != null;
            } else {
                expected = module(l, x, scratch).toString();
                same = actual.toString().equals(expected);
            }
            if (!same) {
                out.add("layer " + i + " (" + l + "): the spec builds " + expected + ", the model has " + actual);
            }
        }
        LinkedHashMap<String, int[]> want = stateShapes(inputShape);
        LinkedHashMap<String, Tensor> have = model.stateDict();
        want.forEach((name, shape) -> {
            Tensor t = have.get(name);
            if (t == null) {
                out.add("the model has no " + name + " " + Shapes.toString(shape));
            } else if (!Arrays.equals(t.shape(), shape)) {
                out.add(name + " is " + Shapes.toString(t.shape()) + " in the model, " + Shapes.toString(shape)
                        + " in the spec");
            }
        });
        have.forEach((name, t) -> {
            if (!want.containsKey(name)) {
                out.add("the model has " + name + " " + Shapes.toString(t.shape()) + ", the spec does not");
            }
        });
        return out;
    }

    private static Module module(Layer l, int[] x, Rng rng) {
        switch (l.kind()) {
            case CONV:
                return new Conv2d(x[0], l.out(), l.kernel(), l.stride(), l.pad(), 1, l.padMode(), true, rng);
            case MAXPOOL:
                return new MaxPool2d(l.kernel(), l.stride());
            case AVGPOOL:
                return new AvgPool2d(l.kernel(), l.stride());
            case DENSE:
                return new Linear(x[0], l.out(), rng);
            case BATCHNORM:
                return x.length == 3 ? new BatchNorm2d(x[0]) : new BatchNorm1d(x[0]);
            case DROPOUT:
                return new Dropout(l.value(), rng);
            case RELU:
                return new ReLU();
            case LEAKYRELU:
                return new LeakyReLU(l.value());
            case SIGMOID:
                return new Sigmoid();
            case TANH:
                return new Tanh();
            case FLATTEN:
                return new Flatten();
            case L2NORM:
                return new L2Normalize();
            default:
                throw new AssertionError(l.kind());
        }
    }

    // =====================================================================================================
    // Printing
    // =====================================================================================================

    /**
     * One line per layer: index, spec token, output shape and parameter count, then the total; what a
     * command-line tool prints to show a model.
     */
    public String summary(int[] inputShape) {
        List<int[]> shapes = layerShapes(inputShape);
        LinkedHashMap<String, int[]> state = stateShapes(inputShape);
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%5s  %-28s %-18s %12s%n", "index", "layer", "output", "parameters"));
        sb.append(String.format(Locale.ROOT, "%5s  %-28s %-18s %12s%n", "", "input", formatInput(inputShape), ""));
        for (int i = 0; i < layers.size(); i++) {
            long params = 0;
            for (String t : new String[] {".weight", ".bias"}) {
                int[] s = state.get(i + t);
                if (s != null) {
                    long size = 1;
                    for (int d : s) {
                        size *= d;
                    }
                    params += size;
                }
            }
            sb.append(String.format(Locale.ROOT, "%5d  %-28s %-18s %12d%n", i, layers.get(i),
                    formatInput(shapes.get(i)), params));
        }
        sb.append(String.format(Locale.ROOT, "%5s  %-28s %-18s %12d%n", "", "total", "",
                parameterCount(inputShape)));
        StringBuilder trimmed = new StringBuilder();
        sb.toString().lines().forEach(line -> trimmed.append(line.stripTrailing()).append('\n'));
        return trimmed.toString();
    }

    /** The canonical spec: layers separated by one space, defaults left out. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (Layer l : layers) {
            sb.append(sb.length() == 0 ? "" : " ").append(l);
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ArchSpec && ((ArchSpec) o).layers.equals(layers);
    }

    @Override
    public int hashCode() {
        return layers.hashCode();
    }
}
