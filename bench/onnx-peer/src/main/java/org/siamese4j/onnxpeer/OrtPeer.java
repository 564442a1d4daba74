package org.siamese4j.onnxpeer;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * ONNX Runtime Java inference timings of any {@code .onnx} file with one float input [N, C, H, W], the same-run
 * baseline of siamese4j's {@code OnnxNetBench}. The protocol is that of the reference tower's JVM peers: the
 * CPU execution provider, graph optimisation level ALL_OPT, {@code threads} intra-op threads, one inter-op
 * thread, sequential execution; {@code warm} untimed calls, then the median of {@code reps} timed ones. A call
 * copies the images from a Java array into a native tensor, runs, and copies the outputs back: what a caller
 * pays.
 *
 * <pre>
 * OrtPeer FILE BATCH THREADS [WARM REPS]
 *   batch 1  -> ort_infer_b1_{T}t_ms VALUE      (defaults: 10 warm-up, 51 timed)
 *   batch N  -> ort_infer_bN_{T}t_img_s VALUE   (defaults: 2 warm-up, 9 timed)
 * </pre>
 *
 * The figure goes to stdout; a line with min, max and the CPU time of the calling thread goes to stderr.
 */
public final class OrtPeer {
    private OrtPeer() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3 || args.length > 5) {
            System.err.println("usage: OrtPeer FILE BATCH THREADS [WARM REPS]");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException("OrtPeer: no such file: " + file);
        }
        int batch = Integer.parseInt(args[1]);
        int threads = Integer.parseInt(args[2]);
        int warm = args.length > 3 ? Integer.parseInt(args[3]) : batch == 1 ? 10 : 2;
        int reps = args.length > 4 ? Integer.parseInt(args[4]) : batch == 1 ? 51 : 9;

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession session = env.createSession(file.toString(), options)) {
                Map.Entry<String, NodeInfo> input = session.getInputInfo().entrySet().iterator().next();
                long[] shape = batchShape(input.getKey(), input.getValue(), batch);
                float[] images = uniformImages(shape, 42);
                note("ONNX Runtime %s on %s: input '%s' %s, %d intra-op threads, 1 inter-op, ALL_OPT",
                        env.getVersion(), file, input.getKey(), Arrays.toString(shape), threads);

                for (int i = 0; i < warm; i++) {
                    run(env, session, input.getKey(), images, shape);
                }
                ThreadMXBean mx = ManagementFactory.getThreadMXBean();
                double[] seconds = new double[reps];
                long cpu0 = mx.getCurrentThreadCpuTime();
                long wall0 = System.nanoTime();
                for (int i = 0; i < reps; i++) {
                    long t = System.nanoTime();
                    run(env, session, input.getKey(), images, shape);
                    seconds[i] = (System.nanoTime() - t) * 1e-9;
                }
                double callerCpuShare = (double) (mx.getCurrentThreadCpuTime() - cpu0) / (System.nanoTime() - wall0);
                report(batch, threads, warm, seconds, callerCpuShare);
            }
        }
    }

    /** The input's declared shape with its batch dimension (and nothing else) set to {@code batch}. */
    static long[] batchShape(String name, NodeInfo info, int batch) {
        if (!(info.getInfo() instanceof TensorInfo tensor) || tensor.getShape().length != 4) {
            throw new IllegalArgumentException("OrtPeer: input '" + name + "' is " + info.getInfo()
                    + "; expected a float tensor [N, C, H, W]");
        }
        long[] shape = tensor.getShape().clone();
        for (int i = 1; i < shape.length; i++) {
            if (shape[i] <= 0) {
                throw new IllegalArgumentException("OrtPeer: input '" + name + "' has shape "
                        + Arrays.toString(shape) + "; only the batch dimension may be free");
            }
        }
        shape[0] = batch;
        return shape;
    }

    /** Uniform [0, 1) values, as many as the shape holds. */
    static float[] uniformImages(long[] shape, long seed) {
        Random random = new Random(seed);
        float[] x = new float[Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
        for (int i = 0; i < x.length; i++) {
            x[i] = random.nextFloat();
        }
        return x;
    }

    /** One call as a caller makes it: Java array in, Java array of the first output back. */
    static float[] run(OrtEnvironment env, OrtSession session, String inputName, float[] images, long[] shape)
            throws OrtException {
        try (OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(images), shape);
                OrtSession.Result result = session.run(Map.of(inputName, x))) {
            FloatBuffer out = ((OnnxTensor) result.get(0)).getFloatBuffer();
            float[] values = new float[out.remaining()];
            out.get(values);
            return values;
        }
    }

    static void report(int batch, int threads, int warm, double[] seconds, double callerCpuShare) {
        double[] sorted = seconds.clone();
        Arrays.sort(sorted);
        double median = sorted[sorted.length / 2];
        String name = "ort_infer_b" + batch + "_" + threads + "t";
        if (batch == 1) {
            System.out.printf(Locale.ROOT, "%s_ms %.3f%n", name, median * 1e3);
        } else {
            System.out.printf(Locale.ROOT, "%s_img_s %.1f%n", name, batch / median);
        }
        note("%s: %d calls after %d warm-up: median %.3f ms, min %.3f, max %.3f; calling thread's CPU %.0f%% of"
                        + " the wall time", name, seconds.length, warm, median * 1e3, sorted[0] * 1e3,
                sorted[sorted.length - 1] * 1e3, 100 * callerCpuShare);
    }

    private static void note(String format, Object... args) {
        System.err.println("# " + String.format(Locale.ROOT, format, args));
    }
}
