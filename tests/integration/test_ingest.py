"""simulator -> producer -> Kinesis (moto server) -> read back, with rejects, retries and cursors."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import boto3
import pytest

from producer import handler as producer
from producer.adapters import ADAPTERS
from producer.adapters.base import event_id
from tests.conftest import with_settings, with_source
from tests.support.kinesis_fault_proxy import FaultProxy
from vigia import simulator
from vigia.cli import ingest
from vigia.local import stream
from vigia.local.producer import produce, reject_reasons
from vigia_core import clock

pytestmark = pytest.mark.integration


SETTINGS = simulator.Settings(seed=3, count=1200)  # anchored to the time of the run


def looks_valid(item: dict) -> bool:
    """An independent statement of which simulator items are valid events."""
    return (isinstance(item.get("id"), str) and isinstance(item.get("sensor"), str)
            and isinstance(item.get("value"), float) and simulator.in_timeline(item.get("ts"), SETTINGS))


def stream_event_ids(p) -> Counter:
    return Counter(json.loads(r)["event_id"] for r in stream.read_records(p))


def rejects(p) -> list[dict]:
    s3 = boto3.client("s3", region_name=p.region)
    out = []
    for obj in s3.list_objects_v2(Bucket=p.buckets.raw, Prefix=p.producer.rejects_prefix).get("Contents", []):
        body = s3.get_object(Bucket=p.buckets.raw, Key=obj["Key"])["Body"].read().decode()
        out.extend(json.loads(line) for line in body.splitlines())
    return out


@pytest.fixture
def sim_pipeline(local_pipeline, simulator_server):
    p = with_source(local_pipeline, "simulator", url=simulator_server(SETTINGS), page_size=250)
    return p, simulator.generate(SETTINGS)


def test_valid_items_arrive_exactly_once_and_invalid_ones_are_rejected_with_reasons(sim_pipeline):
    p, items = sim_pipeline
    result = produce(p, ["simulator"])
    valid = [i for i in items if looks_valid(i)]
    invalid = [i for i in items if not looks_valid(i)]
    assert invalid, "the simulator must serve invalid items for this test to mean anything"
    assert result["source_items"] == len(items) and result["pages"] == 5
    assert result["produced"] == len(valid) and result["rejected"] == len(invalid)

    ids = stream_event_ids(p)
    assert set(ids) == {event_id("simulator", i["id"]) for i in valid}
    assert max(ids.values()) == 1

    rej = rejects(p)
    assert sorted(r["item_id"] for r in rej) == sorted(i["id"] for i in invalid)
    for r in rej:
        assert r["kind"] == "invalid" and r["errors"] and r["reason"]
        assert all(e["field"] and e["reason"] for e in r["errors"])
    by_id = {r["item_id"]: r for r in rej}
    for item in invalid:  # the reason names the field the item got wrong
        if "value" not in item or not isinstance(item["value"], float):
            assert by_id[item["id"]]["errors"][0]["field"] == "value"

    # The rejects were counted as a metric (EMF -> CloudWatch on the local endpoint).
    cw = boto3.client("cloudwatch", region_name=p.region)
    stats = cw.get_metric_statistics(Namespace="Vigia", MetricName="ItemsRejected", Statistics=["Sum"],
                                     Dimensions=[{"Name": "service", "Value": "producer"},
                                                 {"Name": "source", "Value": "simulator"}],
                                     StartTime="2020-01-01", EndTime="2100-01-01", Period=86400 * 365)
    assert sum(d["Sum"] for d in stats["Datapoints"]) >= len(invalid)


def test_reject_reasons_group_by_the_rule_broken_not_the_value(sim_pipeline):
    p, items = sim_pipeline
    result = produce(p, ["simulator"])
    rows = reject_reasons(p)
    assert sum(n for _, _, n, _ in rows) == result["rejected"]
    assert len({(field, kind) for field, kind, _, _ in rows}) == len(rows)
    # every simulator item with a non-numeric value is one group, whatever the value was
    (value_type,) = [n for field, kind, n, _ in rows if (field, kind) == ("value", "type")]
    assert value_type == sum(1 for i in items if "value" in i and not isinstance(i["value"], float)
                             and isinstance(i.get("sensor"), str) and isinstance(i.get("id"), str))


def test_a_second_poll_resends_nothing(sim_pipeline):
    p, items = sim_pipeline
    first = producer.run(p, ["simulator"])
    second = producer.run(p, ["simulator"])
    assert first["produced"] > 0
    assert second["source_items"] == 0 and second["produced"] == 0
    assert sum(stream_event_ids(p).values()) == first["produced"]


def test_an_overlapping_run_never_moves_the_cursor_back(sim_pipeline):
    """Runs can overlap (EventBridge and async Lambda are at-least-once); the cursor moves only by
    S3 conditional writes (If-None-Match: * for the first, If-Match the ETag read), so the run that
    was overtaken stops instead of writing its older cursor over the newer one."""
    p, items = sim_pipeline
    late = producer.Producer(p)
    read_cursor = late.cursors.get
    overlapping = {}

    def read_then_overlap(name):
        cursor = read_cursor(name)
        overlapping.update(producer.run(p, ["simulator"]))  # starts after, finishes first
        return cursor

    late.cursors.get = read_then_overlap
    stats = late.poll(p.producer.source("simulator"))

    assert overlapping["source_items"] == len(items) and overlapping["sources"]["simulator"]["overtaken"] == 0
    assert stats.overtaken == 1 and stats.pages == 1 and stats.poll_error is None
    after = producer.run(p, ["simulator"])  # the cursor is where the overlapping run left it
    assert after["source_items"] == 0
    # the overtaken run's one page is re-sent with the same event_ids: counted duplicates downstream
    ids = stream_event_ids(p)
    assert sum(ids.values()) == overlapping["produced"] + stats.produced
    assert set(ids) == {event_id("simulator", i["id"]) for i in items if looks_valid(i)}


def test_a_stale_cursor_write_is_refused(local_pipeline, aws_env):
    from producer.cursors import CursorConflict, CursorStore

    p = local_pipeline
    store = CursorStore(boto3.client("s3", region_name=p.region), p.buckets.artifacts, p.producer.cursor_prefix)
    first = store.get("simulator")
    assert first.etag is None
    mine = store.put("simulator", "a", first)
    theirs = store.put("simulator", "b", mine)
    with pytest.raises(CursorConflict):
        store.put("simulator", "c", mine)  # mine is stale: "b" was written since
    with pytest.raises(CursorConflict):
        store.put("simulator", "c", first)  # a first write when a cursor exists
    assert store.get("simulator") == theirs


def test_api_errors_are_retried(local_pipeline, simulator_server):
    settings = simulator.Settings(seed=5, count=300)
    p = with_source(local_pipeline, "simulator", url=simulator_server(settings, faults=[503, 429, 500]))
    p = with_settings(p, "producer.http", backoff_base_s=0.01)
    result = producer.run(p, ["simulator"])
    assert result["sources"]["simulator"]["poll_error"] is None
    assert result["source_items"] == 300


def test_api_down_fails_the_poll_and_keeps_the_cursor(local_pipeline, simulator_server):
    settings = simulator.Settings(seed=5, count=300)
    p = with_source(local_pipeline, "simulator", url=simulator_server(settings, faults=[503] * 3))
    p = with_settings(p, "producer.http", backoff_base_s=0.01, max_attempts=3)
    down = producer.run(p, ["simulator"])
    assert "503" in down["sources"]["simulator"]["poll_error"] and down["produced"] == 0
    up = producer.run(p, ["simulator"])  # faults used up: the next poll starts from the same cursor
    assert up["source_items"] == 300


def test_partial_failures_resend_only_the_failed_records(sim_pipeline, aws_env):
    p, items = sim_pipeline
    p = with_settings(p, "producer.kinesis", backoff_base_s=0.01, max_attempts=3)
    valid_ids = [event_id("simulator", i["id"]) for i in items if looks_valid(i)]
    fail_once = set(valid_ids[::7])
    always = set(valid_ids[3::97]) - fail_once

    def should_fail(event, attempt):
        return event["event_id"] in always or (event["event_id"] in fail_once and attempt == 1)

    with FaultProxy(f"http://127.0.0.1:{aws_env}", should_fail) as proxy:
        kinesis = boto3.client("kinesis", region_name=p.region, endpoint_url=proxy.url)
        result = producer.run(p, ["simulator"], kinesis=kinesis)

    # Each record was sent once, the ones failed once twice, the always-failing ones max_attempts times.
    for eid in valid_ids:
        expected = 3 if eid in always else 2 if eid in fail_once else 1
        assert proxy.attempts[eid] == expected, eid
    assert result["put_failed"] == len(always) and result["put_retried"] > 0
    ids = stream_event_ids(p)
    assert set(ids) == set(valid_ids) - always and max(ids.values()) == 1
    failed = [r for r in rejects(p) if r["kind"] == "put_failed"]
    assert {r["item"]["event_id"] for r in failed} == always
    assert all(r["error_code"] == "ProvisionedThroughputExceededException" for r in failed)


def test_records_over_the_size_limit_are_rejected_with_the_reason(sim_pipeline):
    p, items = sim_pipeline
    src = p.producer.source("simulator")
    sizes = sorted(len(json.dumps(ADAPTERS["simulator"].to_event(i, src, clock.now()),
                                  separators=(",", ":"))) + len(i["sensor"]) for i in items if looks_valid(i))
    limit = sizes[len(sizes) // 2]  # about half the records are over the limit
    p = with_settings(p, "producer.kinesis", max_record_bytes=limit)
    result = producer.run(p, ["simulator"])
    records = stream.read_records(p)
    too_large = [r for r in rejects(p) if r["kind"] == "too_large"]
    assert records and too_large, "the limit must split the data for this test to mean anything"
    assert all(len(r) + len(json.loads(r)["entity_id"]) <= limit for r in records)
    assert all(f"exceeds the Kinesis record limit of {limit} bytes" in r["reason"] for r in too_large)
    assert len(records) + len(too_large) == sum(looks_valid(i) for i in items) == result["produced"] + result["too_large"]


def test_the_lambda_entry_point_polls_the_sources_it_is_given(sim_pipeline, tmp_path, monkeypatch):
    """handler(event, context) as Lambda calls it: definition from VIGIA_PIPELINE, Powertools on."""
    from dataclasses import dataclass

    import yaml

    p, items = sim_pipeline
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(p.model_dump(mode="json")))
    monkeypatch.setenv("VIGIA_PIPELINE", str(path))

    @dataclass
    class Context:  # the attributes Powertools reads from a Lambda context
        function_name: str = "vigia-producer"
        memory_limit_in_mb: int = 256
        invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:vigia-producer"
        aws_request_id: str = "req-1"

    result = producer.handler({"sources": ["simulator"]}, Context())
    assert result["source_items"] == len(items) and list(result["sources"]) == ["simulator"]
    assert sum(stream_event_ids(p).values()) == result["produced"] == sum(looks_valid(i) for i in items)


def test_the_demo_stage_says_why_when_every_item_is_rejected(local_pipeline, aws_env, simulator_server, monkeypatch):
    """A replay stamped long before the producer's age limit: the stage stops with the count and
    the top reason, not a traceback further down the pipeline."""
    from rich.console import Console

    from vigia.cli.stage import Demo, StageError

    monkeypatch.setenv("VIGIA_MOTO_PORT", str(aws_env))  # the stage's foreign writer uses the default endpoint
    settings = simulator.Settings(seed=5, count=200, invalid_rate=0,
                                  start=clock.now() - timedelta(days=local_pipeline.producer.max_event_age_days + 5))
    p = with_source(local_pipeline, "simulator", url=simulator_server(settings))
    demo = Demo(p, settings, "unused", Console(quiet=True))
    with pytest.raises(StageError) as err:
        ingest.demo_stage(demo)
    assert str(err.value).startswith("ingest: the producer put none of the 200 items")
    assert "event_time too_old (200 items" in str(err.value) and demo.summary["rejected"] == 200
