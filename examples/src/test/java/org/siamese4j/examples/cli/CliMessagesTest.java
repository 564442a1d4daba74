package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.SyntheticFaces;

/**
 * The mistakes a new user makes first get an answer in the CLI's words, saying what to do: a data folder one
 * level too high or without person folders, too few people, a checkpoint or a text file given as the model.
 * Files that cannot be used exit 1; options that do not fit the data exit 2.
 */
class CliMessagesTest extends CliRunner {
    @TempDir
    Path dir;

    private Path model;

    @BeforeEach
    void trainTinyModel() {
        model = dir.resolve("m.safetensors");
        assertThat(run("train", "--ensemble", "1", "--data", "synthetic:10x4", "--batch", "4x4", "--test-identities", "3",
                "--validation-identities", "0", "--steps", "2", "--threads", "1", "--out", model.toString()))
                .as(stderr()).isZero();
    }

    /** {@code root/person/i.pgm} for each person, with {@code images} images each. */
    private Path faces(Path root, int people, int images) throws IOException {
        for (int p = 0; p < people; p++) {
            Path person = Files.createDirectories(root.resolve("person" + p));
            for (int i = 0; i < images; i++) {
                Images.writePgm(GrayImage.of(56, 46, 1f, SyntheticFaces.renderImage(3, p, i, 56, 46)),
                        person.resolve(i + ".pgm"));
            }
        }
        return root;
    }

    @Test
    void aDataFolderOneLevelTooHighNamesTheFolderMeant() throws IOException {
        Path top = dir.resolve("download");
        Path faces = faces(top.resolve("att_faces"), 4, 2);
        assertThat(run("train", "--data", top.toString(), "--steps", "1")).isEqualTo(1);
        assertThat(stderr()).contains(top + " is one level too high").contains("did you mean --data " + faces + "?");
        assertThat(stderr().strip().lines()).hasSize(1);
    }

    @Test
    void looseImagesAndAFileAsDataSayHowToLayTheFolderOut() throws IOException {
        Path loose = Files.createDirectories(dir.resolve("loose"));
        Files.copy(faces(dir.resolve("tmp"), 1, 1).resolve("person0/0.pgm"), loose.resolve("a.pgm"));
        assertThat(run("eval", "--model", model.toString(), "--data", loose.toString())).isEqualTo(1);
        assertThat(stderr()).contains(loose + " holds images but no person folders")
                .contains("one subfolder per person");
        assertThat(run("train", "--data", loose.resolve("a.pgm").toString())).isEqualTo(1);
        assertThat(stderr()).contains("a.pgm is a file, not a folder");
    }

    @Test
    void tooFewPeopleSayWhichOptionToChange() throws IOException {
        assertThat(run("train", "--data", faces(dir.resolve("one"), 1, 3).toString())).isEqualTo(2);
        assertThat(stderr()).contains("has 1 person: ").contains("lower --test-identities");

        // Four people, three with a single image: the two training people have at most one positive pair.
        Path data = faces(dir.resolve("four"), 1, 2);
        for (int p = 1; p <= 3; p++) {
            Files.move(faces(dir.resolve("single" + p), 1, 1).resolve("person0"), data.resolve("single" + p));
        }
        assertThat(run("train", "--data", data.toString(), "--test-identities", "2", "--validation-identities", "0",
                "--steps", "1")).isEqualTo(2);
        assertThat(stderr()).doesNotContain("PKSampler").contains("training needs at least 2 such people");
    }

    @Test
    void aCheckpointGivenAsTheModelSaysHowToResume() {
        Path checkpoint = Path.of(model + ".ckpt");
        assertThat(run("eval", "--model", checkpoint.toString(), "--data", "synthetic:4x2")).isEqualTo(1);
        assertThat(stderr()).contains("is a training checkpoint, not a model")
                .contains("siamese4j train --resume " + checkpoint).doesNotContain("Checkpoint.load");
        assertThat(run("verify", "--model", checkpoint.toString(), "a.pgm", "b.pgm")).isEqualTo(1);
        assertThat(stderr()).contains("is a training checkpoint, not a model");
    }

    @Test
    void aTextFileGivenAsTheModelIsCalledOne() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.safetensors"), "remember to train the model first\n");
        assertThat(run("embed", "--model", text.toString(), "x.pgm")).isEqualTo(1);
        assertThat(stderr()).contains(text + " is not a model file")
                .contains("it starts with the text \"remember to train the mo\"")
                .contains("--model takes the file that train wrote");
    }

    @Test
    void tooFewPairsForTenFoldsSayNotApplicable() throws IOException {
        Path data = faces(dir.resolve("two"), 2, 2);
        assertThat(run("eval", "--model", model.toString(), "--data", data.toString(), "--ways", "2")).isZero();
        assertThat(stdout()).contains("10-fold accuracy n/a (too few pairs)").doesNotContain("NaN");
    }
}
