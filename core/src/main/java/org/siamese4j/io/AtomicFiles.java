package org.siamese4j.io;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes files so that a crash, a kill or a full disk never leaves a half-written file behind: readers
 * see either the old content or the new one.
 *
 * <p>{@link #write(Path, IOConsumer)} writes to a temporary file in the target's folder (named
 * {@code .<name>.tmp-<random>}, so it never collides with another writer), flushes and fsyncs it, renames it
 * atomically over the target, then fsyncs the folder so the rename itself survives a power cut (where the
 * platform lets a folder be opened; Windows does not, and there that last step is skipped).
 *
 * <p>A symbolic link at the target is replaced by the new file, not followed.
 *
 * <p>{@link #writeLocked} runs the whole replacement under the target's lock ({@link FileLocks}): writers of one
 * file, in any number of processes and threads, take turns; models, checkpoints and galleries are saved so. Plain
 * {@link #write} takes no lock and leaves no lock file, for outputs nobody reads back and rewrites (plots, CSVs).
 * A writer that finds the lock held waits up to {@link FileLocks#DEFAULT_TIMEOUT}, then fails with a
 * {@link FileLockTimeoutException}. The lock leaves an empty {@code .<name>.lock} file next to the target (see
 * {@link FileLocks} for why it stays).
 *
 * <p>On a POSIX file system the new file keeps the old one's permissions, and its owner and group where the
 * writer may set them (root may; others keep their own user and may set only a group they belong to): a gallery
 * at 0600 stays 0600. A new file gets the permissions the caller asks for, or the platform's default. While it is
 * written, the temporary file of a file whose permissions are known is readable by its owner only. Elsewhere
 * (FAT, Windows) permissions are left to the platform.
 *
 * <p>If the writer fails, the temporary file is deleted and the old target is untouched. If the process
 * dies mid-write, the temporary file stays behind: it is harmless (nothing reads {@code .*.tmp-*} files), and the
 * next write of the same target deletes it once it is an hour old (younger ones may belong to a writer that does
 * not take the lock). Errors name the target, not its temporary file.
 */
public final class AtomicFiles {
    /** Room left for the prefix and random suffix under the usual 255-byte file-name limit. */
    private static final int MAX_NAME_IN_TEMP = 100;

    /**
     * Age after which a leftover temporary file of the target being written is deleted. A live writer streams
     * into its temporary file and renames it within seconds of its last byte, so an hour without a change means
     * its writer is gone, with a wide margin for slow disks and for clocks that disagree on a network file system.
     */
    static final Duration STALE_TEMP_AGE = Duration.ofHours(1);

    /** {@code rw-------}: for files of private data, such as a gallery's face embeddings. */
    public static final Set<PosixFilePermission> OWNER_ONLY =
            Collections.unmodifiableSet(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE));

    private AtomicFiles() {
    }

    /**
     * Replaces {@code target} with what {@code writer} writes, atomically.
     *
     * <p>The stream handed to {@code writer} is buffered; the writer may close it or not. The target's folder
     * must exist and be on a file system that supports atomic rename (every local one does).
     *
     * @throws IOException whatever the writer or the file system threw; the target is then unchanged and no
     *                     temporary file remains
     */
    public static void write(Path target, IOConsumer<OutputStream> writer) throws IOException {
        Path[] parts = checkedTarget(target, writer);
        replace(parts[0], parts[1], null, writer);
    }

    /**
     * As {@link #write(Path, IOConsumer)}, under the target's cross-process lock ({@link FileLocks}), for saved
     * state that several processes may write: models, checkpoints, galleries. A new target gets
     * {@code newFilePermissions} (on a POSIX file system; elsewhere they are ignored): {@link #OWNER_ONLY} for a
     * file of private data. An existing target keeps its own permissions whatever this says.
     *
     * @param newFilePermissions the permissions of a target that does not exist yet, or null for the platform's
     *                           default (on POSIX, 0666 less the umask)
     * @throws FileLockTimeoutException when another writer holds the lock for longer than
     *                                  {@link FileLocks#DEFAULT_TIMEOUT}
     */
    public static void writeLocked(Path target, Set<PosixFilePermission> newFilePermissions,
                                   IOConsumer<OutputStream> writer) throws IOException {
        Path[] parts = checkedTarget(target, writer);
        FileLocks.withLock(target, FileLocks.DEFAULT_TIMEOUT, () -> {
            replace(parts[0], parts[1], newFilePermissions, writer);
            return null;
        });
    }

    /** The target's folder and name, refusing a folder (checked before a lock, which would leave a lock file). */
    private static Path[] checkedTarget(Path target, IOConsumer<OutputStream> writer) throws IOException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(writer, "writer");
        Path[] parts = split(target, "AtomicFiles.write");
        Path absolute = parts[0].resolve(parts[1]);
        if (Files.isDirectory(absolute, LinkOption.NOFOLLOW_LINKS)) {
            // An atomic rename would replace an empty folder silently.
            throw new FileAlreadyExistsException(absolute.toString(), null, "is a directory");
        }
        return parts;
    }

    private static void replace(Path dir, Path name, Set<PosixFilePermission> newFilePermissions,
                                IOConsumer<OutputStream> writer) throws IOException {
        Path absolute = dir.resolve(name);
        boolean posix = isPosix(dir);
        // what the new file must look like: the old one's permissions (and owner), else those asked for
        PosixFileAttributes old = posix ? existingAttributes(absolute) : null;
        Set<PosixFilePermission> permissions = old != null ? old.permissions() : posix ? newFilePermissions : null;
        String base = truncated(name.toString());
        removeStaleTemps(dir, base);
        Path temp = null;
        try {
            FileChannel channel = null;
            for (int attempt = 0; channel == null; attempt++) {
                Path candidate = dir.resolve("." + base + ".tmp-"
                        + Long.toHexString(ThreadLocalRandom.current().nextLong()));
                try {
                    // owner-only while being written when the final permissions are known, so that no one they
                    // exclude can open the temporary file and keep reading it after the rename
                    channel = permissions == null
                            ? FileChannel.open(candidate, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)
                            : FileChannel.open(candidate, Set.of(StandardOpenOption.CREATE_NEW,
                                    StandardOpenOption.WRITE), PosixFilePermissions.asFileAttribute(OWNER_ONLY));
                    temp = candidate;
                } catch (FileAlreadyExistsException e) {
                    if (attempt >= 16) {
                        throw e;
                    }
                }
            }
            try (FileChannel ch = channel) {
                Shield out = new Shield(new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16), absolute);
                writer.accept(out);
                out.flush();
                // Data on disk before the rename makes it visible; otherwise a power cut could leave
                // the new name pointing at empty blocks.
                try {
                    ch.force(true);
                } catch (IOException e) {
                    throw new IOException("cannot write " + absolute + ": " + e.getMessage(), e);
                }
            }
            if (old != null) {
                copyOwnership(old, temp);
            }
            if (permissions != null) {
                // after the owner: a change of owner may clear set-id bits; chmod, unlike creation, ignores the umask
                Files.setPosixFilePermissions(temp, permissions);
            }
            Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            temp = null;
            syncDirectory(dir);
        } catch (Throwable t) {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException | RuntimeException e) {
                    t.addSuppressed(e);
                }
            }
            if (t instanceof FileSystemException f) {
                throw aboutTarget(f, absolute, base);
            }
            throw t;
        }
    }

    /**
     * A file-system error about the temporary file (or about the rename from it) restated about the target, which
     * is the file the caller knows: "permission denied: model.safetensors", not its hidden temporary name.
     */
    static IOException aboutTarget(FileSystemException e, Path target, String base) {
        String file = e.getFile();
        Path name = file == null ? null : Path.of(file).getFileName();
        if (name == null || !isTempName(name.toString(), "." + base + ".tmp-")) {
            return e;
        }
        String reason = e.getReason() != null ? e.getReason()
                : e instanceof AccessDeniedException ? "permission denied"
                : e instanceof NoSuchFileException ? "no such folder: " + target.getParent()
                : e.getClass().getSimpleName();
        FileSystemException named = e instanceof AccessDeniedException
                ? new AccessDeniedException(target.toString(), null, reason)
                : e instanceof NoSuchFileException ? new NoSuchFileException(target.toString(), null, reason)
                : new FileSystemException(target.toString(), null, reason);
        named.initCause(e);
        return named;
    }

    /**
     * Deletes the temporary files a writer of this target left when it died ({@code .<name>.tmp-<hex>}, that exact
     * pattern, regular files only) once they are {@link #STALE_TEMP_AGE} old. Runs under the target's lock, so no
     * writer of this library is writing one of them; the age is for the writers the lock does not exclude (an older
     * version of this library, or a target whose long name shares the first 100 characters). Best effort: a file
     * that cannot be deleted stays.
     */
    private static void removeStaleTemps(Path dir, String base) {
        String prefix = "." + base + ".tmp-";
        long cutoff = System.currentTimeMillis() - STALE_TEMP_AGE.toMillis();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir,
                p -> isTempName(p.getFileName().toString(), prefix))) {
            for (Path p : entries) {
                try {
                    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class,
                            LinkOption.NOFOLLOW_LINKS);
                    if (a.isRegularFile() && a.lastModifiedTime().toMillis() < cutoff) {
                        Files.deleteIfExists(p);
                    }
                } catch (IOException | SecurityException e) {
                    // someone else removed it, or we may not: it is only litter
                }
            }
        } catch (IOException | SecurityException | java.io.UncheckedIOException e) {
            // an unlistable folder: the write itself will say what is wrong with it
        }
    }

    /** {@code prefix} then 1 to 16 lower-case hex digits: exactly the names {@link #replace} gives its temp files. */
    static boolean isTempName(String name, String prefix) {
        if (!name.startsWith(prefix)) {
            return false;
        }
        int n = name.length() - prefix.length();
        if (n < 1 || n > 16) {
            return false;
        }
        for (int i = prefix.length(); i < name.length(); i++) {
            char c = name.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static boolean isPosix(Path dir) {
        try {
            return Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class);
        } catch (IOException | SecurityException e) {
            return false; // the store cannot say: write as on a non-POSIX one
        }
    }

    /** The POSIX attributes of the target (of the file a link at it leads to), or null when there is none. */
    private static PosixFileAttributes existingAttributes(Path target) throws IOException {
        try {
            return Files.readAttributes(target, PosixFileAttributes.class);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Gives the temporary file the old file's owner and group, where allowed: the owner only root may change, the
     * group the owner may set to any group they belong to. Where not allowed the new file keeps the writer's; the
     * permissions are still copied.
     */
    private static void copyOwnership(PosixFileAttributes old, Path temp) {
        PosixFileAttributeView view = Files.getFileAttributeView(temp, PosixFileAttributeView.class,
                LinkOption.NOFOLLOW_LINKS);
        try {
            if (!view.getOwner().equals(old.owner())) {
                view.setOwner(old.owner());
            }
        } catch (IOException | SecurityException e) {
            // not root: the file is the writer's, as any file it creates
        }
        try {
            if (!view.readAttributes().group().equals(old.group())) {
                view.setGroup(old.group());
            }
        } catch (IOException | SecurityException e) {
            // the writer is not in that group
        }
    }

    /** The absolute folder and the file name of {@code target}; refuses a path with no file name. */
    static Path[] split(Path target, String op) {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        Path name = absolute.getFileName();
        if (dir == null || name == null) {
            throw new IllegalArgumentException(op + ": " + target + " is not a file path");
        }
        return new Path[] {dir, name};
    }

    /** A file name cut to what fits in a temp or lock file name. */
    static String truncated(String name) {
        return name.length() > MAX_NAME_IN_TEMP ? name.substring(0, MAX_NAME_IN_TEMP) : name;
    }

    /** Persists the folder entry (the rename). Best effort: some platforms cannot open a folder. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Windows and some file systems refuse; the rename is still atomic, only its durability waits
            // for the OS to flush metadata.
        }
    }

    /**
     * What the writer sees: closing it only flushes, so the channel stays open for the fsync; the bulk
     * write is forwarded (FilterOutputStream would split it into single bytes).
     */
    private static final class Shield extends OutputStream {
        private final OutputStream out;
        private final Path target;

        Shield(OutputStream out, Path target) {
            this.out = out;
            this.target = target;
        }

        @Override
        public void write(int b) throws IOException {
            try {
                out.write(b);
            } catch (IOException e) {
                throw failed(e);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            try {
                out.write(b, off, len);
            } catch (IOException e) {
                throw failed(e);
            }
        }

        @Override
        public void flush() throws IOException {
            try {
                out.flush();
            } catch (IOException e) {
                throw failed(e);
            }
        }

        @Override
        public void close() throws IOException {
            flush();
        }

        /** A write error ("No space left on device" names no file) with the file it was writing. */
        private IOException failed(IOException e) {
            return new IOException("cannot write " + target + ": " + e.getMessage(), e);
        }
    }
}
