package io.vigia.flink.validation;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One JSON text read the way Python's {@code json.loads} reads it (the verdict must equal
 * vigia.contract.checks in Python): RFC 8259 only (no NaN/Infinity, comments, leading zeros), the
 * last of duplicate keys wins, a text must be one value with nothing but whitespace after it, and
 * an integer of more than 4,300 digits is refused (CPython's int limit). Values: String,
 * {@link Num}, Boolean, {@link #NULL}, Map (insertion order), List.
 */
final class Json {
    /** A JSON number as written: its type (integer or not) and its value as a double. */
    record Num(String text, double value) {}

    static final Object NULL = new Object() {
        @Override public String toString() { return "null"; }
    };

    static final class NotJson extends Exception {
        NotJson(String why) { super(why, null, false, false); }
    }

    private static final int PYTHON_INT_MAX_DIGITS = 4300;
    private static final JsonFactory FACTORY = JsonFactory.builder()
            // numbers as long as Python takes them (the int limit is checked below); nesting as Jackson's default
            .streamReadConstraints(StreamReadConstraints.builder().maxNumberLength(Integer.MAX_VALUE).build())
            .build();

    private Json() {}

    static Object parse(String text) throws NotJson {
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
            throw new NotJson("starts with a byte order mark");  // json.loads refuses it too
        }
        try (JsonParser p = FACTORY.createParser(text)) {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw new NotJson("empty");
            }
            Object value = read(p, first);
            if (p.nextToken() != null) {
                throw new NotJson("content after the JSON value");
            }
            return value;
        } catch (IOException e) {
            throw new NotJson(e.getMessage());
        }
    }

    private static Object read(JsonParser p, JsonToken t) throws IOException, NotJson {
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> m = new LinkedHashMap<>();
                for (String k = p.nextFieldName(); k != null; k = p.nextFieldName()) {
                    m.put(k, read(p, p.nextToken()));
                }
                return m;
            }
            case START_ARRAY: {
                List<Object> a = new ArrayList<>();
                for (JsonToken e = p.nextToken(); e != JsonToken.END_ARRAY; e = p.nextToken()) {
                    a.add(read(p, e));
                }
                return a;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT: {
                String s = p.getText();
                if (s.length() - (s.charAt(0) == '-' ? 1 : 0) > PYTHON_INT_MAX_DIGITS) {
                    throw new NotJson("integer of more than " + PYTHON_INT_MAX_DIGITS + " digits");
                }
                return new Num(s, Double.parseDouble(s));  // too large for a double: Infinity, as float() in Python
            }
            case VALUE_NUMBER_FLOAT: {
                String s = p.getText();
                return new Num(s, Double.parseDouble(s));
            }
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return NULL;
            default:
                throw new NotJson("unexpected token " + t);
        }
    }
}
