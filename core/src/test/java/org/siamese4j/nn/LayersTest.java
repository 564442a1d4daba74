package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.data.Offset.offset;

import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.GradCheck;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** Each layer's forward against hand-computed values, its shape checks, and its modes. */
class LayersTest {

    private static void assertGradients(GradCheck.Result r) {
        assertThat(r.passed()).as(r.toString()).isTrue();
    }

    // ---------------------------------------------------------------------------------------------- Linear

    @Test
    void linearComputesXWTransposedPlusBias() {
        Linear lin = new Linear(3, 2, new Rng(1));
        lin.weight().copyFrom(Tensor.of(new float[][] {{1, 2, 3}, {-1, 0, 1}}));
        lin.bias().copyFrom(Tensor.of(0.5f, -0.5f));
        Tensor y = lin.forward(Tensor.of(new float[][] {{1, 1, 1}, {2, 0, -1}}));
        assertThat(y.shape()).containsExactly(2, 2);
        assertThat(y.toArray()).containsExactly(6.5f, -0.5f, -0.5f, -3.5f);
    }

    @Test
    void linearWithoutBiasHasOnlyWeight() {
        Linear lin = new Linear(3, 2, false, new Rng(1));
        assertThat(lin.bias()).isNull();
        assertThat(lin.stateDict().keySet()).containsExactly("weight");
        lin.weight().fill(1f);
        assertThat(lin.forward(Tensor.ones(1, 3)).toArray()).containsExactly(3f, 3f);
    }

