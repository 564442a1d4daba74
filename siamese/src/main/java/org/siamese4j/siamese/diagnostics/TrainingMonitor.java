package org.siamese4j.siamese.diagnostics;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.siamese4j.io.AtomicFiles;
import org.siamese4j.nn.Module;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.mining.TripletStats;
import org.siamese4j.siamese.plot.DiagnosticsChart;
import org.siamese4j.tensor.Tensor;

/**
 * Watches a training run and explains it: records the figures of every step and every epoch, runs the detectors
 * that spot a run failing silently, and hands both to a {@link DiagnosticsListener} as they happen. Attach one to
 * the {@code Trainer} ({@code Trainer.Builder.monitor}); any other training loop
 * drives it with the calls below.
 *
 * <h2>Per step</h2>
 * The loss, the fraction of active loss terms, the gradient norm and, for triplet training, how many of the mined
 * triplets were easy, semi-hard and hard ({@link StepFigures}).
 *
 * <h2>Per epoch</h2>
 * From the detached embeddings of the epoch's batches, as the step embedded them for the loss (no extra forward
 * pass): the mean distance of same-identity (positive) and different-identity (negative) pairs within each batch
 * and their gap, the mean embedding norm, and the variance of each embedding dimension within a batch, its mean
 * and minimum over the dimensions ({@link EpochFigures}). The pair loop costs {@code N^2 D / 2} multiply-adds
 * for a batch of N embeddings of D dimensions, small next to the tower.
 *
 * <h2>Detectors</h2>
 * Each gives one warning line with a suggested fix ({@link DiagnosticWarning}), collected in {@link #warnings()}
 * and passed to the listener. A detector warns when its condition starts and stays quiet while it lasts; once the
 * condition clears, it can warn again.
 * <ul>
 *   <li>{@link DiagnosticKind#COLLAPSE}, end of epoch: the embeddings converge to one point. Measured relative
 *       to the embedding scale (the rms norm), so it works alike for raw and L2-normalised towers (where the norm
 *       is always 1 and only the spread can shrink): both the within-batch spread, {@code sqrt(sum of the
 *       per-dimension variances)}, and the mean Euclidean pairwise distance are at most
 *       {@link Settings#collapseTolerance()} times the rms norm. Embeddings that are all exactly zero count as
 *       collapsed. With the loss's margin given ({@link #withMargin}) it also fires when the embeddings are
 *       squeezed together: the epoch's mean loss is at least 90% of the margin while the gap between negative and
 *       positive distances is under a quarter of it.</li>
 *   <li>{@link DiagnosticKind#LOSS_STUCK_AT_ZERO}, per step: the loss has been exactly 0 with no active term for
 *       {@link Settings#zeroLossSteps()} consecutive steps, or for a whole epoch when epochs are shorter. Batches
 *       skipped for want of a valid term neither extend nor break the run.</li>
 *   <li>{@link DiagnosticKind#EXPLODING}, per step: the gradient norm or the loss exceeds
 *       {@link Settings#explodeFactor()} times the median of the last {@link Settings#explodeWindow()} steps
 *       (once {@link Settings#explodeWarmup()} steps are known). A warning only: finite numbers can still recover.
 *       </li>
 *   <li>{@link DiagnosticKind#NON_FINITE}: found by the {@link StepGuard} of {@link #begin}, which stops training
 *       with a {@link NonFiniteTrainingException} before the optimiser step; the monitor records the warning and
 *       passes it to the listener before the exception is thrown. (Trainers guard every step, monitor or not.)</li>
 *   <li>{@link DiagnosticKind#NO_VALID_TERMS}, end of epoch: batches without a single valid loss term (no
 *       anchor with both a positive and a negative) were skipped; how many is in {@link EpochFigures} and in the
 *       warning.</li>
 * </ul>
 *
 * <h2>Driving it</h2>
 * <pre>{@code
 * StepGuard guard = monitor.begin(tower, epoch, step, stepsPerEpoch);
 * Tensor embeddings = guard.forward(images);
 * ... compute the loss; if it has no valid term: monitor.skipped(guard, embeddings, labels) and no step ...
 * optimizer.zeroGrad(); result.loss().backward();
 * guard.checkGradients(result.value());
 * monitor.step(guard, result.value(), result.activeFraction(), tripletStatsOrNull, embeddings, labels);
 * optimizer.step();
 * ... after the epoch's last batch: monitor.endEpoch();
 * }</pre>
 * A step of a new epoch closes the previous one if {@link #endEpoch} was not called.
 *
 * <p>Every figure is kept in memory (about a hundred bytes per step) for {@link #writeCsv}, {@link #writeChart}
 * and {@link #steps()}. Not thread-safe: drive it from the training thread.
 */
