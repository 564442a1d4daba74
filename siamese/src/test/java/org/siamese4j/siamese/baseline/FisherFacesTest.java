package org.siamese4j.siamese.baseline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.metrics.EmbeddingDistance;
import org.siamese4j.siamese.metrics.ScoredPairs;
import org.siamese4j.tensor.Tensor;

class FisherFacesTest {
    private static final int HEIGHT = 2;
    private static final int WIDTH = 3;

    /**
     * With every PCA component kept, PCA is a rotation and changes nothing: the projection must be the generalised
     * eigenvectors of (Sb, Sw + ridge) in pixel space, which commons-math finds here independently. Each direction
     * is defined up to sign, and flipping one coordinate of every embedding keeps all distances, so the distances
     * are compared.
     */
    @Test
    void withAllComponentsItIsTheGeneralisedEigenproblemOfTheScatterMatrices() {
        ImageDataset train = randomPeople(4, 6, new SplittableRandom(7), 1);
        ImageDataset other = randomPeople(3, 4, new SplittableRandom(8), 1);
        float[][] ours = FisherFaces.fit(train, HEIGHT * WIDTH).embed(other);
        float[][] reference = reference(train, other);
        assertThat(ours[0]).hasSize(3);
        for (int i = 0; i < ours.length; i++) {
            for (int j = 0; j < ours.length; j++) {
                assertThat(EmbeddingDistance.EUCLIDEAN.between(ours[i], ours[j])).as("distance %d-%d", i, j)
                        .isCloseTo(EmbeddingDistance.EUCLIDEAN.between(reference[i], reference[j]),
                                Offset.offset(1e-5));
            }
        }
    }

