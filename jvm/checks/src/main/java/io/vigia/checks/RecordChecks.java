package io.vigia.checks;

import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToLongFunction;
import java.util.regex.Pattern;

/**
 * The contract's checks and the gold rules evaluated on a record's text: the JVM runtime of
 * vigia.contract.checks (its docstring defines every test; {@code first_failure} is the Python
 * runtime). The Flink job (io.vigia.flink.validation.CheckRecord) and the Glue job's Spark UDF
 * (io.vigia.glue.CheckRecordUdf) both call it. The checks arrive as data, in list order, as
 * flink_app/validation.py writes them from that one list; this class only knows what each test means.
 * A record's reason is the code of the FIRST failing check; a check of an absent optional field is
 * skipped. Instances are immutable: one may serve many threads.
 */
public final class RecordChecks {
    /** {@code reason} is null exactly when the record is valid; {@code event} is the parsed object
     * (null when the text is not a JSON object), so that a caller can quote the offending field. */
    public record Verdict(String reason, long eventTimeMs, Map<String, Object> event) {
        static Verdict invalid(String code, Map<String, Object> event) { return new Verdict(code, 0, event); }
    }

    private record Spec(String unit, double min, double max) {}

    /** The tests this class knows: a check's test text is resolved once, not per record. */
    private enum Test {
        JSON, OBJECT, ADDITIONAL_PROPERTIES, REQUIRED, TYPE, CONST, FINITE, MIN_LENGTH, MAX_LENGTH, PATTERN,
        FORMAT, VALUES_TYPE, VALUES_MAX_LENGTH, DECLARED, UNIT, RANGE, TOO_OLD, IN_FUTURE;

        static Test of(String code, String test) {
            try {
                return valueOf(test.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("check " + code + ": unknown test " + test);
            }
        }
    }

    /** One check, its argument read once: {@code number} for numeric args, {@code names} for a
     * name list, {@code pattern} for a regex. */
    private record Check(String code, String field, Test test, Object arg, double number, Set<Object> names,
                         Pattern pattern) {}

    private final List<Check> checks = new ArrayList<>();
    private final Map<String, Spec> metrics = new HashMap<>();
    private final String jsonCode;
    private final String objectCode;

    /** {@code spec}: {"checks": [{"code", "field", "test", "arg"}, ...], "metrics": {name: {"unit", "min", "max"}}}. */
    @SuppressWarnings("unchecked")
    public RecordChecks(String spec) {
        Map<String, Object> s = Json.settings(spec, "the checks");
        for (Object o : (List<Object>) s.get("checks")) {
            Map<String, Object> c = (Map<String, Object>) o;
            String code = (String) c.get("code");
            Test test = Test.of(code, (String) c.get("test"));
            Object arg = c.get("arg");
            checks.add(new Check(code, (String) c.get("field"), test, arg,
                    arg instanceof Json.Num n ? n.value() : Double.NaN,
                    arg instanceof List<?> names ? new HashSet<>(names) : null,
                    test == Test.PATTERN ? Pattern.compile((String) arg) : null));
        }
        Map<String, Object> ms = (Map<String, Object>) s.getOrDefault("metrics", Map.of());
        ms.forEach((name, o) -> {
            Map<String, Object> m = (Map<String, Object>) o;
            metrics.put(name, new Spec((String) m.get("unit"), ((Json.Num) m.get("min")).value(),
                    ((Json.Num) m.get("max")).value()));
        });
        if (checks.size() < 2 || checks.get(0).test != Test.JSON || checks.get(1).test != Test.OBJECT) {
            throw new IllegalArgumentException("the checks must start with record.json and record.object");
        }
        jsonCode = checks.get(0).code;
        objectCode = checks.get(1).code;
    }

    /** The verdict on {@code text}, which arrived at {@code arrivalMs} (epoch milliseconds). */
    public Verdict check(String text, long arrivalMs) {
        return check(text, e -> arrivalMs);
    }

    /** The verdict on a record's bytes, which arrived at {@code arrivalMs}. An all-ASCII record (what
     * the producer writes) is parsed from its bytes; any other is decoded as UTF-8 first, bytes that
     * are not UTF-8 becoming U+FFFD, which the json check refuses. */
    public Verdict check(byte[] utf8, long arrivalMs) {
        for (byte b : utf8) {
            if (b < 0) {  // a byte >= 0x80: not ASCII
                return check(new String(utf8, StandardCharsets.UTF_8), arrivalMs);
            }
        }
        Object parsed;
        try {
            parsed = Json.parseAscii(utf8);
        } catch (Json.NotJson e) {
            return Verdict.invalid(jsonCode, null);
        }
        return checkParsed(parsed, e -> arrivalMs);
    }

    /**
     * The verdict on {@code text}, whose arrival depends on the record itself (the batch path clamps
     * its {@code ingest_time} into the window its file was delivered in): {@code arrival} is asked only
     * by the age rules, that is after every contract check passed.
     */
    public Verdict check(String text, ToLongFunction<Map<String, Object>> arrival) {
        if (text == null || text.indexOf('\uFFFD') >= 0) {  // what the decoder left of bytes that are not UTF-8
            return Verdict.invalid(jsonCode, null);
        }
        Object parsed;
        try {
            parsed = Json.parse(text);
        } catch (Json.NotJson e) {
            return Verdict.invalid(jsonCode, null);
        }
        return checkParsed(parsed, arrival);
    }

