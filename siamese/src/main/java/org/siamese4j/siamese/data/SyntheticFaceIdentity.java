package org.siamese4j.siamese.data;

import org.siamese4j.tensor.Rng;

/**
 * The fixed facial geometry and colouring of one synthetic person.
 *
 * <p>Lengths are in face units (one unit is 0.55 of the frame height, about 62 pixels in a 112-high image) and
 * feature positions are relative to the centre of the head ellipse (x right, y down). Albedos are reflectances in
 * [0, 1] before lighting. Everything is drawn from one {@link Rng} in a fixed order, so an identity is a pure
 * function of its seed.
 */
final class SyntheticFaceIdentity {
    static final int HAIR_SHORT = 0;
    static final int HAIR_LONG = 1;
    static final int HAIR_RECEDING = 2;
    static final int HAIR_FRINGE = 3;

    static final int FACIAL_HAIR_NONE = 0;
    static final int FACIAL_HAIR_MOUSTACHE = 1;
    static final int FACIAL_HAIR_BEARD = 2;

    // Head: an ellipse whose lower half narrows linearly towards the chin by jawWidth (1 = plain ellipse).
    final double headHalfWidth;
    final double headHalfHeight;
    final double headCenterY;
    final double jawWidth;
    final double skin;

    final double eyeHalfSpacing;
    final double eyeY;
    final double eyeHalfWidth;
    final double eyeHalfHeight;
    final double irisRadius;
    final double irisAlbedo;

    final double browGap;
    final double browThickness;
    final double browSlope;
    final double browArch;
    final double browHalfLength;
    final double browAlbedo;

    final double noseLength;
    final double noseHalfWidth;

    final double mouthGap;
    final double mouthHalfWidth;
    final double lipThickness;
    final double mouthCurvature;
    final double lipAlbedo;

    final int hairStyle;
    final double hairlineY;
    final double hairlineCurve;
    final double hairlineTilt;
    final double hairVolume;
    final double hairAlbedo;
    final double hairStreakFrequency;
    final double faceWindow;

    final boolean ears;
    final double earSize;

    final boolean glasses;
    final double lensHalfWidth;
    final double lensHalfHeight;
    final double frameThickness;
    final double frameAlbedo;

    final int facialHair;
    final double facialHairAlbedo;

    final double neckHalfWidth;
    final double clothAlbedo;

