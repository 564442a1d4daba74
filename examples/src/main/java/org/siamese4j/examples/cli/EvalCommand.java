package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleBiFunction;
import org.siamese4j.kernels.Parallel;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.LabelledImages;
import org.siamese4j.siamese.data.Splits;
import org.siamese4j.siamese.head.HeadSiameseNetwork;
import org.siamese4j.siamese.metrics.Identification;
import org.siamese4j.siamese.metrics.ScoreDirection;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.siamese.metrics.Thresholds;
import org.siamese4j.siamese.metrics.VerificationReport;
import org.siamese4j.siamese.verify.Preprocessing;
import org.siamese4j.siamese.verify.Threshold;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;

/**
 * {@code siamese4j eval}: embeds a labelled face set with a saved model and reports the verification metrics
 * (AUC, EER, 10-fold accuracy and threshold, TAR at FAR) over all pairs, N-way one-shot accuracy and rank-1
 * identification, plus the accuracy of the threshold stored in the model. With {@code --json} stdout holds one
 * JSON object and nothing else.
 *
 * <p>The pairs are every pair of images while there are at most {@code --max-pairs} of them, a seeded sample of
 * that many beyond (see {@link PairPlan}): all pairs of n images take n(n-1)/2 scores and about
 * {@value #BYTES_PER_PAIR} bytes each while the report is computed, so 16,000 images would need 13 GB.
 * Everything that can be known before embedding (too few images, no same-person pair, not enough memory) is
 * checked before embedding, the slow part.
 *
 * <p>Memory: the images are listed, not loaded, and read (or drawn) {@value #EMBEDDING_BATCH} at a time while they
 * are embedded; only the embeddings stay (100,000 images of 56x46: 1 GB of pixels, but 27 MB of 64-d
 * embeddings). Rank-1 compares every image with every other, n^2 distances, in blocks across the threads keeping
 * each image's nearest only ({@link Identification#rank1LeaveOneOut(float[][], int[], Distance)}).
 *
 * <p>A model file with a learned similarity head ({@code train --loss bce-head}) is scored by the head: every pair's
 * score is P(same), higher meaning more alike, so the ROC, AUC, EER, the 10-fold threshold (in P(same)) and the
 * stored threshold work on it, and one-shot and rank-1 take the candidate with the highest P(same).
 */
final class EvalCommand implements Siamese4j.Command {
    /** Pairs scored when --max-pairs is not given: about 100 MB, and all pairs of up to 1,414 images. */
    static final int DEFAULT_MAX_PAIRS = 1_000_000;
    /**
     * Heap per scored pair while the report is computed: the pair arrays (17 bytes), their copies, and the sorted
     * ranks and curve of the ROC; about 90 bytes were measured, rounded up.
     */
    static final long BYTES_PER_PAIR = 100;
    /**
     * Images read and embedded at a time (by embed too): one batch of pixels is in memory, never the whole set
     * (100,000 images of 56x46 would be 1 GB of floats).
     */
    static final int EMBEDDING_BATCH = 64;
    /** Embedding runs started, so a test can see that a refused request never started one. */
    static final AtomicInteger EMBEDDING_RUNS = new AtomicInteger();

    /** {@link #EMBEDDING_BATCH}, fewer for an input so large that 64 images would not fit in one array. */
    static int embeddingBatch(int[] input) {
        long values = 1;
        for (int d : input) {
            values *= d;
        }
        return (int) Math.max(1, Math.min(EMBEDDING_BATCH, (Integer.MAX_VALUE - 8) / values));
    }

    @Override
    public String summary() {
        return "evaluate a model on labelled faces: AUC, EER, accuracy, TAR@FAR, one-shot, rank-1";
    }

    @Override
    public Options options() {
        return VerifierCli.withPreprocessingOptions(new Options("eval"))
                .option("model", VerifierCli.MODEL_HELP)
                .option("data", "a folder with one subfolder per person, or synthetic[:PEOPLExIMAGES] for held-out "
                        + "synthetic people never used in training (default synthetic = 40x6)")
                .option("ways", "N of the N-way one-shot test (default 5)")
                .option("trials", "one-shot trials (default 1000)")
                .option("seed", "seed of the one-shot draws and of the pair sample (default 1)")
                .option("max-pairs", "score every pair of images up to this many pairs, a seeded sample of this "
                        + "many beyond, keeping every same-person pair while they fill at most half of it (default "
                        + DEFAULT_MAX_PAIRS + ", about " + DEFAULT_MAX_PAIRS * BYTES_PER_PAIR / 1_000_000 + " MB)")
                .option("threads", "worker threads for the kernels (default: all processors)")
                .flag("exclude-training", "leave out the people the model was trained or validated on (the model "
                        + "file names them), so the figures are on unseen people only")
                .flag("json", "print one JSON object on stdout and nothing else");
    }

    @Override
    public int run(Options o, PrintStream out) throws Exception {
        return run(o, out, System.err);
    }