public final class TrainingMonitor {

    /**
     * The detectors' thresholds.
     *
     * @param collapseTolerance the largest within-batch spread and mean pairwise distance, relative to the rms
     *                          embedding norm, that count as collapsed; in (0, 1). 0.01 by default.
     * @param zeroLossSteps     consecutive zero-loss steps before a warning (a whole epoch if that is shorter);
     *                          20 by default
     * @param explodeFactor     how many times the recent median a gradient norm or loss must exceed to warn;
     *                          above 1, 1000 by default
     * @param explodeWindow     how many recent steps the median is taken over; 50 by default
     * @param explodeWarmup     steps recorded before the exploding check starts (the first steps of a run are
     *                          erratic); at least 1 and at most the window, 10 by default
     */
    public record Settings(double collapseTolerance, int zeroLossSteps, double explodeFactor, int explodeWindow,
                           int explodeWarmup) {
        public Settings {
            if (!(collapseTolerance > 0 && collapseTolerance < 1)) {
                throw new IllegalArgumentException("TrainingMonitor.Settings: collapseTolerance must be in (0, 1), got "
                        + collapseTolerance);
            }
            if (zeroLossSteps < 1) {
                throw new IllegalArgumentException("TrainingMonitor.Settings: zeroLossSteps must be >= 1, got "
                        + zeroLossSteps);
            }
            if (!(explodeFactor > 1) || Double.isInfinite(explodeFactor)) {
                throw new IllegalArgumentException("TrainingMonitor.Settings: explodeFactor must be finite and > 1, got "
                        + explodeFactor);
            }
            if (explodeWindow < 1 || explodeWarmup < 1 || explodeWarmup > explodeWindow) {
                throw new IllegalArgumentException("TrainingMonitor.Settings: need 1 <= explodeWarmup <= explodeWindow,"
                        + " got explodeWarmup " + explodeWarmup + ", explodeWindow " + explodeWindow);
            }
        }

        /** collapse 1%, 20 zero-loss steps, exploding at 1000x the median of 50 steps after 10. */
        public static Settings defaults() {
            return new Settings(0.01, 20, 1000, 50, 10);
        }

        public Settings withCollapseTolerance(double tolerance) {
            return new Settings(tolerance, zeroLossSteps, explodeFactor, explodeWindow, explodeWarmup);
        }

        public Settings withZeroLossSteps(int steps) {
            return new Settings(collapseTolerance, steps, explodeFactor, explodeWindow, explodeWarmup);
        }

        public Settings withExplodeFactor(double factor) {
            return new Settings(collapseTolerance, zeroLossSteps, factor, explodeWindow, explodeWarmup);
        }
    }

    private static final DiagnosticsListener SILENT = new DiagnosticsListener() {
    };

    private Settings settings = Settings.defaults();
    private Distance distance = Distance.EUCLIDEAN;
    private double margin = Double.NaN;
    private DiagnosticsListener listener = SILENT;

    private final List<StepFigures> steps = new ArrayList<>();
    private final List<EpochFigures> epochs = new ArrayList<>();
    private final List<DiagnosticWarning> warnings = new ArrayList<>();
    private final EnumSet<DiagnosticKind> active = EnumSet.noneOf(DiagnosticKind.class);
    private final ArrayDeque<Double> recentNorms = new ArrayDeque<>();
    private final ArrayDeque<Double> recentLosses = new ArrayDeque<>();
    private EpochAccumulator open;
    private int zeroRun;

    /** A monitor with the default settings, Euclidean pair distances and no listener (figures are collected). */
    public TrainingMonitor() {
    }

