package org.siamese4j.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.siamese4j.kernels.KernelProvider;

/**
 * The {@code siamese4j} command-line tool. Each subcommand is a class with a {@code run} method; this class
 * only dispatches, and turns errors into one clear line and an exit code (2 for a usage error, 1 for a
 * failure), with the stack trace only under {@code --verbose}. {@code --verbose} and {@code version} also say which
 * kernels run (the library logs its choice at FINE only).
 */
public final class Siamese4j {
    /** A subcommand: its one-line summary and how to run it. */
    interface Command {
        String summary();

        Options options();

        int run(Options options, PrintStream out) throws Exception;

        /** As {@link #run(Options, PrintStream)}, for a command that also writes warnings to {@code err}. */
        default int run(Options options, PrintStream out, PrintStream err) throws Exception {
            return run(options, out);
        }
    }

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();
    private static final String VERBOSE_HELP = "print the kernels in use (on stderr), and stack traces on errors";

    static {
        COMMANDS.put("demo", new DemoCommand());
        COMMANDS.put("train", new TrainCommand());
        COMMANDS.put("eval", new EvalCommand());
        COMMANDS.put("embed", new EmbedCommand());
        COMMANDS.put("verify", new VerifyCommand());
        COMMANDS.put("enroll", new EnrollCommand());
        COMMANDS.put("identify", new IdentifyCommand());
        COMMANDS.put("calibrate", new CalibrateCommand());
        COMMANDS.put("export", new ExportCommand());
        COMMANDS.put("benchmark", new BenchmarkCommand());
    }

    private Siamese4j() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            if (args.length > 1 && COMMANDS.containsKey(args[1])) {
                printCommandHelp(args[1], out);
            } else {
                printHelp(out);
            }
            return 0;
        }
        if (args[0].equals("version") || args[0].equals("--version")) {
            out.println("siamese4j " + version());
            out.println("kernels: " + KernelProvider.description());
            return 0;
        }
        Command command = COMMANDS.get(args[0]);
        if (command == null) {
            err.println("siamese4j: unknown command '" + args[0] + "'; valid commands: "
                    + String.join(", ", COMMANDS.keySet()) + ", help, version");
            return 2;
        }
        boolean verbose = false;
        for (String a : args) {
            verbose |= a.equals("--verbose");
        }
        try {
            for (String a : args) {
                if (a.equals("--help") || a.equals("-h")) {
                    printCommandHelp(args[0], out);
                    return 0;
                }
            }
            Options options = command.options().flag("verbose", VERBOSE_HELP).parse(args, 1);
            if (verbose) {
                // on stderr, so that --verbose never changes what a script reads from stdout
                err.println("siamese4j: kernels: " + KernelProvider.description());
            }
            return command.run(options, out, err);
        } catch (Options.UsageException e) {
            err.println("siamese4j " + args[0] + ": " + e.getMessage());
            return 2;
        } catch (Exception | OutOfMemoryError e) {
            // One line a user can act on; the stack trace only on request.
            err.println("siamese4j " + args[0] + ": error: " + describe(e)
                    + (verbose ? "" : " (--verbose for the stack trace)"));
            if (verbose) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** The message of an error, with the file named for the file-system errors whose message is only the path. */
    static String describe(Throwable e) {
        return escapeControls(message(e).replace('\n', ' '));
    }

    private static String message(Throwable e) {
        if (e instanceof OutOfMemoryError) {
            // a thread pool rethrows a worker's error as a new one without a message, the original as its cause
            String reason = e.getMessage();
            for (Throwable c = e.getCause(); reason == null && c != null; c = c.getCause()) {
                reason = c.getMessage();
            }
            return "out of memory (" + reason + "; the limit is " + Runtime.getRuntime().maxMemory() / (1 << 20)
                    + " MiB); give Java more, e.g. SIAMESE4J_JAVA_OPTS=-Xmx8g ./siamese4j ... (the launcher passes "
                    + "it to java), or work on less data at once";
        }
        if (e instanceof NoSuchFileException f) {
            return (f.getReason() != null ? f.getReason() : "no such file") + ": " + f.getFile();
        }
        if (e instanceof AccessDeniedException f) {
            return "permission denied: " + f.getFile();
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason() + ": " + f.getFile();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    /**
     * Control characters as backslash-u and four hex digits: an error line quotes file names and file contents, and a terminal
     * would act on an escape sequence in them.
     */
    static String escapeControls(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.toString();
    }

    private static void printHelp(PrintStream out) {
        out.println("siamese4j " + version() + ": neural networks and Siamese face verification in pure Java");
        out.println();
        out.println("usage: siamese4j COMMAND [OPTIONS]");
        out.println();
        out.println("commands:");
        for (Map.Entry<String, Command> e : COMMANDS.entrySet()) {
            out.printf("  %-10s %s%n", e.getKey(), e.getValue().summary());
        }
        out.printf("  %-10s %s%n", "help", "this text; 'help COMMAND' for a command's options");
        out.printf("  %-10s %s%n", "version", "print the version and the kernels in use");
    }

    private static void printCommandHelp(String name, PrintStream out) {
        Command c = COMMANDS.get(name);
        out.println("siamese4j " + name + ": " + c.summary());
        out.println();
        out.println("options:");
        out.print(c.options().flag("verbose", VERBOSE_HELP).usage());
    }

    /** The project version Maven wrote into version.properties at build time. */
    static String version() {
        try (InputStream in = Siamese4j.class.getResourceAsStream("version.properties")) {
            if (in == null) {
                throw new IllegalStateException("version.properties is missing from the build");
            }
            Properties p = new Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
