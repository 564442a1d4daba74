package org.siamese4j.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * A layer or a network of layers, as PyTorch's {@code torch.nn.Module}: it owns named parameters (tensors
 * with {@code requiresGrad(true)} that an optimiser updates), named buffers (state that is saved but not
 * trained, such as batch-norm running statistics) and named child modules, each in registration order.
 *
 * <p>Names in {@link #namedParameters()}, {@link #namedBuffers()} and {@link #stateDict()} are PyTorch's
 * {@code state_dict} names: the path of child names joined by dots, then the tensor's own name
 * ({@code "0.weight"}, {@code "3.running_mean"}). A module lists its own parameters, then its own buffers,
 * then its children's entries depth first, the order PyTorch uses, so a state dict saved by one side can be
 * matched name for name by the other.
 *
 * <p>Subclasses register everything in their constructor with {@link #registerParameter},
 * {@link #registerBuffer} and {@link #registerModule}, and implement {@link #forward} by calling
 * {@link org.siamese4j.tensor.Functional} or {@link Tensor} ops: modules hold state, never maths.
 *
 * <p>A module starts in training mode; {@link #eval()} and {@link #train()} switch it and all its
 * descendants. {@link #freeze()} and {@link #freezeExcept} stop training parts of it (fine-tuning the last
 * layers of an imported network); {@link #trainableParameters()} is then what an optimiser is given. Modules
 * are not thread-safe (see {@link Tensor}).
 */
public abstract class Module {

    private final LinkedHashMap<String, Tensor> parameters = new LinkedHashMap<>();
    private final LinkedHashMap<String, Tensor> buffers = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    protected Module() {
    }

    /** Computes this module's output for {@code input}. */
    public abstract Tensor forward(Tensor input);

    // =====================================================================================================
    // Registration (for subclasses' constructors)
    // =====================================================================================================

    /**
     * Registers a trainable tensor under {@code name} and marks it {@code requiresGrad(true)}. Returns it, so
     * a constructor can write {@code weight = registerParameter("weight", Tensor.zeros(out, in))}.
     */
    protected final Tensor registerParameter(String name, Tensor parameter) {
        checkNewName(name, parameter, "parameter");
        if (!parameter.isLeaf()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": parameter '" + name
                    + "' must be a leaf tensor, got the output of " + parameter.opName()
                    + " (use detach() or copy())");
        }
        parameter.requiresGrad(true);
        parameters.put(name, parameter);
        return parameter;
    }

    /** Registers a tensor that is saved in the state dict but not trained (running statistics, counters). */
    protected final Tensor registerBuffer(String name, Tensor buffer) {
        checkNewName(name, buffer, "buffer");
        buffers.put(name, buffer);
        return buffer;
    }

    /** Registers a child module; its entries appear in this module's state dict prefixed by {@code name + "."}. */
    protected final <M extends Module> M registerModule(String name, M module) {
        checkNewName(name, module, "module");
        if (module == this) {
            throw new IllegalArgumentException(getClass().getSimpleName() + ": a module cannot be its own child");
        }
        children.put(name, module);
        return module;
    }

    private void checkNewName(String name, Object value, String kind) {
        String owner = getClass().getSimpleName();
        if (value == null) {
            throw new IllegalArgumentException(owner + ": " + kind + " '" + name + "' is null");
        }
        if (name == null || name.isEmpty() || name.contains(".")) {
            throw new IllegalArgumentException(owner + ": " + kind + " name must be non-empty and contain no '.', got '"
                    + name + "'");
        }
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException(owner + ": the name '" + name + "' is already registered");
        }
    }

    // =====================================================================================================
    // Parameters, buffers, children
    // =====================================================================================================

    /**
     * Every parameter of this module and its descendants under its state-dict name. A tensor registered in
     * several places (a shared layer) is listed once, under the first name, as PyTorch does.
     */
    public LinkedHashMap<String, Tensor> namedParameters() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, Collections.newSetFromMap(new IdentityHashMap<>()), true, false);
        return out;
    }

    /** Every buffer of this module and its descendants under its state-dict name. */
    public LinkedHashMap<String, Tensor> namedBuffers() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, Collections.newSetFromMap(new IdentityHashMap<>()), false, true);
        return out;
    }

    /** The parameters in {@link #namedParameters()} order: what an optimiser is given. */
    public List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /**
     * Parameters and buffers under their PyTorch names, in PyTorch's order. The values are detached views
     * sharing storage with the module (as PyTorch's): they see later training steps, so {@code copy()} them
     * for a snapshot.
     *
     * <p>The batch-norm counter {@code num_batches_tracked} is included, as in PyTorch, so strict loading of
     * a PyTorch state dict (read as float tensors, its int64 counter included) finds every name it expects. As in PyTorch, a module
     * registered in several places (a shared layer) appears under each of its names here, unlike in
     * {@link #namedParameters()}.
     */
    public LinkedHashMap<String, Tensor> stateDict() {
        LinkedHashMap<String, Tensor> all = new LinkedHashMap<>();
        collect("", all, null, true, true);
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        all.forEach((name, t) -> out.put(name, t.detach()));
        return out;
    }

    /** Adds entries depth first; with {@code seen} non-null, a tensor already met is skipped (dedupe). */
    private void collect(String prefix, Map<String, Tensor> out, Set<Tensor> seen, boolean params, boolean bufs) {
        if (params) {
            parameters.forEach((name, t) -> {
                if (seen == null || seen.add(t)) {
                    out.put(prefix + name, t);
                }
            });
        }
        if (bufs) {
            buffers.forEach((name, t) -> {
                if (seen == null || seen.add(t)) {
                    out.put(prefix + name, t);
                }
            });
        }
        children.forEach((name, child) -> child.collect(prefix + name + ".", out, seen, params, bufs));
    }

    /** The direct children under their names. */
    public LinkedHashMap<String, Module> namedChildren() {
        return new LinkedHashMap<>(children);
    }

    /** This module (under "") and every descendant under its dotted path, depth first. */
    public LinkedHashMap<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String path, Map<String, Module> out) {
        out.put(path, this);
        children.forEach((name, child) -> child.collectModules(path.isEmpty() ? name : path + "." + name, out));
    }

    /**
     * The parameters that require gradients, in {@link #parameters()} order: what an optimiser is given when
     * part of the network is frozen ({@link #freeze()}). Frozen parameters then get no update and no optimiser
     * state; with nothing frozen this is {@link #parameters()}.
     */
    public List<Tensor> trainableParameters() {
        List<Tensor> out = new ArrayList<>();
        for (Tensor p : namedParameters().values()) {
            if (p.requiresGrad()) {
                out.add(p);
            }
        }
        return out;
    }

    /** Total number of trainable values. */
    public long parameterCount() {
        long n = 0;
        for (Tensor p : namedParameters().values()) {
            n += p.size();
        }
        return n;
    }

    /** Forgets the gradient of every parameter (PyTorch's {@code zero_grad(set_to_none=True)}). */
    public void zeroGrad() {
        for (Tensor p : namedParameters().values()) {
            p.zeroGrad();
        }
    }

    // =====================================================================================================
    // Freezing (fine-tuning part of a network)
    // =====================================================================================================

    /**
     * Stops training every parameter of this module and its descendants: each is marked
     * {@code requiresGrad(false)} and its gradient forgotten, so backward computes none for it and an optimiser
     * built on {@link #trainableParameters()} leaves it alone. A frozen {@link BatchNorm} also stops updating its
     * running statistics: it normalises with them even in training mode (what PyTorch users get by calling
     * {@code eval()} on it). Gradients still flow through frozen layers to the trainable layers before them.
     *
     * <p>The flags are not part of the state dict: a checkpoint holds frozen and trainable parameters alike, and
     * a resumed run freezes the same modules again before building its optimiser. Returns this.
     */
    public Module freeze() {
        return setTrainable(false);
    }

    /** Trains every parameter of this module and its descendants again (undoes {@link #freeze()}). Returns this. */
    public Module unfreeze() {
        return setTrainable(true);
    }

    /**
     * Freezes this module, then unfreezes the descendants at {@code trainablePaths}: the dotted paths of
     * {@link #namedModules()}, which are the node names of a {@link Graph} ({@code "fc"}) and the indices of a
     * {@link Sequential} ({@code "5"}, {@code "2.body.0"}). Everything is checked before anything changes.
     * Returns this.
     *
     * @throws IllegalArgumentException naming the paths that are not modules of this one, and the valid ones
     */
    public Module freezeExcept(String... trainablePaths) {
        LinkedHashMap<String, Module> modules = namedModules();
        List<String> unknown = new ArrayList<>();
        for (String path : trainablePaths) {
            if (path == null || path.isEmpty() || !modules.containsKey(path)) {
                unknown.add(path);
            }
        }
        if (!unknown.isEmpty()) {
            List<String> valid = new ArrayList<>(modules.keySet()).subList(1, modules.size());
            throw new IllegalArgumentException(getClass().getSimpleName() + ".freezeExcept: no module at " + unknown
                    + "; the modules are " + (valid.size() <= 20 ? valid : valid.subList(0, 20) + "... ("
                    + valid.size() + ")"));
        }
        freeze();
        for (String path : trainablePaths) {
            modules.get(path).unfreeze();
        }
        return this;
    }

    private Module setTrainable(boolean trainable) {
        for (Tensor p : namedParameters().values()) {
            p.requiresGrad(trainable);
            if (!trainable) {
                p.zeroGrad();
            }
        }
        return this;
    }

    // =====================================================================================================
    // Loading
    // =====================================================================================================

    /** What a non-strict {@link #loadStateDict} left out: model names the map lacked, map names the model lacks. */
    public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys) {
        public LoadResult {
            missingKeys = List.copyOf(missingKeys);
            unexpectedKeys = List.copyOf(unexpectedKeys);
        }
    }

    /**
     * Copies every tensor of {@code stateDict} into the parameter or buffer of the same name, in place (the
     * tensors an optimiser holds stay the same objects).
     *
     * <p>Everything is checked before anything is copied, so a failed load leaves the module unchanged. A
     * shape mismatch is always an error; with {@code strict}, so are names the map lacks (missing) and names
     * the module lacks (unexpected). All problems are reported together in one
     * {@link IllegalArgumentException}.
     *
     * @return the missing and unexpected names (both empty after a strict load)
     */
    public LoadResult loadStateDict(Map<String, Tensor> stateDict, boolean strict) {
        LinkedHashMap<String, Tensor> own = new LinkedHashMap<>();
        collect("", own, null, true, true);
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = stateDict.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
            } else if (!Arrays.equals(src.shape(), e.getValue().shape())) {
                mismatched.add("size mismatch for " + e.getKey() + ": the state dict has shape "
                        + Shapes.toString(src.shape()) + ", the model has shape "
                        + Shapes.toString(e.getValue().shape()));
            }
        }
        List<String> unexpected = new ArrayList<>();
        for (String name : stateDict.keySet()) {
            if (!own.containsKey(name)) {
                unexpected.add(name);
            }
        }
        List<String> problems = new ArrayList<>();
        if (strict && !missing.isEmpty()) {
            problems.add("missing keys " + missing);
        }
        if (strict && !unexpected.isEmpty()) {
            problems.add("unexpected keys " + unexpected);
        }
        problems.addAll(mismatched);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("loadStateDict: error(s) loading the state dict into "
                    + getClass().getSimpleName() + ": " + String.join("; ", problems));
        }
        own.forEach((name, target) -> {
            Tensor src = stateDict.get(name);
            if (src != null) {
                target.copyFrom(src);
            }
        });
        return new LoadResult(missing, unexpected);
    }

    // =====================================================================================================
    // Mode
    // =====================================================================================================

    /** Training mode for this module and all descendants (dropout active, batch statistics). Returns this. */
    public Module train() {
        return train(true);
    }

    /** Sets training ({@code true}) or evaluation mode for this module and all descendants. Returns this. */
    public Module train(boolean mode) {
        training = mode;
        for (Module child : children.values()) {
            child.train(mode);
        }
        return this;
    }

    /** Evaluation mode for this module and all descendants (dropout is the identity, running statistics). */
    public Module eval() {
        return train(false);
    }

    public boolean isTraining() {
        return training;
    }

    // =====================================================================================================
    // Printing
    // =====================================================================================================

    /**
     * The settings shown between the parentheses of {@link #toString()}, in PyTorch's words
     * ({@code in_features=2, out_features=8, bias=True}); empty by default.
     */
    protected String extraRepr() {
        return "";
    }

    /** PyTorch's module repr: {@code Linear(in_features=2, out_features=8, bias=True)}, children indented. */
    @Override
    public String toString() {
        String name = getClass().getSimpleName().isEmpty() ? "Module" : getClass().getSimpleName();
        String extra = extraRepr();
        if (children.isEmpty()) {
            return name + "(" + extra + ")";
        }
        StringBuilder sb = new StringBuilder(name).append('(');
        if (!extra.isEmpty()) {
            sb.append("\n  ").append(extra.replace("\n", "\n  "));
        }
        children.forEach((childName, child) -> sb.append("\n  (").append(childName).append("): ")
                .append(child.toString().replace("\n", "\n  ")));
        return sb.append("\n)").toString();
    }

    /** Python's spelling of booleans in reprs. */
    static String py(boolean b) {
        return b ? "True" : "False";
    }

    /** Python's repr of a float: {@code 0.1}, {@code 1e-05}, {@code 2.0}. */
    static String py(float v) {
        String s = Float.toString(v);
        int e = s.indexOf('E');
        if (e < 0) {
            return s;
        }
        String mantissa = s.substring(0, e);
        if (mantissa.endsWith(".0")) {
            mantissa = mantissa.substring(0, mantissa.length() - 2);
        }
        int exp = Integer.parseInt(s.substring(e + 1));
        String sign = exp < 0 ? "-" : "+";
        int abs = Math.abs(exp);
        return mantissa + "e" + sign + (abs < 10 ? "0" : "") + abs;
    }

    /** Fails with the layer's repr and the value unless {@code value > 0}. */
    static int positive(String what, int value, String layer) {
        if (value <= 0) {
            throw new IllegalArgumentException(layer + ": " + what + " must be positive, got " + value);
        }
        return value;
    }
}
