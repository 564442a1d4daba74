package org.siamese4j.siamese.data;

import org.siamese4j.tensor.Rng;

/**
 * Rasterises one synthetic face: an implicit 2-D scene (ellipses and bands with signed distances) evaluated at
 * every pixel centre, painted back to front, then lit, exposed and given sensor noise.
 *
 * <p>Edges are antialiased by turning the approximate signed distance into a one-pixel coverage ramp, so any
 * output size renders directly without supersampling. Only IEEE-exact arithmetic ({@code + - * /} and
 * {@code sqrt}) runs per pixel and the per-image trigonometry uses {@link StrictMath}: the pixels are a pure
 * function of (identity, variation, noise stream), bit for bit on every JDK.
 *
 * <p>Coordinates: the scene is defined in face units relative to the head centre (x right, y down); a pixel is
 * mapped there through the inverse of the image's similarity pose (shift, rotation, scale). Yaw and pitch move
 * each feature by its depth on an ellipsoidal head and shrink widths by the local foreshortening.
 */
final class SyntheticFaceRenderer {
    /** The reference frame: AT&amp;T faces are 92 wide and 112 high. */
    static final int REFERENCE_HEIGHT = 112;
    static final int REFERENCE_WIDTH = 92;

    /** One face unit is FACE_ZOOM half-heights of the frame, so the face fills the frame like AT&amp;T's. */
    private static final double FACE_ZOOM = 1.1;

    private static final double SCLERA_ALBEDO = 0.78;
    private static final double PUPIL_ALBEDO = 0.03;
    private static final double MOUTH_ALBEDO = 0.06;
    private static final double TEETH_ALBEDO = 0.72;

    private final SyntheticFaceIdentity id;
    private final SyntheticFaceVariation var;

    // Pixel -> face-unit mapping.
    private final double unitsPerPixel;
    private final double cosR;
    private final double sinR;
    private final double pixel;
    private final double headX;
    private final double headY;

    // Head shape.
    private final double a;
    private final double b;
    private final double sinYaw;
    private final double cosYaw;

    // Projected feature positions per side (index 0 = left in the image, 1 = right) and their width factors.
    private final double[] eyeX = new double[2];
    private final double[] eyeY = new double[2];
    private final double[] eyeWidth = new double[2];
    private final double[] browX = new double[2];
    private final double[] browY = new double[2];
    private final double[] browWidth = new double[2];
    private final double[] earX = new double[2];
    private final double[] lensInner = new double[2];
    private final double[] lensOuter = new double[2];
    private final double earY;
    private final double noseTopX;
    private final double noseTopY;
    private final double noseTipX;
    private final double noseTipY;
    private final double mouthX;
    private final double mouthY;
    private final double mouthHalfWidth;
    private final double hairShift;
    private final double neckX;

    // Painter state for the current pixel: albedo and lighting factor, blended layer by layer.
    private double albedo;
    private double light;

