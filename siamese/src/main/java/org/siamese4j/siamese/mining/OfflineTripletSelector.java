package org.siamese4j.siamese.mining;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.TripletIndices;
import org.siamese4j.siamese.data.TripletSampler;
import org.siamese4j.tensor.Rng;

/**
 * Offline triplet selection in stages: each stage draws random candidate triplets from the whole labelled set,
 * measures them with the current model through a {@link DistanceFunction}, classifies each (see
 * {@link TripletKind}) and keeps those of the chosen kinds. The caller trains on the kept triplets between stages,
 * so the next stage measures with a better model and finds fewer non-easy triplets.
 *
 * <p>Stopping: after a stage whose fraction of non-easy candidates is below {@link Config#minNonEasyFraction()}
 * (strictly), or after {@link Config#maxStages()} stages, no further stage is drawn. The stage that triggers the stop
 * is still returned, with its kept triplets and report. Typical use:
 * <pre>{@code
 * OfflineTripletSelector selector = new OfflineTripletSelector(dataset, distances, config, rng);
 * while (selector.hasNextStage()) {
 *     OfflineTripletSelector.Stage stage = selector.nextStage();
 *     System.out.println(stage.report());          // "stage 3: 41% non-easy, kept 820"
 *     train(stage.triplets());
 * }
 * }</pre>
 * The class is also an {@link Iterator} of stages, and {@link #runAll} runs that loop with a training callback.
 *
 * <p>Reproducibility: the candidates of every stage depend only on the labels and the {@link Rng} (never on the
 * distances), so the same seed gives the same candidates, and with the same distance function the same kept
 * triplets. The selector draws from the given {@code Rng} itself (pass {@code rng.split()} to keep a separate
 * stream). Not thread-safe.
 */
public final class OfflineTripletSelector implements Iterator<OfflineTripletSelector.Stage> {

    /**
     * Settings of the selection.
     *
     * @param candidatesPerStage random triplets drawn and measured per stage, >= 1
     * @param margin             margin of the triplet loss used to classify, finite and >= 0
     * @param keep               kinds of triplets kept for training, non-empty (e.g. {@code SEMI_HARD, HARD})
     * @param minNonEasyFraction stop after a stage whose non-easy fraction is below this, in [0, 1] (0: never)
     * @param maxStages          stop after this many stages, >= 1
     */
    public record Config(int candidatesPerStage, float margin, Set<TripletKind> keep, double minNonEasyFraction,
                         int maxStages) {
        public Config {
            if (candidatesPerStage < 1) {
                throw new IllegalArgumentException("OfflineTripletSelector.Config: candidatesPerStage must be >= 1,"
                        + " got " + candidatesPerStage);
            }
            MiningChecks.checkMargin("OfflineTripletSelector.Config", margin);
            if (keep == null || keep.isEmpty()) {
                throw new IllegalArgumentException("OfflineTripletSelector.Config: keep must name at least one"
                        + " TripletKind, got " + keep);
            }
            for (TripletKind kind : keep) {
                if (kind == null) {
                    throw new IllegalArgumentException("OfflineTripletSelector.Config: keep contains null");
                }
            }
            keep = Collections.unmodifiableSet(EnumSet.copyOf(keep));
            if (!(minNonEasyFraction >= 0.0 && minNonEasyFraction <= 1.0)) {
                throw new IllegalArgumentException("OfflineTripletSelector.Config: minNonEasyFraction must be in"
                        + " [0, 1], got " + minNonEasyFraction);
            }
            if (maxStages < 1) {
                throw new IllegalArgumentException("OfflineTripletSelector.Config: maxStages must be >= 1, got "
                        + maxStages);
            }
        }
    }

    /**
     * What one stage found.
     *
     * @param stage      1-based stage number
     * @param candidates number of candidates measured
     * @param stats      kinds of the candidates
     * @param kept       number of candidates kept (those of the chosen kinds)
     */
    public record StageReport(int stage, int candidates, TripletStats stats, int kept) {
        /** Fraction of the candidates that are hard or semi-hard. */
        public double nonEasyFraction() {
            return stats.nonEasyFraction();
        }

