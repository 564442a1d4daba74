package org.siamese4j.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One writer at a time per file, across processes and threads: what makes a read-modify-write of a file (load a
 * gallery, enrol, save) safe when several processes do it at once.
 *
 * <p>{@link #withLock(Path, Duration, IOCallable)} holds an exclusive {@link FileLock} on a sidecar lock file next to
 * the target, {@code .<name>.lock} in the same folder, while its work runs. The target itself cannot carry the
 * lock: {@link AtomicFiles#write} replaces it by a rename, so a lock on it would stay on the old file while the next
 * writer locks the new one.
 *
 * <h2>The lock file stays</h2>
 * The lock file is created when first needed and never deleted. Deleting it on release would let two writers in at
 * once: B opens the lock file and waits; A releases and deletes it; B now locks a file that no longer has a name,
 * while C creates a fresh lock file and locks that. The safe protocol (after locking, check that the name still
 * leads to the locked file) needs the identity of an open channel's file, which Java does not give. An empty hidden
 * file per written target is the price; it may be deleted by hand when no writer runs.
 *
 * <h2>Threads</h2>
 * File locks belong to a whole JVM (a second lock on the same file from the same JVM throws
 * {@link OverlappingFileLockException}, and closing any channel of the file may release them), so threads of one
 * process are serialised first by an in-process lock per lock file; only the thread holding it opens, locks and
 * closes the lock file. The lock is reentrant: work that runs under a file's lock may take it again (the CLI's
 * {@code enroll} holds the gallery's lock around load, enrol and save, and the save takes it again inside
 * {@link AtomicFiles#writeLocked}).
 *
 * <p>The lock is advisory: it excludes every writer that takes it (every save of a model, checkpoint or gallery by
 * this library does), not a program that ignores it. It only works where the file system supports locks; every
 * local one does, NFS with a lock daemon.
 */
public final class FileLocks {
    /**
     * How long the library's own writes wait for another writer of the same file: saving a gallery or a model takes
     * well under a second, so a minute without the lock means a stuck writer, not a busy one.
     */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(60);

    /** Longest wait between two attempts at a lock another process holds. */
    private static final long MAX_POLL_MILLIS = 50;

    /** The in-process lock of each lock file that some thread holds or waits for; guarded by itself. */
    private static final Map<Path, Holder> HOLDERS = new HashMap<>();

    private static final class Holder {
        final ReentrantLock lock = new ReentrantLock();
        /** Threads holding or waiting for {@link #lock}; the entry is removed when this drops to 0. */
        int users;
    }

    private FileLocks() {
    }

    /**
     * The sidecar lock file of {@code target}: {@code .<name>.lock} in its folder. A long name is cut to its first
     * 100 characters, so the lock file's name stays under the usual 255-byte limit; two long names that agree on
     * those share a lock, which only serialises them.
     */
    public static Path lockFileOf(Path target) {
        Path[] parts = AtomicFiles.split(target, "FileLocks.lockFileOf");
        return parts[0].resolve("." + AtomicFiles.truncated(parts[1].toString()) + ".lock");
    }

    /**
     * Runs {@code work} while holding the lock of {@code target} and returns its result; the lock is released
     * however {@code work} ends. The target need not exist; its folder must.
     *
     * @param timeout how long to wait for another process or thread holding the lock; zero tries once
     * @throws FileLockTimeoutException when the lock stayed held by another writer for {@code timeout}; the
     *                                  message names the target, the lock file and who holds it
     * @throws InterruptedIOException   when the thread is interrupted while waiting
     * @throws IOException              whatever {@code work} throws, or when the lock file cannot be created or
     *                                  opened (a read-only folder, no permission)
     */
    public static <T> T withLock(Path target, Duration timeout, IOCallable<T> work) throws IOException {
        Objects.requireNonNull(target, "FileLocks.withLock: target is null");
        Objects.requireNonNull(timeout, "FileLocks.withLock: timeout is null");
        Objects.requireNonNull(work, "FileLocks.withLock: work is null");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("FileLocks.withLock: timeout must not be negative, got " + timeout);
        }
        long deadline = System.nanoTime() + saturatedNanos(timeout);
        Path[] parts = AtomicFiles.split(target, "FileLocks.withLock");
        // the folder's real path keys the in-process lock, so two spellings of one folder share it
        Path lockFile = lockFileOf(parts[0].toRealPath().resolve(parts[1]));
        Holder holder;
        synchronized (HOLDERS) {
            holder = HOLDERS.computeIfAbsent(lockFile, k -> new Holder());
            holder.users++;
        }
        try {
            if (!holder.lock.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                throw timedOut(target, lockFile, timeout, "another thread of this process");
            }
            try {
                if (holder.lock.getHoldCount() > 1) {
                    return work.call(); // this thread holds the file lock already, further up its stack
                }
                try (FileChannel channel = openLockFile(lockFile, parts[0].resolve(parts[1]));
                     FileLock ignored = lockFile(channel, deadline, target, lockFile, timeout)) {
                    return work.call();
                }
            } finally {
                holder.lock.unlock();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for the lock of " + target);
        } finally {
            synchronized (HOLDERS) {
                if (--holder.users == 0) {
                    HOLDERS.remove(lockFile);
                }
            }
        }
    }

    /**
     * Opens the lock file for writing (an exclusive lock needs it), creating it when absent with the target's
     * permissions, so whoever may write the target may also lock it. A symbolic link at the lock file's name is
     * refused rather than followed.
     */
    private static FileChannel openLockFile(Path lockFile, Path target) throws IOException {
        if (!Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS)) {
            try {
                Files.newByteChannel(lockFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
                PosixFileAttributeView view = Files.getFileAttributeView(target, PosixFileAttributeView.class);
                if (view != null && Files.exists(target)) {
                    Files.setPosixFilePermissions(lockFile, view.readAttributes().permissions());
                }
            } catch (FileAlreadyExistsException e) {
                // another process created it first: the same file for both
            } catch (IOException | UnsupportedOperationException e) {
                // the permissions are a convenience for shared folders; the lock works without them
                if (!Files.exists(lockFile, LinkOption.NOFOLLOW_LINKS)) {
                    throw e;
                }
            }
        }
        return FileChannel.open(lockFile, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }

    /** Polls for the file lock (FileChannel.lock has no timeout), backing off from 1 ms to 50 ms. */
    private static FileLock lockFile(FileChannel channel, long deadline, Path target, Path lockFile, Duration timeout)
            throws IOException, InterruptedException {
        long pause = 1;
        while (true) {
            try {
                FileLock lock = channel.tryLock();
                if (lock != null) {
                    return lock;
                }
            } catch (OverlappingFileLockException e) {
                // held in this JVM by code that bypasses this class, or through another name of the same folder
                // (a hard link): wait for it like for another process
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw timedOut(target, lockFile, timeout, "another process");
            }
            Thread.sleep(Math.min(pause, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left))));
            pause = Math.min(MAX_POLL_MILLIS, pause * 2);
        }
    }

    private static FileLockTimeoutException timedOut(Path target, Path lockFile, Duration timeout, String who) {
        return new FileLockTimeoutException(target, target + " is being written by " + who + ", which holds its "
                + "lock " + lockFile + "; gave up after waiting " + seconds(timeout) + "; try again when it has "
                + "finished");
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
    }

    private static long saturatedNanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2; // centuries: "wait for ever"
        }
    }
}
