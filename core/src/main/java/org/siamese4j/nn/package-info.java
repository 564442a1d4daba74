/**
 * Neural-network layers as modules with named parameters, PyTorch-style.
 *
 * <p>{@link org.siamese4j.nn.Module} holds parameters, buffers and child modules under PyTorch's
 * {@code state_dict} names ({@code "0.weight"}, {@code "3.running_mean"}, {@code "3.num_batches_tracked"}), so
 * a {@link org.siamese4j.nn.Sequential} built layer for layer like a PyTorch one has the same names and
 * shapes. Layers keep state only; the maths is in {@link org.siamese4j.tensor.Functional} and the tensor ops.
 * Layers with random initial weights take an explicit {@link org.siamese4j.tensor.Rng} and initialise as
 * PyTorch's {@code reset_parameters}; {@link org.siamese4j.nn.Init} has the initialisers themselves.
 */
package org.siamese4j.nn;
