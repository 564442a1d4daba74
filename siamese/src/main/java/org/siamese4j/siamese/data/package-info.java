/** Face images and datasets: loaders, transforms, splits, augmentation, samplers, synthetic faces. */
package org.siamese4j.siamese.data;
