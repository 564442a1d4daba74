package org.siamese4j.examples.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The options of one subcommand: {@code --name value} pairs and flags, checked against the options the
 * command declares, so an unknown option or a bad value fails with the valid choices.
 */
final class Options {
    /** A user error: printed as one line, exit code 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    private final String command;
    private final Map<String, String> declared = new LinkedHashMap<>();   // name -> help (flags end in "!")
    private final Map<String, String> values = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    Options(String command) {
        this.command = command;
    }

    /** Declares {@code --name VALUE}. */
    Options option(String name, String help) {
        declared.put(name, help);
        return this;
    }

    /** The declared options by name, with their help (a flag's help starts with "!"). */
    Map<String, String> declared() {
        return Collections.unmodifiableMap(declared);
    }

    /** Declares an option as {@link #declared()} gives it: a flag when its help starts with "!". */
    Options declare(String name, String help) {
        declared.put(name, help);
        return this;
    }

    /** Whether {@code --name} is a declared flag, which takes no value. */
    boolean isFlag(String name) {
        String help = declared.get(name);
        return help != null && help.startsWith("!");
    }

    /** Declares a flag {@code --name} that takes no value. */
    Options flag(String name, String help) {
        declared.put(name, "!" + help);
        return this;
    }

    Options parse(String[] args, int from) {
        for (int i = from; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) {
                positional.add(a);
                continue;
            }
            String name = a.substring(2);
            String inline = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                inline = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            String help = declared.get(name);
            if (help == null) {
                throw new UsageException("unknown option --" + name + " for '" + command + "'; valid options: "
                        + validNames());
            }
            if (help.startsWith("!")) {
                values.put(name, "true");
            } else if (inline != null) {
                values.put(name, inline);
            } else if (i + 1 < args.length) {
                values.put(name, args[++i]);
            } else {
                throw new UsageException("option --" + name + " needs a value (" + help + ")");
            }
        }
        return this;
    }

    /** The options given on the command line, by name, as written (flags as "true"). */
    Map<String, String> given() {
        return Collections.unmodifiableMap(values);
    }

    List<String> positional() {
        return positional;
    }

    /** Refuses positional arguments, for the commands that take none. */
    void requireNoPositional() {
        if (!positional.isEmpty()) {
            throw new UsageException("unexpected argument '" + positional.get(0) + "'");
        }
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    int integer(String name, int fallback, int min, int max) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min || n > max) {
                throw new UsageException("--" + name + " " + v + " is out of range; valid: " + min + " to " + max);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects a whole number, got '" + v + "'");
        }
    }

    long longValue(String name, long fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects a whole number, got '" + v + "'");
        }
    }

    float number(String name, float fallback, float min, float max) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            float f = Float.parseFloat(v.trim());
            if (!(f >= min && f <= max)) {
                throw new UsageException("--" + name + " " + v + " is out of range; valid: " + min + " to " + max);
            }
            return f;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " expects a number, got '" + v + "'");
        }
    }

    /** One of the given choices (case-insensitive). */
    String choice(String name, String fallback, String... choices) {
        String v = values.getOrDefault(name, fallback).toLowerCase(Locale.ROOT);
        for (String c : choices) {
            if (c.equals(v)) {
                return c;
            }
        }
        throw new UsageException("--" + name + " '" + v + "' is not valid; choose one of: " + String.join(", ", choices));
    }

    String usage() {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : declared.entrySet()) {
            boolean isFlag = e.getValue().startsWith("!");
            String left = "  --" + e.getKey() + (isFlag ? "" : " VALUE");
            sb.append(String.format(Locale.ROOT, "%-24s %s%n", left, isFlag ? e.getValue().substring(1) : e.getValue()));
        }
        return sb.toString();
    }

    private String validNames() {
        List<String> names = new ArrayList<>();
        for (String n : declared.keySet()) {
            names.add("--" + n);
        }
        return String.join(", ", names);
    }
}
