package org.siamese4j.optim;

/**
 * A linear warm-up then cosine decay, the usual schedule for Adam on a short budget: the rate rises from
 * {@code base / (warmup + 1)} to the base rate over the first {@code warmup} steps (Adam's early moment
 * estimates are poor, and a full-size first step can throw freshly initialised weights far off), then follows
 * {@code etaMin + (base - etaMin) * (1 + cos(pi * t / (total - warmup))) / 2} down to {@code etaMin} at
 * {@code total}, and stays there. Call {@link #step()} once per optimiser step ({@link LRScheduler}'s "epoch"
 * counts whatever the caller steps it by; the {@code Trainer} steps it once per step).
 */
public final class WarmupCosineLR extends LRScheduler {
    private final int warmup;
    private final int total;
    private final double etaMin;

    public WarmupCosineLR(Optimizer optimizer, int warmup, int total, double etaMin) {
        super(optimizer);
        if (warmup < 0 || total <= warmup) {
            throw new IllegalArgumentException("WarmupCosineLR: need 0 <= warmup < total, got warmup " + warmup
                    + " and total " + total);
        }
        if (!(etaMin >= 0) || !Double.isFinite(etaMin)) {
            throw new IllegalArgumentException("WarmupCosineLR: etaMin must be >= 0 and finite, got " + etaMin);
        }
        this.warmup = warmup;
        this.total = total;
        this.etaMin = etaMin;
        setEpoch(0);
    }

    @Override
    protected double lrAt(int step, double baseLr) {
        if (step < warmup) {
            return baseLr * (step + 1) / (warmup + 1);
        }
        double t = Math.min(step, total) - warmup;
        return etaMin + (baseLr - etaMin) * (1 + Math.cos(Math.PI * t / (total - warmup))) / 2;
    }
}
