"""End to end on the local runtime: simulator -> producer -> Kinesis (moto) -> the job with the
Kinesis connector -> SNS -> the inbox SQS queue subscribed to the alert topic.

The expected alerts come from the reference evaluator over what is in the stream. The job runs as
its own process (`python -m flink_app.main`, as vigia/local/flink.py starts it) with CBOR off.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import pytest

from producer import handler as producer
from vigia import simulator
from vigia.local import expected_alerts, flink, inbox, services
from vigia.local.variants import unique_pipeline, with_settings, with_source
from vigia_core import config

pytest.importorskip("pyflink")
pytestmark = pytest.mark.integration


@contextmanager
def simulator_source(p: config.Pipeline, count: int, **settings):
    """A simulator replaying `count` items on a free port, and `p` pointing its source there."""
    server = simulator.make_server(simulator.Settings(count=count, **settings), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield with_source(p, "simulator", url=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()


def test_alerts_reach_the_subscribed_queue(local_pipeline, aws_env, job_state):
    """Every rule of the pipeline (one of each kind) through Kinesis: the simulator's timeline of
    3000 items is long enough for the drifting sensor to be held hot and the stopped one to return."""
    with simulator_source(local_pipeline, count=3000) as p:
        produced = producer.run(p, ["simulator"], local_only=True)
        assert produced["produced"] > 1000
        expected_alerts.end_of_replay_markers(p)
        per_shard = expected_alerts.expected(p)
        flink.start(p, job_state / "job", port=aws_env, init_position="TRIM_HORIZON")  # a replay
        expected, received = expected_alerts.wait_for_alerts(p, timeout_s=300)
    want = expected.alert_ids
    assert want, "the simulator's seeded anomalies must raise alerts"
    assert {a["alert_id"] for a in received} == want
    assert {a["rule"] for a in received} == {r.name for r in p.rules}
    assert {a["rule_kind"] for a in received} == {"threshold", "change", "anomaly", "absence"}
    assert any(a["status"] == "resolved" for a in received)
    by_id = {a.alert_id: a for a in expected.alerts}
    for a in received:  # the payload, and the attributes subscription filter policies match on
        # Flink sums a mean's partial aggregates in another order than the reference: the last bits
        # of `observed`, threshold and baseline may differ
        want_a = {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v
                  for k, v in by_id[a["alert_id"]].to_dict().items()}
        assert a == {**want_a, "_received_at": a["_received_at"], "_attributes": a["_attributes"]}
        assert a["_attributes"]["severity"]["Value"] == a["severity"]
        assert a["_attributes"]["rule"]["Value"] == a["rule"]
    # Every event the job stored as late is late within its own shard: per-split watermarks can lag
    # the shard's own order (they are emitted periodically), never run ahead of it.
    assert per_shard.late, "the simulator's late readings must be in the stream"
    assert {e["event_id"] for e in expected.late} <= {e["event_id"] for e in per_shard.late}


def test_restart_from_checkpoint_delivers_every_alert(aws_env, job_state):
    from vigia.local import provision

    p0 = unique_pipeline(with_settings(config.load(), "flink", checkpoint_interval_s=2),
                         f"restart{time.time_ns() % 10**8}")
    provision.provision(p0, aws_env)
    ckpt = job_state / "checkpoints"
    # No late readings here: this test is about alerts across a restore; a late event across a
    # restore (the connector restores the shards' watermarks) is tests/integration/test_flink_restart.py.
    with simulator_source(p0, count=600, late_rate=0.0) as p:   # the first part of the timeline
        producer.run(p, ["simulator"], local_only=True)
        flink.start(p, job_state / "job", port=aws_env, init_position="TRIM_HORIZON", checkpoint_dir=ckpt.as_uri())
        deadline = time.monotonic() + 240
        while flink.latest_checkpoint(ckpt) is None or int(flink.latest_checkpoint(ckpt).name[4:]) < 2:
            assert time.monotonic() < deadline, "no checkpoint completed"
            assert services.running_pid(flink.SERVICE), "the job exited"
            time.sleep(0.5)
        flink.stop()                              # killed mid-stream
        first = inbox.receive(p)
    with simulator_source(p0, count=1200, late_rate=0.0) as p:   # the producer resumes at its cursor
        producer.run(p, ["simulator"], local_only=True)
        expected_alerts.end_of_replay_markers(p)
        # LATEST: the second part is already in the stream, so only the restored shard positions
        # (not the initial position) can make the job read it.
        flink.start(p, job_state / "job", port=aws_env, init_position="LATEST", checkpoint_dir=ckpt.as_uri(),
                    restore_from=str(flink.latest_checkpoint(ckpt)))
        expected, received = expected_alerts.wait_for_alerts(p, timeout_s=300, received=list(first))
    assert expected.alert_ids and {a["alert_id"] for a in received} == expected.alert_ids
