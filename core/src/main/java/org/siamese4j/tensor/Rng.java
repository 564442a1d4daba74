package org.siamese4j.tensor;

/**
 * The one source of randomness for initialisation, dropout, sampling and augmentation.
 *
 * <p>Passed explicitly everywhere (never a hidden global) so that a training run is reproducible from its seed.
 * The generator is SplitMix64: its whole state is one {@code long}, which {@link #state()} exposes so a
 * checkpoint can save and restore it exactly. Gaussians come from Box-Muller without a cached spare, so the
 * state really is that single number.
 */
public final class Rng {
    private long state;

    public Rng(long seed) {
        this.state = seed;
    }

    /** The full generator state: {@code new Rng(0).restore(r.state())} continues exactly where {@code r} is. */
    public long state() {
        return state;
    }

    public Rng restore(long savedState) {
        this.state = savedState;
        return this;
    }

    /** A new generator whose stream is independent of this one's continuation (for per-worker streams). */
    public Rng split() {
        return new Rng(nextLong() ^ 0x9E3779B97F4A7C15L);
    }

    public long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 53 random bits. */
    public double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, 1) with 24 random bits. */
    public float nextFloat() {
        return (nextLong() >>> 40) * 0x1.0p-24f;
    }

    /** Uniform integer in [0, bound), unbiased (rejection of the short top range). */
    public int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive, got " + bound);
        }
        long limit = (1L << 32) - ((1L << 32) % bound);
        while (true) {
            long bits = nextLong() >>> 32;
            if (bits < limit) {
                return (int) (bits % bound);
            }
        }
    }

    public boolean nextBoolean() {
        return nextLong() < 0;
    }

    /** Standard normal by Box-Muller; uses two uniforms and keeps no spare. */
    public double nextGaussian() {
        double u1 = nextDouble();
        double u2 = nextDouble();
        // 1 - u1 lies in (0, 1], so the log is finite.
        return StrictMath.sqrt(-2.0 * StrictMath.log(1.0 - u1)) * StrictMath.cos(2.0 * Math.PI * u2);
    }

    /** Fisher-Yates shuffle in place. */
    public void shuffle(int[] values) {
        for (int i = values.length - 1; i > 0; i--) {
            int j = nextInt(i + 1);
            int t = values[i];
            values[i] = values[j];
            values[j] = t;
        }
    }

    /** A random permutation of 0..n-1. */
    public int[] permutation(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        shuffle(p);
        return p;
    }
}
