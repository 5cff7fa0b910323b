"""An HTTP proxy in front of moto that throttles GetRecords, as Kinesis does past 5 calls/s/shard.

moto never throttles. This proxy answers the first `throttle_first` GetRecords calls of every
shard with HTTP 400 ProvisionedThroughputExceededException (the error Kinesis returns) without
forwarding them, forwards everything else unchanged, and records when each forwarded GetRecords
call of each shard arrived, so a test can check the reader's polling interval.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import Counter, defaultdict

from tests.support.kinesis_proxy import JSON, KinesisProxy

GET_RECORDS = "Kinesis_20131202.GetRecords"


def shard_of(iterator: str) -> str:
    # moto's iterators are base64 of "<stream>:<shard id>:<sequence number>"
    return base64.decodebytes(iterator.encode()).decode().split(":")[1]


class ThrottleProxy(KinesisProxy):
    def __init__(self, upstream: str, throttle_first: int):
        super().__init__(upstream)
        self.throttle_first = throttle_first
        self.throttled: Counter = Counter()  # shard id -> GetRecords calls answered with throttling
        self.forwarded: dict[str, list[float]] = defaultdict(list)  # shard id -> arrival times
        self._lock = threading.Lock()

    def _throttle(self, body: bytes) -> bool:
        shard = shard_of(json.loads(body)["ShardIterator"])
        with self._lock:
            if self.throttled[shard] < self.throttle_first:
                self.throttled[shard] += 1
                return True
            self.forwarded[shard].append(time.monotonic())
            return False

    def intercept(self, target, raw, forward):
        if target == GET_RECORDS and self._throttle(raw):
            error = {"__type": "ProvisionedThroughputExceededException",
                     "message": "Rate exceeded for shard (injected by the test proxy)"}
            return 400, json.dumps(error).encode(), JSON
        return None