    SyntheticFaceRenderer(SyntheticFaceIdentity id, SyntheticFaceVariation var, int height, int width) {
        this.id = id;
        this.var = var;
        double fitHeight = Math.min(height, width * (double) REFERENCE_HEIGHT / REFERENCE_WIDTH);
        double pixelsPerUnit = FACE_ZOOM * fitHeight / 2.0;
        unitsPerPixel = 1.0 / pixelsPerUnit;
        cosR = StrictMath.cos(var.rotation);
        sinR = StrictMath.sin(var.rotation);
        pixel = unitsPerPixel / var.scale;
        sinYaw = StrictMath.sin(var.yaw);
        cosYaw = StrictMath.cos(var.yaw);
        double sinPitch = StrictMath.sin(var.pitch);
        double cosPitch = StrictMath.cos(var.pitch);
        // The head turns about the neck, which sits behind the head centre, so the whole head slides a little.
        headX = 0.12 * sinYaw;
        headY = id.headCenterY + 0.05 * sinPitch;
        a = id.headHalfWidth;
        b = id.headHalfHeight;

        for (int s = 0; s < 2; s++) {
            double side = s == 0 ? -1 : 1;
            double ex = side * id.eyeHalfSpacing;
            double ez = depth(ex, id.eyeY) - 0.02;
            eyeX[s] = ex * cosYaw + ez * sinYaw;
            eyeY[s] = id.eyeY * cosPitch + ez * sinPitch;
            eyeWidth[s] = foreshortening(ex);
            double bx = side * (id.eyeHalfSpacing + 0.01);
            double by = id.eyeY - id.browGap - var.browRaise;
            double bz = depth(bx, by) + 0.01;
            browX[s] = bx * cosYaw + bz * sinYaw;
            browY[s] = by * cosPitch + bz * sinPitch;
            browWidth[s] = foreshortening(bx);
            // Ears sit behind the widest section, so they move against the face when the head turns.
            earX[s] = side * a * 0.97 * cosYaw - 0.12 * sinYaw;
            lensInner[s] = eyeX[s] - side * id.lensHalfWidth * eyeWidth[s];
            lensOuter[s] = eyeX[s] + side * id.lensHalfWidth * eyeWidth[s];
        }
        earY = id.eyeY + 0.08;
        double topY = id.eyeY + 0.02;
        double topZ = depth(0, topY) + 0.02;
        noseTopX = topZ * sinYaw;
        noseTopY = topY * cosPitch + topZ * sinPitch;
        double tipY = id.eyeY + id.noseLength;
        double tipZ = depth(0, tipY) + 0.08 + 0.4 * id.noseLength;
        noseTipX = tipZ * sinYaw;
        noseTipY = tipY * cosPitch + tipZ * sinPitch;
        double my = tipY + id.mouthGap;
        double mz = depth(0, my) + 0.03;
        mouthX = mz * sinYaw;
        mouthY = my * cosPitch + mz * sinPitch;
        mouthHalfWidth = id.mouthHalfWidth * cosYaw;
        hairShift = 0.45 * a * sinYaw;
        neckX = -headX;
    }

    /** Renders into {@code out[offset .. offset + height * width)} row-major, values clamped to [0, 1]. */
    void render(Rng noise, int height, int width, float[] out, int offset) {
        double halfW = width * 0.5;
        double halfH = height * 0.5;
        for (int py = 0; py < height; py++) {
            double cy = (py + 0.5 - halfH) * unitsPerPixel;
            for (int px = 0; px < width; px++) {
                double cx = (px + 0.5 - halfW) * unitsPerPixel;
                double xr = cx - var.shiftX;
                double yr = cy - var.shiftY;
                double x = (cosR * xr + sinR * yr) / var.scale - headX;
                double y = (-sinR * xr + cosR * yr) / var.scale - headY;
                double value = var.gain * shadePixel(x, y) + var.offset + var.gradientX * cx + var.gradientY * cy
                        + var.noiseSigma * gaussian(noise);
                out[offset + py * width + px] = (float) Math.max(0.0, Math.min(1.0, value));
            }
        }
    }

    private void paint(double coverage, double layerAlbedo, double layerLight) {
        albedo += coverage * (layerAlbedo - albedo);
        light += coverage * (layerLight - light);
    }

    private void paint(double coverage, double layerAlbedo) {
        albedo += coverage * (layerAlbedo - albedo);
    }

