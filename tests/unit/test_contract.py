"""The event contract: valid envelopes pass; each problem names its field and reason."""

from datetime import datetime, timedelta, timezone

import pytest

from vigia_core import contract

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def event(**overrides) -> dict:
    e = {"schema_version": 1, "event_id": "e-1", "source": "simulator", "entity_id": "sensor-001",
         "metric": "temperature", "value": 21.5, "unit": "celsius", "event_time": "2026-11-26T11:59:00.000Z",
         "ingest_time": "2026-11-26T12:00:00.000Z", "attributes": {"site": "plant-a"}}
    e.update(overrides)
    return {k: v for k, v in e.items() if v is not ...}


def test_valid_event_has_no_errors():
    assert contract.validate(event()) == []
    assert contract.validate(event(value=3, attributes=...)) == []


@pytest.mark.parametrize("overrides,field,reason,kind", [
    ({"value": "21.5"}, "value", 'must be of type number, got "21.5"', "type"),
    ({"value": True}, "value", "must be of type number, got true", "type"),
    ({"value": None}, "value", "must be of type number, got null", "type"),
    ({"value": float("inf")}, "value", "must be finite", "finite"),
    ({"value": ...}, "value", "is required but missing", "required"),
    ({"entity_id": 17}, "entity_id", "must be of type string, got 17", "type"),
    ({"event_id": ""}, "event_id", "should be non-empty", "min_length"),
    ({"event_time": "yesterday"}, "event_time", 'got "yesterday"', "format"),
    ({"event_time": "2026-11-26T11:59:00+01:00"}, "event_time", "does not match the required format", "pattern"),
    ({"schema_version": 2}, "schema_version", "must be 1, got 2", "const"),
    ({"attributes": {"n": 1}}, "attributes.n", "must be of type string, got 1", "type"),
    ({"metric": "Temp C"}, "metric", "does not match the required format", "pattern"),
])
def test_each_problem_names_field_reason_and_kind(overrides, field, reason, kind):
    errors = contract.validate(event(**overrides))
    assert [e.field for e in errors] == [field]
    assert reason in errors[0].reason and errors[0].kind == kind


def test_unknown_field_and_non_object():
    extra = contract.validate(event(colour="red"))[0]
    assert "'colour' was unexpected" in str(extra) and extra.kind == "additional_properties"
    assert contract.validate(["not", "an", "object"])[0].reason == "must be a JSON object, got list"


def test_a_long_offending_value_is_quoted_only_as_a_short_prefix():
    (err,) = contract.validate(event(entity_id=["x" * 100_000]))
    assert err.kind == "type" and len(err.reason) < 120


def test_absurd_times_are_rejected_relative_to_now():
    kw = dict(now=NOW, max_age=timedelta(days=30), max_future_skew=timedelta(minutes=5))
    assert contract.validate(event(), **kw) == []
    old = contract.validate(event(event_time="1970-01-01T00:00:00.000Z"), **kw)
    assert old[0].field == "event_time" and "older than 30 days" in old[0].reason and old[0].kind == "too_old"
    future = contract.validate(event(event_time="2999-12-31T23:59:59.000Z"), **kw)
    assert future[0].field == "event_time" and "in the future" in future[0].reason and future[0].kind == "in_future"


def test_columns_follow_the_schema():
    cols = {c.name: c for c in contract.columns()}
    assert list(cols) == list(contract.schema()["properties"])
    assert cols["value"].type == "double" and cols["event_time"].type == "timestamp"
    assert cols["attributes"].type == "map<string,string>" and not cols["attributes"].required


def test_time_format_round_trips():
    t = datetime(2026, 11, 26, 8, 0, 1, 234567, tzinfo=timezone.utc)
    text = contract.format_time(t)
    assert text == "2026-11-26T08:00:01.234Z"
    assert contract.parse_time(text) == t.replace(microsecond=234000)
