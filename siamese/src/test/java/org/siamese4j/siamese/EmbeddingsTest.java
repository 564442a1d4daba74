package org.siamese4j.siamese;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Module;
import org.siamese4j.siamese.data.ImageDataset;
import org.siamese4j.siamese.data.LabelledImages;
import org.siamese4j.siamese.data.SyntheticFaces;
import org.siamese4j.tensor.Rng;

class EmbeddingsTest {

    @Test
    void imagesReadBatchByBatchEmbedAsTheSetInMemory() throws IOException {
        ArchSpec arch = ArchSpec.parse("conv(4,3,pad=1) batchnorm relu maxpool(2) flatten dense(6) l2norm");
        Module tower = arch.build(new int[] {1, 16, 14}, new Rng(2));
        LabelledImages lazy = SyntheticFaces.range(0, 5, 3, 9L, 16, 14);
        float[][] inMemory = Embeddings.of(tower, ImageDataset.of(lazy), 15);
        assertThat(tower.isTraining()).as("the mode it had is restored").isTrue();

        // batches of 5 (none of 1 to 3 images): the last bits of an embedding can depend on the batch (a GEMM of
        // a few rows takes another path), never on whether the images were read in advance
        assertThat(Embeddings.of(tower, lazy, 5)).isDeepEqualTo(inMemory);
        List<String> reads = new ArrayList<>();
        float[][] counted = Embeddings.of(tower, lazy.size(), 5, (from, to) -> {
            reads.add(from + ".." + to);
            return lazy.batch(LabelledImages.indices(from, to));
        });
        assertThat(counted).isDeepEqualTo(inMemory);
        assertThat(reads).containsExactly("0..5", "5..10", "10..15");
    }
}
