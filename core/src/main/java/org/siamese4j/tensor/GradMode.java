package org.siamese4j.tensor;

/**
 * Whether ops record a graph on the current thread. Per thread, so one thread can run inference under
 * {@link Tensor#noGrad()} while another trains.
 */
public final class GradMode {
    private static final ThreadLocal<int[]> DISABLED_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private GradMode() {
    }

    public static boolean isEnabled() {
        return DISABLED_DEPTH.get()[0] == 0;
    }

    static Scope disable() {
        DISABLED_DEPTH.get()[0]++;
        return new Scope();
    }

    /** Closing the scope restores recording (scopes nest). */
    public static final class Scope implements AutoCloseable {
        private boolean closed;

        private Scope() {
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                DISABLED_DEPTH.get()[0]--;
            }
        }
    }
}
