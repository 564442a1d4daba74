package org.siamese4j.examples.cli;

import java.io.Console;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Whether the CLI prints to a terminal, and how wide it is, with the JDK alone. The width comes from the
 * {@code COLUMNS} environment variable when it is set, else from {@code stty size} on {@code /dev/tty}, else
 * {@value #FALLBACK_COLUMNS}; asking never fails the run.
 */
final class Terminal {
    static final int FALLBACK_COLUMNS = 80;
    /** Narrower than this, nothing useful fits on a line; wider, a bar would only be hard to read. */
    static final int MIN_COLUMNS = 20;
    static final int MAX_COLUMNS = 400;
    private static final long STTY_TIMEOUT_MILLIS = 500;

    private Terminal() {
    }

    /** True when the standard streams are a terminal a bar can be redrawn on, not a file or a pipe. */
    static boolean interactive() {
        Console console = System.console();
        if (console == null) {
            return false;
        }
        // From JDK 22 System.console() may return a console for redirected streams too; its isTerminal() tells.
        try {
            Method isTerminal = Console.class.getMethod("isTerminal");
            return (Boolean) isTerminal.invoke(console);
        } catch (ReflectiveOperationException | RuntimeException olderJdk) {
            return true;
        }
    }

    /** The terminal's width in columns, clamped to [{@value #MIN_COLUMNS}, {@value #MAX_COLUMNS}]. */
    static int columns() {
        int columns = parseColumns(System.getenv("COLUMNS"));
        if (columns <= 0 && System.console() != null) {
            columns = sttyColumns();
        }
        return clamp(columns <= 0 ? FALLBACK_COLUMNS : columns);
    }

    static int clamp(int columns) {
        return Math.max(MIN_COLUMNS, Math.min(MAX_COLUMNS, columns));
    }

    /** A positive column count, or -1 when {@code value} is not one. */
    static int parseColumns(String value) {
        if (value == null) {
            return -1;
        }
        try {
            int n = Integer.parseInt(value.trim());
            return n > 0 ? n : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The columns of {@code stty size}'s answer "ROWS COLUMNS", or -1. */
    static int parseSttySize(String answer) {
        String[] parts = answer.trim().split("\\s+");
        return parts.length == 2 && parseColumns(parts[0]) > 0 ? parseColumns(parts[1]) : -1;
    }

    /**
     * Asks {@code stty size} with {@code /dev/tty} as its input (our own standard input may be redirected); -1
     * when there is no {@code /dev/tty} (Windows), no {@code stty}, or no answer within the timeout.
     */
    private static int sttyColumns() {
        File tty = new File("/dev/tty");
        if (!tty.exists()) {
            return -1;
        }
        Process p = null;
        try {
            p = new ProcessBuilder("stty", "size").redirectInput(tty).redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!p.waitFor(STTY_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
                return -1;
            }
            // a few bytes: they fit in the pipe, so reading after the exit cannot block
            return p.exitValue() == 0 ? parseSttySize(new String(p.getInputStream().readAllBytes(),
                    StandardCharsets.US_ASCII)) : -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        } finally {
            if (p != null) {
                p.destroyForcibly();
            }
        }
    }
}
