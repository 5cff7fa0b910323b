package io.vigia.flink.validation;

import io.vigia.checks.Json;
import io.vigia.checks.RecordChecks;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.TimestampData;
import org.apache.flink.table.functions.ScalarFunction;

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
 * operators, and the record is parsed once. The function takes and returns Flink's internal data
 * (StringData, RowData): a remembered verdict then costs no conversion of the text or the row.
 */
public class CheckRecord extends ScalarFunction {
    private static final String[] FIELDS = {"event_id", "source", "entity_id", "metric"};
    private static final ThreadLocal<Last> LAST = ThreadLocal.withInitial(Last::new);
    /** One compiled check list per text, shared by the function's instances (one per call site):
     * the remembered verdict is only reused for the same list. */
    private static final Map<String, RecordChecks> COMPILED = new ConcurrentHashMap<>();

    private static final class Last {
        RecordChecks checks;
        StringData line;
        long arrivalMs;
        RowData row;
    }

    @Override
    public boolean isDeterministic() {
        return false;  // see the class comment: one call per use of the row, not per field
    }

    private transient String checksText;
    private transient RecordChecks checks;

    @DataTypeHint(value = "ROW<reason STRING, event_ms BIGINT, event_id STRING, source STRING, "
            + "entity_id STRING, metric STRING, `value` DOUBLE>", bridgedTo = RowData.class)
    public RowData eval(@DataTypeHint(value = "STRING", bridgedTo = StringData.class) StringData line,
                        @DataTypeHint(value = "TIMESTAMP_LTZ(3)", bridgedTo = TimestampData.class) TimestampData arrival,
                        String checksJson) {
        if (checksJson != checksText) {  // a constant: looked up once per function instance
            checks = COMPILED.computeIfAbsent(checksJson, RecordChecks::new);
            checksText = checksJson;
        }
        long arrivalMs = Objects.requireNonNull(arrival, "the record has no arrival time").getMillisecond();
        if (line == null) {  // no bytes at all: not JSON, like an empty text
            line = StringData.fromString("");
        }
        Last last = LAST.get();
        if (last.checks == checks && last.arrivalMs == arrivalMs && line.equals(last.line)) {
            return last.row;
        }
        byte[] bytes = line.toBytes();  // may be the StringData's own memory
        last.checks = checks;
        // a copy: with object reuse, the memory a StringData points at may hold the next record later
        last.line = StringData.fromBytes(bytes.clone());
        last.arrivalMs = arrivalMs;
        last.row = verdictRow(checks.check(bytes, arrivalMs));
        return last.row;
    }

    private static RowData verdictRow(RecordChecks.Verdict v) {
        GenericRowData row = new GenericRowData(7);
        if (v.reason() != null) {
            row.setField(0, StringData.fromString(v.reason()));
        } else {
            Map<String, Object> e = v.event();
            row.setField(1, v.eventTimeMs());
            for (int i = 0; i < FIELDS.length; i++) {
                row.setField(2 + i, StringData.fromString((String) e.get(FIELDS[i])));
            }
            row.setField(6, ((Json.Num) e.get("value")).value());
        }
        return row;
    }
}
