"""Real-time path benchmarks (`make bench`, or `python -m bench flink`).

- flink_rules_events_per_s: the compiled threshold rules of pipeline.yaml (those that need no
  history) on the mini-cluster, reading a bounded JSON-lines file. Steady state: runs of two sizes
  in the same JVM (the fastest of 3 each), and (events_big - events_small) / (time_big -
  time_small), so start-up and submission cancel out. The small run is long enough to outlast the
  Python workers' start-up (several seconds of CPU on this 2-core machine, overlapping the first
  events): a shorter one would put that start-up in the difference.
- python_rules_events_per_s: a plain Python consumer doing the job's work on the small input, same
  rules, same run, from the same records: the contract and gold checks and dedup by event_id
  (reference.admit, the checks' Python compile), then the reference evaluator. flink_vs_python is
  the job against it: both with validation and dedup in the path.
- python_rules_only_events_per_s: the reference evaluator alone from the same JSON text (json.loads
  included), no checks, no dedup; flink_vs_python_rules_only is the job against it.
- flink_validation_dedup_throughput_ratio: the job's SQL (checks, dedup, routing, rules) against
  the same rules over the same source without checks and dedup (`flink_sql_unchecked_events_per_s`),
  same run, same method.
- flink_all_kinds_vs_threshold_only: the job with all the pipeline's rules (one of each kind that
  needs history: M-of-N with resolve, change, anomaly, absence) against the job with its threshold
  rules alone, same run, same method.
- flink_source_only_events_per_s, flink_sql_only_events_per_s: parts of the job alone into a
  blackhole sink, same method: where the time goes.
- alert_latency_p99_s: live simulator -> producer (polling every second) -> Kinesis (moto) -> job
  -> SNS -> inbox queue; per alert of a window rule, the time it is received minus (window end +
  watermark bound), i.e. the delay after which the alert could first exist. The pipeline's rules
  on 10 s windows (latency_pipeline).
- absence_alert_latency_s: in the same live run, the absence rule's alert for the simulator's
  sensor that stops, received minus (last report + for_s): how long past its for_s a silence is
  reported while the rest of the stream flows (event time decides: up to one step window and the
  watermark bound). absence_quiet_alert_latency_p99_s: the same for every sensor of the rule after
  the producer stops at the end of the run, when the whole stream is quiet and the wall clock
  decides (for_s + one step after the rule's last window row).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import random
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flink_app import reference, rules
from flink_app.lifecycle import needs_state
from vigia.local.variants import with_settings
from vigia_core import config
from vigia_core.contract import checks, format_time

# Smaller sizes (env) only where the full ones cannot finish: the steady-state method still holds.
SMALL = int(os.environ.get("VIGIA_BENCH_FLINK_SMALL", "1200000"))
BIG = int(os.environ.get("VIGIA_BENCH_FLINK_BIG", "3200000"))
LIVE_S = int(os.environ.get("VIGIA_BENCH_LIVE_S", "150"))
WARMUP_S = 45  # job start-up on this machine is 20-40 s
TICK_S = 0.25  # live simulator: one reading per sensor every 0.25 s (80 events/s)
NORMAL = {"temperature": (18, 30), "humidity": (30, 70), "pressure": (990, 1030), "vibration": (2, 15)}
UNITS = {"temperature": "celsius", "humidity": "percent", "pressure": "hpa", "vibration": "mm_s"}  # pipeline.yaml
T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def synthetic(n: int, sensors: int = 1000, per_s: int = 5000, seed: int = 1) -> list[dict]:
    """n contract-shaped events, `per_s` per second of event time (the density of a stream that
    delivers that many events a second, so watermarks advance as they would live), a few anomalies
    and stragglers."""
    rng = random.Random(seed)
    t0 = T0
    metrics = list(NORMAL)
    out = []
    for i in range(n):
        sensor = i % sensors
        metric = metrics[sensor % 4]
        lo, hi = NORMAL[metric]
        value = rng.uniform(lo, hi)
        if rng.random() < 0.001:   # rare readings that break the overheating / pressure_drop rules
            value = {"temperature": 95.0, "pressure": 900.0}.get(metric, value)
        at = t0 + timedelta(milliseconds=1000 * i // per_s - (rng.randint(0, 3000) if rng.random() < 0.03 else 0))
        out.append({"schema_version": 1, "event_id": f"b{i}", "source": "simulator", "entity_id": f"sensor-{sensor:03d}",
                    "metric": metric, "value": round(value, 3), "unit": UNITS[metric], "event_time": format_time(at),
                    "ingest_time": format_time(at), "attributes": {"site": f"plant-{sensor % 7}", "firmware": "1.4.2"}})
    return out


def _flink_run(p: config.Pipeline, path: Path, rule_list: list | None = None) -> tuple[float, int]:
    """Seconds from submission to the end of the bounded input, and the alerts emitted."""
    from pyflink.datastream import StreamExecutionEnvironment

    from flink_app import job
    from flink_app.properties import JobSettings

    s = JobSettings(region=p.region, source_connector="filesystem", source_path=str(path), sink="collect")
    env = StreamExecutionEnvironment.get_execution_environment(job.configure(p, s))
    t = time.monotonic()
    with job.build(env, p, s, rule_list).execute_and_collect() as rows:
        alerts = sum(1 for r in rows if '"kind": "alert"' in r)
    return time.monotonic() - t, alerts


def threshold_rules(p: config.Pipeline) -> list:
    """The pipeline's rules that need no history (a plain threshold per window)."""
    return [r for r in rules.rules_of(p) if not needs_state(r)]


