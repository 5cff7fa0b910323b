"""PutRecords in batches within the Kinesis limits; only failed records are retried.

Limits (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html): at most 500
records and 5 MiB per call, 1 MiB per record (data blob plus partition key). A call can succeed
while some of its records fail (ErrorCode per record); those, and only those, are sent again with
exponential backoff and full jitter. Records still failing after `max_attempts` come back as failures
with their last error code, for the caller to put under rejects/.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

from vigia_core.config import KinesisWriterSettings


@dataclass(frozen=True)
class Record:
    data: bytes
    partition_key: str
    ref: object = None  # the caller's handle (e.g. the event) returned with the outcome


@dataclass
class WriteResult:
    accepted: list[tuple[Record, str, str]] = field(default_factory=list)  # record, shard id, sequence no.
    failed: list[tuple[Record, str, str]] = field(default_factory=list)    # record, error code, message
    too_large: list[Record] = field(default_factory=list)
    calls: int = 0
    retried_records: int = 0


def record_size(r: Record) -> int:
    return len(r.data) + len(r.partition_key.encode())


def batches(records: list[Record], max_records: int, max_bytes: int) -> list[list[Record]]:
    out: list[list[Record]] = []
    batch: list[Record] = []
    size = 0
    for r in records:
        n = record_size(r)
        if batch and (len(batch) == max_records or size + n > max_bytes):
            out.append(batch)
            batch, size = [], 0
        batch.append(r)
        size += n
    if batch:
        out.append(batch)
    return out


class KinesisWriter:
    def __init__(self, kinesis, stream_name: str, settings: KinesisWriterSettings,
                 sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None):
        self.kinesis = kinesis
        self.stream = stream_name
        self.s = settings
        self.sleep = sleep
        self.rng = rng or random.Random()

    def put(self, records: list[Record]) -> WriteResult:
        result = WriteResult()
        fitting = []
        for r in records:
            (result.too_large if record_size(r) > self.s.max_record_bytes else fitting).append(r)
        for batch in batches(fitting, self.s.max_batch_records, self.s.max_batch_bytes):
            self._put_batch(batch, result)
        return result

    def _put_batch(self, batch: list[Record], result: WriteResult) -> None:
        pending = batch
        for attempt in range(self.s.max_attempts):
            if attempt:
                # Full jitter: spreads retries of many producers (AWS Architecture Blog, "Exponential
                # Backoff And Jitter").
                self.sleep(self.rng.uniform(0, self.s.backoff_base_s * 2 ** attempt))
                result.retried_records += len(pending)
            resp = self.kinesis.put_records(StreamName=self.stream, Records=[
                {"Data": r.data, "PartitionKey": r.partition_key} for r in pending])
            result.calls += 1
            retry = []
            for r, entry in zip(pending, resp["Records"]):
                if "ErrorCode" in entry:
                    retry.append((r, entry["ErrorCode"], entry.get("ErrorMessage", "")))
                else:
                    result.accepted.append((r, entry["ShardId"], entry["SequenceNumber"]))
            if not retry:
                return
            pending = [r for r, _, _ in retry]
        result.failed.extend(retry)
