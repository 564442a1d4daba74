package org.siamese4j.examples;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/** {@code --name value} arguments of the examples, checked against the names an example knows. */
final class ExampleArgs {
    private final String program;
    private final Map<String, String> values = new HashMap<>();

    ExampleArgs(String program, String[] args, Set<String> known) {
        this.program = program;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--") || !known.contains(a.substring(2))) {
                throw new IllegalArgumentException(program + ": unknown argument '" + a + "'; valid: --"
                        + String.join(" VALUE, --", known.stream().sorted().toList()) + " VALUE");
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(program + ": " + a + " needs a value");
            }
            values.put(a.substring(2), args[++i]);
        }
    }

    String string(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    int integer(String name, int fallback, int min) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n < min) {
                throw new IllegalArgumentException(program + ": --" + name + " must be at least " + min + ", got " + n);
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(program + ": --" + name + " expects a whole number, got '" + v + "'");
        }
    }

    long longValue(String name, long fallback) {
        String v = values.get(name);
        try {
            return v == null ? fallback : Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(program + ": --" + name + " expects a whole number, got '" + v + "'");
        }
    }

    float number(String name, float fallback) {
        return (float) decimal(name, fallback);
    }

    /** A positive finite number. */
    double decimal(String name, double fallback) {
        String v = values.get(name);
        if (v == null) {
            return fallback;
        }
        try {
            double f = Double.parseDouble(v.trim());
            if (!(f > 0) || Double.isInfinite(f)) {
                throw new IllegalArgumentException(program + ": --" + name + " must be a positive number, got " + v);
            }
            return f;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(program + ": --" + name + " expects a number, got '" + v + "'");
        }
    }
}
