package org.siamese4j.siamese.data;

import org.siamese4j.tensor.Rng;

/**
 * What changes between two photographs of the same synthetic person: pose, lighting, expression and sensor
 * noise level.
 *
 * <p>Angles are radians, shifts are face units (0.55 of the frame height), {@code scale} multiplies the face
 * size.
 * Yaw and pitch are not rendered in 3-D: they move each feature by its depth on the head (the nose tip most,
 * the ears the other way) and compress horizontal widths by cos(yaw).
 */
final class SyntheticFaceVariation {
    // Pose.
    final double rotation;
    final double shiftX;
    final double shiftY;
    final double scale;
    final double yaw;
    final double pitch;

    // Lighting: a unit direction towards the light (z towards the camera), the ambient share, the camera's
    // gain and offset, a linear illumination gradient across the frame and the background level.
    final double lightX;
    final double lightY;
    final double lightZ;
    final double ambient;
    final double gain;
    final double offset;
    final double gradientX;
    final double gradientY;
    final double background;
    final double noiseSigma;

    // Expression.
    final double smile;
    final double mouthOpen;
    final double eyeOpen;
    final double browRaise;
    final double gazeX;
    final double gazeY;

    SyntheticFaceVariation(Rng rng) {
        rotation = clampedGaussian(rng, 0.085, 0.22);
        shiftX = clampedGaussian(rng, 0.055, 0.14);
        shiftY = clampedGaussian(rng, 0.05, 0.12);
        scale = 1.0 + clampedGaussian(rng, 0.055, 0.13);
        yaw = clampedGaussian(rng, 0.22, 0.5);
        pitch = clampedGaussian(rng, 0.08, 0.2);

        double azimuth = SyntheticFaceIdentity.uniform(rng, -0.9, 0.9);
        double elevation = SyntheticFaceIdentity.uniform(rng, -0.25, 0.75);
        lightX = StrictMath.sin(azimuth) * StrictMath.cos(elevation);
        lightY = -StrictMath.sin(elevation);
        lightZ = StrictMath.cos(azimuth) * StrictMath.cos(elevation);
        ambient = SyntheticFaceIdentity.uniform(rng, 0.35, 0.65);
        gain = SyntheticFaceIdentity.uniform(rng, 0.8, 1.2);
        offset = SyntheticFaceIdentity.uniform(rng, -0.06, 0.06);
        gradientX = clampedGaussian(rng, 0.05, 0.15);
        gradientY = clampedGaussian(rng, 0.04, 0.1);
        background = SyntheticFaceIdentity.uniform(rng, 0.1, 0.42);
        noiseSigma = SyntheticFaceIdentity.uniform(rng, 0.008, 0.03);

        smile = SyntheticFaceIdentity.uniform(rng, -0.4, 1.0);
        mouthOpen = rng.nextDouble() < 0.3 ? rng.nextDouble() : 0.0;
        eyeOpen = rng.nextDouble() < 0.05 ? 0.12 : SyntheticFaceIdentity.uniform(rng, 0.6, 1.15);
        browRaise = SyntheticFaceIdentity.uniform(rng, -0.015, 0.03);
        gazeX = SyntheticFaceIdentity.uniform(rng, -0.5, 0.5);
        gazeY = SyntheticFaceIdentity.uniform(rng, -0.3, 0.3);
    }

    private SyntheticFaceVariation(SyntheticFaceVariation v, boolean keepPose, boolean keepLighting) {
        rotation = keepPose ? v.rotation : 0;
        shiftX = keepPose ? v.shiftX : 0;
        shiftY = keepPose ? v.shiftY : 0;
        scale = keepPose ? v.scale : 1;
        yaw = keepPose ? v.yaw : 0;
        pitch = keepPose ? v.pitch : 0;
        lightX = keepLighting ? v.lightX : 0;
        lightY = keepLighting ? v.lightY : -0.3;
        lightZ = keepLighting ? v.lightZ : Math.sqrt(1 - 0.09);
        ambient = keepLighting ? v.ambient : 0.45;
        gain = keepLighting ? v.gain : 1;
        offset = keepLighting ? v.offset : 0;
        gradientX = keepLighting ? v.gradientX : 0;
        gradientY = keepLighting ? v.gradientY : 0;
        background = keepLighting ? v.background : 0.28;
        noiseSigma = v.noiseSigma;
        smile = v.smile;
        mouthOpen = v.mouthOpen;
        eyeOpen = v.eyeOpen;
        browRaise = v.browRaise;
        gazeX = v.gazeX;
        gazeY = v.gazeY;
    }

    /** Image {@code image} of identity {@code identity}; independent of every other (identity, image) pair. */
    static SyntheticFaceVariation of(long seed, int identity, int image) {
        return new SyntheticFaceVariation(new Rng(SyntheticFaces.streamSeed(seed, identity, 1 + (long) image)));
    }

    /** The same photograph taken frontal, centred and at the nominal scale (lighting and expression kept). */
    SyntheticFaceVariation withoutPose() {
        return new SyntheticFaceVariation(this, false, true);
    }

    /** The same photograph under a fixed frontal light and exposure (pose and expression kept). */
    SyntheticFaceVariation withoutLighting() {
        return new SyntheticFaceVariation(this, true, false);
    }

    private static double clampedGaussian(Rng rng, double sigma, double limit) {
        return Math.max(-limit, Math.min(limit, sigma * gaussian(rng)));
    }

    /** Box-Muller with StrictMath, so the pose of an image is the same bits on every JDK and platform. */
    private static double gaussian(Rng rng) {
        double u1 = rng.nextDouble();
        double u2 = rng.nextDouble();
        // 1 - u1 lies in (0, 1], so the log is finite.
        return StrictMath.sqrt(-2.0 * StrictMath.log(1.0 - u1)) * StrictMath.cos(2.0 * Math.PI * u2);
    }
}
