"""Local stand-in for Athena: Athena (Trino) SQL over the Glue Data Catalog, run in DuckDB.

engine.py runs a statement; tables.py reads a catalog table's registered partitions from S3;
translate.py rewrites Trino SQL for DuckDB; statements.py answers catalog statements and DDL;
writers.py writes CTAS / INSERT INTO / UNLOAD results as Parquet and registers them.
"""

from vigia.local.athena.engine import LocalAthena, Result
from vigia.local.athena.errors import NOT_SUPPORTED, AthenaError
from vigia.local.athena.types import arrow_type

__all__ = ["NOT_SUPPORTED", "AthenaError", "LocalAthena", "Result", "arrow_type"]
