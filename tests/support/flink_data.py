"""Hand-built event timelines for the Flink job's tests: every rule shape, out-of-order, late, invalid.

Events are listed in ARRIVAL order; `event_time` may run behind arrival. The expected results are
never written here: tests compute them with the reference evaluator (flink_app.reference).
"""

from __future__ import annotations

import json
import os
import random
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from vigia_core.config import Rule
from vigia_core.contract import format_time

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)
BOUND_S = 5

RULES = [Rule.model_validate(r) for r in [
    {"name": "hot_max", "metric": "temperature", "window": {"type": "tumble", "size_s": 60},
     "aggregate": "max", "comparison": ">", "threshold": 90, "severity": "critical", "cooldown_s": 120},
    # Same metric and window as hot_max: one aggregated row breaks both rules (one alert each).
    {"name": "hot_warn", "metric": "temperature", "window": {"type": "tumble", "size_s": 60},
     "aggregate": "max", "comparison": ">", "threshold": 80, "severity": "warning"},
    {"name": "low_min", "metric": "pressure", "window": {"type": "tumble", "size_s": 60},
     "aggregate": "min", "comparison": "<", "threshold": 950, "severity": "critical"},
    {"name": "shaky_avg", "metric": "vibration", "window": {"type": "hop", "size_s": 60, "slide_s": 30},
     "aggregate": "avg", "comparison": ">", "threshold": 40, "severity": "warning"},
    {"name": "wet_sum", "metric": "humidity", "window": {"type": "hop", "size_s": 40, "slide_s": 20},
     "aggregate": "sum", "comparison": ">=", "threshold": 1200, "severity": "info"},
    {"name": "busy_count", "metric": "humidity", "entity_id": "h-1", "window": {"type": "tumble", "size_s": 30},
     "aggregate": "count", "comparison": ">=", "threshold": 20, "severity": "warning"},
    {"name": "other_source", "metric": "temperature", "source": "other", "window": {"type": "tumble", "size_s": 60},
     "aggregate": "max", "comparison": ">=", "threshold": 50, "severity": "info"},
]]

NORMAL = {"temperature": (18, 30), "pressure": (990, 1030), "vibration": (2, 15), "humidity": (30, 70)}
ENTITIES = {"t-0": "temperature", "t-1": "temperature", "p-0": "pressure", "v-0": "vibration",
            "h-0": "humidity", "h-1": "humidity"}


UNITS = {"temperature": "celsius", "pressure": "hpa", "vibration": "mm_s", "humidity": "percent"}  # pipeline.yaml
# Arrival time of every record (the files' modification time): the gold rules accept event times
# up to 30 days before it and 300 s after it; the timelines span T0 .. T0 + a few minutes.
ARRIVAL = T0 + timedelta(minutes=10)


def envelope(i: int, entity: str, metric: str, value, at: datetime, source: str = "simulator") -> dict:
    return {"schema_version": 1, "event_id": f"ev-{i:05d}", "source": source, "entity_id": entity,
            "metric": metric, "value": value, "unit": UNITS[metric], "event_time": format_time(at),
            "ingest_time": format_time(at), "attributes": {"site": "plant-a"}}


def timeline(minutes: int = 6, seed: int = 7) -> tuple[list[dict], dict[str, set[str]]]:
    """Events in arrival order, and the ids of the deliberately out-of-order/late/invalid ones."""
    rng = random.Random(seed)
    events: list[dict] = []
    marks: dict[str, set[str]] = {"out_of_order": set(), "late": set(), "invalid": set()}
    for tick in range(minutes * 30):                       # one reading per entity every 2 s
        for k, (entity, metric) in enumerate(ENTITIES.items()):
            at = T0 + timedelta(seconds=tick * 2 + k * 0.25)
            lo, hi = NORMAL[metric]
            value = round(rng.uniform(lo, hi), 3)
            minute = tick // 30
            if entity == "t-0" and minute in (1, 2, 4) and tick % 30 == 10:
                value = 95.0 + minute                      # spikes 60 s apart: the cooldown drops one
            if entity == "p-0" and minute == 3:
                value = round(rng.uniform(900, 940), 3)    # a drop for a whole minute
            if entity == "v-0" and 2 * 30 + 15 <= tick < 4 * 30:
                value = round(rng.uniform(50, 70), 3)      # sustained vibration, half-window aligned
            if entity == "h-0" and minute == 2:
                value = round(rng.uniform(85, 95), 3)      # sum over the 40 s hop windows
            events.append(envelope(len(events), entity, metric, value, at))
            ev = events[-1]
            draw = rng.random()
            if draw < 0.04:                                # 1..3 s back: within the 5 s bound
                ev["event_time"] = format_time(at - timedelta(seconds=rng.uniform(1, 3)))
                marks["out_of_order"].add(ev["event_id"])
            elif draw < 0.05 and tick > 45:                # 40..80 s back: late
                ev["event_time"] = format_time(at - timedelta(seconds=rng.uniform(40, 80)))
                marks["late"].add(ev["event_id"])
        if 150 <= tick < 165:                              # h-1 bursts: 3 readings per tick for 30 s
            for _ in range(2):
                events.append(envelope(len(events), "h-1", "humidity", 50.0, T0 + timedelta(seconds=tick * 2 + 1.6)))
        if tick == 75:                                     # another source's reading, for the source filter
            events.append(envelope(len(events), "t-1", "temperature", 55.0, T0 + timedelta(seconds=151), "other"))
    # A late spike that would raise a hot_max alert if it were (wrongly) aggregated.
    late_spike = envelope(len(events), "t-1", "temperature", 99.0, T0 + timedelta(seconds=30))
    events.insert(len(events) // 2, late_spike)
    marks["late"].add(late_spike["event_id"])
    # Invalid rows: a value that is not a number, a missing event_time, a missing source.
    bad1 = envelope(90_001, "t-0", "temperature", "n/a", T0 + timedelta(seconds=100))
    bad2 = envelope(90_002, "t-0", "temperature", 20.0, T0 + timedelta(seconds=100))
    del bad2["event_time"]
    bad3 = envelope(90_003, "t-0", "temperature", 99.0, T0 + timedelta(seconds=100))
    del bad3["source"]
    events.insert(200, bad1)
    events.insert(400, bad2)
    events.insert(500, bad3)
    marks["invalid"] |= {bad1["event_id"], bad2["event_id"], bad3["event_id"]}
    return events, marks


def write_jsonl(events: list[dict | bytes], path: Path, arrival: datetime = ARRIVAL) -> Path:
    """One record per line (bytes as they are); the file's modification time is the records' arrival."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join((e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n" for e in events))
    os.utime(path, (arrival.timestamp(), arrival.timestamp()))
    return path


def collect(p, s, rules, until=None, timeout_s: float = 240) -> list[dict]:
    """Run the job on the mini-cluster and collect its tagged output; for an unbounded source stop
    once `until(rows)`."""
    from pyflink.datastream import StreamExecutionEnvironment

    from flink_app import job

    env = StreamExecutionEnvironment.get_execution_environment(job.configure(p, s))
    rows: list[dict] = []
    deadline = time.monotonic() + timeout_s
    with job.build(env, p, s, rules=rules).execute_and_collect() as results:
        for line in results:
            rows.append(json.loads(line))
            if until is not None and until(rows):
                break
            assert time.monotonic() < deadline, f"no result within {timeout_s}s; got {len(rows)} rows"
    return rows
