package org.siamese4j.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.siamese4j.nn.Module;
import org.siamese4j.optim.LRScheduler;
import org.siamese4j.optim.Optimizer;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Everything a training run needs to continue exactly where it stopped, in one safetensors file: the model's
 * state dict, the optimiser's per-parameter state and learning rate, the learning-rate schedule's epoch, the
 * epoch and step counters, named {@link Rng} states and named strings (a sampler's {@code exportState()}, say).
 *
 * <h2>File layout</h2>
 * Tensors (float32):
 * <ul>
 *   <li>{@code model.<name>}: each entry of {@link Module#stateDict()} ({@code model.0.weight});</li>
 *   <li>{@code optim.<i>.<buffer>}: buffer {@code <buffer>} ({@code exp_avg}, {@code momentum_buffer}) of the
 *       optimiser's parameter {@code i}, shaped like the parameter, for each parameter updated at least once;</li>
 *   <li>{@code snapshot.<name>.<tensor>}: other named states of the model kept by the run, such as the weights of
 *       the best validation epoch ({@code snapshot.best.0.weight}).</li>
 * </ul>
 * Metadata (strings, in the safetensors {@code __metadata__}):
 * <ul>
 *   <li>{@code format=siamese4j-checkpoint}, {@code format_version=1}, {@code epoch}, {@code step};</li>
 *   <li>with an optimiser: {@code optim.type} (its class name), {@code optim.lr}, {@code optim.params} (how many
 *       parameters it trains), {@code optim.<i>.step} for each parameter that has state;</li>
 *   <li>with a schedule: {@code scheduler.type}, {@code scheduler.epoch}, {@code scheduler.base_lr};</li>
 *   <li>{@code rng.<name>}: a generator's state as a signed decimal long; {@code state.<name>}: a named string.</li>
 * </ul>
 * Floats are written with {@link Float#toString(float)}, which reads back to the same bits.
 *
 * <h2>Use</h2>
 * <pre>{@code
 * Checkpoint.builder(model).optimizer(adam).scheduler(schedule).epoch(epoch).step(step)
 *         .rng("augmenter", augmenterRng).state("sampler", sampler.exportState())
 *         .build().save(file);
 * ...
 * Checkpoint c = Checkpoint.load(file);
 * c.restore(model, adam, schedule);           // everything checked first, then copied in
 * c.restoreRng("augmenter", augmenterRng);
 * sampler.restoreState(c.state("sampler"));
 * }</pre>
 *
 * <p>{@link #save} writes through {@link SafeTensors#write}, so the file is replaced atomically: a crash leaves
 * the previous checkpoint or the new one, never a mix. {@link #load} treats the file as untrusted: every
 * structural problem (unknown or missing fields, unparsable numbers, optimiser buffers of inconsistent sizes)
 * is a {@link ModelFormatException} naming the file, the problem and the field; {@link #restore} then reports
 * everything that does not fit the given model and optimiser in one exception before changing anything.
 *
 * <p>Exactness needs every random draw of the run to come from an Rng that is saved here, and the same JDK,
 * kernels and thread count (parallel kernels split their work by thread count, which changes float rounding).
 * A {@link org.siamese4j.nn.Dropout} layer draws from the Rng it was built with: save that Rng under a name
 * too (a model without dropout has no Rng of its own).
 */
public final class Checkpoint {
    /** The value of the {@code format} metadata field. */
    public static final String FORMAT = "siamese4j-checkpoint";
    /** The value of the {@code format_version} metadata field this class writes and reads. */
    public static final int FORMAT_VERSION = 1;

    private static final String MODEL = "model.";
    private static final String OPTIM = "optim.";
    private static final String RNG = "rng.";
    private static final String STATE = "state.";
    private static final String SCHEDULER = "scheduler.";
    private static final String SNAPSHOT = "snapshot.";

    /** One parameter's optimiser state: its update count and buffers (each as long as the parameter). */
    private record ParamEntry(long step, int[] shape, LinkedHashMap<String, float[]> buffers) {
    }

    private record OptimizerEntry(String type, float lr, int params, TreeMap<Integer, ParamEntry> state) {
    }

    private record SchedulerEntry(String type, int epoch, float baseLr) {
    }

    private final String source;
    private final LinkedHashMap<String, Tensor> model;
    private final OptimizerEntry optimizer;
    private final SchedulerEntry scheduler;
    private final int epoch;
    private final long step;
    private final LinkedHashMap<String, Long> rngs;
    private final LinkedHashMap<String, String> states;
    private final LinkedHashMap<String, LinkedHashMap<String, Tensor>> snapshots;

    private Checkpoint(String source, LinkedHashMap<String, Tensor> model, OptimizerEntry optimizer,
                       SchedulerEntry scheduler, int epoch, long step, LinkedHashMap<String, Long> rngs,
                       LinkedHashMap<String, String> states,
                       LinkedHashMap<String, LinkedHashMap<String, Tensor>> snapshots) {
        this.source = source;
        this.snapshots = snapshots;
        this.model = model;
        this.optimizer = optimizer;
        this.scheduler = scheduler;
        this.epoch = epoch;
        this.step = step;
        this.rngs = rngs;
        this.states = states;
    }

    // =====================================================================================================
    // Building and saving
    // =====================================================================================================

    /** Starts a checkpoint of {@code model}; {@link Builder#build()} takes the snapshot. */
    public static Builder builder(Module model) {
        return new Builder(model);
    }

    /** Collects what a checkpoint holds; {@link #build()} copies it all, so later training does not change it. */
    public static final class Builder {
        private final Module model;
        private Optimizer optimizer;
        private LRScheduler scheduler;
        private int epoch;
        private long step;
        private final LinkedHashMap<String, Long> rngs = new LinkedHashMap<>();
        private final LinkedHashMap<String, String> states = new LinkedHashMap<>();
        private final LinkedHashMap<String, LinkedHashMap<String, Tensor>> snapshots = new LinkedHashMap<>();

        private Builder(Module model) {
            if (model == null) {
                throw new IllegalArgumentException("Checkpoint: model is null");
            }
            this.model = model;
        }

        /** The optimiser whose state and learning rate to save. */
        public Builder optimizer(Optimizer optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /** The learning-rate schedule whose epoch to save; it must drive the optimiser given to this builder. */
        public Builder scheduler(LRScheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /** Completed epochs, {@code >= 0}. */
        public Builder epoch(int epoch) {
            if (epoch < 0) {
                throw new IllegalArgumentException("Checkpoint: epoch must be >= 0, got " + epoch);
            }
            this.epoch = epoch;
            return this;
        }

        /** Completed steps, {@code >= 0}. */
        public Builder step(long step) {
            if (step < 0) {
                throw new IllegalArgumentException("Checkpoint: step must be >= 0, got " + step);
            }
            this.step = step;
            return this;
        }

        /** Saves {@code rng.state()} (as it is when {@link #build()} runs) under {@code name}. */
        public Builder rng(String name, Rng rng) {
            if (rng == null) {
                throw new IllegalArgumentException("Checkpoint: Rng '" + name + "' is null");
            }
            rngs.put(checkName("Rng", name, rngs), rng.state());
            return this;
        }

        /** Saves {@code value} (any text, e.g. a sampler's exported state) under {@code name}. */
        public Builder state(String name, String value) {
            if (value == null) {
                throw new IllegalArgumentException("Checkpoint: state '" + name + "' is null");
            }
            states.put(checkName("state", name, states), value);
            return this;
        }

        /**
         * Saves copies of {@code state} (a state dict of the model, such as the weights of its best epoch) under
         * {@code name}, which must be non-empty and hold no dot.
         */
        public Builder snapshot(String name, Map<String, Tensor> state) {
            if (state == null) {
                throw new IllegalArgumentException("Checkpoint: snapshot '" + name + "' is null");
            }
            if (name != null && name.indexOf('.') >= 0) {
                throw new IllegalArgumentException("Checkpoint: a snapshot name holds no dot, got '" + name + "'");
            }
            LinkedHashMap<String, Tensor> copy = new LinkedHashMap<>();
            state.forEach((tensorName, t) -> copy.put(tensorName, t.copy()));
            snapshots.put(checkName("snapshot", name, snapshots), copy);
            return this;
        }

        private static String checkName(String kind, String name, Map<String, ?> existing) {
            if (name == null || name.isEmpty()) {
                throw new IllegalArgumentException("Checkpoint: " + kind + " name must be non-empty, got '" + name
                        + "'");
            }
            if (existing.containsKey(name)) {
                throw new IllegalArgumentException("Checkpoint: " + kind + " '" + name + "' is already set");
            }
            return name;
        }

        /** Takes the snapshot: copies of the weights, the optimiser buffers and the counters. */
        public Checkpoint build() {
            LinkedHashMap<String, Tensor> weights = new LinkedHashMap<>();
            model.stateDict().forEach((name, t) -> weights.put(name, t.copy()));
            OptimizerEntry opt = null;
            SchedulerEntry sched = null;
            if (scheduler != null) {
                if (optimizer == null || scheduler.optimizer() != optimizer) {
                    throw new IllegalArgumentException("Checkpoint: the scheduler drives "
                            + (optimizer == null ? "an optimizer that was not given to the builder"
                            : "another optimizer than the one given to the builder"));
                }
                sched = new SchedulerEntry(scheduler.getClass().getName(), scheduler.epoch(), scheduler.baseLr());
            }
            if (optimizer != null) {
                TreeMap<Integer, ParamEntry> entries = new TreeMap<>();
                List<Tensor> params = optimizer.parameters();
                optimizer.state().forEach((i, s) -> {
                    LinkedHashMap<String, float[]> buffers = new LinkedHashMap<>();
                    s.buffers().forEach((b, values) -> buffers.put(b, values.clone()));
                    entries.put(i, new ParamEntry(s.step(), params.get(i).shape(), buffers));
                });
                opt = new OptimizerEntry(optimizer.getClass().getName(), optimizer.learningRate(), params.size(),
                        entries);
            }
            return new Checkpoint("<unsaved checkpoint>", weights, opt, sched, epoch, step,
                    new LinkedHashMap<>(rngs), new LinkedHashMap<>(states), new LinkedHashMap<>(snapshots));
        }
    }

    /** Writes this checkpoint to {@code file} atomically (temporary file, fsync, rename over the old one). */
    public void save(Path file) throws IOException {
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
        model.forEach((name, t) -> tensors.put(MODEL + name, t));
        snapshots.forEach((snapshot, state) -> state.forEach((name, t) -> tensors.put(SNAPSHOT + snapshot + "."
                + name, t)));
        LinkedHashMap<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("format_version", Integer.toString(FORMAT_VERSION));
        meta.put("epoch", Integer.toString(epoch));
        meta.put("step", Long.toString(step));
        if (optimizer != null) {
            meta.put(OPTIM + "type", optimizer.type());
            meta.put(OPTIM + "lr", Float.toString(optimizer.lr()));
            meta.put(OPTIM + "params", Integer.toString(optimizer.params()));
            optimizer.state().forEach((i, s) -> {
                meta.put(OPTIM + i + ".step", Long.toString(s.step()));
                s.buffers().forEach((b, values) -> tensors.put(OPTIM + i + "." + b, Tensor.wrap(values, s.shape())));
            });
        }
        if (scheduler != null) {
            meta.put(SCHEDULER + "type", scheduler.type());
            meta.put(SCHEDULER + "epoch", Integer.toString(scheduler.epoch()));
            meta.put(SCHEDULER + "base_lr", Float.toString(scheduler.baseLr()));
        }
        rngs.forEach((name, state) -> meta.put(RNG + name, Long.toString(state)));
        states.forEach((name, value) -> meta.put(STATE + name, value));
        SafeTensors.write(file, tensors, meta);
    }

    // =====================================================================================================
    // Loading
    // =====================================================================================================

    /** Reads and checks a checkpoint file (see the class comment for what is checked). */
    public static Checkpoint load(Path file) throws IOException {
        SafeTensors.Contents contents = SafeTensors.read(file);
        Checkpoint checkpoint = parse(file.toString(), contents.tensors(), contents.metadata());
        // After parse, so a model file given by mistake is named as such; checkpoints are written in F32 only.
        SafeTensors.requireFloating(contents, file.toString());
        return checkpoint;
    }

    /** As {@link #load(Path)}, from bytes in memory; {@code sourceName} names them in error messages. */
    public static Checkpoint read(byte[] bytes, String sourceName) throws IOException {
        SafeTensors.Contents contents = SafeTensors.read(bytes, sourceName);
        Checkpoint checkpoint = parse(sourceName, contents.tensors(), contents.metadata());
        SafeTensors.requireFloating(contents, sourceName);
        return checkpoint;
    }

    private static Checkpoint parse(String source, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws ModelFormatException {
        Fields f = new Fields(source, metadata);
        String format = f.required("format");
        if (!format.equals(FORMAT)) {
            throw f.error("not a checkpoint: format is '" + abbreviate(format) + "', expected '" + FORMAT + "'",
                    "format");
        }
        long version = f.integer("format_version", 0, Long.MAX_VALUE);
        if (version != FORMAT_VERSION) {
            throw f.error("unsupported checkpoint format_version " + version + " (this library reads "
                    + FORMAT_VERSION + ")", "format_version");
        }
        int epoch = (int) f.integer("epoch", 0, Integer.MAX_VALUE);
        long step = f.integer("step", 0, Long.MAX_VALUE);

        LinkedHashMap<String, Tensor> model = new LinkedHashMap<>();
        TreeMap<Integer, LinkedHashMap<String, Tensor>> optimBuffers = new TreeMap<>();
        LinkedHashMap<String, LinkedHashMap<String, Tensor>> snapshots = new LinkedHashMap<>();
        List<String> strayTensors = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            if (name.startsWith(MODEL) && name.length() > MODEL.length()) {
                model.put(name.substring(MODEL.length()), e.getValue());
                continue;
            }
            int snapshotDot = name.startsWith(SNAPSHOT) ? name.indexOf('.', SNAPSHOT.length()) : -1;
            if (snapshotDot > SNAPSHOT.length() && snapshotDot < name.length() - 1) {
                snapshots.computeIfAbsent(name.substring(SNAPSHOT.length(), snapshotDot), k -> new LinkedHashMap<>())
                        .put(name.substring(snapshotDot + 1), e.getValue());
                continue;
            }
            int index = name.startsWith(OPTIM) ? optimIndex(name) : -1;
            if (index < 0) {
                strayTensors.add(name);
            } else {
                String buffer = name.substring(name.indexOf('.', OPTIM.length()) + 1);
                optimBuffers.computeIfAbsent(index, i -> new LinkedHashMap<>()).put(buffer, e.getValue());
            }
        }
        if (!strayTensors.isEmpty()) {
            throw new ModelFormatException(source, "unexpected tensors " + abbreviate(strayTensors.toString())
                    + " (a checkpoint holds only model.<name>, optim.<index>.<buffer> and snapshot.<name>.<tensor>)",
                    "tensor \"" + abbreviate(strayTensors.get(0)) + "\"");
        }

        OptimizerEntry optimizer = parseOptimizer(f, optimBuffers);
        SchedulerEntry scheduler = null;
        if (f.has(SCHEDULER + "type") || f.has(SCHEDULER + "epoch") || f.has(SCHEDULER + "base_lr")) {
            if (optimizer == null) {
                throw f.error("a scheduler state without optimizer state", SCHEDULER + "type");
            }
            scheduler = new SchedulerEntry(f.required(SCHEDULER + "type"),
                    (int) f.integer(SCHEDULER + "epoch", 0, Integer.MAX_VALUE), f.rate(SCHEDULER + "base_lr"));
        }
        LinkedHashMap<String, Long> rngs = new LinkedHashMap<>();
        LinkedHashMap<String, String> states = new LinkedHashMap<>();
        for (String key : metadata.keySet()) {
            if (key.startsWith(RNG) && key.length() > RNG.length()) {
                rngs.put(key.substring(RNG.length()), f.integer(key, Long.MIN_VALUE, Long.MAX_VALUE));
            } else if (key.startsWith(STATE) && key.length() > STATE.length()) {
                states.put(key.substring(STATE.length()), f.required(key));
            }
        }
        f.rejectUnread();
        return new Checkpoint(source, model, optimizer, scheduler, epoch, step, rngs, states, snapshots);
    }

    /** {@code i} of {@code optim.<i>.<buffer>} with a decimal index and a non-empty buffer name, else -1. */
    private static int optimIndex(String name) {
        int dot = name.indexOf('.', OPTIM.length());
        if (dot < 0 || dot == name.length() - 1) {
            return -1;
        }
        return parseIndex(name.substring(OPTIM.length(), dot));
    }

    /** A plain decimal index (no sign, no leading zeros) below 2^31, else -1. */
    private static int parseIndex(String digits) {
        if (digits.isEmpty() || digits.length() > 10 || (digits.length() > 1 && digits.charAt(0) == '0')) {
            return -1;
        }
        long v = 0;
        for (int i = 0; i < digits.length(); i++) {
            char c = digits.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v <= Integer.MAX_VALUE ? (int) v : -1;
    }

    private static OptimizerEntry parseOptimizer(Fields f, TreeMap<Integer, LinkedHashMap<String, Tensor>> buffers)
            throws ModelFormatException {
        // optim.<i>.step fields, each of which must come with buffers and vice versa.
        TreeMap<Integer, Long> steps = new TreeMap<>();
        for (String key : f.keys()) {
            if (key.startsWith(OPTIM) && key.endsWith(".step")) {
                int index = parseIndex(key.substring(OPTIM.length(), key.length() - ".step".length()));
                if (index >= 0) {
                    steps.put(index, f.integer(key, 0, Long.MAX_VALUE));
                }
            }
        }
        boolean any = f.has(OPTIM + "type") || f.has(OPTIM + "lr") || f.has(OPTIM + "params") || !steps.isEmpty()
                || !buffers.isEmpty();
        if (!any) {
            return null;
        }
        String type = f.required(OPTIM + "type");
        float lr = f.rate(OPTIM + "lr");
        int params = (int) f.integer(OPTIM + "params", 1, Integer.MAX_VALUE);
        TreeMap<Integer, ParamEntry> state = new TreeMap<>();
        Set<String> bufferNames = null;
        int firstIndex = -1;
        for (int index : union(steps.keySet(), buffers.keySet())) {
            String where = OPTIM + index + ".step";
            if (index >= params) {
                throw f.error("optimizer state for parameter " + index + " but optim.params is " + params, where);
            }
            if (!steps.containsKey(index)) {
                throw f.error("optimizer buffers for parameter " + index + " without its step count", where);
            }
            LinkedHashMap<String, Tensor> own = buffers.get(index);
            if (own == null) {
                throw f.error("a step count for parameter " + index + " without its optimizer buffers", where);
            }
            if (bufferNames == null) {
                bufferNames = own.keySet();
                firstIndex = index;
            } else if (!bufferNames.equals(own.keySet())) {
                throw new ModelFormatException(f.source, "parameter " + index + " has optimizer buffers "
                        + own.keySet() + ", parameter " + firstIndex + " has " + bufferNames, "tensor \"" + OPTIM
                        + index + "." + own.keySet().iterator().next() + "\"");
            }
            int[] shape = null;
            LinkedHashMap<String, float[]> values = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> b : own.entrySet()) {
                int[] s = b.getValue().shape();
                if (shape == null) {
                    shape = s;
                } else if (!Arrays.equals(shape, s)) {
                    throw new ModelFormatException(f.source, "optimizer buffers of parameter " + index
                            + " differ in shape: " + Shapes.toString(s) + " and " + Shapes.toString(shape),
                            "tensor \"" + OPTIM + index + "." + b.getKey() + "\"");
                }
                values.put(b.getKey(), b.getValue().toArray());
            }
            state.put(index, new ParamEntry(steps.get(index), shape, values));
        }
        return new OptimizerEntry(type, lr, params, state);
    }

    private static List<Integer> union(Set<Integer> a, Set<Integer> b) {
        TreeSet<Integer> all = new TreeSet<>(a);
        all.addAll(b);
        return new ArrayList<>(all);
    }

    /** Metadata access that names the field in every error and remembers which fields were understood. */
    private static final class Fields {
        final String source;
        private final Map<String, String> metadata;
        private final Set<String> read = new HashSet<>();

        Fields(String source, Map<String, String> metadata) {
            this.source = source;
            this.metadata = metadata == null ? Map.of() : metadata;
        }

        Set<String> keys() {
            return metadata.keySet();
        }

        boolean has(String key) {
            return metadata.containsKey(key);
        }

        String required(String key) throws ModelFormatException {
            String v = metadata.get(key);
            if (v == null) {
                throw error("missing metadata field '" + key + "'", key);
            }
            read.add(key);
            return v;
        }

        long integer(String key, long min, long max) throws ModelFormatException {
            String v = required(key);
            long value;
            try {
                value = Long.parseLong(v);
            } catch (NumberFormatException e) {
                throw error("'" + abbreviate(v) + "' is not an integer", key);
            }
            if (value < min || value > max) {
                throw error(value + " is outside " + min + ".." + max, key);
            }
            return value;
        }

        /** A learning rate: a finite float {@code >= 0}. */
        float rate(String key) throws ModelFormatException {
            String v = required(key);
            float value;
            try {
                value = Float.parseFloat(v);
            } catch (NumberFormatException e) {
                throw error("'" + abbreviate(v) + "' is not a number", key);
            }
            if (!(value >= 0) || !Float.isFinite(value)) {
                throw error("learning rate " + abbreviate(v) + " is not finite and >= 0", key);
            }
            return value;
        }

        ModelFormatException error(String problem, String key) {
            return new ModelFormatException(source, problem, "metadata field \"" + abbreviate(key) + "\"");
        }

        void rejectUnread() throws ModelFormatException {
            List<String> unknown = new ArrayList<>();
            for (String key : metadata.keySet()) {
                if (!read.contains(key)) {
                    unknown.add(key);
                }
            }
            if (!unknown.isEmpty()) {
                throw error("unknown metadata fields " + abbreviate(unknown.toString()), unknown.get(0));
            }
        }
    }

    // =====================================================================================================
    // Restoring
    // =====================================================================================================

    /**
     * Checks that this checkpoint fits {@code model}, {@code optimizer} and {@code scheduler} (the last two may
     * be null: not restored), without changing anything. Problems in the model state are all listed together:
     * missing and unexpected tensors by name, shape mismatches with both shapes.
     *
     * @throws ModelFormatException     when the checkpoint does not fit
     * @throws IllegalArgumentException when the arguments do not fit each other (a scheduler of another optimizer,
     *                                  an optimizer that already has state the checkpoint would not replace)
     */
    public void check(Module model, Optimizer optimizer, LRScheduler scheduler) throws ModelFormatException {
        if (model == null) {
            throw new IllegalArgumentException("Checkpoint.restore: model is null");
        }
        if (scheduler != null && scheduler.optimizer() != optimizer) {
            throw new IllegalArgumentException("Checkpoint.restore: the scheduler drives another optimizer than the "
                    + "one given");
        }
        checkModel(model);
        if (optimizer != null) {
            checkOptimizer(optimizer);
        }
        if (scheduler != null) {
            if (this.scheduler == null) {
                throw new ModelFormatException(source, "the checkpoint holds no learning-rate schedule state",
                        "metadata field \"" + SCHEDULER + "type\"");
            }
            String type = scheduler.getClass().getName();
            if (!type.equals(this.scheduler.type())) {
                throw new ModelFormatException(source, "the checkpoint was written for a " + this.scheduler.type()
                        + " schedule, got a " + type, "metadata field \"" + SCHEDULER + "type\"");
            }
            if (Float.floatToIntBits(scheduler.baseLr()) != Float.floatToIntBits(this.scheduler.baseLr())) {
                throw new ModelFormatException(source, "the schedule's base learning rate is " + scheduler.baseLr()
                        + ", the checkpoint's is " + this.scheduler.baseLr(), "metadata field \"" + SCHEDULER
                        + "base_lr\"");
            }
        }
    }

    private void checkModel(Module target) throws ModelFormatException {
        LinkedHashMap<String, Tensor> own = target.stateDict();
        List<String> missing = new ArrayList<>();
        List<String> mismatched = new ArrayList<>();
        own.forEach((name, t) -> {
            Tensor saved = model.get(name);
            if (saved == null) {
                missing.add(MODEL + name);
            } else if (!Arrays.equals(saved.shape(), t.shape())) {
                mismatched.add(MODEL + name + ": checkpoint " + Shapes.toString(saved.shape()) + ", model "
                        + Shapes.toString(t.shape()));
            }
        });
        List<String> unexpected = new ArrayList<>();
        for (String name : model.keySet()) {
            if (!own.containsKey(name)) {
                unexpected.add(MODEL + name);
            }
        }
        List<String> problems = new ArrayList<>();
        if (!missing.isEmpty()) {
            problems.add("missing tensors " + missing);
        }
        if (!unexpected.isEmpty()) {
            problems.add("unexpected tensors " + unexpected);
        }
        if (!mismatched.isEmpty()) {
            problems.add("shape mismatches " + mismatched);
        }
        if (!problems.isEmpty()) {
            throw new ModelFormatException(source, "the checkpoint does not match the model "
                    + target.getClass().getSimpleName() + ": " + String.join("; ", problems), null);
        }
    }

    private void checkOptimizer(Optimizer target) throws ModelFormatException {
        if (optimizer == null) {
            throw new ModelFormatException(source, "the checkpoint holds no optimizer state",
                    "metadata field \"" + OPTIM + "type\"");
        }
        String type = target.getClass().getName();
        if (!type.equals(optimizer.type())) {
            throw new ModelFormatException(source, "the checkpoint was written for a " + optimizer.type()
                    + " optimizer, got a " + type, "metadata field \"" + OPTIM + "type\"");
        }
        List<Tensor> params = target.parameters();
        if (params.size() != optimizer.params()) {
            throw new ModelFormatException(source, "the checkpoint's optimizer trains " + optimizer.params()
                    + " parameters, this one " + params.size() + " (a run that froze layers freezes them again "
                    + "before building its optimizer on trainableParameters())", "metadata field \"" + OPTIM
                    + "params\"");
        }
        List<String> mismatched = new ArrayList<>();
        optimizer.state().forEach((i, s) -> {
            if (!Arrays.equals(s.shape(), params.get(i).shape())) {
                mismatched.add("parameter " + i + ": checkpoint " + Shapes.toString(s.shape()) + ", optimizer "
                        + Shapes.toString(params.get(i).shape()));
            }
        });
        if (!mismatched.isEmpty()) {
            throw new ModelFormatException(source, "optimizer state shape mismatches " + mismatched, null);
        }
        List<Integer> stale = new ArrayList<>();
        for (Map.Entry<Integer, Optimizer.ParamState> e : target.state().entrySet()) {
            ParamEntry saved = optimizer.state().get(e.getKey());
            if (saved == null) {
                stale.add(e.getKey());
            } else if (!saved.buffers().keySet().equals(e.getValue().buffers().keySet())) {
                throw new ModelFormatException(source, "the checkpoint has optimizer buffers "
                        + saved.buffers().keySet() + ", the optimizer keeps " + e.getValue().buffers().keySet(),
                        "tensor \"" + OPTIM + e.getKey() + "." + saved.buffers().keySet().iterator().next() + "\"");
            }
        }
        if (!stale.isEmpty()) {
            throw new IllegalArgumentException("Checkpoint.restore: the optimizer already has state for parameters "
                    + stale + " that the checkpoint has none for; restore into a fresh optimizer");
        }
    }

    /**
     * Restores the model's weights and buffers, and (when not null) the optimiser's state and learning rate and
     * the schedule's epoch. Everything is {@linkplain #check checked} first; on an exception nothing has changed.
     * Rngs and named states are restored separately ({@link #restoreRng}, {@link #state}).
     */
    public void restore(Module model, Optimizer optimizer, LRScheduler scheduler) throws ModelFormatException {
        check(model, optimizer, scheduler);
        if (optimizer != null) {
            boolean first = true;
            for (Map.Entry<Integer, ParamEntry> e : this.optimizer.state().entrySet()) {
                try {
                    optimizer.restoreState(e.getKey(), e.getValue().step(), e.getValue().buffers());
                } catch (IllegalArgumentException ex) {
                    // Only the first can fail (all entries have the same buffer names, and the sizes were
                    // checked), and restoreState checks before it stores, so nothing has changed yet.
                    if (!first) {
                        throw ex;
                    }
                    throw new ModelFormatException(source, "the optimizer does not accept the saved buffers "
                            + e.getValue().buffers().keySet() + ": " + ex.getMessage(), "tensor \"" + OPTIM
                            + e.getKey() + "." + e.getValue().buffers().keySet().iterator().next() + "\"", ex);
                }
                first = false;
            }
        }
        model.loadStateDict(this.model, true);
        if (scheduler != null) {
            scheduler.setEpoch(this.scheduler.epoch());
        }
        if (optimizer != null) {
            // After the schedule: the saved rate is what the run used, even if set by hand.
            optimizer.setLearningRate(this.optimizer.lr());
        }
    }

    // =====================================================================================================
    // Accessors
    // =====================================================================================================

    /** The file this checkpoint was read from (or a placeholder for one built in memory). */
    public String source() {
        return source;
    }

    /** Completed epochs when the checkpoint was taken. */
    public int epoch() {
        return epoch;
    }

    /** Completed steps when the checkpoint was taken. */
    public long step() {
        return step;
    }

    /** The saved model state under its state-dict names (without the {@code model.} prefix); read only. */
    public Map<String, Tensor> modelState() {
        return Collections.unmodifiableMap(model);
    }

    public boolean hasOptimizerState() {
        return optimizer != null;
    }

    public boolean hasSchedulerState() {
        return scheduler != null;
    }

    /** The saved learning rate; fails when the checkpoint holds no optimizer state. */
    public float learningRate() throws ModelFormatException {
        if (optimizer == null) {
            throw new ModelFormatException(source, "the checkpoint holds no optimizer state",
                    "metadata field \"" + OPTIM + "lr\"");
        }
        return optimizer.lr();
    }

    /** The names of the saved snapshots, in saving order. */
    public Set<String> snapshotNames() {
        return Collections.unmodifiableSet(snapshots.keySet());
    }

    /**
     * The snapshot saved under {@code name}, checked against {@code model}: the same tensor names and shapes as
     * its state dict, so it can be loaded into it. A missing name lists the saved ones.
     */
    public Map<String, Tensor> snapshot(String name, Module model) throws ModelFormatException {
        LinkedHashMap<String, Tensor> saved = snapshots.get(name);
        if (saved == null) {
            throw new ModelFormatException(source, "no snapshot named '" + name + "' (the checkpoint has "
                    + snapshots.keySet() + ")", "tensor \"" + SNAPSHOT + name + ".*\"");
        }
        Map<String, Tensor> expected = model.stateDict();
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor t = saved.get(e.getKey());
            if (t == null || !Arrays.equals(t.shape(), e.getValue().shape())) {
                throw new ModelFormatException(source, "snapshot '" + name + "' does not fit the model: tensor '"
                        + e.getKey() + "' is " + (t == null ? "missing" : Shapes.toString(t.shape()) + ", the model's"
                        + " is " + Shapes.toString(e.getValue().shape())), "tensor \"" + SNAPSHOT + name + "."
                        + e.getKey() + "\"");
            }
        }
        if (saved.size() != expected.size()) {
            List<String> extra = new ArrayList<>(saved.keySet());
            extra.removeAll(expected.keySet());
            throw new ModelFormatException(source, "snapshot '" + name + "' has tensors the model does not: "
                    + abbreviate(extra.toString()), "tensor \"" + SNAPSHOT + name + "." + extra.get(0) + "\"");
        }
        return Collections.unmodifiableMap(saved);
    }

    /** The names of the saved Rng states, in saving order. */
    public Set<String> rngNames() {
        return Collections.unmodifiableSet(rngs.keySet());
    }

    /** The names of the saved strings, in saving order. */
    public Set<String> stateNames() {
        return Collections.unmodifiableSet(states.keySet());
    }

    /** The Rng state saved under {@code name}; a missing name is an error that lists the saved ones. */
    public long rngState(String name) throws ModelFormatException {
        Long v = rngs.get(name);
        if (v == null) {
            throw new ModelFormatException(source, "no Rng state named '" + name + "' (the checkpoint has "
                    + rngs.keySet() + ")", "metadata field \"" + RNG + name + "\"");
        }
        return v;
    }

    /** Puts {@code rng} back into the state saved under {@code name}. */
    public void restoreRng(String name, Rng rng) throws ModelFormatException {
        rng.restore(rngState(name));
    }

    /** The string saved under {@code name}; a missing name is an error that lists the saved ones. */
    public String state(String name) throws ModelFormatException {
        String v = states.get(name);
        if (v == null) {
            throw new ModelFormatException(source, "no state named '" + name + "' (the checkpoint has "
                    + states.keySet() + ")", "metadata field \"" + STATE + name + "\"");
        }
        return v;
    }

    @Override
    public String toString() {
        return "Checkpoint(" + source + ": epoch " + epoch + ", step " + step + ", " + model.size()
                + " model tensors, " + (optimizer == null ? "no optimizer" : optimizer.type().substring(
                optimizer.type().lastIndexOf('.') + 1) + " state for " + optimizer.state().size() + " of "
                + optimizer.params() + " parameters") + ", rngs " + rngs.keySet() + ", states " + states.keySet()
                + ")";
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
