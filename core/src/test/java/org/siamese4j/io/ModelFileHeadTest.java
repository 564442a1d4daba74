package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.nn.Sequential;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

/** Model files with a second network, the head: round trip, strict checks over the head's tensors, metadata. */
class ModelFileHeadTest {
    /** 1x6x6 -> conv 4x6x6 -> pool 4x3x3 = 36 -> 8 features. */
    static final String TOWER = "conv(4,3,pad=1) batchnorm relu maxpool(2) flatten dense(8)";
    static final int[] INPUT = {1, 6, 6};
    static final String HEAD = "dense(5) relu dense(1)";

    @TempDir
    Path dir;

    private static Sequential tower(long seed) {
        Sequential t = ArchSpec.parse(TOWER).build(INPUT, new Rng(seed));
        t.forward(Tensor.uniform(new Rng(seed + 100), 0f, 1f, 3, 1, 6, 6)); // move the batch-norm statistics
        t.eval();
        return t;
    }

    private static ModelFile.Head head(long seed) {
        return new ModelFile.Head(ArchSpec.parse(HEAD).build(new int[] {8}, new Rng(seed)), ArchSpec.parse(HEAD), 8);
    }

    private Path saved(String name) throws IOException {
        Path file = dir.resolve(name);
        ModelFile.save(file, tower(1), ArchSpec.parse(TOWER), INPUT, head(2), Map.of("note", "pair model"));
        return file;
    }

    /** The file's tensors and metadata, to be damaged and written back. */
    private static SafeTensors.Contents contents(Path file) throws IOException {
        return SafeTensors.read(file);
    }

    private Path rewrite(String name, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Path file = dir.resolve(name);
        SafeTensors.write(file, tensors, metadata);
        return file;
    }

    private static ModelFormatException formatError(ThrowingCallable call) {
        Throwable thrown = catchThrowable(call);
        assertThat(thrown).isInstanceOf(ModelFormatException.class);
        return (ModelFormatException) thrown;
    }

    // ------------------------------------------------------------------------------------ round trips

    @Test
    void towerAndHeadRoundTripInOneFile() throws IOException {
        Sequential tower = tower(1);
        ModelFile.Head head = head(2);
        Path file = saved("pair.safetensors");

        Map<String, SafeTensors.TensorInfo> header = SafeTensors.readHeader(file);
        // The I64 counter first (so it is 8-byte aligned), then the tower's floats, then the head's.
        assertThat(header.keySet()).containsExactly("1.num_batches_tracked", "0.weight", "0.bias", "1.weight",
                "1.bias", "1.running_mean", "1.running_var", "5.weight", "5.bias",
                "head.0.weight", "head.0.bias", "head.2.weight", "head.2.bias");
        assertThat(header.get("head.0.weight").shape()).containsExactly(5, 8);
        Map<String, String> meta = SafeTensors.readMetadata(file);
        assertThat(meta).containsEntry("head", HEAD).containsEntry("head_input", "8").containsEntry("note", "pair model");

        ModelFile.LoadedModel loaded = ModelFile.load(file, new Rng(77));
        assertThat(loaded.head()).isPresent();
        ModelFile.Head back = loaded.head().orElseThrow();
        assertThat(back.arch()).isEqualTo(ArchSpec.parse(HEAD));
        assertThat(back.inputFeatures()).isEqualTo(8);
        assertThat(back.model().isTraining()).as("the head is loaded in evaluation mode").isFalse();

        Tensor x = Tensor.uniform(new Rng(3), 0f, 1f, 2, 1, 6, 6);
        Tensor e = tower.forward(x);
        assertThat(loaded.model().forward(x).toArray()).containsExactly(e.toArray());
        assertThat(back.model().forward(e).toArray()).containsExactly(head.model().forward(e).toArray());
        // the tower's own state dict has no head entries
        assertThat(loaded.model().stateDict().keySet()).containsExactlyElementsOf(tower.stateDict().keySet());
    }

