"""Reference evaluator: the same rules in plain Python over a list of events.

This is how a Lambda consumer would evaluate the rules, written independently of the SQL compiler.
It states the alerts the Flink job must emit (tests, demo) and is the benchmark's baseline.

Semantics it shares with the job (and that the job's tests hold it to):
- Event time is `event_time`; windows are epoch-aligned: tumble [k*size, (k+1)*size), hop windows
  start every `slide_s` and last `size_s`; an event belongs to every window whose range holds it.
- Watermarks are per partition (a Kinesis shard; the job reads one shard per source subtask):
  after events up to time M were seen in a partition, its watermark is M - bound. An event is
  LATE when its time is <= the watermark of its own partition at arrival; late events are counted
  and stored, never aggregated (exactly one place for each event).
- A window fires once the watermark of every partition has passed its end: with `final_watermark`
  None all windows fire (a bounded input ends with the maximal watermark); otherwise only windows
  whose end <= final_watermark + 1 ms (the job's rule: watermark >= window_end - 1 ms).
- A fired window raises an alert when aggregate <comparison> threshold; then the per-rule cooldown
  (event time, see alerts.Cooldown) drops repeats for the same entity.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from flink_app.alerts import Alert, Cooldown
from flink_app.rules import EVENT_FIELDS
from vigia_core.config import Rule
from vigia_core.contract import parse_time

COMPARE = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


@dataclass
class Result:
    alerts: list[Alert] = field(default_factory=list)       # after cooldown: what is published
    suppressed: list[Alert] = field(default_factory=list)   # dropped by cooldown
    late: list[dict] = field(default_factory=list)
    invalid: list[dict] = field(default_factory=list)
    on_time: int = 0

    @property
    def alert_ids(self) -> set[str]:
        return {a.alert_id for a in self.alerts}


@dataclass
class _Agg:
    count: int = 0
    total: float = 0.0
    low: float = float("inf")
    high: float = float("-inf")

    def add(self, v: float) -> None:
        self.count += 1
        self.total += v
        self.low = min(self.low, v)
        self.high = max(self.high, v)

    def value(self, aggregate: str) -> float:
        return {"count": float(self.count), "sum": self.total, "avg": self.total / self.count,
                "min": self.low, "max": self.high}[aggregate]


def window_starts(r: Rule, ts_ms: int) -> list[int]:
    size = r.window.size_s * 1000
    slide = (r.window.slide_s or r.window.size_s) * 1000
    last = ts_ms - ts_ms % slide
    return [s for s in range(last - size + slide, last + 1, slide) if s <= ts_ms < s + size]


def _matches(r: Rule, e: dict) -> bool:
    return (e["metric"] == r.metric and (r.source is None or e.get("source") == r.source)
            and (r.entity_id is None or e["entity_id"] == r.entity_id))


def event_ms(e: dict) -> int | None:
    try:
        return round(parse_time(e["event_time"]).timestamp() * 1000)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def _valid(e: dict) -> bool:
    return (isinstance(e, dict) and all(e.get(k) is not None for k in EVENT_FIELDS)
            and isinstance(e["value"], (int, float)) and not isinstance(e["value"], bool))


def evaluate(events: Iterable[dict], rules: list[Rule], bound_s: float, *,
             partition_of: Callable[[dict], object] = lambda e: 0,
             late_ids: set[str] | None = None, final_watermark: datetime | None = None) -> Result:
    """Alerts, late and invalid events for `events` in arrival order (see module doc).

    `late_ids`, when given, replaces the watermark model's lateness decision (e.g. with the set the
    job reported), so the window logic can be checked on its own."""
    res = Result()
    bound = round(bound_s * 1000)
    seen_max: dict[object, int] = {}
    windows: dict[tuple[str, str, int], _Agg] = defaultdict(_Agg)
    by_name = {r.name: r for r in rules}
    for e in events:
        ts = event_ms(e) if isinstance(e, dict) else None
        if ts is None or not _valid(e):
            res.invalid.append(e)
            continue
        part = partition_of(e)
        prev = seen_max.get(part)
        late = (e["event_id"] in late_ids) if late_ids is not None else (prev is not None and ts <= prev - bound)
        seen_max[part] = ts if prev is None else max(prev, ts)
        if late:
            res.late.append(e)
            continue
        res.on_time += 1
        for r in rules:
            if _matches(r, e):
                for start in window_starts(r, ts):
                    windows[(r.name, e["entity_id"], start)].add(float(e["value"]))
    limit = None if final_watermark is None else round(final_watermark.timestamp() * 1000) + 1
    fired = []
    for (name, entity, start), agg in windows.items():
        r = by_name[name]
        end = start + r.window.size_s * 1000
        if limit is not None and end > limit:
            continue
        observed = agg.value(r.aggregate)
        if COMPARE[r.comparison](observed, r.threshold):
            fired.append(Alert.of(r, entity, _dt(start), _dt(end), observed, agg.count))
    cooldown = Cooldown({r.name: r.cooldown_s for r in rules})
    for a in sorted(fired, key=lambda a: (a.rule, a.entity_id, a.window_start)):
        (res.alerts if cooldown.admit(a) else res.suppressed).append(a)
    return res


def _dt(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=ms)


def kinesis_partitioner(shards: list[dict]) -> Callable[[dict], str]:
    """Which shard a record with partition key entity_id lands in: MD5 of the key as a 128-bit
    integer, looked up in the shards' hash key ranges (how Kinesis maps partition keys)."""
    ranges = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]), s["ShardId"])
              for s in shards if "EndingSequenceNumber" not in s.get("SequenceNumberRange", {})]

    def shard_of(e: dict) -> str:
        h = int(hashlib.md5(str(e["entity_id"]).encode()).hexdigest(), 16)
        return next(sid for lo, hi, sid in ranges if lo <= h <= hi)
    return shard_of
