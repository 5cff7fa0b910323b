"""The local job bookmark: which raw objects the ETL has already processed, kept in S3.

In AWS, Glue job bookmarks make each run read only new files. Locally the job keeps the same
promise with one small JSON object in the artifacts bucket (`glue/<etl_job>/bookmark.json`), the
way Glue tracks S3 sources: a high-water mark of the objects' LastModified, and the keys of the
objects modified within `LOOKBACK` of it (an object written while the previous run listed may
carry an earlier time than the newest one seen). Objects older than that window count as processed.
The marker is written only after the run's output is stored (Glue's `job.commit()`); a run that
fails reads the same objects again, and dedup keeps the rerun from writing anything twice.
`vigia etl --reset-bookmark` deletes it; `vigia etl --full` reprocesses everything once.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

LOOKBACK = timedelta(hours=1)


def key(etl_job: str) -> str:
    return f"glue/{etl_job}/bookmark.json"


class Bookmark:
    def __init__(self, s3, bucket: str, etl_job: str):
        self.s3, self.bucket, self.key = s3, bucket, key(etl_job)

    def _load(self) -> tuple[datetime | None, set[str]]:
        try:
            body = json.loads(self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None, set()
        return datetime.fromisoformat(body["high_water"]), set(body["recent"])

    def new(self, listed: list[dict]) -> list[dict]:
        """The objects of `listed` (list_objects_v2 entries) not processed by an earlier run."""
        high_water, recent = self._load()
        if high_water is None:
            return listed
        return [o for o in listed if o["LastModified"] > high_water - LOOKBACK and o["Key"] not in recent]

    def commit(self, listed: list[dict]) -> None:
        """Every object of `listed` is processed now."""
        if not listed:
            return
        high_water, recent = self._load()
        newest = max([o["LastModified"] for o in listed] + ([high_water] if high_water else []))
        keep = {o["Key"] for o in listed if o["LastModified"] > newest - LOOKBACK}
        if high_water and high_water > newest - LOOKBACK:
            keep |= recent
        self.s3.put_object(Bucket=self.bucket, Key=self.key, ContentType="application/json",
                           Body=json.dumps({"high_water": newest.isoformat(), "recent": sorted(keep)}).encode())

    def reset(self) -> bool:
        """Forget every processed object; True if there was a bookmark."""
        existed = self._load()[0] is not None
        self.s3.delete_object(Bucket=self.bucket, Key=self.key)
        return existed
