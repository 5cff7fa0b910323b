"""Catalog statements and writes of the local Athena, against the Glue catalog on moto: SHOW,
DESCRIBE, information_schema, MSCK REPAIR TABLE, CTAS, INSERT INTO, UNLOAD, DROP TABLE, views.
Expected answers come from the lake's own records (tests/athena/lake.py) and from reading the
written files back with pyarrow, never from the local Athena."""

from __future__ import annotations

from collections import Counter

import pyarrow.dataset as ds
import pytest

from tests.athena.lake import EVENT_COLUMNS, RAW_COLUMNS, UNREGISTERED_DAY
from vigia.local.athena import AthenaError

pytestmark = pytest.mark.integration

# every statement form these tests run and check (counted by test_conformance.test_supported_share)
STATEMENTS = ("SHOW DATABASES", "SHOW TABLES", "SHOW TABLES IN db LIKE", "SHOW PARTITIONS", "SHOW COLUMNS",
              "DESCRIBE", "SHOW CREATE TABLE", "information_schema.columns", "information_schema.tables",
              "MSCK REPAIR TABLE", "CTAS partitioned", "CTAS WITH NO DATA", "INSERT INTO SELECT",
              "INSERT INTO VALUES", "UNLOAD", "DROP TABLE", "CREATE EXTERNAL TABLE", "ALTER TABLE ADD PARTITION",
              "ALTER TABLE DROP PARTITION", "CREATE VIEW", "partition pruning on JSON", "SELECT *, \"$path\"",
              "strict JSON SerDe errors")


def _days(lake, registered_only=True):
    return Counter(e["event_time"].strftime("%Y-%m-%d") for e in lake.events
                   if not registered_only or e["event_time"].strftime("%Y-%m-%d") != UNREGISTERED_DAY)


def test_show_and_describe(lake):
    a, db = lake.athena, lake.pipeline.glue.database
    assert (db,) in a.query("SHOW DATABASES").rows
    assert a.query("SHOW TABLES").rows == [("entity_metric_hourly",), ("events",), ("raw",)]
    assert a.query(f"SHOW TABLES IN {db.upper()} 'ev*|raw'").rows == [("events",), ("raw",)]
    parts = {(e["event_time"].strftime("%Y-%m-%d"), e["source"]) for e in lake.events
             if e["event_time"].strftime("%Y-%m-%d") != UNREGISTERED_DAY}
    shown = a.query("SHOW PARTITIONS events")
    assert shown.columns == ["partition"]
    assert sorted(r[0] for r in shown.rows) == sorted(f"dt={d}/source={s}" for d, s in parts)
    assert [r[0] for r in a.query("SHOW COLUMNS IN events").rows] == [n for n, _ in EVENT_COLUMNS] + ["dt", "source"]
    described = a.query("DESCRIBE events")
    assert described.columns == ["col_name", "data_type", "comment"]
    assert described.rows[:len(EVENT_COLUMNS)] == [(n, t, "") for n, t in EVENT_COLUMNS]
    assert ("# Partition Information", "", "") in described.rows and described.rows[-2:] == [("dt", "string", ""),
                                                                                           ("source", "string", "")]
    ddl = "\n".join(r[0] for r in a.query("SHOW CREATE TABLE raw").rows)
    assert "PARTITIONED BY" in ddl and "'ignore.malformed.json'='true'" in ddl


def test_information_schema(lake):
    a, db = lake.athena, lake.pipeline.glue.database
    cols = a.query(f"SELECT column_name, data_type, extra_info FROM information_schema.columns "
                   f"WHERE table_schema = '{db}' AND table_name = 'events' ORDER BY ordinal_position")
    expected_types = {"int": "integer", "string": "varchar", "double": "double", "timestamp": "timestamp(3)",
                      "map<string,string>": "map(varchar, varchar)"}
    assert cols.rows == [(n, expected_types[t], None) for n, t in EVENT_COLUMNS] + [
        ("dt", "varchar", "partition key"), ("source", "varchar", "partition key")]
    tabs = a.query(f"SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = '{db}'")
    assert sorted(tabs.rows) == [("entity_metric_hourly", "BASE TABLE"), ("events", "BASE TABLE"), ("raw", "BASE TABLE")]


