package org.siamese4j.examples.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Progress of long loops: a bar redrawn in place on a terminal, sized to fit its width; when the output is a file
 * or a pipe, a plain line at most every {@link #PLAIN_INTERVAL_NANOS}, so logs stay short and readable.
 *
 * <p>One instance serves a whole run, one loop after another ({@link #start}). Anything else printed to the
 * terminal while a bar is showing must call {@link #endLine()} first, or it lands at the end of the bar's line.
 */
final class Progress {
    static final int BAR_WIDTH = 24;
    static final int MIN_BAR_WIDTH = 10;
    private static final long PLAIN_INTERVAL_NANOS = 10_000_000_000L;

    private final PrintStream out;
    private final boolean terminal;
    private final int columns;
    private String label = "";
    private int total = 1;
    private long startNanos;
    private long lastPlainNanos;
    /** A bar is on the screen and the cursor is at the end of its line. */
    private boolean showing;
    private int shownLength;

    /**
     * @param terminal whether {@code out} is a terminal (a bar) or a file or pipe (a plain line now and then)
     * @param columns  the terminal's width; bar lines take at most {@code columns - 1}, so the cursor never wraps
     */
    Progress(PrintStream out, boolean terminal, int columns) {
        this.out = out;
        this.terminal = terminal;
        this.columns = columns;
    }

    /** Begins a loop of {@code total} steps, ending the previous loop's bar line if it is still open. */
    synchronized void start(String label, int total) {
        endLine();
        this.label = label;
        this.total = Math.max(1, total);
        this.startNanos = System.nanoTime();
        this.lastPlainNanos = startNanos;
    }

    /**
     * Reports that {@code done} of {@code total} steps are finished. {@code details} are e.g. "loss 0.31", most
     * important first: a narrow terminal shows the first ones only.
     */
    synchronized void update(int done, List<String> details, int itemsPerStep) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        double rate = seconds > 0 ? done * (double) itemsPerStep / seconds : 0;
        double eta = done > 0 ? seconds / done * (total - done) : 0;
        String rateText = String.format(Locale.ROOT, "%.0f img/s", rate);
        String etaText = "ETA " + clock(eta);
        if (terminal) {
            String line = barLine(columns, label, done, total, details, rateText, etaText);
            // Spaces over what is left of a longer previous line; both fit, so this cannot wrap either.
            out.print("\r" + line + " ".repeat(Math.max(0, shownLength - line.length())));
            showing = true;
            shownLength = line.length();
            if (done >= total) {
                endLine();
            }
            out.flush();
        } else {
            long now = System.nanoTime();
            if (now - lastPlainNanos >= PLAIN_INTERVAL_NANOS && done < total) {
                lastPlainNanos = now;
                out.println(label + " " + done + "/" + total + "  " + String.join("  ", details) + "  " + rateText
                        + "  " + etaText);
            }
        }
    }

    /** Ends the bar's line, if a bar is showing, so that the next line printed starts on a line of its own. */
    synchronized void endLine() {
        if (showing) {
            out.println();
            out.flush();
            showing = false;
            shownLength = 0;
        }
    }

    /**
     * The bar line for a terminal {@code columns} wide: at most {@code columns - 1} characters (a character in
     * the last column makes some terminals wrap, and then every redraw leaves a line behind). When the whole line
     * does not fit it gives up, in this order: the rate, the details from the last, bar length, the ETA, the
     * first detail, the bar; as a last resort it is cut.
     */
    static String barLine(int columns, String label, int done, int total, List<String> details, String rate,
                          String eta) {
        int room = Math.max(1, columns - 1);
        List<String> kept = new ArrayList<>(details);
        kept.removeIf(String::isEmpty);
        boolean showRate = true;
        boolean showEta = true;
        int bar = BAR_WIDTH;
        String line = compose(label, done, total, bar, kept, showRate ? rate : null, showEta ? eta : null);
        while (line.length() > room) {
            if (showRate) {
                showRate = false;
            } else if (kept.size() > 1) {
                kept.remove(kept.size() - 1);
            } else if (bar > MIN_BAR_WIDTH) {
                bar = MIN_BAR_WIDTH;
            } else if (showEta) {
                showEta = false;
            } else if (!kept.isEmpty()) {
                kept.clear();
            } else if (bar > 0) {
                bar = 0;
            } else {
                return line.substring(0, room);
            }
            line = compose(label, done, total, bar, kept, showRate ? rate : null, showEta ? eta : null);
        }
        return line;
    }

    /** "label [####    ] done/total  detail  detail  rate  ETA"; a bar of width 0 and null parts are left out. */
    private static String compose(String label, int done, int total, int bar, List<String> details, String rate,
                                  String eta) {
        StringBuilder sb = new StringBuilder(label).append(' ');
        if (bar > 0) {
            int filled = (int) Math.round(bar * Math.min(done, total) / (double) total);
            sb.append('[').append("#".repeat(filled)).append(" ".repeat(bar - filled)).append("] ");
        }
        sb.append(done).append('/').append(total);
        for (String d : details) {
            sb.append("  ").append(d);
        }
        if (rate != null) {
            sb.append("  ").append(rate);
        }
        if (eta != null) {
            sb.append("  ").append(eta);
        }
        return sb.toString();
    }

    private static String clock(double seconds) {
        long s = Math.round(seconds);
        return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
