package org.siamese4j.onnx;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.siamese4j.io.SafeTensors;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.AvgPool2d;
import org.siamese4j.nn.BatchNorm;
import org.siamese4j.nn.BatchNorm1d;
import org.siamese4j.nn.BatchNorm2d;
import org.siamese4j.nn.Conv2d;
import org.siamese4j.nn.Dropout;
import org.siamese4j.nn.Flatten;
import org.siamese4j.nn.L2Normalize;
import org.siamese4j.nn.LeakyReLU;
import org.siamese4j.nn.Linear;
import org.siamese4j.nn.MaxPool2d;
import org.siamese4j.nn.Module;
import org.siamese4j.nn.PReLU;
import org.siamese4j.nn.Sequential;
import org.siamese4j.nn.Sigmoid;
import org.siamese4j.nn.Tanh;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * The fixed-seed towers whose ONNX exports are committed under {@code export/}, where {@code check_export.py} ran
 * them through ONNX Runtime. Rewrite the files (after a deliberate change of the exporter) with
 * <pre>
 * ./mvnw -B -ntp -q -o -pl core test-compile
 * java -cp core/target/classes:core/target/test-classes org.siamese4j.onnx.ExportFixtures \
 *     core/src/test/resources/org/siamese4j/onnx/export
 * </pre>
 * and then run {@code check_export.py} there. Batch-norm scales and shifts are drawn from U(0.5, 1.5) and
 * U(-0.3, 0.3) and PReLU slopes from U(0.05, 0.45) (not their 1, 0 and 0.25 starts, which would hide a swapped
 * or misshapen weight), and the running statistics are those of 8 training-mode passes on uniform batches of 8,
 * so every batch norm standardises what reaches it and the embeddings of different inputs differ. Those passes
 * run our kernels, whose rounding differs between the Vector API and the scalar ones, so the state they leave is
 * committed too ({@code NAME_state.safetensors}) and the tests load it into the tower {@link #towers()} builds.
 */
final class ExportFixtures {
    /** Training-mode passes that gather the running statistics. */
    private static final int PASSES = 8;

    private ExportFixtures() {
    }

    /** A tower and the shape of one input sample. */
    record Tower(Sequential model, int[] inputShape) {
    }

    /** The towers by file stem, built anew with weights drawn from their seeds (the state is loaded over them). */
    static Map<String, Tower> towers() {
        Map<String, Tower> towers = new LinkedHashMap<>();
        towers.put("reference_like", fromSpec("conv(8,3,pad=1) batchnorm relu maxpool(2) conv(16,3,pad=1) batchnorm"
                + " relu maxpool(2) flatten dense(32) relu dropout(0.2) dense(16) l2norm", new int[] {1, 28, 23}, 1));
        towers.put("residual", fromSpec("conv(8,3,stride=2,pad=1) batchnorm relu maxpool(2)"
                + " residual(conv(8,3,pad=1) batchnorm relu conv(8,3,pad=1) batchnorm) relu"
                + " residual(conv(16,3,stride=2,pad=1) batchnorm relu conv(16,3,pad=1) batchnorm"
                + " | conv(16,1,stride=2) batchnorm) relu"
                + " residual(residual(conv(16,3,pad=1) batchnorm) relu conv(16,1)) globalavgpool flatten dense(16)"
                + " batchnorm l2norm", new int[] {1, 32, 28}, 2));
        towers.put("depthwise_prelu", fromSpec("conv(8,3,stride=2,pad=1) batchnorm prelu"
                + " conv(8,3,pad=1,groups=8) batchnorm prelu conv(16,1) batchnorm"
                + " residual(conv(32,1) batchnorm prelu conv(32,3,pad=1,groups=32) batchnorm prelu conv(16,1)"
                + " batchnorm) conv(32,3,stride=2,pad=1,groups=16) batchnorm prelu globalavgpool flatten dense(16)"
                + " batchnorm prelu dense(8) l2norm", new int[] {3, 24, 24}, 3));
        towers.put("reflect_dilated", reflectDilated());
        return towers;
    }

    /**
     * Reflect padding (with dilation 2, and on a grouped rectangular kernel), leaky ReLU, average pooling, tanh, a
     * padded max pool, 1-D batch norm, sigmoid and a dense layer without bias: built by hand, since the spec
     * grammar has no dilation or rectangular kernels.
     */
    private static Tower reflectDilated() {
        Rng rng = new Rng(4);
        Sequential model = new Sequential(
                new Conv2d(1, 6, new int[] {3, 3}, new int[] {1, 1}, new int[] {2, 2}, new int[] {2, 2}, 1,
                        PaddingMode.REFLECT, true, rng),
                new LeakyReLU(0.1f),
                new AvgPool2d(2),
                new Conv2d(6, 8, new int[] {3, 2}, new int[] {2, 2}, new int[] {1, 1}, new int[] {1, 1}, 2,
                        PaddingMode.REFLECT, true, rng),
                new BatchNorm2d(8),
                new Tanh(),
                new MaxPool2d(3, 2, 1),
                new Flatten(),
                new Linear(72, 16, rng),
                new BatchNorm1d(16),
                new Sigmoid(),
                new Dropout(0.3f, rng),
                new Linear(16, 8, false, rng),
                new L2Normalize());
        return new Tower(model, new int[] {1, 20, 18});
    }

    private static Tower fromSpec(String spec, int[] inputShape, long seed) {
        return new Tower(ArchSpec.parse(spec).build(inputShape, new Rng(seed)), inputShape);
    }

    /** Draws the batch-norm and PReLU parameters, gathers running statistics, and leaves the tower in eval mode. */
    private static void settle(Sequential model, int[] inputShape, Rng rng) {
        for (Module m : model.namedModules().values()) {
            if (m instanceof BatchNorm bn) {
                fill(bn.weight(), rng, 0.5f, 1.5f);
                fill(bn.bias(), rng, -0.3f, 0.3f);
            } else if (m instanceof PReLU p) {
                fill(p.weight(), rng, 0.05f, 0.45f);
            }
        }
        int[] batch = new int[inputShape.length + 1];
        batch[0] = 8;
        System.arraycopy(inputShape, 0, batch, 1, inputShape.length);
        List<BatchNorm> batchNorms = new ArrayList<>();
        for (Module m : model.namedModules().values()) {
            if (m instanceof BatchNorm bn) {
                batchNorms.add(bn);
                Arrays.fill(bn.runningMean().data(), 0f);
                Arrays.fill(bn.runningVar().data(), 0f);
            }
        }
        model.train();
        try (var noGrad = Tensor.noGrad()) {
            for (int pass = 0; pass < PASSES; pass++) {
                model.forward(Tensor.uniform(rng, -1f, 1f, batch));
            }
        }
        model.eval();
        // Started from 0, the running statistics after n passes are the batches' times 1 - (1 - momentum)^n:
        // divided by that, they are a weighted mean of the batches' statistics (Adam's bias correction), so
        // that each batch norm standardises what reaches it and the embeddings of different inputs differ.
        for (BatchNorm bn : batchNorms) {
            float share = (float) (1 - Math.pow(1 - bn.momentum(), PASSES));
            for (Tensor t : List.of(bn.runningMean(), bn.runningVar())) {
                float[] data = t.data();
                for (int i = 0; i < data.length; i++) {
                    data[i] /= share;
                }
            }
        }
    }

    private static void fill(Tensor t, Rng rng, float low, float high) {
        float[] data = t.data();
        for (int i = 0; i < data.length; i++) {
            data[i] = low + (high - low) * rng.nextFloat();
        }
    }

    /** Settles every tower and writes its state, {@code NAME_state.safetensors}, and {@code NAME.onnx}. */
    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Rng rng = new Rng(18);
        for (Map.Entry<String, Tower> e : towers().entrySet()) {
            Tower tower = e.getValue();
            settle(tower.model(), tower.inputShape(), rng);
            // plain writes: the atomic ones of SafeTensors and OnnxModel leave a lock file beside each
            try (OutputStream out = Files.newOutputStream(dir.resolve(e.getKey() + "_state.safetensors"))) {
                SafeTensors.write(out, tower.model().stateDict(), Map.of("made_by", "ExportFixtures"));
            }
            Path file = dir.resolve(e.getKey() + ".onnx");
            Files.write(file, OnnxExporter.export(tower.model(), tower.inputShape()).toBytes());
            System.out.println("wrote " + file);
        }
    }
}
