package io.vigia.checks;

import java.time.LocalDateTime;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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

    private record Check(String code, String field, String test, Object arg, Pattern pattern) {}

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
            String test = (String) c.get("test");
            Object arg = c.get("arg");
            Pattern pattern = test.equals("pattern") ? Pattern.compile((String) arg) : null;
            checks.add(new Check((String) c.get("code"), (String) c.get("field"), test, arg, pattern));
        }
        Map<String, Object> ms = (Map<String, Object>) s.getOrDefault("metrics", Map.of());
        ms.forEach((name, o) -> {
            Map<String, Object> m = (Map<String, Object>) o;
            metrics.put(name, new Spec((String) m.get("unit"), ((Json.Num) m.get("min")).value(),
                    ((Json.Num) m.get("max")).value()));
        });
        if (checks.size() < 2 || !checks.get(0).test.equals("json") || !checks.get(1).test.equals("object")) {
            throw new IllegalArgumentException("the checks must start with record.json and record.object");
        }
        jsonCode = checks.get(0).code;
        objectCode = checks.get(1).code;
    }

    /** The verdict on {@code text}, which arrived at {@code arrivalMs} (epoch milliseconds). */
    public Verdict check(String text, long arrivalMs) {
        return check(text, e -> arrivalMs);
    }

    /**
     * The verdict on {@code text}, whose arrival depends on the record itself (the batch path clamps
     * its {@code ingest_time} into the window its file was delivered in): {@code arrival} is asked only
     * by the age rules, that is after every contract check passed.
     */
    @SuppressWarnings("unchecked")
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
        if (!(parsed instanceof Map)) {
            return Verdict.invalid(objectCode, null);
        }
        Map<String, Object> e = (Map<String, Object>) parsed;
        for (int i = 2; i < checks.size(); i++) {
            Check c = checks.get(i);
            boolean pass;
            if (c.test.equals("additional_properties")) {
                pass = ((List<Object>) c.arg).containsAll(e.keySet());
            } else if (!e.containsKey(c.field)) {
                pass = !c.test.equals("required");
            } else {
                pass = c.test.equals("required") || passes(c, e, arrival);
            }
            if (!pass) {
                return Verdict.invalid(c.code, e);
            }
        }
        return new Verdict(null, eventMs((String) e.get("event_time")), e);
    }

    private boolean passes(Check c, Map<String, Object> e, ToLongFunction<Map<String, Object>> arrival) {
        Object v = e.get(c.field);
        switch (c.test) {
            case "type":
                return isType((String) c.arg, v);
            case "const":
                return v instanceof Json.Num n && n.value() == ((Json.Num) c.arg).value();
            case "finite":
                return Double.isFinite(((Json.Num) v).value());
            case "min_length":
                return codePoints((String) v) >= intArg(c);
            case "max_length":
                return codePoints((String) v) <= intArg(c);
            case "pattern":
                return c.pattern.matcher((String) v).matches();
            case "format":
                return realInstant((String) v);
            case "values_type":
                return ((Map<?, ?>) v).values().stream().allMatch(x -> isType((String) c.arg, x));
            case "values_max_length":
                return ((Map<?, ?>) v).values().stream().allMatch(x -> codePoints((String) x) <= intArg(c));
            default:
                return passesGold(c, v, metrics.get((String) e.get("metric")), e, arrival);
        }
    }

    private static boolean passesGold(Check c, Object v, Spec spec, Map<String, Object> e,
                                      ToLongFunction<Map<String, Object>> arrival) {
        switch (c.test) {
            case "declared":
                return spec != null;
            case "unit":
                return v.equals(spec.unit);
            case "range": {
                double x = ((Json.Num) v).value();
                return spec.min <= x && x <= spec.max;
            }
            case "too_old":
                return eventMs((String) v) >= arrival.applyAsLong(e) - intArg(c) * 1000L;
            case "in_future":
                return eventMs((String) v) <= arrival.applyAsLong(e) + intArg(c) * 1000L;
            default:
                throw new IllegalArgumentException("check " + c.code + ": unknown test " + c.test);
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

    private static long intArg(Check c) {
        return (long) ((Json.Num) c.arg).value();
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
