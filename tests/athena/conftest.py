"""One small lake (tests/athena/lake.py) on the session's moto server, shared by the Athena tests."""

from __future__ import annotations

import itertools
import os

import duckdb
import pytest

from tests.athena.lake import NOW, Lake
from vigia.local import provision
from vigia.local.athena import LocalAthena
from vigia.local.variants import unique_pipeline
from vigia_core import config


_lakes = itertools.count()


@pytest.fixture(scope="module")
def lake(moto_port, tmp_path_factory):
    p = unique_pipeline(config.load(), f"ath{os.getpid()}{next(_lakes)}")
    provision.provision(p, moto_port)
    athena = LocalAthena(p, moto_port, now=lambda: NOW)
    lk = Lake(athena.fs, athena.glue, p.glue.database, p.buckets.gold, tmp_path_factory.mktemp("lake"))
    lk.write_events()
    lk.write_hourly()
    lk.write_raw()
    lk.pipeline, lk.athena = p, athena
    return lk


@pytest.fixture(scope="module")
def reference(lake):
    """Plain DuckDB over the local copies of the registered files: the expected answers."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    root = lake.local
    hive = "hive_partitioning = true, hive_types_autocast = false"
    con.execute(f"CREATE VIEW events AS SELECT * REPLACE (event_time::TIMESTAMP AS event_time, "
                f"ingest_time::TIMESTAMP AS ingest_time) FROM read_parquet('{root}/events/*/*/*.parquet', {hive})")
    con.execute(f"CREATE VIEW hourly AS SELECT * REPLACE (hour::TIMESTAMP AS hour, "
                f"last_event_time::TIMESTAMP AS last_event_time) "
                f"FROM read_parquet('{root}/entity_metric_hourly/*/*.parquet', {hive})")
    yield con
    con.close()
