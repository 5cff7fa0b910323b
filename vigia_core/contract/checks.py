"""Every check an event must pass to reach gold (and an alert rule), stated once, as data.

The contract checks are derived from `event.v1.schema.json`; the gold rules come from pipeline.yaml
(`metrics`, `producer.max_event_age_days`, `producer.max_future_skew_s`). Each runtime compiles
the same list to its own language: Flink SQL (flink_app/validation.py), Spark column expressions
(glue/), Python (`first_failure` below). An event is valid when no check fails; otherwise its
reason is the FIRST failing check, in list order. Each check may assume that every earlier check
passed (a compiler emits them as one `CASE WHEN NOT c1 THEN code1 WHEN NOT c2 ...`). A check of a
field is skipped while the field is absent (an absent required field already failed `required`).

API
---
`Check(code, field, test, arg, reason)` (frozen):
  code   short stable reason code `<field>.<test>`, e.g. `value.type`, `record.json`; `test`
         is the `kind` of vigia_core.contract.FieldError where both name the same rule
  field  a top-level envelope field, or `record` for the whole record
  test   what is checked; compilers switch on it:
    contract (no inputs but the record):
      json        the bytes are one UTF-8 JSON text (RFC 8259: no NaN/Infinity literals) without
                  U+FFFD (the replacement character: what a decoder leaves of bytes not UTF-8)
      object      that text is a JSON object
      additional_properties  arg = allowed top-level names (tuple): no other key at the top level
      required    the field is present (a JSON null is present, and then fails `type`)
      type        arg = "string" | "number" | "object": the JSON type as written, no coercion
                  ("99" is a string, true is not a number)
      const       arg = a number: a JSON number equal to it (1 and 1.0 both equal 1)
      finite      the number read as an IEEE 754 double is finite (1e999 is not)
      min_length, max_length   arg = int: length of the string in Unicode code points
      pattern     arg = regex body: it matches the WHOLE string (anchors are the compiler's:
                  no trailing newline), character classes are ASCII (`\\d` = [0-9])
      format      (date-time) the text (it passed its pattern) is a real UTC instant: year >= 1, month,
                  day of that month, hour < 24, minute < 60, second < 60 (no leap second)
      values_type       arg = "string": every value of the object is a JSON string
      values_max_length arg = int: every value has at most that many code points
    gold rules (inputs: `Limits` and the record's arrival time on the stream):
      declared    metric is a key of `Limits.metrics`
      unit        unit equals the metric's declared unit
      range       metric's min <= value <= metric's max
      too_old     fails when event_time < arrival - max_age_s       (both at millisecond
      in_future   fails when event_time > arrival + max_future_skew_s  precision: sub-ms digits dropped)
  arg    the test's parameter (above), None when it has none
  reason bounded human text (< 100 characters), the same in every runtime
`Limits(metrics, max_age_s, max_future_skew_s)`; `Limits.of(pipeline)` reads them from pipeline.yaml.
`contract_checks()` the contract's checks, in order; `gold_checks(limits)` the gold rules;
`checks(limits)` both (contract first). `TIME_FIELDS` fields whose text is an instant.
`first_failure(record, limits=None, arrival=None) -> Check | None`: the Python evaluation;
`record` is the bytes (or text) as read from the stream; gold rules only with `limits` (then
`arrival`, an aware datetime, is required).
`verdict(record, limits=None, arrival=None) -> (event | None, Check | None)`: the same, with the
parsed event (dict) when the record is valid, so a consumer parses each record once.
`event_ms(text)` an instant's text as epoch milliseconds (sub-millisecond digits dropped).
`as_json(limits)` the checks and the declared metrics as JSON, as the JVM runtime reads them
(`io.vigia.checks.RecordChecks` in jvm/checks, called by the Flink job and the Glue job alike).

This module imports nothing of the project except `vigia_core.config` types.
"""

from __future__ import annotations

import calendar
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from vigia_core.config import MetricSpec

