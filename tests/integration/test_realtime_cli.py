"""`vigia alerts` and `vigia flink start|status|stop`, run as an operator runs them (the command in
its own process) against the test session's moto server, with local state under tmp_path."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from flink_app import alerts
from flink_app.publisher import Publisher
from vigia import simulator
from vigia.local import aws, expected_alerts, flink, provision
from vigia.local.producer import produce
from vigia.local.variants import unique_pipeline, with_settings, with_source
from vigia_core import config

pytestmark = pytest.mark.integration


def cli_env(p: config.Pipeline, port: int, tmp_path) -> dict[str, str]:
    """What `vigia` needs to work on `p` on the session's moto server, its state under tmp_path."""
    definition = tmp_path / "pipeline.yaml"
    definition.write_text(yaml.safe_dump(p.model_dump(mode="json"), sort_keys=False))
    return {**os.environ, "VIGIA_STATE_DIR": str(tmp_path / "state"), "VIGIA_MOTO_PORT": str(port),
            config.ENV_PATH: str(definition)}


def vigia(*args: str, env: dict, code: int = 0) -> str:
    out = subprocess.run([sys.executable, "-m", "vigia.cli", *args], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == code, out.stdout + out.stderr
    return out.stdout + (out.stderr if code else "")


def publish(p: config.Pipeline, port: int, entities: list[str]) -> list[alerts.Alert]:
    """Alerts published to the topic as the job publishes them (the job's own Publisher)."""
    rule = p.rules[0]
    start = datetime(2025, 1, 1, 10, tzinfo=timezone.utc)
    sent = [alerts.Alert.of(rule, e, start, start + timedelta(seconds=60), 99.5, 12) for e in entities]
    pub = Publisher(provision.topic_arn(p, p.alerts.topic), flink.dlq_url(p), p.region, endpoint_url=aws.endpoint(port))
    for a in sent:
        pub.publish(a)
    return sent


def test_alerts_prints_what_the_inbox_holds_once_and_exits(local_pipeline, aws_env, tmp_path):
    p, env = local_pipeline, cli_env(local_pipeline, aws_env, tmp_path)
    sent = publish(p, aws_env, ["sensor-1", "sensor-2"])
    lines = vigia("alerts", env=env).splitlines()
    assert sorted(lines) == sorted(f"{a.window_end}  {a.sms_text()}" for a in sent)
    assert vigia("alerts", env=env) == ""  # read once, as an operator reads a mailbox
    (a,) = publish(p, aws_env, ["sensor-3"])
    assert [json.loads(line) for line in vigia("alerts", "--format", "json", env=env).splitlines()] == [a.to_dict()]
    (a,) = publish(p, aws_env, ["sensor-4"])
    text = vigia("alerts", "--format", "email", env=env)
    assert text.startswith(f"Subject: {a.email_subject()}\n") and a.email_text() in text


def test_alerts_follow_prints_an_alert_as_it_arrives(local_pipeline, aws_env, tmp_path):
    p, env = local_pipeline, cli_env(local_pipeline, aws_env, tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "vigia.cli", "alerts", "--follow"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        time.sleep(2)  # the command is polling the queue by now
        assert proc.poll() is None, proc.stderr.read()
        (a,) = publish(p, aws_env, ["sensor-9"])
        assert lines.get(timeout=30).rstrip("\n") == f"{a.window_end}  {a.sms_text()}"
        assert proc.poll() is None, "--follow keeps waiting"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_flink_start_refuses_what_it_cannot_do(local_pipeline, aws_env, tmp_path):
    env = cli_env(local_pipeline, aws_env, tmp_path)
    assert "--at goes with --from AT_TIMESTAMP" in vigia("flink", "start", "--at", "2025-01-01T00:00:00Z",
                                                         env=env, code=2)
    assert "AT_TIMESTAMP needs --at" in vigia("flink", "start", "--from", "AT_TIMESTAMP", env=env, code=2)
    assert "no completed checkpoint under" in vigia("flink", "start", "--restore-latest", env=env, code=1)
    assert "flink job: stopped" in vigia("flink", "status", env=env)
    assert "flink job not running" in vigia("flink", "stop", env=env)


def job_properties(tmp_path) -> dict:
    groups = json.loads((tmp_path / "state" / "flink" / "application_properties.json").read_text())
    return next(g["PropertyMap"] for g in groups if g["PropertyGroupId"] == "vigia.job")


def test_flink_start_status_stop_and_restore(aws_env, tmp_path, simulator_server):
    """The job started by the command delivers the alerts the reference expects (read with
    `vigia alerts`), checkpoints, stops, and starts again from its newest checkpoint or a time."""
    pytest.importorskip("pyflink")
    flink.ensure_connector_jar()
    p = unique_pipeline(with_settings(config.load(), "flink", checkpoint_interval_s=2), f"cli{time.time_ns() % 10**8}")
    provision.provision(p, aws_env)
    p = with_source(p, "simulator", url=simulator_server(simulator.Settings(count=600, late_rate=0.0)))
    env = cli_env(p, aws_env, tmp_path)
    assert produce(p, ["simulator"])["produced"] > 0
    expected_alerts.end_of_replay_markers(p)
    try:
        out = vigia("flink", "start", "--from", "TRIM_HORIZON", env=env)
        assert "flink job started (pid" in out and "from TRIM_HORIZON" in out
        assert job_properties(tmp_path)["source.init.position"] == "TRIM_HORIZON"
        received: set[str] = set()
        deadline = time.monotonic() + 240
        while True:  # the expectation takes the late events the job stored (flink_app/README.md)
            assert "running" in vigia("flink", "status", env=env), "the job exited"
            received |= {json.loads(line)["alert_id"]
                         for line in vigia("alerts", "--format", "json", env=env).splitlines()}
            want = expected_alerts.expected(p, expected_alerts.stored_late_ids(p)).alert_ids
            if want and want <= received or time.monotonic() > deadline:
                break
        assert want and received == want
        while "latest checkpoint: none" in vigia("flink", "status", env=env):
            assert time.monotonic() < deadline, "no checkpoint completed"
            time.sleep(0.5)
        assert "flink job stopped" in vigia("flink", "stop", env=env)
        status = vigia("flink", "status", env=env)
        assert "flink job: stopped" in status
        checkpoint = status.split("latest checkpoint: ")[1].strip()

        out = vigia("flink", "start", "--restore-latest", env=env)
        assert f"restored from {checkpoint}" in out
        assert job_properties(tmp_path)["restore.from"] == checkpoint
        assert "flink job: running" in vigia("flink", "status", env=env)

        vigia("flink", "start", "--from", "AT_TIMESTAMP", "--at", "2025-01-01T00:00:00Z", env=env)
        props = job_properties(tmp_path)
        assert (props["source.init.position"], props["source.init.timestamp"]) == ("AT_TIMESTAMP", "1735689600.000")
        assert "restore.from" not in props or not props["restore.from"]
    finally:
        vigia("flink", "stop", env=env)
    assert "flink job: stopped" in vigia("flink", "status", env=env)
