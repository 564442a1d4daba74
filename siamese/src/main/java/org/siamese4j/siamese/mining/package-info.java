/** Triplet mining: offline selection in stages, and online batch-all, batch-hard and semi-hard. */
package org.siamese4j.siamese.mining;
