package org.siamese4j.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;
import org.siamese4j.io.FuzzRunner;
import org.siamese4j.onnx.OnnxImporter.ImportedModel;

/**
 * Import of damaged fixture files: byte damage and protobuf-aware mutations ({@link OnnxMutator}), and mutations of
 * the model's meaning that still read (attribute values, initializer shapes, node wiring, operators, the input's
 * dimensions). Each must import (and then run on one sample when it is small) or be refused with {@link OnnxFormatException} (the reader) or
 * {@link OnnxImportException} (the importer): never another exception, never an OutOfMemoryError, quickly.
 */
class OnnxImporterFuzzTest {
    private static final long SEED = 0x0111_0018_0002L;
    private static final int BYTE_CASES = 800;
    private static final int MODEL_CASES = 1500;
    private static final String[] SEEDS = {"resnet_small_opset9.onnx", "resnet_small_opset13_unfused_bn.onnx",
        "resnet_small_opset21.onnx", "mobilefacenet_like_opset11.onnx"};
    private static final long[] INTS = {-3, -1, 0, 1, 2, 3, 5, 64, 1 << 20, Integer.MAX_VALUE, 1L << 40,
        Long.MIN_VALUE, Long.MAX_VALUE};

    @Test
    void mutatedFixturesImportOrAreRefusedWithTheFormatOrImportExceptionOnly() {
        Map<String, Integer> outcomes = assertTimeoutPreemptively(Duration.ofSeconds(240), this::fuzz);
        System.out.println("importer fuzz outcomes: " + outcomes);
        assertThat(outcomes.getOrDefault("imported and ran", 0)).as("some mutations leave a model that runs")
                .isPositive();
        assertThat(outcomes.getOrDefault("refused by the importer", 0)).isGreaterThan(MODEL_CASES / 4);
        assertThat(outcomes.getOrDefault("refused by the reader", 0)).isGreaterThan(BYTE_CASES / 4);
    }

    private Map<String, Integer> fuzz() throws IOException {
        List<byte[]> seeds = new ArrayList<>();
        List<OnnxModel> models = new ArrayList<>();
        for (String s : SEEDS) {
            byte[] bytes = Files.readAllBytes(OnnxImporterParityTest.fixture(s));
            seeds.add(bytes);
            models.add(OnnxModel.read(bytes));
        }
        Map<String, Integer> outcomes = new TreeMap<>();
        Random r = new Random(SEED);
        for (int k = 0; k < BYTE_CASES; k++) {
            byte[] base = seeds.get(r.nextInt(seeds.size()));
            FuzzRunner.Mutation m = OnnxMutator.mutate(base, seeds, r);
            outcomes.merge(importOnce(m.bytes(), "byte case " + k + " (" + m.kind() + ": " + m.description() + ")"),
                    1, Integer::sum);
        }
        for (int k = 0; k < MODEL_CASES; k++) {
            OnnxModel base = models.get(r.nextInt(models.size()));
            String[] what = new String[1];
            OnnxModel mutated = mutateModel(base, r, what);
            outcomes.merge(importOnce(mutated.toBytes(), "model case " + k + " (" + what[0] + ")"), 1, Integer::sum);
        }
        return outcomes;
    }

    private static String importOnce(byte[] bytes, String what) {
        try {
            OnnxModel m = OnnxModel.read(bytes, "case");
            ImportedModel imported = OnnxImporter.importModel(m, OnnxImporter.Options.inference(), "case");
            int[] chw = imported.inputShape();
            if ((long) chw[0] * chw[1] * chw[2] <= 60_000) {
                // the shapes worked out at import are the ones the layers compute: one sample runs through
                try (var scope = org.siamese4j.tensor.Tensor.noGrad()) {
                    org.siamese4j.tensor.Tensor y = imported.graph().forward(
                            org.siamese4j.tensor.Tensor.ones(1, chw[0], chw[1], chw[2]));
                    assertThat(y.size()).as(what).isEqualTo(imported.outputSize());
                }
                return "imported and ran";
            }
            return "imported";
        } catch (OnnxImportException e) {
            assertThat(e.getMessage()).as(what).startsWith("case: ");
            return "refused by the importer";
        } catch (OnnxFormatException e) {
            return "refused by the reader";
        } catch (Throwable e) {
            throw new AssertionError(what + ": " + e, e);
        }
    }