        /** For example {@code "stage 3: 41% non-easy, kept 820"}. */
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "stage %d: %.0f%% non-easy, kept %d", stage, 100 * nonEasyFraction(),
                    kept);
        }
    }

    /** One stage: its report and the kept triplets (indices into the labels), in the order they were drawn. */
    public record Stage(StageReport report, Triplets triplets) {
        public int number() {
            return report.stage();
        }
    }

    /** Why the selection stopped. */
    public enum StopReason {
        /** The last stage's non-easy fraction was below {@link Config#minNonEasyFraction()}. */
        BELOW_THRESHOLD,
        /** {@link Config#maxStages()} stages were run. */
        MAX_STAGES
    }

    private final TripletSampler sampler;
    private final DistanceFunction distances;
    private final Config config;
    private final Rng rng;
    private final List<Stage> stages = new ArrayList<>();
    private StopReason stopReason;

    /**
     * @param labels    identity of each example; triplet indices refer to positions in this array
     * @param distances measures pairs with the current model
     * @param config    settings
     * @param rng       source of the candidates (advanced by every stage)
     * @throws IllegalArgumentException if an argument is null or the labels admit no triplet
     */
    public OfflineTripletSelector(int[] labels, DistanceFunction distances, Config config, Rng rng) {
        this(rng == null ? null : new TripletSampler(labels, rng), distances, config, rng);
    }

    /** A selector over the images of {@code dataset}; triplet indices are image indices. */
    public OfflineTripletSelector(ImageDataset dataset, DistanceFunction distances, Config config, Rng rng) {
        this(rng == null ? null : new TripletSampler(dataset, rng), distances, config, rng);
    }

    private OfflineTripletSelector(TripletSampler sampler, DistanceFunction distances, Config config,
                                   Rng rng) {
        if (distances == null || config == null || rng == null) {
            throw new IllegalArgumentException("OfflineTripletSelector: distance function, config and rng must not"
                    + " be null");
        }
        this.sampler = sampler;
        this.distances = distances;
        this.config = config;
        this.rng = rng;
    }

    public Config config() {
        return config;
    }

    /** True until a stage triggered a stop. */
    public boolean hasNextStage() {
        return stopReason == null;
    }

    /**
     * Draws, measures and filters the next stage's candidates. Call it after training on the previous stage.
     *
     * @throws NoSuchElementException if the selection has stopped
     * @throws IllegalStateException if the distance function returns a wrong number of values or a NaN
     */
    public Stage nextStage() {
        if (stopReason != null) {
            StageReport last = stages.get(stages.size() - 1).report();
            throw new NoSuchElementException("OfflineTripletSelector: stopped (" + stopReason + ") after " + last
                    + "; no further stage");
        }
        int number = stages.size() + 1;
        TripletIndices drawn = sampler.sample(config.candidatesPerStage());
        Triplets candidates = new Triplets(drawn.anchor(), drawn.positive(), drawn.negative());
        int[] a = candidates.anchors();
        float[] dAP = measure(number, "anchor-positive", a, candidates.positives());
        float[] dAN = measure(number, "anchor-negative", a, candidates.negatives());

        TripletsBuilder kept = new TripletsBuilder(candidates.size());
        int[] counts = new int[TripletKind.values().length];
        for (int i = 0; i < candidates.size(); i++) {
            TripletKind kind = TripletKind.classifyUnchecked(dAP[i], dAN[i], config.margin());
            counts[kind.ordinal()]++;
            if (config.keep().contains(kind)) {
                kept.add(candidates.anchor(i), candidates.positive(i), candidates.negative(i));
            }
        }
        TripletStats stats = new TripletStats(counts[TripletKind.EASY.ordinal()],
                counts[TripletKind.SEMI_HARD.ordinal()], counts[TripletKind.HARD.ordinal()]);
        Stage stage = new Stage(new StageReport(number, candidates.size(), stats, kept.size()), kept.build());
        stages.add(stage);
        if (stats.nonEasyFraction() < config.minNonEasyFraction()) {
            stopReason = StopReason.BELOW_THRESHOLD;
        } else if (number >= config.maxStages()) {
            stopReason = StopReason.MAX_STAGES;
        }
        return stage;
    }

    private float[] measure(int stage, String what, int[] anchors, int[] others) {
        float[] d = distances.distances(anchors.clone(), others);
        if (d == null || d.length != anchors.length) {
            throw new IllegalStateException("OfflineTripletSelector stage " + stage + ": distance function returned "
                    + (d == null ? "null" : d.length + " values") + " for " + anchors.length + " " + what + " pairs");
        }
        for (int i = 0; i < d.length; i++) {
            if (Float.isNaN(d[i])) {
                throw new IllegalStateException("OfflineTripletSelector stage " + stage + ": distance function"
                        + " returned NaN for " + what + " pair (" + anchors[i] + ", " + others[i] + ")");
            }
        }
        return d;
    }

    /** Same as {@link #hasNextStage()}. */
    @Override
    public boolean hasNext() {
        return hasNextStage();
    }

    /** Same as {@link #nextStage()}. */
    @Override
    public Stage next() {
        return nextStage();
    }

    /**
     * Runs the remaining stages, calling {@code train} with each stage right after it is drawn (so the next stage
     * measures with the trained model), and returns the reports of all stages run so far.
     */
    public List<StageReport> runAll(Consumer<Stage> train) {
        if (train == null) {
            throw new IllegalArgumentException("OfflineTripletSelector.runAll: train must not be null");
        }
        while (hasNextStage()) {
            train.accept(nextStage());
        }
        return reports();
    }

    /** Why the selection stopped, or empty while more stages may be drawn. */
    public Optional<StopReason> stopReason() {
        return Optional.ofNullable(stopReason);
    }

    /** Number of stages drawn so far. */
    public int stagesRun() {
        return stages.size();
    }

    /** All stages drawn so far, in order. */
    public List<Stage> stages() {
        return List.copyOf(stages);
    }

    /** The report of every stage drawn so far, in order. */
    public List<StageReport> reports() {
        List<StageReport> out = new ArrayList<>(stages.size());
        for (Stage s : stages) {
            out.add(s.report());
        }
        return Collections.unmodifiableList(out);
    }

    /** The kept triplets of every stage drawn so far, one entry per stage. */
    public List<Triplets> keptPerStage() {
        List<Triplets> out = new ArrayList<>(stages.size());
        for (Stage s : stages) {
            out.add(s.triplets());
        }
        return Collections.unmodifiableList(out);
    }
}
