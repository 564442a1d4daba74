/**
 * siamese4j core: float32 tensors with reverse-mode autograd, neural-network layers, initialisers,
 * optimisers, and the CPU kernels behind them. Depends on the JDK alone; the Vector API module is optional
 * and used when the JVM is started with {@code --add-modules jdk.incubator.vector}.
 */
module org.siamese4j.core {
    requires static jdk.incubator.vector;

    exports org.siamese4j.tensor;
    exports org.siamese4j.kernels;
    exports org.siamese4j.nn;
    exports org.siamese4j.optim;
    exports org.siamese4j.data;
    exports org.siamese4j.io;
    exports org.siamese4j.onnx;
}
