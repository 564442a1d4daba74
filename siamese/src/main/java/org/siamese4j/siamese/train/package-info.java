/**
 * Training: the one loop ({@link org.siamese4j.siamese.train.Trainer}) and the ways of learning it runs
 * ({@link org.siamese4j.siamese.train.Objective}): online-mined triplets, offline mining stages, contrastive
 * pairs, circle loss and a learned similarity head.
 */
package org.siamese4j.siamese.train;
