package org.siamese4j.io;

import java.io.IOException;

/**
 * A consumer that may throw {@link IOException}: the body that writes a file's content in
 * {@link AtomicFiles#write(java.nio.file.Path, IOConsumer)}.
 *
 * @param <T> what is consumed, usually an {@link java.io.OutputStream}
 */
@FunctionalInterface
public interface IOConsumer<T> {
    void accept(T value) throws IOException;
}