def _blackhole_run(p: config.Pipeline, path: Path, what: str) -> float:
    """Seconds for one part of the job alone, into a blackhole sink: `source` (file, JSON, rowtime,
    watermarks) or `sql` (routing and the compiled rules, no Python operator)."""
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink.table import StreamTableEnvironment

    from flink_app import job
    from flink_app.properties import JobSettings

    s = JobSettings(region=p.region, source_connector="filesystem", source_path=str(path), sink="collect")
    t_env = StreamTableEnvironment.create(StreamExecutionEnvironment.get_execution_environment(job.configure(p, s)))
    rule_list = threshold_rules(p)
    job.declare_tables(t_env, p, s, rule_list)
    if what == "source":
        t_env.execute_sql("CREATE TABLE sink (v STRING) WITH ('connector' = 'blackhole')")
        insert = "INSERT INTO sink SELECT `line` FROM source_events WHERE rowtime IS NOT NULL"
    elif what == "sql_unchecked":  # the same rules, no checks, no dedup: the `json` format's typed columns
        t_env.execute_sql(unchecked_source_ddl(p, path))
        t_env.execute_sql("CREATE TABLE sink (rule STRING) WITH ('connector' = 'blackhole')")
        insert = f"INSERT INTO sink SELECT rule FROM ({rules.compile_rules(rule_list, table='unchecked')})"
    else:
        t_env.execute_sql("CREATE TABLE sink (kind STRING, rule STRING) WITH ('connector' = 'blackhole')")
        insert = f"INSERT INTO sink SELECT kind, rule FROM ({job.output_sql(rules.compile_rules(rule_list))})"
    t = time.monotonic()
    t_env.execute_sql(insert).wait()
    return time.monotonic() - t


def unchecked_source_ddl(p: config.Pipeline, path: Path) -> str:
    """The job's source without the checks: Flink's `json` format decodes the rule fields (coercing
    and skipping what it cannot parse, which is why the job does not use it)."""
    t = "CAST(REPLACE(REPLACE(event_time, 'T', ' '), 'Z', '') AS TIMESTAMP(3))"
    return (f"CREATE TEMPORARY TABLE unchecked (event_id STRING, source STRING, entity_id STRING, metric STRING, "
            f"`value` DOUBLE, event_time STRING, rowtime AS {t}, "
            f"WATERMARK FOR rowtime AS rowtime - INTERVAL '{p.flink.out_of_orderness_s}' SECOND) "
            f"WITH ('connector' = 'filesystem', 'path' = '{path.resolve().as_uri()}', 'format' = 'json', "
            f"'json.ignore-parse-errors' = 'true')")


def _write_parts(events: list[dict], d: Path, parts: int) -> Path:
    """JSON lines split into one file per source subtask (each file in event-time order)."""
    d.mkdir()
    # arrival (the files' modification time) = the end of the data's event time: every event is
    # within the gold rules' age and future-skew limits of it
    arrival = max(e["event_time"] for e in events)
    at = datetime.fromisoformat(arrival.replace("Z", "+00:00")).timestamp()
    for k in range(parts):
        f = d / f"part-{k}.json"
        f.write_text("".join(json.dumps(e) + "\n" for e in events[k::parts]))
        os.utime(f, (at, at))
    return d


# Two subtasks, one per core of this machine (each reads its own file, as each would read its own
# shards): the job's throughput here, not that of the pipeline's default of one subtask.
PARALLELISM = 2


