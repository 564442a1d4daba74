package org.siamese4j.siamese.diagnostics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Shapes;
import org.siamese4j.tensor.Tensor;

/**
 * Protects one training step from NaN and infinities: it checks the model's output after the forward pass and
 * every parameter's gradient after the backward pass, and throws {@link NonFiniteTrainingException} before the
 * optimiser can apply a step that holds a non-finite value. A trainer uses it in this order:
 * <pre>{@code
 * StepGuard guard = StepGuard.begin(tower, epoch, step, stepsPerEpoch);  // or monitor.begin(...)
 * Tensor embeddings = guard.forward(images);                             // throws on a non-finite output
 * LossResult result = ...;                                               // mine, compute the loss
 * optimizer.zeroGrad();
 * result.loss().backward();
 * guard.checkGradients(result.value());                                  // throws on a non-finite loss or gradient
 * optimizer.step();                                                      // only reached with finite numbers
 * }</pre>
 * One NaN weight poisons every later step, and a trainer that saves a checkpoint after each epoch would then save
 * the poison over the last good file; stopping before the update keeps the weights of the last good step in
 * memory and the last checkpoint on disk. The trainers of this library always use a guard, with or without a
 * {@link TrainingMonitor}.
 *
 * <h2>Batch-norm statistics</h2>
 * A forward pass in training mode updates buffers such as batch-norm running statistics, which a NaN input would
 * poison too. {@link #begin} copies the model's buffers (a few floats per channel), and a guard that throws first
 * puts them back, so the whole model is as it was after the last good step.
 *
 * <h2>Naming the culprit</h2>
 * <ul>
 *   <li>A non-finite output whose input holds NaN or an infinity is bad data: the message gives the rows of the
 *       batch.</li>
 *   <li>A non-finite output of a finite input is an overflow inside the model. For a {@link Sequential} model the
 *       guard runs the layers once more, one by one, without recording a graph, to find the first layer whose
 *       output is non-finite, then restores the buffers again. (That extra pass draws from the Rng of any dropout
 *       layer; training stops anyway, and an exact continuation resumes from the checkpoint, which holds the
 *       Rng's saved state.) It also names the first parameter whose values are non-finite, or the largest
 *       weight.</li>
 *   <li>A non-finite gradient is named by the parameter that went non-finite <em>first in backward order</em>:
 *       the backward pass runs from the loss towards the input, so of the parameters with a non-finite gradient
 *       the one closest to the loss is where the NaN or infinity appeared, and every earlier layer only received
 *       it. "Closest to the loss" is taken as the last in {@link Module#namedParameters()} order, which for a
 *       network whose layers are registered in forward order (every {@link Sequential}) is the order in which
 *       backward reaches them.</li>
 * </ul>
 *
 * <p>The checks cost one pass over the output and one over the gradients (a few milliseconds for millions of
 * parameters, against the much larger cost of the forward and backward passes); the search for the culprit runs
 * only once a check has failed.
 */
public final class StepGuard {
    private final Module model;
    private final int epoch;
    private final int step;
    private final int stepsPerEpoch;
    private final TrainingMonitor monitor;
    private final List<Tensor> buffers = new ArrayList<>();
    private final List<float[]> savedBuffers = new ArrayList<>();
    private double gradientNorm = Double.NaN;
    private boolean gradientsChecked;

    StepGuard(Module model, int epoch, int step, int stepsPerEpoch, TrainingMonitor monitor) {
        this.model = Objects.requireNonNull(model, "StepGuard: model is null");
        if (epoch < 1 || step < 1 || stepsPerEpoch < 1) {
            throw new IllegalArgumentException("StepGuard: epoch, step and stepsPerEpoch count from 1, got epoch "
                    + epoch + ", step " + step + ", stepsPerEpoch " + stepsPerEpoch);
        }
        this.epoch = epoch;
        this.step = step;
        this.stepsPerEpoch = stepsPerEpoch;
        this.monitor = monitor;
        for (Tensor b : model.namedBuffers().values()) {
            buffers.add(b);
            savedBuffers.add(b.data().clone());
        }
    }

    /**
     * Starts guarding step {@code step} (from 1) of epoch {@code epoch} (from 1) of {@code model}, without a
     * monitor: a failure only throws. Call it before the step's forward pass.
     */
    public static StepGuard begin(Module model, int epoch, int step, int stepsPerEpoch) {
        return new StepGuard(model, epoch, step, stepsPerEpoch, null);
    }

