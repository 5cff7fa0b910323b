package io.vigia.checks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The JSON reading Python's json.loads does, and the order of checks; the whole list agrees with
 * Python on the adversarial records in tests/integration/test_flink_validation.py. */
class RecordChecksTest {
    private static final long ARRIVAL = RecordChecks.eventMs("2026-11-01T12:00:00Z");
    private static final RecordChecks CHECKS = new RecordChecks("""
            {"checks": [
              {"code": "record.json", "field": "record", "test": "json"},
              {"code": "record.object", "field": "record", "test": "object"},
              {"code": "record.additional_properties", "field": "record", "test": "additional_properties",
               "arg": ["n", "metric", "event_time", "note"]},
              {"code": "n.required", "field": "n", "test": "required"},
              {"code": "n.type", "field": "n", "test": "type", "arg": "number"},
              {"code": "n.finite", "field": "n", "test": "finite"},
              {"code": "note.type", "field": "note", "test": "type", "arg": "string"},
              {"code": "note.max_length", "field": "note", "test": "max_length", "arg": 2},
              {"code": "metric.declared", "field": "metric", "test": "declared", "arg": ["t"]},
              {"code": "event_time.format", "field": "event_time", "test": "format"},
              {"code": "event_time.in_future", "field": "event_time", "test": "in_future", "arg": 300}],
             "metrics": {"t": {"unit": "c", "min": -50, "max": 150}}}""");

    private static String reason(String text) {
        return CHECKS.check(text, ARRIVAL).reason();
    }

    @Test
    void onlyOneStrictJsonTextIsJson() {
        for (String bad : new String[] {"", " ", "{} {}", "{\"n\": NaN}", "{\"n\": 01}", "\uFEFF{}", "{\"n\": 1,}",
                "{'n': 1}", "{\"n\": \"a\u0001\"}", "{\"n\": 1" + "0".repeat(4300) + "}", "{\"n\":1}\uFFFD"}) {
            assertEquals("record.json", reason(bad), bad);
        }
        assertEquals("record.object", reason("[1]"));
        assertEquals("n.finite", reason("{\"n\": 1e999, \"metric\": \"t\"}"));
        assertEquals("n.finite", reason("{\"n\": 1" + "0".repeat(4299) + ", \"metric\": \"t\"}"));
    }

    @Test
    void checksRunInListOrderAndOptionalFieldsOnlyWhenPresent() {
        assertEquals("record.additional_properties", reason("{\"x\": 1}"));
        assertEquals("n.required", reason("{\"metric\": \"t\"}"));
        assertEquals("n.type", reason("{\"n\": \"99\", \"metric\": \"t\"}"));
        assertEquals("n.type", reason("{\"n\": true, \"metric\": \"t\"}"));
        assertEquals("n.type", reason("{\"n\": 1, \"n\": null, \"metric\": \"t\"}"), "the last duplicate key wins");
        assertEquals("note.max_length", reason("{\"n\": 1, \"note\": \"\\ud83d\\ude00xy\", \"metric\": \"t\"}"));
        assertEquals("metric.declared", reason("{\"n\": 1, \"note\": \"\\ud83d\\ude00x\", \"metric\": \"u\"}"),
                "lengths are code points");
        assertEquals("event_time.format", reason("{\"n\": 1, \"metric\": \"t\", \"event_time\": \"2026-02-29T00:00:00Z\"}"));
        assertEquals("event_time.format", reason("{\"n\": 1, \"metric\": \"t\", \"event_time\": \"2026-01-01T00:00:60Z\"}"));
        assertEquals("event_time.in_future", reason("{\"n\": 1, \"metric\": \"t\", \"event_time\": \"2026-11-01T12:05:00.001Z\"}"));
        RecordChecks.Verdict ok = CHECKS.check("{\"n\": 2.5, \"metric\": \"t\", \"event_time\": \"2026-11-01T12:05:00.0009Z\"}", ARRIVAL);
        assertNull(ok.reason());
        assertEquals(ARRIVAL + 300_000, ok.eventTimeMs(), "sub-millisecond digits are dropped");
    }

    @Test
    void aRecordsBytesGetTheVerdictOfItsText() {
        for (String text : new String[] {"", "{} {}", "{\"n\": NaN}", "[1]", "{\"x\": 1}", "{\"n\": \"99\", \"metric\": \"t\"}",
                "{\"n\": 1, \"note\": \"\u00e9\u00e9x\", \"metric\": \"t\"}", "{\"n\": 1, \"note\": \"\ud83d\ude00x\", \"metric\": \"t\"}",
                "{\"n\": 1, \"metric\": \"t\", \"event_time\": \"2026-11-01T12:05:00.001Z\"}",
                "{\"n\": 2.5, \"metric\": \"t\", \"event_time\": \"2026-11-01T12:05:00Z\"}", "{\"n\":1}\uFFFD"}) {
            RecordChecks.Verdict fromText = CHECKS.check(text, ARRIVAL);
            RecordChecks.Verdict fromBytes = CHECKS.check(text.getBytes(java.nio.charset.StandardCharsets.UTF_8), ARRIVAL);
            assertEquals(fromText.reason(), fromBytes.reason(), text);
            assertEquals(fromText.eventTimeMs(), fromBytes.eventTimeMs(), text);
        }
        byte[] notUtf8 = {'{', '"', 'n', '"', ':', '"', (byte) 0xC3, '"', '}'};
        assertEquals("record.json", CHECKS.check(notUtf8, ARRIVAL).reason(), "bytes that are not UTF-8");
    }
}