    /**
     * People who differ in their faces but are photographed under brightness that varies ten times more than
     * faces do: pixels compare the lighting, the projection learns from the training people to ignore it, and so
     * tells apart people it never saw.
     */
    @Test
    void separatesNewPeopleThatRawPixelsConfuse() {
        ImageDataset train = randomPeople(12, 8, new SplittableRandom(1), 10);
        ImageDataset test = randomPeople(8, 8, new SplittableRandom(2), 10);
        FisherFaces fisher = FisherFaces.fit(train, HEIGHT * WIDTH);
        float[][] embeddings = fisher.embed(test);
        double fisherAuc = ScoredPairs.all(embeddings, test.labels(), EmbeddingDistance.EUCLIDEAN).roc().auc();
        float[][] pixels = new float[test.size()][];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = test.batch(i).toArray();
        }
        double pixelAuc = ScoredPairs.all(pixels, test.labels(), EmbeddingDistance.EUCLIDEAN).roc().auc();
        assertThat(pixelAuc).isLessThan(0.75);
        assertThat(fisherAuc).isGreaterThan(0.95);
        for (float[] e : embeddings) {
            double norm = 0;
            for (float v : e) {
                norm += v * v;
            }
            assertThat(norm).isCloseTo(1, Offset.offset(1e-5));
        }
    }

    @Test
    void refusesTooFewPeopleAComponentCountOutOfRangeAndImagesOfAnotherShape() {
        assertThatThrownBy(() -> FisherFaces.fit(randomPeople(1, 5, new SplittableRandom(3), 1), 2))
                .hasMessageContaining("at least 2 people").hasMessageContaining("got 1");
        assertThatThrownBy(() -> FisherFaces.fit(randomPeople(3, 5, new SplittableRandom(3), 1), 7))
                .hasMessageContaining("[1, 6]").hasMessageContaining("got 7");
        FisherFaces fisher = FisherFaces.fit(randomPeople(3, 5, new SplittableRandom(3), 1), 3);
        ImageDataset wide = new ImageDataset(Tensor.zeros(2, 1, 2, 4), new int[]{0, 1}, List.of("a", "b"));
        assertThatThrownBy(() -> fisher.embed(wide)).hasMessageContaining("images of 8 values")
                .hasMessageContaining("fitted on images of 6");
    }

    /**
     * {@code people} x {@code images} 1x2x3 images: a face of the person's own (4 random values, the outer columns
     * equal so that a mirror image is the same face) plus noise of standard deviation 0.2 on every pixel, all of
     * it brightened by a random amount of standard deviation {@code lighting} per image.
     */
    private static ImageDataset randomPeople(int people, int images, SplittableRandom random, double lighting) {
        int n = people * images;
        int d = HEIGHT * WIDTH;
        float[] data = new float[n * d];
        int[] labels = new int[n];
        List<String> names = new ArrayList<>();
        for (int p = 0; p < people; p++) {
            names.add("p" + p);
            double[] face = new double[d];
            for (int r = 0; r < HEIGHT; r++) {
                face[r * WIDTH] = random.nextGaussian();
                face[r * WIDTH + 1] = random.nextGaussian();
                face[r * WIDTH + 2] = face[r * WIDTH];
            }
            for (int k = 0; k < images; k++) {
                int i = p * images + k;
                labels[i] = p;
                double brightness = lighting * random.nextGaussian();
                for (int j = 0; j < d; j++) {
                    data[i * d + j] = (float) (face[j] + 0.2 * random.nextGaussian() + brightness);
                }
            }
        }
        return new ImageDataset(Tensor.of(data, n, 1, HEIGHT, WIDTH), labels, names);
    }

    /** Fisher's projection of the centred pixels, fitted on the pixels (and their mirrors) with commons-math. */
    private static float[][] reference(ImageDataset train, ImageDataset other) {
        int d = HEIGHT * WIDTH;
        List<double[]> x = new ArrayList<>();
        List<Integer> y = new ArrayList<>();
        for (boolean mirrored : new boolean[]{false, true}) {
            for (int i = 0; i < train.size(); i++) {
                x.add(pixels(train, i, mirrored));
                y.add(train.label(i));
            }
        }
        int people = train.identityCount();
        double[][] means = new double[people][d];
        double[] overall = new double[d];
        int[] counts = new int[people];
        for (int i = 0; i < x.size(); i++) {
            counts[y.get(i)]++;
            for (int j = 0; j < d; j++) {
                means[y.get(i)][j] += x.get(i)[j];
                overall[j] += x.get(i)[j] / x.size();
            }
        }
        RealMatrix within = new Array2DRowRealMatrix(d, d);
        RealMatrix between = new Array2DRowRealMatrix(d, d);
        for (int c = 0; c < people; c++) {
            for (int j = 0; j < d; j++) {
                means[c][j] /= counts[c];
            }
            RealMatrix m = new Array2DRowRealMatrix(difference(means[c], overall));
            between = between.add(m.multiply(m.transpose()).scalarMultiply(counts[c]));
        }
        for (int i = 0; i < x.size(); i++) {
            RealMatrix v = new Array2DRowRealMatrix(difference(x.get(i), means[y.get(i)]));
            within = within.add(v.multiply(v.transpose()));
        }
        double ridge = 1e-3 * within.getTrace() / d;
        for (int j = 0; j < d; j++) {
            within.addToEntry(j, j, ridge);
        }
        EigenDecomposition w = new EigenDecomposition(within);
        RealMatrix whitening = new Array2DRowRealMatrix(d, d);
        for (int c = 0; c < d; c++) {
            double scale = 1 / Math.sqrt(w.getRealEigenvalue(c));
            for (int r = 0; r < d; r++) {
                whitening.setEntry(r, c, w.getV().getEntry(r, c) * scale);
            }
        }
        EigenDecomposition b = new EigenDecomposition(whitening.transpose().multiply(between).multiply(whitening));
        RealMatrix directions = whitening.multiply(b.getV()).getSubMatrix(0, d - 1, 0, people - 2);
        float[][] out = new float[other.size()][];
        for (int i = 0; i < out.length; i++) {
            double[] p = new Array2DRowRealMatrix(difference(pixels(other, i, false), overall)).transpose().multiply(directions).getRow(0);
            double norm = 0;
            for (double v : p) {
                norm += v * v;
            }
            out[i] = new float[p.length];
            for (int k = 0; k < p.length; k++) {
                out[i][k] = (float) (p[k] / Math.sqrt(norm));
            }
        }
        return out;
    }

    private static double[] pixels(ImageDataset data, int i, boolean mirrored) {
        float[] v = data.batch(i).toArray();
        double[] out = new double[v.length];
        for (int r = 0; r < HEIGHT; r++) {
            for (int c = 0; c < WIDTH; c++) {
                out[r * WIDTH + c] = v[r * WIDTH + (mirrored ? WIDTH - 1 - c : c)];
            }
        }
        return out;
    }

    private static double[] difference(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int j = 0; j < a.length; j++) {
            out[j] = a[j] - b[j];
        }
        return out;
    }
}
