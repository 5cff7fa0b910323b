"""The contract's checks as data (vigia_core.contract.checks): derived from the schema, the reason of each
defect, and the same verdict as `vigia_core.contract.validate` plus the gold rules on adversarial input."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest

from tests.support import adversarial as adv
from vigia_core import config, contract
from vigia_core.contract import checks

P = config.load()
LIMITS = checks.Limits.of(P)


def test_checks_follow_the_schema():
    s = contract.schema()
    cs = checks.checks(LIMITS)
    assert len({c.code for c in cs}) == len(cs), "reason codes must be unique"
    assert {c.field for c in cs if c.test == "required"} == set(s["required"])
    assert next(c for c in cs if c.test == "additional_properties").arg == tuple(s["properties"])
    for name, prop in s["properties"].items():
        tests = {c.test: c.arg for c in cs if c.field == name}
        assert tests.get("type", "number" if "const" in prop else None) == prop.get("type", "number")
        assert tests.get("pattern") == (prop["pattern"][1:-1] if "pattern" in prop else None)
        assert tests.get("max_length") == prop.get("maxLength")
    assert all(len(c.reason) < 100 for c in cs)
    assert [c.code for c in cs][:3] == ["record.json", "record.object", "record.additional_properties"]


def fail_code(record: bytes) -> str | None:
    c = checks.first_failure(record, LIMITS, adv.ARRIVAL)
    return c.code if c else None


@pytest.mark.parametrize("what,code", [
    ("value as a numeric string", "value.type"),
    ("temperature 500, outside the physical range", "value.range"),
    ("temperature at the range's upper edge (valid)", None),
    ("value 1e999 (infinite as a double)", "value.finite"),
    ("value NaN literal", "record.json"),
    ("value a huge integer", "value.finite"),
    ("value true", "value.type"),
    ("schema_version 2", "schema_version.const"),
    ("schema_version 1.0 (valid)", None),
    ("empty event_id", "event_id.min_length"),
    ("event_id of 128 characters (valid)", None),
    ("malformed source", "source.pattern"),
    ("source with a trailing newline", "source.pattern"),
    ("undeclared metric", "metric.declared"),
    ("unit not the metric's", "unit.unit"),
    ("far-future event (2099)", "event_time.in_future"),
    ("event 300 s after arrival (valid)", None),
    ("event 31 days before arrival", "event_time.too_old"),
    ("event_time February 30", "event_time.format"),
    ("event_time year 0000", "event_time.format"),
    ("event_time with microseconds (valid)", None),
    ("extra top-level field", "record.additional_properties"),
    ("attributes with a number", "attributes.values_type"),
    ("attributes value of 1025 characters", "attributes.values_max_length"),
    ("non-JSON bytes", "record.json"),
    ("JSON array", "record.object"),
    ("two JSON texts", "record.json"),
    ("missing value", "value.required"),
    ("value null", "value.type"),
])
def test_each_defect_has_its_reason_code(what, code):
    record = dict(adv.named_defects())[what]
    assert fail_code(record) == code


def gold_verdict(record: bytes) -> bool:
    """Valid the way the batch path decides it today: the contract's `validate` on the parsed JSON,
    then the gold rules written independently of the checks module."""
    try:
        event = json.loads(record)
    except ValueError:
        return False
    if contract.validate(event, now=adv.ARRIVAL, max_age=timedelta(seconds=LIMITS.max_age_s),
                         max_future_skew=timedelta(seconds=LIMITS.max_future_skew_s)):
        return False
    spec = P.metrics.get(event["metric"])
    try:
        in_range = spec is not None and spec.min <= float(event["value"]) <= spec.max
    except OverflowError:
        in_range = False
    return in_range and event["unit"] == spec.unit and math.isfinite(float(event["value"]))


def test_same_verdict_as_validate_and_the_gold_rules():
    records = adv.records(400)
    valid = [what for what, r in records if fail_code(r) is None]
    assert 100 < len(valid) < len(records) - 150, "the set must hold both verdicts in numbers"
    disagree = [(what, fail_code(r)) for what, r in records if (fail_code(r) is None) != gold_verdict(r)]
    assert disagree == []


def test_gold_rules_need_the_arrival_time():
    with pytest.raises(ValueError, match="arrival"):
        checks.first_failure(json.dumps(adv.valid(1)), LIMITS)
    assert checks.first_failure(json.dumps(adv.valid(1))) is None  # the contract alone


def test_event_ms_drops_sub_millisecond_digits():
    assert checks.event_ms("1970-01-01T00:00:01.2349Z") == 1234
    assert checks.event_ms("1970-01-01T00:00:01Z") == 1000
    assert checks.event_ms("1970-01-01T00:00:01.5Z") == 1500
