/**
 * The learned similarity head (Koch et al. 2015): a pair model whose shared tower embeds both images and whose
 * head scores |e1 - e2| as the logit of P(same) ({@link org.siamese4j.siamese.head.SimilarityHead},
 * {@link org.siamese4j.siamese.head.HeadSiameseNetwork}), trained with binary cross-entropy on logits over
 * balanced pairs ({@link org.siamese4j.siamese.train.HeadObjective}) and saved as one model file with a head.
 */
package org.siamese4j.siamese.head;
