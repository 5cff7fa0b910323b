"""Local stand-in for Amazon Data Firehose: Kinesis stream -> S3, as the delivery stream would.

No emulator delivers like Firehose (moto writes one object per call and ignores prefixes, JQ and
buffering, and never reads a source stream), so this service implements the documented behaviour
of the subset `firehose.definition.extended_s3_destination` uses, reading that very dict:

- reads every shard of the source stream from TRIM_HORIZON, and checkpoints per shard (in the
  artifacts bucket) only what has been written to S3, so a restart neither loses nor re-delivers;
- parses each record as JSON and runs the MetadataExtraction JQ query with the `jq` library;
- evaluates `!{partitionKeyFromQuery:k}`, `!{timestamp:fmt}` (arrival time of the oldest record
  in the object) and `!{firehose:random-string|error-output-type}` in the prefixes;
- buffers per partition until SizeInMBs (uncompressed) or IntervalInSeconds is reached,
  appends the delimiter to every record, compresses, and names objects
  `<prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`;
- sends records that are not JSON, whose query fails or yields no value for a prefix key to the
  error prefix as JSON error records (attemptsMade, arrivalTimestamp, errorCode, errorMessage,
  attemptEndingTimestamp, rawData base64, ...).

Run `vigia firehose drain` (deliver what is in the stream now, flush everything) or
`vigia firehose run` (a long-running service).
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone

import jq
from botocore.exceptions import ClientError

from firehose import definition
from vigia.local import aws
from vigia_core import clock
from vigia_core.config import Pipeline

STREAM_VERSION = 1  # Firehose starts at 1 and bumps it on every configuration change
ERROR_TYPE = "processing-failed"  # the MetadataExtraction processor failed for the record
ERROR_CODE = "DynamicPartitioning.MetadataExtractionFailed"
_EXPR = re.compile(r"!\{([a-zA-Z]+):([^}]*)\}")
# Java DateTimeFormatter letters Firehose accepts in !{timestamp:...}, the subset we support.
_JAVA_TIME = {"yyyy": "%Y", "yy": "%y", "MM": "%m", "dd": "%d", "HH": "%H", "mm": "%M", "ss": "%S"}


class DeliveryError(ValueError):
    """The destination configuration uses something this stand-in does not implement."""


def java_time(fmt: str, t: datetime) -> str:
    out, i = [], 0
    while i < len(fmt):
        for token, py in _JAVA_TIME.items():
            if fmt.startswith(token, i):
                out.append(t.strftime(py))
                i += len(token)
                break
        else:
            if fmt[i].isalpha():
                raise DeliveryError(f"unsupported letter {fmt[i]!r} in !{{timestamp:{fmt}}}")
            out.append(fmt[i])
            i += 1
    return "".join(out)


def evaluate_prefix(prefix: str, *, keys: dict[str, str], oldest_arrival: datetime,
                    error_type: str | None = None) -> str:
    def sub(m: re.Match) -> str:
        ns, arg = m.group(1), m.group(2)
        if ns == "partitionKeyFromQuery":
            return keys[arg]
        if ns == "timestamp":
            return java_time(arg, oldest_arrival)
        if ns == "firehose" and arg == "random-string":
            return uuid.uuid4().hex[:11]
        if ns == "firehose" and arg == "error-output-type" and error_type:
            return error_type
        raise DeliveryError(f"unsupported prefix expression {m.group(0)!r}")
    return _EXPR.sub(sub, prefix)


@dataclass
class Buffer:
    """Records of one partition waiting for delivery."""
    keys: dict[str, str] | None          # partition key values; None for the error buffer
    started: float                       # clock time the first record entered
    oldest_arrival: datetime
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    positions: list[tuple[str, str]] = field(default_factory=list)  # (shard, sequence number)


@dataclass
class Stats:
    records_read: int = 0
    delivered: int = 0
    errors: int = 0
    objects: list[str] = field(default_factory=list)


class ShardCursor:
    """Read position of one shard; `checkpoint` only passes records already written to S3."""

    def __init__(self, checkpoint: str | None):
        self.checkpoint = checkpoint
        self.iterator: str | None = None
        self.pending: deque[str] = deque()   # sequence numbers read, in order, not yet checkpointed
        self.delivered: set[str] = set()

    def advance(self) -> bool:
        moved = False
        while self.pending and self.pending[0] in self.delivered:
            seq = self.pending.popleft()
            self.delivered.discard(seq)
            self.checkpoint, moved = seq, True
        return moved


class LocalDelivery:
    """One delivery stream reading the pipeline's Kinesis stream into the raw bucket."""

    def __init__(self, p: Pipeline, port: int | None = None, clock=time.monotonic, role_arn: str | None = None):
        self.p = p
        role = role_arn or f"arn:aws:iam::{aws.ACCOUNT_ID}:role/{p.firehose.name}"
        self.dest = definition.extended_s3_destination(p, role)
        self.bucket = self.dest["BucketARN"].rsplit(":", 1)[1]
        self.prefix, self.error_prefix = self.dest["Prefix"], self.dest["ErrorOutputPrefix"]
        self.keys = definition.partition_keys(self.prefix)
        query = definition.processor_parameter(self.dest, "MetadataExtraction", "MetadataExtractionQuery")
        engine = definition.processor_parameter(self.dest, "MetadataExtraction", "JsonParsingEngine")
        if engine != definition.JQ_ENGINE:
            raise DeliveryError(f"unsupported JsonParsingEngine {engine!r}")
        self.query = jq.compile(query)
        self.delimiter = self._delimiter()
        hints = self.dest["BufferingHints"]
        self.max_bytes = hints["SizeInMBs"] * definition.MIB
        self.max_age_s = hints["IntervalInSeconds"]
        self.clock = clock
        self.kinesis = aws.client("kinesis", p.region, port)
        self.s3 = aws.client("s3", p.region, port)
        self.checkpoint_key = f"firehose/{p.firehose.name}/checkpoints.json"
        self.cursors = {sid: ShardCursor(seq) for sid, seq in self._load_checkpoints().items()}
        self.buffers: dict[tuple, Buffer] = {}
        self.stats = Stats()

    def _delimiter(self) -> bytes:
        """Nothing without the processor (Firehose concatenates records); a newline when it has no
        Delimiter parameter; else the parameter, unescaped."""
        procs = [x["Type"] for x in self.dest.get("ProcessingConfiguration", {}).get("Processors", [])]
        if "AppendDelimiterToRecord" not in procs:
            return b""
        value = definition.processor_parameter(self.dest, "AppendDelimiterToRecord", "Delimiter")
        return b"\n" if value is None else value.encode().decode("unicode_escape").encode()

    # --- reading ----------------------------------------------------------------------------

    def _load_checkpoints(self) -> dict[str, str | None]:
        try:
            body = self.s3.get_object(Bucket=self.p.buckets.artifacts, Key=self.checkpoint_key)["Body"].read()
            return json.loads(body)
        except ClientError as err:
            if err.response["Error"]["Code"] not in ("NoSuchKey", "404"):
                raise
            return {}

    def _save_checkpoints(self) -> None:
        data = {sid: c.checkpoint for sid, c in self.cursors.items() if c.checkpoint}
        self.s3.put_object(Bucket=self.p.buckets.artifacts, Key=self.checkpoint_key,
                           Body=json.dumps(data, sort_keys=True).encode())

    def _iterator(self, shard_id: str, cursor: ShardCursor) -> str:
        kw = ({"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": cursor.checkpoint}
              if cursor.checkpoint else {"ShardIteratorType": "TRIM_HORIZON"})
        return self.kinesis.get_shard_iterator(StreamName=self.p.stream.name, ShardId=shard_id, **kw)["ShardIterator"]

    def poll(self) -> int:
        """One GetRecords round over every shard; returns the number of records read."""
        shards = self.kinesis.list_shards(StreamName=self.p.stream.name)["Shards"]
        n = 0
        for shard in shards:
            sid = shard["ShardId"]
            cursor = self.cursors.setdefault(sid, ShardCursor(None))
            if cursor.iterator is None:
                cursor.iterator = self._iterator(sid, cursor)
            resp = self.kinesis.get_records(ShardIterator=cursor.iterator, Limit=10_000)
            cursor.iterator = resp.get("NextShardIterator")
            for rec in resp["Records"]:
                cursor.pending.append(rec["SequenceNumber"])
                self._route(rec["Data"], rec["ApproximateArrivalTimestamp"], (sid, rec["SequenceNumber"]))
                n += 1
        self.stats.records_read += n
        return n

    # --- routing and buffering --------------------------------------------------------------

    def partition_of(self, data: bytes) -> dict[str, str] | str:
        """The partition key values of a record, or the reason it goes to the error prefix."""
        try:
            obj = json.loads(data)
        except (UnicodeDecodeError, ValueError):
            return "Non JSON record provided"
        try:
            result = self.query.input_value(obj).first()
        except (ValueError, StopIteration) as err:
            return f"JQ query failed: {err}"
        if not isinstance(result, dict):
            return f"JQ query must produce an object, got {json.dumps(result)[:60]}"
        missing = [k for k in self.keys if result.get(k) in (None, "")]
        if missing:
            return f"partition keys {missing} not found in the record (JQ result {json.dumps(result)[:120]})"
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in result.items() if k in self.keys}

    def _route(self, data: bytes, arrival: datetime, position: tuple[str, str]) -> None:
        arrival = arrival.astimezone(timezone.utc)
        part = self.partition_of(data)
        if isinstance(part, str):
            now_ms = int(clock.now().timestamp() * 1000)
            record = {"attemptsMade": 1, "arrivalTimestamp": int(arrival.timestamp() * 1000),
                      "errorCode": ERROR_CODE, "errorMessage": part, "attemptEndingTimestamp": now_ms,
                      "rawData": base64.b64encode(data).decode(), "sequenceNumber": position[1],
                      "subSequenceNumber": 0}
            self._buffer(("error", ERROR_TYPE), None, json.dumps(record).encode() + b"\n", arrival, position)
        else:
            self._buffer(tuple(part[k] for k in self.keys), part, data + self.delimiter, arrival, position)

    def _buffer(self, key: tuple, keys: dict | None, chunk: bytes, arrival: datetime, position) -> None:
        buf = self.buffers.get(key)
        if buf is None:
            buf = self.buffers[key] = Buffer(keys, self.clock(), arrival)
        buf.chunks.append(chunk)
        buf.size += len(chunk)
        buf.oldest_arrival = min(buf.oldest_arrival, arrival)
        buf.positions.append(position)
        if buf.size >= self.max_bytes:
            self._flush(key)

    # --- writing ----------------------------------------------------------------------------

    def _flush(self, key: tuple) -> None:
        buf = self.buffers.pop(key)
        body = b"".join(buf.chunks)
        if self.dest["CompressionFormat"] == "GZIP":
            body = gzip.compress(body, mtime=0)
        if buf.keys is None:
            prefix = evaluate_prefix(self.error_prefix, keys={}, oldest_arrival=buf.oldest_arrival,
                                     error_type=key[1])
            self.stats.errors += len(buf.chunks)
        else:
            prefix = evaluate_prefix(self.prefix, keys=buf.keys, oldest_arrival=buf.oldest_arrival)
            self.stats.delivered += len(buf.chunks)
        name = (f"{self.p.firehose.name}-{STREAM_VERSION}-{buf.oldest_arrival:%Y-%m-%d-%H-%M-%S}-"
                f"{uuid.uuid4()}{self.dest.get('FileExtension', '')}")
        self.s3.put_object(Bucket=self.bucket, Key=prefix + name, Body=body)
        self.stats.objects.append(prefix + name)
        for sid, seq in buf.positions:
            self.cursors[sid].delivered.add(seq)
        if any([c.advance() for c in self.cursors.values()]):
            self._save_checkpoints()

    def flush_due(self) -> int:
        """Deliver every buffer whose interval has elapsed; returns how many objects were written."""
        due = [k for k, b in self.buffers.items() if self.clock() - b.started >= self.max_age_s]
        for k in due:
            self._flush(k)
        return len(due)

    def flush_all(self) -> None:
        for k in list(self.buffers):
            self._flush(k)

    def drain(self) -> Stats:
        """Deliver everything now in the stream, then flush all buffers (demo and tests)."""
        while self.poll():
            self.flush_due()
        self.flush_all()
        return self.stats

    def serve(self, stop: threading.Event, poll_interval_s: float = 1.0) -> None:
        """The long-running service: poll, deliver what is due; on stop, flush what is left."""
        while not stop.is_set():
            read = self.poll()
            self.flush_due()
            if not read:
                stop.wait(poll_interval_s)
        self.flush_all()
