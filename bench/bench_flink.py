"""Real-time path benchmarks (`make bench`, or `python -m bench flink`).

- flink_rules_events_per_s: the compiled rules of pipeline.yaml on the mini-cluster, reading a
  bounded JSON-lines file. Steady state: two runs of different sizes in the same JVM, and
  (events_big - events_small) / (time_big - time_small), so start-up and job submission cancel out.
- python_rules_events_per_s: the reference evaluator (plain Python) on the small input, same run.
- alert_latency_p99_s: live simulator -> producer (polling every second) -> Kinesis (moto) -> job
  -> SNS -> inbox queue; per alert, the time it is received minus (window end + watermark bound),
  i.e. the delay after which the alert could first exist.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flink_app import reference, rules
from vigia import config
from vigia.contract import format_time

SMALL, BIG = 200_000, 1_200_000
LIVE_S = int(os.environ.get("VIGIA_BENCH_LIVE_S", "180"))
NORMAL = {"temperature": (18, 30), "humidity": (30, 70), "pressure": (990, 1030), "vibration": (2, 15)}


def synthetic(n: int, sensors: int = 200, seed: int = 1) -> list[dict]:
    """n contract-shaped events, 100 per second of event time, a few anomalies and stragglers."""
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)
    metrics = list(NORMAL)
    out = []
    for i in range(n):
        sensor = i % sensors
        metric = metrics[sensor % 4]
        lo, hi = NORMAL[metric]
        value = rng.uniform(lo, hi) * (3 if rng.random() < 0.002 else 1)
        at = t0 + timedelta(milliseconds=10 * i - (rng.randint(0, 3000) if rng.random() < 0.03 else 0))
        out.append({"schema_version": 1, "event_id": f"b{i}", "source": "simulator", "entity_id": f"sensor-{sensor:03d}",
                    "metric": metric, "value": round(value, 3), "unit": "u", "event_time": format_time(at),
                    "ingest_time": format_time(at)})
    return out


def _flink_seconds(p: config.Pipeline, path: Path) -> tuple[float, int]:
    from pyflink.datastream import StreamExecutionEnvironment

    from flink_app import job
    from flink_app.properties import JobSettings

    s = JobSettings(region=p.region, source_connector="filesystem", source_path=str(path), sink="collect")
    env = StreamExecutionEnvironment.get_execution_environment(job.configure(p, s))
    t = time.monotonic()
    with job.build(env, p, s).execute_and_collect() as rows:
        n = sum(1 for _ in rows)
    return time.monotonic() - t, n


def throughput() -> dict:
    p = config.load()
    data = p.model_dump(mode="json")
    data["flink"]["parallelism"] = 1  # one file: one reader
    p = config.parse(data)
    with tempfile.TemporaryDirectory() as d:
        events = synthetic(BIG)
        small, big = Path(d, "small", "e.json"), Path(d, "big", "e.json")
        for path, n in ((small, SMALL), (big, BIG)):
            path.parent.mkdir()
            path.write_text("".join(json.dumps(e) + "\n" for e in events[:n]))
        _flink_seconds(p, small)                      # warm-up: JVM, planner, Python workers
        t_small, _ = _flink_seconds(p, small)
        t_big, outputs = _flink_seconds(p, big)
    t = time.monotonic()
    ref = reference.evaluate(events[:SMALL], rules.rules_of(p), p.flink.out_of_orderness_s)
    t_py = time.monotonic() - t
    flink_eps = (BIG - SMALL) / (t_big - t_small)
    return {"flink_rules_events_per_s": round(flink_eps), "python_rules_events_per_s": round(SMALL / t_py),
            "flink_vs_python": round(flink_eps / (SMALL / t_py), 1), "flink_bench_outputs_big": outputs,
            "flink_bench_small_s": round(t_small, 2), "flink_bench_big_s": round(t_big, 2),
            "python_bench_alerts_small": len(ref.alerts)}


def latency() -> dict:
    """A private moto server and live simulator on free ports; the job reads from LATEST."""
    import socket

    from flink_app import local
    from producer import handler as producer
    from vigia import simulator
    from vigia.local import aws, provision, services

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    port = free_port()
    state = Path(tempfile.mkdtemp(prefix="vigia-bench-"))
    services.STATE_DIR = state
    moto = subprocess.Popen(aws.moto_argv(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sim = simulator.make_server(simulator.Settings(live=True, start=datetime.now(timezone.utc), anomaly_rate=0.3,
                                                   late_rate=0.0, invalid_rate=0.0), port=0)
    threading.Thread(target=sim.serve_forever, daemon=True).start()
    old_env = dict(os.environ)
    try:
        services.wait_healthy(aws.health_url(port), timeout_s=60, pid=moto.pid, name="moto")
        os.environ.update(aws.env(config.load().region, port))
        data = config.load().model_dump(mode="json")
        for s in data["producer"]["sources"]:
            if s["name"] == "simulator":
                s["url"] = f"http://127.0.0.1:{sim.server_address[1]}"
        p = config.parse(data)
        provision.provision(p, port)
        local.start(p, state / "job", port=port, init_position="TRIM_HORIZON")
        received: list[dict] = []
        end = time.monotonic() + LIVE_S
        while time.monotonic() < end:
            producer.run(p, ["simulator"], local_only=True)
            received.extend(local.inbox_alerts(p, wait_s=1))
        received.extend(local.inbox_alerts(p, wait_s=3))
    finally:
        local.stop()
        sim.shutdown()
        moto.terminate()
        moto.wait(timeout=10)
        os.environ.clear()
        os.environ.update(old_env)
    bound = p.flink.out_of_orderness_s
    lat = sorted(a["_received_at"] - (datetime.fromisoformat(a["window_end"].replace("Z", "+00:00")).timestamp() + bound)
                 for a in {a["alert_id"]: a for a in received}.values())
    if not lat:
        return {"alert_latency_p99_s": None, "alert_latency_alerts": 0}
    p99 = lat[min(len(lat) - 1, int(round(0.99 * (len(lat) - 1))))]
    return {"alert_latency_p99_s": round(p99, 2), "alert_latency_p50_s": round(lat[len(lat) // 2], 2),
            "alert_latency_alerts": len(lat), "alert_latency_live_s": LIVE_S}


def run() -> dict:
    return {**throughput(), **latency()}


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
