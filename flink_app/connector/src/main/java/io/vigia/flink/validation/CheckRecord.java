package io.vigia.flink.validation;

import io.vigia.checks.Json;
import io.vigia.checks.RecordChecks;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.types.Row;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * {@code VIGIA_CHECK(line, arrival, checks)}: the verdict of the contract and the gold rules on one
 * record's text, and the fields the rules read, parsed once:
 * {@code ROW<reason, event_ms, event_id, source, entity_id, metric, value>} (event_ms: the event
 * time in epoch milliseconds). {@code reason} is the
 * code of the first failing check (NULL for a valid event); the other fields are NULL unless the
 * event is valid. {@code checks} is the JSON that flink_app/validation.py writes (a constant);
 * the checks themselves are jvm/checks ({@link RecordChecks}), shared with the Glue job's Spark UDF.
 *
 * <p>The function says it is not deterministic, though it is: the planner then keeps the verdict
 * row as one column instead of inlining a call per field read (the routing read 17 fields of it,
 * 17 calls a record, each converting the text and the row). It is still called more than once a
 * record (the source's event-time column, the routing view, the invalid branch), so the last
 * verdict of the thread is remembered: calls for one record follow each other in one chain of
 * operators, and the record is parsed once.
 */
public class CheckRecord extends ScalarFunction {
    private static final String[] FIELDS = {"event_id", "source", "entity_id", "metric"};
    private static final ThreadLocal<Last> LAST = ThreadLocal.withInitial(Last::new);
    /** One compiled check list per text, shared by the function's instances (one per call site):
     * the remembered verdict is only reused for the same list. */
    private static final Map<String, RecordChecks> COMPILED = new ConcurrentHashMap<>();

    private static final class Last {
        RecordChecks checks;
        String line;
        long arrivalMs;
        Row row;
    }

    @Override
    public boolean isDeterministic() {
        return false;  // see the class comment: one call per use of the row, not per field
    }

    private transient String checksText;
    private transient RecordChecks checks;

    @DataTypeHint("ROW<reason STRING, event_ms BIGINT, event_id STRING, source STRING, "
            + "entity_id STRING, metric STRING, `value` DOUBLE>")
    public Row eval(String line, Instant arrival, String checksJson) {
        if (checksJson != checksText) {  // a constant: looked up once per function instance
            checks = COMPILED.computeIfAbsent(checksJson, RecordChecks::new);
            checksText = checksJson;
        }
        long arrivalMs = Objects.requireNonNull(arrival, "the record has no arrival time").toEpochMilli();
        Last last = LAST.get();
        if (last.checks == checks && last.arrivalMs == arrivalMs && (last.line == line || line.equals(last.line))) {
            return last.row;
        }
        last.checks = checks;
        last.line = line;
        last.arrivalMs = arrivalMs;
        last.row = verdictRow(checks.check(line, arrivalMs));
        return last.row;
    }

    private static Row verdictRow(RecordChecks.Verdict v) {
        Row row = new Row(7);
        row.setField(0, v.reason());
        if (v.reason() == null) {
            Map<String, Object> e = v.event();
            row.setField(1, v.eventTimeMs());
            for (int i = 0; i < FIELDS.length; i++) {
                row.setField(2 + i, e.get(FIELDS[i]));
            }
            row.setField(6, ((Json.Num) e.get("value")).value());
        }
        return row;
    }
}
