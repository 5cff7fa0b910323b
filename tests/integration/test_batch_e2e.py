"""End to end on the local runtime: stream -> local Firehose -> raw -> Glue ETL -> crawler -> Athena.

Expected numbers come from an independent pure-Python reference over the records that were put.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from glue import raw_to_gold
from tests.support.batch import envelope, objects, put
from vigia.local import aws
from vigia.local.athena import AthenaError, LocalAthena
from vigia.local.crawler import LocalCrawler
from vigia.local.firehose import LocalDelivery
from vigia_core import contract

pytestmark = pytest.mark.integration


def records(now: datetime) -> list[bytes]:
    rng = random.Random(3)
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=54)  # spans three days
    events = [envelope(i, source=rng.choice(["simulator", "weather"]), entity=f"sensor-{rng.randrange(4)}",
                       metric="humidity", unit="percent", value=round(rng.uniform(0, 100), 2),
                       at=start + timedelta(minutes=rng.randrange(53 * 60))) for i in range(300)]
    dup = [dict(events[i], ingest_time=contract.format_time(now)) for i in range(0, 300, 25)]  # 12 re-sends
    bad = [envelope(900, unit="percent", metric="humidity", value=101.0),            # out of range
           envelope(901, unit="kelvin"),                                             # wrong unit
           envelope(902, metric="radiation", unit="sv"),                            # unknown metric
           envelope(903, at=now + timedelta(hours=2)),                              # future
           {k: v for k, v in envelope(904).items() if k != "entity_id"}]            # contract
    bad = [dict(b, event_time=contract.format_time(start + timedelta(hours=1))) if i < 3 else b
           for i, b in enumerate(bad)]
    foreign = [b"<xml>not json</xml>", b'{"no": "partition keys"}']                 # Firehose errors
    return [json.dumps(e).encode() for e in events + dup + bad + [bad[0]]] + foreign


def reference(payloads: list[bytes], p, now: datetime) -> dict:
    """Where each record must end, computed without Spark, Firehose or DuckDB."""
    delivered, errors = [], 0
    for d in payloads:
        try:
            e = json.loads(d)
            assert isinstance(e["source"], str) and len(e["event_time"]) >= 13
            delivered.append(e)
        except (ValueError, KeyError, AssertionError, TypeError):
            errors += 1
    gold, quarantined = {}, set()
    for e in delivered:
        spec = p.metrics.get(e.get("metric"))
        ok = not contract.validate(e) and spec and e["unit"] == spec.unit and spec.min <= e["value"] <= spec.max \
            and contract.parse_time(e["event_time"]) <= now + timedelta(seconds=p.producer.max_future_skew_s)
        if ok:
            gold.setdefault(e["event_id"], e)
        else:
            quarantined.add(json.dumps(e, sort_keys=True))
    return {"raw_records": len(delivered), "firehose_errors": errors, "gold": gold,
            "quarantined": len(quarantined)}


def test_stream_to_athena_exact_numbers_and_idempotent_rerun(local_pipeline, aws_env, spark):
    p, now = local_pipeline, datetime.now(timezone.utc)
    payloads = records(now)
    put(aws.client("kinesis", p.region, aws_env), p.stream.name, payloads)
    ref = reference(payloads, p, now)

    stats = LocalDelivery(p, aws_env).drain()
    assert (stats.delivered, stats.errors) == (ref["raw_records"], ref["firehose_errors"])

    counts = raw_to_gold.run(spark, p, now=now)
    assert counts["raw_records"] == ref["raw_records"]
    assert counts["gold_rows"] == len(ref["gold"])
    assert counts["quarantined"] == ref["quarantined"]
    assert counts["gold_rows"] + counts["quarantined"] + counts["duplicates_dropped"] == counts["raw_records"]
    assert counts["already_quarantined"] == 0

    athena = LocalAthena(p, aws_env)  # the ETL registered its partitions: queryable before any crawl
    assert athena.query("SELECT count(*) FROM events").rows == [(len(ref["gold"]),)]
    crawled = LocalCrawler(p, aws_env).crawl_all()
    assert crawled["vigia-gold-crawler"].partitions_added == 0
    assert crawled["vigia-raw-crawler"].tables_created == ["raw"]

    assert athena.query("SELECT count(*) FROM raw").rows == [(ref["raw_records"],)]
    by_source = Counter(e["source"] for e in ref["gold"].values())
    assert dict(athena.query("SELECT source, count(*) FROM events GROUP BY source").rows) == by_source
    first_day = (now - timedelta(days=1)).date()  # the parameter drops the oldest day
    hourly = {(r[0], r[1], r[2], r[4].replace(tzinfo=timezone.utc)): (r[5], r[6], r[7])
              for r in athena.query(open("athena/queries/hourly_rollup.sql").read(), [str(first_day)]).rows}
    expected: dict = {}
    for e in ref["gold"].values():
        t = contract.parse_time(e["event_time"])
        if t.date() >= first_day:
            key = (e["source"], e["entity_id"], e["metric"], t.replace(minute=0, second=0, microsecond=0))
            expected.setdefault(key, []).append(e["value"])
    assert 0 < sum(map(len, expected.values())) < len(ref["gold"])
    assert hourly == {k: (len(v), min(v), max(v)) for k, v in expected.items()}
    reasons = dict((r[0], r[1]) for r in athena.query(open("athena/queries/quarantine_reasons.sql").read()).rows)
    assert reasons == {"value": 1, "unit": 1, "metric": 1, "event_time": 1, "entity_id": 1}

    gold_before = {k: len(v) for k, v in objects(aws.client("s3", p.region, aws_env), p.buckets.gold).items()}
    assert raw_to_gold.run(spark, p, now=now)["raw_records"] == 0  # the bookmark: no new raw object
    again = raw_to_gold.run(spark, p, now=now, full=True)
    assert (again["gold_rows"], again["quarantined"], again["already_quarantined"]) == (0, 0, ref["quarantined"])
    assert again["duplicates_dropped"] + again["already_quarantined"] == ref["raw_records"]
    assert {k: len(v) for k, v in objects(aws.client("s3", p.region, aws_env), p.buckets.gold).items()} == gold_before


def test_athena_errors_are_clear(local_pipeline, aws_env):
    athena = LocalAthena(local_pipeline, aws_env)
    with pytest.raises(AthenaError, match="syntax error"):
        athena.query("SELEC count(*) FROM events")
    with pytest.raises(AthenaError, match=r"Table '.*\.nope' does not exist"):
        athena.query("SELECT * FROM nope")
