"""Reference evaluator: the same rules in plain Python over a list of events.

This is how a Lambda consumer would evaluate the rules, written independently of the SQL compiler.
It states the alerts the Flink job must emit (tests, demo) and is the benchmark's baseline.
`admit` is what such a consumer (and the job) does before the rules: the contract and gold checks
(their Python compile, vigia_core.contract.checks) and dedup by event_id.

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
- Rules decided from history (for, resolve, change, anomaly) see every fired window of their
  (rule, entity) in window order; absence rules see, per step window, its first and last event
  time. What follows from those rows is flink_app/lifecycle.py, shared with the job.
- Absence deadlines fire once the final watermark reached them (`due_ms`); a bounded input (no
  final watermark) or a stream that then stays `quiet` fires every deadline still pending.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

from flink_app import lifecycle
from flink_app.alerts import Alert
from flink_app.rules import EVENT_FIELDS
from vigia_core.config import Rule
from vigia_core.contract import checks, parse_time

COMPARE = lifecycle.COMPARE


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
    first_ms: int | None = None   # event time of the window's earliest and latest event
    last_ms: int | None = None

    def add(self, v: float, ts: int) -> None:
        self.count += 1
        self.total += v
        self.low = min(self.low, v)
        self.high = max(self.high, v)
        self.first_ms = ts if self.first_ms is None else min(self.first_ms, ts)
        self.last_ms = ts if self.last_ms is None else max(self.last_ms, ts)

    def value(self, aggregate: str) -> float:
        return {"count": float(self.count), "sum": self.total, "avg": self.total / self.count,
                "min": self.low, "max": self.high}[aggregate]


@dataclass
class Admitted:
    events: list[dict] = field(default_factory=list)  # valid, first copy of each event_id, in order
    invalid: int = 0
    duplicates: int = 0


def admit(records: Iterable[tuple[bytes, datetime]], limits: checks.Limits) -> Admitted:
    """The events among `records` (bytes as read from the stream, and their arrival time) that may
    reach a rule: those passing the contract and the gold rules, the first copy of each event_id
    (the job counts the others as duplicates)."""
    out, seen = Admitted(), set()
    for data, arrival in records:
        event, failed = checks.verdict(data, limits, arrival)
        if failed is not None:
            out.invalid += 1
        elif event["event_id"] in seen:
            out.duplicates += 1
        else:
            seen.add(event["event_id"])
            out.events.append(event)
    return out


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
             late_ids: set[str] | None = None, final_watermark: datetime | None = None,
             quiet: bool = False) -> Result:
    """Alerts, late and invalid events for `events` in arrival order (see module doc).

    `late_ids`, when given, replaces the watermark model's lateness decision (e.g. with the set the
    job reported), so the window logic can be checked on its own. `quiet`: after the events the
    stream sends nothing for longer than every absence rule's for_s (the job's wall-clock path)."""
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
                    windows[(r.name, e["entity_id"], start)].add(float(e["value"]), ts)
    limit = None if final_watermark is None else round(final_watermark.timestamp() * 1000) + 1
    states: dict[tuple[str, str], dict] = defaultdict(dict)
    last_fired: dict[tuple[str, str], float] = {}
    for (name, entity, start), agg in sorted(windows.items()):
        r = by_name[name]
        end = start + r.window.size_s * 1000
        if limit is not None and end > limit:
            continue
        key = (name, entity)
        remember = (lambda k: lambda s: last_fired.__setitem__(k, s))(key)
        if r.kind == "absence":
            out = lifecycle.on_report(r, states[key], entity, agg.first_ms, agg.last_ms, agg.count,
                                      last_fired.get(key), remember)
        else:
            out = lifecycle.on_window(r, states[key], entity, start, end, agg.value(r.aggregate), agg.count,
                                      last_fired.get(key), remember)
        _take(res, out)
    for (name, entity), st in sorted(states.items()):  # the clock after the last window
        r = by_name[name]
        if r.kind != "absence":
            continue
        key = (name, entity)
        remember = (lambda k: lambda s: last_fired.__setitem__(k, s))(key)
        now = _END_OF_TIME if limit is None else limit - 1
        _take(res, lifecycle.on_clock(r, st, entity, now, last_fired.get(key), remember))
        if quiet:
            _take(res, lifecycle.on_quiet(r, st, entity, last_fired.get(key), remember))
    return res


_END_OF_TIME = 2 ** 62  # a bounded input ends with the maximal watermark: every timer fires


def _take(res: Result, out: lifecycle.Decisions) -> None:
    res.alerts += out.alerts
    res.suppressed += out.suppressed


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
