package io.vigia.checks;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;

import java.io.IOException;
import java.io.StringWriter;
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
 *
 * <p>Runtime-neutral (no Flink, no Spark): the Flink job's function and the Glue job's Spark UDF both
 * shade this module, with jackson-core relocated.
 */
public final class Json {
    /** A JSON number as written: its type (integer or not) and its value as a double. */
    public record Num(String text, double value) {}

    public static final Object NULL = new Object() {
        @Override public String toString() { return "null"; }
    };

    public static final class NotJson extends Exception {
        NotJson(String why) { super(why, null, false, false); }
    }

    private static final int PYTHON_INT_MAX_DIGITS = 4300;
    private static final JsonFactory FACTORY = JsonFactory.builder()
            // numbers as long as Python takes them (the int limit is checked below); nesting as Jackson's default
            .streamReadConstraints(StreamReadConstraints.builder().maxNumberLength(Integer.MAX_VALUE).build())
            .build();

    private Json() {}

    /** A setting's JSON object (the check list, a UDF's options): a text that is not one is a
     * programming error, named by {@code what}, not a record's defect. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> settings(String text, String what) {
        Object parsed;
        try {
            parsed = parse(text);
        } catch (NotJson e) {
            throw new IllegalArgumentException(what + ": not JSON: " + e.getMessage());
        }
        if (!(parsed instanceof Map)) {
            throw new IllegalArgumentException(what + ": not a JSON object");
        }
        return (Map<String, Object>) parsed;
    }

    public static Object parse(String text) throws NotJson {
        if (!text.isEmpty() && text.charAt(0) == '\uFEFF') {
            throw new NotJson("starts with a byte order mark");  // json.loads refuses it too
        }
        try (JsonParser p = FACTORY.createParser(text)) {
            return readWhole(p);
        } catch (IOException e) {
            throw new NotJson(e.getMessage());
        }
    }

    /** {@link #parse(String)} of a text given as its bytes, all ASCII (the caller checked): read as
     * they are, with no decoding to a String first. */
    public static Object parseAscii(byte[] ascii) throws NotJson {
        try (JsonParser p = FACTORY.createParser(ascii)) {
            return readWhole(p);
        } catch (IOException e) {
            throw new NotJson(e.getMessage());
        }
    }

    private static Object readWhole(JsonParser p) throws IOException, NotJson {
        JsonToken first = p.nextToken();
        if (first == null) {
            throw new NotJson("empty");
        }
        Object value = read(p, first);
        if (p.nextToken() != null) {
            throw new NotJson("content after the JSON value");
        }
        return value;
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

    /** A parsed value as compact JSON (numbers as written), e.g. to quote an offending value in a reason. */
    public static String compact(Object value) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            write(g, value);
        } catch (IOException e) {
            throw new IllegalStateException(e);  // a StringWriter does not fail
        }
        return out.toString();
    }

    private static void write(JsonGenerator g, Object v) throws IOException {
        if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Num n) {
            g.writeNumber(n.text());
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                g.writeFieldName((String) e.getKey());
                write(g, e.getValue());
            }
            g.writeEndObject();
        } else if (v instanceof List<?> a) {
            g.writeStartArray();
            for (Object x : a) {
                write(g, x);
            }
            g.writeEndArray();
        } else {
            g.writeNull();
        }
    }
}
