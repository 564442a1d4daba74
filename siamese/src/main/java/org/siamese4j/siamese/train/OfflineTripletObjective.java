package org.siamese4j.siamese.train;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.siamese4j.nn.Module;
import org.siamese4j.siamese.Embeddings;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.diagnostics.StepGuard;
import org.siamese4j.siamese.loss.LossResult;
import org.siamese4j.siamese.loss.TripletLoss;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.mining.DistanceFunction;
import org.siamese4j.siamese.mining.OfflineTripletSelector;
import org.siamese4j.siamese.mining.TripletKind;
import org.siamese4j.siamese.mining.TripletStats;
import org.siamese4j.siamese.mining.Triplets;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * Offline triplet mining in stages, one stage per epoch: before the epoch, {@link OfflineTripletSelector} draws
 * random triplets of the whole training set, measures them with the current tower and keeps the hard and
 * semi-hard ones; the epoch is {@code passes} passes over those (each in a fresh order), {@code tripletsPerStep} per
 * step. Every image a step's
 * triplets use is embedded once, so an image in several triplets gets all their gradients. After a stage with
 * fewer non-easy candidates than the threshold the objective has nothing left, and the run ends.
 *
 * <p>Checkpoints come between stages: the selector's and the order's Rngs and the stage count are saved, and a
 * resumed run mines its next stage with the restored tower, exactly as the uninterrupted run would.
 */
public final class OfflineTripletObjective implements Objective {
    /** The kinds of triplets kept: the easy ones have no loss and teach nothing. */
    public static final Set<TripletKind> KEEP = EnumSet.of(TripletKind.SEMI_HARD, TripletKind.HARD);

    private final ImageDataset train;
    private final TripletLoss loss;
    private final int candidates;
    private final double minNonEasy;
    private final int tripletsPerStep;
    private final int passes;
    private final Rng selectorRng;
    private final Rng orderRng;
    private final Consumer<OfflineTripletSelector.StageReport> onStage;
    private OfflineTripletSelector selector;
    private int stage;
    private boolean done;
    private Triplets kept = Triplets.empty();
    private int[] order = new int[0];
    private int cursor;
    private int[] rowAnchors;
    private int[] rowPositives;
    private int[] rowNegatives;

    /**
     * @param candidates random triplets measured per stage
     * @param minNonEasy stop after a stage with fewer non-easy candidates than this fraction
     * @param passes     passes over each stage's kept triplets
     * @param onStage    sees each stage's report (null for none)
     */
    public OfflineTripletObjective(ImageDataset train, TripletLoss loss, int candidates, double minNonEasy,
                                   int tripletsPerStep, int passes, Rng rng,
                                   Consumer<OfflineTripletSelector.StageReport> onStage) {
        if (tripletsPerStep < 1 || passes < 1) {
            throw new IllegalArgumentException("OfflineTripletObjective: tripletsPerStep and passes must be >= 1, got "
                    + tripletsPerStep + " and " + passes);
        }
        this.passes = passes;
        this.train = train;
        this.loss = loss;
        this.candidates = candidates;
        this.minNonEasy = minNonEasy;
        this.tripletsPerStep = tripletsPerStep;
        this.selectorRng = rng.split();
        this.orderRng = rng.split();
        this.onStage = onStage;
        // fails early, with the selector's message, on data that admits no triplet
        newSelector(null);
    }

    private void newSelector(Module tower) {
        OfflineTripletSelector.Config config = new OfflineTripletSelector.Config(candidates, loss.margin(), KEEP,
                minNonEasy, Integer.MAX_VALUE);
        selector = new OfflineTripletSelector(train, tower == null ? (a, b) -> new float[a.length]
                : new TowerDistances(tower, train, loss, stage + 1), config, selectorRng);
    }

    @Override
    public String name() {
        return "offline-triplet";
    }

    /**
     * Mines the next stage with {@code tower} as it is now; false once a stage fell below the threshold, or kept
     * no triplet at all.
     */
    @Override
    public boolean startEpoch(Module tower) {
        if (done) {
            return false;
        }
        newSelector(tower);                      // a fresh cache of embeddings for this tower's weights
        OfflineTripletSelector.Stage s = selector.nextStage();
        stage++;
        done = selector.stopReason().isPresent();
        OfflineTripletSelector.StageReport r = s.report();
        if (onStage != null) {
            onStage.accept(new OfflineTripletSelector.StageReport(stage, r.candidates(), r.stats(), r.kept()));
        }
        kept = s.triplets();
        order = new int[0];
        cursor = 0;
        if (kept.isEmpty()) {
            // nothing to train on, and the tower will not change to find more: even with no threshold, stop
            done = true;
            return false;
        }
        return true;
    }

    @Override
    public int stepsPerEpoch() {
        return passes * ((kept.size() + tripletsPerStep - 1) / tripletsPerStep);
    }

