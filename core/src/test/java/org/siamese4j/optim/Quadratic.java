package org.siamese4j.optim;

import org.siamese4j.tensor.Tensor;

/**
 * Test problem: L(w) = sum(a * w^2 / 2 + b * w) with fixed coefficients, so dL/dw = a * w + b changes from
 * step to step and an optimiser's whole trajectory (momentum, moment estimates) matters.
 */
final class Quadratic {
    final double[] a = {1.5, 0.5, 3.0, 0.8, 2.0};
    final double[] b = {-1.0, 0.7, 0.25, -2.0, 0.0};
    static final float[] START = {0.5f, -1.2f, 2.0f, 0.1f, -0.3f};

    private final Tensor aT;
    private final Tensor bT;

    Quadratic() {
        float[] af = new float[a.length];
        float[] bf = new float[b.length];
        for (int i = 0; i < a.length; i++) {
            af[i] = (float) a[i];
            bf[i] = (float) b[i];
        }
        aT = Tensor.of(af);
        bT = Tensor.of(bf);
    }

    /** A fresh trainable parameter at the start point. */
    static Tensor parameter() {
        return Tensor.of(START).requiresGrad(true);
    }

    /** Computes the loss and back-propagates, leaving dL/dw in {@code w.grad()}. */
    void backward(Tensor w) {
        w.mul(w).mul(aT).mul(0.5f).add(w.mul(bT)).sum().backward();
    }

    /** The gradient in double, for the reference implementations. */
    double[] grad(double[] w) {
        double[] g = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            g[i] = a[i] * w[i] + b[i];
        }
        return g;
    }

    static double[] start() {
        double[] w = new double[START.length];
        for (int i = 0; i < w.length; i++) {
            w[i] = START[i];
        }
        return w;
    }
}
