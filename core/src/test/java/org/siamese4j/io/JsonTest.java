package org.siamese4j.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void parsesAllValueKindsKeepingKeyOrder() throws Exception {
        Object v = Json.parse(" {\"z\": [1, -2.5e3, 0, true, false, null], \"a\": {}, \"m\": [], \"s\": \"x\"} ");
        assertThat(v).isInstanceOf(Map.class);
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) v;
        assertThat(m.keySet()).containsExactly("z", "a", "m", "s");
        @SuppressWarnings("unchecked")
        List<Object> z = (List<Object>) m.get("z");
        assertThat(z).containsExactly(new Json.Num("1"), new Json.Num("-2.5e3"), new Json.Num("0"), true, false, null);
        assertThat(((Json.Num) z.get(0)).asLong()).isEqualTo(1L);
        assertThat(((Json.Num) z.get(1)).asLong()).isNull();
        assertThat(((Json.Num) z.get(1)).asDouble()).isEqualTo(-2500.0);
        assertThat(m.get("a")).isEqualTo(Map.of());
        assertThat(m.get("m")).isEqualTo(List.of());
    }

    @Test
    void integersAreExactAndOutOfRangeIsNotALong() throws Exception {
        assertThat(num("9223372036854775807").asLong()).isEqualTo(Long.MAX_VALUE);
        assertThat(num("-9223372036854775808").asLong()).isEqualTo(Long.MIN_VALUE);
        assertThat(num("9223372036854775808").asLong()).isNull();
        assertThat(num("18446744073709551615").asLong()).isNull();
        assertThat(num("1e2").asLong()).isNull();
        assertThat(num("-0").asLong()).isZero();
    }

    @Test
    void decodesEveryEscape() throws Exception {
        assertThat(Json.parse("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC \\ud83d\\ude00\""))
                .isEqualTo("\" \\ / \b \f \n \r \t é € 😀");
    }

    @Test
    void rejectsMalformedInputWithPosition() {
        assertSyntax("", "unexpected end of input, expected a value", 0);
        assertSyntax("{\"a\" 1}", "unexpected '1', expected ':'", 5);
        assertSyntax("{\"a\":1,}", "unexpected '}', expected a string key", 7);
        assertSyntax("[1,]", "unexpected ']', expected a value", 3);
        assertSyntax("[1 2]", "unexpected '2', expected ',' or ']'", 3);
        assertSyntax("{'a':1}", "unexpected ''', expected a string key", 1);
        assertSyntax("01", "unexpected '1' after the JSON value", 1);
        assertSyntax("-", "invalid number: expected a digit", 1);
        assertSyntax("1.", "invalid number: expected a digit after '.'", 2);
        assertSyntax("1e+", "invalid number: expected a digit in the exponent", 3);
        assertSyntax("NaN", "unexpected 'N', expected a value", 0);
        assertSyntax("tru", "unexpected 't', expected a value", 0);
        assertSyntax("\"abc", "unterminated string", 0);
        assertSyntax("\"a\nb\"", "raw control character U+000A in a string", 2);
        assertSyntax("\"\\x\"", "invalid escape \\x", 1);
        assertSyntax("\"\\u12G4\"", "invalid hex digit 'G' in \\u escape", 5);
        assertSyntax("\"\\u12", "truncated \\u escape", 1);
        assertSyntax("\"\\udc00\"", "lone low surrogate \\uDC00 in a string", 1);
        assertSyntax("\"\\ud800x\"", "lone high surrogate \\uD800 in a string", 1);
        assertSyntax("\"\\ud800\\u0041\"", "high surrogate \\uD800 followed by \\u0041 instead of a low surrogate", 7);
        assertSyntax("{\"k\":1,\"k\":2}", "duplicate key \"k\"", 7);
        assertSyntax("1" + "0".repeat(64), "number longer than 64 characters", 0);
    }

    @Test
    void limitsDepthStringLengthAndValueCount() throws Exception {
        assertThat(Json.parse("[[[1]]]", 3, 10, 10)).isNotNull();
        assertThatThrownBy(() -> Json.parse("[[[[1]]]]", 3, 10, 10)).hasMessage("nesting deeper than 3 levels");
        assertThat(Json.parse("\"0123456789\"", 3, 10, 10)).isEqualTo("0123456789");
        assertThatThrownBy(() -> Json.parse("\"0123456789a\"", 3, 10, 10))
                .hasMessage("string longer than 10 characters");
        assertThatThrownBy(() -> Json.parse("\"012345678\\n\\n\"", 3, 10, 10))
                .hasMessage("string longer than 10 characters");
        assertThat(Json.parse("[1,2,3,4,5,6,7,8,9]", 3, 10, 10)).isNotNull();
        assertThatThrownBy(() -> Json.parse("[1,2,3,4,5,6,7,8,9,10]", 3, 10, 10)).hasMessage("more than 10 values");
        // Keys count as values: an object of many empty keys cannot dodge the limit.
        assertThatThrownBy(() -> Json.parse("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6}", 3, 10, 10))
                .hasMessage("more than 10 values");
        // The default value limit, at full size: a million-and-one zeros is 2 MB of text.
        char[] many = new char[2 * (Json.MAX_VALUES + 1) + 1];
        Arrays.fill(many, ',');
        for (int i = 1; i < many.length; i += 2) {
            many[i] = '0';
        }
        many[0] = '[';
        many[many.length - 1] = ']';
        assertThatThrownBy(() -> Json.parse(new String(many))).hasMessage("more than 1000000 values");
    }

    @Test
    void writesCompactJsonThatParsesBack() throws Exception {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("text", "q\"b\\s/\n\r\t\b\f\u0001\u007f é 😀");
        m.put("ints", new int[] {1, -2});
        m.put("longs", new long[] {0, Long.MAX_VALUE});
        m.put("list", List.of("a", 3, true));
        m.put("nothing", null);
        String json = Json.write(m);
        assertThat(json).startsWith("{\"text\":\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u007F é 😀\",\"ints\":[1,-2],");
        Map<?, ?> back = (Map<?, ?>) Json.parse(json);
        assertThat(back.get("text")).isEqualTo(m.get("text"));
        assertThat(back.get("longs")).isEqualTo(List.of(new Json.Num("0"), new Json.Num("9223372036854775807")));
        assertThat(back.get("list")).isEqualTo(List.of("a", new Json.Num("3"), true));
        assertThat(back.containsKey("nothing")).isTrue();
        assertThat(back.get("nothing")).isNull();
    }

    @Test
    void writingAnUnpairedSurrogateFails() {
        assertThatThrownBy(() -> Json.write("a\ud800b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unpaired surrogate U+D800 at index 1");
        assertThat(Json.write("😀")).isEqualTo("\"😀\"");
    }

    @Test
    void messageQuotingEscapesAndShortens() {
        assertThat(Json.quoteForMessage("a\nb")).isEqualTo("\"a\\nb\"");
        assertThat(Json.quoteForMessage("x".repeat(500))).isEqualTo("\"" + "x".repeat(200) + "...\"");
        assertThat(Json.quoteForMessage("lone \udc00")).isEqualTo("\"lone \\uDC00\"");
    }

    private static Json.Num num(String s) throws Exception {
        return (Json.Num) Json.parse(s);
    }

    private static void assertSyntax(String text, String message, int position) {
        Json.SyntaxException e = catchThrowableOfType(Json.SyntaxException.class, () -> Json.parse(text));
        assertThat(e).as(text).isNotNull();
        assertThat(e.getMessage()).as(text).isEqualTo(message);
        assertThat(e.position()).as(text).isEqualTo(position);
    }
}