    @Override
    public int run(Options o, PrintStream out, PrintStream err) throws Exception {
        o.requireNoPositional();
        String modelPath = o.string("model", null);
        if (modelPath == null) {
            throw new Options.UsageException("--model MODEL is required");
        }
        int ways = o.integer("ways", 5, 2, 10_000);
        int trials = o.integer("trials", 1000, 1, 10_000_000);
        long seed = o.longValue("seed", 1);
        int maxPairs = o.integer("max-pairs", DEFAULT_MAX_PAIRS, 2, 1_000_000_000);
        Parallel.setThreads(o.integer("threads", Runtime.getRuntime().availableProcessors(), 1, 1024));
        CliData.DataSpec spec = CliData.parseData(o.string("data", "synthetic"), 40, 6);
        boolean json = o.flag("json");

        // the distance, threshold and preprocessing read and checked as verify reads them: one parser for all
        Verifier verifier = VerifierCli.load(o, modelPath);
        Preprocessing preprocessing = VerifierCli.preprocessing(verifier);
        // a head model is scored by its head's P(same); a plain model by its distance
        boolean head = verifier.hasHead();
        ToDoubleBiFunction<float[], float[]> score;
        ScoreDirection direction;
        String scoreName;
        Distance distance = verifier.distanceKind();       // null for a head model
        if (head) {
            // only a siamese4j model file has a head
            HeadSiameseNetwork network = HeadSiameseNetwork.of(CliData.loadModel(modelPath), modelPath);
            score = network::score;
            direction = ScoreDirection.HIGHER_IS_SAME;
            scoreName = "head";
        } else {
            score = distance::between;
            direction = ScoreDirection.LOWER_IS_SAME;
            scoreName = distance.name().toLowerCase(Locale.ROOT);
        }
        // listed, not read: the images are read (or drawn) a batch at a time while they are embedded
        int[] input = verifier.inputShape();
        LabelledImages data = CliData.open(spec, CliData.HELD_OUT_FIRST, input, preprocessing);
        Set<String> seen = CliData.seenPeople(verifier.metadata());
        List<String> overlap = data.identityNames().stream().filter(seen::contains).toList();
        if (!overlap.isEmpty() && o.flag("exclude-training")) {
            int unseenCount = data.identityCount() - overlap.size();
            if (unseenCount < 2) {
                throw new Options.UsageException(spec + ": only " + unseenCount + " of its people were not used to "
                        + "train or validate the model; the evaluation needs at least 2");
            }
            data = Splits.withoutIdentities(data, new HashSet<>(overlap));
        } else if (!overlap.isEmpty()) {
            err.printf(Locale.ROOT, "warning: %d of the %d people in %s were used to train or validate this "
                            + "model (%s): the figures below are not on unseen people; --exclude-training leaves "
                            + "them out%n", overlap.size(), data.identityCount(), spec,
                    String.join(",", overlap.subList(0, Math.min(8, overlap.size()))) + (overlap.size() > 8 ? ",..."
                            : ""));
        }
        boolean unseen = overlap.isEmpty() || o.flag("exclude-training");
        if (data.identityCount() < ways) {
            throw new Options.UsageException("--ways " + ways + " needs at least " + ways + " people, the data has "
                    + data.identityCount());
        }
        int[] labels = data.labels();
        PairPlan plan = PairPlan.of(labels, maxPairs);
        plan.check(spec.toString(), verifier.embeddingSize());
        EMBEDDING_RUNS.incrementAndGet();
        // batches as large as the array size and the activation cap (a quarter of the heap) allow, 64 at most
        LabelledImages embedded = data;
        float[][] embeddings = verifier.embedBatches(data.size(), verifier.samplesPerPass(embeddingBatch(input)),
                (from, to) -> embedded.batch(LabelledImages.indices(from, to)));
        // each pair scored once, for the report and for the stored threshold (the same numbers as
        // VerificationReport.evaluate, which would score them again)
        ScoredPairs pairs = plan.sampled()
                ? ScoredPairs.sampled(embeddings, labels, plan.samePairs(), plan.differentPairs(),
                new Rng(seed), score, direction)
                : ScoredPairs.all(embeddings, labels, score, direction);
        double oneShot = Identification.nWayOneShot(embeddings, labels, ways, trials, new Rng(seed), score,
                direction);
        // a distance's rank-1 in blocks across the threads (the same figure; n^2 distances take minutes one pair
        // at a time for 100,000 images); a head scores one pair at a time
        double rank1 = head ? Identification.rank1LeaveOneOut(embeddings, labels, score, direction)
                : Identification.rank1LeaveOneOut(embeddings, labels, distance);
        VerificationReport report = VerificationReport.ofPairs(pairs, oneShot, rank1);
        double modelThreshold = verifier.threshold().map(Threshold::value).orElse(Double.NaN);
        double modelAccuracy = Double.NaN;
        if (Double.isFinite(modelThreshold)) {
            modelAccuracy = TrainCommand.balancedAccuracy(pairs, modelThreshold);
        }
        if (json) {
            String base = report.toJson();
            out.println(base.substring(0, base.length() - 1)
                    + ",\"ways\":" + ways
                    + ",\"identities\":" + data.identityCount()
                    + ",\"unseen_people_only\":" + unseen
                    + ",\"seen_people\":" + (o.flag("exclude-training") ? 0 : overlap.size())
                    + ",\"images\":" + data.size()
                    + ",\"all_pairs\":" + plan.total()
                    + ",\"pairs_sampled\":" + plan.sampled()
                    + ",\"score\":" + CliData.quote(scoreName)
                    + ",\"direction\":" + CliData.quote(direction.name().toLowerCase(Locale.ROOT))
                    + ",\"model_threshold\":" + CliData.number(modelThreshold)
                    + ",\"model_threshold_accuracy\":" + CliData.number(modelAccuracy)
                    + ",\"data\":" + CliData.quote(spec.toString())
                    + ",\"model\":" + CliData.quote(modelPath) + "}");
        } else {
            out.printf(Locale.ROOT, "model %s on %s (%s), scored by %s%n", modelPath, spec,
                    LabelledImages.describe(data),
                    head ? "its similarity head, P(same) (higher is more alike)" : "the " + scoreName + " distance");
            TrainCommand.printReport(out, report, ways, data, head ? "P(same)" : "distance",
                    unseen ? "unseen" : "people (some seen in training)");
            if (plan.sampled()) {
                out.printf(Locale.ROOT, "  pairs: a sample of %d of the %d (%d of the %d same-person pairs, %d "
                                + "different; --max-pairs %d, --seed %d)%n", pairs.size(), plan.total(),
                        plan.samePairs(), plan.allSame(), plan.differentPairs(), maxPairs, seed);
            }
            if (Double.isFinite(modelThreshold)) {
                out.printf(Locale.ROOT, "  the model's stored threshold %.4f: balanced accuracy %.2f%%%n",
                        modelThreshold, 100 * modelAccuracy);
            }
        }
        return 0;
    }