    public Module model() {
        return model;
    }

    public int epoch() {
        return epoch;
    }

    public int step() {
        return step;
    }

    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    // =====================================================================================================
    // Forward
    // =====================================================================================================

    /** {@code model.forward(input)}, checked with {@link #checkOutput}. */
    public Tensor forward(Tensor input) {
        Objects.requireNonNull(input, "StepGuard.forward: input is null");
        Tensor output = model.forward(input);
        checkOutput(input, output);
        return output;
    }

    /**
     * Checks an output the caller computed itself from {@code input} with the guarded model (a trainer that
     * runs the tower on two batches, say). Rows are the first dimension of both.
     *
     * @throws NonFiniteTrainingException if {@code output} holds NaN or an infinity
     */
    public void checkOutput(Tensor input, Tensor output) {
        checkOutput("", input, output);
    }

    /**
     * Checks the output of one part of the guarded model, for a model made of parts run one after the other by
     * the trainer (a pair model's tower, then its similarity head): {@code output} was computed from
     * {@code input} by the module at {@code part}. The guard as a whole still covers every parameter and buffer
     * of the model; only the search for the culprit is confined to the part: a {@link Sequential} part is re-run
     * layer by layer and its layer named by its full path ({@code "tower.3"}), another part is named itself, and
     * the weights reported are the part's.
     *
     * @param part the module's path as in {@link Module#namedModules()} ({@code "tower"}); {@code ""} for the
     *             whole model, which is {@link #checkOutput(Tensor, Tensor)}
     * @throws IllegalArgumentException   if the model has no module at {@code part}
     * @throws NonFiniteTrainingException if {@code output} holds NaN or an infinity
     */
    public void checkOutput(String part, Tensor input, Tensor output) {
        Objects.requireNonNull(part, "StepGuard.checkOutput: part is null");
        Objects.requireNonNull(input, "StepGuard.checkOutput: input is null");
        Objects.requireNonNull(output, "StepGuard.checkOutput: output is null");
        Map<String, Module> modules = model.namedModules();
        Module module = modules.get(part);
        if (module == null) {
            throw new IllegalArgumentException("StepGuard.checkOutput: the model has no module '" + part
                    + "'; its modules are " + listed(new ArrayList<>(modules.keySet())));
        }
        if (allFinite(output.data())) {
            return;
        }
        restoreBuffers();
        int[] badOutputRows = nonFiniteRows(output);
        int rows = output.rank() == 0 ? 1 : output.dim(0);
        String outputs = part.isEmpty()
                ? "the embeddings of " + badOutputRows.length + " of " + rows + " images are non-finite"
                : "the output of " + describeLayer(part) + " is non-finite in " + badOutputRows.length + " of "
                + rows + " rows";
        int[] badInputRows = nonFiniteRows(input);
        if (badInputRows.length > 0) {
            int inputRows = input.rank() == 0 ? 1 : input.dim(0);
            int width = input.size() / inputRows;
            int first = firstNonFinite(input.data());
            fail(NonFiniteTrainingException.Source.INPUT, null, null, String.format(Locale.ROOT,
                    "the input batch holds non-finite values (%s in %d of %d images, batch rows %s; the first at "
                            + "element %d of row %d of input %s), so %s. %s Try: check the data for NaN or infinite "
                            + "pixels (a corrupt image, a normalisation dividing by a zero standard deviation).",
                    input.data()[first], badInputRows.length, inputRows, listed(badInputRows), first % width,
                    first / width, Shapes.toString(input.shape()), outputs, stopped()));
        }
        String prefix = part.isEmpty() ? "" : part + ".";
        String layer = null;
        String where;
        if (module instanceof Sequential seq) {
            String index = firstNonFiniteLayer(seq, input);
            restoreBuffers();
            layer = index == null ? null : prefix + index;
            where = layer == null ? "re-running the layers one by one gave finite outputs (the overflow depends on "
                    + "randomness such as dropout)" : describeLayer(layer)
                    + " is the first whose output is non-finite, from a finite input";
        } else if (!part.isEmpty()) {
            layer = part;                   // a part that is not a Sequential cannot be re-run layer by layer
            where = "its input was finite";
        } else {
            where = "the input was finite";
        }
        String badParameter = null;
        String largest = "";
        double largestAbs = -1;
        for (Map.Entry<String, Tensor> e : module.namedParameters().entrySet()) {
            float[] w = e.getValue().data();
            if (badParameter == null && !allFinite(w)) {
                badParameter = prefix + e.getKey();
            }
            for (float v : w) {
                if (Math.abs(v) > largestAbs) {
                    largestAbs = Math.abs(v);
                    largest = prefix + e.getKey();
                }
            }
        }
        String weights = badParameter != null ? "parameter " + badParameter + " already holds non-finite values"
                : largestAbs < 0 ? (part.isEmpty() ? "the model" : describeLayer(part)) + " has no weights"
                : String.format(Locale.ROOT, "the weights are finite, the largest |w| is %.3g in %s", largestAbs,
                        largest);
        fail(NonFiniteTrainingException.Source.FORWARD, badParameter, layer, String.format(Locale.ROOT,
                "the forward pass went non-finite: %s; %s; %s. %s Try: a lower learning rate (earlier steps grew the "
                        + "weights), normalised inputs, or an L2-normalised or batch-normalised tower.",
                outputs, where, weights, stopped()));
    }

