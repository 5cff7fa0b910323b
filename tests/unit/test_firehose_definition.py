"""The delivery-stream definition derived from pipeline.yaml, and its validation."""

from __future__ import annotations

import pytest

from firehose import definition
from vigia.local.firehose import DeliveryError, evaluate_prefix, java_time
from vigia.local.variants import with_settings
from vigia_core import config

P = config.load()


def test_destination_carries_the_pipeline_settings():
    d = definition.extended_s3_destination(P, "arn:aws:iam::1:role/r")
    assert d["BucketARN"] == f"arn:aws:s3:::{P.buckets.raw}"
    assert (d["Prefix"], d["ErrorOutputPrefix"]) == (P.firehose.prefix, P.firehose.error_output_prefix)
    assert d["BufferingHints"] == {"SizeInMBs": P.firehose.buffering.size_mib,
                                   "IntervalInSeconds": P.firehose.buffering.interval_s}
    assert d["DynamicPartitioningConfiguration"]["Enabled"] is True
    query = definition.processor_parameter(d, "MetadataExtraction", "MetadataExtractionQuery")
    assert query == P.firehose.partition_query
    assert definition.processor_parameter(d, "MetadataExtraction", "JsonParsingEngine") == "JQ-1.6"
    # a newline is AppendDelimiterToRecord without parameters; other delimiters are passed escaped
    assert {"Type": "AppendDelimiterToRecord"} in d["ProcessingConfiguration"]["Processors"]
    tab = definition.extended_s3_destination(with_settings(P, "firehose", delimiter="\t"), "r")
    assert definition.processor_parameter(tab, "AppendDelimiterToRecord", "Delimiter") == "\\t"
    assert (d["CompressionFormat"], d["FileExtension"]) == ("GZIP", ".json.gz")


def test_prefix_keys_must_come_from_the_query():
    with pytest.raises(config.ConfigError, match=r"partition keys \['hour'\] that partition_query does not produce"):
        with_settings(P, "firehose", partition_query="{src: .source, dt: .event_time[0:10]}")


def test_timestamp_and_firehose_expressions():
    from datetime import datetime, timezone

    t = datetime(2026, 11, 1, 9, 5, 7, tzinfo=timezone.utc)
    assert java_time("yyyy-MM-dd/HH:mm:ss", t) == "2026-11-01/09:05:07"
    assert evaluate_prefix("e/!{firehose:error-output-type}/!{timestamp:yyyy}/", keys={}, oldest_arrival=t,
                           error_type="processing-failed") == "e/processing-failed/2026/"
    with pytest.raises(DeliveryError, match="unsupported"):
        java_time("EEE", t)
