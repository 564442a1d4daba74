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
 *
 * <p>The choice itself is logged at FINE, not INFO: every run makes it, and an application embedding the library
 * should not find a timestamped record in the middle of its own output. {@link #description()} says what was
 * chosen and why, for a {@code version} or {@code --verbose} line.
 */
public final class KernelProvider {
    /** System property: {@code scalar} forces the reference kernels, {@code auto} (default) picks the best. */
    public static final String PROPERTY = "siamese4j.kernels";
    public static final String VECTOR_MODULE = "jdk.incubator.vector";
    /**
     * System property: the width of the Vector API kernels, {@code auto} (default: the widest the machine runs)
     * or {@code 256} or {@code 512} bits. Forcing a width the CPU lacks works but is very slow (the JDK emulates it).
     */
    public static final String VECTOR_BITS_PROPERTY = "siamese4j.vector.bits";

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

    /**
     * The kernels chosen and why, e.g. "vector-512 (jdk.incubator.vector, 2 processors)" or "scalar (the Vector
     * API module is not enabled: start java with --add-modules jdk.incubator.vector)".
     */
    public static String description() {
        return Holder.CHOICE.description();
    }

    public static boolean vectorModulePresent() {
        return ModuleLayer.boot().findModule(VECTOR_MODULE).isPresent();
    }

    /** The vector width {@link #VECTOR_BITS_PROPERTY} asks for: 256 or 512, or 0 for the machine's widest. */
    static int vectorBits() {
        String v = System.getProperty(VECTOR_BITS_PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        switch (v) {
            case "auto":
                return 0;
            case "256":
                return 256;
            case "512":
                return 512;
            default:
                throw new IllegalArgumentException("-D" + VECTOR_BITS_PROPERTY + "=" + v
                        + " is not a vector width; valid: auto, 256, 512");
        }
    }

    /** The kernels {@link #choose} picked, and a few words on why. */
    record Choice(Kernels kernels, String description) {
    }

    /**
     * Picks the kernels for the property value {@code wanted} ("auto", "vector" or "scalar") when the Vector API
     * kernels are {@code vector} (null when unavailable), and logs the choice. Not in {@link Holder}, so a test can
     * call it again after the JVM's one choice is made.
     */
    static Choice choose(String wanted, Kernels scalar, Kernels vector) {
        switch (wanted.trim().toLowerCase(Locale.ROOT)) {
            case "scalar":
                LOG.log(Level.DEBUG, "siamese4j: using scalar kernels (forced by -D" + PROPERTY + "=scalar)");
                return new Choice(scalar, "scalar (forced by -D" + PROPERTY + "=scalar)");
            case "auto":
            case "vector":
                break;
            default:
                throw new IllegalArgumentException("-D" + PROPERTY + "=" + wanted
                        + " is not a kernel choice; valid: auto, vector, scalar");
        }
        if (vector == null) {
            // a WARNING, unlike the choice: the user loses most of the speed and one flag gets it back
            LOG.log(Level.WARNING, "siamese4j: the Vector API module is not enabled, using the slower scalar "
                    + "kernels. Start java with --add-modules " + VECTOR_MODULE + " for SIMD.");
            return new Choice(scalar, "scalar (the Vector API module is not enabled: start java with --add-modules "
                    + VECTOR_MODULE + ")");
        }
        String why = VECTOR_MODULE + (vectorBits() == 0 ? "" : ", width forced by -D" + VECTOR_BITS_PROPERTY)
                + ", " + Runtime.getRuntime().availableProcessors() + " processors";
        LOG.log(Level.DEBUG, "siamese4j: using " + vector.name() + " kernels (" + why + ")");
        return new Choice(vector, vector.name() + " (" + why + ")");
    }

    private static final class Holder {
        static final Kernels SCALAR = new ScalarKernels();
        static final Kernels VECTOR = loadVector();
        static final Choice CHOICE = choose(System.getProperty(PROPERTY, "auto"), SCALAR, VECTOR);
        static final Kernels INSTANCE = CHOICE.kernels();

        private static Kernels loadVector() {
            vectorBits(); // a bad width is an error of its own, not a reason to fall back to the scalar kernels
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
    }
}
