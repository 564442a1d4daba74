package org.siamese4j.bench;

import java.util.Locale;
import org.siamese4j.kernels.ConvAlgorithm;
import org.siamese4j.kernels.KernelProvider;
import org.siamese4j.kernels.Parallel;

/** The one line each benchmark fork prints before it measures: which kernels run, so every figure names them. */
final class KernelLine {
    private KernelLine() {
    }

    /** Prints the kernels, the worker threads and the convolution setting of this fork. */
    static void print() {
        System.out.println("# siamese4j kernels: " + KernelProvider.description() + "; " + Parallel.threads()
                + " threads; conv " + ConvAlgorithm.current().name().toLowerCase(Locale.ROOT));
    }
}
