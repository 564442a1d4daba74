package org.siamese4j.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import org.siamese4j.siamese.verify.Gallery;
import org.siamese4j.siamese.verify.Match;
import org.siamese4j.siamese.verify.Verifier;
import org.siamese4j.tensor.Rng;

/**
 * The memory a gallery of 128-d identities (one embedding each, as in {@link GalleryBench}) needs; its times come
 * from {@link GalleryBench}. The first run with a file that does not exist builds the gallery and saves it there,
 * printing the file's size; a later run loads that file, identifies a probe and saves the gallery to a second file,
 * printing the heap the loaded gallery holds. That run completing under a given {@code -Xmx} shows that heap is
 * enough to load, identify and save.
 *
 * <pre>
 * java -Xmx3g -cp bench/target/benchmarks.jar org.siamese4j.bench.GalleryFootprint 1000000 /tmp/big.gallery
 * java -Xmx1g -cp bench/target/benchmarks.jar org.siamese4j.bench.GalleryFootprint 1000000 /tmp/big.gallery
 * </pre>
 */
public final class GalleryFootprint {
    private GalleryFootprint() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: GalleryFootprint PEOPLE FILE");
            System.exit(2);
        }
        int people = Integer.parseInt(args[0]);
        Path file = Path.of(args[1]);
        Verifier verifier = GalleryBench.verifier();
        if (!Files.exists(file)) {
            GalleryBench.randomGallery(verifier, people, new Rng(2)).save(file);
            System.out.printf("saved %,d people to %s: %,d bytes%n", people, file, Files.size(file));
            return;
        }
        long before = heapUsedAfterGc();
        Gallery gallery = Gallery.load(file, verifier);
        long held = heapUsedAfterGc() - before;
        Match match = gallery.identifyEmbedding(GalleryBench.randomEmbedding(new Rng(3)));
        Path copy = file.resolveSibling(file.getFileName() + ".copy");
        gallery.save(copy);
        System.out.printf("max heap %,d MB: loaded %,d people (%,d bytes on disk), identified (nearest %s), saved"
                + " %,d bytes; the loaded gallery holds %,d MB of heap, %,d bytes per person%n",
                Runtime.getRuntime().maxMemory() >> 20, gallery.size(), Files.size(file), match.nearest(),
                Files.size(copy), held >> 20, held / Math.max(1, gallery.size()));
        Files.delete(copy);
    }

    /** The heap in use after a full collection (System.gc() is one on the JDK's collectors by default). */
    private static long heapUsedAfterGc() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        System.gc();
        return memory.getHeapMemoryUsage().getUsed();
    }
}
