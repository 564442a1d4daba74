package org.siamese4j.io;

import java.io.IOException;

/**
 * Work that may throw {@link IOException} and gives a result: what runs under
 * {@link FileLocks#withLock(java.nio.file.Path, java.time.Duration, IOCallable)}.
 */
@FunctionalInterface
public interface IOCallable<T> {
    T call() throws IOException;
}
