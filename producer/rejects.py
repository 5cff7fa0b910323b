"""Rejected items, each with its reason, as JSON lines under the raw bucket's rejects/ prefix.

Layout: rejects/source=<source>/dt=<yyyy-mm-dd>/<utc time>-<uuid>.jsonl, one object per poll page.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from vigia_core.contract import format_time


@dataclass(frozen=True)
class Reject:
    source: str
    item_id: str | None
    reason: str                 # "field: why; field: why"
    errors: list[dict]          # [{"field": ..., "reason": ..., "kind": ...}]
    item: Any                   # the raw item (or the envelope, for Kinesis failures)
    kind: str                   # invalid | too_large | put_failed
    error_code: str | None = None


class RejectWriter:
    def __init__(self, s3, bucket: str, prefix: str):
        self.s3, self.bucket, self.prefix = s3, bucket, prefix

    def write(self, source: str, rejects: list[Reject], now: datetime) -> str | None:
        if not rejects:
            return None
        key = f"{self.prefix}source={source}/dt={now:%Y-%m-%d}/{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex}.jsonl"
        lines = [json.dumps({**asdict(r), "stage": "producer", "rejected_at": format_time(now)}, default=str)
                 for r in rejects]
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=("\n".join(lines) + "\n").encode(),
                           ContentType="application/x-ndjson")
        return key
