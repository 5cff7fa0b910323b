"""End to end: simulator -> the real producer -> Kinesis (moto) -> our connector in PyFlink.

The table's columns are derived from the event contract (never copied), so this also shows the
envelope the producer writes decodes through the connector with the json format, field by field.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.conftest import with_source
from tests.flink_connector.conftest import Stream
from vigia import simulator
from vigia.local import provision
from vigia.local.producer import produce
from vigia.local.stream import read_events
from vigia_core import contract

pytestmark = pytest.mark.integration

FLINK_TYPES = {"string": "STRING", "double": "DOUBLE", "int": "INT",
               "timestamp": "STRING",  # ISO-8601 text; the job derives its event time from it
               "map<string,string>": "MAP<STRING, STRING>"}


def contract_columns() -> str:
    return ", ".join(f"`{c.name}` {FLINK_TYPES[c.type]}" for c in contract.columns())


def test_every_event_the_producer_wrote_is_read_once_with_its_fields(flink, local_pipeline, aws_env,
                                                                       simulator_server):
    settings = simulator.Settings(seed=11, count=400)
    p = with_source(local_pipeline, "simulator", url=simulator_server(settings), page_size=200)
    result = produce(p, ["simulator"])
    assert result["produced"] > 0 and result["rejected"] > 0  # the simulator serves bad items too
    in_stream = {e["event_id"]: e for e in read_events(p)}  # independent reference (boto3)
    assert len(in_stream) == result["produced"]

    stream = Stream(boto3.client("kinesis", region_name=p.region), aws_env, provision.stream_arn(p))
    flush = stream.put_per_shard("flush", id_field="event_id")
    options = stream.options({"source.init.position": "TRIM_HORIZON", "json.ignore-parse-errors": "true"})
    flink.call("open", name="envelopes", columns=contract_columns(), options=options)
    try:
        names = [c.name for c in contract.columns()]
        done = lambda rows: set(flush) <= {r[names.index("event_id")] for r in rows}  # noqa: E731
        rows = [dict(zip(names, r)) for r in flink.rows_until("envelopes", done)]
    finally:
        flink.call("cancel", name="envelopes")
    events = [r for r in rows if r["event_id"] not in flush]
    assert sorted(r["event_id"] for r in events) == sorted(in_stream)
    for row in events:
        sent = in_stream[row["event_id"]]
        for name in names:
            # JSON round trip: what Flink decoded equals what the producer put, field by field
            assert json.loads(json.dumps(row[name])) == sent.get(name), (name, row, sent)
