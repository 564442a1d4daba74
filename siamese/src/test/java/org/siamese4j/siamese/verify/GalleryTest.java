package org.siamese4j.siamese.verify;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFormatException;
import org.siamese4j.io.SafeTensors;
import org.siamese4j.nn.ArchSpec;
import org.siamese4j.siamese.Distance;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.tensor.Rng;
import org.siamese4j.tensor.Tensor;

class GalleryTest {
    private static final double S = Fixtures.BN_SCALE;

    @TempDir
    Path dir;

    private static Verifier verifier() {
        return Fixtures.verifier().withThreshold(0.15);
    }

    /** alice (0.2, 0.8), bob (0.8, 0.2), carol (0.5, 0.5), two images each. */
    private static Gallery threePeople() {
        Gallery g = new Gallery(verifier());
        g.enroll("alice", Fixtures.face(0.2, 0.8, 0.0), Fixtures.face(0.22, 0.8, 0.03));
        g.enroll("bob", Fixtures.face(0.8, 0.2, 0.0), Fixtures.face(0.8, 0.23, 0.0));
        g.enroll("carol", Fixtures.face(0.5, 0.5, 0.02));
        return g;
    }

    @Test
    void aNewGalleryIsOwnerOnlyAndAnExistingOneKeepsItsPermissions() throws IOException {
        assumeTrue(Files.getFileStore(dir).supportsFileAttributeView(PosixFileAttributeView.class),
                "the file system of the temp folder has no POSIX permissions");
        Path file = dir.resolve("new.gallery");
        threePeople().save(file);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        threePeople().save(file);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-r-----");
    }

    @Test
    void aGalleryOf100000PeopleSavesAndLoadsWhereVersion1StoppedNear70000() throws IOException {
        // version 1 had a tensor and a name per person in the header, whose million JSON values ran out near 70,000
        Verifier v = verifier();
        int n = 100_000;
        Map<String, List<float[]>> batch = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            batch.put("person-" + i, i % 10 == 0 ? List.of(new float[] {i, -i}, new float[] {i, 0.5f})
                    : List.of(new float[] {i, -i}));
        }
        Gallery big = new Gallery(v);
        big.enrollAll(batch);
        Path file = dir.resolve("big.gallery");
        big.save(file);

