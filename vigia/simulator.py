"""A sensor-telemetry HTTP API with seeded, deterministic anomalies and invalid items.

The demo, the tests and the benchmarks poll it through the producer's `simulator` adapter.
The same seed always yields the same items, so expected results can be computed exactly.

Timeline: every `tick_s` each sensor emits one reading (a bursting sensor emits three). Time is
cut into episodes of `episode_s`; in each episode a seeded draw may make one sensor per metric
anomalous:
- temperature: a spike (one or two readings far above normal),
- pressure: a drop for the whole episode,
- vibration: sustained high values for the whole episode,
- humidity: a burst (three readings per tick).
With `kind_anomalies` (on by default: pipeline.yaml has a rule of each kind for them) three sensors
also misbehave the way the rule kinds other than a plain threshold are for:
humidity sensor 1 stops reporting for the middle fifth of the timeline (absence, then resolved),
temperature sensor 4 drifts upward from 30 % of it (a slow drift), pressure sensor 2 steps down
80 hPa at half of it (a step change).
Independently, some readings carry an out-of-order `ts` (a few seconds back, within the watermark
bound, or minutes back, i.e. late: only readings of a normal sensor, so that no alert depends on
whether a consumer still accepted them), and some items are invalid (missing fields, wrong types,
non-numeric values, absurd timestamps).

API:
  GET /v1/readings?after=<cursor>&limit=<n>  ->  {"items": [...], "next_cursor": "...", "has_more": bool}
  GET /health
In replay mode (default) all `count` items exist from the start, with event times from `start`.
Unless given, `start` is anchored to the time of the run (`vigia_core.clock`): the whole timeline ends
at least `REPLAY_MARGIN` before now and starts on a whole hour, so every run of the same seed
yields the same items relative to that anchor (windows and hourly partitions stay regular) and
the producer's age and future-skew checks accept them on any date.
In live mode items appear as time passes, stamped with the time they appear.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from vigia_core import clock
from vigia_core.contract import format_time, parse_time

METRICS = {  # metric: (unit, normal low, normal high)
    "temperature": ("celsius", 18.0, 30.0),
    "humidity": ("percent", 30.0, 70.0),
    "pressure": ("hpa", 990.0, 1030.0),
    "vibration": ("mm_s", 2.0, 15.0),
}
METRIC_ORDER = list(METRICS)
REPLAY_MARGIN = timedelta(minutes=10)
MAX_LATE = timedelta(seconds=180)  # the furthest a late reading's time goes back


@dataclass(frozen=True)
class Settings:
    seed: int = 42
    count: int = 3000              # replay: total items; live: no limit
    sensors: int = 20
    tick_s: float = 2.0
    episode_s: int = 60
    anomaly_rate: float = 0.5      # per metric and episode
    out_of_order_rate: float = 0.03
    late_rate: float = 0.005
    invalid_rate: float = 0.03
    start: datetime | None = None  # None: anchored to the time of the run (replay) or now (live)
    live: bool = False
    kind_anomalies: bool = True    # a sensor that stops, a slow drift, a step change (module doc)

    def __post_init__(self) -> None:
        # Resolved once, here: the server and every expectation computed from these settings
        # then share one timeline even if an hour boundary passes in between.
        if self.start is None:
            object.__setattr__(self, "start", clock.now() if self.live else replay_anchor(self, clock.now()))

    @property
    def duration(self) -> timedelta:
        """An upper bound of the replay's span: every tick emits at least one item per sensor (but
        the stopped one)."""
        return timedelta(seconds=math.ceil(self.count / (self.sensors - self.kind_anomalies)) * self.tick_s)

    @property
    def ticks(self) -> int:
        """Ticks in the replay's span (the kind anomalies are placed as fractions of it)."""
        return math.ceil(self.duration.total_seconds() / self.tick_s)


# The sensors of the kind anomalies (sensor_metric: 0 temperature, 1 humidity, 2 pressure, ...).
STOPPING_SENSOR, DRIFTING_SENSOR, STEPPING_SENSOR = 1, 4, 2
STOP_SPAN = (0.4, 0.6)      # of the timeline's ticks
DRIFT_FROM, DRIFT_PER_TICK = 0.3, 0.15   # degrees per tick
STEP_AT, STEP_BY = 0.5, -80.0


def replay_anchor(s: Settings, now: datetime) -> datetime:
    """The whole hour on which a replay starts so that it ends at least REPLAY_MARGIN before `now`."""
    return clock.hour_floor(now - REPLAY_MARGIN - s.duration)