def throughput() -> dict:
    p = with_settings(config.load(), "flink", parallelism=PARALLELISM)
    rule_list = threshold_rules(p)
    events = synthetic(BIG)
    with tempfile.TemporaryDirectory() as d:
        small = _write_parts(events[:SMALL], Path(d, "small"), p.flink.parallelism)
        big = _write_parts(events, Path(d, "big"), p.flink.parallelism)
        _flink_run(p, small, rule_list)               # warm-up: JVM, planner, Python workers
        # Fastest of 3: other load only ever slows a run, and the difference of two slowed runs
        # can be anything (one slowed small run once gave 4x the real rate).
        t_small = min(_flink_run(p, small, rule_list)[0] for _ in range(3))
        t_big, flink_alerts = min(_flink_run(p, big, rule_list) for _ in range(3))
        all_kinds = rules.rules_of(p)  # the same method, the same files
        t_small_kinds = min(_flink_run(p, small, all_kinds)[0] for _ in range(2))
        t_big_kinds = min(_flink_run(p, big, all_kinds)[0] for _ in range(2))
        parts = {}  # where the time goes: the same steady-state method for parts of the job
        for what in ("source", "sql", "sql_unchecked"):
            _blackhole_run(p, small, what)
            parts[what] = (BIG - SMALL) / (min(_blackhole_run(p, big, what) for _ in range(3))
                                           - min(_blackhole_run(p, small, what) for _ in range(3)))
        lines = [line for f in sorted(small.glob("*.json")) for line in f.read_text().splitlines()]
        arrival = datetime.fromtimestamp(small.joinpath("part-0.json").stat().st_mtime, timezone.utc)
    records = [(line.encode(), arrival) for line in lines]  # as a Lambda consumer gets them
    t = time.monotonic()
    admitted = reference.admit(records, checks.Limits.of(p))
    reference.evaluate(admitted.events, rule_list, p.flink.out_of_orderness_s)
    t_py = time.monotonic() - t
    t = time.monotonic()   # the rules alone, from the same JSON text
    reference.evaluate([json.loads(line) for line in lines], rule_list, p.flink.out_of_orderness_s)
    t_py_rules = time.monotonic() - t
    expected_big = reference.evaluate(events, rule_list, p.flink.out_of_orderness_s).alerts
    flink_eps = (BIG - SMALL) / (t_big - t_small)
    kinds_eps = (BIG - SMALL) / (t_big_kinds - t_small_kinds)
    return {"flink_rules_events_per_s": round(flink_eps), "python_rules_events_per_s": round(SMALL / t_py),
            "flink_vs_python": round(flink_eps / (SMALL / t_py), 2),
            "python_rules_only_events_per_s": round(SMALL / t_py_rules),
            "flink_vs_python_rules_only": round(flink_eps / (SMALL / t_py_rules), 2),
            "flink_bench_alerts_match_reference": flink_alerts == len(expected_big) > 0,
            "flink_bench_small_s": round(t_small, 2), "flink_bench_big_s": round(t_big, 2),
            "flink_bench_parallelism": p.flink.parallelism,
            "flink_source_only_events_per_s": round(parts["source"]),
            "flink_sql_only_events_per_s": round(parts["sql"]),
            # the cost of validation and dedup: the SQL part with them / without them, same run
            "flink_sql_unchecked_events_per_s": round(parts["sql_unchecked"]),
            "flink_validation_dedup_throughput_ratio": round(parts["sql"] / parts["sql_unchecked"], 2),
            # all the pipeline's rules (every kind), against its threshold rules alone
            "flink_all_kinds_events_per_s": round(kinds_eps),
            "flink_all_kinds_vs_threshold_only": round(kinds_eps / flink_eps, 2)}


ABSENCE_FOR_S, ABSENCE_STEP_S = 10, 2  # the latency run's absence rule: silent 10 s, 2 s steps


def latency_pipeline(p: config.Pipeline) -> config.Pipeline:
    """The pipeline's rules on 10 s windows, no cooldown, count thresholds at twice a sensor's normal
    readings per window: alerts every few seconds, so a short live run yields enough of them for a
    p99. Absence rules: silent ABSENCE_FOR_S, decided every ABSENCE_STEP_S. The path measured is the
    same."""
    data = p.model_dump(mode="json", by_alias=True)
    for r in data["rules"]:
        if r["kind"] == "absence":
            r["for_s"], r["window"] = ABSENCE_FOR_S, {"type": "tumble", "size_s": ABSENCE_STEP_S}
        else:
            hop = r["window"]["type"] == "hop"
            r["window"] = {"type": r["window"]["type"], "size_s": 10, **({"slide_s": 5} if hop else {})}
        r["cooldown_s"] = 0
        if r.get("aggregate") == "count":
            r["threshold"] = 2 * 10 / TICK_S
    return config.parse(data)


