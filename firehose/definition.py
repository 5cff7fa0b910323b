"""The delivery stream's configuration, derived from `pipeline.yaml`'s `firehose:` section.

One function builds the `ExtendedS3DestinationConfiguration` (the shape of the Firehose API and of
CloudFormation's `AWS::KinesisFirehose::DeliveryStream`), importable by the CDK app in `infra/`;
the local delivery service (`vigia.local.firehose`) interprets this very dict, so the prefix, the
JQ query, the delimiter and the buffering it applies are the definition's.
"""

from __future__ import annotations

import re

from vigia_core import contract
from vigia_core.config import Pipeline

JQ_ENGINE = "JQ-1.6"  # the only inline parsing engine Firehose documents
MIB = 1024 * 1024
# The raw objects as one table: gzip JSON lines read by the OpenX JSON SerDe, a malformed line
# skipped instead of failing the query (Athena, "OpenX JSON SerDe": ignore.malformed.json).
OPENX_JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
RAW_SERDE_PARAMETERS = {"ignore.malformed.json": "true"}
TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
# Partitions added later copy the table's schema and SerDe instead of inferring their own
# (AWS Glue developer guide, "Setting crawler configuration options": InheritFromTable).
CRAWLER_INHERIT_FROM_TABLE = '{"Version":1.0,"CrawlerOutput":{"Partitions":{"AddOrUpdateBehavior":"InheritFromTable"}}}'


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def _param(name: str, value: str) -> dict:
    return {"ParameterName": name, "ParameterValue": value}


def _delimiter_processor(delimiter: str) -> dict:
    """AppendDelimiterToRecord without parameters appends a newline (as CDK's processor emits it);
    another delimiter is passed escaped, as the API's string parameters are."""
    if delimiter == "\n":
        return {"Type": "AppendDelimiterToRecord"}
    return {"Type": "AppendDelimiterToRecord",
            "Parameters": [_param("Delimiter", delimiter.encode("unicode_escape").decode())]}


def extended_s3_destination(p: Pipeline, role_arn: str, bucket: str | None = None) -> dict:
    """ExtendedS3DestinationConfiguration for the raw bucket, with dynamic partitioning."""
    f = p.firehose
    return {
        "RoleARN": role_arn,
        "BucketARN": bucket_arn(bucket or p.buckets.raw),
        "Prefix": f.prefix,
        "ErrorOutputPrefix": f.error_output_prefix,
        "BufferingHints": {"SizeInMBs": f.buffering.size_mib, "IntervalInSeconds": f.buffering.interval_s},
        "CompressionFormat": f.compression,
        "FileExtension": f.file_extension,
        "DynamicPartitioningConfiguration": {"Enabled": True,
                                             "RetryOptions": {"DurationInSeconds": f.processing_retry_s}},
        "ProcessingConfiguration": {
            "Enabled": True,
            "Processors": [
                {"Type": "MetadataExtraction", "Parameters": [
                    _param("MetadataExtractionQuery", f.partition_query),
                    _param("JsonParsingEngine", JQ_ENGINE),
                ]},
                _delimiter_processor(f.delimiter),
            ],
        },
    }


def static_prefix(prefix: str) -> str:
    """The part of an S3 prefix before its first `!{...}` expression (what a writer's role may write under)."""
    return prefix.split("!{", 1)[0]


def raw_location(p: Pipeline) -> str:
    """The folder holding every delivered object: the prefix up to its first partition folder."""
    static = static_prefix(p.firehose.prefix)
    return static[:static.rfind("/") + 1]


def raw_table_name(p: Pipeline) -> str:
    return raw_location(p).rstrip("/").rsplit("/", 1)[-1]


def raw_table(p: Pipeline, bucket: str | None = None) -> dict:
    """The raw table (a Glue TableInput, and CloudFormation's AWS::Glue::Table TableInput) declared
    from the contract rather than inferred: one record whose `value` is "12.5" made an inferred
    table unqueryable. Raw holds what writers put, so every contract column is a string (an object
    reads as its JSON text): no record can make a query fail; typed, validated rows are gold's."""
    location = f"s3://{bucket or p.buckets.raw}/{raw_location(p)}"
    keys = [{"Name": k, "Type": "string"} for k in re.findall(r"([A-Za-z0-9_]+)=!\{partitionKeyFromQuery:", p.firehose.prefix)]
    return {
        "Name": raw_table_name(p),
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "compressionType": p.firehose.compression.lower().replace("uncompressed", "none")},
        "PartitionKeys": keys,
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": "string"} for c in contract.columns()],
            "Location": location,
            "InputFormat": TEXT_INPUT,
            "OutputFormat": TEXT_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": OPENX_JSON_SERDE, "Parameters": dict(RAW_SERDE_PARAMETERS)},
        },
    }


def kinesis_source(stream_arn: str, role_arn: str) -> dict:
    """KinesisStreamSourceConfiguration: the delivery stream reads the pipeline's stream."""
    return {"KinesisStreamARN": stream_arn, "RoleARN": role_arn}


# --- reading a destination dict back (used by the local delivery service) ---------------------

def processor_parameter(dest: dict, processor: str, name: str) -> str | None:
    for proc in dest.get("ProcessingConfiguration", {}).get("Processors", []):
        if proc["Type"] == processor:
            for prm in proc.get("Parameters", []):
                if prm["ParameterName"] == name:
                    return prm["ParameterValue"]
    return None


def partition_keys(prefix: str) -> list[str]:
    """The `!{partitionKeyFromQuery:KEY}` keys a prefix uses, in order."""
    return re.findall(r"!\{partitionKeyFromQuery:([^}]+)\}", prefix)
