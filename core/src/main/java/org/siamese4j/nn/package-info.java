/** Neural-network layers as modules with named parameters, PyTorch-style. */
package org.siamese4j.nn;