    /** The images of the next {@code tripletsPerStep} kept triplets, each image once; a new pass when used up. */
    @Override
    public Batch nextBatch() {
        if (kept.isEmpty()) {
            throw new IllegalStateException("OfflineTripletObjective: the stage kept no triplet");
        }
        if (cursor >= order.length) {
            order = orderRng.permutation(kept.size());
            cursor = 0;
        }
        int end = Math.min(order.length, cursor + tripletsPerStep);
        Map<Integer, Integer> rowOf = new LinkedHashMap<>();
        int count = end - cursor;
        rowAnchors = new int[count];
        rowPositives = new int[count];
        rowNegatives = new int[count];
        for (int i = 0; i < count; i++) {
            int t = order[cursor + i];
            rowAnchors[i] = rowOf.computeIfAbsent(kept.anchor(t), key -> rowOf.size());
            rowPositives[i] = rowOf.computeIfAbsent(kept.positive(t), key -> rowOf.size());
            rowNegatives[i] = rowOf.computeIfAbsent(kept.negative(t), key -> rowOf.size());
        }
        cursor = end;
        int[] images = rowOf.keySet().stream().mapToInt(Integer::intValue).toArray();
        return new Batch(images, train.labelsOf(images));
    }

    /** The triplet loss of the triplets of the batch {@link #nextBatch} drew last. */
    @Override
    public StepLoss loss(Tensor embeddings, Batch batch, StepGuard guard) {
        LossResult r = loss.compute(embeddings, rowAnchors, rowPositives, rowNegatives);
        int d = embeddings.dim(1);
        float[] e = embeddings.data();
        float[] dAP = new float[rowAnchors.length];
        float[] dAN = new float[rowAnchors.length];
        for (int i = 0; i < rowAnchors.length; i++) {
            dAP[i] = (float) loss.distance().between(row(e, rowAnchors[i], d), row(e, rowPositives[i], d));
            dAN[i] = (float) loss.distance().between(row(e, rowAnchors[i], d), row(e, rowNegatives[i], d));
        }
        return new StepLoss(r.loss(), r.value(), r.activeFraction(), TripletStats.of(dAP, dAN, loss.margin()));
    }

    private static float[] row(float[] e, int i, int d) {
        return Arrays.copyOfRange(e, i * d, (i + 1) * d);
    }

    @Override
    public Scoring scoring() {
        return new Scoring(loss.distance()::between, ScoreDirection.LOWER_IS_SAME, loss.distance().name());
    }

    /** {@code stage=N done=true|false}: checkpoints come between stages, so nothing else is in flight. */
    @Override
    public String exportState() {
        return "stage=" + stage + " done=" + done;
    }

    @Override
    public void restoreState(String state) {
        String[] f = state.split(" ", -1);
        if (f.length != 2 || !f[0].startsWith("stage=") || !(f[1].equals("done=true") || f[1].equals("done=false"))) {
            throw new IllegalArgumentException("expected 'stage=N done=true|false', got '" + state + "'");
        }
        int n;
        try {
            n = Integer.parseInt(f[0].substring("stage=".length()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("stage is not an integer in '" + state + "'");
        }
        if (n < 0) {
            throw new IllegalArgumentException("stage must be >= 0, got " + n);
        }
        stage = n;
        done = f[1].equals("done=true");
        kept = Triplets.empty();
        order = new int[0];
        cursor = 0;
    }

    @Override
    public Map<String, Rng> rngs() {
        Map<String, Rng> rngs = new LinkedHashMap<>();
        rngs.put("selector", selectorRng);
        rngs.put("order", orderRng);
        return rngs;
    }

    /**
     * The selector's view of the model: distances between training images under the tower, embedded once each in
     * eval mode without a graph (the tower does not change while a stage is mined).
     */
    private static final class TowerDistances implements DistanceFunction {
        private final Module tower;
        private final ImageDataset data;
        private final TripletLoss loss;
        private final int epoch;
        private float[][] embeddings;

        /** {@code epoch}: the epoch (from 1) this stage is mined for, to locate a failure. */
        TowerDistances(Module tower, ImageDataset data, TripletLoss loss, int epoch) {
            this.tower = tower;
            this.data = data;
            this.loss = loss;
            this.epoch = epoch;
        }

        @Override
        public float[] distances(int[] anchors, int[] others) {
            if (embeddings == null) {
                embeddings = Embeddings.of(tower, data, Trainer.EMBED_BATCH);
                checkFinite();
            }
            float[] d = new float[anchors.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = (float) loss.distance().between(embeddings[anchors[i]], embeddings[others[i]]);
            }
            return d;
        }

        /**
         * Mining reads these embeddings before any step of the epoch runs, so a NaN pixel or an overflowing tower
         * shows here first: the guard of the epoch's first step judges them, as it would that step's batch, and
         * throws the {@link org.siamese4j.siamese.diagnostics.NonFiniteTrainingException} naming the images or
         * the layer (rows are training-set indices), instead of the selector failing on a NaN distance.
         */
        private void checkFinite() {
            int d = embeddings.length == 0 ? 0 : embeddings[0].length;
            float[] all = new float[embeddings.length * d];
            for (int i = 0; i < embeddings.length; i++) {
                System.arraycopy(embeddings[i], 0, all, i * d, d);
            }
            for (float v : all) {
                if (!Float.isFinite(v)) {
                    StepGuard.begin(tower, epoch, 1, 1).checkOutput(data.images(), Tensor.of(all,
                            embeddings.length, d));
                    return;
                }
            }
        }
    }
}