    @Test
    void linearRejectsWrongInputWidth() {
        Linear lin = new Linear(3, 2, new Rng(1));
        assertThatThrownBy(() -> lin.forward(Tensor.zeros(4, 5))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Linear(in_features=3, out_features=2, bias=True)")
                .hasMessageContaining("[4, 5]");
        assertThatThrownBy(() -> new Linear(0, 2, new Rng(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("in_features").hasMessageContaining("0");
    }

    @Test
    void mlpGradientsMatchFiniteDifferences() {
        Rng rng = new Rng(2);
        Linear l1 = new Linear(3, 5, rng);
        Linear l2 = new Linear(5, 2, rng);
        Sequential mlp = new Sequential(l1, new Tanh(), l2);
        Tensor x = Tensor.uniform(new Rng(3), -1f, 1f, 7, 3).requiresGrad(true);
        assertGradients(GradCheck.check(in -> mlp.forward(in[0]), x, l1.weight(), l1.bias(), l2.weight(), l2.bias()));
    }

    // ---------------------------------------------------------------------------------------------- Conv2d

    @Test
    void conv2dForwardByHand() {
        Conv2d conv = new Conv2d(1, 1, 2, new Rng(1));
        conv.weight().copyFrom(Tensor.of(1f, 2f, 3f, 4f));
        conv.bias().fill(0.5f);
        Tensor x = Tensor.arange(9).reshape(1, 1, 3, 3);
        Tensor y = conv.forward(x);
        assertThat(y.shape()).containsExactly(1, 1, 2, 2);
        // top-left: 0*1 + 1*2 + 3*3 + 4*4 + 0.5
        assertThat(y.toArray()).containsExactly(27.5f, 37.5f, 57.5f, 67.5f);
    }

    @Test
    void conv2dOutputShapeFollowsStridePaddingDilation() {
        Rng rng = new Rng(1);
        Tensor x = Tensor.randn(new Rng(2), 2, 3, 9, 7);
        assertThat(new Conv2d(3, 4, 3, 2, 1, rng).forward(x).shape()).containsExactly(2, 4, 5, 4);
        // dilation 2: span 5, so (9 - 5) + 1 = 5 and (7 - 5) + 1 = 3
        assertThat(new Conv2d(3, 4, 3, 1, 0, 2, PaddingMode.ZEROS, false, rng).forward(x).shape())
                .containsExactly(2, 4, 5, 3);
        assertThat(new Conv2d(3, 2, 3, 1, 1, 1, PaddingMode.REFLECT, true, rng).forward(x).shape())
                .containsExactly(2, 2, 9, 7);
    }

    @Test
    void conv2dGradientsMatchFiniteDifferences() {
        Conv2d conv = new Conv2d(2, 3, 3, 2, 1, new Rng(4));
        Tensor x = Tensor.uniform(new Rng(5), -1f, 1f, 2, 2, 5, 5).requiresGrad(true);
        assertGradients(GradCheck.check(in -> conv.forward(in[0]), x, conv.weight(), conv.bias()));
    }

    @Test
    void conv2dRejectsWrongChannelsAndRank() {
        Conv2d conv = new Conv2d(3, 4, 3, new Rng(1));
        assertThatThrownBy(() -> conv.forward(Tensor.zeros(1, 2, 5, 5))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("Conv2d(3, 4").hasMessageContaining("[1, 2, 5, 5]");
        assertThatThrownBy(() -> conv.forward(Tensor.zeros(3, 5, 5))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("[3, 5, 5]");
        assertThatThrownBy(() -> new Conv2d(3, 4, 3, 0, 0, new Rng(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("stride").hasMessageContaining("0");
        assertThatThrownBy(() -> new Conv2d(3, 4, 3, 1, -1, new Rng(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("padding").hasMessageContaining("-1");
    }

    @Test
    void groupedConv2dHasPyTorchsWeightShapeInitAndRepr() {
        Conv2d depthwise = new Conv2d(8, 16, 3, 2, 1, 1, 8, PaddingMode.ZEROS, false, new Rng(1));
        assertThat(depthwise.weight().shape()).containsExactly(16, 1, 3, 3);
        assertThat(depthwise.groups()).isEqualTo(8);
        assertThat(depthwise.toString())
                .isEqualTo("Conv2d(8, 16, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=8, bias=False)");
        assertThat(depthwise.forward(Tensor.zeros(2, 8, 9, 9)).shape()).containsExactly(2, 16, 5, 5);
        // U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with fanIn = in/groups * k * k = 9, not in * k * k = 72
        Conv2d grouped = new Conv2d(12, 24, 3, 1, 1, 1, 4, PaddingMode.ZEROS, true, new Rng(2));
        assertThat(grouped.weight().shape()).containsExactly(24, 3, 3, 3);
        double bound = 1 / Math.sqrt(27);
        float largest = 0;
        for (float w : grouped.weight().toArray()) {
            largest = Math.max(largest, Math.abs(w));
        }
        assertThat((double) largest).isLessThanOrEqualTo(bound).isGreaterThan(0.9 * bound);
        for (float b : grouped.bias().toArray()) {
            assertThat(Math.abs(b)).isLessThanOrEqualTo((float) bound);
        }
    }

    @Test
    void groupedConv2dComputesEachGroupFromItsOwnChannels() {
        // 2 groups of 1x1 filters: output channel 0 reads input channels 0-1, output channel 1 channels 2-3
        Conv2d conv = new Conv2d(4, 2, 1, 1, 0, 1, 2, PaddingMode.ZEROS, false, new Rng(3));
        conv.weight().copyFrom(Tensor.of(new float[] {1, 10, 100, 1000}, 2, 2, 1, 1));
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 4, 1, 1);
        assertThat(conv.forward(x).toArray()).containsExactly(1 + 20f, 300 + 4000f);
    }

    @Test
    void rectangularConv2dTakesPyTorchsTuples() {
        Conv2d conv = new Conv2d(2, 3, new int[] {3, 1}, new int[] {2, 1}, new int[] {1, 0}, new int[] {1, 1}, 1,
                PaddingMode.REFLECT, true, new Rng(4));
        assertThat(conv.weight().shape()).containsExactly(3, 2, 3, 1);
        assertThat(conv.kernelSize()).containsExactly(3, 1);
        assertThat(conv.stride()).containsExactly(2, 1);
        assertThat(conv.padding()).containsExactly(1, 0);
        assertThat(conv.dilation()).containsExactly(1, 1);
        assertThat(conv.toString()).isEqualTo("Conv2d(2, 3, kernel_size=(3, 1), stride=(2, 1), padding=(1, 0), "
                + "padding_mode='reflect')");
        // (7 + 2 - 3) / 2 + 1 = 4 rows, 5 columns unchanged
        assertThat(conv.forward(Tensor.zeros(1, 2, 7, 5)).shape()).containsExactly(1, 3, 4, 5);
        Tensor x = Tensor.uniform(new Rng(5), -1f, 1f, 2, 2, 7, 5).requiresGrad(true);
        assertGradients(GradCheck.check(in -> conv.forward(in[0]), x, conv.weight(), conv.bias()));
    }

    @Test
    void groupedConv2dRejectsGroupsThatDoNotDivideTheChannels() {
        assertThatThrownBy(() -> new Conv2d(6, 4, 3, 1, 1, 1, 4, PaddingMode.ZEROS, true, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("groups=4")
                .hasMessageContaining("in_channels=6").hasMessageContaining("out_channels=4");
        assertThatThrownBy(() -> new Conv2d(6, 6, 3, 1, 1, 1, 0, PaddingMode.ZEROS, true, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("groups must be positive, got 0");
        assertThatThrownBy(() -> new Conv2d(6, 6, new int[] {3}, new int[] {1, 1}, new int[] {0, 0},
                new int[] {1, 1}, 1, PaddingMode.ZEROS, true, new Rng(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("kernel_size")
                .hasMessageContaining("[3]");
    }

    @Test
    void groupedConvReluPoolFusesToTheSameBits() {
        Rng rng = new Rng(6);
        Sequential block = new Sequential(new Conv2d(4, 8, 3, 1, 1, 1, 4, PaddingMode.ZEROS, true, rng), new ReLU(),
                new MaxPool2d(2));
        Tensor x = Tensor.uniform(new Rng(7), -1f, 1f, 3, 4, 10, 9);
        float[] fused = block.forward(x).toArray();
        boolean before = Sequential.fusesConvBlocks();
        try {
            Sequential.fuseConvBlocks(false);
            assertThat(block.forward(x).toArray()).containsExactly(fused);
        } finally {
            Sequential.fuseConvBlocks(before);
        }
    }

    // ---------------------------------------------------------------------------------------------- PReLU

    @Test
    void preluStartsAtAQuarterAndLearnsOneSlopePerChannel() {
        PReLU prelu = new PReLU(3);
        assertThat(prelu.weight().toArray()).containsExactly(0.25f, 0.25f, 0.25f);
        assertThat(prelu.stateDict().keySet()).containsExactly("weight");
        assertThat(prelu.toString()).isEqualTo("PReLU(num_parameters=3)");
        prelu.weight().copyFrom(Tensor.of(0.1f, 0.2f, 0.3f));
        Tensor x = Tensor.of(new float[] {-1, 2, -1, 2, -1, 2}, 1, 3, 2);
        assertThat(prelu.forward(x).toArray()).containsExactly(-0.1f, 2f, -0.2f, 2f, -0.3f, 2f);
        // inputs at least 0.05 away from the kink at 0, well beyond the finite-difference step
        Tensor in = Tensor.uniform(new Rng(8), 0.05f, 1f, 2, 3, 4, 4);
        float[] d = in.data();
        for (int i = 0; i < d.length; i += 2) {
            d[i] = -d[i];
        }
        assertGradients(GradCheck.check(t -> prelu.forward(t[0]), in.requiresGrad(true), prelu.weight()));
        // the default: one slope for everything
        assertThat(new PReLU().weight().shape()).containsExactly(1);
        assertThat(new PReLU().forward(Tensor.of(-4f, 4f)).toArray()).containsExactly(-1f, 4f);
    }

    @Test
    void preluRejectsTheWrongChannelCount() {
        assertThatThrownBy(() -> new PReLU(3).forward(Tensor.zeros(1, 4, 2, 2)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PReLU(num_parameters=3)")
                .hasMessageContaining("[1, 4, 2, 2]");
        assertThatThrownBy(() -> new PReLU(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("num_parameters").hasMessageContaining("0");
    }

    // ---------------------------------------------------------------------------------------------- pooling

    @Test
    void globalAvgPoolAveragesEachPlaneAndHasNoState() {
        GlobalAvgPool2d pool = new GlobalAvgPool2d();
        assertThat(pool.stateDict()).isEmpty();
        Tensor y = pool.forward(Tensor.arange(8).reshape(1, 2, 2, 2));
        assertThat(y.shape()).containsExactly(1, 2, 1, 1);
        assertThat(y.toArray()).containsExactly(1.5f, 5.5f);
        assertThat(pool.toString()).isEqualTo("GlobalAvgPool2d()");
    }

    @Test
    void poolingByHand() {
        Tensor x = Tensor.arange(16).reshape(1, 1, 4, 4);
        assertThat(new MaxPool2d(2).forward(x).toArray()).containsExactly(5f, 7f, 13f, 15f);
        assertThat(new AvgPool2d(2).forward(x).toArray()).containsExactly(2.5f, 4.5f, 10.5f, 12.5f);
        // kernel 3, stride 2, padding 1: the top-left window covers rows and columns -1..1
        assertThat(new MaxPool2d(3, 2, 1).forward(x).toArray()).containsExactly(5f, 7f, 13f, 15f);
        assertThat(new AvgPool2d(3, 2, 1).forward(x).get(0, 0, 0, 0)).isCloseTo((0 + 1 + 4 + 5) / 9f, offset(1e-6f));
        assertThat(new MaxPool2d(2, 1).forward(x).shape()).containsExactly(1, 1, 3, 3);
    }

    @Test
    void poolingRejectsBadSettings() {
        assertThatThrownBy(() -> new MaxPool2d(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kernel_size").hasMessageContaining("0");
        assertThatThrownBy(() -> new AvgPool2d(2, 2, 2)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("padding").hasMessageContaining("2");
    }

    // ---------------------------------------------------------------------------------------------- batch norm

    private static double channelMean(Tensor x, int c) {
        int[] s = x.shape();
        int inner = s.length == 4 ? s[2] * s[3] : s.length == 3 ? s[2] : 1;
        double sum = 0;
        float[] d = x.data();
        for (int n = 0; n < s[0]; n++) {
            for (int i = 0; i < inner; i++) {
                sum += d[(n * s[1] + c) * inner + i];
            }
        }
        return sum / (s[0] * inner);
    }

    private static double channelVariance(Tensor x, int c, boolean unbiased) {
        int[] s = x.shape();
        int inner = s.length == 4 ? s[2] * s[3] : s.length == 3 ? s[2] : 1;
        double mean = channelMean(x, c);
        double sum = 0;
        float[] d = x.data();
        for (int n = 0; n < s[0]; n++) {
            for (int i = 0; i < inner; i++) {
                double v = d[(n * s[1] + c) * inner + i] - mean;
                sum += v * v;
            }
        }
        int m = s[0] * inner;
        return sum / (unbiased ? m - 1 : m);
    }

    @Test
    void batchNorm2dTrainingNormalisesAndUpdatesRunningStats() {
        BatchNorm2d bn = new BatchNorm2d(3);
        Tensor x = Tensor.normal(new Rng(6), 2f, 3f, 4, 3, 5, 5);
        Tensor y = bn.forward(x);
        for (int c = 0; c < 3; c++) {
            assertThat(channelMean(y, c)).isCloseTo(0, within(1e-5));
            // (biased var) / (var + eps) with var ~ 9: 1 - 1e-6
            assertThat(channelVariance(y, c, false)).isCloseTo(1, within(1e-4));
            assertThat((double) bn.runningMean().get(c)).isCloseTo(0.1 * channelMean(x, c), within(1e-5));
            assertThat((double) bn.runningVar().get(c))
                    .isCloseTo(0.9 + 0.1 * channelVariance(x, c, true), within(1e-4));
        }
        assertThat(bn.numBatchesTracked()).isEqualTo(1);
        bn.forward(x);
        assertThat(bn.numBatchesTracked()).isEqualTo(2);
        assertThat(bn.stateDict().get("num_batches_tracked").item()).isEqualTo(2f);
    }

    @Test
    void batchNormInEvalUsesRunningStatsAndLeavesThemAlone() {
        BatchNorm2d bn = new BatchNorm2d(2);
        bn.runningMean().copyFrom(Tensor.of(1f, -2f));
        bn.runningVar().copyFrom(Tensor.of(4f, 0.25f));
        bn.weight().copyFrom(Tensor.of(2f, 1f));
        bn.bias().copyFrom(Tensor.of(0f, 3f));
        bn.eval();
        Tensor x = Tensor.of(new float[] {3f, 5f, -1f, -2f}, 1, 2, 2, 1);
        Tensor y = bn.forward(x);
        double s0 = Math.sqrt(4 + 1e-5);
        double s1 = Math.sqrt(0.25 + 1e-5);
        assertThat((double) y.get(0, 0, 0, 0)).isCloseTo(2 * (3 - 1) / s0, within(1e-5));
        assertThat((double) y.get(0, 0, 1, 0)).isCloseTo(2 * (5 - 1) / s0, within(1e-5));
        assertThat((double) y.get(0, 1, 0, 0)).isCloseTo((-1 + 2) / s1 + 3, within(1e-5));
        assertThat((double) y.get(0, 1, 1, 0)).isCloseTo((-2 + 2) / s1 + 3, within(1e-5));
        assertThat(bn.runningMean().toArray()).containsExactly(1f, -2f);
        assertThat(bn.runningVar().toArray()).containsExactly(4f, 0.25f);
        assertThat(bn.numBatchesTracked()).isZero();
        // A single image is fine in eval mode; the same input in training mode normalises by its own stats.
        bn.train();
        Tensor yTrain = bn.forward(x);
        assertThat(channelMean(yTrain, 0)).isCloseTo(0, within(1e-5));
    }

    @Test
    void batchNorm1dAcceptsFeaturesAndSequences() {
        BatchNorm1d bn = new BatchNorm1d(3);
        Tensor features = Tensor.normal(new Rng(7), -1f, 2f, 6, 3);
        Tensor y = bn.forward(features);
        assertThat(y.shape()).containsExactly(6, 3);
        for (int c = 0; c < 3; c++) {
            assertThat(channelMean(y, c)).isCloseTo(0, within(1e-5));
        }
        Tensor seq = Tensor.normal(new Rng(8), 1f, 2f, 4, 3, 5);
        Tensor z = bn.forward(seq);
        assertThat(z.shape()).containsExactly(4, 3, 5);
        for (int c = 0; c < 3; c++) {
            assertThat(channelMean(z, c)).isCloseTo(0, within(1e-5));
            assertThat(channelVariance(z, c, false)).isCloseTo(1, within(1e-3));
        }
    }

    @Test
    void batchNormRejectsWrongRankAndChannels() {
        assertThatThrownBy(() -> new BatchNorm2d(3).forward(Tensor.zeros(2, 3, 4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("BatchNorm2d(3").hasMessageContaining("rank-4").hasMessageContaining("[2, 3, 4]");
        assertThatThrownBy(() -> new BatchNorm1d(3).forward(Tensor.zeros(2, 3, 4, 4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[2, 3, 4, 4]");
        assertThatThrownBy(() -> new BatchNorm1d(3).forward(Tensor.zeros(2, 4)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("3 channels").hasMessageContaining("[2, 4]");
        assertThatThrownBy(() -> new BatchNorm1d(3, 1e-5f, 1.5f)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("momentum").hasMessageContaining("1.5");
    }

    // ---------------------------------------------------------------------------------------------- dropout

    @Test
    void dropoutIsIdentityInEvalAndInvertedInTraining() {
        Dropout drop = new Dropout(0.5f, new Rng(9));
        Tensor x = Tensor.ones(2000);
        Tensor train = drop.forward(x);
        int zeros = 0;
        for (float v : train.data()) {
            assertThat(v).isIn(0f, 2f);
            zeros += v == 0f ? 1 : 0;
        }
        // Binomial(2000, 0.5): mean 1000, sd ~22; 6 sd either side.
        assertThat(zeros).isBetween(866, 1134);
        drop.eval();
        assertThat(drop.forward(x).toArray()).containsOnly(1f);
        assertThat(new Dropout(0f, new Rng(1)).forward(x).toArray()).containsOnly(1f);
        assertThatThrownBy(() -> new Dropout(1.5f, new Rng(1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1.5");
    }

    @Test
    void evalOnAContainerSwitchesDropoutAndBatchNormInside() {
        Rng rng = new Rng(10);
        BatchNorm1d bn = new BatchNorm1d(4);
        Sequential net = new Sequential(new Dropout(0.9f, rng), bn);
        bn.runningMean().fill(1f);
        bn.runningVar().fill(1f);
        net.eval();
        Tensor y = net.forward(Tensor.full(3f, 2, 4));
        // dropout passes 3 through, batch norm uses the running stats: (3 - 1) / sqrt(1 + 1e-5)
        assertThat(y.toArray()).containsOnly((float) (2 / Math.sqrt(1 + 1e-5)));
    }

    // ---------------------------------------------------------------------------------------------- the rest

    @Test
    void activationsFlattenAndNormalize() {
        Tensor x = Tensor.of(-1f, 0.5f, 2f);
        assertThat(new ReLU().forward(x).toArray()).containsExactly(0f, 0.5f, 2f);
        assertThat(new LeakyReLU(0.1f).forward(x).toArray()).containsExactly(-0.1f, 0.5f, 2f);
        assertThat(new Sigmoid().forward(Tensor.of(0f)).item()).isEqualTo(0.5f);
        assertThat(new Tanh().forward(x).toArray())
                .containsExactly(new float[] {(float) Math.tanh(-1), (float) Math.tanh(0.5), (float) Math.tanh(2)},
                        offset(1e-6f));
        assertThat(new Flatten().forward(Tensor.zeros(2, 3, 4, 5)).shape()).containsExactly(2, 60);
        assertThat(new Flatten(2).forward(Tensor.zeros(2, 3, 4, 5)).shape()).containsExactly(2, 3, 20);
        Tensor unit = new L2Normalize().forward(Tensor.of(new float[][] {{3, 4}, {0, 5}}));
        assertThat(unit.toArray()).containsExactly(new float[] {0.6f, 0.8f, 0f, 1f}, offset(1e-6f));
    }
}