    /** One change of meaning, described in {@code what[0]}. */
    private static OnnxModel mutateModel(OnnxModel m, Random r, String[] what) {
        OnnxGraph g = m.graph();
        List<OnnxNode> nodes = new ArrayList<>(g.nodes());
        List<OnnxTensor> inits = new ArrayList<>(g.initializers());
        List<OnnxValueInfo> inputs = new ArrayList<>(g.inputs());
        List<OnnxOpset> opsets = m.opsetImports();
        int i = r.nextInt(nodes.size());
        OnnxNode n = nodes.get(i);
        switch (r.nextInt(7)) {
            case 0 -> { // an attribute's value
                if (n.attributes().isEmpty()) {
                    what[0] = "nothing";
                    break;
                }
                int a = r.nextInt(n.attributes().size());
                OnnxAttribute old = n.attributes().get(a);
                OnnxAttribute replaced = switch (old.type()) {
                    case INT -> OnnxAttribute.ofInt(old.name(), INTS[r.nextInt(INTS.length)]);
                    case INTS -> {
                        long[] v = old.asInts();
                        if (v.length > 0 && r.nextBoolean()) {
                            v[r.nextInt(v.length)] = INTS[r.nextInt(INTS.length)];
                        } else {
                            v = java.util.Arrays.copyOf(v, r.nextInt(6));
                        }
                        yield OnnxAttribute.ofInts(old.name(), v);
                    }
                    case FLOAT -> OnnxAttribute.ofFloat(old.name(), new float[] {-1f, 0f, Float.NaN, 2f, 1e30f}[r.nextInt(5)]);
                    default -> OnnxAttribute.ofString(old.name(), "SAME_LOWER");
                };
                List<OnnxAttribute> attrs = new ArrayList<>(n.attributes());
                attrs.set(a, replaced);
                nodes.set(i, new OnnxNode(n.name(), n.opType(), n.domain(), n.inputs(), n.outputs(), attrs));
                what[0] = n.opType() + " " + i + " " + replaced;
            }
            case 1 -> { // an initializer's shape (same values, another factorisation or a scalar)
                int t = r.nextInt(inits.size());
                OnnxTensor old = inits.get(t);
                long[] dims = old.dims();
                if (old.isFloating() && dims.length > 0) {
                    long[][] options = {{old.elementCount()}, {1, old.elementCount()}, {old.elementCount(), 1, 1},
                        reversed(dims)};
                    long[] d = options[r.nextInt(options.length)];
                    inits.set(t, OnnxTensor.of(old.name(), old.dataType(), d, old.floats()));
                    what[0] = old + " as " + java.util.Arrays.toString(d);
                } else {
                    inits.set(t, OnnxTensor.ofInt64(old.name(), new long[] {2}, INTS[r.nextInt(INTS.length)],
                            INTS[r.nextInt(INTS.length)]));
                    what[0] = old + " as INT64 [2]";
                }
            }
            case 2 -> { // another node's output (or the graph input) wired in
                if (n.inputs().isEmpty()) {
                    what[0] = "nothing";
                    break;
                }
                List<String> in = new ArrayList<>(n.inputs());
                OnnxNode other = nodes.get(r.nextInt(nodes.size()));
                in.set(r.nextInt(in.size()), r.nextBoolean() ? other.outputs().get(0) : "input");
                nodes.set(i, new OnnxNode(n.name(), n.opType(), n.domain(), in, n.outputs(), n.attributes()));
                what[0] = "inputs of " + i + " " + in;
            }
            case 3 -> { // another supported operator with the same wiring
                String op = OnnxImporter.SUPPORTED_OPERATORS.get(r.nextInt(OnnxImporter.SUPPORTED_OPERATORS.size()));
                nodes.set(i, new OnnxNode(n.name(), op, n.domain(), n.inputs(), n.outputs(), n.attributes()));
                what[0] = "node " + i + " " + n.opType() + " -> " + op;
            }
            case 4 -> { // a node left out
                nodes.remove(i);
                what[0] = "node " + i + " removed";
            }
            case 5 -> { // the input's dimensions
                long[] dims = {INTS[r.nextInt(INTS.length)], INTS[r.nextInt(INTS.length)], INTS[r.nextInt(8)]};
                int which = 1 + r.nextInt(3);
                List<OnnxDimension> shape = new ArrayList<>(inputs.get(0).shape());
                long v = Math.max(0, dims[r.nextInt(3)]);
                shape.set(which, OnnxDimension.of(v));
                inputs.set(0, new OnnxValueInfo(inputs.get(0).name(), OnnxDataType.FLOAT, shape));
                what[0] = "input dimension " + which + " = " + v;
            }
            default -> { // the opset
                opsets = List.of(new OnnxOpset("", 7 + r.nextInt(17)));
                what[0] = "opset " + opsets.get(0);
            }
        }
        OnnxGraph mutated = new OnnxGraph(g.name(), nodes, inits, inputs, g.outputs(), g.valueInfo());
        return new OnnxModel(m.irVersion(), m.producerName(), m.producerVersion(), opsets, m.metadata(), mutated);
    }

    private static long[] reversed(long[] dims) {
        long[] out = new long[dims.length];
        for (int k = 0; k < dims.length; k++) {
            out[k] = dims[dims.length - 1 - k];
        }
        return out;
    }
}
