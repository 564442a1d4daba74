package org.siamese4j.tensor;

import java.util.Locale;
import java.util.function.Function;

/**
 * Checks an analytic gradient against central finite differences, for any expression built from tensors.
 *
 * <p>The output is reduced to a scalar in double precision, {@code L = sum_i w_i * out_i} with fixed random
 * weights {@code w}, so every output element is tested and the reduction itself adds no float32 error. The
 * analytic side is {@code out.backward(w)}; the numeric side perturbs each input element by {@code +-eps} and
 * takes {@code (L+ - L-) / (x+ - x-)}, using the step actually representable in float32.
 *
 * <p>Why float tolerances: our tensors are float32, so each {@code L} carries a rounding error of roughly
 * {@code 1e-7 * sqrt(outputs)}; divided by a step of {@code 2e-2} that is ~1e-5 per output element, while the
 * truncation error of central differences is {@code eps^2/6 * f'''} ~ 2e-5. An element passes when
 * {@code |analytic - numeric| <= atol + rtol * |numeric|}, defaults {@code atol = 1e-3}, {@code rtol = 1e-2}:
 * two orders of magnitude above that noise, and far below the error of a wrong gradient (a missing factor,
 * a swapped index) on inputs of order one. Keep inputs away from kinks (relu at 0, ties in max) by more than
 * {@code eps}.
 *
 * <pre>{@code
 * Tensor x = Tensor.randn(new Rng(1), 3, 5).requiresGrad(true);
 * GradCheck.Result r = GradCheck.check(in -> in[0].tanh().mul(in[0]), x);
 * System.out.println(r);   // worst element, both gradients, passed or not
 * }</pre>
 */
public final class GradCheck {
    public static final double DEFAULT_EPS = 1e-2;
    public static final double DEFAULT_ATOL = 1e-3;
    public static final double DEFAULT_RTOL = 1e-2;

    private GradCheck() {
    }

    /** The worst element over all inputs, and whether every element passed. */
    public record Result(boolean passed, int worstInput, int worstIndex, double analytic, double numeric,
                         double absError, int elementsChecked) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT,
                    "gradcheck %s: %d elements, worst is input %d element %d: analytic %.6g, numeric %.6g "
                            + "(abs error %.3g)",
                    passed ? "passed" : "FAILED", elementsChecked, worstInput, worstIndex, analytic, numeric,
                    absError);
        }
    }

    public static Result check(Function<Tensor[], Tensor> f, Tensor... inputs) {
        return check(f, DEFAULT_EPS, DEFAULT_ATOL, DEFAULT_RTOL, inputs);
    }

    /**
     * @param f      the expression; it must be deterministic (seed any dropout inside it)
     * @param inputs tensors whose gradients are checked; those without {@code requiresGrad} are held fixed
     */
    public static Result check(Function<Tensor[], Tensor> f, double eps, double atol, double rtol,
                               Tensor... inputs) {
        for (Tensor in : inputs) {
            if (!in.isLeaf()) {
                throw new IllegalArgumentException("gradcheck: inputs must be leaf tensors");
            }
            in.zeroGrad();
        }
        Tensor out = f.apply(inputs);
        Rng rng = new Rng(0x5EEDL);
        Tensor weights = Tensor.uniform(rng, -1f, 1f, out.shape);
        out.backward(weights);

        boolean passed = true;
        double worstScore = -1;
        Result worst = null;
        int checked = 0;
        for (int t = 0; t < inputs.length; t++) {
            Tensor in = inputs[t];
            if (!in.requiresGrad()) {
                continue;
            }
            float[] analytic = in.grad == null ? new float[in.size()] : in.grad.clone();
            for (int i = 0; i < in.size(); i++) {
                float original = in.data[i];
                float plus = (float) (original + eps);
                float minus = (float) (original - eps);
                in.data[i] = plus;
                double lossPlus = projectedLoss(f, inputs, weights);
                in.data[i] = minus;
                double lossMinus = projectedLoss(f, inputs, weights);
                in.data[i] = original;
                double numeric = (lossPlus - lossMinus) / ((double) plus - minus);
                double error = Math.abs(analytic[i] - numeric);
                double allowed = atol + rtol * Math.abs(numeric);
                boolean ok = error <= allowed && Double.isFinite(analytic[i]);
                passed &= ok;
                checked++;
                double score = Double.isFinite(analytic[i]) ? error / allowed : Double.POSITIVE_INFINITY;
                if (score > worstScore) {
                    worstScore = score;
                    worst = new Result(false, t, i, analytic[i], numeric, error, 0);
                }
            }
        }
        if (worst == null) {
            throw new IllegalArgumentException("gradcheck: no input has requiresGrad(true)");
        }
        for (Tensor in : inputs) {
            in.zeroGrad();
        }
        return new Result(passed, worst.worstInput(), worst.worstIndex(), worst.analytic(), worst.numeric(),
                worst.absError(), checked);
    }

    private static double projectedLoss(Function<Tensor[], Tensor> f, Tensor[] inputs, Tensor weights) {
        try (GradMode.Scope ignored = Tensor.noGrad()) {
            Tensor out = f.apply(inputs);
            double loss = 0;
            for (int i = 0; i < out.data.length; i++) {
                loss += (double) weights.data[i] * out.data[i];
            }
            return loss;
        }
    }
}
