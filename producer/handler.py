"""The producer: one handler for Lambda (EventBridge schedule) and for the CLI (`vigia produce`).

Per source and per page of items: map each item to the envelope and validate it against the
contract; put the valid ones on Kinesis (partition key `entity_id`); write every item that did not
make it (invalid, over 1 MiB, or still failing after the retry budget) with its reason under
`rejects/`; then advance the source's cursor in S3. A crash before the cursor moves re-sends the
page on the next poll: at-least-once, with deterministic event_ids for downstream dedup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Callable

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric

from producer.adapters import ADAPTERS, MappingError
from producer.cursors import CursorConflict, CursorStore
from producer.http import session
from producer.kinesis_writer import KinesisWriter, Record
from producer.rejects import Reject, RejectWriter
from vigia_core import clock, config, contract

logger = Logger(service="producer")
tracer = Tracer(service="producer")
NAMESPACE = "Vigia"
METRICS = ("ItemsPolled", "RecordsProduced", "ItemsRejected", "RecordsPutFailed", "RecordsRetried", "PollErrors")


@dataclass
class SourceStats:
    source_items: int = 0
    produced: int = 0
    invalid: int = 0
    too_large: int = 0
    put_failed: int = 0
    put_retried: int = 0
    pages: int = 0
    overtaken: int = 0  # 1 when another run advanced the cursor first (this run then stopped)
    poll_error: str | None = None

    @property
    def rejected(self) -> int:
        return self.invalid + self.too_large + self.put_failed

    def as_dict(self) -> dict:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "rejected": self.rejected}


class Producer:
    def __init__(self, p: config.Pipeline, *, kinesis=None, s3=None, http=None,
                 clock: Callable[[], datetime] = clock.now,
                 sleep: Callable[[float], None] | None = None):
        self.p = p
        self.clock = clock
        self.http = http or session(p.producer.http)
        s3 = s3 or boto3.client("s3", region_name=p.region)
        kinesis = kinesis or boto3.client("kinesis", region_name=p.region)
        self.cursors = CursorStore(s3, p.buckets.artifacts, p.producer.cursor_prefix)
        self.rejects = RejectWriter(s3, p.buckets.raw, p.producer.rejects_prefix)
        extra = {"sleep": sleep} if sleep else {}
        self.writer = KinesisWriter(kinesis, p.stream.name, p.producer.kinesis, **extra)

    def poll(self, source: config.Source) -> SourceStats:
        stats = SourceStats()
        adapter = ADAPTERS[source.type]
        try:
            cursor = self.cursors.get(source.name)
            for page in adapter.fetch(self.http, source, cursor.value):
                self._process_page(source, adapter, page, stats)
                cursor = self.cursors.put(source.name, page.cursor, cursor)
        except CursorConflict:
            # An overlapping run got there first and owns the source now; the page this run put
            # is re-sent with the same event_ids, which downstream dedup drops.
            stats.overtaken = 1
            logger.warning("cursor advanced by another run; stopping", extra={"source": source.name})
        except Exception as err:  # one failing API must not stop the other sources
            stats.poll_error = f"{type(err).__name__}: {err}"
            logger.exception("poll failed", extra={"source": source.name})
        _emit_metrics(source.name, stats)
        return stats

    def _process_page(self, source: config.Source, adapter, page, stats: SourceStats) -> None:
        now = self.clock()
        stats.pages += 1
        stats.source_items += len(page.items)
        rejects: list[Reject] = []
        records: list[Record] = []
        for item in page.items:
            try:
                event = adapter.to_event(item, source, now)
                errors = contract.validate(
                    event, now=now, max_age=timedelta(days=self.p.producer.max_event_age_days),
                    max_future_skew=timedelta(seconds=self.p.producer.max_future_skew_s))
            except MappingError as err:
                errors = [contract.FieldError(err.field, err.reason, "unmappable")]
            if errors:
                rejects.append(_reject(source.name, adapter.item_id(item), item, "invalid", errors))
                continue
            data = json.dumps(event, separators=(",", ":")).encode()
            records.append(Record(data, event["entity_id"], ref=(item, event)))
        stats.invalid += len(rejects)
        result = self.writer.put(records)
        stats.produced += len(result.accepted)
        stats.put_retried += result.retried_records
        for r in result.too_large:
            size = len(r.data) + len(r.partition_key.encode())
            err = contract.FieldError("(record)", f"{size} bytes exceeds the Kinesis record limit of "
                                                  f"{self.p.producer.kinesis.max_record_bytes} bytes", "too_large")
            rejects.append(_reject(source.name, adapter.item_id(r.ref[0]), r.ref[1], "too_large", [err]))
        for r, code, message in result.failed:
            err = contract.FieldError("(record)", f"PutRecords failed after "
                                                  f"{self.p.producer.kinesis.max_attempts} attempts: {code} {message}",
                                    "put_failed")
            rejects.append(_reject(source.name, adapter.item_id(r.ref[0]), r.ref[1], "put_failed", [err], code))
        stats.too_large += len(result.too_large)
        stats.put_failed += len(result.failed)
        key = self.rejects.write(source.name, rejects, now)
        if rejects:
            logger.warning("items rejected", extra={"source": source.name, "count": len(rejects), "key": key,
                                                    "first_reason": rejects[0].reason})


def _reject(source: str, item_id: str | None, item: Any, kind: str, errors: list[contract.FieldError],
            error_code: str | None = None) -> Reject:
    return Reject(source=source, item_id=item_id, reason="; ".join(map(str, errors)),
                  errors=[{"field": e.field, "reason": e.reason, "kind": e.kind} for e in errors], item=item, kind=kind,
                  error_code=error_code)


def _emit_metrics(source: str, stats: SourceStats) -> None:
    """One EMF metric per counter, dimensioned by source (CloudWatch parses these from the logs)."""
    values = (stats.source_items, stats.produced, stats.rejected, stats.put_failed, stats.put_retried,
              int(stats.poll_error is not None))
    for name, value in zip(METRICS, values, strict=True):
        with single_metric(name=name, unit=MetricUnit.Count, value=value, namespace=NAMESPACE,
                           default_dimensions={"service": "producer", "source": source}):
            pass


def selected_sources(p: config.Pipeline, names: list[str] | None, local_only: bool) -> list[config.Source]:
    if names:
        unknown = set(names) - {s.name for s in p.producer.sources}
        if unknown:
            raise KeyError(f"unknown source(s) {sorted(unknown)}; defined: {[s.name for s in p.producer.sources]}")
        return [s for s in p.producer.sources if s.name in names]
    return [s for s in p.producer.sources if s.local or not local_only]


def run(p: config.Pipeline, sources: list[str] | None = None, *, local_only: bool = False, **producer_args) -> dict:
    """Poll the chosen sources once; totals plus per-source stats."""
    producer = Producer(p, **producer_args)
    per_source = {s.name: producer.poll(s) for s in selected_sources(p, sources, local_only)}
    totals = SourceStats()
    for st in per_source.values():
        for f in fields(SourceStats):
            if f.name != "poll_error":
                setattr(totals, f.name, getattr(totals, f.name) + getattr(st, f.name))
    out = totals.as_dict()
    out.pop("poll_error")
    out["sources"] = {name: st.as_dict() for name, st in per_source.items()}
    return out


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict | None, context) -> dict:
    """Lambda entry point; the EventBridge rule may pass {"sources": [...]} to poll a subset."""
    names = (event or {}).get("sources") if isinstance(event, dict) else None
    result = run(config.load(), names)
    logger.info("poll finished", extra={k: v for k, v in result.items() if k != "sources"})
    return result
