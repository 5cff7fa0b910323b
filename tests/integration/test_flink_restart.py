"""Restarts lose nothing and invent nothing: the job (`python -m flink_app.main`, started by
vigia.local.flink as in the demo) killed with SIGKILL and restored from its latest checkpoint.

Watermarks are not part of a Flink checkpoint: the connector keeps each shard's in its split
state and re-emits it on restore (flink_app/connector/README.md). Without that, an event stored
as late before the crash is read again after the restore against a watermark that starts from
nothing, is aggregated, and raises an alert it never should have.
"""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import timedelta

import boto3
import pytest

from vigia.local import expected_alerts, flink, inbox, provision, services
from vigia.local.variants import unique_pipeline, with_settings
from vigia_core import clock, config
from vigia_core.contract import format_time

pytestmark = pytest.mark.integration


def test_latest_checkpoint_is_the_newest_of_the_newest_run(tmp_path):
    """A restored run writes to a new <job id> folder and numbers on from the restored checkpoint:
    a killed run's chk-9 must not win over the run that restored from its chk-5 and wrote chk-6."""
    def checkpoint(job: str, n: int, written_s: float, complete: bool = True):
        d = tmp_path / job / f"chk-{n}"
        d.mkdir(parents=True)
        if complete:
            (d / "_metadata").write_bytes(b"x")
            os.utime(d / "_metadata", (written_s, written_s))
        return d

    assert flink.latest_checkpoint(tmp_path) is None
    checkpoint("killed", 5, 1000)
    checkpoint("killed", 9, 1040)
    newest = checkpoint("restored", 6, 1100)
    checkpoint("restored", 7, 1110, complete=False)  # in progress when the run ended: no _metadata
    assert flink.latest_checkpoint(tmp_path) == newest


def reading(entity: str, value: float, at, event_id: str) -> dict:
    return {"schema_version": 1, "event_id": event_id, "source": "simulator", "entity_id": entity,
            "metric": "temperature", "value": value, "unit": "celsius",
            "event_time": format_time(at), "ingest_time": format_time(at)}


def put(p: config.Pipeline, events: list[dict]) -> None:
    kinesis = boto3.client("kinesis", region_name=p.region)
    for i in range(0, len(events), 500):
        records = [{"Data": json.dumps(e).encode(), "PartitionKey": e["entity_id"]} for e in events[i:i + 500]]
        assert kinesis.put_records(StreamName=p.stream.name, Records=records)["FailedRecordCount"] == 0


def wait_for(condition, timeout_s: float, what: str, pause_s: float = 0.5):
    """Poll `condition` until it returns something truthy (checks the job is still running)."""
    deadline = time.monotonic() + timeout_s
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        assert services.running_pid(flink.SERVICE), "the job exited"
        time.sleep(pause_s)
    return result


def sigkill_job() -> None:
    pid = services.running_pid(flink.SERVICE)
    os.killpg(pid, signal.SIGKILL)  # the job's process group: python, its JVM, the Python workers
    deadline = time.monotonic() + 30
    while services.alive(pid):
        assert time.monotonic() < deadline, "the job survived SIGKILL"
        time.sleep(0.1)


def test_an_event_stored_late_before_a_crash_stays_late_after_the_restore(aws_env, job_state):
    """A record is late when the window step would drop it: its window [t0, t0+60 s) has closed.
    The window operator keeps its own watermark in its state, the routing to late does not: re-read
    with an empty watermark after the restore, the late event would be routed on time and then
    dropped by the window without trace (neither aggregated nor stored late)."""
    p = unique_pipeline(with_settings(config.load(), "flink", checkpoint_interval_s=15),
                        f"rst{time.time_ns() % 10**8}")
    # the one rule the readings are for (a 95 after 20s is also a temperature anomaly)
    p = p.model_copy(update={"rules": [r for r in p.rules if r.name == "overheating"]})
    provision.provision(p, aws_env)
    a, b = expected_alerts.shard_keys(p, "sensor")  # one entity per shard: both shards drive the watermark
    t0 = (clock.now() - timedelta(minutes=10)).replace(second=0, microsecond=0)
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    ckpt = job_state / "checkpoints"

    # Before the crash: normal readings for 70 s of event time on both shards (watermark -> t0+65 s:
    # the window [t0, t0+60 s) closes, [t0+60 s, t0+120 s) stays open).
    put(p, [reading(e, 20, at(s), f"{e}-{s}") for s in range(0, 71, 5) for e in (a, b)])
    flink.start(p, job_state / "job", port=aws_env, init_position="TRIM_HORIZON", checkpoint_dir=ckpt.as_uri())

    # Probes at t0+30 s until one is stored late: from then on the window of t0+30 s has closed.
    probes = iter(range(1000))

    def a_probe_is_late():
        put(p, [reading(a, 20, at(30), f"probe-{next(probes)}")])
        return wait_until_stored_late(p, lambda ids: any(i.startswith("probe-") for i in ids), 3)
    wait_for(a_probe_is_late, 240, "a probe to be stored late", pause_s=0)
    probe_seen_ns = time.time_ns()
    # A checkpoint completed after that holds the shards' watermarks (past t0+60 s) and positions.
    checkpoint = wait_for(lambda: (c := flink.latest_checkpoint(ckpt)) and
                          (c / "_metadata").stat().st_mtime_ns > probe_seen_ns and c, 60, "a checkpoint")

    # The event under test: 95 degrees at t0+30 s, late like the probes, read after the checkpoint.
    put(p, [reading(a, 95, at(30), "late-95")])
    wait_for(lambda: "late-95" in expected_alerts.stored_late_ids(p), 60, "the late event to be stored")
    sigkill_job()
    killed_at = clock.now()
    assert flink.latest_checkpoint(ckpt) == checkpoint, \
        "a checkpoint after the late event completed before the kill: the restore would not re-read it"
    assert inbox.receive(p) == []

    # After the restore the late event is read again (it is after the checkpoint); then two more
    # minutes of readings with one real overheating at t0+130 s, which must raise the only alert.
    flink.start(p, job_state / "job", port=aws_env, checkpoint_dir=ckpt.as_uri(), restore_from=str(checkpoint))
    put(p, [reading(e, 95 if (e, s) == (a, 130) else 20, at(s), f"{e}-{s}")
            for s in range(75, 191, 5) for e in (a, b)])
    alerts = wait_for(lambda: inbox.receive(p), 240, "the alert of t0+120 s")
    alerts += inbox.receive(p, wait_s=5)  # a long poll: an extra alert would arrive by now
    # aggregated, the late 95 degrees would alert for t0, and its cooldown hold back t0+120 s
    assert [(x["rule"], x["entity_id"], x["window_start"]) for x in alerts] == \
        [("overheating", a, format_time(at(120)))]
    assert expected_alerts.stored_late(p)["late-95"] > killed_at, \
        "re-read after the restore, the late event was not stored as late again"


def wait_until_stored_late(p: config.Pipeline, found, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found(expected_alerts.stored_late_ids(p)):
            return True
        time.sleep(0.3)
    return False
