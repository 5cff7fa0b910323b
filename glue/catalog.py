"""Register in the Glue Data Catalog the gold partitions the ETL writes, so Athena sees new data
without a crawler run (the crawlers stay for schema changes).

Calls glue:GetTable, glue:CreateTable (a table the crawler has not created yet, with the
crawler's Parquet storage descriptor and the columns the job wrote) and glue:BatchCreatePartition
(at most 100 partitions per call, its documented limit). A partition that already exists is left
alone (AlreadyExistsException in the call's Errors), so a rerun changes nothing.
"""

from __future__ import annotations

from pyspark.sql import types as T

PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
BATCH_CREATE_PARTITION_MAX = 100


class CatalogError(RuntimeError):
    pass


def _columns(schema: T.StructType, partition_keys: list[str]) -> list[dict]:
    return [{"Name": f.name, "Type": f.dataType.simpleString()} for f in schema.fields if f.name not in partition_keys]


def register(glue, database: str, table: str, location: str, schema: T.StructType,
             partition_keys: list[str], partitions: list[tuple[str, ...]]) -> int:
    """Make sure `table` and each of `partitions` (values in `partition_keys` order) are in the
    catalog; returns how many partitions were added."""
    if not partitions:
        return 0
    try:
        columns = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]["Columns"]
    except glue.exceptions.EntityNotFoundException:
        columns = _columns(schema, partition_keys)
        glue.create_table(DatabaseName=database, TableInput={
            "Name": table, "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "compressionType": "none"},
            "StorageDescriptor": {"Columns": columns, "Location": location, **PARQUET},
            "PartitionKeys": [{"Name": k, "Type": "string"} for k in partition_keys]})
    added = 0
    for i in range(0, len(partitions), BATCH_CREATE_PARTITION_MAX):
        chunk = partitions[i:i + BATCH_CREATE_PARTITION_MAX]
        resp = glue.batch_create_partition(DatabaseName=database, TableName=table, PartitionInputList=[
            {"Values": list(values), "StorageDescriptor": {
                "Columns": columns, **PARQUET,
                "Location": location + "".join(f"{k}={v}/" for k, v in zip(partition_keys, values, strict=True))}}
            for values in chunk])
        errors = resp.get("Errors", [])
        failed = [e for e in errors if e["ErrorDetail"]["ErrorCode"] != "AlreadyExistsException"]
        if failed:
            raise CatalogError(f"{database}.{table}: BatchCreatePartition failed for {failed[0]['PartitionValues']}: "
                               f"{failed[0]['ErrorDetail']}")
        added += len(chunk) - len(errors)
    return added