    /** Albedo times illumination at head-relative point (x, y). */
    private double shadePixel(double x, double y) {
        albedo = var.background;
        light = 1.0;
        double headLight = headLight(x, y);

        // Shoulders with a V neckline that shows the neck.
        double clothTop = b + 0.07;
        double clothD = Math.max(ellipse(x, y, neckX, b + 0.62, 1.0, 0.55),
                id.neckHalfWidth * 0.9 - 0.6 * (y - clothTop) - Math.abs(x - neckX));
        if (clothD < pixel) {
            paint(cover(clothD), id.clothAlbedo, var.ambient + (1 - var.ambient) * Math.max(0.0,
                    0.75 * var.lightZ - 0.3 * var.lightY + 0.25 * var.lightX * clampUnit((x - neckX) / 0.8)));
        }
        if (id.hairStyle == SyntheticFaceIdentity.HAIR_LONG) {
            double hw = a * id.hairVolume * 1.06;
            double length = 0.35 + 3.0 * (id.hairVolume - 1.0);
            double d = y < -0.03 ? ellipse(x, y, 0, -0.03, hw, b * id.hairVolume)
                    : Math.max(Math.abs(x) - hw - 0.1 * (y + 0.03), y - length);
            if (d < pixel) {
                paint(cover(d), id.hairAlbedo * hairTexture(x, y), headLight * 0.85);
            }
        }
        // Neck, darker than the face: it is in the chin's shadow.
        double neckD = Math.max(Math.abs(x - neckX) - id.neckHalfWidth, 0.1 - y);
        if (neckD < pixel) {
            double nx = clampUnit((x - neckX) / id.neckHalfWidth);
            double nz = Math.sqrt(1 - nx * nx);
            paint(cover(neckD), id.skin * 0.82, var.ambient
                    + (1 - var.ambient) * 0.8 * Math.max(0.0, nx * var.lightX + nz * var.lightZ));
        }
        if (id.ears) {
            double ew = 0.055 * id.earSize;
            double eh = 0.105 * id.earSize;
            for (int s = 0; s < 2; s++) {
                double d = ellipse(x, y, earX[s], earY, ew, eh);
                if (d < pixel) {
                    paint(cover(d), id.skin * 0.92, headLight);
                    double inner = ellipse(x, y, earX[s] + (s == 0 ? 0.012 : -0.012), earY, ew * 0.5, eh * 0.6);
                    paint(0.5 * soft(inner, 0.02), id.skin * 0.6);
                }
            }
        }
        double headD = headDistance(x, y);
        if (headD < pixel) {
            paint(cover(headD), id.skin, headLight);
        }
        if (y < 0.2) {
            double q = (x - hairShift) / a;
            double outline = ellipse(x, y, 0, -0.03, a * id.hairVolume, b * id.hairVolume);
            double d;
            if (id.hairStyle == SyntheticFaceIdentity.HAIR_RECEDING) {
                d = Math.max(Math.max(outline, y - (earY - 0.12)),
                        Math.max(id.hairlineY - y, (id.hairlineCurve - Math.abs(q)) * a));
            } else {
                // Bare skin is the face window below the hairline; the hair frames it down to the sideburns.
                double hairline = id.hairlineY + id.hairlineCurve * q * q + id.hairlineTilt * q;
                double window = ellipse(x, y, hairShift, id.eyeY + 0.15, a * id.faceWindow, b * 0.95);
                double bare = Math.max(window, hairline - y);
                d = Math.max(Math.max(outline, -bare), y - (earY - 0.03));
            }
            if (d < pixel) {
                paint(cover(d), id.hairAlbedo * hairTexture(x, y), headLight);
            }
        }
        if (headD > 0.05) {
            return albedo * light;
        }
        if (id.facialHair == SyntheticFaceIdentity.FACIAL_HAIR_BEARD) {
            // Jaw and chin below a line that rises gently towards the sideburns; the cheeks stay bare.
            double xh = (x - hairShift) / a;
            double beardLine = mouthY + 0.01 - 0.2 * xh * xh;
            double d = Math.max(headD, beardLine - y);
            if (d < 0.04) {
                paint(0.75 * soft(d, 0.06), id.facialHairAlbedo * hairTexture(x, y));
            }
        }
        eyes(x, y);
        brows(x, y);
        nose(x, y);
        mouth(x, y);
        if (id.glasses) {
            glasses(x, y);
        }
        return albedo * light;
    }