    @Test
    void aPlainModelFileLoadsWithoutAHead() throws IOException {
        Path file = dir.resolve("plain.safetensors");
        ModelFile.save(file, tower(1), ArchSpec.parse(TOWER), INPUT);
        ModelFile.LoadedModel loaded = ModelFile.load(file);
        assertThat(loaded.head()).isEmpty();
        assertThat(loaded.metadata().keySet()).containsExactly("format", "format_version", "arch", "input");
        assertThat(SafeTensors.readHeader(file).keySet()).noneMatch(name -> name.startsWith("head."));
        // the record's four-argument form is the plain model
        assertThat(new ModelFile.LoadedModel(loaded.model(), loaded.arch(), INPUT, Map.of()).head()).isEmpty();
    }

    @Test
    void loadIntoFillsATowerAndAHeadBuiltByHand() throws IOException {
        Path file = saved("pair.safetensors");
        Sequential tower = ArchSpec.parse(TOWER).build(INPUT, new Rng(50));
        Sequential head = ArchSpec.parse(HEAD).build(new int[] {8}, new Rng(51));
        Map<String, String> meta = ModelFile.loadInto(file, tower, head);
        assertThat(meta).containsEntry("head", HEAD);
        tower(1).stateDict().forEach((name, t) ->
                assertThat(tower.stateDict().get(name).toArray()).as(name).containsExactly(t.toArray()));
        head(2).model().stateDict().forEach((name, t) ->
                assertThat(head.stateDict().get(name).toArray()).as(name).containsExactly(t.toArray()));
    }

    // ------------------------------------------------------------------------------------ strict checks

    @Test
    void aCorruptedHeadTensorShapeIsReportedWithBothShapes() throws IOException {
        SafeTensors.Contents c = contents(saved("pair.safetensors"));
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>(c.tensors());
        tensors.put("head.2.weight", Tensor.zeros(1, 6));
        Path bad = rewrite("bad.safetensors", tensors, c.metadata());
        ModelFormatException e = formatError(() -> ModelFile.load(bad));
        assertThat(e.problem()).contains("the tensors do not match the arch and head specs")
                .contains("head.2.weight is [1, 6] in the file, [1, 5] in the arch and head specs");
        assertThat(e.location()).isEqualTo("header field \"head.2.weight\".shape");
    }

    @Test
    void missingAndUnexpectedHeadTensorsAreListedWithTheTowers() throws IOException {
        SafeTensors.Contents c = contents(saved("pair.safetensors"));
        LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>(c.tensors());
        tensors.remove("head.0.bias");
        tensors.remove("5.bias");
        tensors.put("head.3.weight", Tensor.zeros(2));
        ModelFormatException e = formatError(() -> ModelFile.load(rewrite("bad.safetensors", tensors, c.metadata())));
        assertThat(e.location()).isEqualTo("header");
        assertThat(e.problem()).contains("2 missing: 5.bias [8], head.0.bias [5]")
                .contains("1 unexpected: \"head.3.weight\" [2]");
    }

    @Test
    void headTensorsInAFileWithoutAHeadAreUnexpected() throws IOException {
        SafeTensors.Contents c = contents(saved("pair.safetensors"));
        Map<String, String> meta = new LinkedHashMap<>(c.metadata());
        meta.remove("head");
        meta.remove("head_input");
        ModelFormatException e = formatError(() -> ModelFile.load(rewrite("nohead.safetensors", c.tensors(), meta)));
        assertThat(e.problem()).contains("the tensors do not match the arch spec")
                .contains("4 unexpected: \"head.0.weight\" [5, 8], \"head.0.bias\" [5], \"head.2.weight\" [1, 5]");
    }

    @Test
    void aHeadFileLoadedIntoATowerAloneNamesTheHead() throws IOException {
        Path file = saved("pair.safetensors");
        Sequential tower = ArchSpec.parse(TOWER).build(INPUT, new Rng(50));
        float[] before = tower.stateDict().get("0.weight").toArray();
        ModelFormatException e = formatError(() -> ModelFile.loadInto(file, tower));
        assertThat(e.problem()).contains("4 unexpected: \"head.0.weight\" [5, 8]")
                .contains("the file also holds a head").contains("ModelFile.loadInto(file, model, head)");
        assertThat(tower.stateDict().get("0.weight").toArray()).as("unchanged on failure").containsExactly(before);
        // and a head of another shape is refused by the three-argument form
        Sequential wrongHead = ArchSpec.parse("dense(1)").build(new int[] {8}, new Rng(1));
        assertThat(formatError(() -> ModelFile.loadInto(file, tower, wrongHead)).problem())
                .contains("the tensors do not match the model and head")
                .contains("head.0.weight is [5, 8] in the file, [1, 8] in the model and head")
                .contains("2 unexpected: \"head.2.weight\" [1, 5]");
    }