    @SuppressWarnings("unchecked")
    private Verdict checkParsed(Object parsed, ToLongFunction<Map<String, Object>> arrival) {
        if (!(parsed instanceof Map)) {
            return Verdict.invalid(objectCode, null);
        }
        Record r = new Record((Map<String, Object>) parsed, arrival);
        for (int i = 2; i < checks.size(); i++) {
            Check c = checks.get(i);
            boolean pass;
            if (c.test == Test.ADDITIONAL_PROPERTIES) {
                pass = c.names.containsAll(r.e.keySet());
            } else if (!r.e.containsKey(c.field)) {
                pass = c.test != Test.REQUIRED;
            } else {
                pass = c.test == Test.REQUIRED || passes(c, r);
            }
            if (!pass) {
                return Verdict.invalid(c.code, r.e);
            }
        }
        String eventTime = (String) r.e.get("event_time");  // required by the contract, not by every check list
        return new Verdict(null, eventTime == null ? 0 : r.timeMs(eventTime), r.e);
    }

    /** One record under check: what several checks read is computed once (the metric's spec, the
     * arrival, an instant's milliseconds). */
    private final class Record {
        final Map<String, Object> e;
        private final ToLongFunction<Map<String, Object>> arrivalOf;
        private Spec spec;
        private boolean specRead;
        private long arrivalMs = Long.MIN_VALUE;
        private String timeText;
        private long timeMs;

        Record(Map<String, Object> e, ToLongFunction<Map<String, Object>> arrivalOf) {
            this.e = e;
            this.arrivalOf = arrivalOf;
        }

        Spec spec() {
            if (!specRead) {
                spec = metrics.get((String) e.get("metric"));
                specRead = true;
            }
            return spec;
        }

        long arrival() {
            if (arrivalMs == Long.MIN_VALUE) {
                arrivalMs = arrivalOf.applyAsLong(e);
            }
            return arrivalMs;
        }

        long timeMs(String t) {
            if (!t.equals(timeText)) {
                timeMs = eventMs(t);
                timeText = t;
            }
            return timeMs;
        }
    }

    private boolean passes(Check c, Record r) {
        Object v = r.e.get(c.field);
        switch (c.test) {
            case TYPE:
                return isType((String) c.arg, v);
            case CONST:
                return v instanceof Json.Num n && n.value() == c.number;
            case FINITE:
                return Double.isFinite(((Json.Num) v).value());
            case MIN_LENGTH:
                return codePoints((String) v) >= c.number;
            case MAX_LENGTH:
                return codePoints((String) v) <= c.number;
            case PATTERN:
                return c.pattern.matcher((String) v).matches();
            case FORMAT:
                return realInstant((String) v);
            case VALUES_TYPE:
                for (Object x : ((Map<?, ?>) v).values()) {
                    if (!isType((String) c.arg, x)) {
                        return false;
                    }
                }
                return true;
            case VALUES_MAX_LENGTH:
                for (Object x : ((Map<?, ?>) v).values()) {
                    if (codePoints((String) x) > c.number) {
                        return false;
                    }
                }
                return true;
            case DECLARED:
                return r.spec() != null;
            case UNIT:
                return v.equals(r.spec().unit);
            case RANGE: {
                double x = ((Json.Num) v).value();
                return r.spec().min <= x && x <= r.spec().max;
            }
            case TOO_OLD:
                return r.timeMs((String) v) >= r.arrival() - (long) c.number * 1000L;
            case IN_FUTURE:
                return r.timeMs((String) v) <= r.arrival() + (long) c.number * 1000L;
            default:
                throw new IllegalStateException("check " + c.code + ": " + c.test + " is not a field test");
        }
    }

    private static boolean isType(String type, Object v) {
        switch (type) {
            case "string": return v instanceof String;
            case "number": return v instanceof Json.Num;
            case "object": return v instanceof Map;
            default: throw new IllegalArgumentException("no JSON type " + type);
        }
    }

    private static int codePoints(String s) {
        return s.codePointCount(0, s.length());
    }

    /** The text passed the date-time pattern: is it a real instant (year >= 1, no leap second)? */
    private static boolean realInstant(String t) {
        int year = Integer.parseInt(t, 0, 4, 10), month = Integer.parseInt(t, 5, 7, 10);
        int day = Integer.parseInt(t, 8, 10, 10);
        int hour = Integer.parseInt(t, 11, 13, 10), minute = Integer.parseInt(t, 14, 16, 10);
        int second = Integer.parseInt(t, 17, 19, 10);
        return year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= YearMonth.of(year, month).lengthOfMonth()
                && hour < 24 && minute < 60 && second < 60;
    }

    private static final Pattern INSTANT = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?Z");

    /** Epoch microseconds of an instant's text in the contract's form (UTC, Z, at most 6 fraction
     * digits, a real date and time), null for any other text: how the Glue job stores a time. */
    public static Long instantMicros(String t) {
        if (t == null || !INSTANT.matcher(t).matches() || !realInstant(t)) {
            return null;
        }
        String frac = t.length() > 20 ? t.substring(20, t.length() - 1) : "";
        return eventMs(t.substring(0, 19) + "Z") * 1000 + Integer.parseInt((frac + "000000").substring(0, 6));
    }

    /** Epoch milliseconds of an instant's text that passed its checks (sub-millisecond digits dropped). */
    public static long eventMs(String t) {
        long seconds = LocalDateTime.of(Integer.parseInt(t, 0, 4, 10), Integer.parseInt(t, 5, 7, 10),
                Integer.parseInt(t, 8, 10, 10), Integer.parseInt(t, 11, 13, 10), Integer.parseInt(t, 14, 16, 10),
                Integer.parseInt(t, 17, 19, 10)).toEpochSecond(ZoneOffset.UTC);
        String frac = t.length() > 20 ? t.substring(20, t.length() - 1) : "";
        return seconds * 1000 + Integer.parseInt((frac + "000").substring(0, 3));
    }
}
