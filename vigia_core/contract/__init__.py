"""The event contract: the versioned JSON Schema of the envelope and the one validation function.

`validate(event)` returns every problem as a `FieldError` (which field, why); an empty list means
the event is valid. `FIELDS` lists the envelope's columns with logical types, from which the Flink
DDL and the Spark schema are derived, so the three stages can never disagree.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import cache
from importlib import resources

import re

from jsonschema import Draft202012Validator, ValidationError, validators

SCHEMA_VERSION = 1
SCHEMA_FILE = f"event.v{SCHEMA_VERSION}.schema.json"


@dataclass(frozen=True)
class FieldError:
    """One problem: which field, why (may quote a short prefix of the value), and `kind`, a short
    stable code of the rule broken (e.g. `type`, `required`, `too_old`) that groups the same
    problem across records whatever the offending value."""
    field: str
    reason: str
    kind: str = "invalid"

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # "string" | "double" | "int" | "map<string,string>" | "timestamp"
    required: bool


@cache
def schema() -> dict:
    return json.loads(resources.files(__package__).joinpath(SCHEMA_FILE).read_text())


def _ecma_pattern(validator, pattern, instance, schema):
    """`pattern` as JSON Schema defines it (ECMA 262): `$` is the end of the string and `\\d` is
    [0-9]; Python's `re.search` would also accept a trailing newline and non-ASCII digits."""
    if validator.is_type(instance, "string") and not re.search(pattern.removesuffix("$") + r"\Z", instance, re.ASCII):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator() -> Draft202012Validator:
    cls = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
    return cls(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _column_type(name: str, prop: dict) -> str:
    if name in ("event_time", "ingest_time"):
        return "timestamp"  # carried as ISO-8601 text, typed as a timestamp downstream
    if "const" in prop:
        return "int"
    return {"string": "string", "number": "double", "integer": "int", "object": "map<string,string>"}[prop["type"]]


@cache
def columns() -> tuple[Column, ...]:
    """The envelope's columns in schema order, with logical types."""
    s = schema()
    return tuple(Column(n, _column_type(n, p), n in s["required"]) for n, p in s["properties"].items())


def format_time(dt: datetime) -> str:
    """ISO-8601 UTC with millisecond precision and a Z suffix, the contract's time format."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _kind(validator: str) -> str:
    """JSON Schema keyword -> reason code: minLength -> min_length, additionalProperties -> additional_properties."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in validator)


def _reason(err) -> tuple[str, str, str]:
    path = ".".join(str(p) for p in err.absolute_path)
    kind = _kind(err.validator)
    if err.validator == "required":
        missing = err.message.split("'")[1]
        return (f"{path}.{missing}" if path else missing), "is required but missing", kind
    if err.validator == "additionalProperties" and not path:
        return "(envelope)", err.message[:200], kind
    got = json.dumps(err.instance, default=str)
    if len(got) > 60:
        got = got[:57] + "..."
    reasons = {
        "type": f"must be of type {err.validator_value}, got {got}",
        "pattern": f"does not match the required format, got {got}",
        "format": f"is not a valid {err.validator_value}, got {got}",
        "const": f"must be {err.validator_value!r}, got {got}",
    }
    return path or "(envelope)", reasons.get(err.validator, err.message[:200]), kind


def validate(event: object, *, now: datetime | None = None, max_age: timedelta | None = None,
             max_future_skew: timedelta | None = None) -> list[FieldError]:
    """Every problem with `event`, in field order; [] when it conforms to the contract.

    With `now`, `event_time` is also checked for absurd values: older than `max_age` or more
    than `max_future_skew` ahead of `now`.
    """
    if not isinstance(event, dict):
        return [FieldError("(envelope)", f"must be a JSON object, got {type(event).__name__}", "type")]
    errors: list[FieldError] = []
    for e in _validator().iter_errors(event):
        err = FieldError(*_reason(e))
        if err.field not in {x.field for x in errors}:  # one reason per field is clearer than several
            errors.append(err)
    bad = {e.field for e in errors}
    value = event.get("value")
    if "value" not in bad and isinstance(value, float) and not math.isfinite(value):
        errors.append(FieldError("value", f"must be finite, got {value}", "finite"))
    if now is not None and "event_time" in event and "event_time" not in bad:
        t = parse_time(event["event_time"])
        if max_age is not None and t < now - max_age:
            errors.append(FieldError("event_time", f"{event['event_time']} is older than {max_age.days} days",
                                     "too_old"))
        if max_future_skew is not None and t > now + max_future_skew:
            errors.append(FieldError("event_time", f"{event['event_time']} is in the future (now {format_time(now)})",
                                     "in_future"))
    order = [c.name for c in columns()]
    return sorted(errors, key=lambda e: order.index(e.field.split(".")[0]) if e.field.split(".")[0] in order else -1)
