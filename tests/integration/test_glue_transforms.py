"""Raw -> gold transformations on a local SparkSession: reasons, arrival, casting, dedup, aggregates."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from pyspark.sql import types as T

from glue import transforms
from tests.support.batch import T0, envelope
from vigia_core import config, contract
from vigia_core.contract.checks import Limits

pytestmark = pytest.mark.integration
NOW = T0 + timedelta(days=1)
P = config.load()
LIMITS = Limits.of(P)
INTERVAL = P.firehose.buffering.interval_s
FIREHOSE_FILE = "s3a://b/raw/src=simulator/dt=2026-11-01/hour=10/vigia-raw-delivery-1-2026-11-01-10-00-05-" \
                "0b9a5f3e-6c1d-4a8e-9f2b-7d3c1e5a4b6f.json.gz"


def raw_df(spark, records: list, file: str = "s3a://b/raw/f1.json.gz"):
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return spark.createDataFrame([(line, file) for line in lines], "line string, source_file string")


def checked(spark, records, file: str = "s3a://b/raw/f1.json.gz"):
    return transforms.validate(raw_df(spark, records, file), LIMITS, NOW, INTERVAL)


def stored(df, key_columns):
    """A stand-in for the gold reader: the stored rows of the requested days."""
    return lambda days: df.where(df.dt.isin(days)).select(*key_columns) if df is not None else None


def split(spark, records, existing=None, existing_q=None):
    return transforms.split(checked(spark, records), NOW, stored(existing, ["event_id"]),
                            stored(existing_q, ["dt", "record_id"]))


def test_reasons_name_the_field_and_the_rule(spark):
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
        "1970, too old": envelope(9, at=datetime(1970, 1, 1, tzinfo=timezone.utc)),
    }
    rows = checked(spark, list(cases.values())).select("reason_code", "reason").collect()
    got = dict(zip(cases, rows, strict=True))
    assert got["valid"].reason is None and got["at the skew limit"].reason is None
    assert {k: r.reason_code for k, r in got.items() if r.reason_code} == {
        "not json": "record.json", "missing field": "entity_id.required", "wrong type": "value.type",
        "unknown metric": "metric.declared", "wrong unit": "unit.unit", "out of range": "value.range",
        "future": "event_time.in_future", "1970, too old": "event_time.too_old"}
    assert got["wrong unit"].reason == 'unit: is not the declared unit of the metric (got "kelvin", 6 chars)'
    assert got["missing field"].reason == "entity_id: is required but missing"
    assert got["not json"].reason == 'record: not a UTF-8 JSON text (got "{not json", 9 chars)'


def test_a_reason_quotes_a_short_prefix_and_the_length_never_the_value(spark):
    huge = envelope(1, unit="k" * 1_200_000)
    row = checked(spark, [huge]).select("reason", "line").collect()[0]
    assert row.reason == f'unit: must have at most 32 characters (got "{"k" * 32}", 1200000 chars)'
    assert len(row.line) > 1_200_000  # the record itself stays whole (it is what quarantine stores)


def test_age_rules_are_measured_against_the_arrival_in_the_firehose_object_name(spark):
    """The object name carries the oldest record's arrival (10:00:05); each record's ingest_time is
    clamped into [that, that + buffer interval], so a forged ingest_time cannot make an old event young."""
    arrived = datetime(2026, 11, 1, 10, 0, 5, tzinfo=timezone.utc)
    max_age = timedelta(days=P.producer.max_event_age_days)
    forged = envelope(1, at=arrived - max_age - timedelta(days=1))
    forged["ingest_time"] = contract.format_time(arrived - max_age)  # claims it was read 30 days ago
    honest_late = envelope(2, at=arrived + timedelta(seconds=INTERVAL))  # ingested at the end of the buffer
    honest_late["ingest_time"] = contract.format_time(arrived + timedelta(seconds=INTERVAL))
    oldest_ok = envelope(3, at=arrived - max_age)
    rows = checked(spark, [forged, honest_late, oldest_ok], FIREHOSE_FILE).select("reason_code", "arrival_dt").collect()
    assert [r.reason_code for r in rows] == ["event_time.too_old", None, None]
    assert {r.arrival_dt for r in rows} == {"2026-11-01"}


def test_gold_rows_are_typed_from_the_contract(spark):
    e = envelope(1, value=42, attributes={"site": "plant-b", "fw": "1.2"})
    gold = split(spark, [e]).gold
    fields = {f.name: f.dataType for f in gold.schema.fields}
    assert {f.name: f.dataType for f in transforms.event_schema().fields}.items() <= fields.items()
    assert fields["event_time"] == T.TimestampType() and fields["dt"] == T.StringType()
    row = gold.collect()[0]
    assert row.value == 42.0 and row.attributes == {"site": "plant-b", "fw": "1.2"} and row.schema_version == 1
    assert row.event_time.replace(tzinfo=timezone.utc) == contract.parse_time(e["event_time"])
    assert row.dt == e["event_time"][:10]


def test_duplicates_and_already_quarantined_records_are_counted_apart(spark):
    first = envelope(1, value=10.0)
    later_copy = dict(first, value=99.0, ingest_time=contract.format_time(T0 + timedelta(hours=1)))
    already_in_gold = envelope(2)
    bad, other_bad = envelope(3, unit="kelvin"), envelope(5, unit="kelvin")
    records = [later_copy, first, already_in_gold, envelope(4), bad, bad, other_bad]
    existing = split(spark, [already_in_gold]).gold
    existing_q = split(spark, [bad]).quarantine

    s = split(spark, records, existing, existing_q)

    gold = {r.event_id: r.value for r in s.gold.collect()}
    assert gold == {first["event_id"]: 10.0, envelope(4)["event_id"]: 21.5}  # the first ingested copy wins
    assert [r.raw_record for r in s.quarantine.collect()] == [json.dumps(other_bad)]
    assert (s.raw_records, s.duplicates_dropped, s.already_quarantined) == (7, 3, 1)
    assert s.raw_records == len(gold) + s.quarantine.count() + s.duplicates_dropped + s.already_quarantined


def test_dedup_asks_only_for_the_days_the_batch_can_collide_with(spark):
    asked = []

    def spy(days):
        asked.append(days)
        return None

    today, days_ago = envelope(1, at=T0), envelope(2, at=T0 - timedelta(days=2))
    transforms.split(checked(spark, [today, days_ago, envelope(3, unit="kelvin")]), NOW, spy, spy)
    assert asked == [["2026-10-30", "2026-11-01"], [NOW.date().isoformat()]]


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


def test_copies_of_an_event_id_are_one_event_whatever_their_event_days(spark):
    """Within a batch an event_id is one event even when a copy carries another day's time; the days
    asked of gold are those of every valid copy."""
    first = envelope(1, at=T0)
    later_copy = dict(envelope(1, at=T0 - timedelta(days=2)), ingest_time=contract.format_time(T0 + timedelta(hours=1)))
    asked = []

    def spy(days):
        asked.append(days)
        return None

    s = transforms.split(checked(spark, [later_copy, first, envelope(2)]), NOW, spy, spy)
    assert sorted((r.event_id, r.dt) for r in s.gold.collect()) == [
        (first["event_id"], "2026-11-01"), (envelope(2)["event_id"], "2026-11-01")]
    assert (s.raw_records, s.gold_rows, s.duplicates_dropped, s.quarantined) == (3, 2, 1, 0)
    assert asked == [["2026-10-30", "2026-11-01"]]  # no invalid record: no quarantine day to ask for


def test_a_batch_without_invalid_records_has_an_empty_quarantine_of_the_same_schema(spark):
    """The catalog registers the quarantine table with the schema of `Split.quarantine`."""
    clean = split(spark, [envelope(1)])
    with_invalid = split(spark, [envelope(1), envelope(2, unit="kelvin")])
    assert clean.quarantine.collect() == [] and clean.quarantined == 0
    assert clean.quarantine.schema == with_invalid.quarantine.schema and with_invalid.quarantined == 1
