package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.siamese4j.kernels.KernelProvider;

class Siamese4jCliTest extends CliRunner {
    @Test
    void helpListsTheCommands() {
        assertThat(run("help")).isZero();
        assertThat(stdout()).contains("usage: siamese4j COMMAND").contains("demo").contains("train").contains("eval")
                .contains("embed");
    }

    @Test
    void versionIsTheProjectVersion() {
        String pomVersion = System.getProperty("siamese4j.projectVersion");
        assertThat(pomVersion).as("surefire passes the POM's version").isNotBlank();
        assertThat(run("version")).isZero();
        assertThat(stdout()).startsWith("siamese4j " + pomVersion);
    }

    @Test
    void strayArgumentsAreRefusedByTheCommandsThatTakeNone() {
        for (String command : new String[] {"train", "eval", "demo", "benchmark"}) {
            assertThat(run(command, "stray.pgm")).as(command).isEqualTo(2);
            assertThat(stderr()).contains("siamese4j " + command + ": unexpected argument 'stray.pgm'");
        }
    }

    @Test
    void commandHelpListsItsOptions() {
        assertThat(run("demo", "--help")).isZero();
        assertThat(stdout()).contains("--epochs VALUE").contains("--seed VALUE").contains("--verbose");
    }

    @Test
    void versionSaysWhichKernelsRun() {
        assertThat(run("version")).isZero();
        assertThat(stdout()).startsWith("siamese4j ").contains("kernels: " + KernelProvider.kernels().name() + " (");
    }

    @Test
    void verboseSaysWhichKernelsRunOnStderr() {
        assertThat(run("eval", "--model", "no-such-model.safetensors", "--verbose")).isEqualTo(1);
        assertThat(stderr()).startsWith("siamese4j: kernels: " + KernelProvider.kernels().name() + " (");
        assertThat(stdout()).doesNotContain("kernels");
        assertThat(run("eval", "--model", "no-such-model.safetensors")).isEqualTo(1);
        assertThat(stderr()).doesNotContain("kernels");
    }

    @Test
    void unknownCommandNamesTheValidOnes() {
        assertThat(run("trian")).isEqualTo(2);
        assertThat(stderr()).contains("unknown command 'trian'").contains("valid commands: demo, train, eval, embed");
    }

    @Test
    void unknownOptionNamesTheValidOnes() {
        assertThat(run("demo", "--epoch", "3")).isEqualTo(2);
        assertThat(stderr()).contains("unknown option --epoch").contains("--epochs").contains("--seed");
    }

    @Test
    void badValuesSayWhatIsValid() {
        assertThat(run("demo", "--epochs", "zero")).isEqualTo(2);
        assertThat(stderr()).contains("--epochs expects a whole number, got 'zero'");
        assertThat(run("demo", "--epochs", "0")).isEqualTo(2);
        assertThat(stderr()).contains("valid: 1 to 1000");
        assertThat(run("train", "--lr")).isEqualTo(2);
        assertThat(stderr()).contains("--lr needs a value");
    }
}