SCHEMA_FILE = "event.v1.schema.json"
TIME_FIELDS = ("event_time", "ingest_time")
JSON_TYPES = ("string", "number", "object")


@dataclass(frozen=True)
class Check:
    code: str
    field: str
    test: str
    arg: Any
    reason: str

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}"


@dataclass(frozen=True)
class Limits:
    metrics: dict[str, MetricSpec]
    max_age_s: int
    max_future_skew_s: int

    @classmethod
    def of(cls, pipeline) -> "Limits":
        return cls(dict(pipeline.metrics), pipeline.producer.max_event_age_days * 86_400,
                   pipeline.producer.max_future_skew_s)


def _check(field: str, test: str, arg: Any, reason: str) -> Check:
    return Check(f"{field}.{test}", field, test, arg, reason)


def _body(pattern: str) -> str:
    """The schema's anchored pattern as a whole-string regex body."""
    if not (pattern.startswith("^") and pattern.endswith("$")):
        raise ValueError(f"contract patterns must be anchored ^...$, got {pattern!r}")
    return pattern[1:-1]


@cache
def contract_checks() -> tuple[Check, ...]:
    s = json.loads(resources.files("vigia_core.contract").joinpath(SCHEMA_FILE).read_text())
    out = [_check("record", "json", None, "not a UTF-8 JSON text"),
           _check("record", "object", None, "not a JSON object")]
    if s.get("additionalProperties") is False:
        out.append(_check("record", "additional_properties", tuple(s["properties"]),
                          "has a top-level field the contract does not define"))
    for name, prop in s["properties"].items():
        if name in s["required"]:
            out.append(_check(name, "required", None, "is required but missing"))
        if "const" in prop:
            out.append(_check(name, "const", prop["const"], f"must be the number {prop['const']}"))
            continue
        typ = prop["type"]
        if typ not in JSON_TYPES:
            raise ValueError(f"{name}: no compiler handles JSON type {typ!r}")
        out.append(_check(name, "type", typ, f"must be a JSON {typ}"))
        if typ == "number":
            out.append(_check(name, "finite", None, "must be a finite number"))
        if "minLength" in prop:
            out.append(_check(name, "min_length", prop["minLength"], f"must have at least {prop['minLength']} characters"))
        if "maxLength" in prop:
            out.append(_check(name, "max_length", prop["maxLength"], f"must have at most {prop['maxLength']} characters"))
        if "pattern" in prop:
            out.append(_check(name, "pattern", _body(prop["pattern"]), "does not match the required format"))
        if prop.get("format") == "date-time":
            out.append(_check(name, "format", None, "is not a real date and time"))
        values = prop.get("additionalProperties")
        if isinstance(values, dict):
            out.append(_check(name, "values_type", values["type"], f"values must be JSON {values['type']}s"))
            if "maxLength" in values:
                out.append(_check(name, "values_max_length", values["maxLength"],
                                  f"values must have at most {values['maxLength']} characters"))
    return tuple(out)


def gold_checks(limits: Limits) -> tuple[Check, ...]:
    return (_check("metric", "declared", tuple(sorted(limits.metrics)), "is not declared in the pipeline's metrics"),
            _check("unit", "unit", None, "is not the declared unit of the metric"),
            _check("value", "range", None, "is outside the physical range of the metric"),
            _check("event_time", "too_old", limits.max_age_s,
                   f"is more than {limits.max_age_s} s before the record's arrival"),
            _check("event_time", "in_future", limits.max_future_skew_s,
                   f"is more than {limits.max_future_skew_s} s after the record's arrival"))


def checks(limits: Limits | None = None) -> tuple[Check, ...]:
    return contract_checks() + (gold_checks(limits) if limits is not None else ())


def as_json(limits: Limits) -> str:
    """The checks in list order and the declared metrics, as the JVM runtime reads them."""
    return json.dumps({
        "checks": [{"code": c.code, "field": c.field, "test": c.test, "arg": c.arg} for c in checks(limits)],
        "metrics": {m: {"unit": s.unit, "min": s.min, "max": s.max} for m, s in sorted(limits.metrics.items())},
    }, separators=(",", ":"))