        assertThat(SafeTensors.readHeader(file)).containsOnlyKeys("embeddings", "counts", "names");
        assertThat(SafeTensors.readHeader(file).get("embeddings").shape()).containsExactly(n + n / 10, 2);
        Gallery loaded = Gallery.load(file, v);
        assertThat(loaded.size()).isEqualTo(n);
        assertThat(loaded.names()).isEqualTo(big.names());
        for (int i : new int[] {0, 1, 9, 10, 77_777, n - 1}) {
            assertThat(loaded.embeddingsOf("person-" + i)).as("person-" + i)
                    .isDeepEqualTo(big.embeddingsOf("person-" + i)).hasNumberOfRows(i % 10 == 0 ? 2 : 1);
        }
        for (float[] probe : List.of(new float[] {77_777f, -77_777f}, new float[] {50_000.2f, 0.4f})) {
            assertThat(loaded.identifyEmbedding(probe)).isEqualTo(big.identifyEmbedding(probe));
        }
        assertThat(loaded.identifyEmbedding(new float[] {50_000.2f, 0.4f}).nearest()).isEqualTo("person-50000");
    }

    @Test
    void loadOrCreateStartsEmptyThenReadsWhatWasSaved() throws IOException {
        Path file = dir.resolve("staff.gallery");
        Gallery first = Gallery.loadOrCreate(file, verifier());
        assertThat(first.size()).isZero();
        assertThat(file).doesNotExist();
        threePeople().save(file);
        assertThat(Gallery.loadOrCreate(file, verifier()).names()).containsExactly("alice", "bob", "carol");
    }

    @Test
    void enrolIdentifyUnknownAndRemove() {
        Gallery g = threePeople();
        assertThat(g.names()).containsExactly("alice", "bob", "carol");
        assertThat(g.size()).isEqualTo(3);

        Match m = g.identify(Fixtures.face(0.25, 0.78, 0.01));
        assertThat(m.known()).isTrue();
        assertThat(m.label()).isEqualTo("alice");
        assertThat(m.identity()).contains("alice");
        // nearest of alice's two images: (0.22, 0.8)
        assertThat(m.distance()).isCloseTo(Math.hypot(0.03, 0.02) * S, within(1e-6));
        assertThat(m.threshold()).isEqualTo(0.15);

        Match stranger = g.identify(Fixtures.face(0.2, 0.2, 0.0));   // 0.3 from carol, 0.6 from the others
        assertThat(stranger.known()).isFalse();
        assertThat(stranger.label()).isEqualTo(Match.UNKNOWN);
        assertThat(stranger.identity()).isEmpty();
        assertThat(stranger.nearest()).isEqualTo("carol");
        assertThat(stranger.distance()).isCloseTo(Math.hypot(0.3, 0.3) * S, within(1e-6));

        // a new employee, no retraining
        g.enroll("dave", Fixtures.face(0.2, 0.2, 0.0));
        assertThat(g.identify(Fixtures.face(0.21, 0.2, 0.0)).label()).isEqualTo("dave");

        assertThat(g.remove("alice")).isTrue();
        assertThat(g.remove("alice")).isFalse();
        assertThat(g.names()).containsExactly("bob", "carol", "dave");
        assertThat(g.identify(Fixtures.face(0.25, 0.78, 0.01)).label()).isEqualTo(Match.UNKNOWN);
    }

    @Test
    void enrollingAnExistingNameAddsImagesAndIdentifyUsesTheNearest() {
        Gallery g = threePeople();
        assertThat(g.identify(Fixtures.face(0.5, 0.8, 0.0)).known()).isFalse();
        g.enroll("carol", Fixtures.face(0.5, 0.82, 0.0));
        assertThat(g.embeddingsOf("carol")).hasNumberOfRows(2);
        Match m = g.identify(Fixtures.face(0.5, 0.8, 0.0));
        assertThat(m.label()).isEqualTo("carol");
        assertThat(m.distance()).isCloseTo(0.02 * S, within(1e-6));
        assertThat(g.names()).containsExactly("alice", "bob", "carol");
    }

    @Test
    void tiesGoToTheSmallerNameWhateverTheEnrolmentOrder() {
        float[] e = {0.5f, 0.5f};
        Gallery g1 = new Gallery(verifier());
        g1.enrollEmbeddings("zoe", e);
        g1.enrollEmbeddings("amy", e);
        Gallery g2 = new Gallery(verifier());
        g2.enrollEmbeddings("amy", e);
        g2.enrollEmbeddings("zoe", e);
        assertThat(g1.identifyEmbedding(e)).isEqualTo(g2.identifyEmbedding(e));
        assertThat(g1.identifyEmbedding(e).nearest()).isEqualTo("amy");
    }

    @Test
    void anEmptyGalleryKnowsNobody() {
        Match m = new Gallery(verifier()).identify(Fixtures.face(0.2, 0.8, 0.0));
        assertThat(m.known()).isFalse();
        assertThat(m.nearest()).isNull();
        assertThat(m.distance()).isEqualTo(Double.POSITIVE_INFINITY);
        assertThat(m.label()).isEqualTo("unknown");
    }

    @Test
    void badNamesAndEmbeddingsAreRefused() {
        Gallery g = new Gallery(verifier());
        assertThatThrownBy(() -> g.enroll("  ", Fixtures.face(0.2, 0.8, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("blank");
        assertThatThrownBy(() -> g.enroll("a\nb", Fixtures.face(0.2, 0.8, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("control character at index 1");
        assertThatThrownBy(() -> g.enroll("x", new GrayImage[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no image");
        assertThatThrownBy(() -> g.enrollEmbeddings("x", new float[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("2 values").hasMessageContaining("3");
        assertThatThrownBy(() -> g.enrollEmbeddings("x", new float[] {Float.NaN, 0f}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
        assertThat(g.size()).isZero();
    }

    /** n people "p0" .. "p(n-1)" with one or two 2-d embeddings each, from a seed. */
    private static Map<String, List<float[]>> batch(int n, String prefix, long seed) {
        Rng rng = new Rng(seed);
        Map<String, List<float[]>> batch = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            List<float[]> rows = new ArrayList<>();
            for (int k = 0; k <= i % 2; k++) {
                rows.add(new float[] {rng.nextFloat(), rng.nextFloat()});
            }
            batch.put(prefix + i, rows);
        }
        return batch;
    }

    @Test
    void enrollAllGivesTheSameGalleryAsEnrollingOneByOne() {
        Map<String, List<float[]>> batch = batch(50, "p", 3);
        // an existing name in the batch gets its embeddings added, as enrollEmbeddings does
        batch.put("alice", List.of(new float[] {0.9f, 0.1f}));
        Gallery bulk = threePeople();
        bulk.enrollAll(batch);
        Gallery single = threePeople();
        batch.forEach((name, rows) -> single.enrollEmbeddings(name, rows.toArray(float[][]::new)));

        assertThat(bulk.names()).isEqualTo(single.names());
        for (String name : single.names()) {
            assertThat(bulk.embeddingsOf(name)).as(name).isDeepEqualTo(single.embeddingsOf(name));
        }
        assertThat(bulk.embeddingsOf("alice")).hasNumberOfRows(3);
        Rng rng = new Rng(4);
        for (int i = 0; i < 20; i++) {
            float[] probe = {rng.nextFloat(), rng.nextFloat()};
            assertThat(bulk.identifyEmbedding(probe)).isEqualTo(single.identifyEmbedding(probe));
        }
        // the gallery holds copies: changing the caller's arrays afterwards changes nothing
        batch.get("p0").get(0)[0] = 42f;
        assertThat(bulk.embeddingsOf("p0")).isDeepEqualTo(single.embeddingsOf("p0"));
    }

    @Test
    void aBadEntryAnywhereInTheBatchLeavesTheGalleryUnchanged() {
        Gallery g = threePeople();
        List<String> names = g.names();
        long written = g.snapshotEntriesWritten();
        List<Map.Entry<String, List<float[]>>> bad = List.of(
                Map.entry("a\nb", List.of(new float[] {0f, 0f})),
                Map.entry("  ", List.of(new float[] {0f, 0f})),
                Map.entry("empty", List.of()),
                Map.entry("short", List.of(new float[] {0f, 0f}, new float[3])),
                Map.entry("nan", List.of(new float[] {Float.NaN, 0f})));
        String[] problems = {"control character", "blank", "no embedding given for 'empty'",
                "'short': the model's embeddings have 2 values, embedding 1 has 3", "NaN"};
        for (int i = 0; i < bad.size(); i++) {
            // the bad entry comes last, after good ones including an existing name
            Map<String, List<float[]>> batch = batch(10, "p", 5);
            batch.put("alice", List.of(new float[] {0.9f, 0.1f}));
            batch.put(bad.get(i).getKey(), bad.get(i).getValue());
            assertThatThrownBy(() -> g.enrollAll(batch)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("Gallery").hasMessageContaining(problems[i]);
        }
        Map<String, List<float[]>> nullRows = new LinkedHashMap<>(batch(3, "p", 6));
        nullRows.put("none", null);
        assertThatThrownBy(() -> g.enrollAll(nullRows)).hasMessageContaining("no embedding given for 'none'");

        assertThat(g.names()).isEqualTo(names);
        assertThat(g.embeddingsOf("alice")).hasNumberOfRows(2);
        assertThat(g.snapshotEntriesWritten()).isEqualTo(written);
    }

    @Test
    void enrollAllCopiesTheGalleryOnceWhereOneByOneCopiesItPerPerson() {
        // counts the people copied into new snapshots instead of timing: the quadratic cost was those copies
        int n = 2_000;
        Map<String, List<float[]>> batch = batch(n, "p", 7);
        Gallery bulk = threePeople();
        long before = bulk.snapshotEntriesWritten();
        bulk.enrollAll(batch);
        assertThat(bulk.snapshotEntriesWritten() - before).isEqualTo(3 + n);

        Gallery single = threePeople();
        before = single.snapshotEntriesWritten();
        batch.forEach((name, rows) -> single.enrollEmbeddings(name, rows.toArray(float[][]::new)));
        // 4 + 5 + ... + (3 + n): what made 40,000 people take 16 s
        assertThat(single.snapshotEntriesWritten() - before).isEqualTo((long) n * (n + 1) / 2 + 3L * n);

        // an empty batch writes nothing
        long after = bulk.snapshotEntriesWritten();
        bulk.enrollAll(Map.of());
        assertThat(bulk.snapshotEntriesWritten()).isEqualTo(after);
    }

    @Test
    void identifyNeedsACalibratedVerifier() {
        Gallery g = new Gallery(Fixtures.verifier());
        g.enrollEmbeddings("x", new float[] {0f, 0f});
        assertThatThrownBy(() -> g.identify(Fixtures.face(0.2, 0.8, 0)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("not calibrated");
    }

    @Test
    void saveAndLoadRoundTrip() throws Exception {
        Gallery g = threePeople();
        Path file = dir.resolve("gallery.safetensors");
        g.save(file);
        g.save(file);     // replacing it atomically leaves no temporary file behind
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("gallery.safetensors", ".gallery.safetensors.lock");
        }
        Map<String, String> meta = SafeTensors.readMetadata(file);
        assertThat(meta).containsEntry("format", "siamese4j-gallery").containsEntry("format_version", "2")
                .containsEntry("people", "3").containsEntry("embedding_size", "2")
                .containsEntry("model", g.verifier().fingerprint()).containsEntry("model_arch", Fixtures.SPEC)
                .doesNotContainKey("name.0");
        // the layout of format version 2: three tensors, whatever the number of people
        SafeTensors.Contents contents = SafeTensors.read(file);
        assertThat(contents.dtypes()).containsExactlyInAnyOrderEntriesOf(
                Map.of("embeddings", "F32", "counts", "I64", "names", "U8"));
        assertThat(contents.tensors().get("embeddings").shape()).containsExactly(5, 2);
        assertThat(contents.tensors().get("embeddings").data()).startsWith(g.embeddingsOf("alice")[0]);
        assertThat(contents.tensors().get("counts").data()).containsExactly(2f, 2f, 1f);
        float[] nameBytes = contents.tensors().get("names").data();
        byte[] utf8 = new byte[nameBytes.length];
        for (int i = 0; i < utf8.length; i++) {
            utf8[i] = (byte) nameBytes[i];
        }
        assertThat(new String(utf8, StandardCharsets.UTF_8)).isEqualTo("alice\nbob\ncarol");

        Gallery loaded = Gallery.load(file, verifier());
        assertThat(loaded.names()).containsExactly("alice", "bob", "carol");
        for (String name : g.names()) {
            float[][] a = g.embeddingsOf(name);
            float[][] b = loaded.embeddingsOf(name);
            assertThat(b).hasNumberOfRows(a.length);
            for (int i = 0; i < a.length; i++) {
                assertThat(b[i]).containsExactly(a[i], within(0f));
            }
        }
        for (GrayImage probe : List.of(Fixtures.face(0.25, 0.78, 0.01), Fixtures.face(0.2, 0.2, 0.0))) {
            assertThat(loaded.identify(probe)).isEqualTo(g.identify(probe));
        }
        // the threshold and distance belong to the verifier, not the gallery: another distance still loads
        assertThat(Gallery.load(file, verifier().withDistance(Distance.COSINE)).size()).isEqualTo(3);
        // an empty gallery round-trips too
        new Gallery(verifier()).save(dir.resolve("empty.safetensors"));
        assertThat(Gallery.load(dir.resolve("empty.safetensors"), verifier()).names()).isEmpty();
    }

    @Test
    void aGalleryBuiltWithAnotherModelIsRefused() throws Exception {
        Path file = dir.resolve("gallery.safetensors");
        threePeople().save(file);
        Verifier other = Verifier.of(Fixtures.halvesTower(2f), ArchSpec.parse(Fixtures.SPEC), Fixtures.INPUT,
                Distance.EUCLIDEAN, null).withThreshold(0.15);
        assertThatThrownBy(() -> Gallery.load(file, other))
                .isInstanceOf(ModelMismatchException.class)
                .hasMessageStartingWith(file.toString())
                .hasMessageContaining("built with another model")
                .hasMessageContaining(verifier().fingerprint())
                .hasMessageContaining(other.fingerprint())
                .hasMessageContaining("enrol the people again");
    }

    @Test
    void corruptGalleryFilesAreFormatErrors() throws Exception {
        Path file = dir.resolve("gallery.safetensors");
        threePeople().save(file);
        byte[] bytes = Files.readAllBytes(file);

        Path truncated = dir.resolve("truncated.safetensors");
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 5));
        assertThatThrownBy(() -> Gallery.load(truncated, verifier())).isInstanceOf(ModelFormatException.class);

        Path garbage = dir.resolve("garbage.safetensors");
        Files.write(garbage, new byte[] {1, 2, 3});
        assertThatThrownBy(() -> Gallery.load(garbage, verifier())).isInstanceOf(ModelFormatException.class);

        Path model = dir.resolve("model.safetensors");
        verifier().save(model);
        assertThatThrownBy(() -> Gallery.load(model, verifier()))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("model file, not a gallery");

        Map<String, Tensor> one = new LinkedHashMap<>();
        one.put("person.0", Tensor.wrap(new float[] {0.1f, 0.2f}, 1, 2));
        assertBad(base(Map.of("people", "2")), one, "people says 2", "people");
        assertBad(base(Map.of("people", "-1")), one, "non-negative integer", "people");
        assertBad(base(Map.of("format_version", "9")), one, "format_version 9", "format_version");
        Map<String, String> noName = base(Map.of());
        noName.remove("name.0");
        assertBad(noName, one, "no 'name.0'", "name.0");
        assertBad(base(Map.of("name.0", " ")), one, "blank", "name.0");

        Map<String, Tensor> wrongShape = Map.of("person.0", Tensor.wrap(new float[] {0.1f, 0.2f, 0.3f}, 1, 3));
        Path bad = write("shape", base(Map.of()), wrongShape);
        assertThatThrownBy(() -> Gallery.load(bad, verifier()))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("expected [k, 2]");

        Map<String, Tensor> renamed = Map.of("alice", Tensor.wrap(new float[] {0.1f, 0.2f}, 1, 2));
        Path bad2 = write("renamed", base(Map.of()), renamed);
        assertThatThrownBy(() -> Gallery.load(bad2, verifier()))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("'person.0'")
                .hasMessageContaining("'alice'");

        Path ints = dir.resolve("ints.safetensors");
        SafeTensors.write(ints, Map.of("person.0", Tensor.wrap(new float[] {0f, 1f}, 1, 2)), base(Map.of()),
                Set.of("person.0"));
        assertThatThrownBy(() -> Gallery.load(ints, verifier())).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("tensor \"person.0\" has the integer dtype I64 where floating point");

        Map<String, Tensor> two = new LinkedHashMap<>(one);
        two.put("person.1", Tensor.wrap(new float[] {0.3f, 0.2f}, 1, 2));
        assertBad(base(Map.of("people", "2", "name.1", "alice")), two, "appears twice", "name.1");
    }

    @Test
    void aVersion1FileStillLoadsAndIsSavedAsVersion2() throws Exception {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("person.0", Tensor.wrap(new float[] {0.1f, 0.2f, 0.15f, 0.25f}, 2, 2));
        tensors.put("person.1", Tensor.wrap(new float[] {0.9f, 0.8f}, 1, 2));
        Path file = write("v1", base(Map.of("people", "2", "name.1", "bob")), tensors);

        Gallery g = Gallery.load(file, verifier());
        assertThat(g.names()).containsExactly("alice", "bob");
        assertThat(g.embeddingsOf("alice")).isDeepEqualTo(new float[][] {{0.1f, 0.2f}, {0.15f, 0.25f}});
        assertThat(g.embeddingsOf("bob")).isDeepEqualTo(new float[][] {{0.9f, 0.8f}});
        Match m = g.identifyEmbedding(new float[] {0.16f, 0.25f});
        assertThat(m.nearest()).isEqualTo("alice");
        assertThat(m.distance()).isCloseTo(0.01, within(1e-6));

        g.save(file);
        assertThat(SafeTensors.readMetadata(file)).containsEntry("format_version", "2");
        Gallery again = Gallery.load(file, verifier());
        assertThat(again.names()).containsExactly("alice", "bob");
        assertThat(again.embeddingsOf("alice")).isDeepEqualTo(g.embeddingsOf("alice"));
        assertThat(again.identifyEmbedding(new float[] {0.16f, 0.25f})).isEqualTo(m);
    }

    @Test
    void hostileVersion2FilesAreRefusedNamingTheField() throws Exception {
        String counts = "header field \"counts\"";
        String names = "header field \"names\"";
        assertBadV2(Map.of(), t -> t.put("counts", Tensor.of(2f, 2f)),
                "counts add up to 4 embeddings but tensor 'embeddings' has 3 rows", counts);
        assertBadV2(Map.of(), t -> t.put("counts", Tensor.of(1f, 1f)),
                "counts add up to 2 embeddings but tensor 'embeddings' has 3 rows", counts);
        assertBadV2(Map.of(), t -> t.put("counts", Tensor.of(3f, 0f)),
                "counts[1] is 0; every person has from 1 to 16777216 embeddings", counts);
        assertBadV2(Map.of(), t -> t.put("counts", Tensor.of(-1f, 4f)), "counts[0] is -1", counts);
        // people must match the counts before anything is allocated for them: a lying header cannot ask for memory
        assertBadV2(Map.of("people", "3"), t -> { },
                "tensor 'counts' has shape [2], expected [3], one count per person (people is 3)", counts + ".shape");
        assertBadV2(Map.of("people", "2000000000"), t -> { }, "expected [2000000000]", counts + ".shape");
        assertBadV2(Map.of(), t -> t.put("counts", Tensor.wrap(new float[] {2f, 1f}, 1, 2)), "expected [2]",
                counts + ".shape");

        assertBadV2(Map.of(), t -> t.put("names", utf8("alice")), "tensor 'names' holds 1 names (one a line) but "
                + "people is 2", names);
        assertBadV2(Map.of(), t -> t.put("names", utf8("alice\nbob\n")), "holds 3 names", names);
        assertBadV2(Map.of(), t -> t.put("names", utf8("alice\nalice")), "name 'alice' appears twice (people 0 and 1)",
                names);
        assertBadV2(Map.of(), t -> t.put("names", utf8("alice\nb\u0007b")),
                "bad name of person 1: name 'b\\u0007b' has a control character at index 1", names);
        assertBadV2(Map.of(), t -> t.put("names", utf8("alice\n ")), "bad name of person 1: a name must not be blank",
                names);
        assertBadV2(Map.of(), t -> t.put("names", Tensor.of(97f, 10f, 0xc3, 0x28)), "tensor 'names' is not valid UTF-8",
                names);
        assertBadV2(Map.of(), t -> t.put("names", Tensor.wrap(utf8("alice\nbob").data(), 1, 9)), "expected [bytes]",
                names + ".shape");

        assertBadV2(Map.of(), t -> t.put("embeddings", Tensor.wrap(new float[] {1, 2, 3, 4, 5, 6}, 2, 3)),
                "tensor 'embeddings' has shape [2, 3], expected [rows, 2] (embedding_size is 2)",
                "header field \"embeddings\".shape");
        assertBadV2(Map.of(), t -> t.remove("names"), "tensor 'names' is missing; a version 2 gallery holds the "
                + "tensors embeddings, counts and names, this file holds 'counts', 'embeddings'", "header");
        assertBadV2(Map.of(), t -> t.put("person.0", Tensor.of(1f)), "unexpected tensor 'person.0'",
                "header field \"person.0\"");
        assertBadV2(Map.of("format_version", "3"), t -> { }, "format_version 3 is not one this library reads (1 to 2)",
                "metadata field \"format_version\"");

        // each tensor's dtype: the bytes of a name are not floats, a count is not a fraction, an embedding not a count
        assertBadV2(Map.of(), Set.of("counts"), Set.of(), t -> { },
                "tensor 'names' has the dtype F32 where U8 (UTF-8 bytes) is expected", names + ".dtype");
        assertBadV2(Map.of(), Set.of(), Set.of("names"), t -> { },
                "tensor 'counts' has the dtype F32 where an integer dtype (I64) is expected", counts + ".dtype");
        assertBadV2(Map.of(), Set.of("counts", "embeddings"), Set.of("names"),
                t -> t.put("embeddings", Tensor.wrap(new float[] {1, 2, 3, 4, 5, 6}, 3, 2)),
                "tensor 'embeddings' has the integer dtype I64 where floating point", "header field \"embeddings\".dtype");
    }

    /**
     * Every kind of write in random order (new people, more images of someone enrolled, batches mixing both,
     * removals) against a plain map of the same people: names, every person's embeddings and identify (a brute-force
     * nearest neighbour over the map) must agree throughout. The gallery holds more embeddings than identify scores
     * in one block, so its answers cross blocks.
     */
    @Test
    void randomWritesKeepEveryPersonsEmbeddingsAndIdentifyFindsTheBruteForceNearest() {
        Verifier v = verifier();
        Gallery g = new Gallery(v);
        Map<String, List<float[]>> reference = new LinkedHashMap<>();
        Map<String, List<float[]>> start = batch(4000, "p", 13);   // 6,000 embeddings
        g.enrollAll(start);
        start.forEach((name, rows) -> reference.put(name, new ArrayList<>(rows)));
        Rng rng = new Rng(14);
        for (int step = 0; step < 300; step++) {
            List<String> enrolled = new ArrayList<>(reference.keySet());
            String someone = enrolled.get(rng.nextInt(enrolled.size()));
            switch (rng.nextInt(4)) {
                case 0 -> {
                    float[][] rows = randomRows(rng, 1 + rng.nextInt(3));
                    g.enrollEmbeddings("new-" + step, rows);
                    reference.put("new-" + step, new ArrayList<>(List.of(rows)));
                }
                case 1 -> {
                    float[][] rows = randomRows(rng, 1 + rng.nextInt(2));
                    g.enrollEmbeddings(someone, rows);
                    reference.get(someone).addAll(List.of(rows));
                }
                case 2 -> {
                    assertThat(g.remove(someone)).isTrue();
                    reference.remove(someone);
                }
                default -> {
                    Map<String, List<float[]>> more = new LinkedHashMap<>();
                    more.put("batch-" + step, List.of(randomRows(rng, 2)));
                    more.put(someone, List.of(randomRows(rng, 1)));
                    more.put(enrolled.get(rng.nextInt(enrolled.size())), List.of(randomRows(rng, 1)));
                    g.enrollAll(more);
                    more.forEach((name, rows) -> reference.computeIfAbsent(name, k -> new ArrayList<>()).addAll(rows));
                }
            }
            if (step % 50 == 49) {
                assertThat(g.names()).isEqualTo(List.copyOf(reference.keySet()));
                reference.forEach((name, rows) -> assertThat(g.embeddingsOf(name)).as(name)
                        .isDeepEqualTo(rows.toArray(float[][]::new)));
                for (float[] probe : randomRows(rng, 20)) {
                    assertThat(g.identifyEmbedding(probe)).isEqualTo(bruteForceNearest(v, reference, probe));
                }
            }
        }
        assertThat(g.size()).isEqualTo(reference.size());
    }

    private static float[][] randomRows(Rng rng, int n) {
        float[][] rows = new float[n][];
        for (int i = 0; i < n; i++) {
            rows[i] = new float[] {rng.nextFloat(), rng.nextFloat()};
        }
        return rows;
    }

    /** The nearest person by the verifier's distance over every stored embedding, ties to the smaller name. */
    private static Match bruteForceNearest(Verifier v, Map<String, List<float[]>> people, float[] probe) {
        String best = null;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (Map.Entry<String, List<float[]>> e : people.entrySet()) {
            for (float[] row : e.getValue()) {
                double d = v.distance(probe, row);
                if (d < bestDistance || (d == bestDistance && e.getKey().compareTo(best) < 0)) {
                    best = e.getKey();
                    bestDistance = d;
                }
            }
        }
        double t = v.threshold().orElseThrow().value();
        return new Match(best, bestDistance, t, bestDistance <= t);
    }

    /** UTF-8 bytes of {@code text} as a U8 tensor's values. */
    private static Tensor utf8(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        float[] values = new float[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            values[i] = bytes[i] & 0xff;
        }
        return Tensor.wrap(values, values.length);
    }

    /**
     * Writes a version 2 gallery of alice (two embeddings) and bob (one) for the fixture model, with the metadata
     * changes and the tensor map changed by {@code change}, counts as I64 and names as U8; checks that the unchanged
     * file loads, and that this one is refused with {@code problem} at {@code location}.
     */
    private void assertBadV2(Map<String, String> metaChanges, Consumer<Map<String, Tensor>> change, String problem,
                             String location) throws Exception {
        assertBadV2(metaChanges, Set.of("counts"), Set.of("names"), change, problem, location);
    }

    private void assertBadV2(Map<String, String> metaChanges, Set<String> int64, Set<String> uint8,
                             Consumer<Map<String, Tensor>> change, String problem, String location) throws Exception {
        Map<String, String> meta = base(Map.of("format_version", "2", "people", "2"));
        meta.remove("name.0");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("embeddings", Tensor.wrap(new float[] {0.1f, 0.2f, 0.15f, 0.25f, 0.9f, 0.8f}, 3, 2));
        tensors.put("counts", Tensor.of(2f, 1f));
        tensors.put("names", utf8("alice\nbob"));
        Path good = dir.resolve("good-v2.gallery");
        try (OutputStream out = Files.newOutputStream(good)) {
            SafeTensors.write(out, tensors, meta, Set.of("counts"), Set.of("names"));
        }
        assertThat(Gallery.load(good, verifier()).embeddingsOf("alice")).hasNumberOfRows(2);

        meta.putAll(metaChanges);
        change.accept(tensors);
        Path bad = dir.resolve("bad-v2.gallery");
        try (OutputStream out = Files.newOutputStream(bad)) {
            SafeTensors.write(out, tensors, meta, present(int64, tensors), present(uint8, tensors));
        }
        assertThatThrownBy(() -> Gallery.load(bad, verifier()))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(problem)
                .hasMessageNotContaining("\u0007")
                .satisfies(e -> assertThat(((ModelFormatException) e).location()).isEqualTo(location));
    }

    private static Set<String> present(Set<String> names, Map<String, Tensor> tensors) {
        return names.stream().filter(tensors::containsKey).collect(Collectors.toSet());
    }

    /** Valid metadata for one person "alice" with the fixture model, with {@code changes} applied. */
    private static Map<String, String> base(Map<String, String> changes) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", "siamese4j-gallery");
        m.put("format_version", "1");
        m.put("model", verifier().fingerprint());
        m.put("embedding_size", "2");
        m.put("people", "1");
        m.put("name.0", "alice");
        m.putAll(changes);
        return m;
    }

    private Path write(String name, Map<String, String> meta, Map<String, Tensor> tensors) throws Exception {
        Path file = dir.resolve(name + ".safetensors");
        SafeTensors.write(file, tensors, meta);
        return file;
    }

    private void assertBad(Map<String, String> meta, Map<String, Tensor> tensors, String problem, String key)
            throws Exception {
        Path file = write("bad", meta, tensors);
        assertThat(Gallery.load(write("good", base(Map.of()), Map.of("person.0",
                Tensor.wrap(new float[] {0.1f, 0.2f}, 1, 2))), verifier()).names()).containsExactly("alice");
        assertThatThrownBy(() -> Gallery.load(file, verifier()))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(problem)
                .satisfies(e -> assertThat(((ModelFormatException) e).location())
                        .isEqualTo("metadata field \"" + key + "\""));
    }

    /**
     * 16 threads: 12 identify probes of the nine people enrolled before the start while 4 enrol 10 new people each
     * (then add a second image to each). The new people sit at halves >= 3, at least 2 away from any probe (all in
     * [0, 1]^2), so they can never be a probe's nearest: every answer must equal the one computed on one thread
     * before the start, whatever the interleaving. Some probes are known, some unknown. At the end every name and
     * every image enrolled is there.
     */
    @Test
    void sixteenThreadsIdentifyWhileOthersEnrolAndEveryAnswerMatchesTheSingleThreadedOne() throws Exception {
        Gallery g = new Gallery(verifier());
        double[] levels = {0.1, 0.5, 0.9};
        List<String> baseNames = new ArrayList<>();
        for (double l : levels) {
            for (double r : levels) {
                String name = "base-" + l + "-" + r;
                g.enroll(name, Fixtures.face(l, r, 0.0), Fixtures.face(l + 0.01, r - 0.01, 0.02));
                baseNames.add(name);
            }
        }
        Rng rng = new Rng(42);
        List<GrayImage> probes = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            probes.add(Fixtures.face(rng.nextFloat(), rng.nextFloat(), 0.01 * rng.nextFloat()));
        }
        List<Match> expected = new ArrayList<>();
        for (GrayImage p : probes) {
            expected.add(g.identify(p));
        }
        assertThat(expected).anyMatch(Match::known).anyMatch(m -> !m.known());

        int identifiers = 12;
        int enrollers = 4;
        int newPerEnroller = 10;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(identifiers + enrollers);
        try {
            List<Future<Integer>> readers = new ArrayList<>();
            for (int t = 0; t < identifiers; t++) {
                int seed = t;
                readers.add(pool.submit(() -> {
                    start.await();
                    Rng order = new Rng(1000 + seed);
                    int wrong = 0;
                    for (int round = 0; round < 5; round++) {
                        for (int i : order.permutation(probes.size())) {
                            if (!g.identify(probes.get(i)).equals(expected.get(i))) {
                                wrong++;
                            }
                        }
                    }
                    return wrong;
                }));
            }
            List<Future<?>> writers = new ArrayList<>();
            for (int t = 0; t < enrollers; t++) {
                int id = t;
                writers.add(pool.submit(() -> {
                    start.await();
                    for (int k = 0; k < newPerEnroller; k++) {
                        g.enroll("new-" + id + "-" + k, Fixtures.face(3 + id, 3 + 0.1 * k, 0.0));
                    }
                    for (int k = 0; k < newPerEnroller; k++) {
                        g.enroll("new-" + id + "-" + k, Fixtures.face(3.05 + id, 3 + 0.1 * k, 0.0));
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<Integer> f : readers) {
                assertThat(f.get(60, TimeUnit.SECONDS)).as("answers differing from the single-threaded ones")
                        .isZero();
            }
            for (Future<?> f : writers) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }

        assertThat(g.size()).isEqualTo(baseNames.size() + enrollers * newPerEnroller);
        assertThat(g.names()).containsAll(baseNames);
        for (int t = 0; t < enrollers; t++) {
            for (int k = 0; k < newPerEnroller; k++) {
                float[][] e = g.embeddingsOf("new-" + t + "-" + k);
                assertThat(e).as("images of new-" + t + "-" + k).hasNumberOfRows(2);
                assertThat((double) e[0][0]).isCloseTo((3 + t) * S, within(1e-5));
                assertThat((double) e[1][0]).isCloseTo((3.05 + t) * S, within(1e-5));
            }
        }
        for (String name : baseNames) {
            assertThat(g.embeddingsOf(name)).hasNumberOfRows(2);
        }
        for (int i = 0; i < probes.size(); i++) {
            assertThat(g.identify(probes.get(i))).isEqualTo(expected.get(i));
        }
    }
}
