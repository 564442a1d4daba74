package org.siamese4j.optim;

/**
 * Cosine annealing from the base rate down to {@code etaMin} over {@code tMax} epochs (Loshchilov and Hutter
 * 2017, without restarts), in PyTorch's closed form:
 * {@code etaMin + (base - etaMin) * (1 + cos(pi * epoch / tMax)) / 2}. Past {@code tMax} the cosine carries
 * on, rising again, as PyTorch's closed form does.
 */
public final class CosineAnnealingLR extends LRScheduler {
    private final int tMax;
    private final double etaMin;

    /** etaMin 0, PyTorch's default. */
    public CosineAnnealingLR(Optimizer optimizer, int tMax) {
        this(optimizer, tMax, 0.0);
    }

    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin) {
        super(optimizer);
        if (tMax <= 0) {
            throw new IllegalArgumentException("CosineAnnealingLR: tMax must be positive, got " + tMax);
        }
        if (!(etaMin >= 0) || !Double.isFinite(etaMin)) {
            throw new IllegalArgumentException("CosineAnnealingLR: etaMin must be >= 0 and finite, got " + etaMin);
        }
        this.tMax = tMax;
        this.etaMin = etaMin;
    }

    @Override
    protected double lrAt(int epoch, double baseLr) {
        return etaMin + (baseLr - etaMin) * (1 + Math.cos(Math.PI * epoch / tMax)) / 2;
    }
}
