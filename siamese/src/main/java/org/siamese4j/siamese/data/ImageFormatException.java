package org.siamese4j.siamese.data;

import java.io.IOException;

/**
 * The one exception for an image or label file whose content is not what its format promises: wrong magic
 * bytes, truncated data, header fields that are not numbers or out of range, dimensions above the documented
 * caps ({@link Images#MAX_PIXELS}, {@link Images#maxDecodedBytes()}, {@link Idx#MAX_VALUES}), sample values
 * above the declared maximum, or a decoder that gives up or runs out of memory. Files are treated as untrusted:
 * every such problem ends here, never in an {@code OutOfMemoryError}, {@code ArrayIndexOutOfBoundsException} or
 * {@code NumberFormatException}.
 *
 * <p>The message is {@code "<source>: <problem> (at <location>)"}: which file, what is wrong and where (a byte
 * offset, a header field, or both). The three parts are also available separately.
 */
public final class ImageFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final String problem;
    private final String location;

    public ImageFormatException(String source, String problem, String location) {
        this(source, problem, location, null);
    }

    public ImageFormatException(String source, String problem, String location, Throwable cause) {
        super(source + ": " + problem + (location == null ? "" : " (at " + location + ")"), cause);
        this.source = source;
        this.problem = problem;
        this.location = location;
    }

    /** The file (or the name given for an in-memory source). */
    public String source() {
        return source;
    }

    /** What is wrong, without the source and location. */
    public String problem() {
        return problem;
    }

    /** Where: e.g. {@code "byte 6, header field 'height'"}; null when no position applies. */
    public String location() {
        return location;
    }
}