    SyntheticFaceIdentity(Rng rng) {
        headHalfWidth = uniform(rng, 0.47, 0.60);
        headHalfHeight = uniform(rng, 0.62, 0.74);
        headCenterY = uniform(rng, 0.0, 0.09);
        jawWidth = uniform(rng, 0.55, 1.0);
        skin = uniform(rng, 0.35, 0.85);

        eyeHalfSpacing = uniform(rng, 0.18, 0.25);
        eyeY = uniform(rng, -0.15, -0.03);
        eyeHalfWidth = uniform(rng, 0.072, 0.10);
        eyeHalfHeight = uniform(rng, 0.026, 0.042);
        irisRadius = uniform(rng, 0.030, 0.040);
        irisAlbedo = uniform(rng, 0.06, 0.50);

        browGap = uniform(rng, 0.075, 0.125);
        browThickness = uniform(rng, 0.014, 0.036);
        browSlope = uniform(rng, -0.22, 0.28);
        browArch = uniform(rng, 0.0, 0.035);
        browHalfLength = uniform(rng, 0.085, 0.125);

        noseLength = uniform(rng, 0.18, 0.29);
        noseHalfWidth = uniform(rng, 0.050, 0.085);

        mouthGap = uniform(rng, 0.085, 0.15);
        mouthHalfWidth = uniform(rng, 0.10, 0.17);
        lipThickness = uniform(rng, 0.014, 0.034);
        mouthCurvature = uniform(rng, -0.018, 0.022);
        lipAlbedo = skin * uniform(rng, 0.58, 0.85);

        double style = rng.nextDouble();
        hairStyle = style < 0.40 ? HAIR_SHORT : style < 0.65 ? HAIR_LONG : style < 0.80 ? HAIR_RECEDING : HAIR_FRINGE;
        // Mostly dark hair, as in the AT&T set, with a tail of grey and fair.
        double fair = rng.nextDouble();
        hairAlbedo = 0.04 + 0.72 * fair * fair;
        hairVolume = uniform(rng, 1.03, 1.13);
        hairStreakFrequency = uniform(rng, 25.0, 60.0);
        double line = uniform(rng, 0.0, 1.0);
        double curve = uniform(rng, 0.0, 1.0);
        double tilt = uniform(rng, -1.0, 1.0);
        switch (hairStyle) {
            case HAIR_RECEDING -> {
                // Bald on top: hair only in side patches from hairlineY down, beyond |x| > hairlineCurve * a.
                hairlineY = -0.50 + 0.15 * line;
                hairlineCurve = 0.62 + 0.2 * curve;
                hairlineTilt = 0;
            }
            case HAIR_FRINGE -> {
                hairlineY = -0.40 + 0.14 * line;
                hairlineCurve = 0.02 + 0.08 * curve;
                hairlineTilt = 0.16 * tilt;
            }
            default -> {
                hairlineY = -0.60 + 0.20 * line;
                hairlineCurve = 0.12 + 0.25 * curve;
                hairlineTilt = 0.08 * tilt;
            }
        }
        faceWindow = uniform(rng, 0.8, 0.93);
        browAlbedo = Math.min(skin * 0.7, hairAlbedo + uniform(rng, 0.0, 0.15));

        ears = rng.nextDouble() < 0.85;
        earSize = uniform(rng, 0.85, 1.2);

        glasses = rng.nextDouble() < 0.25;
        lensHalfWidth = eyeHalfWidth * uniform(rng, 1.45, 1.8);
        lensHalfHeight = uniform(rng, 0.065, 0.095);
        frameThickness = uniform(rng, 0.008, 0.022);
        frameAlbedo = uniform(rng, 0.03, 0.45);

        double facial = rng.nextDouble();
        facialHair = facial < 0.70 ? FACIAL_HAIR_NONE : facial < 0.85 ? FACIAL_HAIR_MOUSTACHE : FACIAL_HAIR_BEARD;
        facialHairAlbedo = Math.min(skin * 0.6, hairAlbedo + uniform(rng, 0.0, 0.1));

        neckHalfWidth = headHalfWidth * uniform(rng, 0.55, 0.7);
        clothAlbedo = uniform(rng, 0.08, 0.85);
    }

    /** Identity {@code index} of the family defined by {@code seed}; independent of every other index. */
    static SyntheticFaceIdentity of(long seed, int index) {
        return new SyntheticFaceIdentity(new Rng(SyntheticFaces.streamSeed(seed, index, 0)));
    }

    /** The continuous parameters as one vector (for tests and parameter-space oracles). */
    double[] parameters() {
        return new double[] {
            headHalfWidth, headHalfHeight, headCenterY, jawWidth, skin,
            eyeHalfSpacing, eyeY, eyeHalfWidth, eyeHalfHeight, irisRadius, irisAlbedo,
            browGap, browThickness, browSlope, browArch, browHalfLength, browAlbedo,
            noseLength, noseHalfWidth,
            mouthGap, mouthHalfWidth, lipThickness, mouthCurvature, lipAlbedo,
            hairStyle, hairlineY, hairlineCurve, hairlineTilt, hairVolume, hairAlbedo, hairStreakFrequency, faceWindow,
            ears ? 1 : 0, earSize, glasses ? 1 : 0, lensHalfWidth, lensHalfHeight, frameThickness, frameAlbedo,
            facialHair, facialHairAlbedo, neckHalfWidth, clothAlbedo,
        };
    }

    static double uniform(Rng rng, double low, double high) {
        return low + (high - low) * rng.nextDouble();
    }
}
