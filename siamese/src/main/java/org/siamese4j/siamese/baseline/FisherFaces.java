package org.siamese4j.siamese.baseline;

import java.util.Objects;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.plot.Pca;

/**
 * Fisherfaces (Belhumeur, Hespanha and Kriegman, 1997): a linear projection of the pixels, fitted in closed form on
 * labelled training people, that spreads different people apart and pulls each person's images together. It is
 * the classical answer to "verify faces learnt from a few people", so a trained tower is only worth its training
 * when it beats this on the same people.
 *
 * <p>Fitting, on the training images and their mirror images (a mirrored face is the same person):
 * <ol>
 *   <li>PCA to {@code components} dimensions, because with fewer images than pixels the within-person scatter is
 *       singular in pixel space;</li>
 *   <li>in that space, the within-person scatter {@code Sw = sum_c sum_{i in c} (z_i - m_c)(z_i - m_c)^T} and the
 *       between-person scatter {@code Sb = sum_c n_c (m_c - m)(m_c - m)^T};</li>
 *   <li>the directions v that maximise {@code v^T Sb v / v^T Sw v}: whiten by Sw ({@code W = E D^-1/2} from
 *       {@code Sw = E D E^T}), then take the leading eigenvectors U of {@code W^T Sb W}; the projection is
 *       {@code W U}, at most (people - 1) directions since Sb has that rank.</li>
 * </ol>
 * Sw gets a small ridge ({@value #RIDGE} of its mean eigenvalue) so that a direction of almost no within-person
 * spread cannot dominate. An image's embedding is its projection scaled to unit length, so Euclidean distances
 * between embeddings rank pairs as cosine similarity does. All arithmetic is in double.
 */
public final class FisherFaces {
    /** PCA dimensions kept before the discriminant step; chosen on validation people (docs/siamese.md, 12). */
    public static final int DEFAULT_COMPONENTS = 60;
    private static final double RIDGE = 1e-3;
    private static final String WHERE = "FisherFaces";

    private final Pca pca;
    private final double[][] directions;   // [components][outputs]: W U

    private FisherFaces(Pca pca, double[][] directions) {
        this.pca = pca;
        this.directions = directions;
    }

    /**
     * {@link #fit(ImageDataset, int)} with {@link #DEFAULT_COMPONENTS} components, or fewer when the images
     * (mirrors included) minus the people, the rank of the within-person scatter, are fewer.
     */
    public static FisherFaces fit(ImageDataset train) {
        Objects.requireNonNull(train, "train");
        int pixels = train.channels() * train.height() * train.width();
        int rank = 2 * train.size() - train.identityCount();
        return fit(train, Math.max(1, Math.min(DEFAULT_COMPONENTS, Math.min(rank, pixels))));
    }

    /**
     * Fits the projection on {@code train} and its mirror images.
     *
     * @param components PCA dimensions kept, in [1, pixels per image]
     * @throws IllegalArgumentException with fewer than 2 people, or {@code components} out of range
     */
    public static FisherFaces fit(ImageDataset train, int components) {
        Objects.requireNonNull(train, "train");
        int people = train.identityCount();
        if (people < 2) {
            throw new IllegalArgumentException(WHERE + ": needs at least 2 people to tell apart, got " + people);
        }
        int pixels = train.channels() * train.height() * train.width();
        if (components < 1 || components > pixels) {
            throw new IllegalArgumentException(WHERE + ": components must be in [1, " + pixels + "] (pixels per "
                    + "image), got " + components);
        }
        int n = train.size();
        double[][] images = new double[2 * n][];
        int[] labels = new int[2 * n];
        float[] data = train.images().data();
        for (int i = 0; i < n; i++) {
            images[i] = image(data, i, pixels, train.width(), false);
            images[n + i] = image(data, i, pixels, train.width(), true);
            labels[i] = train.label(i);
            labels[n + i] = train.label(i);
        }
        Pca pca = Pca.fit(images, components);
        double[][] z = new double[2 * n][];
        for (int i = 0; i < z.length; i++) {
            z[i] = pca.project(images[i]);
        }
        double[][] means = means(z, labels, people, components);
        double[][] withinWhitening = inverseSquareRoot(withinScatter(z, labels, means));
        double[][] between = betweenScatter(z, labels, means);
        double[][] whitenedBetween = multiply(transpose(withinWhitening), multiply(between, withinWhitening));
        double[] lambda = new double[components];
        double[][] u = new double[components][components];
        Pca.jacobi(whitenedBetween, lambda, u);
        int outputs = Math.min(people - 1, components);
        double[][] directions = new double[components][outputs];
        double[][] wu = multiply(withinWhitening, u);
        for (int r = 0; r < components; r++) {
            System.arraycopy(wu[r], 0, directions[r], 0, outputs);
        }
        return new FisherFaces(pca, directions);
    }