    // ------------------------------------------------------------------------------------ metadata

    @Test
    void headAndHeadInputComeTogetherAndMustParse() throws IOException {
        SafeTensors.Contents c = contents(saved("pair.safetensors"));
        Map<String, String> noInput = new LinkedHashMap<>(c.metadata());
        noInput.remove("head_input");
        ModelFormatException e1 = formatError(() -> ModelFile.load(rewrite("a.safetensors", c.tensors(), noInput)));
        assertThat(e1.location()).isEqualTo("metadata field \"head_input\"");
        assertThat(e1.problem()).contains("has \"head\" but no \"head_input\"");

        Map<String, String> noSpec = new LinkedHashMap<>(c.metadata());
        noSpec.remove("head");
        ModelFormatException e2 = formatError(() -> ModelFile.load(rewrite("b.safetensors", c.tensors(), noSpec)));
        assertThat(e2.location()).isEqualTo("metadata field \"head\"");

        Map<String, String> badSpec = new LinkedHashMap<>(c.metadata());
        badSpec.put("head", "dense(5 relu");
        ModelFormatException e3 = formatError(() -> ModelFile.load(rewrite("c.safetensors", c.tensors(), badSpec)));
        assertThat(e3.location()).isEqualTo("metadata field \"head\"");
        assertThat(e3.problem()).contains("bad head architecture");

        Map<String, String> image = new LinkedHashMap<>(c.metadata());
        image.put("head_input", "1x2x4");
        ModelFormatException e4 = formatError(() -> ModelFile.load(rewrite("d.safetensors", c.tensors(), image)));
        assertThat(e4.location()).isEqualTo("metadata field \"head_input\"");
        assertThat(e4.problem()).contains("feature count").contains("1x2x4");

        Map<String, String> misfit = new LinkedHashMap<>(c.metadata());
        misfit.put("head", "maxpool(2) dense(1)");
        ModelFormatException e5 = formatError(() -> ModelFile.load(rewrite("e.safetensors", c.tensors(), misfit)));
        assertThat(e5.location()).isEqualTo("metadata field \"head\"");
        assertThat(e5.problem()).contains("the head architecture does not fit its input of 8 features");

        // a hostile head spec fails on the shapes it implies, before anything is built
        Map<String, String> huge = new LinkedHashMap<>(c.metadata());
        huge.put("head", "dense(2000000000) dense(2000000000)");
        assertThat(formatError(() -> ModelFile.load(rewrite("f.safetensors", c.tensors(), huge))).location())
                .isEqualTo("metadata field \"head\"");
    }

    @Test
    void saveChecksTheHeadBeforeWriting() {
        Path file = dir.resolve("never.safetensors");
        ArchSpec arch = ArchSpec.parse(TOWER);
        ModelFile.Head wrongSpec = new ModelFile.Head(head(2).model(), ArchSpec.parse("dense(6) relu dense(1)"), 8);
        assertThatThrownBy(() -> ModelFile.save(file, tower(1), arch, INPUT, wrongSpec, Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the head spec 'dense(6) relu dense(1)' for 8 input features does not describe")
                .hasMessageContaining("0.weight is [5, 8] in the model, [6, 8] in the spec");

        ModelFile.Head nan = head(2);
        nan.model().stateDict().get("2.bias").data()[0] = Float.NaN;
        assertThatThrownBy(() -> ModelFile.save(file, tower(1), arch, INPUT, nan, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("head.2.bias holds NaN");

        for (String key : new String[] {"head", "head_input"}) {
            assertThatThrownBy(() -> ModelFile.save(file, tower(1), arch, INPUT, Map.of(key, "x")))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'" + key + "' is reserved");
        }
        assertThatThrownBy(() -> new ModelFile.Head(head(2).model(), ArchSpec.parse(HEAD), 0))
                .hasMessageContaining("inputFeatures must be >= 1, got 0");
        assertThat(file).doesNotExist();
    }
}
