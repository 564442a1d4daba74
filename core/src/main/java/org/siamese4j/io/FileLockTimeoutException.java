package org.siamese4j.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * {@link FileLocks#withLock} waited its whole timeout while another writer held the lock of a file: another process
 * (the usual case: a second {@code enroll} into the same gallery), or another thread of this process. The message
 * names the file, the lock file and who holds it.
 */
public class FileLockTimeoutException extends IOException {
    private static final long serialVersionUID = 1L;

    private final transient Path target;

    public FileLockTimeoutException(Path target, String message) {
        super(message);
        this.target = target;
    }

    /** The file whose lock could not be taken (not the lock file). */
    public Path target() {
        return target;
    }
}
