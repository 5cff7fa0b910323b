"""The simulator is deterministic and contains every kind of anomaly and bad item it promises."""

from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone

from vigia import simulator
from vigia_core.contract import parse_time


def test_same_seed_same_items_other_seed_other_items():
    a = simulator.generate(simulator.Settings(seed=7, count=500))
    assert a == simulator.generate(simulator.Settings(seed=7, count=500))
    assert a != simulator.generate(simulator.Settings(seed=8, count=500))
    assert len(a) == 500 and len({i["id"] for i in a}) == 500


def test_anomalies_out_of_order_late_and_invalid_items_are_present():
    s = simulator.Settings(seed=42, count=6000)
    items = simulator.generate(s)
    valid = [i for i in items if isinstance(i.get("value"), float) and isinstance(i.get("sensor"), str)
             and simulator.in_timeline(i.get("ts"), s)]
    by_metric = defaultdict(list)
    for i in valid:
        by_metric[i["metric"]].append(i["value"])
    assert max(by_metric["temperature"]) > 90 and min(by_metric["pressure"]) < 950 and max(by_metric["vibration"]) > 40
    # Bursts: some humidity sensor emits more readings per episode than the others.
    per_episode = Counter((i["sensor"], int((parse_time(i["ts"]) - s.start).total_seconds() // s.episode_s))
                          for i in valid if i["metric"] == "humidity")
    assert max(per_episode.values()) >= 2.5 * sorted(per_episode.values())[len(per_episode) // 2]
    # Out of order: a reading's time behind the one before it in the feed; late: minutes behind.
    times = [parse_time(i["ts"]) for i in valid]
    lags = [(max(times[:k]) - t).total_seconds() for k, t in enumerate(times) if k and t < max(times[:k])]
    assert any(0 < lag < 5 for lag in lags) and any(lag > 30 for lag in lags)
    assert len(items) - len(valid) > 0


def test_live_mode_serves_only_items_whose_time_has_come():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    t = simulator.Timeline(simulator.Settings(live=True, start=start, sensors=4, tick_s=1.0, anomaly_rate=0))
    assert t.available(now=start - timedelta(seconds=1)) == 0
    assert t.available(now=start + timedelta(seconds=2.5)) == 12  # ticks at 0, 1 and 2 s


def test_kind_anomalies_stop_drift_and_step():
    base = simulator.Settings(seed=42, count=3000, start=datetime(2026, 1, 1, tzinfo=timezone.utc),
                              kind_anomalies=False)
    with_kinds = simulator.Settings(**{**base.__dict__, "kind_anomalies": True})
    plain, kinds = simulator.generate(base), simulator.generate(with_kinds)
    assert len(kinds) == len(plain) == 3000

    def series(items, sensor):
        return [(parse_time(i["ts"]), i["value"]) for i in items if i.get("sensor") == f"sensor-{sensor:03d}"
                and isinstance(i.get("value"), float) and simulator.in_timeline(i.get("ts"), with_kinds)]
    # a sensor that stops: a gap of about a fifth of the timeline, then it reports again
    stop = sorted(t for t, _ in series(kinds, simulator.STOPPING_SENSOR))
    gap = max(b - a for a, b in zip(stop, stop[1:]))
    assert gap > with_kinds.duration * 0.15 and stop[-1] > stop[0] + with_kinds.duration * 0.7
    # a slow drift: the late readings of the drifting sensor well above its early ones
    drift = series(kinds, simulator.DRIFTING_SENSOR)
    assert sum(v for _, v in drift[-10:]) / 10 > sum(v for _, v in drift[:10]) / 10 + 10
    # a step change: the pressure sensor's later half about 80 hPa lower
    step = series(kinds, simulator.STEPPING_SENSOR)
    at = with_kinds.start + with_kinds.duration * simulator.STEP_AT

    def median(vs):
        return sorted(vs)[len(vs) // 2]
    assert 60 < median([v for t, v in step if t < at]) - median([v for t, v in step if t >= at]) < 100
    # the timeline still fits its span (the replay anchor depends on it)
    assert max(stop) <= with_kinds.start + with_kinds.duration


def test_kind_anomalies_make_each_rule_kind_fire_for_its_sensor():
    from flink_app import reference
    from tests.support import kinds_data as kd

    res = reference.evaluate(kd.simulator_events(), kd.SIMULATOR_RULES, kd.BOUND_S)
    fired = {(a.rule, a.entity_id, a.status) for a in res.alerts}

    def sensor(n):
        return f"sensor-{n:03d}"
    assert {("sensor_silent", sensor(simulator.STOPPING_SENSOR), "firing"),
            ("sensor_silent", sensor(simulator.STOPPING_SENSOR), "resolved"),
            ("pressure_step", sensor(simulator.STEPPING_SENSOR), "firing"),
            ("temperature_drift", sensor(simulator.DRIFTING_SENSOR), "firing"),
            ("held_hot", sensor(simulator.DRIFTING_SENSOR), "firing")} <= fired
