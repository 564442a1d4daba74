/** Metric-learning losses: contrastive, triplet (hard and soft margin), circle; reductions. */
package org.siamese4j.siamese.loss;
