package org.siamese4j.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.siamese4j.siamese.diagnostics.TrainingMonitor;
import org.siamese4j.siamese.train.Trainer;

class ProgressTest {
    private static final List<String> DETAILS = List.of("loss 0.2801", "active 100%", "easy 0 semi-hard 142 hard 2");

    /** What a terminal shows for {@code text}: each carriage return goes back to column 0 and overwrites. */
    static List<String> screenLines(String text) {
        List<StringBuilder> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        int col = 0;
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            if (ch == '\n') {
                lines.add(line);
                line = new StringBuilder();
                col = 0;
            } else if (ch == '\r') {
                col = 0;
            } else {
                if (col < line.length()) {
                    line.setCharAt(col, ch);
                } else {
                    line.append(ch);
                }
                col++;
            }
        }
        lines.add(line);
        return lines.stream().map(StringBuilder::toString).toList();
    }

    @Test
    void barLinesFitEightyAndFortyColumns() {
        for (int columns : new int[] {80, 40, Terminal.MIN_COLUMNS}) {
            for (int done : new int[] {1, 57, 1000}) {
                String line = Progress.barLine(columns, "epoch 12/200", done, 1000, DETAILS, "47454 img/s",
                        "ETA 12:34");
                assertThat(line.length()).as("%d columns: '%s'", columns, line).isLessThanOrEqualTo(columns - 1);
                assertThat(line).startsWith("epoch 12/200 ");
            }
        }
    }

    @Test
    void aNarrowTerminalKeepsTheLossAndTheEtaBeforeTheMinedCountsAndTheRate() {
        String at80 = Progress.barLine(80, "epoch 1/7", 1, 3, DETAILS, "47454 img/s", "ETA 0:00");
        assertThat(at80).contains("[", "1/3", "loss 0.2801", "active 100%", "ETA 0:00").doesNotContain("img/s");
        String at40 = Progress.barLine(40, "epoch 1/7", 1, 3, DETAILS, "47454 img/s", "ETA 0:00");
        assertThat(at40).contains("[", "1/3", "loss 0.2801");
        String wide = Progress.barLine(200, "epoch 1/7", 1, 3, DETAILS, "47454 img/s", "ETA 0:00");
        assertThat(wide).contains("semi-hard 142", "47454 img/s", "ETA 0:00");
    }

    @Test
    void redrawsFitAfterTheCarriageReturnsAreInterpreted() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), true, 40);
        progress.start("epoch 1/2", 3);
        for (int step = 1; step <= 3; step++) {
            progress.update(step, step == 1 ? DETAILS : List.of("loss 0.2"), 48);
        }
        for (String line : screenLines(bytes.toString(StandardCharsets.UTF_8))) {
            assertThat(line.length()).as("'%s'", line).isLessThan(40);
        }
    }

    @Test
    void anEpochCutShortPrintsItsSummaryOnALineOfItsOwn() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        TrainCommand.EpochPrinter printer = new TrainCommand.EpochPrinter(out, new Progress(out, true, 80), 7,
                new TrainingMonitor());
        // the step budget ends epoch 7 after 2 of its 3 steps: the bar never reaches its end
        printer.onStep(new Trainer.StepReport(7, 1, 3, 19, 0.19f, 0.92, null, 48, false));
        printer.onStep(new Trainer.StepReport(7, 2, 3, 20, 0.16f, 0.81, null, 48, false));
        printer.onEpoch(new Trainer.EpochReport(7, 2, 0.1769, 0.87, null, false));

        List<String> lines = screenLines(bytes.toString(StandardCharsets.UTF_8));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("epoch 7/7 [").contains("2/3"));
        assertThat(lines).anySatisfy(l -> assertThat(l).startsWith("epoch 7/7: 2 steps, mean loss 0.1769"));
    }

    @Test
    void aWarningDuringTheBarStartsOnALineOfItsOwn() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        Progress progress = new Progress(out, true, 80);
        progress.start("epoch 1/1", 3);
        progress.update(1, List.of("loss 0.5"), 48);
        progress.endLine();
        out.println("warning: something");
        progress.endLine();                             // a second call prints nothing more
        progress.update(2, List.of("loss 0.4"), 48);

        List<String> lines = screenLines(bytes.toString(StandardCharsets.UTF_8));
        assertThat(lines.get(0)).startsWith("epoch 1/1 [").contains("1/3");
        assertThat(lines.get(1)).isEqualTo("warning: something");
        assertThat(lines.get(2)).startsWith("epoch 1/1 [").contains("2/3");
    }

    @Test
    void aFileOrPipeGetsNoCarriageReturns() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Progress progress = new Progress(new PrintStream(bytes, true, StandardCharsets.UTF_8), false, 80);
        progress.start("epoch 1/1", 3);
        for (int step = 1; step <= 3; step++) {
            progress.update(step, DETAILS, 48);
        }
        progress.endLine();
        assertThat(bytes.toString(StandardCharsets.UTF_8)).doesNotContain("\r");
    }

    @Test
    void terminalWidthParsing() {
        assertThat(Terminal.parseSttySize("24 80\n")).isEqualTo(80);
        assertThat(Terminal.parseSttySize("")).isEqualTo(-1);
        assertThat(Terminal.parseSttySize("stty: 'standard input': Inappropriate ioctl for device")).isEqualTo(-1);
        assertThat(Terminal.parseColumns(" 132 ")).isEqualTo(132);
        assertThat(Terminal.parseColumns("0")).isEqualTo(-1);
        assertThat(Terminal.parseColumns("wide")).isEqualTo(-1);
        assertThat(Terminal.clamp(3)).isEqualTo(Terminal.MIN_COLUMNS);
        assertThat(Terminal.clamp(100_000)).isEqualTo(Terminal.MAX_COLUMNS);
    }
}
