package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;

/**
 * Replacing a file keeps its POSIX permissions, owner and group, whichever save replaces it; a new file gets what
 * the caller asks for. Skipped where the file system has no POSIX permissions.
 */
class FilePermissionsTest {
    private static final ArchSpec ARCH = ArchSpec.parse("dense(2)");
    private static final int[] INPUT = {3};

    @TempDir
    Path dir;

    @BeforeEach
    void needsPosix() throws IOException {
        assumeTrue(Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class),
                "the file system of the temp folder has no POSIX permissions");
    }

    private interface Save {
        void to(Path file) throws IOException;
    }

    private static List<Save> everyKindOfSave() {
        Sequential model = ARCH.build(INPUT, new Rng(1));
        return List.of(
                f -> AtomicFiles.write(f, out -> out.write(1)),
                f -> AtomicFiles.writeLocked(f, AtomicFiles.OWNER_ONLY, out -> out.write(2)),
                f -> ModelFile.save(f, model, ARCH, INPUT),
                f -> Checkpoint.builder(model).epoch(1).build().save(f));
    }

    @Test
    void everySaveKeepsThePermissionsOwnerAndGroupOfTheFileItReplaces() throws IOException {
        for (String mode : List.of("rw-------", "rw-r-----", "r--------", "rw-rw-r--")) {
            int k = 0;
            for (Save save : everyKindOfSave()) {
                Path file = dir.resolve("f-" + mode + "-" + k++);
                Files.writeString(file, "old");
                Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
                PosixFileAttributes before = Files.readAttributes(file, PosixFileAttributes.class);
                save.to(file);
                save.to(file);
                PosixFileAttributes after = Files.readAttributes(file, PosixFileAttributes.class);
                assertThat(Files.readString(file, java.nio.charset.StandardCharsets.ISO_8859_1)).isNotEqualTo("old");
                assertThat(PosixFilePermissions.toString(after.permissions())).as("%s", file.getFileName())
                        .isEqualTo(mode);
                assertThat(after.owner()).isEqualTo(before.owner());
                assertThat(after.group()).isEqualTo(before.group());
            }
        }
    }

    @Test
    void aNewFileGetsThePermissionsAskedForWhateverTheUmask() throws IOException {
        Path file = dir.resolve("new.gallery");
        AtomicFiles.writeLocked(file, AtomicFiles.OWNER_ONLY, out -> out.write(1));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        // group-writable is more than the usual umask (022) lets a creation have: chmod sets it exactly
        Path shared = dir.resolve("shared.bin");
        AtomicFiles.writeLocked(shared, PosixFilePermissions.fromString("rw-rw----"), out -> out.write(1));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(shared))).isEqualTo("rw-rw----");
    }

    @Test
    void whileBeingWrittenTheTemporaryFileOfAPrivateTargetIsOwnerOnly() throws IOException {
        Path file = dir.resolve("g.safetensors");
        Files.writeString(file, "old");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        List<String> seen = new ArrayList<>();
        AtomicFiles.write(file, out -> {
            out.write(new byte[100]);
            out.flush();
            try (Stream<Path> files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    if (p.getFileName().toString().contains(".tmp-")) {
                        seen.add(PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
                    }
                }
            }
        });
        assertThat(seen).containsExactly("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-r-----");
    }
}
