/**
 * Classical baselines that a trained tower must beat on the same people: a verifier that learns is only worth its
 * training if it does better than comparing pixels or than a linear projection fitted in closed form.
 */
package org.siamese4j.siamese.baseline;
