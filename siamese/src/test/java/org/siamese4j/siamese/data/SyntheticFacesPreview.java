package org.siamese4j.siamese.data;

import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import javax.imageio.ImageIO;

/**
 * Writes a PNG contact sheet of synthetic faces for eyeballing: one row per identity, one column per image.
 *
 * <p>Run from the test classpath: {@code java ... org.siamese4j.siamese.data.SyntheticFacesPreview [out.png]
 * [identities] [images] [seed] [zoom]}; default {@code /tmp/synthetic-faces-grid.png}, 8 x 8, seed 7, zoom 2.
 */
public final class SyntheticFacesPreview {
    private SyntheticFacesPreview() {
    }

    public static void main(String[] args) throws IOException {
        String path = args.length > 0 ? args[0] : "/tmp/synthetic-faces-grid.png";
        int identities = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int images = args.length > 2 ? Integer.parseInt(args[2]) : 8;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 7;
        int zoom = args.length > 4 ? Integer.parseInt(args[4]) : 2;
        ImageDataset data = SyntheticFaces.generate(identities, images, seed);
        writeGrid(data, images, zoom, new File(path));
        System.out.println("wrote " + path);
    }

    /** One row per identity with {@code perRow} images each, nearest-neighbour zoomed, 2-pixel white gaps. */
    static void writeGrid(ImageDataset data, int perRow, int zoom, File file) throws IOException {
        int h = data.height();
        int w = data.width();
        int rows = (data.size() + perRow - 1) / perRow;
        int gap = 2;
        BufferedImage sheet = new BufferedImage(perRow * (w * zoom + gap), rows * (h * zoom + gap),
                BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < sheet.getHeight(); y++) {
            for (int x = 0; x < sheet.getWidth(); x++) {
                sheet.getRaster().setSample(x, y, 0, 255);
            }
        }
        float[] pixels = data.images().data();
        for (int n = 0; n < data.size(); n++) {
            int ox = (n % perRow) * (w * zoom + gap);
            int oy = (n / perRow) * (h * zoom + gap);
            for (int y = 0; y < h * zoom; y++) {
                for (int x = 0; x < w * zoom; x++) {
                    float v = pixels[n * h * w + (y / zoom) * w + x / zoom];
                    sheet.getRaster().setSample(ox + x, oy + y, 0, Math.round(v * 255));
                }
            }
        }
        ImageIO.write(sheet, "png", file);
    }
}
