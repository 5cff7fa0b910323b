"""A proxy in front of the moto server that fails chosen records of PutRecords calls.

Kinesis can accept a PutRecords call while rejecting some of its records (per-record ErrorCode,
FailedRecordCount > 0). moto never does that, so this proxy does it for real over the wire: it
removes the chosen records from the request before forwarding it (so they really do not land) and
splices a ProvisionedThroughputExceededException entry for each into moto's response, at the
record's original position.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import Counter
from typing import Callable

from tests.support.kinesis_proxy import JSON, KinesisProxy

PUT_RECORDS = "Kinesis_20131202.PutRecords"


class FaultProxy(KinesisProxy):
    def __init__(self, upstream: str, should_fail: Callable[[dict, int], bool]):
        """`should_fail(event, attempt)`: attempt is 1 for the first time this event_id is sent."""
        super().__init__(upstream)
        self.should_fail = should_fail
        self.attempts: Counter = Counter()      # event_id -> times it was sent by the client
        self.failed: Counter = Counter()        # event_id -> times the proxy failed it
        self._lock = threading.Lock()

    def _split(self, body: dict) -> tuple[list[dict], list[int]]:
        keep, failed_at = [], []
        with self._lock:
            for i, rec in enumerate(body["Records"]):
                event = json.loads(base64.b64decode(rec["Data"]))
                self.attempts[event["event_id"]] += 1
                if self.should_fail(event, self.attempts[event["event_id"]]):
                    self.failed[event["event_id"]] += 1
                    failed_at.append(i)
                else:
                    keep.append(rec)
        return keep, failed_at

    def intercept(self, target, raw, forward):
        if target != PUT_RECORDS:
            return None
        body = json.loads(raw)
        keep, failed_at = self._split(body)
        results: list[dict] = []
        if keep:
            resp = forward(json.dumps({**body, "Records": keep}).encode())
            if resp.status_code != 200:
                return resp.status_code, resp.content, resp.headers.get("Content-Type", "")
            results = resp.json()["Records"]
        merged = iter(results)
        out = [{"ErrorCode": "ProvisionedThroughputExceededException",
                "ErrorMessage": "Rate exceeded for shard (injected by the test proxy)"}
               if i in failed_at else next(merged) for i in range(len(body["Records"]))]
        return 200, json.dumps({"FailedRecordCount": len(failed_at), "Records": out}).encode(), JSON
