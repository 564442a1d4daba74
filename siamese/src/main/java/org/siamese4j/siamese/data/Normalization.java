package org.siamese4j.siamese.data;

import java.util.Arrays;
import org.siamese4j.tensor.Tensor;

/**
 * Per-dataset standardisation {@code x' = (x - mean) / std}, one mean and std over all pixels of all images (the
 * datasets here are grey). Fit it on the training split only and apply the same instance to every split, so the
 * test data is scaled exactly like the data the model was trained on.
 */
public record Normalization(float mean, float std) {

    public Normalization {
        if (!Float.isFinite(mean)) {
            throw new IllegalArgumentException("Normalization: mean must be finite, got " + mean);
        }
        if (!(std > 0) || !Float.isFinite(std)) {
            throw new IllegalArgumentException("Normalization: std must be positive and finite, got " + std);
        }
    }

    /** Mean and population standard deviation of every value of {@code images} (accumulated in double). */
    public static Normalization fit(Tensor images) {
        float[] x = images.data();
        if (x.length == 0) {
            throw new IllegalArgumentException("Normalization.fit: no values (shape "
                    + Arrays.toString(images.shape()) + ")");
        }
        double sum = 0;
        for (float v : x) {
            sum += v;
        }
        double mean = sum / x.length;
        // Two passes: the one-pass E[x^2] - E[x]^2 loses precision when the mean is large against the spread.
        double squares = 0;
        for (float v : x) {
            double d = v - mean;
            squares += d * d;
        }
        double std = Math.sqrt(squares / x.length);
        if (!(std > 0)) {
            throw new IllegalArgumentException("Normalization.fit: all " + x.length + " values equal " + mean
                    + ", so the standard deviation is 0 and cannot divide");
        }
        return new Normalization((float) mean, (float) std);
    }

    public static Normalization fit(ImageDataset dataset) {
        return fit(dataset.images());
    }

    /** A new tensor {@code (x - mean) / std}, cut from any autograd graph. */
    public Tensor apply(Tensor images) {
        float[] x = images.data();
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (x[i] - mean) / std;
        }
        return Tensor.wrap(out, images.shape());
    }

    /** The dataset with normalised images; labels and identity names unchanged. */
    public ImageDataset apply(ImageDataset dataset) {
        return new ImageDataset(apply(dataset.images()), dataset.labels(), dataset.identityNames());
    }

    /** The inverse map {@code x * std + mean}, e.g. to view normalised images. */
    public Tensor invert(Tensor normalised) {
        float[] x = normalised.data();
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i] * std + mean;
        }
        return Tensor.wrap(out, normalised.shape());
    }
}
