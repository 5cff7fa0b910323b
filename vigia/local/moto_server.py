"""The local AWS endpoint: moto's own server, plus the AWS rules it leaves out that we rely on.

`python -m vigia.local.moto_server -H 127.0.0.1 -p PORT` takes moto_server's arguments. Added rule:
- Kinesis PutRecord rejects a record whose data blob plus partition key exceed 1 MiB, as AWS
  does for a stream at its default maximum record size (moto checks this for PutRecords only):
  https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html
"""

from __future__ import annotations

import base64
import sys

from moto.core.exceptions import JsonRESTError
from moto.kinesis.models import KinesisBackend
from moto.server import main

MAX_RECORD_BYTES = 1024 * 1024  # a stream's default maximum record size (1 MiB)


class RecordTooLarge(JsonRESTError):
    """The error PutRecords gives on moto and AWS, worded for PutRecord's `Data` member."""

    def __init__(self) -> None:
        super().__init__("ValidationException", "1 validation error detected: Value at 'data' failed to satisfy "
                         f"constraint: Member must have length less than or equal to {MAX_RECORD_BYTES}")


def record_size(partition_key: str, data_b64: str) -> int:
    """What the limit counts: the data blob before base64 encoding plus the partition key's bytes."""
    return len(base64.b64decode(data_b64)) + len(partition_key.encode())


def _checked_put_record(put_record):
    def put(self, stream_arn, stream_name, partition_key, explicit_hash_key, data):
        if record_size(partition_key or "", data or "") > MAX_RECORD_BYTES:
            raise RecordTooLarge()
        return put_record(self, stream_arn, stream_name, partition_key, explicit_hash_key, data)
    return put


def install() -> None:
    KinesisBackend.put_record = _checked_put_record(KinesisBackend.put_record)


if __name__ == "__main__":
    install()
    main(sys.argv[1:])
