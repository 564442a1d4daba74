package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

    @TempDir
    Path dir;

    @Test
    void writesAndReplacesLeavingOnlyTheTarget() throws IOException {
        Path target = dir.resolve("gallery.bin");
        AtomicFiles.write(target, out -> out.write("first".getBytes(StandardCharsets.UTF_8)));
        assertThat(Files.readString(target)).isEqualTo("first");
        AtomicFiles.write(target, out -> out.write("second, longer".getBytes(StandardCharsets.UTF_8)));
        assertThat(Files.readString(target)).isEqualTo("second, longer");
        AtomicFiles.write(target, out -> { });
        assertThat(Files.size(target)).isZero();
        assertThat(names()).containsExactly("gallery.bin");
    }

    @Test
    void writesGoToAHiddenTempFileInTheSameFolderUntilTheRename() throws IOException {
        Path target = dir.resolve("model.safetensors");
        List<String> seenDuringWrite = new ArrayList<>();
        AtomicFiles.write(target, out -> {
            out.write(new byte[100_000]);
            out.flush();
            seenDuringWrite.addAll(names());
        });
        assertThat(seenDuringWrite).hasSize(1);
        assertThat(seenDuringWrite.get(0)).matches("\\.model\\.safetensors\\.tmp-[0-9a-f]+");
        assertThat(names()).containsExactly("model.safetensors");
        assertThat(Files.size(target)).isEqualTo(100_000);
    }

    @Test
    void failingWriterLeavesOldFileAndNoTempFile() throws IOException {
        Path target = dir.resolve("ckpt.safetensors");
        Files.writeString(target, "old content");
        IOException failure = new IOException("disk full");
        assertThatThrownBy(() -> AtomicFiles.write(target, out -> {
            out.write(new byte[200_000]); // past the buffer: part of it is already in the temp file
            throw failure;
        })).isSameAs(failure);
        assertThat(Files.readString(target)).isEqualTo("old content");
        assertThat(names()).containsExactly("ckpt.safetensors");

        RuntimeException bug = new IllegalStateException("bug in the writer");
        assertThatThrownBy(() -> AtomicFiles.write(target, out -> {
            out.write(1);
            throw bug;
        })).isSameAs(bug);
        assertThat(Files.readString(target)).isEqualTo("old content");
        assertThat(names()).containsExactly("ckpt.safetensors");
    }

    @Test
    void failingWriterForANewFileCreatesNothing() throws IOException {
        Path target = dir.resolve("new.bin");
        assertThatThrownBy(() -> AtomicFiles.write(target, out -> {
            throw new IOException("nope");
        })).hasMessage("nope");
        assertThat(names()).isEmpty();
    }

    @Test
    void writerMayCloseTheStream() throws IOException {
        Path target = dir.resolve("closed.txt");
        AtomicFiles.write(target, out -> {
            try (OutputStream o = out) {
                o.write("kept".getBytes(StandardCharsets.UTF_8));
            }
        });
        assertThat(Files.readString(target)).isEqualTo("kept");
    }

    @Test
    void missingFolderAndDirectoryTargetsFailWithoutSideEffects() throws IOException {
        assertThatThrownBy(() -> AtomicFiles.write(dir.resolve("no/such/folder/x.bin"), out -> out.write(1)))
                .isInstanceOf(NoSuchFileException.class).hasMessageContaining("x.bin").hasMessageNotContaining(".tmp-")
                .hasMessageContaining("no such folder");
        Path sub = Files.createDirectory(dir.resolve("sub"));
        assertThatThrownBy(() -> AtomicFiles.write(sub, out -> out.write(1)))
                .isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("is a directory");
        assertThat(Files.isDirectory(sub)).isTrue();
        assertThat(allNames()).containsExactly("sub");
    }

    @Test
    void relativeTargetAndLongNamesWork() throws IOException {
        String longName = "n".repeat(200) + ".bin";
        Path target = dir.resolve(longName);
        AtomicFiles.write(target, out -> out.write(7));
        assertThat(Files.readAllBytes(target)).containsExactly(7);
        assertThat(names()).containsExactly(longName);
    }

    @Test
    void aLockedWriteLeavesTheTargetsEmptyLockFileAndAPlainOneNothing() throws IOException {
        Path target = dir.resolve("gallery.bin");
        AtomicFiles.writeLocked(target, null, out -> out.write(1));
        AtomicFiles.writeLocked(target, null, out -> out.write(2));
        assertThat(allNames()).containsExactly(".gallery.bin.lock", "gallery.bin");
        assertThat(Files.size(dir.resolve(".gallery.bin.lock"))).isZero();

        AtomicFiles.write(dir.resolve("plot.png"), out -> out.write(3));
        assertThat(allNames()).containsExactly(".gallery.bin.lock", "gallery.bin", "plot.png");
    }

    @Test
    void aWriteRemovesItsTargetsTempFilesLeftAnHourAgoAndNothingElse() throws IOException {
        Path target = dir.resolve("g.safetensors");
        FileTime old = FileTime.from(Instant.now().minus(Duration.ofHours(2)));
        List<String> stale = List.of(".g.safetensors.tmp-1f", ".g.safetensors.tmp-0123456789abcdef");
        // another target's, a name that only looks alike, a fresh one (its writer may be alive), a folder
        List<String> kept = List.of(".h.safetensors.tmp-1f", ".g.safetensors.tmp-1F", ".g.safetensors.tmp-",
                ".g.safetensors.tmp-12345678901234567", ".g.safetensors.tmp-1f.bak", "g.safetensors.tmp-1f",
                ".g.safetensors.tmp-abc");
        for (String n : stale) {
            Files.setLastModifiedTime(Files.writeString(dir.resolve(n), "x"), old);
        }
        for (String n : kept) {
            Path p = Files.writeString(dir.resolve(n), "x");
            if (!n.equals(".g.safetensors.tmp-abc")) {
                Files.setLastModifiedTime(p, old);
            }
        }
        Files.setLastModifiedTime(Files.createDirectory(dir.resolve(".g.safetensors.tmp-2e")), old);
        AtomicFiles.write(target, out -> out.write(1));
        List<String> expected = new ArrayList<>(kept);
        expected.add(".g.safetensors.tmp-2e");
        expected.add("g.safetensors");
        assertThat(names()).containsExactlyInAnyOrderElementsOf(expected);
    }

    @Test
    void errorsAboutTheTempFileNameTheTarget() {
        Path target = dir.resolve("g.safetensors");
        Path temp = dir.resolve(".g.safetensors.tmp-3a");
        IOException denied = AtomicFiles.aboutTarget(new AccessDeniedException(temp.toString()), target,
                "g.safetensors");
        assertThat(denied).isInstanceOf(AccessDeniedException.class).hasMessageNotContaining(".tmp-")
                .hasCauseInstanceOf(AccessDeniedException.class);
        assertThat(((FileSystemException) denied).getFile()).isEqualTo(target.toString());
        IOException move = AtomicFiles.aboutTarget(new FileSystemException(temp.toString(), target.toString(),
                "Read-only file system"), target, "g.safetensors");
        assertThat(move).hasMessage(target + ": Read-only file system");
        // an error about another file (the writer's own) is left as it is
        FileSystemException other = new FileSystemException(dir.resolve("input.bin").toString());
        assertThat(AtomicFiles.aboutTarget(other, target, "g.safetensors")).isSameAs(other);
    }

    @Test
    void aFolderThatCannotBeWrittenIsReportedAboutTheTarget() throws IOException {
        Path locked = Files.createDirectory(dir.resolve("locked"));
        Path target = locked.resolve("m.safetensors");
        FileLocks.withLock(target, Duration.ZERO, () -> null); // the lock file exists; only the temp file fails
        locked.toFile().setWritable(false, false);
        try {
            assumeTrue(!Files.isWritable(locked), "the user may write a read-only folder (root)");
            assertThatThrownBy(() -> AtomicFiles.write(target, out -> out.write(1)))
                    .isInstanceOf(AccessDeniedException.class).hasMessage(target.toString())
                    .hasMessageNotContaining(".tmp-");
        } finally {
            locked.toFile().setWritable(true, false);
        }
    }

    /** The files in the folder, without the lock files {@link FileLocks} leaves (see its class comment). */
    private List<String> names() throws IOException {
        return allNames().stream().filter(n -> !n.endsWith(".lock")).toList();
    }

    private List<String> allNames() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