    public TrainingMonitor withSettings(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "TrainingMonitor.withSettings: settings is null");
        return this;
    }

    /**
     * The distance of the per-epoch positive and negative pair figures; Euclidean by default. Give the loss's
     * distance so the gap reads against its margin. (Collapse is always measured in Euclidean terms.)
     */
    public TrainingMonitor withDistance(Distance distance) {
        this.distance = Objects.requireNonNull(distance, "TrainingMonitor.withDistance: distance is null");
        return this;
    }

    /**
     * The margin of the loss being trained (NaN, the default, for a loss without one): the collapse detector then
     * also catches embeddings squeezed together, a loss pinned at the margin with a gap far below it.
     */
    public TrainingMonitor withMargin(double margin) {
        this.margin = margin;
        return this;
    }

    /** Who hears about steps, epochs and warnings as they happen (null for nobody). */
    public TrainingMonitor withListener(DiagnosticsListener listener) {
        this.listener = listener == null ? SILENT : listener;
        return this;
    }

    public Settings settings() {
        return settings;
    }

    public Distance distance() {
        return distance;
    }

    // =====================================================================================================
    // Driving
    // =====================================================================================================

    /**
     * Starts guarding a step (see {@link StepGuard}); a non-finite value it finds is recorded here as a
     * {@link DiagnosticKind#NON_FINITE} warning, passed to the listener, then thrown.
     */
    public StepGuard begin(Module model, int epoch, int step, int stepsPerEpoch) {
        return new StepGuard(model, epoch, step, stepsPerEpoch, this);
    }

    /**
     * Records a step that is about to be applied: checks the gradients through {@code guard} if the caller has
     * not yet, adds the embeddings to the epoch's figures and runs the per-step detectors.
     *
     * @param guard          the step's guard (its epoch, step and model)
     * @param loss           the loss that was back-propagated
     * @param activeFraction the fraction of non-zero loss terms, in [0, 1]
     * @param mined          for triplet training, the kinds of the mined triplets; null otherwise
     * @param embeddings     [N, D], the batch's embeddings as the loss saw them (only read)
     * @param labels         N identity labels of the rows of {@code embeddings}
     * @return the step's figures
     * @throws NonFiniteTrainingException if the gradients had not been checked and are not finite
     */
    public StepFigures step(StepGuard guard, float loss, double activeFraction, TripletStats mined,
                            Tensor embeddings, int[] labels) {
        Objects.requireNonNull(guard, "TrainingMonitor.step: guard is null");
        if (!(activeFraction >= 0 && activeFraction <= 1)) {
            throw new IllegalArgumentException("TrainingMonitor.step: activeFraction must be in [0, 1], got "
                    + activeFraction);
        }
        checkBatch("step", embeddings, labels);
        double norm = guard.gradientsChecked() ? guard.gradientNorm() : guard.checkGradients(loss);
        EpochAccumulator epoch = accumulator(guard);
        epoch.addEmbeddings(embeddings, labels);        // first: it refuses a batch of another width unchanged
        epoch.addStep(loss, activeFraction, mined);
        StepFigures figures = new StepFigures(guard.epoch(), guard.step(), guard.stepsPerEpoch(), steps.size() + 1L,
                false, loss, activeFraction, norm, mined, labels.length);
        steps.add(figures);
        listener.onStep(figures);
        checkZeroLoss(guard, loss, activeFraction);
        checkExploding(guard, loss, norm);
        return figures;
    }

    /**
     * Records a batch that had no valid loss term and was skipped without a step. Its embeddings, if given, still
     * count towards the epoch's distance, norm and variance figures.
     *
     * @param embeddings [N, D] or null
     * @param labels     N identity labels, or null with null embeddings
     */
    public StepFigures skipped(StepGuard guard, Tensor embeddings, int[] labels) {
        Objects.requireNonNull(guard, "TrainingMonitor.skipped: guard is null");
        int images = 0;
        if (embeddings != null || labels != null) {
            checkBatch("skipped", embeddings, labels);
            images = labels.length;
        }
        EpochAccumulator epoch = accumulator(guard);
        if (embeddings != null) {
            epoch.addEmbeddings(embeddings, labels);
        }
        epoch.skipped++;
        StepFigures figures = new StepFigures(guard.epoch(), guard.step(), guard.stepsPerEpoch(), steps.size() + 1L,
                true, Float.NaN, Double.NaN, Double.NaN, null, images);
        steps.add(figures);
        listener.onStep(figures);
        return figures;
    }

    /**
     * Closes the epoch in progress: computes its figures, passes them to the listener and runs the per-epoch
     * detectors (collapse, skipped batches). Returns null when no step or skipped batch was recorded since the
     * last call.
     */
    public EpochFigures endEpoch() {
        if (open == null) {
            return null;
        }
        EpochFigures figures = open.figures();
        open = null;
        epochs.add(figures);
        listener.onEpoch(figures);
        checkCollapse(figures);
        checkSkipped(figures);
        return figures;
    }

    private EpochAccumulator accumulator(StepGuard guard) {
        if (open != null && open.epoch != guard.epoch()) {
            endEpoch();
        }
        if (open == null) {
            open = new EpochAccumulator(guard.epoch(), distance);
        }
        return open;
    }

    private static void checkBatch(String method, Tensor embeddings, int[] labels) {
        Objects.requireNonNull(embeddings, () -> "TrainingMonitor." + method + ": embeddings are null");
        Objects.requireNonNull(labels, () -> "TrainingMonitor." + method + ": labels are null");
        if (embeddings.rank() != 2) {
            throw new IllegalArgumentException("TrainingMonitor." + method + ": embeddings must be [N, D], got "
                    + embeddings.describe());
        }
        if (embeddings.dim(0) != labels.length) {
            throw new IllegalArgumentException("TrainingMonitor." + method + ": " + labels.length
                    + " labels for embeddings " + embeddings.describe());
        }
    }

    // =====================================================================================================
    // Detectors
    // =====================================================================================================

    /** Called by a {@link StepGuard} of this monitor just before it throws. */
    void nonFinite(DiagnosticWarning warning) {
        warn(warning);
    }

    private void checkZeroLoss(StepGuard guard, float loss, double activeFraction) {
        zeroRun = loss == 0f && activeFraction == 0 ? zeroRun + 1 : 0;
        int needed = Math.min(settings.zeroLossSteps(), guard.stepsPerEpoch());
        if (onset(DiagnosticKind.LOSS_STUCK_AT_ZERO, zeroRun >= needed)) {
            warn(new DiagnosticWarning(DiagnosticKind.LOSS_STUCK_AT_ZERO, guard.epoch(), guard.step(),
                    "the loss has been exactly 0, with no active term, for " + zeroRun + " consecutive steps: every "
                            + "pair or triplet already satisfies the margin, so nothing is left to learn from these "
                            + "batches. Try: harder mining (batch-hard or semi-hard instead of batch-all or random "
                            + "triplets), a larger margin, or stop training here if the held-out figures are good."));
        }
    }

    private void checkExploding(StepGuard guard, float loss, double norm) {
        double normMedian = median(recentNorms);
        double lossMedian = median(recentLosses);
        double factor = settings.explodeFactor();
        boolean normExplodes = recentNorms.size() >= settings.explodeWarmup() && norm > factor * normMedian;
        boolean lossExplodes = recentLosses.size() >= settings.explodeWarmup() && loss > factor * lossMedian;
        remember(recentNorms, norm);
        remember(recentLosses, loss);
        if (onset(DiagnosticKind.EXPLODING, normExplodes || lossExplodes)) {
            String what = normExplodes
                    ? String.format(Locale.ROOT, "the gradient norm %.3g is %.3g times the median %.3g", norm,
                    norm / normMedian, normMedian)
                    : String.format(Locale.ROOT, "the loss %.4g is %.3g times the median %.4g", loss,
                    loss / lossMedian, lossMedian);
            warn(new DiagnosticWarning(DiagnosticKind.EXPLODING, guard.epoch(), guard.step(), String.format(
                    Locale.ROOT, "%s of the last %d steps (limit %.3gx): training is diverging. Try: a lower "
                            + "learning rate (divide it by 10), a learning-rate warm-up, or an L2-normalised tower.",
                    what, normExplodes ? recentNorms.size() - 1 : recentLosses.size() - 1, factor)));
        }
    }

    private void checkCollapse(EpochFigures f) {
        double tol = settings.collapseTolerance();
        boolean measurable = !Double.isNaN(f.relativeSpread()) && !Double.isNaN(f.relativeDistance());
        boolean collapsed = measurable && f.relativeSpread() <= tol && f.relativeDistance() <= tol;
        boolean squeezed = !collapsed && squeezed(f);
        if (onset(DiagnosticKind.COLLAPSE, collapsed || squeezed)) {
            warn(new DiagnosticWarning(DiagnosticKind.COLLAPSE, f.epoch(), 0, collapsed ? String.format(Locale.ROOT,
                    "the embeddings have collapsed to (almost) one point: their within-batch spread is %.3g and "
                            + "their mean pairwise distance %.3g times their size (rms norm %.3g; limit %.3g), so "
                            + "every image gets nearly the same embedding. Try: check that the learning rate is not 0 "
                            + "and the last layer is not zero-initialised (Xavier or He init), lower a learning rate "
                            + "that is too high, use a margin > 0 with semi-hard or batch-hard mining, and check that "
                            + "batches hold several identities.", f.relativeSpread(), f.relativeDistance(),
                    f.rmsNorm(), tol) : String.format(Locale.ROOT, "the embeddings are squeezed together: the loss "
                            + "%.4g sits at the margin %.4g and different people are only %.4g farther apart than "
                            + "the same person (d+ %.4g, d- %.4g), under a quarter of the margin, so the loss "
                            + "barely tells anyone apart. Try: a learning-rate warm-up or a lower rate, semi-hard "
                            + "mining, a smaller margin.", f.meanLoss(), margin, f.gap(), f.meanPositiveDistance(),
                    f.meanNegativeDistance())));
        }
    }

    /**
     * A margin loss whose epoch mean sits at the margin (at least 90% of it) while the negatives are less than a
     * quarter of the margin farther than the positives: the batch-hard failure where every embedding is pulled
     * into a small cap of the sphere and the loss stays at the margin however long it trains.
     */
    private boolean squeezed(EpochFigures f) {
        return margin > 0 && !Double.isNaN(f.meanLoss()) && !Double.isNaN(f.gap())
                && f.meanLoss() >= 0.9 * margin && f.gap() < 0.25 * margin;
    }

    private void checkSkipped(EpochFigures f) {
        if (onset(DiagnosticKind.NO_VALID_TERMS, f.skippedBatches() > 0)) {
            warn(new DiagnosticWarning(DiagnosticKind.NO_VALID_TERMS, f.epoch(), 0, f.skippedBatches() + " of "
                    + (f.steps() + f.skippedBatches()) + " batches had no valid loss term (no anchor with both a "
                    + "positive and a negative in the batch) and were skipped without a step. Try: P x K batches "
                    + "(PKSampler) with P >= 2 identities and K >= 2 images each, and leave out identities with a "
                    + "single image."));
        }
    }

    /** True when {@code condition} starts (it was not active); a false condition re-arms the detector. */
    private boolean onset(DiagnosticKind kind, boolean condition) {
        if (!condition) {
            active.remove(kind);
            return false;
        }
        return active.add(kind);
    }

    private void warn(DiagnosticWarning warning) {
        warnings.add(warning);
        listener.onWarning(warning);
    }

    private void remember(ArrayDeque<Double> window, double value) {
        if (value > 0 && Double.isFinite(value)) {
            window.addLast(value);
            while (window.size() > settings.explodeWindow()) {
                window.removeFirst();
            }
        }
    }

    private static double median(ArrayDeque<Double> window) {
        if (window.isEmpty()) {
            return Double.NaN;
        }
        double[] v = window.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = v.length;
        return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    }

    // =====================================================================================================
    // Results
    // =====================================================================================================

    /** Every step and skipped batch recorded so far, in order (unmodifiable view). */
    public List<StepFigures> steps() {
        return Collections.unmodifiableList(steps);
    }

    /** Every completed epoch so far, in order (unmodifiable view). */
    public List<EpochFigures> epochs() {
        return Collections.unmodifiableList(epochs);
    }

    /** Every warning so far, in order (unmodifiable view). */
    public List<DiagnosticWarning> warnings() {
        return Collections.unmodifiableList(warnings);
    }

    /** The warnings of one kind. */
    public List<DiagnosticWarning> warnings(DiagnosticKind kind) {
        return warnings.stream().filter(w -> w.kind() == kind).toList();
    }

    /**
     * Writes the per-step figures as CSV ({@link StepFigures#csvHeader}, then one row per step) to {@code file},
     * atomically, creating missing folders. Call it at any time, also after a {@link NonFiniteTrainingException}.
     */
    public void writeCsv(Path file) throws IOException {
        // A run without mined triplets (pairs, circle loss, a learned head) gets no empty triplet columns.
        boolean withTriplets = steps.stream().anyMatch(s -> s.mined() != null);
        List<String> rows = new ArrayList<>();
        for (StepFigures s : steps) {
            rows.add(s.toCsvRow(withTriplets));
        }
        writeLines(file, StepFigures.csvHeader(withTriplets), rows);
    }

    /** Writes the per-epoch figures as CSV ({@link EpochFigures#CSV_HEADER}, one row per epoch), atomically. */
    public void writeEpochCsv(Path file) throws IOException {
        List<String> rows = new ArrayList<>();
        for (EpochFigures e : epochs) {
            rows.add(e.toCsvRow());
        }
        writeLines(file, EpochFigures.CSV_HEADER, rows);
    }

    /**
     * Draws the per-step figures over the run as a PNG ({@link DiagnosticsChart}): the loss, the active fraction
     * and, for triplet training, the fractions of easy, semi-hard and hard triplets. Skipped batches are gaps.
     *
     * @throws IllegalStateException if no step has been taken yet
     */
    public void writeChart(Path file) throws IOException {
        int n = steps.size();
        double[] loss = new double[n];
        double[] activeFraction = new double[n];
        double[] easy = new double[n];
        double[] semiHard = new double[n];
        double[] hard = new double[n];
        boolean triplets = false;
        boolean anyStep = false;
        for (int i = 0; i < n; i++) {
            StepFigures s = steps.get(i);
            anyStep |= !s.skipped();
            loss[i] = s.skipped() ? Double.NaN : s.loss();
            activeFraction[i] = s.skipped() ? Double.NaN : s.activeFraction();
            TripletStats m = s.mined();
            triplets |= m != null;
            easy[i] = m == null ? Double.NaN : m.easyFraction();
            semiHard[i] = m == null ? Double.NaN : m.semiHardFraction();
            hard[i] = m == null ? Double.NaN : m.hardFraction();
        }
        if (!anyStep) {
            throw new IllegalStateException("TrainingMonitor.writeChart: no training step recorded yet ("
                    + n + " skipped batches)");
        }
        if (triplets) {
            DiagnosticsChart.write(file, loss, activeFraction, easy, semiHard, hard);
        } else {
            DiagnosticsChart.write(file, loss, activeFraction);
        }
    }

    private static void writeLines(Path file, String header, List<String> rows) throws IOException {
        Objects.requireNonNull(file, "file");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        AtomicFiles.write(file, out -> {
            Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8));
            w.write(header);
            w.write('\n');
            for (String row : rows) {
                w.write(row);
                w.write('\n');
            }
            w.flush();
        });
    }

    // =====================================================================================================
    // Epoch sums
    // =====================================================================================================

    /** Running sums of one epoch, in double. */
    private static final class EpochAccumulator {
        final int epoch;
        final Distance distance;
        int steps;
        int skipped;
        double lossSum;
        double activeSum;
        int easy;
        int semiHard;
        int hard;
        boolean mined;
        long images;
        long rows;
        double normSum;
        double normSquareSum;
        double[] squaredDeviations;   // per dimension, summed over batches
        long degreesOfFreedom;        // sum over batches of (rows - 1)
        long positivePairs;
        long negativePairs;
        double positiveSum;
        double negativeSum;
        double euclideanSum;

        EpochAccumulator(int epoch, Distance distance) {
            this.epoch = epoch;
            this.distance = distance;
        }

        void addStep(float loss, double activeFraction, TripletStats stats) {
            steps++;
            lossSum += loss;
            activeSum += activeFraction;
            if (stats != null) {
                mined = true;
                easy += stats.easy();
                semiHard += stats.semiHard();
                hard += stats.hard();
            }
        }

        /**
         * Norms, within-batch variance per dimension and every pair of rows once, in double. The pair distances
         * follow the {@link Distance} formulas (cosine with its norm floor and clamp).
         */
        void addEmbeddings(Tensor embeddings, int[] labels) {
            float[] e = embeddings.data();
            int n = embeddings.dim(0);
            int d = embeddings.dim(1);
            if (squaredDeviations == null) {
                squaredDeviations = new double[d];
            } else if (squaredDeviations.length != d) {
                throw new IllegalArgumentException("TrainingMonitor: embeddings of " + d + " dimensions in an epoch "
                        + "of " + squaredDeviations.length + "-dimensional ones");
            }
            images += n;
            double[] norms = new double[n];
            for (int i = 0; i < n; i++) {
                double s = 0;
                for (int k = 0; k < d; k++) {
                    double v = e[i * d + k];
                    s += v * v;
                }
                norms[i] = Math.sqrt(s);
                normSum += norms[i];
                normSquareSum += s;
            }
            rows += n;
            if (n >= 2) {
                for (int k = 0; k < d; k++) {
                    double mean = 0;
                    for (int i = 0; i < n; i++) {
                        mean += e[i * d + k];
                    }
                    mean /= n;
                    double ss = 0;
                    for (int i = 0; i < n; i++) {
                        double dev = e[i * d + k] - mean;
                        ss += dev * dev;
                    }
                    squaredDeviations[k] += ss;
                }
                degreesOfFreedom += n - 1;
            }
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    double squared = 0;
                    double dot = 0;
                    for (int k = 0; k < d; k++) {
                        double a = e[i * d + k];
                        double b = e[j * d + k];
                        squared += (a - b) * (a - b);
                        dot += a * b;
                    }
                    double euclidean = Math.sqrt(squared);
                    euclideanSum += euclidean;
                    double dist = switch (distance) {
                        case EUCLIDEAN -> euclidean;
                        case SQUARED_EUCLIDEAN -> squared;
                        case COSINE -> 1.0 - Math.max(-1.0, Math.min(1.0, dot
                                / (Math.max(norms[i], Distance.COSINE_EPS) * Math.max(norms[j], Distance.COSINE_EPS))));
                    };
                    if (labels[i] == labels[j]) {
                        positivePairs++;
                        positiveSum += dist;
                    } else {
                        negativePairs++;
                        negativeSum += dist;
                    }
                }
            }
        }

        EpochFigures figures() {
            int dims = squaredDeviations == null ? 0 : squaredDeviations.length;
            double meanVariance = Double.NaN;
            double minVariance = Double.NaN;
            double relativeSpread = Double.NaN;
            double relativeDistance = Double.NaN;
            double rms = rows == 0 ? Double.NaN : Math.sqrt(normSquareSum / rows);
            if (degreesOfFreedom > 0) {
                double total = 0;
                minVariance = Double.POSITIVE_INFINITY;
                for (double ss : squaredDeviations) {
                    double v = ss / degreesOfFreedom;
                    total += v;
                    minVariance = Math.min(minVariance, v);
                }
                meanVariance = total / dims;
                relativeSpread = relative(Math.sqrt(total), rms);
            }
            long pairs = positivePairs + negativePairs;
            if (pairs > 0) {
                relativeDistance = relative(euclideanSum / pairs, rms);
            }
            return new EpochFigures(epoch, steps, skipped, images, steps == 0 ? Double.NaN : lossSum / steps,
                    steps == 0 ? Double.NaN : activeSum / steps, mined ? new TripletStats(easy, semiHard, hard) : null,
                    distance, positivePairs, negativePairs,
                    positivePairs == 0 ? Double.NaN : positiveSum / positivePairs,
                    negativePairs == 0 ? Double.NaN : negativeSum / negativePairs,
                    rows == 0 ? Double.NaN : normSum / rows, rms, meanVariance, minVariance, relativeSpread,
                    relativeDistance);
        }

        /** {@code value / scale}, with 0 / 0 = 0: embeddings that are all zero have no spread at any scale. */
        private static double relative(double value, double scale) {
            if (scale == 0) {
                return value == 0 ? 0 : Double.POSITIVE_INFINITY;
            }
            return value / scale;
        }
    }

    @Override
    public String toString() {
        return "TrainingMonitor(" + steps.size() + " steps, " + epochs.size() + " epochs, " + warnings.size()
                + " warnings, " + settings + ", " + distance + ")";
    }
}