def test_raw_json_reads_malformed_lines_as_nulls(lake):
    a = lake.athena
    lines = lake.raw_lines()
    assert a.query("SELECT count(*) FROM raw").rows == [(sum(map(len, lines.values())),)]
    nulls = a.query("SELECT event_id, value, source FROM raw WHERE value IS NULL").rows
    assert sorted(nulls, key=repr) == sorted([(None, None, None), ("wrong-type", None, "simulator")], key=repr)
    by_src = Counter(src for (src, _, _), ls in lines.items() for _ in ls)
    assert dict(a.query("SELECT src, count(*) FROM raw GROUP BY src").rows) == by_src
    assert a.query("SELECT count(DISTINCT \"$path\") FROM raw WHERE \"$path\" LIKE '%.gz'").rows == [(len(lines),)]
    star = a.query("SELECT *, \"$path\" FROM raw LIMIT 1").columns  # `*` lists no pseudo-column
    assert star == [n for n, _ in RAW_COLUMNS] + ["src", "dt", "hour", "$path"]


def test_msck_repair_registers_the_unregistered_day(lake):
    a = lake.athena
    lake.write_events(name="events_repair", prefix="events_repair")  # same files, last day not registered
    before = a.query("SELECT count(*) FROM events_repair").rows[0][0]
    assert before == sum(_days(lake).values())
    out = a.query("MSCK REPAIR TABLE events_repair")
    added = sorted({f"dt={UNREGISTERED_DAY}/source={e['source']}" for e in lake.events
                    if e["event_time"].strftime("%Y-%m-%d") == UNREGISTERED_DAY})
    assert [r[0] for r in out.rows[1:]] == [f"Repair: Added partition to metastore events_repair:{p}" for p in added]
    assert a.query("SELECT count(*) FROM events_repair").rows == [(len(lake.events),)]
    assert a.query("MSCK REPAIR TABLE events_repair").rows == []  # nothing left to add


def test_ctas_insert_and_drop(lake):
    a, bucket = lake.athena, lake.bucket
    loc = f"s3://{bucket}/ctas/by_day/"
    out = a.query(f"CREATE TABLE by_day WITH (format = 'PARQUET', external_location = '{loc}', "
                  "partitioned_by = ARRAY['dt']) AS SELECT event_id, value, event_time, dt FROM events "
                  "WHERE source = 'weather'")
    weather = [e for e in lake.events if e["source"] == "weather"
               and e["event_time"].strftime("%Y-%m-%d") != UNREGISTERED_DAY]
    assert out.rows == [(len(weather),)]
    written = ds.dataset(f"{bucket}/ctas/by_day", filesystem=a.fs, format="parquet", partitioning="hive").to_table()
    assert sorted(written["event_id"].to_pylist()) == sorted(e["event_id"] for e in weather)
    assert sorted(r[0] for r in a.query("SHOW PARTITIONS by_day").rows) == sorted(
        {f"dt={e['event_time']:%Y-%m-%d}" for e in weather})
    assert a.query("SELECT min(event_time) FROM by_day").rows == [(min(e["event_time"] for e in weather)
                                                                   .replace(tzinfo=None),)]
    with pytest.raises(AthenaError, match="HIVE_PATH_ALREADY_EXISTS"):
        a.query(f"CREATE TABLE by_day2 WITH (external_location = '{loc}') AS SELECT 1 AS x")

    sim = [e for e in lake.events if e["source"] == "simulator"
           and e["event_time"].strftime("%Y-%m-%d") != UNREGISTERED_DAY]
    assert a.query("INSERT INTO by_day SELECT event_id, value, event_time, dt FROM events "
                   "WHERE source = 'simulator'").rows == [(len(sim),)]
    assert a.query("INSERT INTO by_day (event_id, dt) VALUES ('manual', '2030-01-01')").rows == [(1,)]
    days = Counter(e["event_time"].strftime("%Y-%m-%d") for e in weather + sim) + Counter({"2030-01-01": 1})
    assert dict(a.query("SELECT dt, count(*) FROM by_day GROUP BY dt").rows) == days

    empty = a.query("CREATE TABLE shape_only AS SELECT entity_id, value FROM events WITH NO DATA")
    assert empty.rows == [(0,)] and a.query("SELECT count(*) FROM shape_only").rows == [(0,)]
    assert [r[:2] for r in a.query("DESCRIBE shape_only").rows] == [("entity_id", "string"), ("value", "double")]

    a.query("DROP TABLE by_day")
    assert "by_day" not in a.tables()
    assert ds.dataset(f"{bucket}/ctas/by_day", filesystem=a.fs, format="parquet").count_rows() == sum(days.values())
    with pytest.raises(AthenaError, match="does not exist"):
        a.query("SELECT * FROM by_day")
    a.query("DROP TABLE IF EXISTS by_day")


