/**
 * siamese4j siamese: weight-shared towers, distances, metric-learning losses, triplet mining, face data and
 * verification metrics, built on siamese4j core. Uses java.desktop only for javax.imageio (PNG/JPEG) and
 * java.awt images.
 */
module org.siamese4j.siamese {
    requires transitive org.siamese4j.core;
    requires java.desktop;

    exports org.siamese4j.siamese;
    exports org.siamese4j.siamese.loss;
    exports org.siamese4j.siamese.mining;
    exports org.siamese4j.siamese.data;
    exports org.siamese4j.siamese.metrics;
    exports org.siamese4j.siamese.diagnostics;
    exports org.siamese4j.siamese.head;
    exports org.siamese4j.siamese.plot;
    exports org.siamese4j.siamese.verify;
    exports org.siamese4j.siamese.train;
}
