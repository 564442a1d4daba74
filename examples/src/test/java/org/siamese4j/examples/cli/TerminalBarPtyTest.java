package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.siamese.train.Trainer;

/**
 * The real CLI in a pseudo-terminal of 80 columns, made by util-linux {@code script}: every line the terminal
 * shows fits, and each epoch's summary starts a line of its own. Skipped where there is no {@code script}.
 */
class TerminalBarPtyTest {
    private static final int COLUMNS = 80;

    @Test
    void theBarFitsEightyColumnsAndEndsItsLine(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("script") && onPath("stty") && new File("/bin/sh").canExecute(),
                "needs util-linux script and stty to make a pseudo-terminal");
        // 3 steps of 2 per epoch: the second epoch is cut short, the case that used to print onto the bar
        String train = String.join(" ", javaCommand()) + " train --data synthetic:24x4 --steps 3"
                + " --validation-identities 0 --test-identities 4 --threads 1 --out " + quote(dir.resolve("m.st"));
        ProcessBuilder pb = new ProcessBuilder("script", "-qec", "stty cols " + COLUMNS + " rows 24; " + train,
                "/dev/null").redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(dir.resolve("terminal.txt").toFile());
        pb.environment().remove("COLUMNS");                     // the width must come from the terminal itself
        Process p = pb.start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the CLI in the pseudo-terminal did not finish within 90 s");
        }
        String text = Files.readString(dir.resolve("terminal.txt"), StandardCharsets.UTF_8);
        assumeTrue(text.contains("epoch 1/"), () -> "this script could not run the CLI: " + text);
        assertThat(p.exitValue()).as(text).isZero();

        List<String> bars = new ArrayList<>();
        for (String line : ProgressTest.screenLines(text.replace("\r\n", "\n"))) {
            // plain lines (the data split, the model spec) may be long and wrap; only the redrawn bar must not
            if (line.startsWith("epoch ") && line.contains(" [")) {
                bars.add(line);
                assertThat(line.length()).as("bar line '%s'", line).isLessThan(COLUMNS);
                assertThat(line).as("bar line '%s' carries nothing after it", line).doesNotContain("mean loss");
            }
        }
        assertThat(bars).as(text).isNotEmpty();
        assertThat(text).contains("\nepoch 1/2: 2 steps").contains("\nepoch 2/2: 1 steps");
    }

    /** java with the Vector API flag and this test's own class path: the CLI as built, without the jar. */
    private static List<String> javaCommand() throws URISyntaxException {
        List<String> cmd = new ArrayList<>(List.of(quote(Path.of(System.getProperty("java.home"), "bin", "java"))));
        if (KernelProvider.vectorModulePresent()) {
            cmd.add("--add-modules=" + KernelProvider.VECTOR_MODULE);
        }
        // the class folders or jars of examples, siamese and core
        List<String> path = new ArrayList<>();
        for (Class<?> c : new Class<?>[] {Siamese4j.class, Trainer.class, KernelProvider.class}) {
            path.add(Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        }
        cmd.add("-cp");
        cmd.add(quote(String.join(File.pathSeparator, path)));
        cmd.add(Siamese4j.class.getName());
        return cmd;
    }

    private static String quote(Object s) {
        return "'" + s.toString().replace("'", "'\\''") + "'";
    }

    private static boolean onPath(String program) throws IOException {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String d : path.split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }
}