    private void eyes(double x, double y) {
        for (int s = 0; s < 2; s++) {
            double w = id.eyeHalfWidth * eyeWidth[s];
            double dx = x - eyeX[s];
            double dy = y - eyeY[s];
            if (Math.abs(dx) > 2 * w || Math.abs(dy) > 0.12) {
                continue;
            }
            // The socket under the brow ridge is darker, more so under light from above.
            double socket = ellipse(x, y, eyeX[s], eyeY[s] - 0.012, 1.5 * w, 0.065);
            albedo *= 1.0 - (0.10 + 0.12 * Math.max(0.0, -var.lightY)) * soft(socket, 0.05);

            double ex = dx / w;
            double bulge = Math.max(0.0, 1 - ex * ex);
            double open = id.eyeHalfHeight * var.eyeOpen;
            double upper = 1.2 * open * bulge;
            double lower = 0.8 * open * bulge;
            double scleraD = Math.max(dy > 0 ? dy - lower : -dy - upper, (Math.abs(ex) - 1) * w);
            if (scleraD < pixel) {
                paint(cover(scleraD), SCLERA_ALBEDO);
                double ix = eyeX[s] + var.gazeX * 0.35 * w;
                double iy = eyeY[s] + var.gazeY * 0.4 * open;
                double r = id.irisRadius;
                double irisD = Math.max(ellipse(x, y, ix, iy, r * eyeWidth[s], r), scleraD);
                if (irisD < pixel) {
                    paint(cover(irisD), id.irisAlbedo);
                    paint(cover(Math.max(ellipse(x, y, ix, iy, 0.42 * r * eyeWidth[s], 0.42 * r), scleraD)),
                            PUPIL_ALBEDO);
                    double glint = ellipse(x, y, ix + 0.35 * r * var.lightX, iy + 0.35 * r * var.lightY,
                            0.22 * r, 0.22 * r);
                    paint(0.8 * cover(Math.max(glint, scleraD)), 0.95);
                }
            }
            // Upper lid and lashes: a dark arc thickest in the middle; the lower lid is a faint line.
            double lid = Math.max(Math.abs(dy + upper) - (0.005 + 0.004 * bulge), (Math.abs(ex) - 1.08) * w);
            if (lid < pixel) {
                paint(0.85 * cover(lid), 0.1);
            }
            double lowerLid = Math.max(Math.abs(dy - lower) - 0.003, (Math.abs(ex) - 0.95) * w);
            if (lowerLid < pixel) {
                paint(0.4 * cover(lowerLid), id.skin * 0.6);
            }
        }
    }

    private void brows(double x, double y) {
        for (int s = 0; s < 2; s++) {
            double side = s == 0 ? -1 : 1;
            double half = id.browHalfLength * browWidth[s];
            double xb = (x - browX[s]) / half;
            if (Math.abs(xb) > 1.3 || Math.abs(y - browY[s]) > 0.09) {
                continue;
            }
            double outer = 0.5 * (side * xb + 1);
            double centre = browY[s] - id.browArch * (1 - xb * xb) + id.browSlope * side * xb * id.browHalfLength;
            double thickness = id.browThickness * (1 - 0.45 * outer);
            double d = Math.max(Math.abs(y - centre) - 0.5 * thickness, (Math.abs(xb) - 1) * half);
            if (d < 0.01) {
                paint(0.92 * soft(d, Math.max(pixel, 0.01)), id.browAlbedo);
            }
        }
    }

    private void nose(double x, double y) {
        double nw = id.noseHalfWidth * cosYaw;
        if (y < noseTopY || y > noseTipY + 0.1 || Math.abs(x - noseTipX) > 3 * nw + 0.05) {
            return;
        }
        double length = noseTipY - noseTopY;
        double t = Math.min(1.0, (y - noseTopY) / length);
        double ridgeX = noseTopX + (noseTipX - noseTopX) * t;
        // The flank away from the light is shadowed; the shadow deepens towards the tip.
        double away = var.lightX >= 0 ? -1 : 1;
        double shadowX = ridgeX + away * id.noseHalfWidth * (0.3 + 0.5 * t);
        double flank = Math.abs(x - shadowX) - (0.008 + 0.02 * t);
        albedo *= 1.0 - (0.08 + 0.25 * Math.abs(var.lightX)) * (0.3 + 0.7 * t) * soft(flank, 0.025);
        // Cast shadow under the tip, and a highlight on it.
        double under = ellipse(x, y, noseTipX, noseTipY + 0.4 * nw, nw * 1.05, 0.35 * nw);
        albedo *= 1.0 - (0.12 + 0.25 * Math.max(0.0, -var.lightY)) * soft(under, 0.03);
        double tip = ellipse(x, y, noseTipX + 0.3 * nw * var.lightX, noseTipY - 0.25 * nw, 0.35 * nw, 0.35 * nw);
        albedo *= 1.0 + 0.10 * soft(tip, 0.03);
        for (int s = 0; s < 2; s++) {
            double side = s == 0 ? -1 : 1;
            double wing = ellipse(x, y, noseTipX + side * 0.8 * nw, noseTipY - 0.005, 0.32 * nw, 0.45 * nw);
            if (wing < 0.02) {
                paint(0.35 * soft(Math.abs(wing) - 0.004, 0.012), id.skin * 0.55);
            }
            double nostril = ellipse(x, y, noseTipX + side * 0.38 * nw, noseTipY + 0.22 * id.noseHalfWidth,
                    0.27 * nw, 0.13 * id.noseHalfWidth);
            if (nostril < pixel) {
                paint(0.9 * cover(nostril), id.skin * 0.25);
            }
        }
    }

