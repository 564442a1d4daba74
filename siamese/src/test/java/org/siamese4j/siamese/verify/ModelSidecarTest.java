package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFormatException;

class ModelSidecarTest {
    @TempDir
    Path dir;

    private ModelSidecar read(String json) throws Exception {
        Path f = dir.resolve("m.onnx.json");
        Files.writeString(f, json);
        return ModelSidecar.read(f);
    }

    @Test
    void sitsBesideTheModelAndRoundTrips() throws Exception {
        assertThat(ModelSidecar.pathFor(dir.resolve("face.onnx"))).isEqualTo(dir.resolve("face.onnx.json"));
        Map<String, String> decision = new LinkedHashMap<>();
        decision.put("distance", "cosine");
        decision.put("threshold", "0.4125");
        decision.put("threshold_kind", "target_far");
        decision.put("threshold_target_far", "0.001");
        decision.put("threshold_pairs", "600");
        ModelSidecar s = new ModelSidecar(PreprocessingTest.arcFace(112, 112), decision, 128, "MobileFaceNet, MIT");
        Path f = dir.resolve("face.onnx.json");
        s.write(f);
        assertThat(Files.readString(f)).startsWith("{\"source\":\"MobileFaceNet, MIT\",\"embedding_size\":128,"
                + "\"preprocessing\":{\"input_size\":\"112x112\",\"color\":\"rgb\",\"channel_order\":\"rgb\","
                + "\"pixel_range\":\"0-255\",\"mean\":[127.5,127.5,127.5],\"std\":[128.0,128.0,128.0]},"
                + "\"distance\":\"cosine\",\"threshold\":0.4125,");
        assertThat(ModelSidecar.readIfPresent(dir.resolve("face.onnx"))).contains(s);
        assertThat(ModelSidecar.readIfPresent(dir.resolve("other.onnx"))).isEmpty();
        // an accept-nothing threshold is written as a string, JSON having no infinities
        ModelSidecar never = new ModelSidecar(null, Map.of("threshold", "-Infinity"), 0, null);
        never.write(f);
        assertThat(Files.readString(f).trim()).isEqualTo("{\"threshold\":\"-Infinity\"}");
        assertThat(ModelSidecar.read(f)).isEqualTo(never);
    }

    @Test
    void aMeanGivenAsOneNumberAppliesToEveryChannel() throws Exception {
        ModelSidecar s = read("{\"preprocessing\":{\"input_size\":\"112x96\",\"color\":\"rgb\",\"channel_order\":"
                + "\"bgr\",\"pixel_range\":\"0-255\",\"mean\":127.5,\"std\":[128]}}");
        assertThat(s.preprocessing().toString()).isEqualTo("bgr 112x96, pixels 0-255, mean 127.5, std 128.0");
        assertThat(s.decision()).isEmpty();
        assertThat(s.embeddingSize()).isZero();
    }

    @Test
    void hostileSidecarsAreRefusedNamingTheKey() throws Exception {
        String pre = "\"input_size\":\"112x112\",\"color\":\"rgb\",\"channel_order\":\"rgb\",\"pixel_range\":\"0-255\"";
        Map<String, String> cases = new LinkedHashMap<>();
        cases.put("{\"treshold\":0.5}", "key \"treshold\"");
        cases.put("{\"threshold\":true}", "key \"threshold\"");
        cases.put("{\"threshold\":\"NaN\"}", "key \"threshold\"");
        cases.put("{\"distance\":7}", "key \"distance\"");
        cases.put("{\"embedding_size\":-3}", "key \"embedding_size\"");
        cases.put("{\"embedding_size\":1.5}", "key \"embedding_size\"");
        cases.put("{\"source\":[1]}", "key \"source\"");
        cases.put("{\"preprocessing\":[]}", "key \"preprocessing\"");
        cases.put("{\"preprocessing\":{" + pre + "}}",
                "preprocessing.mean is missing; the preprocessing object needs input_size, color");
        cases.put("{\"preprocessing\":{" + pre + ",\"mean\":127.5,\"std\":0}}", "key \"preprocessing.std\"");
        cases.put("{\"preprocessing\":{" + pre + ",\"mean\":[1,2,3,4],\"std\":1}}", "key \"preprocessing.mean\"");
        cases.put("{\"preprocessing\":{" + pre + ",\"mean\":[\"x\"],\"std\":1}}", "key \"preprocessing.mean\"");
        cases.put("{\"preprocessing\":{" + pre + ",\"mean\":1,\"std\":1,\"gamma\":2}}",
                "key \"preprocessing.gamma\"");
        cases.put("{\"preprocessing\":{" + pre.replace("0-255", "0-9") + ",\"mean\":1,\"std\":1}}",
                "valid: 0-1, 0-255");
        cases.put("{\"threshold\":1,\"threshold\":2}", "duplicate");
        cases.put("[1,2]", "must be a JSON object");
        cases.put("{\"threshold\":", "not valid JSON");
        for (Map.Entry<String, String> c : cases.entrySet()) {
            assertThatThrownBy(() -> read(c.getKey()))
                    .as(c.getKey())
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageContaining(c.getValue());
        }
        Path big = dir.resolve("big.json");
        Files.writeString(big, "{\"source\":\"" + "x".repeat(ModelSidecar.MAX_BYTES) + "\"}");
        assertThatThrownBy(() -> ModelSidecar.read(big)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("more than the " + ModelSidecar.MAX_BYTES);
        Path latin1 = dir.resolve("latin1.json");
        Files.write(latin1, "{\"source\":\"caf\u00e9\"}".getBytes(StandardCharsets.ISO_8859_1));
        assertThatThrownBy(() -> ModelSidecar.read(latin1)).hasMessageContaining("not UTF-8");
    }
}
