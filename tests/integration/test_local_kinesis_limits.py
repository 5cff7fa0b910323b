"""The local Kinesis endpoint (vigia/local/moto_server.py on the session's moto server) rejects
what AWS rejects."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from vigia.local import aws

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


@pytest.fixture
def kinesis(moto_port):
    client = aws.client("kinesis", "us-east-1", moto_port)
    name = f"limits-{moto_port}"
    if name not in client.list_streams()["StreamNames"]:
        client.create_stream(StreamName=name, ShardCount=1)
    return client, name


def test_put_record_over_1_mib_with_its_partition_key_is_rejected(kinesis):
    """"When the data blob (the payload before base64-encoding) is added to the partition key size,
    the total size must not exceed the maximum record size (1 MiB)", the default of a stream
    (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html; the quotas at
    https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html). moto itself
    checks this only in PutRecords."""
    client, name = kinesis
    key = "k" * 10
    fits = client.put_record(StreamName=name, PartitionKey=key, Data=b"x" * (MIB - len(key)))
    assert fits["SequenceNumber"]
    for data in (b"x" * (MIB - len(key) + 1), b"x" * (MIB + 1)):
        with pytest.raises(ClientError) as err:
            client.put_record(StreamName=name, PartitionKey=key, Data=data)
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert "1048576" in err.value.response["Error"]["Message"]
    # PutRecords keeps moto's own check (one record over the limit fails the whole call)
    with pytest.raises(ClientError) as err:
        client.put_records(StreamName=name, Records=[{"PartitionKey": key, "Data": b"x" * MIB}])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    records = client.get_records(ShardIterator=client.get_shard_iterator(
        StreamName=name, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"])
    assert [len(r["Data"]) for r in records["Records"]] == [MIB - len(key)]
