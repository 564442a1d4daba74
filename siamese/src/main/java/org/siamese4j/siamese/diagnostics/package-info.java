/**
 * Training diagnostics: what a run is doing and why it fails when it fails silently.
 * {@link org.siamese4j.siamese.diagnostics.TrainingMonitor} records per-step figures (loss, active fraction,
 * gradient norm, easy / semi-hard / hard triplets) and per-epoch figures (positive and negative pair distances and
 * their gap, embedding norm, per-dimension variance), and runs detectors for collapse, a loss stuck at zero,
 * exploding numbers and batches without a valid term, each giving one warning line with a suggested fix to a
 * {@link org.siamese4j.siamese.diagnostics.DiagnosticsListener}. It writes the per-step figures as CSV and as a
 * chart ({@link org.siamese4j.siamese.plot.DiagnosticsChart}).
 *
 * <p>{@link org.siamese4j.siamese.diagnostics.StepGuard} protects each step, monitor or not: a NaN or infinity in
 * the embeddings, the loss or a gradient stops training with a
 * {@link org.siamese4j.siamese.diagnostics.NonFiniteTrainingException} naming the input rows, the layer or the
 * parameter concerned, before the optimiser applies the step, so the last good weights and checkpoint survive.
 */
package org.siamese4j.siamese.diagnostics;
