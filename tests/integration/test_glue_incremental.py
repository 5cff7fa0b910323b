"""The ETL's cost follows the new data: only new raw objects are read (local bookmark), day files are
compacted once the day is complete, and the partitions written are in the catalog without a crawl.
Raw objects are written as the delivery stream writes them; storage is checked by listing it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from glue import raw_to_gold
from glue.bookmark import Bookmark
from tests.support.batch import envelope, put_raw_object
from vigia.local import aws
from vigia_core import clock

pytestmark = pytest.mark.integration


def hour_of(day, h: int):
    return day + timedelta(hours=h)


def readings(first: int, hour, n: int = 20, **kw) -> list[dict]:
    return [envelope(first + i, at=hour + timedelta(minutes=i * 60 // n), **kw) for i in range(n)]


def data_files(s3, bucket: str, prefix: str) -> dict[str, int]:
    """Data files per folder under `prefix`."""
    out: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            folder, name = o["Key"].rsplit("/", 1)
            if not name.startswith(("_", ".")):
                out[folder] = out.get(folder, 0) + 1
    return out


def stored_objects(s3, bucket: str) -> dict[str, str]:
    return {o["Key"]: o["ETag"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])}


@pytest.fixture
def day():
    return clock.hour_floor(clock.now()).replace(hour=0) - timedelta(days=3)


def test_only_new_raw_objects_are_read_and_full_reprocess_writes_nothing(local_pipeline, aws_env, spark, day):
    p, s3 = local_pipeline, aws.client("s3", local_pipeline.region, aws_env)
    h9, h10 = hour_of(day, 9), hour_of(day, 10)
    put_raw_object(s3, p, readings(0, h9) + [envelope(900, unit="kelvin", at=h9)], h9, h9 + timedelta(hours=1))
    first = raw_to_gold.run(spark, p, now=h10 + timedelta(minutes=5))
    assert (first["raw_records"], first["gold_rows"], first["quarantined"]) == (21, 20, 1)

    nothing_new = raw_to_gold.run(spark, p, now=h10 + timedelta(minutes=10))
    assert nothing_new["raw_records"] == 0

    resent = readings(10, h9)[:5]  # copies of events already in gold, in a later object
    put_raw_object(s3, p, readings(100, h10) + resent, h10, h10 + timedelta(hours=1))
    second = raw_to_gold.run(spark, p, now=h10 + timedelta(hours=1, minutes=5))
    assert (second["raw_records"], second["gold_rows"], second["duplicates_dropped"]) == (25, 20, 5)

    gold_before = stored_objects(s3, p.buckets.gold)
    full = raw_to_gold.run(spark, p, now=h10 + timedelta(hours=1, minutes=10), full=True)
    assert (full["raw_records"], full["gold_rows"], full["quarantined"]) == (46, 0, 0)
    assert (full["duplicates_dropped"], full["already_quarantined"]) == (45, 1)
    assert stored_objects(s3, p.buckets.gold) == gold_before

    assert Bookmark(s3, p.buckets.artifacts, p.glue.etl_job).reset()
    again = raw_to_gold.run(spark, p, now=h10 + timedelta(hours=1, minutes=15))
    assert (again["raw_records"], again["gold_rows"], again["already_quarantined"]) == (46, 0, 1)


def test_a_complete_day_is_compacted_to_one_file_per_partition(local_pipeline, aws_env, spark, day):
    p, s3 = local_pipeline, aws.client("s3", local_pipeline.region, aws_env)
    for n, h in enumerate((9, 10)):  # two hourly runs: two files in each partition of the day
        hour = hour_of(day, h)
        put_raw_object(s3, p, readings(n * 100, hour) + [envelope(900 + n, unit="kelvin", at=hour)], hour,
                       hour + timedelta(hours=1))
        assert raw_to_gold.run(spark, p, now=hour + timedelta(hours=1, minutes=5))["partitions_compacted"] == 0
    events = f"{p.glue.tables.events}/dt={day:%Y-%m-%d}/"
    quarantine = f"{p.glue.tables.quarantine}/dt={day:%Y-%m-%d}"
    assert set(data_files(s3, p.buckets.gold, events).values()) == {2}
    assert data_files(s3, p.buckets.gold, quarantine + "/") == {quarantine: 2}

    next_day = day + timedelta(days=1)
    put_raw_object(s3, p, readings(500, next_day), next_day, next_day + timedelta(hours=1))
    counts = raw_to_gold.run(spark, p, now=next_day + timedelta(hours=1, minutes=10))  # the day ended > 1 h ago

    assert counts["partitions_compacted"] == 2
    assert set(data_files(s3, p.buckets.gold, events).values()) == {1}
    assert data_files(s3, p.buckets.gold, quarantine + "/") == {quarantine: 1}
    stored = spark.read.parquet(f"s3a://{p.buckets.gold}/{events}")
    assert stored.count() == 40 and stored.select("event_id").distinct().count() == 40


def test_written_partitions_are_in_the_catalog_without_a_crawl(local_pipeline, aws_env, spark, day):
    p = local_pipeline
    s3, glue = aws.client("s3", p.region, aws_env), aws.client("glue", p.region, aws_env)
    h9 = hour_of(day, 9)
    put_raw_object(s3, p, readings(0, h9) + readings(50, h9, source="weather") + [envelope(900, unit="kelvin", at=h9)],
                   h9, h9 + timedelta(hours=1))
    now = h9 + timedelta(hours=1, minutes=5)
    counts = raw_to_gold.run(spark, p, now=now)

    def partitions(table: str) -> set[tuple]:
        return {tuple(x["Values"]) for page in glue.get_paginator("get_partitions").paginate(
            DatabaseName=p.glue.database, TableName=table) for x in page["Partitions"]}

    d = f"{day:%Y-%m-%d}"
    t = p.glue.tables
    assert partitions(t.events) == {(d, "simulator"), (d, "weather")}
    assert partitions(t.quarantine) == {(d,)}  # the day the invalid record arrived
    assert partitions(t.hourly) == {(d,)}
    assert counts["partitions_registered"] == 4
    location = glue.get_partition(DatabaseName=p.glue.database, TableName=t.events,
                                  PartitionValues=[d, "weather"])["Partition"]["StorageDescriptor"]["Location"]
    assert location == f"s3://{p.buckets.gold}/{t.events}/dt={d}/source=weather/"
    assert raw_to_gold.run(spark, p, now=now, full=True)["partitions_registered"] == 0  # existing ones left alone
