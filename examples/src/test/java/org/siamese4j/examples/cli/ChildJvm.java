package org.siamese4j.examples.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The CLI in a JVM of its own, on the tests' class path: for what only a separate process shows (file locks belong
 * to processes; a heap limit is per JVM). Its stdout and stderr go to one log file.
 */
final class ChildJvm {
    private ChildJvm() {
    }

    /** Starts {@code siamese4j args...} with the JVM options {@code jvmOptions} (e.g. -Xmx64m). */
    static Process start(Path log, List<String> jvmOptions, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Siamese4j.class.getName()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
    }

    /**
     * The JVM options that give a child the kernels of this JVM: the Vector API module when this JVM has it (the
     * SIMD and the scalar kernels may differ in the last bits of a float), else none.
     */
    static List<String> sameKernels() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
                ? List.of("--add-modules", "jdk.incubator.vector") : List.of();
    }

    /** Waits for the process (killing it after {@code timeout}) and returns what it printed. */
    static String finish(Process p, Path log, Duration timeout) throws InterruptedException, IOException {
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the CLI did not finish within " + timeout.toSeconds() + " s: "
                    + Files.readString(log, StandardCharsets.UTF_8));
        }
        return Files.readString(log, StandardCharsets.UTF_8);
    }
}
