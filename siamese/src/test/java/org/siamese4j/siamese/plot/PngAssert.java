package org.siamese4j.siamese.plot;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Rectangle;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import javax.imageio.ImageIO;

/** Checks that a written plot is a decodable PNG of the expected size with real content in it. */
final class PngAssert {
    private PngAssert() {
    }

    /** Decodes {@code path} (fails when it is not a PNG ImageIO can read) and checks its size. */
    static BufferedImage readPng(Path path, int width, int height) throws IOException {
        assertThat(path).exists();
        byte[] bytes = Files.readAllBytes(path);
        assertThat(bytes).startsWith((byte) 0x89, (byte) 'P', (byte) 'N', (byte) 'G');
        BufferedImage image = ImageIO.read(path.toFile());
        assertThat(image).as("ImageIO decodes " + path).isNotNull();
        assertThat(image.getWidth()).isEqualTo(width);
        assertThat(image.getHeight()).isEqualTo(height);
        try (var files = Files.list(path.getParent())) {
            assertThat(files.filter(p -> p.getFileName().toString().contains(".tmp-"))).as("temp files").isEmpty();
        }
        return image;
    }

    static int distinctColours(BufferedImage image, Rectangle r) {
        Set<Integer> colours = new HashSet<>();
        for (int y = r.y; y < r.y + r.height; y++) {
            for (int x = r.x; x < r.x + r.width; x++) {
                colours.add(image.getRGB(x, y) & 0xFFFFFF);
            }
        }
        return colours.size();
    }

    /** Pixels in {@code r} that are not the white background. */
    static int inked(BufferedImage image, Rectangle r) {
        int count = 0;
        for (int y = r.y; y < r.y + r.height; y++) {
            for (int x = r.x; x < r.x + r.width; x++) {
                count += (image.getRGB(x, y) & 0xFFFFFF) != 0xFFFFFF ? 1 : 0;
            }
        }
        return count;
    }

    /** Pixels in {@code r} within {@code tolerance} per channel of {@code rgb}. */
    static int near(BufferedImage image, Rectangle r, int rgb, int tolerance) {
        int count = 0;
        for (int y = r.y; y < r.y + r.height; y++) {
            for (int x = r.x; x < r.x + r.width; x++) {
                int p = image.getRGB(x, y);
                boolean close = true;
                for (int shift = 0; shift <= 16; shift += 8) {
                    close &= Math.abs(((p >> shift) & 0xFF) - ((rgb >> shift) & 0xFF)) <= tolerance;
                }
                count += close ? 1 : 0;
            }
        }
        return count;
    }

    /** The inside of the standard plot area (margins 80, 56, 32, 64 on 800x600), off the frame. */
    static Rectangle plotArea(BufferedImage image) {
        return new Rectangle(85, 61, image.getWidth() - 80 - 32 - 10, image.getHeight() - 56 - 64 - 10);
    }

    /** The chart is not blank: many colours (antialiasing, series) and a fair share of inked pixels in the area. */
    static void assertDrawn(BufferedImage image, Rectangle area, int minColours, int minInked) {
        assertThat(distinctColours(image, area)).as("distinct colours in the plot area").isGreaterThan(minColours);
        assertThat(inked(image, area)).as("non-background pixels in the plot area").isGreaterThan(minInked);
    }
}