    /** The unit-length embedding of every image of {@code data}, which must have the training images' shape. */
    public float[][] embed(ImageDataset data) {
        Objects.requireNonNull(data, "data");
        int pixels = data.channels() * data.height() * data.width();
        if (pixels != pca.dimension()) {
            throw new IllegalArgumentException(WHERE + ": images of " + pixels + " values, but the projection was "
                    + "fitted on images of " + pca.dimension());
        }
        float[] values = data.images().data();
        float[][] out = new float[data.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = embed(image(values, i, pixels, data.width(), false));
        }
        return out;
    }

    /** How many numbers an embedding has: people - 1, or fewer when fewer PCA components were kept. */
    public int dimension() {
        return directions[0].length;
    }

    private float[] embed(double[] image) {
        double[] z = pca.project(image);
        double[] y = new double[dimension()];
        for (int r = 0; r < z.length; r++) {
            for (int o = 0; o < y.length; o++) {
                y[o] += z[r] * directions[r][o];
            }
        }
        double norm = 0;
        for (double v : y) {
            norm += v * v;
        }
        norm = Math.sqrt(norm);
        float[] out = new float[y.length];
        for (int o = 0; o < y.length; o++) {
            out[o] = norm == 0 ? 0 : (float) (y[o] / norm);
        }
        return out;
    }

    /** Image {@code i} of an [N, C, H, W] array as doubles, each row reversed when {@code mirrored}. */
    private static double[] image(float[] data, int i, int pixels, int width, boolean mirrored) {
        double[] out = new double[pixels];
        int base = i * pixels;
        for (int row = 0; row < pixels / width; row++) {
            for (int x = 0; x < width; x++) {
                out[row * width + x] = data[base + row * width + (mirrored ? width - 1 - x : x)];
            }
        }
        return out;
    }

    private static double[][] means(double[][] z, int[] labels, int people, int k) {
        double[][] means = new double[people][k];
        int[] counts = new int[people];
        for (int i = 0; i < z.length; i++) {
            counts[labels[i]]++;
            for (int r = 0; r < k; r++) {
                means[labels[i]][r] += z[i][r];
            }
        }
        for (int c = 0; c < people; c++) {
            for (int r = 0; r < k; r++) {
                means[c][r] /= Math.max(1, counts[c]);
            }
        }
        return means;
    }

    /** Sw with its ridge added; {@code means} are each person's mean. */
    private static double[][] withinScatter(double[][] z, int[] labels, double[][] means) {
        int k = means[0].length;
        double[][] s = new double[k][k];
        for (int i = 0; i < z.length; i++) {
            addOuter(s, difference(z[i], means[labels[i]]), 1);
        }
        double trace = 0;
        for (int r = 0; r < k; r++) {
            trace += s[r][r];
        }
        for (int r = 0; r < k; r++) {
            s[r][r] += RIDGE * trace / k;
        }
        return s;
    }

    private static double[][] betweenScatter(double[][] z, int[] labels, double[][] means) {
        int people = means.length;
        int k = means[0].length;
        double[] overall = new double[k];
        int[] counts = new int[people];
        for (int i = 0; i < z.length; i++) {
            counts[labels[i]]++;
            for (int r = 0; r < k; r++) {
                overall[r] += z[i][r] / z.length;
            }
        }
        double[][] s = new double[k][k];
        for (int c = 0; c < people; c++) {
            addOuter(s, difference(means[c], overall), counts[c]);
        }
        return s;
    }

    /** {@code E D^-1/2} for the symmetric positive definite {@code s = E D E^T}: {@code W^T s W = I}. */
    private static double[][] inverseSquareRoot(double[][] s) {
        int k = s.length;
        double[] d = new double[k];
        double[][] e = new double[k][k];
        Pca.jacobi(s, d, e);
        double[][] w = new double[k][k];
        for (int r = 0; r < k; r++) {
            for (int c = 0; c < k; c++) {
                w[r][c] = e[r][c] / Math.sqrt(d[c]);
            }
        }
        return w;
    }

    private static double[] difference(double[] a, double[] b) {
        double[] d = new double[a.length];
        for (int r = 0; r < a.length; r++) {
            d[r] = a[r] - b[r];
        }
        return d;
    }

    private static void addOuter(double[][] s, double[] v, double weight) {
        for (int r = 0; r < v.length; r++) {
            for (int c = 0; c < v.length; c++) {
                s[r][c] += weight * v[r] * v[c];
            }
        }
    }

    private static double[][] multiply(double[][] a, double[][] b) {
        double[][] out = new double[a.length][b[0].length];
        for (int r = 0; r < a.length; r++) {
            for (int m = 0; m < b.length; m++) {
                for (int c = 0; c < b[0].length; c++) {
                    out[r][c] += a[r][m] * b[m][c];
                }
            }
        }
        return out;
    }

    private static double[][] transpose(double[][] a) {
        double[][] t = new double[a[0].length][a.length];
        for (int r = 0; r < a.length; r++) {
            for (int c = 0; c < a[0].length; c++) {
                t[c][r] = a[r][c];
            }
        }
        return t;
    }
}
