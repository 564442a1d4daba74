package org.siamese4j.io;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON reader and writer for file headers, written for untrusted input.
 *
 * <p>Reading follows RFC 8259 with these limits, each checked before the memory is spent: nesting depth,
 * string length, number token length and the total count of values. Duplicate keys in an object are an
 * error (RFC 8259 leaves them undefined; safetensors forbids them), as are lone surrogates in {@code \\u}
 * escapes, raw control characters in strings, and anything but whitespace after the value. Objects become
 * {@link LinkedHashMap}s in document order, arrays {@link ArrayList}s, strings {@link String}s, numbers
 * {@link Num} (the exact token, converted on request), {@code true}/{@code false} {@link Boolean}s and
 * {@code null} Java's null. Errors carry the character position in the text.
 *
 * <p>Writing accepts maps with string keys, lists, {@code int[]}, {@code long[]}, strings, integers,
 * booleans and null, and produces compact JSON; non-ASCII text is written as is (the caller encodes UTF-8).
 *
 * <p>Public (parse, write, {@link Num}, {@link SyntaxException}) so that the siamese module writes its small JSON
 * files (a model's preprocessing sidecar) with this one reader and writer rather than a second one.
 */
public final class Json {
    /** Deepest nesting accepted; a safetensors header needs 3. */
    static final int MAX_DEPTH = 32;
    /** Longest string, in UTF-16 chars. Metadata values (architecture, sampler state) stay far below. */
    static final int MAX_STRING_CHARS = 16 << 20;
    /** Most values (of any kind, at any depth) in one document: bounds the parsed tree's memory. */
    static final int MAX_VALUES = 1_000_000;
    /** Longest number token; a u64 needs 20 characters. */
    static final int MAX_NUMBER_CHARS = 64;

    private Json() {
    }

    /** A JSON number, kept as its token so that integers are never rounded through a double. */
    public record Num(String text) {
        /** The value if the token is an integer (no fraction or exponent) that fits a long, else null. */
        public Long asLong() {
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c == '.' || c == 'e' || c == 'E') {
                    return null;
                }
            }
            try {
                return Long.parseLong(text);
            } catch (NumberFormatException e) {
                return null;
            }
        }

        public double asDouble() {
            return Double.parseDouble(text);
        }

        @Override
        public String toString() {
            return text;
        }
    }

    /** Malformed or over-limit input; {@link #position()} is the char index where it was noticed. */
    public static final class SyntaxException extends Exception {
        private static final long serialVersionUID = 1L;
        private final int position;

        SyntaxException(String message, int position) {
            super(message);
            this.position = position;
        }

        public int position() {
            return position;
        }
    }

    // =====================================================================================================
    // Reading
    // =====================================================================================================

    /** Parses a whole document with the default limits. */
    public static Object parse(String text) throws SyntaxException {
        return parse(text, MAX_DEPTH, MAX_STRING_CHARS, MAX_VALUES);
    }

    static Object parse(String text, int maxDepth, int maxStringChars, int maxValues) throws SyntaxException {
        Parser p = new Parser(text, maxDepth, maxStringChars, maxValues);
        Object value = p.value();
        p.skipWhitespace();
        if (p.pos < text.length()) {
            throw new SyntaxException("unexpected " + describe(text.charAt(p.pos)) + " after the JSON value", p.pos);
        }
        return value;
    }

    private static final class Parser {
        final String text;
        final int maxDepth;
        final int maxStringChars;
        final int maxValues;
        int pos;
        int depth;
        int values;

        Parser(String text, int maxDepth, int maxStringChars, int maxValues) {
            this.text = text;
            this.maxDepth = maxDepth;
            this.maxStringChars = maxStringChars;
            this.maxValues = maxValues;
        }

        void skipWhitespace() {
            while (pos < text.length()) {
                char c = text.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                    return;
                }
                pos++;
            }
        }

        Object value() throws SyntaxException {
            skipWhitespace();
            if (pos >= text.length()) {
                throw new SyntaxException("unexpected end of input, expected a value", pos);
            }
            if (++values > maxValues) {
                throw new SyntaxException("more than " + maxValues + " values", pos);
            }
            char c = text.charAt(pos);
            switch (c) {
                case '{':
                    return object();
                case '[':
                    return array();
                case '"':
                    return string();
                case 't':
                    return literal("true", Boolean.TRUE);
                case 'f':
                    return literal("false", Boolean.FALSE);
                case 'n':
                    return literal("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        return number();
                    }
                    throw new SyntaxException("unexpected " + describe(c) + ", expected a value", pos);
            }
        }

        private void enter() throws SyntaxException {
            if (++depth > maxDepth) {
                throw new SyntaxException("nesting deeper than " + maxDepth + " levels", pos);
            }
        }

        private Map<String, Object> object() throws SyntaxException {
            enter();
            pos++; // '{'
            Map<String, Object> map = new LinkedHashMap<>();
            skipWhitespace();
            if (pos < text.length() && text.charAt(pos) == '}') {
                pos++;
                depth--;
                return map;
            }
            while (true) {
                skipWhitespace();
                if (pos >= text.length() || text.charAt(pos) != '"') {
                    throw new SyntaxException(pos >= text.length() ? "unexpected end of input, expected a key"
                            : "unexpected " + describe(text.charAt(pos)) + ", expected a string key", pos);
                }
                int keyStart = pos;
                if (++values > maxValues) {
                    throw new SyntaxException("more than " + maxValues + " values", pos);
                }
                String key = string();
                if (map.containsKey(key)) {
                    throw new SyntaxException("duplicate key " + quoteForMessage(key), keyStart);
                }
                skipWhitespace();
                expect(':');
                map.put(key, value());
                skipWhitespace();
                if (pos < text.length() && text.charAt(pos) == ',') {
                    pos++;
                } else if (pos < text.length() && text.charAt(pos) == '}') {
                    pos++;
                    depth--;
                    return map;
                } else {
                    throw new SyntaxException(pos >= text.length() ? "unexpected end of input in an object"
                            : "unexpected " + describe(text.charAt(pos)) + ", expected ',' or '}'", pos);
                }
            }
        }

        private List<Object> array() throws SyntaxException {
            enter();
            pos++; // '['
            List<Object> list = new ArrayList<>();
            skipWhitespace();
            if (pos < text.length() && text.charAt(pos) == ']') {
                pos++;
                depth--;
                return list;
            }
            while (true) {
                list.add(value());
                skipWhitespace();
                if (pos < text.length() && text.charAt(pos) == ',') {
                    pos++;
                } else if (pos < text.length() && text.charAt(pos) == ']') {
                    pos++;
                    depth--;
                    return list;
                } else {
                    throw new SyntaxException(pos >= text.length() ? "unexpected end of input in an array"
                            : "unexpected " + describe(text.charAt(pos)) + ", expected ',' or ']'", pos);
                }
            }
        }

        private void expect(char c) throws SyntaxException {
            if (pos >= text.length()) {
                throw new SyntaxException("unexpected end of input, expected '" + c + "'", pos);
            }
            if (text.charAt(pos) != c) {
                throw new SyntaxException("unexpected " + describe(text.charAt(pos)) + ", expected '" + c + "'", pos);
            }
            pos++;
        }

        private Object literal(String word, Object value) throws SyntaxException {
            if (!text.startsWith(word, pos)) {
                throw new SyntaxException("unexpected " + describe(text.charAt(pos)) + ", expected a value", pos);
            }
            pos += word.length();
            return value;
        }

        private Num number() throws SyntaxException {
            int start = pos;
            if (text.charAt(pos) == '-') {
                pos++;
            }
            if (pos < text.length() && text.charAt(pos) == '0') {
                pos++;
            } else if (pos < text.length() && text.charAt(pos) >= '1' && text.charAt(pos) <= '9') {
                skipDigits();
            } else {
                throw new SyntaxException("invalid number: expected a digit", pos);
            }
            if (pos < text.length() && text.charAt(pos) == '.') {
                pos++;
                if (skipDigits() == 0) {
                    throw new SyntaxException("invalid number: expected a digit after '.'", pos);
                }
            }
            if (pos < text.length() && (text.charAt(pos) == 'e' || text.charAt(pos) == 'E')) {
                pos++;
                if (pos < text.length() && (text.charAt(pos) == '+' || text.charAt(pos) == '-')) {
                    pos++;
                }
                if (skipDigits() == 0) {
                    throw new SyntaxException("invalid number: expected a digit in the exponent", pos);
                }
            }
            if (pos - start > MAX_NUMBER_CHARS) {
                throw new SyntaxException("number longer than " + MAX_NUMBER_CHARS + " characters", start);
            }
            return new Num(text.substring(start, pos));
        }

        private int skipDigits() {
            int start = pos;
            while (pos < text.length() && text.charAt(pos) >= '0' && text.charAt(pos) <= '9') {
                pos++;
            }
            return pos - start;
        }

        private String string() throws SyntaxException {
            int start = pos;
            pos++; // opening quote
            StringBuilder sb = new StringBuilder();
            while (true) {
                int runStart = pos;
                while (pos < text.length()) {
                    char c = text.charAt(pos);
                    if (c == '"' || c == '\\' || c < 0x20) {
                        break;
                    }
                    pos++;
                }
                if (sb.length() + (pos - runStart) > maxStringChars) {
                    throw new SyntaxException("string longer than " + maxStringChars + " characters", start);
                }
                sb.append(text, runStart, pos);
                if (pos >= text.length()) {
                    throw new SyntaxException("unterminated string", start);
                }
                char c = text.charAt(pos);
                if (c == '"') {
                    pos++;
                    return sb.toString();
                }
                if (c < 0x20) {
                    throw new SyntaxException("raw control character " + describe(c) + " in a string", pos);
                }
                escape(sb);
                if (sb.length() > maxStringChars) {
                    throw new SyntaxException("string longer than " + maxStringChars + " characters", start);
                }
            }
        }

        private void escape(StringBuilder sb) throws SyntaxException {
            int at = pos;
            pos++; // backslash
            if (pos >= text.length()) {
                throw new SyntaxException("unterminated escape", at);
            }
            char c = text.charAt(pos++);
            switch (c) {
                case '"': sb.append('"'); return;
                case '\\': sb.append('\\'); return;
                case '/': sb.append('/'); return;
                case 'b': sb.append('\b'); return;
                case 'f': sb.append('\f'); return;
                case 'n': sb.append('\n'); return;
                case 'r': sb.append('\r'); return;
                case 't': sb.append('\t'); return;
                case 'u':
                    break;
                default:
                    throw new SyntaxException("invalid escape \\" + printable(c), at);
            }
            char unit = hex4(at);
            if (Character.isLowSurrogate(unit)) {
                throw new SyntaxException("lone low surrogate \\u" + hex(unit) + " in a string", at);
            }
            if (Character.isHighSurrogate(unit)) {
                // Must be followed at once by its low half, or the string is not valid Unicode.
                if (!text.startsWith("\\u", pos)) {
                    throw new SyntaxException("lone high surrogate \\u" + hex(unit) + " in a string", at);
                }
                int second = pos;
                pos += 2;
                char low = hex4(second);
                if (!Character.isLowSurrogate(low)) {
                    throw new SyntaxException("high surrogate \\u" + hex(unit) + " followed by \\u" + hex(low)
                            + " instead of a low surrogate", second);
                }
                sb.append(unit).append(low);
                return;
            }
            sb.append(unit);
        }

        /** Reads 4 hex digits after {@code \\u}; {@code pos} is just past the 'u'. */
        private char hex4(int escapeStart) throws SyntaxException {
            if (pos + 4 > text.length()) {
                throw new SyntaxException("truncated \\u escape", escapeStart);
            }
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int d = Character.digit(text.charAt(pos + i), 16);
                if (d < 0 || text.charAt(pos + i) > 'f') {
                    throw new SyntaxException("invalid hex digit " + describe(text.charAt(pos + i))
                            + " in \\u escape", pos + i);
                }
                v = v * 16 + d;
            }
            pos += 4;
            return (char) v;
        }
    }

    private static String hex(char c) {
        return String.format("%04X", (int) c);
    }

    /** A character for an error message, safe to print whatever it is. */
    static String describe(char c) {
        if (c >= 0x20 && c < 0x7f) {
            return "'" + c + "'";
        }
        return "U+" + hex(c);
    }

    private static String printable(char c) {
        return c >= 0x20 && c < 0x7f ? String.valueOf(c) : "U+" + hex(c);
    }

    /**
     * A string quoted for an error message: JSON escapes (so newlines or control characters in hostile
     * names cannot forge message lines) and shortened to 200 characters.
     */
    static String quoteForMessage(String s) {
        String shown = s.length() > 200 ? s.substring(0, 200) : s;
        StringBuilder sb = new StringBuilder();
        quoteLenient(sb, shown);
        if (shown != s) {
            sb.insert(sb.length() - 1, "...");
        }
        return sb.toString();
    }

    // =====================================================================================================
    // Writing
    // =====================================================================================================

    /** Compact JSON for {@code value}; see the class comment for the accepted types. */
    public static String write(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value);
        return sb.toString();
    }

    private static void write(StringBuilder sb, Object value) {
        if (value == null) {
            sb.append("null");
        } else if (value instanceof String) {
            quote(sb, (String) value);
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short
                || value instanceof Byte || value instanceof Boolean) {
            sb.append(value);
        } else if (value instanceof Num) {
            sb.append(((Num) value).text());
        } else if (value instanceof int[]) {
            int[] a = (int[]) value;
            sb.append('[');
            for (int i = 0; i < a.length; i++) {
                sb.append(i == 0 ? "" : ",").append(a[i]);
            }
            sb.append(']');
        } else if (value instanceof long[]) {
            long[] a = (long[]) value;
            sb.append('[');
            for (int i = 0; i < a.length; i++) {
                sb.append(i == 0 ? "" : ",").append(a[i]);
            }
            sb.append(']');
        } else if (value instanceof List) {
            sb.append('[');
            boolean first = true;
            for (Object item : (List<?>) value) {
                sb.append(first ? "" : ",");
                first = false;
                write(sb, item);
            }
            sb.append(']');
        } else if (value instanceof Map) {
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                if (!(e.getKey() instanceof String)) {
                    throw new IllegalArgumentException("JSON object keys must be strings, got " + e.getKey());
                }
                sb.append(first ? "" : ",");
                first = false;
                quote(sb, (String) e.getKey());
                sb.append(':');
                write(sb, e.getValue());
            }
            sb.append('}');
        } else {
            throw new IllegalArgumentException("cannot write a " + value.getClass().getName() + " as JSON");
        }
    }

    /**
     * Appends {@code s} as a JSON string. Fails on an unpaired surrogate: it has no UTF-8 encoding, and the
     * reader rejects it, so writing it would produce a file that does not load.
     */
    static void quote(StringBuilder sb, String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                throw new IllegalArgumentException("string " + quoteForMessage(s)
                        + " contains an unpaired surrogate U+" + hex(c) + " at index " + i);
            }
        }
        quoteLenient(sb, s);
    }

    private static void quoteLenient(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                case '\b': sb.append("\\b"); break;
                case '\f': sb.append("\\f"); break;
                default:
                    if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) && !pairedAt(s, i)) {
                        sb.append("\\u").append(hex(c));
                    } else {
                        sb.append(c);
                    }
            }
        }
        sb.append('"');
    }

    private static boolean pairedAt(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
