"""HTTP proxies in front of moto for the errors and timing Kinesis has and moto has not.

`ThrottleProxy`: moto never throttles nor fails. This proxy answers the first GetRecords calls of
every shard with the given errors (by default `throttle_first` times HTTP 400
ProvisionedThroughputExceededException, the error Kinesis returns past 5 calls/s/shard) without
forwarding them, forwards everything else unchanged, and records when each forwarded GetRecords
call of each shard arrived, so a test can check the reader's polling interval.

`HoldIteratorsProxy`: holds every GetShardIterator call until the test releases it, and records
what was asked (type, timestamp), so a test can put records while the readers are starting.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter, defaultdict

from tests.support.kinesis_proxy import JSON, KinesisProxy

GET_RECORDS = "Kinesis_20131202.GetRecords"
GET_SHARD_ITERATOR = "Kinesis_20131202.GetShardIterator"
THROTTLED = (400, "ProvisionedThroughputExceededException")


def shard_of(iterator: str) -> str:
    # moto's iterators are base64 of "<stream>:<shard id>:<sequence number>"
    return base64.decodebytes(iterator.encode()).decode().split(":")[1]


class ThrottleProxy(KinesisProxy):
    def __init__(self, upstream: str, throttle_first: int = 0, faults: list[tuple[int, str]] | None = None):
        super().__init__(upstream)
        self.faults = faults if faults is not None else [THROTTLED] * throttle_first
        self.throttled: Counter = Counter()  # shard id -> GetRecords calls answered with a fault
        self.forwarded: dict[str, list[float]] = defaultdict(list)  # shard id -> arrival times
        self._lock = threading.Lock()

    def _fault(self, body: bytes) -> tuple[int, str] | None:
        shard = shard_of(json.loads(body)["ShardIterator"])
        with self._lock:
            if self.throttled[shard] < len(self.faults):
                self.throttled[shard] += 1
                return self.faults[self.throttled[shard] - 1]
            self.forwarded[shard].append(time.monotonic())
            return None

    def intercept(self, target, raw, forward):
        fault = self._fault(raw) if target == GET_RECORDS else None
        if fault:
            status, error_type = fault
            error = {"__type": error_type, "message": f"{error_type} (injected by the test proxy)"}
            return status, json.dumps(error).encode(), JSON
        return None


class HoldIteratorsProxy(KinesisProxy):
    def __init__(self, upstream: str):
        super().__init__(upstream)
        self.requests: list[dict] = []  # the GetShardIterator requests, as sent
        self.release = threading.Event()
        self._lock = threading.Lock()

    def intercept(self, target, raw, forward):
        if target == GET_SHARD_ITERATOR:
            with self._lock:
                self.requests.append(json.loads(raw))
            if not self.release.wait(timeout=120):
                return 500, b'{"__type": "InternalFailure", "message": "never released"}', JSON
        return None

    def shards_asked(self) -> set[str]:
        with self._lock:
            return {r["ShardId"] for r in self.requests}