    private void mouth(double x, double y) {
        double hw = mouthHalfWidth;
        double xm = (x - mouthX) / hw;
        if (Math.abs(xm) > 1.25 || Math.abs(y - mouthY) > 0.14) {
            return;
        }
        double across = Math.max(0.0, 1 - xm * xm);
        double ends = (Math.abs(xm) - 1) * hw;
        double curvature = id.mouthCurvature + 0.03 * var.smile;
        double line = mouthY - curvature * xm * xm;
        double open = var.mouthOpen * 0.05 * across;
        double upperT = id.lipThickness * (0.35 + 0.65 * across);
        double lowerT = id.lipThickness * 1.3 * Math.sqrt(across);
        if (id.facialHair != SyntheticFaceIdentity.FACIAL_HAIR_NONE) {
            // Moustache: a band over the upper lip, widest at the bottom, following the mouth's curve.
            double bottom = line - upperT + 0.008;
            double top = Math.max(noseTipY + 0.04, bottom - 0.045);
            double height = Math.max(0.01, bottom - top);
            double widthAt = hw * (0.75 + 0.4 * clampUnit((y - top) / height));
            double d = Math.max(Math.abs(y - 0.5 * (top + bottom)) - 0.5 * height, Math.abs(x - mouthX) - widthAt);
            if (d < 0.015) {
                paint(0.85 * soft(d, 0.015), id.facialHairAlbedo * hairTexture(x, y));
            }
        }
        // Shadow in the hollow under the lower lip.
        double hollow = Math.max(Math.abs(y - (line + open + lowerT + 0.02)) - 0.01, ends);
        albedo *= 1.0 - 0.1 * soft(hollow, 0.02);
        double upperD = Math.max(Math.abs(y - (line - 0.5 * upperT)) - 0.5 * upperT, ends);
        if (upperD < pixel) {
            paint(cover(upperD), id.lipAlbedo * 0.88);
        }
        double lowerD = Math.max(Math.abs(y - (line + open + 0.5 * lowerT)) - 0.5 * lowerT, ends);
        if (lowerD < pixel) {
            paint(cover(lowerD), Math.min(1.0, id.lipAlbedo * 1.06));
        }
        double gapD = Math.max(Math.abs(y - (line + 0.5 * open)) - (0.5 * open + 0.003), ends);
        if (gapD < pixel) {
            paint(cover(gapD), MOUTH_ALBEDO);
            if (open > 0.012) {
                double teeth = Math.max(Math.abs(y - (line + 0.22 * open)) - 0.22 * open,
                        (Math.abs(xm) - 0.6) * hw);
                paint(cover(Math.max(teeth, gapD)), TEETH_ALBEDO);
            }
        }
    }

    private void glasses(double x, double y) {
        double t = id.frameThickness;
        double lensY = 0.5 * (eyeY[0] + eyeY[1]) + 0.005;
        for (int s = 0; s < 2; s++) {
            double hw = id.lensHalfWidth * eyeWidth[s];
            double lens = ellipse(x, y, eyeX[s], eyeY[s] + 0.005, hw, id.lensHalfHeight);
            if (lens < 0.05) {
                albedo *= 1.0 - 0.06 * cover(lens);
                double frame = Math.abs(lens) - 0.5 * t;
                if (frame < pixel) {
                    paint(cover(frame), id.frameAlbedo);
                }
            }
        }
        double bridgeY = lensY - 0.3 * id.lensHalfHeight;
        double bridge = Math.max(Math.abs(y - bridgeY) - 0.5 * t,
                Math.abs(x - 0.5 * (lensInner[0] + lensInner[1])) - 0.5 * (lensInner[1] - lensInner[0]));
        if (bridge < pixel) {
            paint(cover(bridge), id.frameAlbedo);
        }
        double templeY = lensY - 0.4 * id.lensHalfHeight;
        for (int s = 0; s < 2; s++) {
            double from = lensOuter[s];
            double to = earX[s];
            double temple = Math.max(Math.abs(y - templeY) - 0.4 * t,
                    Math.abs(x - 0.5 * (from + to)) - 0.5 * Math.abs(to - from));
            if (temple < pixel) {
                paint(cover(temple), id.frameAlbedo);
            }
        }
    }

