"""Fixtures for the Kinesis connector tests: the jar (built by make), one Flink driver process for
the whole session, and uniquely named streams on the session's moto server."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import time
from pathlib import Path

import boto3
import pytest


from tests.flink_connector.driver_client import FlinkDriver

ROOT = Path(__file__).resolve().parents[2]

REGION = "us-east-1"
COLUMNS = "id STRING, n INT, phase STRING"
_names = itertools.count()


@pytest.fixture(scope="session")
def connector_jar():
    # The Makefile target rebuilds only when the connector's sources changed.
    subprocess.run(["make", "-s", "flink-connector"], cwd=ROOT, check=True)
    return ROOT / "build" / "flink-connector" / "vigia-kinesis-connector.jar"


@pytest.fixture(scope="session")
def flink(connector_jar, tmp_path_factory):
    driver = FlinkDriver(connector_jar, tmp_path_factory.mktemp("flink") / "driver.log")
    yield driver
    driver.close()


class Stream:
    """A stream on moto plus the helpers the tests need to put and recognise records."""

    def __init__(self, kinesis, port: int, arn: str):
        self.kinesis = kinesis
        self.port = port
        self.arn = arn
        self.shards = kinesis.list_shards(StreamARN=arn)["Shards"]

    @classmethod
    def create(cls, kinesis, port: int, shards: int) -> "Stream":
        name = f"conn-{os.getpid()}-{next(_names)}"
        kinesis.create_stream(StreamName=name, ShardCount=shards)
        return cls(kinesis, port, kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"])

    def put(self, phase: str, count: int) -> list[str]:
        """`count` JSON records spread over all shards by partition key; returns their ids."""
        ids = [f"{phase}-{i}" for i in range(count)]
        for start in range(0, count, 500):
            batch = [{"Data": json.dumps({"id": id_, "n": start + i, "phase": phase}).encode(),
                      "PartitionKey": id_} for i, id_ in enumerate(ids[start:start + 500])]
            assert self.kinesis.put_records(StreamARN=self.arn, Records=batch)["FailedRecordCount"] == 0
        return ids

    def put_per_shard(self, phase: str, id_field: str = "id") -> list[str]:
        """One record on every open shard (explicit hash key = the shard's first hash key)."""
        ids = []
        for shard in self.shards:
            id_ = f"{phase}-{shard['ShardId']}"
            put = self.kinesis.put_record(StreamARN=self.arn, PartitionKey=id_,
                                          ExplicitHashKey=shard["HashKeyRange"]["StartingHashKey"],
                                          Data=json.dumps({id_field: id_, "n": -1, "phase": phase}).encode())
            assert put["ShardId"] == shard["ShardId"]
            ids.append(id_)
        return ids

    def put_to_shard(self, shard: int, docs: list[dict]) -> None:
        """JSON documents in this order on one shard (explicit hash key)."""
        key = self.shards[shard]["HashKeyRange"]["StartingHashKey"]
        batch = [{"Data": json.dumps(d).encode(), "PartitionKey": d["id"], "ExplicitHashKey": key} for d in docs]
        put = self.kinesis.put_records(StreamARN=self.arn, Records=batch)
        assert {r["ShardId"] for r in put["Records"]} == {self.shards[shard]["ShardId"]}

    def records(self) -> list[dict]:
        """Every record of every shard with its ShardId, read with boto3 (the independent reference)."""
        out = []
        for shard in self.shards:
            it = self.kinesis.get_shard_iterator(StreamARN=self.arn, ShardId=shard["ShardId"],
                                                 ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while True:
                resp = self.kinesis.get_records(StreamARN=self.arn, ShardIterator=it, Limit=10_000)
                out += [{**r, "ShardId": shard["ShardId"]} for r in resp["Records"]]
                if not resp["Records"]:
                    break
                it = resp["NextShardIterator"]
        return out

    def options(self, extra: dict | None = None) -> dict:
        return {
            "connector": "kinesis",
            "stream.arn": self.arn,
            "aws.region": self.arn.split(":")[3],
            "aws.endpoint": f"http://127.0.0.1:{self.port}",
            "aws.credentials.provider": "BASIC",
            "aws.credentials.provider.basic.accesskeyid": "testing",
            "aws.credentials.provider.basic.secretkey": "testing",
            "format": "json",
            **(extra or {}),
        }


@pytest.fixture(scope="session")
def kinesis(moto_port):
    return boto3.client("kinesis", region_name=REGION, endpoint_url=f"http://127.0.0.1:{moto_port}",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def new_stream(kinesis, moto_port):
    return lambda shards=2: Stream.create(kinesis, moto_port, shards)


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.01)