    /** Runs the layers one at a time without a graph; the path of the first with a non-finite output, or null. */
    private static String firstNonFiniteLayer(Sequential seq, Tensor input) {
        try (var noGrad = Tensor.noGrad()) {
            Tensor x = input.detach();
            for (int i = 0; i < seq.size(); i++) {
                x = seq.get(i).forward(x);
                if (!allFinite(x.data())) {
                    return Integer.toString(i);
                }
            }
        }
        return null;
    }

    /**
     * Checks a value computed from the (finite) embeddings on the way to the loss, such as the distance matrix a
     * miner reads: embeddings that are finite but huge can still overflow there ({@code inf - inf = NaN}).
     *
     * @param what       what {@code values} is, for the message ("pairwise distance matrix")
     * @param values     the values to check
     * @param embeddings the embeddings they were computed from, for the message
     * @throws NonFiniteTrainingException (source {@link NonFiniteTrainingException.Source#LOSS}) if {@code values}
     *                                    holds NaN or an infinity
     */
    public void checkDerived(String what, Tensor values, Tensor embeddings) {
        Objects.requireNonNull(values, "StepGuard.checkDerived: values is null");
        Objects.requireNonNull(embeddings, "StepGuard.checkDerived: embeddings is null");
        if (allFinite(values.data())) {
            return;
        }
        restoreBuffers();
        int bad = 0;
        for (float v : values.data()) {
            bad += Float.isFinite(v) ? 0 : 1;
        }
        double largest = 0;
        for (float v : embeddings.data()) {
            largest = Math.max(largest, Math.abs(v));
        }
        fail(NonFiniteTrainingException.Source.LOSS, null, null, String.format(Locale.ROOT,
                "the %s holds %d non-finite values of %d although the embeddings are finite (largest |value| %.3g). "
                        + "%s Try: a lower learning rate, or an L2-normalised tower so that embeddings stay small.",
                what, bad, values.size(), largest, stopped()));
    }

    // =====================================================================================================
    // Backward
    // =====================================================================================================

