/** Siamese and triplet networks around one shared embedding tower, and the distances between embeddings. */
package org.siamese4j.siamese;
