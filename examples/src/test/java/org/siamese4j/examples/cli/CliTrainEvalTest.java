package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.siamese4j.io.ModelFile;
import org.siamese4j.siamese.data.GrayImage;
import org.siamese4j.siamese.data.Images;
import org.siamese4j.siamese.data.SyntheticFaces;

/** Drives train, eval and embed end to end on tiny synthetic data, and checks the error handling. */
class CliTrainEvalTest extends CliRunner {
    @TempDir
    Path dir;

    /**
     * A one-epoch run on 10 synthetic people, 4 images each; held out: 6 other people. One tower and one thread
     * unless {@code extra} says --ensemble or --threads: most tests here are about one run's files (its
     * checkpoint, resume, metadata).
     */
    private int trainTiny(Path model, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--data", "synthetic:10x4", "--batch", "4x4",
                "--test-identities", "6", "--epochs", "1", "--seed", "5", "--out", model.toString()));
        if (!List.of(extra).contains("--ensemble")) {
            args.addAll(List.of("--ensemble", "1"));
        }
        if (!List.of(extra).contains("--threads")) {
            args.addAll(List.of("--threads", "1"));
        }
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new));
    }

    /**
     * --ensemble 2 trains two whole runs, the first with --seed and the second with its own seed, on the same
     * people, and saves one model holding both: each member's weights are exactly those of the plain run with its
     * seed, and the model's embedding is the two members' embeddings side by side at unit length.
     */
    @Test
    void anEnsembleIsItsMembersPlainRunsSideBySide() throws IOException {
        Path ensemble = dir.resolve("ensemble.safetensors");
        // on two threads the members train side by side, each on one thread; the plain runs below take one thread
        assertThat(trainTiny(ensemble, "--ensemble", "2", "--threads", "2")).as(stderr()).isZero();
        long secondSeed = 5 + TrainCommand.MEMBER_SEED_STRIDE;
        String printed = stdout();
        assertThat(printed).contains("ensemble member 1 of 2 (seed 5):")
                .contains("ensemble member 2 of 2 (seed " + secondSeed + "):").contains("ensemble of 2 towers")
                .contains("trained 2 towers in ");
        // the second member's output, held while the first printed, follows the first's whole
        assertThat(printed.indexOf("ensemble member 2 of 2")).isGreaterThan(printed.lastIndexOf("saved "
                + TrainCommand.memberOut(ensemble, 1)));
        try (var files = Files.list(dir)) {
            // the members' models, checkpoints and lock files are gone; the model's own lock file stays, as after any run
            assertThat(files.map(f -> f.getFileName().toString()).toList())
                    .containsExactlyInAnyOrder("ensemble.safetensors", ".ensemble.safetensors.lock");
        }
        Path first = dir.resolve("first.safetensors");
        assertThat(trainTiny(first)).as(stderr()).isZero();
        Path second = dir.resolve("second.safetensors");
        assertThat(trainTiny(second, "--seed", Long.toString(secondSeed))).as(stderr()).isZero();

        ModelFile.LoadedModel joined = ModelFile.load(ensemble);
        ModelFile.LoadedModel a = ModelFile.load(first);
        ModelFile.LoadedModel b = ModelFile.load(second);
        assertThat(joined.arch().toString()).isEqualTo("concat(" + a.arch() + " | " + a.arch() + ") l2norm");
        a.model().stateDict().forEach((name, value) -> assertThat(joined.model().stateDict()
                .get("0.branches.0." + name).data()).as(name).isEqualTo(value.data()));
        b.model().stateDict().forEach((name, value) -> assertThat(joined.model().stateDict()
                .get("0.branches.1." + name).data()).as(name).isEqualTo(value.data()));
        org.siamese4j.tensor.Tensor x = org.siamese4j.tensor.Tensor.randn(new org.siamese4j.tensor.Rng(3), 2, 1, 56, 46);
        float[] ea = a.model().eval().forward(x).data();
        float[] eb = b.model().eval().forward(x).data();
        float[] e = joined.model().eval().forward(x).data();
        int width = ea.length / 2;
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < width; j++) {
                assertThat(e[i * 2 * width + j]).isCloseTo((float) (ea[i * width + j] / Math.sqrt(2)),
                        org.assertj.core.data.Offset.offset(1e-6f));
                assertThat(e[i * 2 * width + width + j]).isCloseTo((float) (eb[i * width + j] / Math.sqrt(2)),
                        org.assertj.core.data.Offset.offset(1e-6f));
            }
        }
        Map<String, String> meta = joined.metadata();
        assertThat(meta).containsEntry("option_ensemble", "2").containsEntry("member_seeds", "5," + secondSeed)
                .containsKey("threshold").containsKey("test_auc").doesNotContainKey("loss_history");
    }

    /** --init from an ensemble: member k starts from its tower k, a one-tower run from its first tower. */
    @Test
    void initFromAnEnsembleStartsEachMemberFromItsTower() throws IOException {
        Path ensemble = dir.resolve("e.safetensors");
        assertThat(trainTiny(ensemble, "--ensemble", "2")).as(stderr()).isZero();
        Path tuned = dir.resolve("tuned.safetensors");
        assertThat(trainTiny(tuned, "--ensemble", "2", "--seed", "6", "--lr", "1e-7", "--init", ensemble.toString()))
                .as(stderr()).isZero();
        Path single = dir.resolve("single.safetensors");
        assertThat(trainTiny(single, "--seed", "6", "--lr", "1e-7", "--init", ensemble.toString())).as(stderr())
                .isZero();
        Map<String, org.siamese4j.tensor.Tensor> start = ModelFile.load(ensemble).model().stateDict();
        Map<String, org.siamese4j.tensor.Tensor> after = ModelFile.load(tuned).model().stateDict();
        for (String branch : List.of("0.branches.0.", "0.branches.1.")) {
            assertThat(maxAbsDifference(after.get(branch + "0.weight").data(), start.get(branch + "0.weight").data()))
                    .as(branch).isLessThan(1e-5f);
        }
        assertThat(maxAbsDifference(start.get("0.branches.0.0.weight").data(),
                start.get("0.branches.1.0.weight").data())).isGreaterThan(1e-2f);
        assertThat(maxAbsDifference(ModelFile.load(single).model().stateDict().get("0.weight").data(),
                start.get("0.branches.0.0.weight").data())).isLessThan(1e-5f);
    }

    @Test
    void anEnsembleRefusesAHeadModelAndAStaleCheckpoint() throws IOException {
        Path model = dir.resolve("m.safetensors");
        assertThat(trainTiny(model, "--ensemble", "2", "--loss", "bce-head")).isEqualTo(2);
        assertThat(stderr()).contains("--ensemble joins the members' embeddings");
        assertThat(trainTiny(model, "--ensemble", "0")).isEqualTo(2);
        assertThat(stderr()).contains("--ensemble 0 is out of range");
        Files.writeString(Path.of(model + ".ckpt"), "an earlier run");
        assertThat(trainTiny(model, "--ensemble", "2")).isEqualTo(2);
        assertThat(stderr()).contains("m.safetensors.ckpt holds the checkpoint of an earlier run")
                .contains("give --force to delete it");
        assertThat(model).doesNotExist();
    }

    /**
     * An ensemble interrupted after its first member's first epoch (that member's checkpoint is all there is)
     * continues from that checkpoint: the first member resumes, the second starts, and the model is the
     * uninterrupted run's bit for bit. A fresh run over the interrupted one's files is refused without --force.
     */
    @Test
    void anInterruptedEnsembleResumesFromItsFirstMembersCheckpoint() throws IOException {
        Path whole = dir.resolve("whole.safetensors");
        // a constant learning rate, so that a first member trained to a budget of 1 epoch is what the 2-epoch run
        // had after its first (a cosine schedule spans the budget)
        assertThat(trainTiny(whole, "--ensemble", "2", "--epochs", "2", "--schedule", "constant")).as(stderr())
                .isZero();

        Path model = dir.resolve("m.safetensors");
        String[] args = {"--data", "synthetic:10x4", "--batch", "4x4", "--test-identities", "6", "--epochs", "1",
                "--threads", "1", "--seed", "5", "--ensemble", "2", "--schedule", "constant", "--out", model.toString()};
        TrainCommand.Config config = TrainCommand.parse(new TrainCommand().options().parse(args, 0));
        // what Ctrl-C would print before the first member's first epoch has ended, in any member
        assertThat(TrainCommand.interruptedEnsembleMessage(config.member(2, null)))
                .contains("there is no checkpoint to resume");
        java.io.PrintStream quiet = new java.io.PrintStream(java.io.OutputStream.nullOutputStream());
        TrainCommand.train(config.member(1, null), quiet, quiet, false);   // the first member's first epoch
        Path firstCheckpoint = Path.of(TrainCommand.memberOut(model, 1) + ".ckpt");
        assertThat(firstCheckpoint).exists();
        // and after it, in either member: the command run below
        for (int member : new int[] {1, 2}) {
            assertThat(TrainCommand.interruptedEnsembleMessage(config.member(member, null)))
                    .endsWith("continue with: siamese4j train --resume " + firstCheckpoint + " --out " + model);
        }

        assertThat(trainTiny(model, "--ensemble", "2", "--epochs", "2", "--schedule", "constant")).isEqualTo(2);
        assertThat(stderr()).contains("holds the checkpoint of an earlier ensemble run: continue it with --resume "
                + firstCheckpoint + " --out " + model);
        assertThat(run("train", "--resume", firstCheckpoint.toString(), "--out", model.toString(), "--epochs", "2"))
                .as(stderr()).isZero();
        assertThat(stdout()).contains("resumed from " + firstCheckpoint + " after epoch 1")
                .contains("ensemble member 2 of 2");
        Map<String, org.siamese4j.tensor.Tensor> resumed = ModelFile.load(model).model().stateDict();
        ModelFile.load(whole).model().stateDict().forEach((name, value) ->
                assertThat(resumed.get(name).data()).as(name).isEqualTo(value.data()));
        assertThat(firstCheckpoint).doesNotExist();
        assertThat(run("train", "--resume", whole + ".ckpt", "--out", model.toString())).isNotZero();
    }

    @Test
    void adamwDefaultsToTheDecayTheValidationPeopleChose() throws IOException {
        // 0.1, not 0.0001: AdamW multiplies the decay by the learning rate, so 0.0001 would do nothing at all
        Path model = dir.resolve("adamw.safetensors");
        assertThat(trainTiny(model, "--optimizer", "adamw")).as(stderr()).isZero();
        assertThat(ModelFile.load(model).metadata()).containsEntry("option_optimizer", "adamw")
                .containsEntry("option_weight_decay", "0.1");
    }

    /**
     * --init starts from another model's tower: at a learning rate too small to move them, the weights saved are
     * that model's (a run from random weights is far from them), the model records where it started and counts
     * that model's people as seen, and a model of another architecture or input is refused by name.
     */
    @Test
    void initStartsFromAnotherModelsTowerAndCountsItsPeopleAsSeen() throws IOException {
        Path first = dir.resolve("first.safetensors");
        assertThat(trainTiny(first)).as(stderr()).isZero();
        Path tuned = dir.resolve("tuned.safetensors");
        assertThat(trainTiny(tuned, "--seed", "6", "--lr", "1e-7", "--init", first.toString())).as(stderr()).isZero();
        // the validation people of synthetic data are the same for both runs, and the first chose its epoch on them
        assertThat(stderr()).contains("warning: the --init model " + first + " had seen 20 of the 20 validation people");
        Path fresh = dir.resolve("fresh.safetensors");
        assertThat(trainTiny(fresh, "--seed", "6", "--lr", "1e-7")).as(stderr()).isZero();
        float[] start = ModelFile.load(first).model().stateDict().get("0.weight").data();
        float[] fromInit = ModelFile.load(tuned).model().stateDict().get("0.weight").data();
        float[] fromRandom = ModelFile.load(fresh).model().stateDict().get("0.weight").data();
        assertThat(maxAbsDifference(fromInit, start)).isLessThan(1e-5f);
        assertThat(maxAbsDifference(fromRandom, start)).isGreaterThan(1e-2f);

        Map<String, String> meta = ModelFile.load(tuned).metadata();
        assertThat(meta).containsEntry("option_init", first.toString());
        Map<String, String> firstMeta = ModelFile.load(first).metadata();
        assertThat(CliData.seenPeople(meta)).containsAll(CliData.seenPeople(firstMeta))
                .contains(firstMeta.get("training_people").split(",")[0]);

        assertThat(trainTiny(dir.resolve("x.safetensors"), "--init", first.toString(), "--input", "1x28x23"))
                .isEqualTo(2);
        assertThat(stderr()).contains("--init " + first + " takes input 1x56x46, this run 1x28x23");
        assertThat(trainTiny(dir.resolve("y.safetensors"), "--init", first.toString(), "--arch",
                "conv(8,3) relu flatten dense(16) l2norm")).isEqualTo(2);
        assertThat(stderr()).contains("--init " + first + " has the architecture");
        assertThat(trainTiny(dir.resolve("z.safetensors"), "--init", dir.resolve("missing.safetensors").toString()))
                .isEqualTo(1);
        assertThat(stderr()).contains("missing.safetensors").contains("no such model file");
    }

    private static float maxAbsDifference(float[] a, float[] b) {
        assertThat(a).hasSameSizeAs(b);
        float max = 0f;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    /** --augment rotate adds rotations and scaling to the default augmentation; the model records which. */
    @Test
    void augmentRotateIsARunOptionBesideYesAndNo() throws IOException {
        Path rotated = dir.resolve("rotated.safetensors");
        assertThat(trainTiny(rotated, "--augment", "rotate")).as(stderr()).isZero();
        assertThat(stdout()).contains("augment rotate");
        assertThat(ModelFile.load(rotated).metadata()).containsEntry("option_augment", "rotate");
        Path plain = dir.resolve("plain.safetensors");
        assertThat(trainTiny(plain)).as(stderr()).isZero();
        assertThat(ModelFile.load(plain).metadata()).containsEntry("option_augment", "yes");
        assertThat(ModelFile.load(rotated).model().stateDict().get("0.weight").data())
                .isNotEqualTo(ModelFile.load(plain).model().stateDict().get("0.weight").data());
        assertThat(trainTiny(dir.resolve("x.safetensors"), "--augment", "strong")).isEqualTo(2);
        assertThat(stderr()).contains("strong").contains("yes, rotate, no");
    }

    /** --ema is a run option: saved in the model, resumed with the run, and refused when a resume changes it. */
    @Test
    void theWeightAverageIsARunOptionThatAResumeKeeps() throws IOException {
        Path model = dir.resolve("ema.safetensors");
        assertThat(trainTiny(model, "--ema", "0.99")).as(stderr()).isZero();
        assertThat(stdout()).contains("weights averaged after every step with decay 0.99");
        assertThat(ModelFile.load(model).metadata()).containsEntry("option_ema", "0.99");
        assertThat(run("train", "--ema", "0.9", "--epochs", "2", "--resume", model + ".ckpt", "--out",
                model.toString())).isEqualTo(2);
        assertThat(stderr()).contains("--ema 0.9 differs from the run saved in").contains("(0.99)");
        assertThat(run("train", "--epochs", "2", "--resume", model + ".ckpt", "--out", model.toString()))
                .as(stderr()).isZero();
        assertThat(stdout()).contains("resumed from").contains("weights averaged");
        Path plain = dir.resolve("plain.safetensors");
        assertThat(trainTiny(plain, "--ema", "0")).as(stderr()).isZero();
        assertThat(stdout()).doesNotContain("averaged");
        assertThat(ModelFile.load(plain).metadata()).doesNotContainKey("option_ema");
        assertThat(trainTiny(dir.resolve("x.safetensors"), "--ema", "1")).isEqualTo(2);
        assertThat(stderr()).contains("--ema 1 is out of range");
    }

    /**
     * --refit trains a second model on the training and validation people, to the first run's best epoch: the
     * first run is the same (so is its threshold, calibrated on people it never saw), the saved weights are not,
     * and the model file counts the validation people among its training people.
     */
    @Test
    void aRefitSavesASecondModelTrainedAlsoOnTheValidationPeopleWithTheFirstRunsThreshold() throws IOException {
        Path first = dir.resolve("first.safetensors");
        Path refit = dir.resolve("refit.safetensors");
        assertThat(trainTiny(first, "--epochs", "3")).as(stderr()).isZero();
        assertThat(trainTiny(refit, "--epochs", "3", "--refit")).as(stderr()).isZero();
        Map<String, String> a = ModelFile.load(first).metadata();
        Map<String, String> b = ModelFile.load(refit).metadata();
        int best = Integer.parseInt(b.get("best_epoch"));
        // 40 training images in batches of 4x4: 3 steps an epoch; the validation people are 20 others x 4 images
        assertThat(stdout()).contains("refit: training again from the same initial weights on the 10 training and 20 "
                + "validation people together (120 images), " + 3 * best + " steps (to the best epoch, " + best + ")");
        assertThat(b.get("refit_steps")).isEqualTo(Integer.toString(3 * best));
        assertThat(stdout()).contains("before the refit, the first run's model on the test people: AUC "
                + String.format(java.util.Locale.ROOT, "%.4f", Double.parseDouble(a.get("test_auc"))));
        assertThat(b.get("threshold")).isEqualTo(a.get("threshold"));
        assertThat(b.get("best_epoch")).isEqualTo(a.get("best_epoch"));
        assertThat(b.get("training_people")).isEqualTo(a.get("training_people") + "," + a.get("validation_people"));
        assertThat(b.get("training_identities")).isEqualTo("30");
        assertThat(b.get("test_auc")).isNotEqualTo(a.get("test_auc"));
        var wa = ModelFile.load(first).model().stateDict();
        var wb = ModelFile.load(refit).model().stateDict();
        assertThat(wa.keySet().stream().anyMatch(n -> !java.util.Arrays.equals(wa.get(n).data(), wb.get(n).data())))
                .isTrue();
        // --refit is one of the run's options: a resume of the finished run refits again, to the same bits
        assertThat(b).containsEntry("option_refit", "true");
        Path again = dir.resolve("again.safetensors");
        assertThat(run("train", "--resume", refit + ".ckpt", "--out", again.toString())).as(stderr()).isZero();
        assertThat(stdout()).contains("resumed from").contains("refit: training again");
        var wc = ModelFile.load(again).model().stateDict();
        assertThat(wb.keySet()).allMatch(n -> java.util.Arrays.equals(wb.get(n).data(), wc.get(n).data()));
        assertThat(trainTiny(dir.resolve("none.safetensors"), "--refit", "--validation-identities", "0"))
                .isEqualTo(2);
        assertThat(stderr()).contains("--refit needs validation people");
    }

    /**
     * Circle and proxy losses are built on cosine similarity, and the trainer calibrates their threshold on cosine
     * distances: the model file must say so, or verify would compare a cosine threshold with Euclidean distances.
     */
    @Test
    void cosineLossesSaveTheirThresholdAsACosineDistance() throws IOException {
        for (String loss : List.of("circle", "proxy")) {
            Path model = dir.resolve(loss + ".safetensors");
            assertThat(trainTiny(model, "--loss", loss)).as(stderr()).isZero();
            assertThat(stdout()).contains("loss " + loss).contains("cosine distance)");
            assertThat(ModelFile.load(model).metadata()).as(loss).containsEntry("distance", "cosine");
        }
        assertThat(ModelFile.load(dir.resolve("proxy.safetensors")).metadata()).containsEntry("option_margin",
                "0.2");
    }

    /** Flat JSON object of numbers, nulls and strings as text values. */
    private static Map<String, String> parseFlatJson(String json) {
        assertThat(json).startsWith("{").endsWith("}");
        Map<String, String> fields = new LinkedHashMap<>();
        Matcher m = Pattern.compile("\"([a-z0-9_]+)\":(null|-?[0-9.Ee+-]+|\"[^\"]*\")").matcher(json);
        while (m.find()) {
            fields.put(m.group(1), m.group(2));
        }
        return fields;
    }

    @Test
    void trainThenEvalJsonThenEmbed() throws IOException {
        Path model = dir.resolve("m.safetensors");
        assertThat(trainTiny(model)).as(stderr()).isZero();
        assertThat(stdout()).contains("epoch 1/1").contains("test: 6 people").contains("saved");
        assertThat(model).exists();
        assertThat(Path.of(model + ".ckpt")).exists();
        ModelFile.LoadedModel loaded = ModelFile.load(model);
        assertThat(loaded.inputShape()).containsExactly(1, 56, 46);
        assertThat(loaded.metadata()).containsEntry("distance", "euclidean").containsKey("threshold");
        assertThat(Double.parseDouble(loaded.metadata().get("threshold"))).isFinite().isPositive();

        assertThat(run("eval", "--model", model.toString(), "--data", "synthetic:6x4", "--json", "--trials", "50"))
                .as(stderr()).isZero();
        String json = stdout().trim();
        assertThat(json.lines().count()).isEqualTo(1);
        Map<String, String> f = parseFlatJson(json);
        assertThat(f).containsKeys("auc", "eer", "accuracy", "threshold", "one_shot_accuracy", "rank1");
        for (String key : List.of("auc", "eer", "accuracy", "one_shot_accuracy", "rank1")) {
            assertThat(Double.parseDouble(f.get(key))).as(key).isBetween(0.0, 1.0);
        }
        assertThat(Double.parseDouble(f.get("threshold"))).isPositive();
        assertThat(f.get("identities")).isEqualTo("6");

        assertThat(run("eval", "--model", model.toString(), "--data", "synthetic:6x4", "--trials", "50")).isZero();
        assertThat(stdout()).contains("AUC").contains("EER").contains("rank-1").contains("5-way one-shot");

        Path a = writeFace(0);
        Path b = writeFace(1);
        assertThat(run("embed", "--model", model.toString(), a.toString(), b.toString())).as(stderr()).isZero();
        List<String> lines = stdout().lines().toList();
        assertThat(lines).hasSize(2);
        String[] values = lines.get(0).substring(lines.get(0).indexOf('\t') + 1).split(" ");
        assertThat(values).hasSize(64);
        double norm = 0;
        for (String v : values) {
            norm += Double.parseDouble(v) * Double.parseDouble(v);
        }
        assertThat(Math.sqrt(norm)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));

        assertThat(run("embed", "--model", model.toString(), "--json", a.toString())).isZero();
        assertThat(stdout().trim()).startsWith("[").endsWith("]").contains("\"image\":").contains("\"embedding\":[");
        assertThat(stdout().trim().split("\"embedding\":\\[")[1].split("]")[0].split(",")).hasSize(64);
    }

    /** A 112x92 synthetic face as a PGM file (embed resizes it to the model's 56x46). */
    private Path writeFace(int identity) throws IOException {
        float[] pixels = SyntheticFaces.renderImage(3, identity, 0, 112, 92);
        Path file = dir.resolve("face" + identity + ".pgm");
        Images.writePgm(GrayImage.of(112, 92, 1f, pixels), file);
        return file;
    }

    /**
     * A constant learning rate, so that stopping after epoch 1 is the same run as the first epoch of a 2-epoch
     * run (a cosine schedule spans the budget it is given; the library's TrainerTest covers exact resume with one).
     */
    @Test
    void resumeFromACheckpointGivesTheSameModelAsAnUninterruptedRun() throws IOException {
        for (String loss : List.of("triplet", "contrastive", "circle", "proxy")) {
            Path straight = dir.resolve(loss + "-straight.safetensors");
            Path split = dir.resolve(loss + "-split.safetensors");
            assertThat(trainTiny(straight, "--loss", loss, "--epochs", "2", "--schedule", "constant")).as(stderr())
                    .isZero();
            assertThat(trainTiny(split, "--loss", loss, "--epochs", "1", "--schedule", "constant")).as(stderr())
                    .isZero();
            // only the budget is given anew: the run's own options come from the checkpoint
            assertThat(run("train", "--epochs", "2", "--resume", split + ".ckpt", "--out", split.toString()))
                    .as(stderr()).isZero();
            assertThat(stdout()).contains("resumed from").contains("after epoch 1").contains("epoch 2/2")
                    .doesNotContain("epoch 1/2");
            ModelFile.LoadedModel a = ModelFile.load(straight);
            ModelFile.LoadedModel b = ModelFile.load(split);
            assertThat(b.metadata().get("threshold")).as(loss).isEqualTo(a.metadata().get("threshold"));
            // the history covers the whole run, not only the resumed epochs
            assertThat(b.metadata().get("loss_history")).as(loss).isEqualTo(a.metadata().get("loss_history"))
                    .contains(",");
            var wa = a.model().stateDict();
            var wb = b.model().stateDict();
            assertThat(wb.keySet()).isEqualTo(wa.keySet());
            for (String name : wa.keySet()) {
                // bit for bit: the resumed run continues exactly where the uninterrupted one was
                assertThat(java.util.Arrays.equals(wb.get(name).data(), wa.get(name).data())).as(loss + " " + name)
                        .isTrue();
            }
        }
    }

    @Test
    void resumingWithOtherOptionsThanTheSavedRunIsRefusedNamingTheOption() {
        Path model = dir.resolve("c.safetensors");
        assertThat(trainTiny(model, "--loss", "circle")).as(stderr()).isZero();
        assertThat(trainTiny(dir.resolve("d.safetensors"), "--loss", "contrastive", "--epochs", "2", "--resume",
                model + ".ckpt")).isEqualTo(2);
        assertThat(stderr()).contains("--loss contrastive differs from the run saved in").contains("(circle)")
                .doesNotContain("\tat ");
        assertThat(run("train", "--lr", "0.5", "--resume", model + ".ckpt", "--out", model.toString()))
                .isEqualTo(2);
        assertThat(stderr()).contains("--lr 0.5 differs").contains("(0.002)");
        // the same value written otherwise is the same option
        assertThat(run("train", "--lr", "2e-3", "--batch", "4X4", "--epochs", "2", "--resume", model + ".ckpt",
                "--out", model.toString())).as(stderr()).isZero();
        assertThat(stdout()).contains("resumed from").contains("epoch 2/2");
    }

    @Test
    void aFreshRunOverAnEarlierRunsCheckpointIsRefusedWithoutForce() {
        Path model = dir.resolve("m.safetensors");
        assertThat(trainTiny(model)).as(stderr()).isZero();
        assertThat(trainTiny(model)).isEqualTo(2);
        assertThat(stderr()).contains(model + ".ckpt holds the checkpoint of an earlier run")
                .contains("--resume " + model + ".ckpt").contains("--force");
        assertThat(trainTiny(model, "--force")).as(stderr()).isZero();
    }

    /** Ctrl-C prints this from a shutdown hook; the command in it must continue the run it names. */
    @Test
    void anInterruptedRunSaysHowToResume() {
        Path model = dir.resolve("r.safetensors");
        assertThat(trainTiny(model, "--epochs", "1", "--schedule", "constant")).as(stderr()).isZero();
        String message = TrainCommand.interruptedMessage(1, Path.of(model + ".ckpt"), model);
        assertThat(message).startsWith("interrupted: the checkpoint " + model + ".ckpt (after epoch 1) is kept");
        String command = message.substring(message.indexOf("siamese4j train ") + "siamese4j ".length());
        List<String> args = new ArrayList<>(List.of(command.split(" ")));
        args.addAll(List.of("--epochs", "2"));
        assertThat(run(args.toArray(String[]::new))).as(stderr()).isZero();
        assertThat(stdout()).contains("resumed from " + model + ".ckpt after epoch 1").contains("epoch 2/2");
        assertThat(TrainCommand.interruptedMessage(0, Path.of("m.ckpt"), Path.of("m")))
                .contains("there is no checkpoint to resume");
    }

    @Test
    void benchmarkTrainsEachSplitAndSeedAndReportsMeanAndSpread() {
        assertThat(run("benchmark", "--data", "synthetic:10x4", "--batch", "4x4", "--test-identities", "4",
                "--validation-identities", "3", "--epochs", "1", "--splits", "2", "--seeds", "2", "--threads", "1",
                "--csv")).as(stderr()).isZero();
        List<String> runs = stdout().lines().filter(l -> l.startsWith("split ")).toList();
        assertThat(runs).hasSize(4);
        assertThat(runs.get(3)).startsWith("split 2 seed 2: test AUC ").contains("best epoch 1 of 1");
        List<String> csv = stdout().lines().filter(l -> l.startsWith("csv,")).toList();
        assertThat(csv).hasSize(4);
        double[] auc = csv.stream().mapToDouble(l -> Double.parseDouble(l.split(",")[3])).toArray();
        double mean = java.util.Arrays.stream(auc).average().orElseThrow();
        assertThat(stdout()).contains(String.format(java.util.Locale.ROOT, "mean (std) over 4 runs: test AUC %.4f",
                mean));
        assertThat(stdout()).contains("validation AUC (the people that chose each run's epoch): ");
        // synthetic test people do not depend on the split seed, the training seed changes the model
        assertThat(auc[0]).isNotEqualTo(auc[1]);
        // the baselines depend on the people only, not on the training seed; the last column pairs them
        assertThat(stdout().lines().filter(l -> l.startsWith("  baselines on the same test people: raw pixels AUC 0.")
                && l.contains(", Fisherfaces AUC ")).count()).isEqualTo(4);
        double[][] columns = csv.stream().map(l -> java.util.Arrays.stream(l.split(",")).skip(1)
                .mapToDouble(Double::parseDouble).toArray()).toArray(double[][]::new);
        assertThat(columns[0][11]).isEqualTo(columns[1][11]);
        assertThat(columns[0][12]).isEqualTo(columns[1][12]).isBetween(0.0, 1.0);
        assertThat(columns[0][13]).isCloseTo(columns[0][2] - columns[0][12], org.assertj.core.data.Offset.offset(1e-5));
        assertThat(stdout()).contains("baselines on the same test people: raw pixels AUC ")
                .contains("the recipe minus Fisherfaces, run by run: ");
        assertThat(run("benchmark", "--seed", "3")).isEqualTo(2);
        assertThat(stderr()).contains("unknown option --seed");
    }

    /** A flag such as --refit reaches each train run as a flag, and a refit run is shown beside its first run. */
    @Test
    void benchmarkWithRefitPrintsEachFirstRunsTestFiguresBesideTheRefits() {
        assertThat(run("benchmark", "--data", "synthetic:10x4", "--batch", "4x4", "--test-identities", "4",
                "--validation-identities", "3", "--epochs", "2", "--splits", "1", "--seeds", "2", "--threads", "1",
                "--refit", "--ensemble", "1", "--csv")).as(stderr()).isZero();
        assertThat(stdout()).contains("x 2 seeds of: train --data synthetic:10x4").contains("--refit")
                .doesNotContain("--refit true");
        List<String> before = stdout().lines().filter(l -> l.startsWith("  before the refit: test AUC ")).toList();
        assertThat(before).hasSize(2);
        double[] first = stdout().lines().filter(l -> l.startsWith("csv,"))
                .mapToDouble(l -> Double.parseDouble(l.split(",")[11])).toArray();
        assertThat(first).hasSize(2);
        assertThat(java.util.Arrays.stream(first).allMatch(Double::isFinite)).isTrue();
        // the CSV has 6 significant digits, the lines 4 decimals: the same figure, rounded twice
        double printed = Double.parseDouble(before.get(1).substring("  before the refit: test AUC ".length(),
                before.get(1).indexOf(',')));
        assertThat(printed).isCloseTo(first[1], org.assertj.core.data.Offset.offset(1.01e-4));
        assertThat(stdout()).contains("test AUC before the refit (the first runs' models): ");
    }

    @Test
    void benchmarkFirstSplitStartsTheSplitSeedsThere() {
        String[] args = {"benchmark", "--data", "synthetic:10x4", "--batch", "4x4", "--test-identities", "4",
                "--validation-identities", "3", "--epochs", "1", "--splits", "2", "--seeds", "1", "--threads", "1",
                "--first-split", "101"};
        assertThat(run(args)).as(stderr()).isZero();
        assertThat(stdout()).startsWith("benchmark: 2 splits (seeds 101..102) x 1 seeds of: train ")
                .doesNotContain("first-split");
        List<String> runs = stdout().lines().filter(l -> l.startsWith("split ")).toList();
        assertThat(runs).hasSize(2);
        assertThat(runs.get(0)).startsWith("split 101 seed 1: ");
        assertThat(runs.get(1)).startsWith("split 102 seed 1: ");
        assertThat(run("benchmark", "--first-split", "0")).isEqualTo(2);
    }

    @Test
    void outIntoAMissingFolderIsCreatedBeforeTraining() {
        Path model = dir.resolve("new/deeper/m.safetensors");
        assertThat(trainTiny(model, "--loss", "contrastive")).as(stderr()).isZero();
        assertThat(model).exists();
        assertThat(Path.of(model + ".ckpt")).exists();
    }

    @Test
    void tooFewTestOrValidationPeopleAreRefusedBeforeTraining() {
        assertThat(run("train", "--test-identities", "1")).isEqualTo(2);
        assertThat(stderr()).contains("--test-identities 1 is out of range; valid: 2 to");
        assertThat(run("train", "--test-identities", "0")).isEqualTo(2);
        assertThat(stderr()).contains("--test-identities 0 is out of range");
        assertThat(run("train", "--validation-identities", "1")).isEqualTo(2);
        assertThat(stderr()).contains("validation needs at least 2 people");
        assertThat(run("train", "--data", "synthetic:4x3", "--steps", "-1")).isEqualTo(2);
        assertThat(stderr()).contains("--steps -1 is out of range");
    }

    @Test
    void theSplitIsThreeWayAndNamedInTheOutputAndTheModel() throws IOException {
        Path model = dir.resolve("split.safetensors");
        Path figures = dir.resolve("figures");
        assertThat(trainTiny(model, "--validation-identities", "5", "--epochs", "2", "--diagnostics",
                figures.toString())).as(stderr()).isZero();
        assertThat(stdout()).contains("train: ImageDataset[40 images of 10 identities")
                .contains("validation: ImageDataset[20 images of 5 identities").contains("people synth-200000,")
                .contains("test (never seen in training or validation): ").contains("people synth-100000,")
                .containsPattern("epoch 1/2: 3 steps, mean loss [0-9.]+, active terms [0-9]+%; validation AUC ");
        List<String> rows = Files.readAllLines(figures.resolve("validation.csv"));
        assertThat(rows).hasSize(3);
        assertThat(rows.get(0)).isEqualTo("epoch,steps,mean_loss,active_fraction,validation_auc,validation_eer,"
                + "validation_one_shot,validation_rank1,best");
        assertThat(rows.get(1)).startsWith("1,3,").endsWith(",true");
        double auc = Double.parseDouble(rows.get(2).split(",")[4]);
        assertThat(auc).isBetween(0.0, 1.0);
        assertThat(ImageIO.read(figures.resolve("validation.png").toFile()).getWidth()).isGreaterThan(100);
        Map<String, String> meta = ModelFile.load(model).metadata();
        assertThat(meta.get("training_people").split(",")).hasSize(10).contains("synth-0", "synth-9");
        assertThat(meta.get("validation_people").split(",")).hasSize(5).contains("synth-200000");
        assertThat(meta.get("test_people").split(",")).hasSize(6).contains("synth-100005");
        assertThat(meta).containsKeys("validation_auc", "test_auc", "best_epoch", "validation_auc_history")
                .containsEntry("threshold_method", "best accuracy, mean of 10 folds of balanced pairs of the "
                        + "validation people");
    }

    @Test
    void stepsIsABudgetInStepsAndTheEpochLengthIsOnePassOverTheImages() {
        // 10 people x 4 images = 40 images at 4x4 = 16 per batch: 3 steps an epoch
        assertThat(trainTiny(dir.resolve("s.safetensors"), "--epochs", "10", "--steps", "4")).as(stderr())
                .isZero();
        assertThat(stdout()).contains("an epoch is 3 steps over the 40 training images; budget 10 epochs or 4 steps")
                .contains("epoch 1/2: 3 steps").contains("epoch 2/2: 1 steps").doesNotContain("epoch 3/")
                .contains("trained 2 epochs (4 steps)");
    }

    @Test
    void evalWarnsWhenTheDataHoldsTrainingPeopleAndCanLeaveThemOut() throws IOException {
        Path folder = dir.resolve("faces");
        for (int person = 0; person < 12; person++) {
            Path p = Files.createDirectories(folder.resolve("p" + person));
            for (int image = 0; image < 3; image++) {
                Images.writePgm(GrayImage.of(56, 46, 1f, SyntheticFaces.renderImage(3, person, image, 56, 46)),
                        p.resolve(image + ".pgm"));
            }
        }
        Path model = dir.resolve("f.safetensors");
        assertThat(run("train", "--data", folder.toString(), "--test-identities", "3", "--validation-identities",
                "2", "--batch", "4x3", "--epochs", "1", "--threads", "1", "--out", model.toString())).as(stderr())
                .isZero();
        assertThat(run("eval", "--model", model.toString(), "--data", folder.toString(), "--trials", "20"))
                .isZero();
        assertThat(stderr()).contains("warning: 9 of the 12 people in " + folder + " were used to train or validate "
                + "this model").contains("--exclude-training");
        assertThat(stdout()).contains("people (some seen in training): 12 people").doesNotContain("unseen");
        assertThat(run("eval", "--model", model.toString(), "--data", folder.toString(), "--trials", "20",
                "--exclude-training", "--ways", "3", "--json")).as(stderr()).isZero();
        assertThat(stdout()).contains("\"identities\":3").contains("\"unseen_people_only\":true");
        assertThat(stderr()).doesNotContain("warning");
    }

    @Test
    void unsupportedCombinationsListWhatWorks() {
        assertThat(run("train", "--loss", "contrastive", "--miner", "batch-hard")).isEqualTo(2);
        assertThat(stderr()).contains("--loss contrastive does not work with --miner batch-hard")
                .contains("--loss triplet --miner batch-hard|batch-all|semi-hard");
        assertThat(run("train", "--loss", "triplet", "--miner", "none")).isEqualTo(2);
        assertThat(stderr()).contains("valid combinations");
        assertThat(run("train", "--loss", "contrastive", "--miner", "offline")).isEqualTo(2);
        assertThat(stderr()).contains("--loss contrastive does not work with --miner offline");
        assertThat(run("train", "--loss", "hinge")).isEqualTo(2);
        assertThat(stderr()).contains("choose one of: contrastive, triplet, circle, proxy");
        assertThat(run("train", "--optimizer", "rmsprop")).isEqualTo(2);
        assertThat(stderr()).contains("choose one of: adam, adamw, sgd");
        assertThat(run("train", "--batch", "12")).isEqualTo(2);
        assertThat(stderr()).contains("use PxK");
        assertThat(run("train", "--data", "synthetic:1x1")).isEqualTo(2);
        assertThat(stderr()).contains("synthetic:PEOPLExIMAGES");
        assertThat(run("train", "--arch", "conv(8,3) frobnicate", "--out", dir.resolve("x").toString())).isEqualTo(2);
        assertThat(stderr()).startsWith("siamese4j train: --arch:");
        assertThat(run("train", "--input", "3x56x46")).isEqualTo(2);
        assertThat(stderr()).contains("grey images 1xHxW");
    }

    @Test
    void missingAndCorruptFilesAreOneLineWithTheTraceOnlyWhenVerbose() throws IOException {
        Path missing = dir.resolve("nope.safetensors");
        assertThat(run("eval", "--model", missing.toString())).isEqualTo(1);
        assertThat(stderr().trim().lines().count()).isEqualTo(1);
        assertThat(stderr()).contains("no such model file: " + missing).contains("--verbose");

        Path corrupt = dir.resolve("corrupt.safetensors");
        Files.write(corrupt, new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
        assertThat(run("embed", "--model", corrupt.toString(), "x.pgm")).isEqualTo(1);
        assertThat(stderr().trim().lines().count()).isEqualTo(1);
        assertThat(stderr()).contains(corrupt.toString());
        assertThat(run("embed", "--model", corrupt.toString(), "--verbose", "x.pgm")).isEqualTo(1);
        assertThat(stderr()).contains("\tat org.siamese4j");

        assertThat(run("train", "--data", dir.resolve("no-folder").toString())).isEqualTo(1);
        assertThat(stderr()).contains("no such folder");
        assertThat(run("train", "--resume", dir.resolve("no.ckpt").toString())).isEqualTo(1);
        assertThat(stderr()).contains("no such checkpoint");
        assertThat(run("eval")).isEqualTo(2);
        assertThat(stderr()).contains("--model MODEL is required");
        assertThat(run("embed", "--model", corrupt.toString())).isEqualTo(2);
        assertThat(stderr()).contains("at least one image");
    }

    @Test
    void demoRunsEndToEndWithTinySettings() throws IOException {
        Path demo = dir.resolve("demo");
        assertThat(run("demo", "--people", "8", "--images", "4", "--test-people", "5", "--epochs", "1",
                "--threads", "1", "--out", demo.toString())).as(stderr()).isZero();
        assertThat(stdout()).contains("untrained network").contains("summary").contains("ROC AUC")
                .contains("decision threshold");
        assertThat(demo.resolve("model.safetensors")).exists();
        for (String png : List.of("loss.png", "roc.png", "distances.png", "pairs.png", "embeddings.png")) {
            BufferedImage image = ImageIO.read(demo.resolve(png).toFile());
            assertThat(image).as(png).isNotNull();
            assertThat(image.getWidth()).as(png).isGreaterThan(100);
            // not blank: more than a couple of colours
            java.util.Set<Integer> colours = new java.util.HashSet<>();
            for (int y = 0; y < image.getHeight(); y += 3) {
                for (int x = 0; x < image.getWidth(); x += 3) {
                    colours.add(image.getRGB(x, y));
                }
            }
            assertThat(colours.size()).as(png).isGreaterThan(3);
        }
        assertThat(stdout()).contains("plots:");
    }
}
