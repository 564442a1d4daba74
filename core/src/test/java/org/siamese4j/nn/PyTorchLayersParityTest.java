package org.siamese4j.nn;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.kernels.ConvGeometry.PaddingMode;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/**
 * A network made with PyTorch 1.13 ({@code src/test/resources/org/siamese4j/nn/pytorch/make_layer_fixtures.py}):
 * a grouped convolution, a depthwise 3x3 stride-2 convolution with batch norm, PReLU with a slope per channel and with
 * one shared slope, a depthwise convolution with channel multiplier 2 and reflect padding, a grouped convolution
 * with a 1x3 kernel, a depthwise convolution without padding, global average pooling and a dense layer.
 * {@code layers.safetensors} is its {@code state_dict()} after three training-mode passes (its order in the
 * metadata), {@code layers-io.safetensors} an input batch and PyTorch's evaluation-mode activations after layers 4
 * and 8 and at the output.
 *
 * <p>The same network built from siamese4j's modules has exactly PyTorch's state-dict names, order and shapes, loads
 * the file strictly, and computes PyTorch's activations within 1e-5 (measured on the vector-512, vector-256 and scalar
 * kernels: at most 1.8e-7 on values up to 1.5, a few float32 roundings; reflect padding in place of zeros on layer 5
 * moves the activations before the pooling by 0.1). With batch norm folded into the depthwise convolution before it,
 * too.
 */
class PyTorchLayersParityTest {
    private static final float TOLERANCE = 1e-5f;

    static Path resource(String name) {
        try {
            return Path.of(PyTorchLayersParityTest.class.getResource("pytorch/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** The network of make_layer_fixtures.py, layer for layer. */
    private static List<Module> layers() {
        Rng rng = new Rng(1);
        List<Module> layers = new ArrayList<>();
        layers.add(new Conv2d(4, 6, 3, 1, 1, 1, 2, PaddingMode.ZEROS, true, rng));
        layers.add(new PReLU(6));
        layers.add(new Conv2d(6, 6, 3, 2, 1, 1, 6, PaddingMode.ZEROS, false, rng));
        layers.add(new BatchNorm2d(6));
        layers.add(new PReLU());
        layers.add(new Conv2d(6, 12, 3, 1, 1, 1, 6, PaddingMode.REFLECT, true, rng));
        layers.add(new Conv2d(12, 8, new int[] {1, 3}, new int[] {1, 1}, new int[] {0, 1}, new int[] {1, 1}, 4,
                PaddingMode.ZEROS, true, rng));
        layers.add(new PReLU(8));
        layers.add(new Conv2d(8, 8, 3, 1, 0, 1, 8, PaddingMode.ZEROS, false, rng));
        layers.add(new GlobalAvgPool2d());
        layers.add(new Flatten());
        layers.add(new Linear(8, 5, rng));
        return layers;
    }

    private static Map<String, Tensor> io() throws IOException {
        return SafeTensors.read(resource("layers-io.safetensors")).tensors();
    }

    /** The network with PyTorch's weights, in evaluation mode. */
    private static Sequential loaded() throws IOException {
        Sequential model = new Sequential(layers());
        model.loadStateDict(SafeTensors.read(resource("layers.safetensors")).tensors(), true);
        model.eval();
        return model;
    }

    @Test
    void stateDictNamesOrderAndShapesArePyTorchs() throws IOException {
        Path file = resource("layers.safetensors");
        List<String> pytorchOrder = List.of(SafeTensors.readMetadata(file).get("state_dict_order").split(","));
        LinkedHashMap<String, Tensor> ours = new Sequential(layers()).stateDict();
        assertThat(ours.keySet()).containsExactlyElementsOf(pytorchOrder);
        SafeTensors.readHeader(file).forEach((name, info) ->
                assertThat(ours.get(name).shape()).as(name).containsExactly(info.shape()));
        // spot checks of what the grouped and depthwise weights look like in PyTorch's layout
        assertThat(ours.get("0.weight").shape()).containsExactly(6, 2, 3, 3);
        assertThat(ours.get("5.weight").shape()).containsExactly(12, 1, 3, 3);
        assertThat(ours.get("6.weight").shape()).containsExactly(8, 3, 1, 3);
        assertThat(ours.get("4.weight").shape()).containsExactly(1);
        assertThat(ours).doesNotContainKeys("2.bias", "8.bias");
    }

    @Test
    void activationsArePyTorchs() throws IOException {
        Sequential model = loaded();
        Map<String, Tensor> io = io();
        Tensor x = io.get("input");
        for (int i = 0; i < model.size(); i++) {
            x = model.get(i).forward(x);
            if (i == 4) {
                assertClose(x, io.get("after4"), "after layer 4 (depthwise stride 2, batch norm, PReLU)");
            } else if (i == 8) {
                assertClose(x, io.get("after8"), "after layer 8 (before global pooling)");
            }
        }
        assertClose(x, io.get("output"), "output");
        assertClose(model.forward(io.get("input")), io.get("output"), "output of Sequential.forward");
    }

    @Test
    void foldingTheBatchNormIntoTheDepthwiseConvolutionKeepsPyTorchsOutput() throws IOException {
        Sequential model = loaded();
        List<Module> folded = new ArrayList<>();
        for (int i = 0; i < model.size(); i++) {
            if (i == 2) {
                folded.add(BatchNormFolding.fold((Conv2d) model.get(2), (BatchNorm2d) model.get(3)));
                i++;
            } else {
                folded.add(model.get(i));
            }
        }
        assertThat(folded).hasSize(model.size() - 1);
        assertClose(new Sequential(folded).forward(io().get("input")), io().get("output"), "output with bn folded");
    }

    private static void assertClose(Tensor actual, Tensor expected, String what) {
        assertThat(actual.shape()).as(what).containsExactly(expected.shape());
        float[] a = actual.toArray();
        float[] e = expected.toArray();
        for (int i = 0; i < a.length; i++) {
            assertThat(Math.abs(a[i] - e[i])).as("%s element %d: ours %s, PyTorch's %s", what, i, a[i], e[i])
                    .isLessThanOrEqualTo(TOLERANCE);
        }
    }
}
