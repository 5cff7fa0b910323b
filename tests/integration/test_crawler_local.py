"""The local crawler against the moto Glue Data Catalog.

Documented behaviour checked here (AWS Glue developer guide):
- "How crawlers work": a crawler infers the schema from the data (Parquet metadata, a sample of
  JSON) and creates a table per include path whose folders are Hive-style `key=value` partitions,
  named after the folder; partition keys are added as partition columns.
- "Setting crawler configuration options" (SchemaChangePolicy): UpdateBehavior
  `UPDATE_IN_DATABASE` -- "Update the table definition in the Data Catalog", adding new columns;
  `LOG` -- "Ignore the change and don't update the table in the Data Catalog"; new partitions
  are added either way.
- "Scheduling incremental crawls" (RecrawlPolicy `CRAWL_NEW_FOLDERS_ONLY`): "only Amazon S3
  folders that were added since the last crawler run will be crawled".
"""

from __future__ import annotations

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vigia.local import aws
from vigia.local.athena import LocalAthena
from vigia.local.crawler import LocalCrawler
from vigia.local.variants import with_settings
from vigia_core import contract

pytestmark = pytest.mark.integration


def put_parquet(s3, bucket: str, key: str, table: pa.Table) -> None:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


def columns(glue, db: str, table: str) -> dict[str, str]:
    t = glue.get_table(DatabaseName=db, Name=table)["Table"]
    return {c["Name"]: c["Type"] for c in t["StorageDescriptor"]["Columns"]}


def partitions(glue, db: str, table: str) -> set[tuple]:
    return {tuple(p["Values"]) for p in glue.get_partitions(DatabaseName=db, TableName=table)["Partitions"]}


def gold_crawler(p, **schema_change):
    crawlers = [c.model_dump() for c in p.glue.crawlers]
    for c in crawlers:
        if c["bucket"] == "gold":
            c["schema_change"].update(schema_change)
    return with_settings(p, "glue", crawlers=crawlers), next(c["name"] for c in crawlers if c["bucket"] == "gold")


@pytest.mark.parametrize("update", ["UPDATE_IN_DATABASE", "LOG"])
def test_parquet_tables_new_partitions_and_new_columns(local_pipeline, aws_env, update):
    p, name = gold_crawler(local_pipeline, update=update)
    s3, glue, db = aws.client("s3", p.region, aws_env), aws.client("glue", p.region, aws_env), p.glue.database
    put_parquet(s3, p.buckets.gold, "events/dt=2026-11-01/source=sim/part-0.parquet",
                pa.table({"event_id": ["a"], "value": [1.5], "n": pa.array([1], pa.int32())}))
    put_parquet(s3, p.buckets.gold, "_temporary/ignored.parquet", pa.table({"x": [1]}))
    first = LocalCrawler(p, aws_env).crawl(name)

    assert first.tables_created == ["events"]
    assert columns(glue, db, "events") == {"event_id": "string", "value": "double", "n": "int"}
    t = glue.get_table(DatabaseName=db, Name="events")["Table"]
    assert [k["Name"] for k in t["PartitionKeys"]] == ["dt", "source"]
    assert t["StorageDescriptor"]["Location"] == f"s3://{p.buckets.gold}/events/"
    assert partitions(glue, db, "events") == {("2026-11-01", "sim")}

    put_parquet(s3, p.buckets.gold, "events/dt=2026-11-02/source=sim/part-0.parquet",
                pa.table({"event_id": ["b"], "value": [2.5], "n": pa.array([2], pa.int32()), "site": ["x"]}))
    second = LocalCrawler(p, aws_env).crawl(name)

    assert partitions(glue, db, "events") == {("2026-11-01", "sim"), ("2026-11-02", "sim")}
    assert second.partitions_added == 1
    if update == "UPDATE_IN_DATABASE":
        assert columns(glue, db, "events")["site"] == "string" and second.tables_updated == ["events"]
    else:
        assert "site" not in columns(glue, db, "events") and "site" in second.logged[0]


def test_raw_table_is_declared_from_the_contract_and_only_gains_partitions(local_pipeline, aws_env):
    """Raw crawler: `CRAWL_NEW_FOLDERS_ONLY` with LOG/LOG (CreateCrawler rejects anything else), and
    a table declared from the contract with the OpenX JSON SerDe and `ignore.malformed.json`
    (Athena, "OpenX JSON SerDe"): records of any shape change neither its columns nor its SerDe."""
    p = local_pipeline
    raw = next(c for c in p.glue.crawlers if c.bucket == "raw")
    assert raw.recrawl == "CRAWL_NEW_FOLDERS_ONLY" and raw.schema_change.model_dump() == {"update": "LOG", "delete": "LOG"}
    s3, glue, db = aws.client("s3", p.region, aws_env), aws.client("glue", p.region, aws_env), p.glue.database
    key = "raw/src=sim/dt=2026-11-01/hour=10/a.json.gz"
    # the records that broke inference: a string where the contract has a number, an extra column
    s3.put_object(Bucket=p.buckets.raw, Key=key, Body=gzip.compress(
        b'{"event_id": "a", "value": "12.5", "extra": {"k": "v"}}\n{"event_id": "b", "value": 1}\nnot json\n'))
    first = LocalCrawler(p, aws_env).crawl(raw.name)
    assert first.tables_created == ["raw"] and first.partitions_added == 1
    declared = [c.name for c in contract.columns()]
    assert list(columns(glue, db, "raw")) == declared and set(columns(glue, db, "raw").values()) == {"string"}
    t = glue.get_table(DatabaseName=db, Name="raw")["Table"]
    assert [k["Name"] for k in t["PartitionKeys"]] == ["src", "dt", "hour"]
    serde = t["StorageDescriptor"]["SerdeInfo"]
    assert serde == {"SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                     "Parameters": {"ignore.malformed.json": "true"}}

    # an old folder gains a file, a new folder appears: one partition more, the same schema
    s3.put_object(Bucket=p.buckets.raw, Key=key.replace("a.json", "b.json"), Body=gzip.compress(b'{"x": 1}\n'))
    s3.put_object(Bucket=p.buckets.raw, Key="raw/src=sim/dt=2026-11-01/hour=11/c.json.gz",
                  Body=gzip.compress(b'{"event_id": "c", "value": 2.5}\n'))
    second = LocalCrawler(p, aws_env).crawl(raw.name)
    assert second.partitions_added == 1 and not second.tables_created and not second.tables_updated
    assert partitions(glue, db, "raw") == {("sim", "2026-11-01", "10"), ("sim", "2026-11-01", "11")}
    assert list(columns(glue, db, "raw")) == declared
    part = glue.get_partition(DatabaseName=db, TableName="raw", PartitionValues=["sim", "2026-11-01", "11"])["Partition"]
    assert part["StorageDescriptor"]["SerdeInfo"] == serde  # inherited from the table
    assert part["StorageDescriptor"]["Location"] == f"s3://{p.buckets.raw}/raw/src=sim/dt=2026-11-01/hour=11/"

    # and the table stays queryable: the malformed line is a row of NULLs (the OpenX SerDe's
    # ignore.malformed.json), "12.5" and 1 are both text
    athena = LocalAthena(p, aws_env)
    assert athena.query("SELECT count(*), count(event_id) FROM raw").rows == [(5, 3)]
    assert athena.query("SELECT event_id, value FROM raw WHERE hour = '10' AND event_id IS NOT NULL "
                        "ORDER BY event_id").rows == [("a", "12.5"), ("b", "1")]
