package org.siamese4j.io;

import java.io.IOException;

/**
 * The one exception the model and checkpoint readers throw for a file whose content is wrong: truncated,
 * malformed, inconsistent, hostile, or not matching the architecture it should hold.
 *
 * <p>The message always reads {@code "<file>: <problem> (at <location>)"}, where the location is a byte
 * offset in the file ({@code "byte 8"}) or a header field ({@code "header field \"0.weight\".shape"}); each part
 * is also available on its own. A few problems concern the file as a whole and have no location; their
 * message is {@code "<file>: <problem>"}.
 *
 * <p>Failures of the file system itself (a missing file, a permission error) are not format problems and
 * surface as the usual {@link IOException} subclasses such as {@link java.nio.file.NoSuchFileException}.
 */
public class ModelFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String file;
    private final String problem;
    private final String location;

    /**
     * @param file     the file (or source name) being read
     * @param problem  what is wrong, in words, with the offending values
     * @param location where: a byte offset or a header field; null when the problem concerns the whole file
     */
    public ModelFormatException(String file, String problem, String location) {
        this(file, problem, location, null);
    }

    /** As {@link #ModelFormatException(String, String, String)}, keeping the lower-level cause. */
    public ModelFormatException(String file, String problem, String location, Throwable cause) {
        super(format(file, problem, location), cause);
        this.file = file;
        this.problem = problem;
        this.location = location;
    }

    private static String format(String file, String problem, String location) {
        return location == null ? file + ": " + problem : file + ": " + problem + " (at " + location + ")";
    }

    /**
     * {@code s} in double quotes with control characters and backslashes escaped, cut at 200 characters: for
     * names read from a file, which may hold anything, inside a one-line message.
     */
    public static String quoted(String s) {
        return Json.quoteForMessage(s);
    }

    /** The file (or source name) that was being read. */
    public String file() {
        return file;
    }

    /** What is wrong, without the file name or location. */
    public String problem() {
        return problem;
    }

    /** Where in the file: {@code "byte N"} or a header field; null when the problem concerns the whole file. */
    public String location() {
        return location;
    }
}
