package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;

/**
 * The current thread's allocated bytes and CPU time, read from the JVM's thread bean.
 *
 * <p>Allocation proves that a hostile size claim was refused before any memory was spent (a big heap
 * would otherwise hide the allocation rather than fail with OutOfMemoryError). CPU time bounds the work
 * per fuzz case without flaking when a loaded machine deschedules the thread or the GC pauses it.
 * Reached reflectively: the test sources are compiled inside the core module, which does not read
 * {@code java.management}. Where the JVM cannot count, the readings are -1 and the checks are skipped. Public for
 * the fuzz tests of other packages (the ONNX reader's).
 */
public final class ThreadCounters {
    private static final Object BEAN;
    private static final Method ALLOCATED;
    private static final Method CPU;

    static {
        Object bean = null;
        Method allocated = null;
        Method cpu = null;
        try {
            bean = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
            Class<?> standard = Class.forName("java.lang.management.ThreadMXBean");
            if ((Boolean) standard.getMethod("isCurrentThreadCpuTimeSupported").invoke(bean)) {
                cpu = standard.getMethod("getCurrentThreadCpuTime");
            }
            Class<?> hotspot = Class.forName("com.sun.management.ThreadMXBean");
            if (hotspot.isInstance(bean)
                    && (Boolean) hotspot.getMethod("isThreadAllocatedMemoryEnabled").invoke(bean)) {
                allocated = hotspot.getMethod("getThreadAllocatedBytes", long.class);
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            // Counters unavailable: the checks that need them are skipped.
        }
        BEAN = bean;
        ALLOCATED = allocated;
        CPU = cpu;
    }

    private ThreadCounters() {
    }

    /** Bytes this thread has allocated so far, or -1 where the JVM cannot tell. */
    @SuppressWarnings("deprecation") // Thread.getId: threadId() is JDK 19+
    public static long allocatedBytes() {
        try {
            return ALLOCATED == null ? -1 : (Long) ALLOCATED.invoke(BEAN, Thread.currentThread().getId());
        } catch (ReflectiveOperationException e) {
            return -1;
        }
    }

    /** CPU nanoseconds this thread has used so far, or -1 where the JVM cannot tell. */
    public static long cpuNanos() {
        try {
            return CPU == null ? -1 : (Long) CPU.invoke(BEAN);
        } catch (ReflectiveOperationException e) {
            return -1;
        }
    }

    /** Asserts that this thread allocated fewer than {@code limit} bytes since {@code before}. */
    public static void assertAllocatedBelow(long before, long limit) {
        long now = allocatedBytes();
        if (before >= 0 && now >= 0) {
            assertThat(now - before).as("bytes allocated").isLessThan(limit);
        }
    }
}
