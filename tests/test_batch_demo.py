"""The demo's batch stage on the local runtime: the summary's accounting equalities hold."""

from __future__ import annotations

import pytest
from rich.console import Console

from tests.batch_support import envelope, put_events
from vigia import batch_demo, simulator
from vigia.demo import Demo
from vigia.local import aws

pytestmark = pytest.mark.integration


def test_batch_stage_accounts_for_every_record(local_pipeline, aws_env, spark, monkeypatch):
    monkeypatch.setenv("VIGIA_MOTO_PORT", str(aws_env))  # the stage uses the default endpoint
    p = local_pipeline
    events = [envelope(i, entity=f"sensor-{i % 5}") for i in range(200)]
    put_events(aws.client("kinesis", p.region, aws_env), p.stream.name, events)
    demo = Demo(p, simulator.Settings(), "http://unused", Console(quiet=True), {"in_stream": len(events)})

    batch_demo.demo_stage(demo)

    s = demo.summary
    assert s["foreign_records"] == 6 and s["in_stream"] == 206
    assert s["raw_records"] + s["firehose_errors"] == s["in_stream"]
    assert s["gold_rows"] + s["quarantined"] + s["duplicates_dropped"] == s["raw_records"]
    assert (s["firehose_errors"], s["quarantined"], s["duplicates_dropped"]) == (2, 2, 2)
    assert s["gold_rows"] == len(events)
    assert s["queries_ok"] == len(list(batch_demo.QUERIES.glob("*.sql")))