def latency() -> dict:
    """A private moto server and live simulator on free ports; the job reads from LATEST."""
    from vigia.local import flink, inbox
    from producer import handler as producer
    from vigia import simulator
    from vigia.local import aws, provision, services
    from vigia.local.variants import with_source

    state = Path(tempfile.mkdtemp(prefix="vigia-bench-"))
    services.STATE_DIR = state
    # Live: items appear as the clock passes their tick. A short tick keeps the simulator's stagger of
    # sensors within a tick (event times up to one tick ahead of the clock) small. The kind anomalies
    # are placed as fractions of a `count`-long timeline: this one lasts 1.25 runs, so the sensor that
    # stops does so from half to three quarters of the run, after the warm-up.
    sensors = simulator.Settings.sensors
    count = math.ceil(1.25 * LIVE_S / TICK_S) * (sensors - 1)
    sim = simulator.make_server(simulator.Settings(live=True, start=datetime.now(timezone.utc), tick_s=TICK_S,
                                                   count=count, anomaly_rate=0.5, late_rate=0.0, invalid_rate=0.0),
                                port=0)
    threading.Thread(target=sim.serve_forever, daemon=True).start()
    old_env = dict(os.environ)
    with aws.private_server() as port:
        try:
            os.environ.update(aws.env(config.load().region, port))
            p = latency_pipeline(with_source(config.load(), "simulator", url=f"http://127.0.0.1:{sim.server_address[1]}"))
            provision.provision(p, port)
            flink.start(p, state / "job", port=port, init_position="TRIM_HORIZON")
            received: list[dict] = []
            live_from = time.time()
            end = time.monotonic() + LIVE_S
            # after the producer stops, the absence rule's quiet clock: for_s + one step without a row
            quiet_s = ABSENCE_FOR_S + ABSENCE_STEP_S + p.flink.out_of_orderness_s + 15

            def subscriber() -> None:  # the inbox is read on its own thread: receive times stay exact
                while time.monotonic() < end + quiet_s:
                    received.extend(inbox.receive(p, wait_s=1))
            reader = threading.Thread(target=subscriber, daemon=True)
            reader.start()
            while time.monotonic() < end:  # the producer polls every half second, as a live feed would
                t = time.monotonic()
                with contextlib.redirect_stdout(io.StringIO()):  # the producer's EMF lines
                    producer.run(p, ["simulator"], local_only=True)
                time.sleep(max(0.0, 0.5 - (time.monotonic() - t)))
            stopped_at = time.time()
            reader.join()
        finally:
            flink.stop()
            sim.shutdown()
            os.environ.clear()
            os.environ.update(old_env)
    return {**window_latency(p, received, live_from + WARMUP_S),
            **absence_latency(p, received, live_from + WARMUP_S, stopped_at)}


def _p99(lat: list[float]) -> float:
    lat = sorted(lat)
    return round(lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))], 2)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def window_latency(p: config.Pipeline, received: list[dict], ready: float) -> dict:
    """Window rules' alerts: received - (window end + watermark bound). Windows closing before the
    job is surely up (`ready`) measure start-up, not latency."""
    bound = p.flink.out_of_orderness_s
    closes = {a["alert_id"]: (a["_received_at"], _epoch(a["window_end"]) + bound)
              for a in received if a.get("rule_kind") != "absence"}
    lat = sorted(got - due for got, due in closes.values() if due >= ready)
    if not lat:
        return {"alert_latency_p99_s": None, "alert_latency_alerts": 0}
    return {"alert_latency_p99_s": _p99(lat), "alert_latency_p50_s": round(lat[len(lat) // 2], 2),
            "alert_latency_alerts": len(lat), "alert_latency_live_s": LIVE_S, "alert_latency_warmup_s": WARMUP_S}


def absence_latency(p: config.Pipeline, received: list[dict], ready: float, stopped_at: float) -> dict:
    """Absence firings: received - (last report + for_s), the alert's window end. Those whose silence
    began before the producer stopped were decided by event time (the stream still flowed), the
    others by the quiet clock."""
    flowing, quiet = [], []
    for a in received:
        if a.get("rule_kind") == "absence" and a["status"] == "firing" and _epoch(a["window_end"]) >= ready:
            (flowing if _epoch(a["window_start"]) < stopped_at - ABSENCE_FOR_S else quiet).append(
                a["_received_at"] - _epoch(a["window_end"]))
    return {"absence_alert_latency_s": _p99(flowing) if flowing else None, "absence_alerts_while_flowing": len(flowing),
            "absence_quiet_alert_latency_p99_s": _p99(quiet) if quiet else None, "absence_quiet_alerts": len(quiet),
            "absence_for_s": ABSENCE_FOR_S, "absence_step_s": ABSENCE_STEP_S}


def run() -> dict:
    out = throughput()
    print(json.dumps(out), flush=True)
    return {**out, **latency()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
