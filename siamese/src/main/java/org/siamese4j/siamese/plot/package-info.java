/**
 * Plots as PNG files, drawn with java.awt into images (headless: no display needed, no extra dependency):
 * training loss per epoch ({@link org.siamese4j.siamese.plot.LossChart}), ROC curve with the EER and decision points
 * ({@link org.siamese4j.siamese.plot.RocChart}), histograms of same- and different-person distances with the
 * threshold ({@link org.siamese4j.siamese.plot.DistanceHistogram}), a grid of image pairs with their distances
 * ({@link org.siamese4j.siamese.plot.PairGrid}) and a 2-D PCA projection of embeddings coloured by identity
 * ({@link org.siamese4j.siamese.plot.EmbeddingPlot}, {@link org.siamese4j.siamese.plot.Pca}).
 *
 * <p>Each plot has {@code render(...)}, returning a {@link java.awt.image.BufferedImage}, and {@code write(path,
 * ...)}, which writes it as a PNG atomically (through {@link org.siamese4j.io.AtomicFiles}) and creates missing
 * folders. Bad input (empty arrays, NaN, mismatched lengths) fails fast with the offending argument and value.
 */
package org.siamese4j.siamese.plot;
