"""Adversarial stream records for the agreement tests: every defect the contract and the gold rules
name, plus random mutations of valid events. Each record is the bytes as put on the stream.

Times are relative to `ARRIVAL`, the arrival time the tests give every record (never the wall
clock). The verdicts are never written here: tests compute them with each runtime.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

from vigia_core.contract import format_time

ARRIVAL = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
METRICS = {"temperature": ("celsius", -90, 150), "humidity": ("percent", 0, 100)}  # as in pipeline.yaml


def valid(i: int, rng: random.Random | None = None) -> dict:
    rng = rng or random.Random(i)
    metric = rng.choice(sorted(METRICS))
    unit, lo, hi = METRICS[metric]
    at = ARRIVAL - timedelta(seconds=rng.randint(0, 3600), milliseconds=rng.randint(0, 999))
    e = {"schema_version": 1, "event_id": f"adv-{i:05d}", "source": "simulator", "entity_id": f"sensor-{i % 17:03d}",
         "metric": metric, "value": round(rng.uniform(lo, hi), 3), "unit": unit, "event_time": format_time(at),
         "ingest_time": format_time(at + timedelta(seconds=1)), "attributes": {"site": "plant-a"}}
    if rng.random() < 0.3:
        del e["attributes"]
    return e


def _with(i: int, **changes) -> bytes:
    e = valid(i)
    for k, v in changes.items():
        if v is ...:
            e.pop(k, None)
        else:
            e[k] = v
    return json.dumps(e).encode()


def _raw(i: int, field: str, text: str) -> bytes:
    """A valid event whose `field` is written as the literal JSON text `text` (1e999, NaN, ...)."""
    e = valid(i)
    e[field] = "@@"
    return json.dumps(e).replace('"@@"', text).encode()


def _at(**delta) -> str:
    return format_time(ARRIVAL + timedelta(**delta))


def named_defects(start: int = 10_000) -> list[tuple[str, bytes]]:
    """(what, record) for every kind of defect listed in the issue and the contract."""
    n = iter(range(start, start + 1000))
    d = [
        ("value as a numeric string", _with(next(n), metric="temperature", unit="celsius", value="99")),
        ("temperature 500, outside the physical range", _with(next(n), metric="temperature", unit="celsius", value=500)),
        ("temperature at the range's upper edge (valid)", _with(next(n), metric="temperature", unit="celsius", value=150)),
        ("value 1e999 (infinite as a double)", _raw(next(n), "value", "1e999")),
        ("value -1e999", _raw(next(n), "value", "-1e999")),
        ("value NaN literal", _raw(next(n), "value", "NaN")),
        ("value Infinity literal", _raw(next(n), "value", "Infinity")),
        ("value a huge integer", _raw(next(n), "value", "1" + "0" * 400)),
        ("value true", _with(next(n), value=True)),
        ("value null", _with(next(n), value=None)),
        ("value an object", _with(next(n), value={"v": 1})),
        ("value an array", _with(next(n), value=[1])),
        ("value integer (valid)", _with(next(n), metric="humidity", unit="percent", value=50)),
        ("value exponent form (valid)", _raw(next(n), "value", "5e1")),
        ("schema_version 2", _with(next(n), schema_version=2)),
        ("schema_version '1'", _with(next(n), schema_version="1")),
        ("schema_version true", _with(next(n), schema_version=True)),
        ("schema_version 1.0 (valid)", _raw(next(n), "schema_version", "1.0")),
        ("empty event_id", _with(next(n), event_id="")),
        ("event_id of 129 characters", _with(next(n), event_id="x" * 129)),
        ("event_id of 128 characters (valid)", _with(next(n), event_id="é" * 128)),
        ("event_id a number", _with(next(n), event_id=17)),
        ("malformed source", _with(next(n), source="Bad Source!")),
        ("source with a trailing newline", _with(next(n), source="simulator\n")),
        ("source of 64 characters", _with(next(n), source="s" * 64)),
        ("empty entity_id", _with(next(n), entity_id="")),
        ("entity_id of 257 characters", _with(next(n), entity_id="e" * 257)),
        ("undeclared metric", _with(next(n), metric="colour")),
        ("metric not matching its pattern", _with(next(n), metric="Temp C")),
        ("unit not the metric's", _with(next(n), metric="temperature", unit="fahrenheit", value=20)),
        ("empty unit", _with(next(n), unit="")),
        ("unit of 33 characters", _with(next(n), unit="u" * 33)),
        ("far-future event (2099)", _with(next(n), event_time="2099-01-01T00:00:00.000Z")),
        ("event 301 s after arrival", _with(next(n), event_time=_at(seconds=301))),
        ("event 300 s after arrival (valid)", _with(next(n), event_time=_at(seconds=300))),
        ("event 31 days before arrival", _with(next(n), event_time=_at(days=-31))),
        ("event exactly 30 days before arrival (valid)", _with(next(n), event_time=_at(days=-30))),
        ("event_time 1970", _with(next(n), event_time="1970-01-01T00:00:00.000Z")),
        ("event_time 'yesterday'", _with(next(n), event_time="yesterday")),
        ("event_time with an offset", _with(next(n), event_time="2026-11-01T11:00:00+01:00")),
        ("event_time February 30", _with(next(n), event_time="2026-02-30T11:00:00.000Z")),
        ("event_time hour 24", _with(next(n), event_time="2026-11-01T24:00:00.000Z")),
        ("event_time leap second", _with(next(n), event_time="2026-10-31T23:59:60.000Z")),
        ("event_time year 0000", _with(next(n), event_time="0000-11-01T11:00:00.000Z")),
        ("event_time without fraction (valid)", _with(next(n), event_time="2026-11-01T11:00:00Z")),
        ("event_time with microseconds (valid)", _with(next(n), event_time="2026-11-01T11:00:00.123456Z")),
        ("event_time with 7 fraction digits", _with(next(n), event_time="2026-11-01T11:00:00.1234567Z")),
        ("event_time a number", _with(next(n), event_time=1_700_000_000)),
        ("ingest_time malformed", _with(next(n), ingest_time="2026-11-01 11:00:00")),
        ("extra top-level field", _with(next(n), colour="red")),
        ("attributes with a number", _with(next(n), attributes={"n": 1})),
        ("attributes value of 1025 characters", _with(next(n), attributes={"k": "v" * 1025})),
        ("attributes a list", _with(next(n), attributes=["a"])),
        ("attributes null", _with(next(n), attributes=None)),
        ("attributes empty (valid)", _with(next(n), attributes={})),
        ("oversize record: many attributes (valid)", _with(next(n), attributes={f"k{j}": "v" * 1000 for j in range(100)})),
        ("non-JSON bytes", b"\xff\xfe\x00garbage"),
        ("plain text", b"hello, world"),
        ("empty record", b""),
        ("truncated JSON", _with(next(n))[:-7]),
        ("JSON array", b"[1, 2, 3]"),
        ("JSON string", b'"an event"'),
        ("JSON null", b"null"),
        ("two JSON texts", _with(next(n)) + b" {}"),
        ("whitespace around the object (valid)", b"  " + _with(next(n)) + b" \t"),
        ("nested key named value is not the value (valid)", _with(next(n), attributes={"value": "x"})),
    ]
    for field in ("schema_version", "event_id", "source", "entity_id", "metric", "value", "unit",
                  "event_time", "ingest_time"):
        d.append((f"missing {field}", _with(next(n), **{field: ...})))
        d.append((f"{field} null", _with(next(n), **{field: None})))
    return d


POOL = [None, True, False, 0, -1, 1, 1.0, 99, 1e308, "", "99", "x", "simulator", "temperature", "celsius",
        "2026-11-01T11:00:00.000Z", {}, {"a": "b"}, [], [1], "Temp C", "x" * 300]


def mutations(count: int, seed: int = 11, start: int = 20_000) -> list[tuple[str, bytes]]:
    """Random mutations of valid events: a field replaced, removed or added, or the text cut."""
    rng = random.Random(seed)
    out = []
    for i in range(start, start + count):
        e = valid(i, rng)
        how = rng.random()
        if how < 0.25:
            out.append(("valid", json.dumps(e).encode()))
            continue
        field = rng.choice(sorted(e) + ["extra"])
        if how < 0.7:
            e[field] = rng.choice(POOL)
            what = f"{field} = {e[field]!r}"[:60]
        elif how < 0.85:
            e.pop(field, None)
            what = f"without {field}"
        else:
            text = json.dumps(e)
            cut = rng.randrange(len(text))
            out.append((f"cut at {cut}", text[:cut].encode()))
            continue
        out.append((what, json.dumps(e).encode()))
    return out


def records(count: int = 300) -> list[tuple[str, bytes]]:
    return named_defects() + mutations(count)