def test_unload_writes_files_and_no_table(lake):
    a, bucket = lake.athena, lake.bucket
    a.query(f"UNLOAD (SELECT event_id, value, metric FROM events WHERE metric = 'humidity') "
            f"TO 's3://{bucket}/unload/humidity/' WITH (format = 'PARQUET', partitioned_by = ARRAY['metric'])")
    got = ds.dataset(f"{bucket}/unload/humidity", filesystem=a.fs, format="parquet", partitioning="hive").to_table()
    expected = sorted(e["event_id"] for e in lake.events if e["metric"] == "humidity"
                      and e["event_time"].strftime("%Y-%m-%d") != UNREGISTERED_DAY)
    assert sorted(got["event_id"].to_pylist()) == expected
    assert set(got["metric"].to_pylist()) == {"humidity"}
    assert a.tables() == sorted(a.tables())  and "humidity" not in a.tables()


def test_external_table_partition_and_view(lake):
    a, bucket = lake.athena, lake.bucket
    a.query(f"CREATE EXTERNAL TABLE IF NOT EXISTS ext_events (event_id string, value double) "
            f"PARTITIONED BY (dt string, source string) STORED AS PARQUET LOCATION 's3://{bucket}/events/'")
    assert a.query("SELECT count(*) FROM ext_events").rows == [(0,)]  # no partition registered yet
    a.query("ALTER TABLE ext_events ADD IF NOT EXISTS PARTITION (dt = '2026-11-02', source = 'weather')")
    n = sum(1 for e in lake.events if e["event_time"].strftime("%Y-%m-%d") == "2026-11-02" and e["source"] == "weather")
    assert a.query("SELECT count(*) FROM ext_events").rows == [(n,)]
    a.query("ALTER TABLE ext_events DROP PARTITION (dt = '2026-11-02', source = 'weather')")
    assert a.query("SHOW PARTITIONS ext_events").rows == [] and a.query("SELECT count(*) FROM ext_events").rows == [(0,)]
    with pytest.raises(AthenaError, match="Partition not found"):
        a.query("ALTER TABLE ext_events DROP PARTITION (dt = '2026-11-02')")
    a.query("CREATE OR REPLACE VIEW hot AS SELECT event_id, value FROM events WHERE value > 90")
    hot = sum(1 for e in lake.events if e["value"] > 90 and e["event_time"].strftime("%Y-%m-%d") != UNREGISTERED_DAY)
    assert a.query("SELECT count(*) FROM hot").rows == [(hot,)]
    a.query("DROP VIEW hot")
    a.query("DROP TABLE ext_events")


