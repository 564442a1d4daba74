package org.siamese4j.siamese.plot;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import org.siamese4j.siamese.data.FaceFolders;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.RocCurve;
import org.siamese4j.siamese.metrics.ScoredPairs;

/**
 * Writes one example of every plot for eyeballing. The "embeddings" are the raw pixels of AT&T faces (or synthetic
 * faces when shared/data is absent), L2-normalised: no model needed, and real enough to show overlap.
 *
 * <p>Run from the test classpath: {@code java ... org.siamese4j.siamese.plot.PlotGallery [out-dir]}; default
 * {@code /tmp/plots}.
 */
public final class PlotGallery {
    private PlotGallery() {
    }

    public static void main(String[] args) throws IOException {
        Path out = Paths.get(args.length > 0 ? args[0] : "/tmp/plots");
        ImageDataset data = faces();
        float[][] emb = pixelEmbeddings(data);

        double[] loss = new double[30];
        double[] auc = new double[30];
        for (int e = 0; e < loss.length; e++) {
            loss[e] = 0.08 + 0.6 * Math.exp(-e / 6.0) + 0.015 * Math.sin(1.7 * e);
            auc[e] = e % 3 == 2 ? 0.99 - 0.35 * Math.exp(-e / 5.0) : Double.NaN;
        }
        LossChart.write(out.resolve("loss.png"), loss, "held-out AUC", auc);

        ScoredPairs pairs = ScoredPairs.all(emb, data.labels(), EmbeddingDistance.EUCLIDEAN);
        RocCurve roc = pairs.roc();
        RocChart.write(out.resolve("roc.png"), roc);
        DistanceHistogram.write(out.resolve("distances.png"), pairs, roc.eerThreshold());

        int[] first = {0, 10, 20, 30, 41, 52, 63, 74};
        int[] second = {5, 17, 100, 205, 48, 300, 69, 390};
        double[] d = new double[first.length];
        for (int i = 0; i < d.length; i++) {
            d[i] = EmbeddingDistance.EUCLIDEAN.between(emb[first[i]], emb[second[i]]);
        }
        PairGrid.write(out.resolve("pairs.png"), data, first, second, d, 4);

        int[] firstTen = java.util.stream.IntStream.range(0, data.size()).filter(i -> data.label(i) < 10).toArray();
        float[][] sub = Arrays.stream(firstTen).mapToObj(i -> emb[i]).toArray(float[][]::new);
        ImageDataset subset = data.subset(firstTen);
        EmbeddingPlot.write(out.resolve("pca.png"), sub, subset);
        System.out.println("wrote 5 plots to " + out + " from " + data);
    }

    private static ImageDataset faces() throws IOException {
        for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path att = dir.resolve("shared/data/att_faces");
            if (Files.isDirectory(att)) {
                return FaceFolders.load(att);
            }
        }
        return SyntheticFaces.generate(40, 10, 7);
    }

    private static float[][] pixelEmbeddings(ImageDataset data) {
        int size = data.channels() * data.height() * data.width();
        float[] pixels = data.images().data();
        float[][] emb = new float[data.size()][];
        for (int i = 0; i < emb.length; i++) {
            emb[i] = Arrays.copyOfRange(pixels, i * size, (i + 1) * size);
            double norm = 0;
            for (float v : emb[i]) {
                norm += v * v;
            }
            for (int j = 0; j < size; j++) {
                emb[i][j] /= (float) Math.sqrt(norm);
            }
        }
        return emb;
    }
}