def in_timeline(ts: object, s: Settings) -> bool:
    """Whether `ts` is a time the timeline of `s` can stamp (late readings go back at most
    `MAX_LATE` before the start): the corrupted times (epoch zero, year 2999, garbage) are not."""
    if not isinstance(ts, str):
        return False
    try:
        t = parse_time(ts)
    except ValueError:
        return False
    return s.start - MAX_LATE <= t <= s.start + s.duration


def sensor_metric(sensor: int) -> str:
    return METRIC_ORDER[sensor % len(METRIC_ORDER)]


class Timeline:
    """Generates items in order, deterministically from the seed; thread-safe and lazy."""

    def __init__(self, s: Settings):
        self.s = s
        self.items: list[dict] = []
        self._tick = 0
        self._lock = threading.Lock()

    def _anomalous(self, episode: int, sensor: int) -> bool:
        """Per episode and metric, with probability `anomaly_rate` one of its sensors misbehaves."""
        metric = sensor_metric(sensor)
        rng = random.Random(f"{self.s.seed}:episode:{episode}:{metric}")
        peers = [i for i in range(self.s.sensors) if sensor_metric(i) == metric]
        return rng.random() < self.s.anomaly_rate and rng.choice(peers) == sensor

    def _emit_tick(self) -> None:
        s, tick = self.s, self._tick
        self._tick += 1
        offset = tick * s.tick_s
        episode = int(offset // s.episode_s)
        for sensor in range(s.sensors):
            metric = sensor_metric(sensor)
            if s.kind_anomalies and sensor == STOPPING_SENSOR and STOP_SPAN[0] <= tick / s.ticks < STOP_SPAN[1]:
                continue
            anomalous = self._anomalous(episode, sensor)
            copies = 3 if anomalous and metric == "humidity" else 1
            for copy in range(copies):
                rng = random.Random(f"{s.seed}:{tick}:{sensor}:{copy}")
                at = s.start + timedelta(seconds=offset + sensor * s.tick_s / s.sensors + copy * 0.01)
                self.items.append(self._reading(rng, len(self.items), sensor, metric, at, anomalous, tick, episode))

    def _reading(self, rng: random.Random, index: int, sensor: int, metric: str, at: datetime,
                 anomalous: bool, tick: int, episode: int) -> dict:
        s = self.s
        unit, low, high = METRICS[metric]
        value = rng.uniform(low, high)
        ticks_per_episode = int(s.episode_s / s.tick_s)
        if anomalous:
            if metric == "temperature" and tick % ticks_per_episode in (7, 8):
                value = rng.uniform(92.0, 120.0)       # spike
            elif metric == "pressure":
                value = rng.uniform(900.0, 945.0)      # drop
            elif metric == "vibration":
                value = rng.uniform(45.0, 80.0)        # sustained vibration
        if s.kind_anomalies:
            value += _trend(s, sensor, tick)
        draw = rng.random()
        if draw < s.late_rate:
            late_at = at - timedelta(seconds=rng.uniform(60, MAX_LATE.total_seconds()))  # late for the watermark
            late_episode = int((late_at - s.start).total_seconds() // s.episode_s)
            # Only a normal sensor's reading arrives late, and only into a normal episode of it: a
            # consumer may or may not still accept it (that depends on when its watermark moved),
            # and either way no alert may change, so every run of a seed raises the same alerts.
            if not anomalous and not self._anomalous(late_episode, sensor):
                at = late_at
        elif draw < s.late_rate + s.out_of_order_rate:
            at -= timedelta(seconds=rng.uniform(0.5, 4.0))     # out of order, within the bound
        item = {
            "id": f"r-{s.seed}-{index:08d}",
            "sensor": f"sensor-{sensor:03d}",
            "site": f"plant-{'abcd'[sensor % 4]}",
            "metric": metric,
            "value": round(value, 3),
            "unit": unit,
            "ts": format_time(at),
            "firmware": f"1.{sensor % 3}.0",
        }
        if rng.random() < s.invalid_rate:
            _corrupt(item, rng)
        return item

    def available(self, now: datetime | None = None) -> int:
        """How many items exist now (replay: all `count`; live: those whose time has come)."""
        with self._lock:
            if not self.s.live:
                while len(self.items) < self.s.count:
                    self._emit_tick()
                return self.s.count
            now = now or clock.now()
            while self.s.start + timedelta(seconds=self._tick * self.s.tick_s) <= now:
                self._emit_tick()
            return len(self.items)

    def page(self, after: int, limit: int) -> tuple[list[dict], int, bool]:
        n = self.available()
        end = min(after + limit, n)
        return self.items[after:end], end, end < n


def _trend(s: Settings, sensor: int, tick: int) -> float:
    """What the slow drift and the step change add to a sensor's reading at `tick`."""
    if sensor == DRIFTING_SENSOR and tick >= DRIFT_FROM * s.ticks:
        return (tick - DRIFT_FROM * s.ticks) * DRIFT_PER_TICK
    if sensor == STEPPING_SENSOR and tick >= STEP_AT * s.ticks:
        return STEP_BY
    return 0.0


def _corrupt(item: dict, rng: random.Random) -> None:
    kind = rng.choice(["missing_value", "missing_sensor", "missing_ts", "value_string",
                       "value_not_numeric", "sensor_number", "ts_epoch_zero", "ts_far_future", "ts_garbage"])
    if kind == "missing_value":
        del item["value"]
    elif kind == "missing_sensor":
        del item["sensor"]
    elif kind == "missing_ts":
        del item["ts"]
    elif kind == "value_string":
        item["value"] = str(item["value"])
    elif kind == "value_not_numeric":
        item["value"] = rng.choice(["n/a", "ERR", None])
    elif kind == "sensor_number":
        item["sensor"] = 17
    elif kind == "ts_epoch_zero":
        item["ts"] = "1970-01-01T00:00:00.000Z"
    elif kind == "ts_far_future":
        item["ts"] = "2999-12-31T23:59:59.000Z"
    else:
        item["ts"] = "yesterday at noon"


def generate(settings: Settings) -> list[dict]:
    """All items of a replay timeline (what the API serves, page by page)."""
    t = Timeline(settings)
    return t.items[:t.available()]


class _Handler(BaseHTTPRequestHandler):
    timeline: Timeline
    faults: list[int]  # statuses answered to the first requests, then normal service
    faults_lock = threading.Lock()

    def log_message(self, fmt, *args):  # keep the log to one line per request
        pass

    def _json(self, status: int, body: dict, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802
        url = urlparse(self.path)
        if url.path == "/health":
            return self._json(200, {"status": "ok"})
        if url.path != "/v1/readings":
            return self._json(404, {"error": f"no route {url.path}"})
        with self.faults_lock:
            fault = self.faults.pop(0) if self.faults else None
        if fault:
            return self._json(fault, {"error": "injected fault"}, {"Retry-After": "0"} if fault == 429 else None)
        q = parse_qs(url.query)
        try:
            after = int(q.get("after", ["0"])[0] or 0)
            limit = min(int(q.get("limit", ["500"])[0]), 10_000)
        except ValueError:
            return self._json(400, {"error": "after and limit must be integers"})
        items, nxt, more = self.timeline.page(after, limit)
        self._json(200, {"items": items, "next_cursor": str(nxt), "has_more": more})


def make_server(settings: Settings, host: str = "127.0.0.1", port: int = 8765,
                faults: list[int] | None = None) -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"timeline": Timeline(settings), "faults": list(faults or [])})
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seed", type=int, default=Settings.seed)
    ap.add_argument("--count", type=int, default=Settings.count)
    ap.add_argument("--sensors", type=int, default=Settings.sensors)
    ap.add_argument("--live", action="store_true", help="items appear in real time, stamped now")
    ap.add_argument("--start", type=parse_time, default=None,
                    help="ISO-8601 start of the timeline (default: anchored to now)")
    ap.add_argument("--tick-s", type=float, default=Settings.tick_s)
    ap.add_argument("--faults", default="", help="comma-separated HTTP statuses for the first requests")
    ap.add_argument("--kind-anomalies", action=argparse.BooleanOptionalAction, default=Settings.kind_anomalies,
                    help="a sensor that stops, a slow drift and a step change (the history rule kinds)")
    a = ap.parse_args(argv)
    settings = Settings(seed=a.seed, count=a.count, sensors=a.sensors, live=a.live, tick_s=a.tick_s, start=a.start,
                        kind_anomalies=a.kind_anomalies)
    faults = [int(f) for f in a.faults.split(",") if f]
    server = make_server(settings, port=a.port, faults=faults)
    print(f"simulator on http://127.0.0.1:{a.port} seed={a.seed} live={a.live} "
          f"start={format_time(settings.start)}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
