package org.siamese4j.examples.cli;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;

/**
 * Runs many {@code siamese4j} commands one after another in this JVM, as {@link Siamese4j#main} would run each,
 * so that a test can try a hundred hostile inputs in a child JVM of a chosen heap without a hundred JVM starts.
 * Arguments: a file of commands, one a line, arguments separated by tabs; and a results file, to which one line is
 * appended (and flushed) as each command ends: the exit code, the milliseconds it took, and what it printed on
 * stdout and on stderr, each Base64 (UTF-8). A command that never ends leaves its line missing.
 *
 * <p>{@code System.out} and {@code System.err} are replaced, for the whole run, by streams that write to the
 * command in progress: whatever the library or the JDK prints outside the CLI's own streams (a logger, an uncaught
 * exception in a worker thread) is counted against the command that caused it.
 */
final class CliBatch {
    private CliBatch() {
    }

    public static void main(String[] args) throws IOException {
        List<String> commands = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        Switchable out = new Switchable();
        Switchable err = new Switchable();
        PrintStream outStream = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        System.setOut(outStream);
        System.setErr(errStream);
        Base64.Encoder base64 = Base64.getEncoder();
        try (Writer results = Files.newBufferedWriter(Path.of(args[1]), StandardCharsets.UTF_8)) {
            for (String line : commands) {
                ByteArrayOutputStream o = new ByteArrayOutputStream();
                ByteArrayOutputStream e = new ByteArrayOutputStream();
                out.target = o;
                err.target = e;
                long start = System.nanoTime();
                int code = Siamese4j.run(line.split("\t", -1), outStream, errStream);
                long millis = (System.nanoTime() - start) / 1_000_000;
                results.write(code + "\t" + millis + "\t" + base64.encodeToString(o.toByteArray()) + "\t"
                        + base64.encodeToString(e.toByteArray()) + "\n");
                results.flush();
            }
        }
    }

    /** An output stream that writes to whichever buffer is current. */
    private static final class Switchable extends OutputStream {
        private volatile OutputStream target = OutputStream.nullOutputStream();

        @Override
        public void write(int b) throws IOException {
            target.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            target.write(b, off, len);
        }
    }
}
