package org.siamese4j.kernels;

import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * Chooses the kernel implementation once per JVM, the way Apache Lucene chooses its vectorisation provider.
 *
 * <p>The Vector API class is loaded reflectively, and only after
 * {@code ModuleLayer.boot().findModule("jdk.incubator.vector")} has found the module, so a JVM started without
 * {@code --add-modules jdk.incubator.vector} never touches it and silently gets the scalar kernels (plus one
 * WARNING line naming the flag). Set {@code -Dsiamese4j.kernels=scalar} to force the reference kernels.
 */
public final class KernelProvider {
    /** System property: {@code scalar} forces the reference kernels, {@code auto} (default) picks the best. */
    public static final String PROPERTY = "siamese4j.kernels";
    public static final String VECTOR_MODULE = "jdk.incubator.vector";

    private static final Logger LOG = System.getLogger(KernelProvider.class.getName());

    private KernelProvider() {
    }

    /** The kernels every op uses. */
    public static Kernels kernels() {
        return Holder.INSTANCE;
    }

    /** The reference kernels, always available. */
    public static Kernels scalar() {
        return Holder.SCALAR;
    }

    /** The Vector API kernels, or null when the module is not in this JVM. */
    public static Kernels vectorOrNull() {
        return Holder.VECTOR;
    }

    public static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    private static final class Holder {
        static final Kernels SCALAR = new ScalarKernels();
        static final Kernels VECTOR = loadVector();
        static final Kernels INSTANCE = choose();

        private static Kernels loadVector() {
            if (!vectorModulePresent()) {
                return null;
            }
            try {
                Class<?> cls = Class.forName("org.siamese4j.kernels.VectorKernels");
                return (Kernels) cls.getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                LOG.log(Level.WARNING, "siamese4j: could not start the Vector API kernels (" + e
                        + "); using the scalar kernels");
                return null;
            }
        }

        private static Kernels choose() {
            String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
            switch (wanted) {
                case "scalar":
                    LOG.log(Level.INFO, "siamese4j: using scalar kernels (forced by -D" + PROPERTY + "=scalar)");
                    return SCALAR;
                case "auto":
                case "vector":
                    break;
                default:
                    throw new IllegalArgumentException("-D" + PROPERTY + "=" + wanted
                            + " is not a kernel choice; valid: auto, vector, scalar");
            }
            if (VECTOR == null) {
                LOG.log(Level.WARNING, "siamese4j: the Vector API module is not enabled, using the slower scalar "
                        + "kernels. Start java with --add-modules " + VECTOR_MODULE + " for SIMD.");
                return SCALAR;
            }
            LOG.log(Level.INFO, "siamese4j: using " + VECTOR.name() + " kernels ("
                    + Runtime.getRuntime().availableProcessors() + " processors)");
            return VECTOR;
        }
    }
}
