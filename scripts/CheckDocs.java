import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Re-runs the commands whose output the docs show and fails when the output no longer matches: the docs'
 * figures stay true. Run on demand, after building the jar (not part of the test run, it trains models):
 *
 * <pre>
 *   ./mvnw -B -ntp -q -DskipTests package
 *   java scripts/CheckDocs.java [--slow] [--show] [README.md docs/cli.md ...]
 * </pre>
 *
 * What the Markdown says, in HTML comments a reader does not see:
 * <ul>
 *   <li>{@code <!-- check -->} before a fenced block makes it a transcript: each line {@code $ COMMAND} is run
 *       (bash, in a fresh folder per document where {@code ./siamese4j}, {@code ./mvnw} and {@code ../shared}
 *       work as in the repository) and the lines after it, up to the next {@code $}, are its expected stdout.
 *       A line {@code ...} stands for any number of lines. Text must match exactly; options after the word
 *       check loosen it: {@code tolerance=R} lets numbers differ by a relative R (for runs whose last digits
 *       depend on the CPU's kernels), {@code ignore=REGEX} drops what matches from both sides (timings),
 *       {@code slow} runs it only with {@code --slow}, {@code name=N} keeps its output for quotes.</li>
 *   <li>{@code <!-- check: setup -->} before a fenced block runs its lines as commands, output unchecked (a model
 *       that the transcripts below use).</li>
 *   <li>{@code <!-- check: quotes=N -->} before a fenced block: each of its {@code // } comment lines must be a
 *       line of transcript N's output (the figures a code example shows come from a run).</li>
 * </ul>
 * {@code --show} prints the whole output of each command that did not match (lines starting {@code  | }), to
 * paste into the document once the change that moved it is understood.
 */
public final class CheckDocs {
    private static final Pattern MARKER = Pattern.compile("^<!-- check(?::\\s*(.*?))?\\s*-->\\s*$");
    private static final Pattern NUMBER = Pattern.compile("-?\\d+(?:\\.\\d+)?(?:[eE][-+]?\\d+)?");
    private static final Pattern OPTION = Pattern.compile("(\\w+)(?:=(\"[^\"]*\"|\\S+))?");

    private final Path repo;
    private final boolean slow;
    private boolean show;
    private final Map<String, List<String>> named = new HashMap<>();
    private int passed;
    private int failed;
    private int skipped;

    private CheckDocs(Path repo, boolean slow) {
        this.repo = repo;
        this.slow = slow;
    }

    public static void main(String[] args) throws Exception {
        Path repo = Path.of("").toAbsolutePath();
        if (!Files.isRegularFile(repo.resolve("examples/target/siamese4j.jar"))) {
            System.err.println("CheckDocs: run it from the repository root after ./mvnw -B -ntp -q -DskipTests package");
            System.exit(2);
        }
        boolean slow = false;
        boolean show = false;
        List<Path> docs = new ArrayList<>();
        for (String a : args) {
            if (a.equals("--slow")) {
                slow = true;
            } else if (a.equals("--show")) {
                show = true;
            } else {
                docs.add(repo.resolve(a));
            }
        }
        if (docs.isEmpty()) {
            docs.add(repo.resolve("README.md"));
            try (Stream<Path> s = Files.list(repo.resolve("docs"))) {
                s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
            }
        }
        CheckDocs check = new CheckDocs(repo, slow);
        check.show = show;
        for (Path doc : docs) {
            check.document(doc);
        }
        System.out.printf("%d checks passed, %d failed, %d slow ones skipped (--slow runs them)%n", check.passed,
                check.failed, check.skipped);
        System.exit(check.failed == 0 ? 0 : 1);
    }

    /** The checks of one document, in order, in one working folder. */
    private void document(Path doc) throws IOException, InterruptedException {
        List<String> lines = Files.readAllLines(doc);
        Path work = null;
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = MARKER.matcher(lines.get(i).strip());
            if (!m.matches()) {
                continue;
            }
            Map<String, String> options = options(m.group(1));
            int open = i + 1;
            while (open < lines.size() && !lines.get(open).startsWith("```")) {
                open++;
            }
            int close = open + 1;
            while (close < lines.size() && !lines.get(close).startsWith("```")) {
                close++;
            }
            List<String> block = lines.subList(Math.min(open + 1, lines.size()), Math.min(close, lines.size()));
            String where = repo.relativize(doc) + ":" + (i + 1);
            if (options.containsKey("slow") && !slow) {
                skipped++;
                continue;
            }
            if (options.containsKey("quotes")) {
                quotes(where, block, options.get("quotes"));
                continue;
            }
            if (work == null) {
                work = workFolder();
            }
            if (options.containsKey("setup")) {
                for (String command : block) {
                    if (!command.isBlank() && run(work, command, where) == null) {
                        failed++;
                        return;     // the transcripts below need what it makes
                    }
                }
                continue;
            }
            transcript(where, block, options, work);
        }
    }

    private void transcript(String where, List<String> block, Map<String, String> options, Path work)
            throws IOException, InterruptedException {
        List<String> all = new ArrayList<>();
        int i = 0;
        boolean ok = true;
        while (i < block.size()) {
            if (!block.get(i).startsWith("$ ")) {
                System.out.println("FAIL " + where + ": a transcript line must start with '$ ': " + block.get(i));
                failed++;
                return;
            }
            String command = block.get(i).substring(2);
            int end = i + 1;
            while (end < block.size() && !block.get(end).startsWith("$ ")) {
                end++;
            }
            List<String> expected = block.subList(i + 1, end);
            List<String> actual = run(work, command, where);
            if (actual == null) {
                ok = false;
                break;
            }
            all.addAll(actual);
            String mismatch = compare(expected, actual, options);
            if (mismatch != null) {
                System.out.println("FAIL " + where + ": $ " + command + "\n  " + mismatch);
                if (show) {
                    actual.forEach(line -> System.out.println("  | " + line));
                }
                ok = false;
            }
            i = end;
        }
        if (options.containsKey("name")) {
            named.put(options.get("name"), all);
        }
        if (ok) {
            System.out.println("ok   " + where);
            passed++;
        } else {
            failed++;
        }
    }

    private void quotes(String where, List<String> block, String name) {
        List<String> output = named.get(name);
        if (output == null) {
            System.out.println("FAIL " + where + ": no transcript named " + name + " ran before it");
            failed++;
            return;
        }
        for (String line : block) {
            int at = line.indexOf("// ");
            if (at >= 0 && line.substring(0, at).isBlank() && !output.contains(line.substring(at + 3).strip())) {
                System.out.println("FAIL " + where + ": not in the output of " + name + ": " + line.strip());
                failed++;
                return;
            }
        }
        System.out.println("ok   " + where);
        passed++;
    }

    /**
     * Null when {@code actual} matches {@code expected}, else what differs. {@code ...} matches any run of lines;
     * this simple matcher lets each {@code ...} take as few lines as it can.
     */
    static String compare(List<String> expected, List<String> actual, Map<String, String> options) {
        double tolerance = Double.parseDouble(options.getOrDefault("tolerance", "0"));
        Pattern ignore = options.containsKey("ignore") ? Pattern.compile(options.get("ignore")) : null;
        int a = 0;
        for (int e = 0; e < expected.size(); e++) {
            String want = expected.get(e);
            if (want.strip().equals("...")) {
                if (e + 1 == expected.size()) {
                    return null;
                }
                String next = expected.get(e + 1);
                while (a < actual.size() && sameLine(next, actual.get(a), tolerance, ignore) != null) {
                    a++;
                }
                continue;
            }
            if (a >= actual.size()) {
                return "expected: " + want + "\n  got: (end of output)";
            }
            String why = sameLine(want, actual.get(a), tolerance, ignore);
            if (why != null) {
                return "expected: " + want + "\n  got:      " + actual.get(a) + (why.isEmpty() ? "" : "\n  " + why);
            }
            a++;
        }
        return a == actual.size() ? null : "output goes on after the expected lines: " + actual.get(a);
    }

    /** Null when the lines match: the same text around the numbers, and numbers equal within the tolerance. */
    private static String sameLine(String want, String got, double tolerance, Pattern ignore) {
        if (ignore != null) {
            want = ignore.matcher(want).replaceAll("");
            got = ignore.matcher(got).replaceAll("");
        }
        want = want.stripTrailing();
        got = got.stripTrailing();
        if (tolerance == 0) {
            return want.equals(got) ? null : "";
        }
        Matcher w = NUMBER.matcher(want);
        Matcher g = NUMBER.matcher(got);
        if (!w.replaceAll("#").equals(g.replaceAll("#"))) {
            return "";
        }
        w.reset();
        g.reset();
        while (w.find() && g.find()) {
            double x = Double.parseDouble(w.group());
            double y = Double.parseDouble(g.group());
            if (Math.abs(x - y) > tolerance * Math.max(Math.abs(x), 1e-12)) {
                return w.group() + " vs " + g.group() + " is beyond the relative tolerance " + tolerance;
            }
        }
        return null;
    }

    /** stdout's lines, or null (reported) when the command fails. */
    private List<String> run(Path work, String command, String where) throws IOException, InterruptedException {
        Path err = work.resolve(".stderr");
        ProcessBuilder pb = new ProcessBuilder("bash", "-o", "pipefail", "-c", command).directory(work.toFile())
                .redirectError(err.toFile());
        pb.environment().put("COLUMNS", "200");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(2, TimeUnit.HOURS) || p.exitValue() != 0) {
            System.out.println("FAIL " + where + ": $ " + command + " exited with " + p.exitValue() + "\n"
                    + Files.readString(err).indent(2));
            return null;
        }
        return out.lines().toList();
    }

    /** A fresh folder where the docs' commands run as they would in the repository. */
    private Path workFolder() throws IOException {
        Path base = Files.createTempDirectory("siamese4j-docs-");
        Path work = Files.createDirectory(base.resolve("repo"));
        Path shared = repo.resolveSibling("shared");
        if (Files.isDirectory(shared)) {
            Files.createSymbolicLink(base.resolve("shared"), shared);
        }
        launcher(work.resolve("siamese4j"), repo.resolve("siamese4j") + " \"$@\"");
        launcher(work.resolve("mvnw"), repo.resolve("mvnw") + " -f " + repo.resolve("pom.xml") + " \"$@\"");
        // The examples' documented java commands name the jar relative to the repository.
        Files.createDirectories(work.resolve("examples"));
        Files.createSymbolicLink(work.resolve("examples/target"), repo.resolve("examples/target"));
        return work;
    }

    private static void launcher(Path file, String command) {
        try {
            Files.writeString(file, "#!/bin/sh\nexec " + command + "\n");
            file.toFile().setExecutable(true);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Map<String, String> options(String text) {
        Map<String, String> options = new HashMap<>();
        if (text == null) {
            return options;
        }
        Matcher m = OPTION.matcher(text);
        while (m.find()) {
            String value = m.group(2) == null ? "" : m.group(2);
            if (value.startsWith("\"")) {
                value = value.substring(1, value.length() - 1);
            }
            options.put(m.group(1), value);
        }
        return options;
    }
}
