package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.SafeTensors.Contents;
import org.siamese4j.tensor.Tensor;

/**
 * Kills a JVM that is saving a model over and over (SIGKILL via destroyForcibly, at random moments) and
 * checks that the file on disk always loads and is one whole version, never a mix or a torn write.
 *
 * <p>A kill during a save can leave the writer's temporary file ({@code .w.safetensors.tmp-<hex>}) behind;
 * loading never looks at it, and the test only checks that nothing else appears.
 */
class AtomicWriteKillTest {
    private static final int ROUNDS = 5;

    @TempDir
    Path dir;

    @Test
    void fileSurvivesKillsAsOneWholeVersion() {
        assertTimeoutPreemptively(Duration.ofSeconds(90), this::killRounds);
    }

    private void killRounds() throws Exception {
        Path file = dir.resolve("w.safetensors");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String classPath = System.getProperty("java.class.path");
        Random rng = new Random(20240611);
        int[] seen = new int[2];
        for (int round = 0; round < ROUNDS; round++) {
            Process child = new ProcessBuilder(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    "-cp", classPath, AtomicWriteChild.class.getName(), file.toString())
                    .redirectErrorStream(true).start();
            try {
                BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                        StandardCharsets.UTF_8));
                StringBuilder log = new StringBuilder();
                String line;
                while ((line = out.readLine()) != null && !line.equals("ready")) {
                    log.append(line).append('\n');
                }
                assertThat(line).as("child output:\n%s", log).isEqualTo("ready");
                // Saves take a few milliseconds each, so a random moment lands mid-save most of the time.
                Thread.sleep(rng.nextInt(300));
            } finally {
                child.destroyForcibly();
                assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            }

            Contents loaded = SafeTensors.read(file);
            int version = "A".equals(loaded.metadata().get("version")) ? 0 : 1;
            assertSameAs(loaded, version, round);
            seen[version]++;

            try (Stream<Path> files = Files.list(dir)) {
                List<String> others = files.map(p -> p.getFileName().toString())
                        .filter(n -> !n.equals("w.safetensors") && !n.equals(".w.safetensors.lock")).toList();
                assertThat(others).as("leftovers after round %d", round)
                        .allMatch(n -> n.matches("\\.w\\.safetensors\\.tmp-[0-9a-f]+"));
            }
        }
        assertThat(seen[0] + seen[1]).isEqualTo(ROUNDS);
    }

    private static void assertSameAs(Contents loaded, int version, int round) throws IOException {
        Map<String, Tensor> expected = AtomicWriteChild.tensors(version);
        assertThat(loaded.metadata()).as("round %d", round).isEqualTo(AtomicWriteChild.metadata(version));
        assertThat(loaded.tensors().keySet()).as("round %d", round).containsExactlyElementsOf(expected.keySet());
        for (Map.Entry<String, Tensor> e : expected.entrySet()) {
            Tensor got = loaded.tensors().get(e.getKey());
            assertThat(got.shape()).as("round %d %s", round, e.getKey()).containsExactly(e.getValue().shape());
            assertThat(got.data()).as("round %d %s", round, e.getKey()).containsExactly(e.getValue().data());
        }
    }
}
