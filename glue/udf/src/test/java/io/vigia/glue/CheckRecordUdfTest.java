package io.vigia.glue;

import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** What the UDF adds to RecordChecks (whose own tests are in jvm/checks): the arrival window from the
 * Firehose object's name and the record's ingest_time clamped into it, the offending text, the typed outputs. The whole list agrees with Python on
 * the adversarial records in tests/integration/test_glue_agreement.py. */
class CheckRecordUdfTest {
    private static final String CHECKS = """
            {"checks": [
              {"code": "record.json", "field": "record", "test": "json"},
              {"code": "record.object", "field": "record", "test": "object"},
              {"code": "n.type", "field": "n", "test": "type", "arg": "number"},
              {"code": "a.values_type", "field": "a", "test": "values_type", "arg": "string"},
              {"code": "event_time.format", "field": "event_time", "test": "format"},
              {"code": "event_time.in_future", "field": "event_time", "test": "in_future", "arg": 60}],
             "metrics": {}}""";
    private static final CheckRecordUdf UDF = new CheckRecordUdf(CHECKS,
            "{\"n\": \"double\", \"v\": \"int\", \"event_time\": \"string\", \"a\": \"string_map\", \"at\": \"micros\"}", "at",
            "{\"name_time\": \"-(\\\\d{4}-\\\\d{2}-\\\\d{2}-\\\\d{2}-\\\\d{2}-\\\\d{2})-x\", \"name_time_format\": \"yyyy-MM-dd-HH-mm-ss\","
            + " \"shift_ms\": 0, \"window_ms\": 300000, \"unknown_ms\": 1000}");
    private static final long LO = io.vigia.checks.RecordChecks.eventMs("2026-11-01T12:00:00Z");
    private static final String FILE = "s3://b/raw/s-1-2026-11-01-12-00-00-x.gz";

    private static Row call(String text) {
        return UDF.call(text, FILE);
    }

    @Test
    void theArrivalIsTheRecordsOwnClampedIntoTheDeliveryWindow() {
        String late = "{\"n\": 1, \"event_time\": \"2026-11-01T12:02:00Z\", \"at\": \"%s\"}";
        assertNull(call(late.formatted("2026-11-01T12:01:30Z")).get(0));
        assertEquals("event_time.in_future", call(late.formatted("2026-11-01T12:00:30Z")).get(0));
        assertEquals("event_time.in_future", call(late.formatted("2020-01-01T00:00:00Z")).get(0), "clamped up to the earliest");
        assertNull(call("{\"n\": 1, \"event_time\": \"2026-11-01T12:05:59Z\", \"at\": \"2030-01-01T00:00:00Z\"}").get(0),
                "clamped down to the latest");
        assertNull(call("{\"n\": 1, \"event_time\": \"2026-11-01T12:05:59Z\"}").get(0), "no arrival of its own: the latest");
        assertEquals((LO + 300_000) * 1000, call("{\"n\": \"x\"}").get(2), "an invalid record's arrival too");
        assertEquals(1_000_000L, UDF.call("[]", "s3://b/raw/other.gz").get(2), "a file without the name: the run's time");
        assertEquals(1_000_000L, UDF.call("[]", "s3://b/raw/s-1-2026-13-01-12-00-00-x.gz").get(2), "an impossible time too");
        assertEquals(1_000_000L, UDF.call("[]", null).get(2));
    }

    @Test
    void outputsAreTypedAndTheOffendingValueIsQuoted() {
        Row ok = call("{\"n\": 2.5, \"v\": 1.0, \"event_time\": \"2026-11-01T12:00:00Z\", \"a\": {\"k\": \"x\"},"
                + " \"at\": \"2026-11-01T12:00:00.000123Z\"}");
        assertNull(ok.get(0));
        assertNull(ok.get(1));
        assertEquals(LO * 1000 + 123, ok.get(2), "the arrival: its own ingest time, in the window");
        assertEquals(2.5, ok.get(3));
        assertEquals(1, ok.get(4));
        assertEquals("2026-11-01T12:00:00Z", ok.get(5));
        assertEquals(Map.of("k", "x"), ok.get(6));
        assertEquals(LO * 1000 + 123, ok.get(7), "epoch microseconds");
        assertNull(call("{\"n\": \"x\", \"at\": \"2026-02-29T00:00:00Z\"}").get(7), "not a real instant");
        assertNull(call("{\"n\": \"x\", \"at\": \"2026-11-01 12:00:00\"}").get(7), "not the contract's form");
        Row bad = call("{\"n\": 1, \"a\": {\"k\": 1.50, \"j\": [true, null]}}");
        assertEquals("a.values_type", bad.get(0));
        assertEquals("{\"k\":1.50,\"j\":[true,null]}", bad.get(1), "compact JSON, numbers as written");
        assertNull(bad.get(6));
        assertEquals(1.0, bad.get(3), "an invalid record keeps the fields that have their kind");
        assertEquals("1", call("{\"n\": \"1\"}").get(1), "a string is quoted as its content");
        Row notJson = call("{");
        assertEquals("record.json", notJson.get(0));
        assertNull(notJson.get(1));
    }
}
