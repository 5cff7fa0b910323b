package io.vigia.glue;

import io.vigia.checks.Json;
import io.vigia.checks.RecordChecks;

import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.api.java.UDF2;

import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToLongFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The Glue job's record checks: a Spark UDF {@code (line, source_file) -> ROW<reason_code, offending,
 * arrival, field1, ...>} over the same {@link RecordChecks} the Flink job calls (jvm/checks), one
 * parse per record in the JVM. glue/validation.py builds it with the check list of
 * vigia_core.contract.checks, the envelope fields it wants back and the arrival rule, and registers it.
 *
 * <p>{@code arrival} (epoch microseconds) is what the age rules measure against: the record's
 * {@code ingest_time} clamped into the window its Firehose object was delivered in, [the time in
 * the object's name + shift, that + window] (docs/decisions.md); a record without an instant there
 * arrived at the window's end; a file without that name arrived at the run's time. The window is
 * worked out once per file (the records of a file come one after another), not once per record:
 * as Spark expressions per record it cost more than the checks. {@code offending} is the text of the failing field (a
 * string's content, any other value as compact JSON), null for a record-level failure; the reason's
 * bounded wording is composed in Spark. Output fields are set for a valid record, and for an invalid
 * one where the value has the wanted kind.
 */
public final class CheckRecordUdf implements UDF2<String, String, Row> {
    private static final long serialVersionUID = 1L;
    /** Compiled check lists by their text: every task deserialises its own copy of this function. */
    private static final Map<String, RecordChecks> COMPILED = new ConcurrentHashMap<>();

    private final String checksJson;
    private final String[] fields;
    private final String[] kinds;
    private final String arrivalField;
    private final String nameTime;
    private final String nameTimeFormat;
    private final long shiftMs;
    private final long windowMs;
    private final long unknownMs;
    /** Made on first use in a task (Pattern and the compiled list are not serialisable). */
    private transient volatile Compiled compiled;
    /** The last file's window: immutable, so a race can only recompute it. */
    private transient volatile Window last;

    private record Compiled(RecordChecks checks, Pattern nameTime, DateTimeFormatter nameTimeFormat) {}

    private record Window(String file, long earliestUs, long latestUs) {}

    /**
     * @param checksJson   the checks as vigia_core.contract.checks.as_json writes them
     * @param outputsJson  {"field": kind, ...} in output order; kind: string, double, int, string_map
     *                     or micros (an instant's text as epoch microseconds, a Spark timestamp)
     * @param arrivalField the field holding the record's own arrival time (ingest_time)
     * @param arrivalJson  {"name_time": regex whose group 1 is the time in a Firehose object's name,
     *                     "name_time_format": its java.time pattern (UTC), "shift_ms": added to it (the
     *                     pipeline clock's offset), "window_ms": the window's length, "unknown_ms": the
     *                     arrival of a file without that name}
     */
    @SuppressWarnings("unchecked")
    public CheckRecordUdf(String checksJson, String outputsJson, String arrivalField, String arrivalJson) {
        this.checksJson = checksJson;
        Map<String, Object> outputs = Json.settings(outputsJson, "the outputs");
        fields = outputs.keySet().toArray(new String[0]);
        kinds = outputs.values().toArray(new String[0]);
        for (String k : kinds) {
            if (!List.of("string", "double", "int", "string_map", "micros").contains(k)) {
                throw new IllegalArgumentException("no output kind " + k);
            }
        }
        this.arrivalField = arrivalField;
        Map<String, Object> a = Json.settings(arrivalJson, "the arrival rule");
        nameTime = (String) a.get("name_time");
        nameTimeFormat = (String) a.get("name_time_format");
        shiftMs = (long) ((Json.Num) a.get("shift_ms")).value();
        windowMs = (long) ((Json.Num) a.get("window_ms")).value();
        unknownMs = (long) ((Json.Num) a.get("unknown_ms")).value();
        new RecordChecks(checksJson);  // fail here, on the driver, rather than in every task
        Pattern.compile(nameTime);
        DateTimeFormatter.ofPattern(nameTimeFormat);
    }

    @Override
    public Row call(String line, String sourceFile) {
        Compiled c = compiled;
        if (c == null) {
            c = compiled = new Compiled(COMPILED.computeIfAbsent(checksJson, RecordChecks::new),
                    Pattern.compile(nameTime), DateTimeFormatter.ofPattern(nameTimeFormat));
        }
        Window w = last;
        if (w == null || !Objects.equals(w.file, sourceFile)) {
            w = last = windowOf(c, sourceFile);
        }
        Window window = w;
        long[] arrivalUs = {Long.MIN_VALUE};  // worked out at most once a record
        ToLongFunction<Map<String, Object>> arrival = e -> {
            if (arrivalUs[0] == Long.MIN_VALUE) {
                arrivalUs[0] = arrivalOf(window, e);
            }
            return Math.floorDiv(arrivalUs[0], 1000);
        };
        RecordChecks.Verdict v = c.checks.check(line, arrival);
        Object[] out = new Object[3 + fields.length];
        out[0] = v.reason();
        Map<String, Object> e = v.event();
        if (v.reason() != null && e != null) {
            String field = v.reason().substring(0, v.reason().indexOf('.'));
            Object offending = e.get(field);
            out[1] = offending == null ? null : offending instanceof String s ? s : Json.compact(offending);
        }
        out[2] = arrivalUs[0] != Long.MIN_VALUE ? arrivalUs[0] : arrivalOf(window, e);
        if (e != null) {
            for (int i = 0; i < fields.length; i++) {
                out[3 + i] = as(kinds[i], e.get(fields[i]));
            }
        }
        return RowFactory.create(out);
    }

    private long arrivalOf(Window w, Map<String, Object> e) {
        Long own = e != null && e.get(arrivalField) instanceof String t ? RecordChecks.instantMicros(t) : null;
        return own == null ? w.latestUs : Math.max(w.earliestUs, Math.min(w.latestUs, own));
    }

    private Window windowOf(Compiled c, String file) {
        if (file != null) {
            Matcher m = c.nameTime.matcher(file);
            if (m.find()) {
                try {
                    long named = LocalDateTime.parse(m.group(1), c.nameTimeFormat).toEpochSecond(ZoneOffset.UTC) * 1000;
                    return new Window(file, (named + shiftMs) * 1000, (named + shiftMs + windowMs) * 1000);
                } catch (DateTimeParseException notATime) {
                    // a name of that shape with an impossible time: as far as we know it arrived now
                }
            }
        }
        return new Window(file, unknownMs * 1000, unknownMs * 1000);
    }

    private static Object as(String kind, Object v) {
        switch (kind) {
            case "string":
                return v instanceof String ? v : null;
            case "double":
                return v instanceof Json.Num n ? n.value() : null;
            case "int":
                return v instanceof Json.Num n ? (int) n.value() : null;
            case "micros":
                return v instanceof String s ? RecordChecks.instantMicros(s) : null;
            default: {  // string_map
                if (!(v instanceof Map<?, ?> m)) {
                    return null;
                }
                Map<String, String> out = new HashMap<>(m.size() * 2);
                for (Map.Entry<?, ?> x : m.entrySet()) {
                    if (!(x.getValue() instanceof String s)) {
                        return null;
                    }
                    out.put((String) x.getKey(), s);
                }
                return out;
            }
        }
    }
}
