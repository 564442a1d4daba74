/** Optimisers (SGD, Adam, AdamW) and learning-rate schedules. */
package org.siamese4j.optim;
