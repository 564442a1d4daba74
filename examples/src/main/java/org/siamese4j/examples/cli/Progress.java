package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * Progress of a long loop: a bar redrawn in place on a terminal; when the output is a file or a pipe, a plain
 * line at most every {@link #PLAIN_INTERVAL_NANOS}, so logs stay short and readable.
 */
final class Progress {
    private static final int WIDTH = 24;
    private static final long PLAIN_INTERVAL_NANOS = 10_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private final String label;
    private final int total;
    private final long startNanos = System.nanoTime();
    private long lastPlainNanos = System.nanoTime();

    Progress(PrintStream out, boolean terminal, String label, int total) {
        this.out = out;
        this.terminal = terminal;
        this.label = label;
        this.total = Math.max(1, total);
    }

    /** Reports that {@code done} of {@code total} steps are finished; {@code detail} is e.g. "loss 0.31". */
    void update(int done, String detail, int itemsPerStep) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        double rate = seconds > 0 ? done * (double) itemsPerStep / seconds : 0;
        double eta = done > 0 ? seconds / done * (total - done) : 0;
        String stats = String.format(Locale.ROOT, "%s  %.0f img/s  ETA %s", detail, rate, clock(eta));
        if (terminal) {
            int filled = (int) Math.round(WIDTH * done / (double) total);
            out.print("\r" + label + " [" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + done + "/" + total
                    + "  " + stats + "   ");
            if (done >= total) {
                out.println();
            }
            out.flush();
        } else {
            long now = System.nanoTime();
            if (now - lastPlainNanos >= PLAIN_INTERVAL_NANOS && done < total) {
                lastPlainNanos = now;
                out.println(label + " " + done + "/" + total + "  " + stats);
            }
        }
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
