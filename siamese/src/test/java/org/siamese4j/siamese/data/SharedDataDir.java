package org.siamese4j.siamese.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Assumptions;

/**
 * Finds the read-only test data folder {@code shared/data}, a sibling of the repository, by walking up from the
 * working directory (a module folder under Maven, the repository root in an IDE). Tests that need it are skipped,
 * not failed, when it is absent.
 */
public final class SharedDataDir {
    private SharedDataDir() {
    }

    /** {@code shared/data/<sub>}, or a skipped test if no such folder exists above the working directory. */
    public static Path require(String sub) {
        for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("data").resolve(sub);
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        Assumptions.abort("test data shared/data/" + sub + " not found above " + Paths.get("").toAbsolutePath());
        throw new AssertionError("unreachable");
    }
}