def test_raw_partition_filter_reads_only_matching_partitions(lake, moto_port):
    """Athena prunes partitions on the partition columns, and bills only the objects it reads; so
    does the JSON reader: the data scanned is exactly the size of the matching partitions' objects."""
    from pyarrow import fs as pafs

    from vigia.local.athena import LocalAthena
    from vigia.local.s3_meter import S3Meter

    lines = lake.raw_lines()
    day = sorted({dt for _, dt, _ in lines})[1]
    matching = [k for k in lines if k[1] == day and k[0] == "weather" and int(k[2]) >= 6]
    infos = lake.athena.fs.get_file_info(pafs.FileSelector(f"{lake.bucket}/raw", recursive=True))
    size = {i.path.split("/raw/")[1].rsplit("/", 1)[0]: i.size for i in infos if i.type == pafs.FileType.File}
    with S3Meter(moto_port) as meter:
        athena = LocalAthena(lake.pipeline, moto_port, s3_endpoint=meter.endpoint)
        got = athena.query(f"SELECT count(*) FROM raw r WHERE r.dt = '{day}' AND src = 'weather' "
                           "AND CAST(hour AS integer) >= 6 AND event_id IS NOT NULL")
        scanned = meter.reset()
        athena.query("SELECT count(*) FROM raw")
        everything = meter.reset()
    assert got.rows == [(sum(len(lines[k]) for k in matching),)]
    assert scanned == sum(size[f"src={s}/dt={d}/hour={h}"] for s, d, h in matching)
    assert everything == sum(size.values()) > scanned


def test_strict_json_fails_only_where_athena_fails(lake):
    """Without ignore.malformed.json, a value of the wrong type fails a query that reads its column
    (HIVE_BAD_DATA) and a malformed line fails any query (HIVE_CURSOR_ERROR)."""
    a, loc = lake.athena, f"s3://{lake.bucket}/raw/"
    a.query(f"CREATE EXTERNAL TABLE strict_raw (event_id string, value double) PARTITIONED BY (src string, "
            f"dt string, hour string) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION '{loc}'")
    a.query("MSCK REPAIR TABLE strict_raw")
    with pytest.raises(AthenaError, match="HIVE_CURSOR_ERROR: Row is not a valid JSON Object"):
        a.query("SELECT count(*) FROM strict_raw")
    first = sorted(lake.raw_lines())[0]
    others = sum(len(v) for k, v in lake.raw_lines().items() if k != first)
    where = f"WHERE NOT (src = '{first[0]}' AND dt = '{first[1]}' AND hour = '{first[2]}')"
    assert a.query(f"SELECT count(event_id) FROM strict_raw {where}").rows == [(others,)]
    a.query("DROP TABLE strict_raw")

    lake._put("strict/one.json", b'{"event_id": "a", "value": 1.5}\n{"event_id": "b", "value": "high"}\n', local_too=False)
    a.query(f"CREATE EXTERNAL TABLE strict_one (event_id string, value double) "
            f"ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' LOCATION 's3://{lake.bucket}/strict/'")
    assert a.query("SELECT count(event_id) FROM strict_one").rows == [(2,)]
    with pytest.raises(AthenaError, match="HIVE_BAD_DATA: Error parsing field value 'high' for field value"):
        a.query("SELECT sum(value) FROM strict_one")
    a.query("DROP TABLE strict_one")


def test_parameters_fill_the_placeholders_in_the_order_of_the_text(lake):
    """Athena's ExecutionParameters replace the `?` in the order they appear in the query text,
    whatever clause holds them: https://docs.aws.amazon.com/athena/latest/ug/querying-with-prepared-statements.html"""
    a = lake.athena
    sql = ("WITH c AS (SELECT ? AS w) SELECT (SELECT w FROM c), ?, n FROM (SELECT count(*) AS n FROM events "
           "WHERE dt BETWEEN ? AND ?) AS s WHERE n > ? ORDER BY 1")
    got = a.query(sql, ["'with'", "'select'", "'2026-11-01'", "'2026-11-02'", "0"]).rows
    want = sum(1 for e in lake.events if "2026-11-01" <= e["event_time"].strftime("%Y-%m-%d") <= "2026-11-02")
    assert got == [("with", "select", want)]
    assert a.query("SELECT '?', ? AS x -- ?", ["it's"]).rows == [("?", "it's")]
    with pytest.raises(AthenaError, match="2 parameter"):
        a.query("SELECT ?, ?", ["1"])
