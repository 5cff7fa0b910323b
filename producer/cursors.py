"""Per-source poll cursors, one small JSON object each in S3, so repeated polls never resend items."""

from __future__ import annotations

import json

from vigia import clock


class CursorStore:
    def __init__(self, s3, bucket: str, prefix: str):
        self.s3, self.bucket, self.prefix = s3, bucket, prefix

    def key(self, source: str) -> str:
        return f"{self.prefix}{source}.json"

    def get(self, source: str) -> str | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=self.key(source))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)["cursor"]

    def put(self, source: str, cursor: str | None) -> None:
        body = {"source": source, "cursor": cursor, "updated_at": clock.now().isoformat()}
        self.s3.put_object(Bucket=self.bucket, Key=self.key(source), Body=json.dumps(body).encode(),
                           ContentType="application/json")