    /**
     * Checks the loss and the gradient of every parameter after the backward pass and before the optimiser step,
     * and returns the L2 norm of all gradients together (parameters without a gradient count as 0).
     *
     * @param loss the value of the loss that was back-propagated
     * @throws NonFiniteTrainingException if the loss or a gradient holds NaN or an infinity; the parameter named
     *                                    is the first with a non-finite gradient in backward order (see the class
     *                                    comment)
     */
    public double checkGradients(float loss) {
        if (!Float.isFinite(loss)) {
            restoreBuffers();
            fail(NonFiniteTrainingException.Source.LOSS, null, null, String.format(Locale.ROOT,
                    "the loss is %s although the embeddings are finite. %s Try: check the loss settings (margin, "
                            + "scale) and the labels of the batch; a loss with a log or a division needs inputs away "
                            + "from its poles.", loss, stopped()));
        }
        List<Map.Entry<String, Tensor>> params = new ArrayList<>(model.namedParameters().entrySet());
        double sumSquares = 0;
        String culprit = null;
        int culpritBad = 0;
        int culpritSize = 0;
        List<String> affected = new ArrayList<>();
        for (int i = params.size() - 1; i >= 0; i--) {          // backward order: closest to the loss first
            Tensor grad = params.get(i).getValue().grad();
            if (grad == null) {
                continue;
            }
            int bad = 0;
            for (float g : grad.data()) {
                if (Float.isFinite(g)) {
                    sumSquares += (double) g * g;
                } else {
                    bad++;
                }
            }
            if (bad > 0) {
                affected.add(params.get(i).getKey());
                if (culprit == null) {
                    culprit = params.get(i).getKey();
                    culpritBad = bad;
                    culpritSize = grad.size();
                }
            }
        }
        if (culprit != null) {
            restoreBuffers();
            String layer = culprit.contains(".") ? culprit.substring(0, culprit.lastIndexOf('.')) : "";
            fail(NonFiniteTrainingException.Source.GRADIENT, culprit, layer, String.format(Locale.ROOT,
                    "the gradient of %s, in %s, is non-finite in %d of %d values: the first in backward order "
                            + "(from the loss back) of %d parameters with non-finite gradients %s, while the loss "
                            + "%.6g and the embeddings were finite. %s Try: a lower learning rate, normalised inputs, "
                            + "or look for an op with an infinite derivative in or after layer %s (a root, a log or "
                            + "a division near 0).", culprit, describeLayer(layer), culpritBad, culpritSize,
                    affected.size(), listed(affected), loss, stopped(), layer.isEmpty() ? "(the model)" : layer));
        }
        gradientNorm = Math.sqrt(sumSquares);
        gradientsChecked = true;
        return gradientNorm;
    }

    /** The gradient norm {@link #checkGradients} measured, or NaN before it ran. */
    public double gradientNorm() {
        return gradientNorm;
    }

    /** Whether {@link #checkGradients} has run and passed. */
    public boolean gradientsChecked() {
        return gradientsChecked;
    }

    // =====================================================================================================
    // Helpers
    // =====================================================================================================

    private void fail(NonFiniteTrainingException.Source source, String parameter, String layer, String message) {
        DiagnosticWarning warning = new DiagnosticWarning(DiagnosticKind.NON_FINITE, epoch, step, message);
        if (monitor != null) {
            monitor.nonFinite(warning);
        }
        throw new NonFiniteTrainingException(warning, source, parameter, layer);
    }

    private static String stopped() {
        return "Training stopped before the optimiser step: the step is not applied and the last checkpoint written "
                + "is left as it was.";
    }

    private void restoreBuffers() {
        for (int i = 0; i < buffers.size(); i++) {
            float[] saved = savedBuffers.get(i);
            System.arraycopy(saved, 0, buffers.get(i).data(), 0, saved.length);
        }
    }

    /** {@code "layer 3 (Linear)"}, or {@code "the model itself (Foo)"} for the root. */
    private String describeLayer(String path) {
        Module m = model.namedModules().get(path);
        String type = m == null ? "?" : m.getClass().getSimpleName();
        return path.isEmpty() ? "the model itself (" + type + ")" : "layer " + path + " (" + type + ")";
    }

    static boolean allFinite(float[] values) {
        for (float v : values) {
            if (!Float.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    private static int firstNonFinite(float[] values) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                return i;
            }
        }
        return -1;
    }

    /** Indices along the first dimension whose slice holds a non-finite value. */
    private static int[] nonFiniteRows(Tensor t) {
        float[] v = t.data();
        int rows = t.rank() == 0 ? 1 : t.dim(0);
        int width = rows == 0 ? 0 : v.length / rows;
        int[] out = new int[rows];
        int count = 0;
        for (int r = 0; r < rows; r++) {
            for (int k = 0; k < width; k++) {
                if (!Float.isFinite(v[r * width + k])) {
                    out[count++] = r;
                    break;
                }
            }
        }
        return Arrays.copyOf(out, count);
    }

    /** At most 8 entries, then "...". */
    private static String listed(int[] values) {
        List<String> s = new ArrayList<>();
        for (int v : values) {
            s.add(Integer.toString(v));
        }
        return listed(s);
    }

    private static String listed(List<String> values) {
        int shown = Math.min(values.size(), 8);
        String s = String.join(", ", values.subList(0, shown));
        return "[" + s + (shown < values.size() ? ", ..." : "") + "]";
    }
}
