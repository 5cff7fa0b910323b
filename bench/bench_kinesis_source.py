"""Read throughput of our Kinesis table source (flink_app/connector) from a local moto server.

A 2-shard stream holds RECORDS JSON records (~200 bytes); a PyFlink job reads and decodes them from
TRIM_HORIZON with the connector jar (a filter passes 1 % of them to Python). Reported:
- `kinesis_source_records_per_s`: rows/s between the first and the last row (steady reading);
- `kinesis_source_first_row_s`: from job submission to the first row (task start, first polls);
- `kinesis_boto3_get_records_per_s`: the same records read by boto3 GetRecords, as a reference for
  what moto itself serves. moto bounds both numbers far below real Kinesis (2 MB/s/shard).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path

import boto3

from tests.flink_connector.driver_client import FlinkDriver
from vigia.local import aws

ROOT = Path(__file__).resolve().parent.parent
RECORDS = 20_000
REGION = "us-east-1"


def _boto3_read_rate(kinesis, arn: str) -> float:
    t0 = time.perf_counter()
    n = 0
    for shard in kinesis.list_shards(StreamARN=arn)["Shards"]:
        it = kinesis.get_shard_iterator(StreamARN=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while True:
            resp = kinesis.get_records(StreamARN=arn, ShardIterator=it, Limit=10_000)
            n += len(resp["Records"])
            if not resp["Records"]:
                break
            it = resp["NextShardIterator"]
    assert n == RECORDS
    return n / (time.perf_counter() - t0)


def run() -> dict:
    subprocess.run(["make", "-s", "flink-connector"], cwd=ROOT, check=True)
    jar = ROOT / "build" / "flink-connector" / "vigia-kinesis-connector.jar"
    driver = None
    with aws.private_server() as port:
        try:
            kinesis = boto3.client("kinesis", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}",
                                   aws_access_key_id="testing", aws_secret_access_key="testing")
            kinesis.create_stream(StreamName="bench", ShardCount=2)
            arn = kinesis.describe_stream_summary(StreamName="bench")["StreamDescriptionSummary"]["StreamARN"]
            last_per_shard = {}
            for start in range(0, RECORDS, 500):
                batch = [{"Data": json.dumps({"id": f"r{i}", "n": i, "phase": "x" * 150}).encode(),
                          "PartitionKey": f"k{i}"} for i in range(start, start + 500)]
                put = kinesis.put_records(StreamARN=arn, Records=batch)
                assert put["FailedRecordCount"] == 0
                last_per_shard.update({r["ShardId"]: f"r{start + j}" for j, r in enumerate(put["Records"])})
            boto3_rate = _boto3_read_rate(kinesis, arn)

            driver = FlinkDriver(jar, Path(tempfile.mkdtemp()) / "driver.log")
            options = {"connector": "kinesis", "stream.arn": arn, "aws.region": REGION,
                       "aws.endpoint": f"http://127.0.0.1:{port}", "aws.credentials.provider": "BASIC",
                       "aws.credentials.provider.basic.accesskeyid": "testing",
                       "aws.credentials.provider.basic.secretkey": "testing",
                       "source.init.position": "TRIM_HORIZON", "format": "json"}
            driver.call("open", name="warmup", columns="id STRING", options=options)  # JVM + planner warm-up
            driver.call("cancel", name="warmup")
            # Only every 100th record and the last record of each shard reach Python, so the collect
            # path (py4j, one call per row) does not bound the measurement; shards are read in order,
            # so the last record of both shards means every record was read.
            lasts = sorted(last_per_shard.values())
            query = f"SELECT id FROM b WHERE MOD(n, 100) = 0 OR id IN ('{lasts[0]}', '{lasts[1]}')"
            driver.call("open", name="b", columns="id STRING, n INT, phase STRING", options=options, query=query)
            t_submit = time.perf_counter()
            first = None
            deadline = t_submit + 300
            while True:
                rows = driver.call("rows", name="b")["rows"]
                if rows and first is None:
                    first = time.perf_counter()
                if set(lasts) <= {r[0] for r in rows}:
                    break
                assert time.perf_counter() < deadline, f"only {len(rows)} rows after 300 s"
                time.sleep(0.05)
            t_last = time.perf_counter()
            expected = {f"r{i}" for i in range(0, RECORDS, 100)} | set(lasts)
            assert sorted(r[0] for r in rows) == sorted(expected), "rows lost or doubled"
            driver.call("cancel", name="b")
            first = first or t_last
            return {
                "kinesis_source_records": RECORDS,
                "kinesis_source_records_per_s": round(RECORDS / max(t_last - first, 1e-3)),
                "kinesis_source_first_row_s": round(first - t_submit, 2),
                "kinesis_boto3_get_records_per_s": round(boto3_rate),
            }
        finally:
            if driver:
                driver.close()
