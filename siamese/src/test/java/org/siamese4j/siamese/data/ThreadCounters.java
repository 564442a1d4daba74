package org.siamese4j.siamese.data;

import java.lang.reflect.Method;

/**
 * The current thread's CPU time and allocated bytes, from the JVM's thread bean, for {@link LoaderFuzzTest}.
 * CPU time bounds the work per case without flaking when the machine is loaded; allocation shows that a
 * hostile size claim was refused before memory was spent (a big heap would hide it otherwise). Reached
 * reflectively because the module descriptor does not read {@code java.management}; where the JVM cannot
 * count, the readings are -1.
 */
final class ThreadCounters {
    private static final Object BEAN;
    private static final Method CPU;
    private static final Method ALLOCATED;

    static {
        Object bean = null;
        Method cpu = null;
        Method allocated = null;
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
            // Counters unavailable: readings are -1 and the checks that need them are skipped.
        }
        BEAN = bean;
        CPU = cpu;
        ALLOCATED = allocated;
    }

    private ThreadCounters() {
    }

    static long cpuNanos() {
        try {
            return CPU == null ? -1 : (Long) CPU.invoke(BEAN);
        } catch (ReflectiveOperationException e) {
            return -1;
        }
    }

    @SuppressWarnings("deprecation") // Thread.getId: threadId() is JDK 19+
    static long allocatedBytes() {
        try {
            return ALLOCATED == null ? -1 : (Long) ALLOCATED.invoke(BEAN, Thread.currentThread().getId());
        } catch (ReflectiveOperationException e) {
            return -1;
        }
    }
}
