"""Raw -> gold transformations on a local SparkSession: validation reasons, casting, dedup, aggregates."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from pyspark.sql import types as T

from glue import transforms
from tests.support.batch import T0, envelope
from vigia import config, contract

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 2, tzinfo=timezone.utc)
P = config.load()


def raw_df(spark, records: list, file: str = "s3a://b/raw/f1.json.gz"):
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return spark.createDataFrame([(line, file) for line in lines], "line string, source_file string")


def split(spark, records, existing=None, existing_q=None):
    return transforms.split(raw_df(spark, records), existing, existing_q, P.metrics, NOW,
                            P.producer.max_future_skew_s)


def test_validation_gives_a_reason_naming_the_field(spark):
    no_entity = envelope(2)
    del no_entity["entity_id"]
    cases = {
        "valid": envelope(1),
        "not json": "{not json",
        "missing field": no_entity,
        "wrong type": envelope(3, value="hot"),
        "unknown metric": envelope(4, metric="radiation", unit="sv"),
        "wrong unit": envelope(5, unit="kelvin"),
        "out of range": envelope(6, value=151.0),
        "future": envelope(7, at=NOW + timedelta(hours=1)),
        "at the skew limit": envelope(8, at=NOW + timedelta(seconds=P.producer.max_future_skew_s)),
    }
    rows = transforms.validate(raw_df(spark, list(cases.values())), P.metrics, NOW,
                               P.producer.max_future_skew_s).select("reason").collect()
    reasons = dict(zip(cases, (r.reason for r in rows), strict=True))
    assert reasons["valid"] is None and reasons["at the skew limit"] is None
    assert reasons["not json"].startswith("(record): not valid JSON")
    assert reasons["missing field"] == "; ".join(map(str, contract.validate(no_entity)))
    assert reasons["wrong type"].startswith("value: must be of type number")
    assert reasons["unknown metric"] == "metric: radiation is not declared in the pipeline's metrics"
    assert reasons["wrong unit"] == "unit: must be celsius for temperature, got kelvin"
    assert reasons["out of range"].startswith("value: 151.0 is outside the physical range [-90.0, 150.0]")
    assert reasons["future"].startswith("event_time: ") and "is in the future" in reasons["future"]


def test_gold_rows_are_typed_from_the_contract(spark):
    e = envelope(1, value=42, attributes={"site": "plant-b", "fw": "1.2"})
    gold = split(spark, [e]).gold
    fields = {f.name: f.dataType for f in gold.schema.fields}
    assert {f.name: f.dataType for f in transforms.event_schema().fields}.items() <= fields.items()
    assert fields["event_time"] == T.TimestampType() and fields["dt"] == T.StringType()
    row = gold.collect()[0]
    assert row.value == 42.0 and row.attributes == {"site": "plant-b", "fw": "1.2"}
    assert row.event_time.replace(tzinfo=timezone.utc) == contract.parse_time(e["event_time"])
    assert row.dt == e["event_time"][:10]


def test_duplicates_are_dropped_within_the_batch_and_against_gold(spark):
    first = envelope(1, value=10.0)
    later_copy = dict(first, value=99.0, ingest_time=contract.format_time(T0 + timedelta(hours=1)))
    already_in_gold = envelope(2)
    bad = envelope(3, unit="kelvin")
    records = [later_copy, first, already_in_gold, envelope(4), bad, bad]
    existing = split(spark, [already_in_gold]).gold
    existing_q = split(spark, [bad]).quarantine

    s = split(spark, records, existing, existing_q)

    gold = {r.event_id: r.value for r in s.gold.collect()}
    assert gold == {first["event_id"]: 10.0, envelope(4)["event_id"]: 21.5}  # the first ingested copy wins
    assert s.quarantine.count() == 0  # the same invalid record was quarantined by an earlier run
    assert (s.raw_records, s.duplicates_dropped) == (6, 4)
    assert s.raw_records == len(gold) + s.quarantine.count() + s.duplicates_dropped


def test_hourly_aggregates_match_a_python_reference(spark):
    rng = random.Random(7)
    events, ref, last = [], {}, {}
    for i in range(400):
        entity, hour = f"sensor-{rng.randrange(3)}", rng.randrange(3)
        value, at = round(rng.uniform(-20, 60), 3), T0 + timedelta(hours=hour, seconds=rng.randrange(3600))
        events.append(envelope(i, entity=entity, value=value, at=at))
        ref.setdefault((entity, hour), []).append(value)
        last[(entity, hour)] = max(last.get((entity, hour), at), at)
    gold = split(spark, events).gold
    rows = transforms.hourly(gold).collect()
    assert len(rows) == len(ref)
    for r in rows:
        key = (r.entity_id, (r.hour.replace(tzinfo=timezone.utc) - T0).seconds // 3600)
        vals = ref[key]
        assert r.last_event_time.replace(tzinfo=timezone.utc) == last[key]
        assert (r.readings, r.min_value, r.max_value) == (len(vals), min(vals), max(vals))
        assert r.avg_value == pytest.approx(sum(vals) / len(vals))
        assert r.p95_value == pytest.approx(float(np.percentile(vals, 95)))
