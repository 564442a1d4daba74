/**
 * Optimisers (SGD, Adam, AdamW) and learning-rate schedules, with PyTorch's update rules and defaults.
 *
 * <p>An {@link org.siamese4j.optim.Optimizer} updates its parameters in place through the
 * {@link org.siamese4j.kernels.Kernels} optimiser kernels and keeps per-parameter state (step count and
 * moment buffers, under PyTorch's names) reachable for checkpoints. A schedule
 * ({@link org.siamese4j.optim.StepLR}, {@link org.siamese4j.optim.CosineAnnealingLR}) sets the optimiser's
 * learning rate from the epoch number in closed form.
 */
package org.siamese4j.optim;
