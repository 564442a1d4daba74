package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The in-process half of {@link FileLocks}: threads of one JVM take turns, the lock is reentrant, a timeout names
 * the file. The cross-process half is tested with real processes in the examples module (ConcurrentEnrollTest).
 */
class FileLocksTest {
    @TempDir
    Path dir;

    @Test
    void threadsOfOneProcessTakeTurnsSoNoReadModifyWriteIsLost() throws Exception {
        Path counter = dir.resolve("counter.txt");
        Files.writeString(counter, "0");
        int threads = 8;
        int rounds = 10;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(pool.submit(() -> {
                    for (int r = 0; r < rounds; r++) {
                        FileLocks.withLock(counter, Duration.ofSeconds(30), () -> {
                            int n = Integer.parseInt(Files.readString(counter));
                            Thread.yield(); // widen the window a missing lock would lose updates in
                            AtomicFiles.write(counter, out -> out.write(Integer.toString(n + 1).getBytes()));
                            return null;
                        });
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS); // an OverlappingFileLockException would surface here
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(Files.readString(counter)).isEqualTo(Integer.toString(threads * rounds));
    }

    @Test
    void theLockIsReentrantAndItsFileStaysNextToTheTarget() throws IOException {
        Path target = dir.resolve("g.safetensors");
        String result = FileLocks.withLock(target, Duration.ZERO,
                () -> FileLocks.withLock(target, Duration.ZERO, () -> "inner"));
        assertThat(result).isEqualTo("inner");
        assertThat(FileLocks.lockFileOf(target)).isEqualTo(dir.resolve(".g.safetensors.lock"));
        assertThat(Files.isRegularFile(dir.resolve(".g.safetensors.lock"))).isTrue();
        assertThat(Files.exists(target)).isFalse();
    }

    @Test
    void aLockHeldByAnotherThreadTimesOutNamingTheFile() throws Exception {
        Path target = dir.resolve("gallery.st");
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            try {
                FileLocks.withLock(target, Duration.ZERO, () -> {
                    held.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return null;
                });
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        holder.start();
        try {
            assertThat(held.await(10, TimeUnit.SECONDS)).isTrue();
            long start = System.nanoTime();
            assertThatThrownBy(() -> FileLocks.withLock(target, Duration.ofMillis(200), () -> null))
                    .isInstanceOf(FileLockTimeoutException.class)
                    .hasMessage(target + " is being written by another thread of this process, which holds its lock "
                            + dir.toRealPath().resolve(".gallery.st.lock") + "; gave up after waiting 200 ms; try "
                            + "again when it has finished");
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
        } finally {
            release.countDown();
            holder.join();
        }
        // free again once released
        assertThat(FileLocks.withLock(target, Duration.ZERO, () -> "free")).isEqualTo("free");
    }

    @Test
    void workThatFailsReleasesTheLock() throws IOException {
        Path target = dir.resolve("m.st");
        assertThatThrownBy(() -> FileLocks.withLock(target, Duration.ZERO, () -> {
            throw new IOException("disk full");
        })).hasMessage("disk full");
        assertThat(FileLocks.withLock(target, Duration.ZERO, () -> 1)).isEqualTo(1);
    }

    @Test
    void aMissingFolderIsRefused() {
        assertThatThrownBy(() -> FileLocks.withLock(dir.resolve("no/such/x"), Duration.ZERO, () -> null))
                .isInstanceOf(java.nio.file.NoSuchFileException.class);
    }
}
