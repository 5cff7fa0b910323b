"""The demo's batch stage after the real producer: the summary's accounting equalities hold."""

from __future__ import annotations

import pytest
from rich.console import Console

from tests.conftest import with_source
from vigia import foreign_writer, simulator
from vigia.cli import batch
from vigia.cli.stage import Demo
from vigia.local import stream
from vigia.local.producer import produce

pytestmark = pytest.mark.integration


def test_batch_stage_accounts_for_every_record(local_pipeline, aws_env, simulator_server, spark, monkeypatch):
    monkeypatch.setenv("VIGIA_MOTO_PORT", str(aws_env))  # the stage uses the default endpoint
    settings = simulator.Settings(seed=5, count=400)
    p = with_source(local_pipeline, "simulator", url=simulator_server(settings))
    produced = produce(p, ["simulator"])["produced"]
    foreign = foreign_writer.inject(p, aws_env)
    in_stream = len(stream.read_records(p))
    assert foreign == 6 and in_stream == produced + foreign and produced > 0
    demo = Demo(p, settings, "unused", Console(quiet=True), {"in_stream": in_stream})

    batch.demo_stage(demo)

    s = demo.summary
    assert s["raw_records"] + s["firehose_errors"] == s["in_stream"]
    assert s["gold_rows"] + s["quarantined"] + s["duplicates_dropped"] + s["already_quarantined"] == s["raw_records"]
    assert (s["firehose_errors"], s["quarantined"], s["duplicates_dropped"], s["already_quarantined"]) == (2, 2, 2, 0)
    assert s["gold_rows"] == produced
    assert s["queries_ok"] == len(list(batch.QUERIES.glob("*.sql")))
