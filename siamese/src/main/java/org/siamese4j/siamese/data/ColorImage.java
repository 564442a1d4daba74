package org.siamese4j.siamese.data;

import java.util.Arrays;

/**
 * One colour image as decoded: three {@code height x width} planes, red, green and blue in that order, float
 * samples in [0, {@link #maxValue()}] (255 for 8-bit files). Planar, as a network takes it ([C, H, W]), not
 * interleaved. Immutable: the transforms return new images. A grey image becomes a colour one by repeating its
 * plane ({@link #fromGray}), which is what a colour network expects of a grey photo.
 */
public final class ColorImage {
    /** Channels of a colour image. */
    public static final int CHANNELS = 3;

    private final GrayImage red;
    private final GrayImage green;
    private final GrayImage blue;

    private ColorImage(GrayImage red, GrayImage green, GrayImage blue) {
        this.red = red;
        this.green = green;
        this.blue = blue;
    }

    /** An image holding a copy of {@code planes}: red, then green, then blue, each {@code height * width} values. */
    public static ColorImage of(int height, int width, float maxValue, float[] planes) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("ColorImage: height and width must be positive, got " + height + "x"
                    + width);
        }
        long plane = (long) height * width;
        if (plane * CHANNELS != planes.length) {
            throw new IllegalArgumentException("ColorImage: 3 planes of " + height + "x" + width + " need "
                    + plane * CHANNELS + " values, got " + planes.length);
        }
        int n = (int) plane;
        return new ColorImage(GrayImage.of(height, width, maxValue, Arrays.copyOfRange(planes, 0, n)),
                GrayImage.of(height, width, maxValue, Arrays.copyOfRange(planes, n, 2 * n)),
                GrayImage.of(height, width, maxValue, Arrays.copyOfRange(planes, 2 * n, 3 * n)));
    }

    /** The grey image's plane as red, green and blue alike. */
    public static ColorImage fromGray(GrayImage grey) {
        return new ColorImage(grey, grey, grey);
    }

    /** For the decoder in this package, which owns the arrays. */
    static ColorImage wrap(int height, int width, float maxValue, float[] red, float[] green, float[] blue) {
        return new ColorImage(GrayImage.wrap(height, width, maxValue, red), GrayImage.wrap(height, width, maxValue,
                green), GrayImage.wrap(height, width, maxValue, blue));
    }

    public int height() {
        return red.height();
    }

    public int width() {
        return red.width();
    }

    /** The value of full intensity: samples lie in [0, maxValue]. */
    public float maxValue() {
        return red.maxValue();
    }

    /** Plane {@code channel}: 0 red, 1 green, 2 blue. */
    public GrayImage plane(int channel) {
        return switch (channel) {
            case 0 -> red;
            case 1 -> green;
            case 2 -> blue;
            default -> throw new IndexOutOfBoundsException("ColorImage.plane: channel " + channel
                    + " outside 0..2 (red, green, blue)");
        };
    }

    /** The samples divided by {@link #maxValue()}, plane by plane as {@link GrayImage#scaledToUnit}. */
    public ColorImage scaledToUnit() {
        return new ColorImage(red.scaledToUnit(), green.scaledToUnit(), blue.scaledToUnit());
    }

    /** Each plane resized as {@link GrayImage#resize} (bilinear, pixel centres aligned). */
    public ColorImage resize(int newHeight, int newWidth) {
        return new ColorImage(red.resize(newHeight, newWidth), green.resize(newHeight, newWidth),
                blue.resize(newHeight, newWidth));
    }

    @Override
    public String toString() {
        return "ColorImage[" + height() + "x" + width() + ", maxValue " + maxValue() + "]";
    }
}