# --- the Python evaluation ---------------------------------------------------------------------

class _NotJson(ValueError):
    pass


def _no_constants(name: str):
    raise _NotJson(f"{name} is not JSON")


def _parse(record: bytes | str) -> Any:
    text = record.decode("utf-8") if isinstance(record, (bytes, bytearray)) else record
    if "\ufffd" in text:
        raise _NotJson("U+FFFD: damaged text")
    return json.loads(text, parse_constant=_no_constants)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _as_double(v: Any) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf


_PY_TYPES = {"string": lambda v: isinstance(v, str), "number": _is_number, "object": lambda v: isinstance(v, dict)}


def _civil(text: str) -> tuple[int, ...]:
    """Year, month, day, hour, minute, second of an instant's text that matched its pattern (the
    digits are at fixed places: a slice per field, where strptime cost a third of a check)."""
    return int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]), int(text[17:19])


def event_ms(text: str) -> int:
    """Epoch milliseconds of an instant's text that passed the `format` check."""
    frac = text[20:-1] if len(text) > 20 else ""
    return calendar.timegm(_civil(text)) * 1000 + int((frac + "000")[:3])


def _real_instant(text: str) -> bool:
    try:
        datetime(*_civil(text))  # the same ranges strptime enforces: year >= 1, day of the month, ...
        return True
    except ValueError:
        return False


def _passes(c: Check, e: dict, limits: Limits | None, arrival_ms: int | None) -> bool:
    v = e.get(c.field)
    t = c.test
    if t == "type":
        return _PY_TYPES[c.arg](v)
    if t == "const":
        return _is_number(v) and _as_double(v) == c.arg
    if t == "finite":
        return math.isfinite(_as_double(v))
    if t == "min_length":
        return len(v) >= c.arg
    if t == "max_length":
        return len(v) <= c.arg
    if t == "pattern":
        return re.fullmatch(c.arg, v, re.ASCII) is not None
    if t == "format":
        return _real_instant(v)
    if t == "values_type":
        return all(_PY_TYPES[c.arg](x) for x in v.values())
    if t == "values_max_length":
        return all(len(x) <= c.arg for x in v.values())
    spec = limits.metrics.get(e["metric"]) if limits else None
    if t == "declared":
        return spec is not None
    if t == "unit":
        return v == spec.unit
    if t == "range":
        return spec.min <= _as_double(v) <= spec.max
    if t == "too_old":
        return event_ms(v) >= arrival_ms - c.arg * 1000
    if t == "in_future":
        return event_ms(v) <= arrival_ms + c.arg * 1000
    raise ValueError(f"unknown test {t!r} of check {c.code}")


def first_failure(record: bytes | str, limits: Limits | None = None,
                  arrival: datetime | None = None) -> Check | None:
    """The first check `record` fails, or None when it is valid (contract, and gold with `limits`)."""
    return verdict(record, limits, arrival)[1]


def verdict(record: bytes | str, limits: Limits | None = None,
            arrival: datetime | None = None) -> tuple[dict | None, Check | None]:
    """(the parsed event, None) when `record` is valid, else (None, the first check it fails)."""
    if limits is not None and arrival is None:
        raise ValueError("the gold rules need the record's arrival time")
    arrival_ms = None if arrival is None else round(arrival.timestamp() * 1000)
    cs = checks(limits)
    try:
        event = _parse(record)
    except (ValueError, RecursionError):  # UnicodeDecodeError and _NotJson are ValueErrors
        return None, cs[0]
    if not isinstance(event, dict):
        return None, cs[1]
    for c in cs[2:]:
        if c.test == "additional_properties":
            if not set(event) <= set(c.arg):
                return None, c
        elif c.field not in event:
            if c.test == "required":
                return None, c
        elif c.test != "required" and not _passes(c, event, limits, arrival_ms):
            return None, c
    return event, None
