package org.siamese4j.siamese.mining;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.siamese4j.siamese.mining.TripletKind.EASY;
import static org.siamese4j.siamese.mining.TripletKind.HARD;
import static org.siamese4j.siamese.mining.TripletKind.SEMI_HARD;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.mining.OfflineTripletSelector.Config;
import org.siamese4j.siamese.mining.OfflineTripletSelector.Stage;
import org.siamese4j.siamese.mining.OfflineTripletSelector.StageReport;
import org.siamese4j.siamese.mining.OfflineTripletSelector.StopReason;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class OfflineTripletSelectorTest {

    private static final float MARGIN = 0.5f;

    /** 20 identities x 5 images, label = image / 5. */
    private static int[] labels() {
        int[] labels = new int[100];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i / 5;
        }
        return labels;
    }

    /**
     * A stand-in for a model that "trains": d(a,p) = 1 and d(a,n) = 2 u(a,n) + shift, u a fixed pseudo-random
     * uniform [0,1) per pair. With margin 0.5 a candidate is hard when 2u + shift < 1 and non-easy when
     * 2u + shift < 1.5, so the expected non-easy fraction is (1.5 - shift) / 2: 75%, 50%, 25%, 0% for shift 0, 0.5,
     * 1, 1.5. Each call of {@link #train()} adds 0.5.
     */
    private static final class ImprovingModel implements DistanceFunction {
        final int[] labels;
        float shift;
        int calls;

        ImprovingModel(int[] labels) {
            this.labels = labels;
        }

        void train() {
            shift += 0.5f;
        }

        float distance(int a, int b) {
            if (labels[a] == labels[b]) {
                return 1f;
            }
            return 2f * new Rng(a * 1_000_003L + b).nextFloat() + shift;
        }

        @Override
        public float[] distances(int[] anchors, int[] others) {
            calls++;
            float[] d = new float[anchors.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = distance(anchors[i], others[i]);
            }
            return d;
        }
    }

    private static Config config(Set<TripletKind> keep, double threshold, int maxStages) {
        return new Config(2000, MARGIN, keep, threshold, maxStages);
    }

    @Test
    void stagesStopOnceTheNonEasyFractionDropsBelowTheThreshold() {
        int[] labels = labels();
        ImprovingModel model = new ImprovingModel(labels);
        OfflineTripletSelector selector = new OfflineTripletSelector(labels, model,
                config(EnumSet.of(SEMI_HARD, HARD), 0.35, 10), new Rng(7));
        List<StageReport> reports = selector.runAll(stage -> model.train());

        assertThat(reports).hasSize(3);
        assertThat(reports).extracting(StageReport::stage).containsExactly(1, 2, 3);
        assertThat(reports.get(0).nonEasyFraction()).isCloseTo(0.75, within(0.04));
        assertThat(reports.get(1).nonEasyFraction()).isCloseTo(0.50, within(0.04));
        assertThat(reports.get(2).nonEasyFraction()).isCloseTo(0.25, within(0.04));
        for (StageReport r : reports) {
            assertThat(r.candidates()).isEqualTo(2000);
            assertThat(r.stats().total()).isEqualTo(2000);
            assertThat(r.kept()).isEqualTo(r.stats().nonEasy());
        }
        assertThat(selector.stopReason()).contains(StopReason.BELOW_THRESHOLD);
        assertThat(selector.hasNextStage()).isFalse();
        assertThat(selector.hasNext()).isFalse();
        assertThat(selector.stagesRun()).isEqualTo(3);
        assertThat(model.calls).as("two measurements per stage").isEqualTo(6);
        assertThat(selector.keptPerStage()).extracting(Triplets::size)
                .containsExactly(reports.get(0).kept(), reports.get(1).kept(), reports.get(2).kept());
        assertThatThrownBy(selector::nextStage).isInstanceOf(NoSuchElementException.class)
                .hasMessageContaining("BELOW_THRESHOLD").hasMessageContaining("stage 3");
    }

    @Test
    void reportReadsLikeALogLine() {
        StageReport r = new StageReport(3, 2000, new TripletStats(1180, 420, 400), 820);
        assertThat(r.toString()).isEqualTo("stage 3: 41% non-easy, kept 820");
    }

    @Test
    void withoutTrainingItStopsAfterMaxStages() {
        int[] labels = labels();
        ImprovingModel model = new ImprovingModel(labels);
        OfflineTripletSelector selector = new OfflineTripletSelector(labels, model,
                config(EnumSet.of(SEMI_HARD, HARD), 0.35, 4), new Rng(7));
        int stages = 0;
        while (selector.hasNext()) {
            Stage stage = selector.next();
            stages++;
            assertThat(stage.number()).isEqualTo(stages);
            assertThat(selector.stopReason()).isEqualTo(stages < 4 ? java.util.Optional.empty()
                    : java.util.Optional.of(StopReason.MAX_STAGES));
        }
        assertThat(stages).isEqualTo(4);
        assertThat(selector.reports()).allSatisfy(r -> assertThat(r.nonEasyFraction()).isGreaterThan(0.7));
    }

    @Test
    void keptTripletsAreOfTheChosenKindsOnly() {
        int[] labels = labels();
        for (Set<TripletKind> keep : List.of(EnumSet.of(SEMI_HARD), EnumSet.of(HARD), EnumSet.of(EASY, HARD),
                EnumSet.allOf(TripletKind.class))) {
            ImprovingModel model = new ImprovingModel(labels);
            OfflineTripletSelector selector = new OfflineTripletSelector(labels, model, config(keep, 0.35, 10),
                    new Rng(3));
            while (selector.hasNextStage()) {
                Stage stage = selector.nextStage();
                Triplets kept = stage.triplets();
                kept.requireValidFor(labels);
                int expectedKept = 0;
                for (TripletKind kind : keep) {
                    expectedKept += stage.report().stats().count(kind);
                }
                assertThat(kept.size()).as(keep + " " + stage.report()).isEqualTo(expectedKept);
                for (int i = 0; i < kept.size(); i++) {
                    TripletKind kind = TripletKind.classify(model.distance(kept.anchor(i), kept.positive(i)),
                            model.distance(kept.anchor(i), kept.negative(i)), MARGIN);
                    assertThat(keep).contains(kind);
                }
                model.train();
            }
            assertThat(selector.stagesRun()).isEqualTo(3);
        }
    }

    @Test
    void sameSeedSameTriplets() {
        int[] labels = labels();
        List<List<Stage>> runs = new ArrayList<>();
        for (long seed : new long[] {42, 42, 43}) {
            ImprovingModel model = new ImprovingModel(labels);
            OfflineTripletSelector selector = new OfflineTripletSelector(labels, model,
                    config(EnumSet.of(SEMI_HARD, HARD), 0.35, 10), new Rng(seed));
            selector.runAll(stage -> model.train());
            runs.add(selector.stages());
        }
        assertThat(runs.get(1)).isEqualTo(runs.get(0));
        assertThat(runs.get(2).get(0).triplets()).isNotEqualTo(runs.get(0).get(0).triplets());
    }

    @Test
    void candidatesDependOnTheSeedOnlyNotOnTheDistances() {
        int[] labels = labels();
        ImprovingModel good = new ImprovingModel(labels);
        good.shift = 1f;
        Config keepAll = config(EnumSet.allOf(TripletKind.class), 0.0, 1);
        Stage a = new OfflineTripletSelector(labels, new ImprovingModel(labels), keepAll, new Rng(5)).nextStage();
        Stage b = new OfflineTripletSelector(labels, good, keepAll, new Rng(5)).nextStage();
        assertThat(a.triplets()).isEqualTo(b.triplets());
        assertThat(a.triplets().size()).isEqualTo(2000);
        assertThat(a.report().stats()).isNotEqualTo(b.report().stats());
    }

    @Test
    void worksOnAnImageDataset() {
        int[] labels = {0, 0, 1, 1, 1, 2};
        ImageDataset dataset = new ImageDataset(Tensor.zeros(6, 1, 2, 2), labels, List.of("a", "b", "c"));
        Config keepAll = new Config(50, 0.2f, EnumSet.allOf(TripletKind.class), 0.0, 2);
        OfflineTripletSelector selector = new OfflineTripletSelector(dataset, (x, y) -> new float[x.length],
                keepAll, new Rng(1));
        List<StageReport> reports = selector.runAll(stage -> stage.triplets().requireValidFor(labels));
        assertThat(reports).hasSize(2);
        // All distances 0: every triplet is a tie d(a,n) = d(a,p), semi-hard with a positive margin.
        assertThat(reports).allSatisfy(r -> assertThat(r.stats().semiHard()).isEqualTo(50));
        assertThat(selector.stopReason()).contains(StopReason.MAX_STAGES);
    }

    @Test
    void rejectsAMisbehavingDistanceFunction() {
        int[] labels = labels();
        Config c = config(EnumSet.of(HARD), 0.1, 3);
        assertThatThrownBy(() -> new OfflineTripletSelector(labels, (x, y) -> new float[x.length - 1], c,
                new Rng(1)).nextStage())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("stage 1")
                .hasMessageContaining("1999 values").hasMessageContaining("2000");
        assertThatThrownBy(() -> new OfflineTripletSelector(labels, (x, y) -> null, c, new Rng(1)).nextStage())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("null");
        assertThatThrownBy(() -> new OfflineTripletSelector(labels, (x, y) -> {
            float[] d = new float[x.length];
            d[7] = Float.NaN;
            return d;
        }, c, new Rng(1)).nextStage())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("NaN");
    }

    @Test
    void validatesConfigAndArguments() {
        Set<TripletKind> hard = EnumSet.of(HARD);
        assertThatThrownBy(() -> new Config(0, 0.2f, hard, 0.5, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("candidatesPerStage")
                .hasMessageContaining("0");
        assertThatThrownBy(() -> new Config(10, -0.2f, hard, 0.5, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("margin")
                .hasMessageContaining("-0.2");
        assertThatThrownBy(() -> new Config(10, 0.2f, EnumSet.noneOf(TripletKind.class), 0.5, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keep");
        assertThatThrownBy(() -> new Config(10, 0.2f, null, 0.5, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("keep");
        assertThatThrownBy(() -> new Config(10, 0.2f, hard, 1.5, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("minNonEasyFraction")
                .hasMessageContaining("1.5");
        assertThatThrownBy(() -> new Config(10, 0.2f, hard, Double.NaN, 3))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("minNonEasyFraction");
        assertThatThrownBy(() -> new Config(10, 0.2f, hard, 0.5, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxStages");

        Config c = new Config(10, 0.2f, hard, 0.5, 3);
        DistanceFunction zero = (x, y) -> new float[x.length];
        assertThatThrownBy(() -> new OfflineTripletSelector(new int[] {0, 0, 0}, zero, c, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least 2 identities");
        assertThatThrownBy(() -> new OfflineTripletSelector(new int[] {0, 1, 2}, zero, c, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 1");
        assertThatThrownBy(() -> new OfflineTripletSelector(labels(), null, c, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
        assertThatThrownBy(() -> new OfflineTripletSelector(labels(), zero, c, null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
        assertThatThrownBy(() -> new OfflineTripletSelector(labels(), zero, c, new Rng(1)).runAll(null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("train");
    }

    @Test
    void configKeepsAnUnmodifiableCopyOfTheKinds() {
        Set<TripletKind> keep = EnumSet.of(HARD);
        Config c = new Config(10, 0.2f, keep, 0.5, 3);
        keep.add(EASY);
        assertThat(c.keep()).containsExactly(HARD);
        assertThatThrownBy(() -> c.keep().add(EASY)).isInstanceOf(UnsupportedOperationException.class);
    }
}