    /** Lambert shading of the ellipsoidal head (and hair on it) at head-relative (x, y). */
    private double headLight(double x, double y) {
        double nx = x / (a * 1.12);
        double ny = (y + 0.05) / (b * 1.12);
        double r2 = nx * nx + ny * ny;
        if (r2 > 1) {
            double r = Math.sqrt(r2);
            nx /= r;
            ny /= r;
            r2 = 1;
        }
        double nz = Math.sqrt(1 - r2);
        double lambert = nx * var.lightX + ny * var.lightY + nz * var.lightZ;
        return var.ambient + (1 - var.ambient) * Math.max(0.0, lambert);
    }

    /** Head outline: an ellipse whose lower half narrows towards the chin. */
    private double headDistance(double x, double y) {
        double dy = y / b;
        double narrow = dy > 0 ? 1 - (1 - id.jawWidth) * Math.min(1.0, dy) : 1;
        return ellipse(x, y, 0, 0, a * narrow, b);
    }

    private double hairTexture(double x, double y) {
        // Strands fan out from the crown: the phase runs along x / (distance below the crown).
        double phase = x / Math.max(0.08, y + b * 1.15) * id.hairStreakFrequency * 0.25 + 0.3 * y;
        double f = phase - Math.floor(phase);
        return 1.0 + 0.18 * (Math.abs(2 * f - 1) - 0.5);
    }

    /** Depth of the head surface in front of the centre plane (0 at the silhouette). */
    private double depth(double x, double y) {
        double q = 1 - (x / a) * (x / a) - (y / b) * (y / b);
        return 1.05 * a * Math.sqrt(Math.max(0.0, q));
    }

    /** How much a horizontal width at head position x shrinks when the head turns by the yaw. */
    private double foreshortening(double x) {
        // A point at angle theta around the head moves to a*sin(theta + yaw): widths scale by
        // cos(theta + yaw) / cos(theta).
        double sinT = clampUnit(x / a);
        double cosT = Math.sqrt(1 - sinT * sinT);
        double cosTurned = cosT * cosYaw - sinT * sinYaw;
        return Math.max(0.25, cosTurned / Math.max(0.3, cosT));
    }

    /**
     * Approximate signed distance to an axis-aligned ellipse, negative inside: the implicit function
     * r - 1 (r the normalised radius) divided by its gradient length, exact for circles and good near the edge,
     * which is the only place coverage needs it.
     */
    static double ellipse(double x, double y, double cx, double cy, double ax, double ay) {
        double dx = (x - cx) / ax;
        double dy = (y - cy) / ay;
        double r = Math.sqrt(dx * dx + dy * dy);
        double g = Math.sqrt(dx * dx / (ax * ax) + dy * dy / (ay * ay));
        if (g < 1e-12) {
            return -Math.min(ax, ay);
        }
        return (r - 1) * r / g;
    }

    /** Area coverage of a pixel by a shape at signed distance d: a one-pixel linear ramp. */
    private double cover(double d) {
        double c = 0.5 - d / pixel;
        return c <= 0 ? 0 : c >= 1 ? 1 : c;
    }

    /** A smooth coverage ramp of the given width, for shading that has no sharp edge. */
    private static double soft(double d, double width) {
        double t = 0.5 - d / width;
        if (t <= 0) {
            return 0;
        }
        if (t >= 1) {
            return 1;
        }
        return t * t * (3 - 2 * t);
    }

    private static double clampUnit(double v) {
        return Math.max(-1.0, Math.min(1.0, v));
    }

    /** A unit-variance, nearly Gaussian sample from one 64-bit draw: the centred sum of four 16-bit uniforms. */
    private static double gaussian(Rng rng) {
        long bits = rng.nextLong();
        double sum = (bits & 0xFFFF) + ((bits >>> 16) & 0xFFFF) + ((bits >>> 32) & 0xFFFF) + (bits >>> 48);
        // Each uniform has variance 1/12, the sum of four 1/3: rescale by sqrt(3).
        return (sum / 65536.0 - 2.0) * 1.7320508075688772;
    }
}
