package org.siamese4j.kernels;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * The library's worker threads: one ForkJoin pool whose size is the number of threads the kernels may use.
 *
 * <p>Defaults to the number of processors; {@code -Dsiamese4j.threads=N} or {@link #setThreads} changes it
 * (benchmarks compare 1 and 2 threads this way). Work is only forked when it is big enough to pay for the
 * hand-off: callers check their own size threshold first.
 */
public final class Parallel {
    public static final String PROPERTY = "siamese4j.threads";

    private static volatile ForkJoinPool pool = newPool(initialThreads());
    /** True on a thread while it runs one task of a {@link #forEach}: nested forEach calls then run inline. */
    private static final ThreadLocal<Boolean> IN_TASK = ThreadLocal.withInitial(() -> Boolean.FALSE);

    private Parallel() {
    }

    /** How many threads kernels may use. */
    public static int threads() {
        return pool.getParallelism();
    }

    /** Sets the number of threads kernels may use (1 keeps all work on the calling thread). */
    public static synchronized void setThreads(int threads) {
        if (threads < 1 || threads > 1024) {
            throw new IllegalArgumentException("threads must be between 1 and 1024, got " + threads);
        }
        if (threads != pool.getParallelism()) {
            ForkJoinPool old = pool;
            pool = newPool(threads);
            old.shutdown();
        }
    }

    /** True while the current thread runs a task of {@link #forEach} (work is already split across threads). */
    public static boolean inParallelRegion() {
        return IN_TASK.get();
    }

    /**
     * Runs {@code body.accept(i)} for i in [0, tasks), split across the pool's threads (the calling thread
     * takes part). Runs inline when there is one task or one thread, and when called from inside a task: the
     * outer split already keeps every thread busy, and a nested split would only add hand-offs (and let a
     * waiting thread start an unrelated task while its thread-local buffers are in use).
     */
    public static void forEach(int tasks, IntConsumer body) {
        ForkJoinPool p = pool;
        if (tasks <= 1 || p.getParallelism() == 1 || IN_TASK.get()) {
            for (int i = 0; i < tasks; i++) {
                body.accept(i);
            }
            return;
        }
        RangeTask root = new RangeTask(0, tasks, body);
        if (ForkJoinTask.getPool() == p) {
            root.invoke();     // already a worker of our pool: fork within it
        } else {
            p.invoke(root);
        }
    }

    private static int initialThreads() {
        String v = System.getProperty(PROPERTY);
        if (v == null || v.isBlank()) {
            return Runtime.getRuntime().availableProcessors();
        }
        try {
            int t = Integer.parseInt(v.trim());
            if (t >= 1 && t <= 1024) {
                return t;
            }
        } catch (NumberFormatException ignored) {
            // fall through to the error below
        }
        throw new IllegalArgumentException("-D" + PROPERTY + "=" + v + " is not a thread count between 1 and 1024");
    }

    private static ForkJoinPool newPool(int threads) {
        return new ForkJoinPool(threads, pool -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("siamese4j-worker-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    /** Splits [from, to) in halves until one index is left. */
    private static final class RangeTask extends RecursiveAction {
        private static final long serialVersionUID = 1L;
        private final int from;
        private final int to;
        private final transient IntConsumer body;

        RangeTask(int from, int to, IntConsumer body) {
            this.from = from;
            this.to = to;
            this.body = body;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                boolean outer = IN_TASK.get();
                IN_TASK.set(Boolean.TRUE);
                try {
                    body.accept(from);
                } finally {
                    IN_TASK.set(outer);
                }
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new RangeTask(from, mid, body), new RangeTask(mid, to, body));
        }
    }
}
