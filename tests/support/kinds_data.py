"""A timeline that exercises every rule kind and the alert lifecycle (issue #14).

Events in ARRIVAL order, a few out of order within the bound. The expected alerts are never
written here: the tests compute them with the reference evaluator (flink_app.reference).
"""

from __future__ import annotations

import random
from datetime import timedelta

from flink_app.lifecycle import needs_state
from tests.support.flink_data import BOUND_S, T0, envelope
from vigia_core import config
from vigia_core.config import Rule
from vigia_core.contract import format_time

__all__ = ["BOUND_S", "KIND_RULES", "QUIET_RULES", "timeline"]

KIND_RULES = [Rule.model_validate(r) for r in [
    # M-of-N with resolve: 2 of the last 3 one-minute windows above 90
    {"name": "hot_2of3", "metric": "temperature", "entity_id": "t-0", "window": {"type": "tumble", "size_s": 60},
     "aggregate": "max", "comparison": ">", "threshold": 90, "severity": "critical",
     "for": {"windows": 3, "breaching": 2}, "resolve": True},
    # the plain threshold kind on the same windows, with resolve and a cooldown (flapping)
    {"name": "hot_flap", "metric": "temperature", "entity_id": "t-0", "window": {"type": "tumble", "size_s": 60},
     "aggregate": "max", "comparison": ">", "threshold": 90, "severity": "warning", "resolve": True,
     "cooldown_s": 180},
    # change: a step down of the mean pressure between consecutive minutes
    {"name": "pressure_step", "kind": "change", "change": "difference", "metric": "pressure",
     "window": {"type": "tumble", "size_s": 60}, "aggregate": "avg", "comparison": "<", "threshold": -30,
     "severity": "warning", "resolve": True},
    # change as a rate per second (t-1 climbs 20 degrees in a minute)
    {"name": "warming_fast", "kind": "change", "change": "rate", "metric": "temperature", "entity_id": "t-1",
     "window": {"type": "tumble", "size_s": 60}, "aggregate": "avg", "comparison": ">", "threshold": 0.2,
     "severity": "info"},
    # anomaly: the 30 s mean vibration against the last 6 windows of the same sensor
    {"name": "vibration_odd", "kind": "anomaly", "metric": "vibration", "window": {"type": "tumble", "size_s": 30},
     "aggregate": "avg", "baseline": {"windows": 6, "deviations": 4, "warmup": 4}, "severity": "warning",
     "resolve": True},
    # absence: a humidity sensor silent for 50 s (step windows of 50 s)
    {"name": "humidity_silent", "kind": "absence", "metric": "humidity", "for_s": 50, "lookback_s": 400,
     "severity": "critical", "resolve": True},
]]

# The quiet-stream run: a short for_s so the wall-clock path fires within the test.
QUIET_RULES = [Rule.model_validate(
    {"name": "humidity_quiet", "kind": "absence", "metric": "humidity", "for_s": 8, "lookback_s": 600,
     "severity": "warning", "resolve": True})]

NORMAL = {"temperature": (18, 30), "pressure": (990, 1030), "vibration": (6, 10), "humidity": (30, 70)}
ENTITIES = {"t-0": "temperature", "t-1": "temperature", "p-0": "pressure", "v-0": "vibration",
            "h-0": "humidity", "h-1": "humidity"}


def timeline(minutes: int = 12, seed: int = 11) -> list[dict]:
    """One reading per entity every 2 s, with the anomalies each kind is for:
    t-0 spikes in minutes 2, 3, 6 and 8 (M-of-N fires and resolves; the flapping threshold rule
    meets its cooldown); p-0 steps down 60 hPa at minute 5; t-1 climbs 20 degrees at minute 4;
    v-0 triples its vibration in minute 7; h-0 is silent from 5:00 to 7:10 (absence, then resolved),
    h-1 stops at 10:00 (absence at the end of the input)."""
    rng = random.Random(seed)
    events: list[dict] = []
    for tick in range(minutes * 30):
        for k, (entity, metric) in enumerate(ENTITIES.items()):
            at = T0 + timedelta(seconds=tick * 2 + k * 0.25)
            minute, sec = divmod(tick * 2, 60)
            if entity == "h-0" and (300 <= tick * 2 < 430):
                continue
            if entity == "h-1" and minute >= 10:
                continue
            lo, hi = NORMAL[metric]
            value = round(rng.uniform(lo, hi), 3)
            if entity == "t-0" and minute in (2, 3, 6, 8) and sec == 20:
                value = 95.0 + minute
            if entity == "p-0" and minute >= 5:
                value = round(value - 60, 3)
            if entity == "t-1" and minute >= 4:
                value = round(value + 20, 3)
            if entity == "v-0" and minute == 7:
                value = round(value * 3, 3)
            events.append(envelope(len(events), entity, metric, value, at))
            if rng.random() < 0.03:  # 1..3 s back: within the bound, aggregated
                events[-1]["event_time"] = format_time(at - timedelta(seconds=rng.uniform(1, 3)))
    return events


# The pipeline's rules decided from history (one of each kind), made for the simulator's kind
# anomalies (vigia.simulator, kind_anomalies=True).
SIMULATOR_RULES = [r for r in config.load().rules if needs_state(r)]


def simulator_events(count: int = 3000) -> list[dict]:
    """The simulator's replay with its kind anomalies, as the producer turns it into events (items
    the contract rejects or stamped outside the timeline left out: the job stores those)."""
    from producer.adapters.simulator import SimulatorAdapter
    from vigia import simulator
    from vigia_core import contract

    s = simulator.Settings(seed=42, count=count, start=T0, kind_anomalies=True)
    source = next(src for src in config.load().producer.sources if src.type == "simulator")
    adapter, events = SimulatorAdapter(), []
    for item in simulator.generate(s):
        if not simulator.in_timeline(item.get("ts"), s):
            continue
        try:
            event = adapter.to_event(item, source, T0 + timedelta(hours=1))
        except (KeyError, TypeError, ValueError):
            continue
        if not contract.validate(event):
            events.append(event)
    return events
