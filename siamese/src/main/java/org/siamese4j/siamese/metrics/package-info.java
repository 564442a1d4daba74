/**
 * Face-verification metrics: ROC, AUC, EER, k-fold accuracy, TAR at FAR, threshold calibration, one-shot and rank-1;
 * retrieval metrics (Recall@K, R-precision, MAP@R) in {@link org.siamese4j.siamese.metrics.Retrieval}.
 *
 * <p>Everything works on plain arrays: pair scores ({@code double[]}) with same/different flags, or embeddings
 * ({@code float[][]}) with identity labels. A {@link org.siamese4j.siamese.metrics.ScoreDirection} says whether low
 * scores (distances) or high scores (similarities, P(same)) mean "same"; thresholds are reported in the caller's
 * score units and accept ties. Metrics that cannot be measured on the given data (e.g. TAR at FAR 1e-3 with fewer
 * than 1000 different pairs) are documented as NaN; malformed input (empty, NaN scores, mismatched lengths) fails
 * fast with the offending value.
 */
package org.siamese4j.siamese.metrics;
