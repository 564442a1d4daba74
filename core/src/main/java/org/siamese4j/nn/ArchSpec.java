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
 * <tr><td>{@code conv(out,k[,stride=s][,pad=p][,pad_mode=zeros|reflect][,groups=g])}</td><td>{@link Conv2d},
 *     k x k kernel, with bias; g groups (g = in = out is depthwise)</td><td>stride 1, pad 0, pad_mode zeros,
 *     groups 1</td></tr>
 * <tr><td>{@code maxpool(k[,stride=s])}</td><td>{@link MaxPool2d}</td><td>stride k</td></tr>
 * <tr><td>{@code avgpool(k[,stride=s])}</td><td>{@link AvgPool2d}</td><td>stride k</td></tr>
 * <tr><td>{@code globalavgpool}</td><td>GlobalAvgPool2d: C x H x W becomes C x 1 x 1</td><td></td></tr>
 * <tr><td>{@code dense(out)}</td><td>{@link Linear}, with bias</td><td></td></tr>
 * <tr><td>{@code batchnorm}</td><td>{@link BatchNorm2d} on C x H x W, {@link BatchNorm1d} on features</td>
 *     <td>eps 1e-5, momentum 0.1</td></tr>
 * <tr><td>{@code dropout(p)}</td><td>{@link Dropout}, p in [0, 1]</td><td></td></tr>
 * <tr><td>{@code relu}, {@code sigmoid}, {@code tanh}</td><td>{@link ReLU}, {@link Sigmoid}, {@link Tanh}</td>
 *     <td></td></tr>
 * <tr><td>{@code leakyrelu(slope)}</td><td>{@link LeakyReLU}</td><td></td></tr>
 * <tr><td>{@code prelu}</td><td>PReLU with one learned slope per channel (or feature)</td><td>slopes 0.25</td></tr>
 * <tr><td>{@code flatten}</td><td>{@link Flatten}: C x H x W becomes C*H*W features</td><td></td></tr>
 * <tr><td>{@code l2norm}</td><td>{@link L2Normalize} along dimension 1</td><td>eps 1e-12</td></tr>
 * <tr><td>{@code residual(BODY[ | SHORTCUT])}</td><td>{@link Residual}: BODY and SHORTCUT are layer sequences
 *     in this grammar, nesting allowed; without a shortcut it is the identity</td><td></td></tr>
 * <tr><td>{@code concat(BRANCH | BRANCH[ | ...])}</td><td>{@link Concat}: each BRANCH is a layer sequence in this
 *     grammar, run on the same input; the outputs are joined along the channels (or features). One branch is
 *     allowed</td><td></td></tr>
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
 * {@code 0.weight}, {@code 0.bias}, {@code 4.running_var}. Inside a residual block at index i, the body is
 * {@code i.body} and the shortcut {@code i.shortcut}, each numbered the same way ({@code 2.body.0.weight},
 * {@code 2.shortcut.1.running_mean}). Inside a concat block at index i, branch k is {@code i.branches.k}
 * ({@code 0.branches.1.4.running_var}), the names of a PyTorch {@code nn.ModuleList} named {@code branches}.
 * Errors name a layer by this path ({@code layer 2.body.3}, {@code layer 0.branches.1.2}). A concat's branches
 * must give shapes that agree in all but their first dimension (channels, or features), and its output sums
 * that dimension. {@link #stateShapes} lists the names without building.
 *
 * <p>Instances are immutable; {@link #toString()} is canonical (defaults left out, no spaces inside the
 * parentheses but one between the layers of a residual or concat block and around its {@code |}), and
 * {@code parse(spec.toString()).equals(spec)}.
 */
public final class ArchSpec {

    /**
     * Elements a single tensor may hold: the JVM's largest array. Every shape the spec implies is checked
     * against it in {@code long} arithmetic, so a hostile spec (read from a file) cannot overflow an int.
     */
    static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    /** Longest token quoted in an error message; a hostile spec could be very long. */
    private static final int MAX_QUOTED = 80;

    /**
     * Deepest nesting of residual and concat blocks (counted alike): far more than any real network, and a bound
     * on the recursion of the parser and of everything that walks a spec, so a hostile spec cannot overflow the
     * stack.
     */
    static final int MAX_NESTING = 32;

    private static final Pattern UNSIGNED_INT = Pattern.compile("[0-9]+");
    private static final Pattern DECIMAL = Pattern.compile("[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?");

    /** The layer kinds: the spec token, its arguments in positional order, and its usage line. */
    public enum Kind {
        CONV("conv", 2, "out", "k", "stride", "pad", "pad_mode", "groups"),
        MAXPOOL("maxpool", 1, "k", "stride"),
        AVGPOOL("avgpool", 1, "k", "stride"),
        GLOBALAVGPOOL("globalavgpool", 0),
        DENSE("dense", 1, "out"),
        BATCHNORM("batchnorm", 0),
        DROPOUT("dropout", 1, "p"),
        RELU("relu", 0),
        LEAKYRELU("leakyrelu", 1, "slope"),
        PRELU("prelu", 0),
        SIGMOID("sigmoid", 0),
        TANH("tanh", 0),
        FLATTEN("flatten", 0),
        L2NORM("l2norm", 0),
        /** Its "arguments" are layer sequences, the body and the optional shortcut after a {@code |}. */
        RESIDUAL("residual", 1, "body", "shortcut"),
        /** Its "arguments" are layer sequences, the branches, separated by {@code |}. */
        CONCAT("concat", 1, "branches");

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

        /** {@code conv(out,k[,stride=s][,pad=p][,pad_mode=zeros|reflect][,groups=g])}. */
        public String usage() {
            if (this == RESIDUAL) {
                return "residual(BODY[ | SHORTCUT])";
            }
            if (this == CONCAT) {
                return "concat(BRANCH | BRANCH[ | ...])";
            }
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
     * One layer of a spec. Only the fields its kind uses are set; the others are 0 (and {@code padMode},
     * {@code body}, {@code shortcut}, {@code branches} are null), so two equal layers are {@code equals}. Use the
     * factories, which check the values.
     *
     * @param kind     the layer kind
     * @param out      output channels ({@code conv}) or features ({@code dense})
     * @param kernel   kernel size ({@code conv}, {@code maxpool}, {@code avgpool})
     * @param stride   stride ({@code conv}, pools), already resolved: a pool's default is its kernel size
     * @param pad      zero or reflection padding ({@code conv})
     * @param padMode  padding mode ({@code conv})
     * @param value    the probability of {@code dropout} or the negative slope of {@code leakyrelu}
     * @param groups   the groups of a {@code conv} (1 for an ordinary one); they must divide {@code out}
     * @param body     the layers of a {@code residual} block
     * @param shortcut the projection of a {@code residual} block, or null for the identity
     * @param branches the branches of a {@code concat} block, at least one
     */
    public record Layer(Kind kind, int out, int kernel, int stride, int pad, PaddingMode padMode, float value,
                        int groups, ArchSpec body, ArchSpec shortcut, List<ArchSpec> branches) {

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
                atLeast(name, "groups", groups, 1);
                if (out % groups != 0) {
                    throw new IllegalArgumentException("ArchSpec.Layer: conv groups " + groups
                            + " must divide its output channels " + out);
                }
            } else {
                unused(name, "pad", pad);
                unused(name, "groups", groups);
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
            if (kind == Kind.RESIDUAL && body == null) {
                throw new IllegalArgumentException("ArchSpec.Layer: residual needs a body: " + kind.usage());
            }
            if (kind != Kind.RESIDUAL && (body != null || shortcut != null)) {
                throw new IllegalArgumentException("ArchSpec.Layer: " + name + " takes no body or shortcut; only "
                        + Kind.RESIDUAL.usage() + " does");
            }
            if (kind == Kind.CONCAT) {
                if (branches == null || branches.isEmpty()) {
                    throw new IllegalArgumentException("ArchSpec.Layer: concat needs at least one branch: "
                            + kind.usage());
                }
                for (int k = 0; k < branches.size(); k++) {
                    if (branches.get(k) == null) {
                        throw new IllegalArgumentException("ArchSpec.Layer: concat branch " + k + " is null");
                    }
                }
                branches = List.copyOf(branches); // immutable, as the spec that holds it
            } else if (branches != null) {
                throw new IllegalArgumentException("ArchSpec.Layer: " + name + " takes no branches; only "
                        + Kind.CONCAT.usage() + " does");
            }
        }

        /** A layer of any kind but concat: the fields a spec had before concat blocks. */
        public Layer(Kind kind, int out, int kernel, int stride, int pad, PaddingMode padMode, float value,
                     int groups, ArchSpec body, ArchSpec shortcut) {
            this(kind, out, kernel, stride, pad, padMode, value, groups, body, shortcut, null);
        }

        /** A layer of any kind but residual and concat, conv with 1 group: the fields before grouped convs. */
        public Layer(Kind kind, int out, int kernel, int stride, int pad, PaddingMode padMode, float value) {
            this(kind, out, kernel, stride, pad, padMode, value, kind == Kind.CONV ? 1 : 0, null, null, null);
        }

        /** {@code conv(out,k)}: stride 1, no padding. */
        public static Layer conv(int out, int k) {
            return conv(out, k, 1, 0, PaddingMode.ZEROS);
        }

        public static Layer conv(int out, int k, int stride, int pad, PaddingMode padMode) {
            return conv(out, k, stride, pad, padMode, 1);
        }

        /** A grouped convolution: {@code groups} must divide {@code out} here and the input channels at build. */
        public static Layer conv(int out, int k, int stride, int pad, PaddingMode padMode, int groups) {
            return new Layer(Kind.CONV, out, k, stride, pad, padMode, 0f, groups, null, null, null);
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

        /** {@code residual(BODY)}: body(x) + x. */
        public static Layer residual(ArchSpec body) {
            return residual(body, null);
        }

        /** {@code residual(BODY | SHORTCUT)}: body(x) + shortcut(x); a null shortcut is the identity. */
        public static Layer residual(ArchSpec body, ArchSpec shortcut) {
            return new Layer(Kind.RESIDUAL, 0, 0, 0, 0, null, 0f, 0, body, shortcut, null);
        }

        /**
         * {@code concat(BRANCH_0 | BRANCH_1 | ...)}: every branch on the same input, the outputs joined along the
         * channels (or features). At least one branch.
         */
        public static Layer concat(List<ArchSpec> branches) {
            return new Layer(Kind.CONCAT, 0, 0, 0, 0, null, 0f, 0, null, null, branches);
        }

        /** A layer without arguments: globalavgpool, batchnorm, relu, prelu, sigmoid, tanh, flatten, l2norm. */
        public static Layer of(Kind kind) {
            if (kind != null && kind.required > 0) {
                throw new IllegalArgumentException("ArchSpec.Layer: " + kind.token + " needs arguments: "
                        + kind.usage());
            }
            return new Layer(kind, 0, 0, 0, 0, null, 0f);
        }

        /**
         * The canonical spec token: {@code conv(32,3,pad=1)}, {@code maxpool(2)}, {@code relu},
         * {@code residual(conv(8,3,pad=1) relu | conv(8,1))}, {@code concat(conv(8,3,pad=1) | conv(8,5,pad=2))}.
         */
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
                    if (groups != 1) {
                        sb.append(",groups=").append(groups);
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
                case RESIDUAL:
                    return "residual(" + body + (shortcut != null ? " | " + shortcut : "") + ")";
                case CONCAT: {
                    StringBuilder sb = new StringBuilder("concat(");
                    for (int k = 0; k < branches.size(); k++) {
                        sb.append(k == 0 ? "" : " | ").append(branches.get(k));
                    }
                    return sb.append(')').toString();
                }
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
    /** How many residual and concat blocks deep the layers nest: 0 without any. */
    private final int nesting;

    private ArchSpec(List<Layer> layers) {
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("ArchSpec: a spec needs at least one layer");
        }
        int deepest = 0;
        for (Layer l : layers) {
            if (l == null) {
                throw new IllegalArgumentException("ArchSpec: layer " + layers.indexOf(null) + " is null");
            }
            if (l.kind() == Kind.RESIDUAL) {
                deepest = Math.max(deepest, 1 + Math.max(l.body().nesting,
                        l.shortcut() == null ? 0 : l.shortcut().nesting));
            } else if (l.kind() == Kind.CONCAT) {
                for (ArchSpec branch : l.branches()) {
                    deepest = Math.max(deepest, 1 + branch.nesting);
                }
            }
        }
        if (deepest > MAX_NESTING) {
            throw new IllegalArgumentException("ArchSpec: residual and concat blocks nest " + deepest
                    + " deep, more than " + MAX_NESTING);
        }
        this.layers = List.copyOf(layers);
        this.nesting = deepest;
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
     * @throws IllegalArgumentException naming the layer (its index, or its path inside a residual or concat block
     *                                  such as {@code 2.body.0} or {@code 0.branches.1.3}), the offending token,
     *                                  what was expected and the valid layer or argument names
     */
    public static ArchSpec parse(String spec) {
        if (spec == null) {
            throw new IllegalArgumentException("arch spec: the spec is null");
        }
        List<Layer> layers = new Parser(spec).sequence("", 0); // at depth 0 it reads to the end
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("arch spec: the spec is empty; expected layers separated by spaces, "
                    + "e.g. 'conv(32,3,pad=1) relu maxpool(2) flatten dense(128)'; valid layers: " + validNames());
        }
        return new ArchSpec(layers);
    }

    /**
     * A cursor over the spec text; each residual or concat block is parsed by a recursive call, at most
     * MAX_NESTING deep.
     */
    private static final class Parser {
        private final String spec;
        private final int n;
        private int at;

        Parser(String spec) {
            this.spec = spec;
            this.n = spec.length();
        }

        /**
         * Layers separated by whitespace, up to the end of the spec or, inside a residual or concat block
         * ({@code depth > 0}), up to the {@code |} or {@code )} that ends the sequence, which is left unread.
         * Layer k is named {@code prefix + k} in errors.
         */
        List<Layer> sequence(String prefix, int depth) {
            List<Layer> layers = new ArrayList<>();
            while (true) {
                while (at < n && isSpace(spec.charAt(at))) {
                    at++;
                }
                if (at == n || (depth > 0 && endsSequence(spec.charAt(at)))) {
                    return layers;
                }
                String path = prefix + layers.size();
                int start = at;
                while (at < n && isNameChar(spec.charAt(at))) {
                    at++;
                }
                if (at == start) {
                    char c = spec.charAt(start);
                    throw new IllegalArgumentException("arch spec: layer " + path + ": expected a layer name at "
                            + "character " + start + ", got " + describeChar(c) + (c == '|'
                            ? " ('|' separates the body of a residual block from its shortcut, inside "
                            + Kind.RESIDUAL.usage() + ", and the branches of " + Kind.CONCAT.usage() + ")" : "")
                            + "; valid layers: " + validNames());
                }
                String name = spec.substring(start, at);
                int open = at;
                while (open < n && isSpace(spec.charAt(open))) {
                    open++;
                }
                boolean hasArgs = open < n && spec.charAt(open) == '(';
                Layer layer = null;
                String args = null;
                if (hasArgs && name.equals(Kind.RESIDUAL.token)) {
                    layer = residual(path, start, open, depth);
                } else if (hasArgs && name.equals(Kind.CONCAT.token)) {
                    layer = concat(path, start, open, depth);
                } else if (hasArgs) {
                    int close = open + 1;
                    while (close < n && spec.charAt(close) != ')') {
                        if (spec.charAt(close) == '(') {
                            throw new IllegalArgumentException("arch spec: layer " + path + " '"
                                    + quote(spec.substring(start, close + 1)) + "': unexpected '(' at character "
                                    + close + " inside the arguments");
                        }
                        close++;
                    }
                    if (close == n) {
                        throw new IllegalArgumentException("arch spec: layer " + path + " '"
                                + quote(spec.substring(start)) + "': missing ')' for the '(' at character " + open);
                    }
                    args = spec.substring(open + 1, close);
                    at = close + 1;
                }
                String token = spec.substring(start, at);
                if (at < n && !isSpace(spec.charAt(at)) && !(depth > 0 && endsSequence(spec.charAt(at)))) {
                    throw new IllegalArgumentException("arch spec: layer " + path + " '" + quote(token)
                            + "': expected a space" + (depth > 0 ? ", '|' or ')'" : " or the end") + " after it, got "
                            + describeChar(spec.charAt(at)) + " at character " + at);
                }
                layers.add(layer != null ? layer : parseLayer(path, name, token, args));
            }
        }

        /** {@code residual(BODY[ | SHORTCUT])} whose '(' is at {@code open}; leaves the cursor after its ')'. */
        private Layer residual(String path, int start, int open, int depth) {
            checkDepth(path, depth);
            at = open + 1;
            List<Layer> body = sequence(path + ".body.", depth + 1);
            if (body.isEmpty() && at < n) {
                throw new IllegalArgumentException(where(path, start) + "the body is empty; expected "
                        + Kind.RESIDUAL.usage() + ", e.g. residual(conv(64,3,pad=1) batchnorm relu conv(64,3,pad=1) "
                        + "batchnorm)");
            }
            List<Layer> shortcut = null;
            if (at < n && spec.charAt(at) == '|') {
                int bar = at++;
                shortcut = sequence(path + ".shortcut.", depth + 1);
                if (shortcut.isEmpty() && at < n) {
                    throw new IllegalArgumentException(where(path, start) + "no layers after the '|' at character "
                            + bar + "; write the shortcut's layers there, or residual(BODY) for the identity");
                }
                if (at < n && spec.charAt(at) == '|') {
                    throw new IllegalArgumentException(where(path, start) + "a second '|' at character " + at
                            + "; a residual block has one body and at most one shortcut: " + Kind.RESIDUAL.usage());
                }
            }
            if (at == n) {
                throw new IllegalArgumentException("arch spec: layer " + path + " '" + quote(spec.substring(start))
                        + "': missing ')' for the '(' at character " + open);
            }
            at++; // the ')'
            return Layer.residual(new ArchSpec(body), shortcut == null ? null : new ArchSpec(shortcut));
        }

        /**
         * {@code concat(BRANCH | BRANCH[ | ...])} whose '(' is at {@code open}; leaves the cursor after its ')'.
         * Branch k's layers are named {@code path.branches.k.j}, their state-dict prefix.
         */
        private Layer concat(String path, int start, int open, int depth) {
            checkDepth(path, depth);
            at = open + 1;
            List<ArchSpec> branches = new ArrayList<>();
            int bar = -1; // the '|' before the branch being read, -1 for the first
            while (true) {
                List<Layer> branch = sequence(path + ".branches." + branches.size() + ".", depth + 1);
                if (branch.isEmpty() && at < n) {
                    throw new IllegalArgumentException(where(path, start) + "branch " + branches.size()
                            + " is empty" + (bar >= 0 ? " (no layers after the '|' at character " + bar + ")" : "")
                            + "; expected " + Kind.CONCAT.usage() + ", e.g. concat(conv(16,3,pad=1) relu | "
                            + "conv(16,5,pad=2) relu)");
                }
                if (branch.isEmpty()) {
                    break; // the end of the spec: the missing ')' is reported below
                }
                branches.add(new ArchSpec(branch));
                if (at < n && spec.charAt(at) == '|') {
                    bar = at++;
                } else {
                    break;
                }
            }
            if (at == n) {
                throw new IllegalArgumentException("arch spec: layer " + path + " '" + quote(spec.substring(start))
                        + "': missing ')' for the '(' at character " + open);
            }
            at++; // the ')'
            return Layer.concat(branches);
        }

        /** Refuses a block at {@code depth} blocks deep before recursing into it, so the stack stays bounded. */
        private static void checkDepth(String path, int depth) {
            if (depth >= MAX_NESTING) {
                throw new IllegalArgumentException("arch spec: layer " + path + ": residual and concat blocks nest "
                        + "more than " + MAX_NESTING + " deep");
            }
        }

        private String where(String path, int start) {
            return "arch spec: layer " + path + " '" + quote(spec.substring(start, Math.min(n, at + 1))) + "': ";
        }

        private static boolean endsSequence(char c) {
            return c == ')' || c == '|';
        }
    }

    private static Layer parseLayer(String path, String name, String token, String argText) {
        String where = "arch spec: layer " + path + " '" + quote(token) + "': ";
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
                int groups = intArg(where, kind, args, "groups", 1, 1);
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
                if (out % groups != 0) {
                    throw new IllegalArgumentException(where + "groups " + groups + " must divide the output "
                            + "channels " + out + " (and the input channels): each group maps in/groups channels "
                            + "to out/groups");
                }
                return Layer.conv(out, k, stride, pad, mode, groups);
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
            case RESIDUAL:
            case CONCAT:
                // with parentheses the parser reads it; without, splitArgs has refused it for lack of a body
                throw new AssertionError(token);
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
            case "depthwise":
            case "dwconv":
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
            case "adaptiveavgpool2d":
            case "global_avg_pool":
            case "globalaveragepool":
            case "gap":
                return "globalavgpool";
            case "parametric_relu":
            case "prelu2d":
                return "prelu";
            case "res":
            case "resblock":
            case "residual_block":
            case "basicblock":
            case "skip":
                return "residual";
            case "cat":
            case "concatenate":
            case "ensemble":
            case "parallel":
                return "concat";
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
     * shape {@code inputShape} ([C, H, W] or [features]). The layers inside residual and concat blocks are checked
     * too; a block's entry is its output.
     *
     * @throws IllegalArgumentException naming the first layer that does not fit (by its path, such as
     *                                  {@code 2.body.0} or {@code 0.branches.1.3}), its input shape and what it
     *                                  needs
     */
    public List<int[]> layerShapes(int[] inputShape) {
        checkInput(inputShape);
        return shapesFrom(inputShape.clone(), "", "the model input");
    }

    /**
     * Output shapes of the layers for input {@code x}; layer i is named {@code prefix + i} in errors and its input,
     * for i = 0, is described as {@code inputName}.
     */
    private List<int[]> shapesFrom(int[] x, String prefix, String inputName) {
        List<int[]> shapes = new ArrayList<>(layers.size());
        for (int i = 0; i < layers.size(); i++) {
            String from = i == 0 ? inputName : "the output of layer " + prefix + (i - 1) + " "
                    + quote(layers.get(i - 1).toString());
            x = outputOf(prefix + i, layers.get(i), x, from);
            shapes.add(x);
        }
        return shapes;
    }

    /** Output shapes for an input already checked by {@link #layerShapes}, so no error can arise. */
    private List<int[]> checkedShapes(int[] x) {
        return shapesFrom(x, "", "");
    }

    /** The shape of one output sample, e.g. {@code [128]} for the reference tower. */
    public int[] outputShape(int[] inputShape) {
        List<int[]> shapes = layerShapes(inputShape);
        return shapes.get(shapes.size() - 1).clone();
    }

    /**
     * Floats of activation one input sample of shape {@code inputShape} flows through: the input plus every
     * layer's output (inside residual and concat blocks too, and each block's sum or join), computed from the
     * shapes alone. A forward
     * pass that records the autograd graph keeps all of them; one without it keeps fewer but adds its own
     * workspaces (a convolution's unfolded input), so this is the order of the memory one sample takes to embed,
     * whatever the weights. A few bytes of spec can make it huge: {@code conv(20,1)} on a 1x8000x8000 input is
     * 1.3 G floats.
     *
     * @throws IllegalArgumentException as {@link #layerShapes} when a layer does not fit its input
     */
    public long activationElements(int[] inputShape) {
        layerShapes(inputShape);
        return size(inputShape) + outputElements(inputShape);
    }

    /** Floats of every layer output for input x, nested layers included. */
    private long outputElements(int[] x) {
        List<int[]> shapes = checkedShapes(x);
        long total = 0;
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int[] in = i == 0 ? x : shapes.get(i - 1);
            if (l.kind() == Kind.RESIDUAL) {
                total += l.body().outputElements(in) + (l.shortcut() == null ? 0 : l.shortcut().outputElements(in));
            } else if (l.kind() == Kind.CONCAT) {
                for (ArchSpec branch : l.branches()) {
                    total += branch.outputElements(in);
                }
            }
            // each size is at most MAX_ELEMENTS < 2^31, and a spec has fewer than 2^31 layers: no overflow
            total += size(shapes.get(i));
        }
        return total;
    }

    private static long size(int[] shape) {
        long size = 1;
        for (int d : shape) {
            size *= d;
        }
        return size;
    }

    /**
     * Output shape of layer {@code l} at {@code path} for input x (one sample, described as {@code from}), or a
     * failure naming the layer and both shapes.
     */
    private static int[] outputOf(String path, Layer l, int[] x, String from) {
        switch (l.kind()) {
            case CONV: {
                requireImage(path, l, x, from);
                if (x[0] % l.groups() != 0) {
                    throw shapeError(path, l, x, from, "its groups " + l.groups() + " must divide the input "
                            + "channels " + x[0]);
                }
                if (l.padMode() == PaddingMode.REFLECT && (l.pad() >= x[1] || l.pad() >= x[2])) {
                    throw shapeError(path, l, x, from, "reflection padding " + l.pad() + " must be smaller than the "
                            + "input's height and width " + x[1] + "x" + x[2]);
                }
                int span = l.kernel(); // no dilation in the grammar
                long ph = x[1] + 2L * l.pad();
                long pw = x[2] + 2L * l.pad();
                if (span > ph || span > pw) {
                    throw shapeError(path, l, x, from, "its " + l.kernel() + "x" + l.kernel() + " kernel is larger "
                            + "than the " + (l.pad() > 0 ? "padded " : "") + "input " + ph + "x" + pw);
                }
                long[] y = {l.out(), (ph - span) / l.stride() + 1, (pw - span) / l.stride() + 1};
                checkElements(path, l, "output", y);
                checkElements(path, l, "weight", weightShape(l, x));
                return new int[] {(int) y[0], (int) y[1], (int) y[2]};
            }
            case MAXPOOL:
            case AVGPOOL: {
                requireImage(path, l, x, from);
                if (l.kernel() > x[1] || l.kernel() > x[2]) {
                    throw shapeError(path, l, x, from, "its " + l.kernel() + "x" + l.kernel() + " window is larger "
                            + "than the input " + x[1] + "x" + x[2]);
                }
                return new int[] {x[0], (x[1] - l.kernel()) / l.stride() + 1, (x[2] - l.kernel()) / l.stride() + 1};
            }
            case GLOBALAVGPOOL:
                requireImage(path, l, x, from);
                return new int[] {x[0], 1, 1};
            case DENSE: {
                if (x.length != 1) {
                    throw shapeError(path, l, x, from, "dense needs flat features [features] but gets [C, H, W]; "
                            + "put flatten before it (dense does not flatten by itself, like PyTorch's nn.Linear); "
                            + "flatten would give [" + ((long) x[0] * x[1] * x[2]) + "]");
                }
                checkElements(path, l, "weight", weightShape(l, x));
                return new int[] {l.out()};
            }
            case FLATTEN:
                return new int[] {(int) size(x)}; // input sizes are checked against MAX_ELEMENTS
            case RESIDUAL:
                return residualOutput(path, l, x, from);
            case CONCAT:
                return concatOutput(path, l, x, from);
            default:
                // batchnorm (2d or 1d by rank), dropout, activations (prelu too) and l2norm keep the shape
                return x;
        }
    }

    /** The body's output, after checking that the shortcut (identity or projection) gives the same shape. */
    private static int[] residualOutput(String path, Layer l, int[] x, String from) {
        String blockInput = "the input of residual block " + path;
        List<int[]> body = l.body().shapesFrom(x, path + ".body.", blockInput);
        int[] y = body.get(body.size() - 1);
        if (l.shortcut() == null) {
            if (!Arrays.equals(y, x)) {
                String projection = x.length == 3 && y.length == 3
                        ? "conv(" + y[0] + ",1" + (x[1] != y[1] ? ",stride=" + ceilDiv(x[1], y[1]) : "") + ")"
                        : "dense(" + y[0] + ")";
                throw shapeError(path, l, x, from, "its body gives " + Shapes.toString(y) + " but the identity "
                        + "shortcut gives the input " + Shapes.toString(x) + ", and the two are added; a body that "
                        + "changes the shape needs a projection after '|', e.g. residual(BODY | " + projection
                        + " batchnorm)");
            }
        } else {
            List<int[]> shortcut = l.shortcut().shapesFrom(x, path + ".shortcut.", blockInput);
            int[] s = shortcut.get(shortcut.size() - 1);
            if (!Arrays.equals(y, s)) {
                throw shapeError(path, l, x, from, "its body gives " + Shapes.toString(y) + " but its shortcut "
                        + "gives " + Shapes.toString(s) + ", and the two are added, so they must be equal");
            }
        }
        return y;
    }

    /**
     * The branches' outputs joined along their first dimension (channels, or features), after checking that they
     * agree in every other one.
     */
    private static int[] concatOutput(String path, Layer l, int[] x, String from) {
        String blockInput = "the input of concat block " + path;
        int[] first = null;
        long joined = 0; // in long: many branches could sum past an int
        for (int k = 0; k < l.branches().size(); k++) {
            List<int[]> shapes = l.branches().get(k).shapesFrom(x, path + ".branches." + k + ".", blockInput);
            int[] y = shapes.get(shapes.size() - 1);
            if (k == 0) {
                first = y;
            } else if (!agreeButFirst(first, y)) {
                throw shapeError(path, l, x, from, "its branch " + k + " gives " + Shapes.toString(y) + " but "
                        + "branch 0 gives " + Shapes.toString(first) + "; the outputs are joined along the "
                        + (first.length == 3 ? "channels" : "features") + ", so they must agree in every other "
                        + "dimension" + (first.length != y.length ? " (flatten every branch, or none)" : ""));
            }
            joined += y[0];
        }
        long[] out = new long[first.length];
        out[0] = joined;
        for (int d = 1; d < first.length; d++) {
            out[d] = first[d];
        }
        checkElements(path, l, "output", out);
        int[] y = first.clone();
        y[0] = (int) joined;
        return y;
    }

    /** Whether two sample shapes have the same rank and agree in every dimension but the first. */
    private static boolean agreeButFirst(int[] a, int[] b) {
        if (a.length != b.length) {
            return false;
        }
        for (int d = 1; d < a.length; d++) {
            if (a[d] != b[d]) {
                return false;
            }
        }
        return true;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    private static void requireImage(String path, Layer l, int[] x, String from) {
        if (x.length != 3) {
            throw shapeError(path, l, x, from, l.kind().token + " needs an image input [C, H, W] but gets flat "
                    + "features" + (path.equals("0") ? "; give an input shape CxHxW such as 1x112x92"
                    : "; conv and pooling layers must come before flatten"));
        }
    }

    private static IllegalArgumentException shapeError(String path, Layer l, int[] x, String from, String problem) {
        return new IllegalArgumentException("arch spec: layer " + path + " " + quote(l.toString()) + " does not fit "
                + "its input shape " + Shapes.toString(x) + " (" + from + "): " + problem);
    }

    private static void checkElements(String path, Layer l, String what, long[] shape) {
        long size = 1;
        for (long d : shape) {
            // size and d are both at most MAX_ELEMENTS < 2^31 here, so the product fits a long
            size = d > MAX_ELEMENTS ? d : size * d;
            if (size > MAX_ELEMENTS) {
                throw new IllegalArgumentException("arch spec: layer " + path + " " + quote(l.toString()) + ": its "
                        + what + " " + Arrays.toString(shape) + " has more elements than a tensor holds ("
                        + MAX_ELEMENTS + ")");
            }
        }
    }

    /** [out, in/groups, k, k] for conv, [out, in] for dense, given the layer's input shape x. */
    private static long[] weightShape(Layer l, int[] x) {
        return l.kind() == Kind.CONV ? new long[] {l.out(), x[0] / l.groups(), l.kernel(), l.kernel()}
                : new long[] {l.out(), x[0]};
    }

    /**
     * The state dict of the network this spec builds for {@code inputShape}: PyTorch's names
     * ({@code 0.weight}, {@code 3.running_mean}, {@code 2.body.0.weight}, {@code 0.branches.1.0.weight}) and
     * shapes in PyTorch's order, computed
     * without allocating anything, so a model file can be checked before a (possibly huge) network is built from
     * its spec. Batch norm's {@code num_batches_tracked} has shape {@code []}.
     */
    public LinkedHashMap<String, int[]> stateShapes(int[] inputShape) {
        layerShapes(inputShape);
        LinkedHashMap<String, int[]> out = new LinkedHashMap<>();
        addStateShapes("", inputShape, out);
        return out;
    }

    private void addStateShapes(String prefix, int[] input, Map<String, int[]> out) {
        List<int[]> shapes = checkedShapes(input);
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            int[] x = i == 0 ? input : shapes.get(i - 1);
            String name = prefix + i;
            switch (l.kind()) {
                case CONV:
                    out.put(name + ".weight", new int[] {l.out(), x[0] / l.groups(), l.kernel(), l.kernel()});
                    out.put(name + ".bias", new int[] {l.out()});
                    break;
                case DENSE:
                    out.put(name + ".weight", new int[] {l.out(), x[0]});
                    out.put(name + ".bias", new int[] {l.out()});
                    break;
                case BATCHNORM:
                    out.put(name + ".weight", new int[] {x[0]});
                    out.put(name + ".bias", new int[] {x[0]});
                    out.put(name + ".running_mean", new int[] {x[0]});
                    out.put(name + ".running_var", new int[] {x[0]});
                    out.put(name + ".num_batches_tracked", new int[0]);
                    break;
                case PRELU:
                    out.put(name + ".weight", new int[] {x[0]}); // one slope per channel or feature
                    break;
                case RESIDUAL:
                    l.body().addStateShapes(name + ".body.", x, out);
                    if (l.shortcut() != null) {
                        l.shortcut().addStateShapes(name + ".shortcut.", x, out);
                    }
                    break;
                case CONCAT:
                    for (int k = 0; k < l.branches().size(); k++) {
                        l.branches().get(k).addStateShapes(name + ".branches." + k + ".", x, out);
                    }
                    break;
                default:
                    break;
            }
        }
    }

    /** Trainable values of the network built for {@code inputShape} (buffers excluded), without building it. */
    public long parameterCount(int[] inputShape) {
        return parametersUnder("", stateShapes(inputShape));
    }

    /** Trainable values among the state entries whose names start with {@code prefix}. */
    private static long parametersUnder(String prefix, Map<String, int[]> state) {
        long n = 0;
        for (Map.Entry<String, int[]> e : state.entrySet()) {
            String name = e.getKey();
            if (name.startsWith(prefix) && (name.endsWith(".weight") || name.endsWith(".bias"))) {
                n += size(e.getValue());
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
        layerShapes(inputShape);
        return buildChecked(inputShape, rng);
    }

    private Sequential buildChecked(int[] input, Rng rng) {
        List<int[]> shapes = checkedShapes(input);
        Sequential model = new Sequential();
        for (int i = 0; i < layers.size(); i++) {
            model.add(module(layers.get(i), i == 0 ? input : shapes.get(i - 1), rng));
        }
        return model;
    }

    /**
     * How {@code model} differs from what {@link #build} makes of this spec for {@code inputShape}, one line
     * per difference, empty when it does not: the number of layers, each layer's module type and settings
     * (compared through its PyTorch-style repr, so a stride, padding or slope that differs shows), residual
     * and concat blocks layer by layer, and the state-dict names and shapes. Used to refuse saving a model under a spec
     * that does not describe it. Layers are compared without building the spec's dense layers, whose weights
     * can be large.
     *
     * @throws IllegalArgumentException when the spec itself does not fit {@code inputShape}
     */
    public List<String> differences(Module model, int[] inputShape) {
        if (model == null) {
            throw new IllegalArgumentException("ArchSpec.differences: model is null");
        }
        layerShapes(inputShape);
        List<String> out = new ArrayList<>();
        if (!(model instanceof Sequential)) {
            out.add("the model is a " + model.getClass().getSimpleName() + ", the spec builds a Sequential of "
                    + layers.size() + (layers.size() == 1 ? " layer" : " layers"));
            return out;
        }
        addLayerDifferences("", (Sequential) model, inputShape, out);
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

    /** The differences of {@code seq} from these layers on input {@code input}, layer i named prefix + i. */
    private void addLayerDifferences(String prefix, Sequential seq, int[] input, List<String> out) {
        List<int[]> shapes = checkedShapes(input);
        if (seq.size() != layers.size()) {
            out.add((prefix.isEmpty() ? "" : "layer " + prefix.substring(0, prefix.length() - 1) + ": ")
                    + "the model has " + seq.size() + " layers, the spec " + layers.size());
        }
        Rng scratch = new Rng(0);
        for (int i = 0; i < Math.min(seq.size(), layers.size()); i++) {
            Layer l = layers.get(i);
            Module actual = seq.get(i);
            int[] x = i == 0 ? input : shapes.get(i - 1);
            String where = "layer " + prefix + i + " (" + quote(l.toString()) + "): ";
            if (l.kind() == Kind.RESIDUAL) {
                if (!(actual instanceof Residual)) {
                    out.add(where + "the spec builds a Residual, the model has " + describe(actual));
                    continue;
                }
                Residual r = (Residual) actual;
                l.body().addLayerDifferences(prefix + i + ".body.", r.body(), x, out);
                if (l.shortcut() != null && r.shortcut() != null) {
                    l.shortcut().addLayerDifferences(prefix + i + ".shortcut.", r.shortcut(), x, out);
                } else if (l.shortcut() != null || r.shortcut() != null) {
                    out.add(where + "the spec has " + (l.shortcut() == null ? "the identity" : "a projection")
                            + " shortcut, the model " + (r.shortcut() == null ? "the identity" : "a projection"));
                }
                continue;
            }
            if (l.kind() == Kind.CONCAT) {
                if (!(actual instanceof Concat)) {
                    out.add(where + "the spec builds a Concat, the model has " + describe(actual));
                    continue;
                }
                Concat c = (Concat) actual;
                if (c.size() != l.branches().size()) {
                    out.add(where + "the spec has " + l.branches().size() + " branches, the model " + c.size());
                }
                for (int k = 0; k < Math.min(c.size(), l.branches().size()); k++) {
                    l.branches().get(k).addLayerDifferences(prefix + i + ".branches." + k + ".", c.branches().get(k),
                            x, out);
                }
                continue;
            }
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
                out.add(where + "the spec builds " + expected + ", the model has " + describe(actual));
            }
        }
    }

    /** A leaf module's repr; a module with children by its type, its repr being many lines. */
    private static String describe(Module m) {
        return m.namedChildren().isEmpty() ? m.toString() : "a " + m.getClass().getSimpleName();
    }

    private static Module module(Layer l, int[] x, Rng rng) {
        switch (l.kind()) {
            case CONV:
                return new Conv2d(x[0], l.out(), l.kernel(), l.stride(), l.pad(), 1, l.groups(), l.padMode(), true,
                        rng);
            case MAXPOOL:
                return new MaxPool2d(l.kernel(), l.stride());
            case AVGPOOL:
                return new AvgPool2d(l.kernel(), l.stride());
            case GLOBALAVGPOOL:
                return new GlobalAvgPool2d();
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
            case PRELU:
                return new PReLU(x[0]);
            case SIGMOID:
                return new Sigmoid();
            case TANH:
                return new Tanh();
            case FLATTEN:
                return new Flatten();
            case L2NORM:
                return new L2Normalize();
            case RESIDUAL:
                return new Residual(l.body().buildChecked(x, rng),
                        l.shortcut() == null ? null : l.shortcut().buildChecked(x, rng));
            case CONCAT: {
                List<Sequential> branches = new ArrayList<>();
                for (ArchSpec branch : l.branches()) {
                    branches.add(branch.buildChecked(x, rng)); // in order, so the weights drawn are reproducible
                }
                return new Concat(branches);
            }
            default:
                throw new AssertionError(l.kind());
        }
    }

    // =====================================================================================================
    // Printing
    // =====================================================================================================

    /**
     * One line per layer: index, spec token, output shape and parameter count, then the total; what a
     * command-line tool prints to show a model. A residual or concat block's line shows its output and all its
     * parameters, and the lines of its layers follow, indented, under their paths ({@code 2.body.0},
     * {@code 0.branches.1.0}).
     */
    public String summary(int[] inputShape) {
        layerShapes(inputShape);
        LinkedHashMap<String, int[]> state = stateShapes(inputShape);
        List<String[]> rows = new ArrayList<>();
        addSummaryRows("", "", inputShape, state, rows);
        int width = 5;
        for (String[] row : rows) {
            width = Math.max(width, row[0].length());
        }
        String format = "%" + width + "s  %-28s %-18s %12s%n";
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, format, "index", "layer", "output", "parameters"));
        sb.append(String.format(Locale.ROOT, format, "", "input", formatInput(inputShape), ""));
        for (String[] row : rows) {
            sb.append(String.format(Locale.ROOT, format, (Object[]) row));
        }
        sb.append(String.format(Locale.ROOT, format, "", "total", "", parameterCount(inputShape)));
        StringBuilder trimmed = new StringBuilder();
        sb.toString().lines().forEach(line -> trimmed.append(line.stripTrailing()).append('\n'));
        return trimmed.toString();
    }

    private void addSummaryRows(String prefix, String indent, int[] input, Map<String, int[]> state,
                                List<String[]> rows) {
        List<int[]> shapes = checkedShapes(input);
        for (int i = 0; i < layers.size(); i++) {
            Layer l = layers.get(i);
            String path = prefix + i;
            String label;
            if (l.kind() == Kind.RESIDUAL) {
                label = l.shortcut() == null ? "residual" : "residual, projection";
            } else if (l.kind() == Kind.CONCAT) {
                label = "concat, " + l.branches().size() + (l.branches().size() == 1 ? " branch" : " branches");
            } else {
                label = l.toString();
            }
            rows.add(new String[] {path, indent + label, formatInput(shapes.get(i)),
                                   Long.toString(parametersUnder(path + ".", state))});
            int[] x = i == 0 ? input : shapes.get(i - 1);
            if (l.kind() == Kind.RESIDUAL) {
                l.body().addSummaryRows(path + ".body.", indent + "  ", x, state, rows);
                if (l.shortcut() != null) {
                    l.shortcut().addSummaryRows(path + ".shortcut.", indent + "  ", x, state, rows);
                }
            } else if (l.kind() == Kind.CONCAT) {
                for (int k = 0; k < l.branches().size(); k++) {
                    l.branches().get(k).addSummaryRows(path + ".branches." + k + ".", indent + "  ", x, state, rows);
                }
            }
        }
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
