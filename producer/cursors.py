"""Per-source poll cursors, one small JSON object each in S3, so repeated polls never resend items.

Two runs can overlap (EventBridge and asynchronous Lambda invocations are at-least-once), so a
cursor only moves by a conditional write: `If-Match` the ETag this run read (`If-None-Match: *`
for the first cursor). A run whose write fails with 412 PreconditionFailed (or 409
ConditionalRequestConflict, a concurrent conditional write) has been overtaken and stops polling
that source; the cursor never moves backwards. (Amazon S3 user guide, "Add preconditions to S3
operations with conditional requests": conditional writes.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from botocore.exceptions import ClientError

from vigia_core import clock

CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict"}


class CursorConflict(RuntimeError):
    """Another run wrote the cursor since this run read it."""


@dataclass(frozen=True)
class Cursor:
    value: str | None   # the source's cursor (None: start from the beginning)
    etag: str | None    # the stored object's ETag; None when there is no cursor yet


class CursorStore:
    def __init__(self, s3, bucket: str, prefix: str):
        self.s3, self.bucket, self.prefix = s3, bucket, prefix

    def key(self, source: str) -> str:
        return f"{self.prefix}{source}.json"

    def get(self, source: str) -> Cursor:
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.key(source))
        except self.s3.exceptions.NoSuchKey:
            return Cursor(None, None)
        return Cursor(json.loads(obj["Body"].read())["cursor"], obj["ETag"])

    def put(self, source: str, value: str | None, read: Cursor) -> Cursor:
        """Store `value` if the cursor is still the one `read`; the new Cursor, else CursorConflict."""
        body = {"source": source, "cursor": value, "updated_at": clock.now().isoformat()}
        condition = {"IfMatch": read.etag} if read.etag else {"IfNoneMatch": "*"}
        try:
            resp = self.s3.put_object(Bucket=self.bucket, Key=self.key(source), Body=json.dumps(body).encode(),
                                      ContentType="application/json", **condition)
        except ClientError as err:
            if err.response["Error"]["Code"] in CONFLICT_CODES:
                raise CursorConflict(f"cursor of {source!r} was advanced by another run") from None
            raise
        return Cursor(value, resp["ETag"])
