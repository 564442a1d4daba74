/**
 * Face verification for applications: {@link org.siamese4j.siamese.verify.Verifier} loads a trained tower from a
 * model file, embeds images prepared as the training data was, and decides whether two images show the same person
 * at a threshold calibrated on labelled images and stored with the model; {@link org.siamese4j.siamese.verify.Gallery}
 * enrols people without retraining and identifies probe images among them, from many threads at once.
 */
package org.siamese4j.siamese.verify;
