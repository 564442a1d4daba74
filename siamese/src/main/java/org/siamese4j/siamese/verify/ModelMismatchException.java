package org.siamese4j.siamese.verify;

import java.io.IOException;

/**
 * A gallery file was built with another model than the verifier it is loaded with: its embeddings would be
 * compared with embeddings of a different network, which is meaningless. The message names both models.
 */
public class ModelMismatchException extends IOException {
    private static final long serialVersionUID = 1L;

    public ModelMismatchException(String message) {
        super(message);
    }
}