    /**
     * Which pairs eval scores, worked out from the labels alone so that an impossible request is refused before
     * embedding. Every pair when there are at most {@code maxPairs}; beyond, a sample of exactly {@code maxPairs}
     * stratified by kind: same-person pairs are few (each person's images among themselves) and every one is kept
     * while they fill at most half the budget, otherwise half of it; the rest goes to different-person pairs. AUC,
     * EER and TAR are rates within each kind, so sampling the kinds at different rates does not bias them; the
     * 10-fold accuracy already uses a balanced subset.
     *
     * @param images  the images to embed
     * @param total   all pairs of them
     * @param allSame all same-person pairs
     */
    record PairPlan(int images, long total, long allSame, boolean sampled, int samePairs, int differentPairs) {
        static PairPlan of(int[] labels, int maxPairs) {
            Map<Integer, Long> perPerson = new TreeMap<>();
            for (int label : labels) {
                perPerson.merge(label, 1L, Long::sum);
            }
            long n = labels.length;
            long total = n * (n - 1) / 2;
            long same = 0;
            for (long k : perPerson.values()) {
                same += k * (k - 1) / 2;
            }
            if (total <= maxPairs) {
                return new PairPlan(labels.length, total, same, false, (int) same, (int) (total - same));
            }
            long different = total - same;
            // every same pair while they fit in half; more than half only when there are too few different ones
            long samePick = Math.min(same, Math.max(maxPairs / 2, maxPairs - different));
            long differentPick = Math.min(different, maxPairs - samePick);
            return new PairPlan(labels.length, total, same, true, (int) samePick, (int) differentPick);
        }

        /** Refuses, in the CLI's words, what cannot work, before anything is embedded. */
        void check(String data, int embeddingSize) {
            if (allSame == 0) {
                throw new Options.UsageException(data + ": no person has two images, so there is no same-person "
                        + "pair to score; eval needs people with at least two images each");
            }
            if (allSame == total) {
                throw new Options.UsageException(data + ": all images show one person, so there is no "
                        + "different-person pair to score; eval needs at least two people");
            }
            // drawing a sample lists every same-person pair first (8 bytes each, in one Java array)
            if (sampled && allSame > Integer.MAX_VALUE - 8) {
                throw new Options.UsageException(data + " has " + allSame + " same-person pairs, too many to draw "
                        + "a sample from; use fewer images per person");
            }
            long pairs = (long) samePairs + differentPairs;
            long needed = pairs * BYTES_PER_PAIR + (long) images * (embeddingSize * 4L + 16);
            Runtime rt = Runtime.getRuntime();
            long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
            if (needed > available) {
                throw new Options.UsageException(String.format(Locale.ROOT, "scoring %d pairs of %s needs about "
                                + "%d MiB, but Java has %d MiB free (of %d MiB); lower --max-pairs, or give Java "
                                + "more, e.g. SIAMESE4J_JAVA_OPTS=-Xmx8g ./siamese4j ...", pairs, data,
                        needed >> 20, available >> 20, rt.maxMemory() >> 20));
            }
        }
    }
}
