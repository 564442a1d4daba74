package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class Siamese4jCliTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Siamese4j.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String stdout() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String stderr() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void helpListsTheCommands() {
        assertThat(run("help")).isZero();
        assertThat(stdout()).contains("usage: siamese4j COMMAND").contains("demo").contains("train").contains("eval")
                .contains("embed");
    }

    @Test
    void commandHelpListsItsOptions() {
        assertThat(run("demo", "--help")).isZero();
        assertThat(stdout()).contains("--epochs VALUE").contains("--seed VALUE").contains("--verbose");
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
        err.reset();
        assertThat(run("demo", "--epochs", "0")).isEqualTo(2);
        assertThat(stderr()).contains("valid: 1 to 1000");
        err.reset();
        assertThat(run("train", "--lr")).isEqualTo(2);
        assertThat(stderr()).contains("--lr needs a value");
    }
}
