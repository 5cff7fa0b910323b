"""A rough monthly cost of the stack pipeline.yaml describes, for the README (`python -m infra.cost`).

The model follows each service's billing unit: Managed Flink bills KPU-hours plus one orchestration
KPU per application and 50 GB of running storage per KPU; Kinesis bills shard-hours and 25 KB PUT
payload units; Firehose bills ingestion per record rounded up to 5 KB, plus dynamic partitioning
per GB, per 1,000 objects and per JQ processing hour; Glue bills DPU-hours per second with a
1-minute minimum for Glue 5.0 jobs and a 10-minute minimum per crawler run. What does not depend
on the event volume is the fixed cost. Prices are the on-demand list prices of the region as
entered below: check them against the AWS Pricing Calculator before relying on the total.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass

from infra.components.producer import aws_sources
from vigia_core import config

HOURS = 730
DAYS = HOURS / 24
KB = 1024
GB = 1024 ** 3

PRICES = {  # USD, on-demand list prices as read in November 2026
    "eu-west-1": {
        "flink_kpu_hour": 0.12, "flink_storage_gb_month": 0.11,
        "kinesis_shard_hour": 0.0165, "kinesis_put_million": 0.0154,
        "firehose_ingest_gb": 0.031, "firehose_dp_gb": 0.020, "firehose_dp_thousand_objects": 0.005,
        "firehose_jq_hour": 0.07,
        "glue_dpu_hour": 0.44,
        "cw_alarm_metric": 0.10, "cw_custom_metric": 0.30, "cw_dashboard": 3.00, "cw_logs_gb": 0.57,
        "kms_key": 1.00, "lambda_gb_s": 0.0000166667, "lambda_million_requests": 0.20,
    },
}
DPU_PER_WORKER = {"G.1X": 1, "G.2X": 2, "G.4X": 4, "G.8X": 8}


@dataclass(frozen=True)
class Volume:
    """What the estimate assumes about the traffic (the README states it)."""
    events_per_day: int = 1_000_000
    record_bytes: int = 1_000
    etl_minutes_per_run: float = 3.0      # at this volume; Glue 5.0 bills at least 1 minute
    jq_ms_per_record: float = 0.1         # Firehose's JQ processing time per record (an estimate)
    log_gb: float = 2.0
    other_usd: float = 2.0                # S3, Athena (~10 GB scanned), SNS, SQS, EventBridge


@dataclass(frozen=True)
class Line:
    item: str
    basis: str
    fixed_usd: float      # what the stack costs with no events at all
    volume_usd: float     # what the assumed volume adds

    @property
    def usd(self) -> float:
        return self.fixed_usd + self.volume_usd


def flink_kpus(p: config.Pipeline) -> int:
    """KPUs of the application: parallelism / parallelism per KPU, plus one for orchestration."""
    return math.ceil(p.flink.parallelism / p.deploy.flink.parallelism_per_kpu) + 1


def firehose_billed_gb(records: float, record_bytes: int) -> float:
    """Firehose ingestion bills each record rounded up to the next 5 KB."""
    return records * math.ceil(record_bytes / (5 * KB)) * 5 * KB / GB


def runs_per_month(schedule: str) -> float:
    """Runs of an EventBridge/Glue cron or rate expression in a month (the subset we use)."""
    rate = config.rate_seconds(schedule)
    if rate:
        return HOURS * 3600 / rate
    minutes, hours = re.fullmatch(r"cron\((\S+) (\S+) .+\)", schedule).group(1, 2)
    per_hour = 1 if minutes != "*" else 60
    per_day = 24 if hours == "*" else len(hours.split(","))
    return per_hour * per_day * DAYS


def estimate(p: config.Pipeline, v: Volume = Volume(), *, alarm_metrics: int, custom_metrics: int) -> list[Line]:
    if p.region not in PRICES:
        raise KeyError(f"no prices for {p.region}: add them to infra/cost.py PRICES")
    c = PRICES[p.region]
    records = v.events_per_day * DAYS
    gb = records * v.record_bytes / GB
    d, g = p.deploy, p.deploy.glue

    kpus = flink_kpus(p)
    flink = kpus * HOURS * c["flink_kpu_hour"] + (kpus - 1) * 50 * c["flink_storage_gb_month"]

    shards = p.stream.shard_count or 0  # on-demand streams bill per GB instead: not modelled here
    put_units = records * math.ceil(v.record_bytes / (25 * KB))
    kinesis = (shards * HOURS * c["kinesis_shard_hour"], put_units / 1e6 * c["kinesis_put_million"])

    billed_gb = firehose_billed_gb(records, v.record_bytes)
    objects = len(aws_sources(p)) * (3600 / p.firehose.buffering.interval_s) * HOURS  # one active hour per source
    firehose = (billed_gb * c["firehose_ingest_gb"] + gb * c["firehose_dp_gb"]
                + objects / 1000 * c["firehose_dp_thousand_objects"]
                + records * v.jq_ms_per_record / 3.6e6 * c["firehose_jq_hour"])

    etl_runs = runs_per_month(g.schedule)
    dpus = g.workers * DPU_PER_WORKER[g.worker_type]
    etl_fixed = etl_runs * dpus * (1 / 60) * c["glue_dpu_hour"]
    etl = (etl_fixed, etl_runs * dpus * (max(v.etl_minutes_per_run, 1) - 1) / 60 * c["glue_dpu_hour"])
    crawls = runs_per_month(g.raw_crawler_schedule) + runs_per_month(g.gold_crawler_schedule)
    crawlers = crawls * (10 / 60) * c["glue_dpu_hour"]  # 1 DPU, 10-minute minimum each

    cloudwatch = (alarm_metrics * c["cw_alarm_metric"] + custom_metrics * c["cw_custom_metric"] + c["cw_dashboard"],
                  v.log_gb * c["cw_logs_gb"])
    invocations = runs_per_month(p.producer.schedule)  # schedule-driven: fixed
    lam = invocations * d.producer.memory_mib / 1024 * 5 * c["lambda_gb_s"] + invocations / 1e6 * c["lambda_million_requests"]

    return [
        Line("Managed Flink", f"{kpus - 1} KPU (parallelism {p.flink.parallelism}) + 1 orchestration KPU, "
             f"${c['flink_kpu_hour']}/KPU-hour; 50 GB running storage per KPU", flink, 0),
        Line("Kinesis Data Stream", f"{shards} shards × ${c['kinesis_shard_hour']}/hour; 25 KB PUT payload units",
             *kinesis),
        Line("Glue ETL", f"{etl_runs:.0f} runs × {dpus} DPU ({g.workers} × {g.worker_type}), "
             f"~{v.etl_minutes_per_run:g} min (1-minute minimum), ${c['glue_dpu_hour']}/DPU-hour", *etl),
        Line("Glue crawlers", f"raw and gold daily: {crawls:.0f} runs × 10-minute minimum × 1 DPU", crawlers, 0),
        Line("CloudWatch", f"{alarm_metrics} alarm metrics, {custom_metrics} custom metrics, 1 dashboard, "
             f"~{v.log_gb:g} GB logs", *cloudwatch),
        Line("Firehose", f"{billed_gb:.0f} GB billed ({v.record_bytes} B records rounded up to 5 KB) × "
             f"${c['firehose_ingest_gb']}/GB + dynamic partitioning ${c['firehose_dp_gb']}/GB, objects, JQ hours",
             0, firehose),
        Line("KMS", "2 customer-managed keys", 2 * c["kms_key"], 0),
        Line("Lambda", f"{invocations:.0f} runs × {d.producer.memory_mib} MB × ~5 s (before the free tier)", lam, 0),
        Line("S3, Athena, SNS, SQS, EventBridge", "a few GB stored, ~10 GB scanned, e-mail + a few SMS", 0, v.other_usd),
    ]


def markdown(lines: list[Line]) -> str:
    rows = ["| item | basis | fixed | with the volume | ≈ USD/month |", "|---|---|---|---|---|"]
    rows += [f"| {x.item} | {x.basis} | {x.fixed_usd:.0f} | {x.volume_usd:.0f} | {x.usd:.0f} |" for x in lines]
    fixed, total = sum(x.fixed_usd for x in lines), sum(x.usd for x in lines)
    rows.append(f"| **total** | | **{fixed:.0f}** | | **≈ {total:.0f}** |")
    return "\n".join(rows)


def stack_estimate(p: config.Pipeline, v: Volume = Volume()) -> list[Line]:
    """The estimate with the alarms and custom metrics the stack builds."""
    from infra.components.monitoring import JOB_COUNTERS, alarm_metrics
    from producer.handler import METRICS

    sources = aws_sources(p)
    return estimate(p, v, alarm_metrics=alarm_metrics(p, sources),
                    custom_metrics=len(METRICS) * len(sources) + len(JOB_COUNTERS))


# Scaling up, one step at a time: (what to change in pipeline.yaml, the changed settings).
SCALE_STEPS = [
    ("`flink.parallelism: 2` (one subtask per shard)", {"flink": {"parallelism": 2}}),
    ("`stream.shard_count: 4` and `flink.parallelism: 4` (4,000 records/s in)",
     {"stream": {"shard_count": 4}, "flink": {"parallelism": 4}}),
    ("`deploy.glue.worker_type: G.2X` (twice the memory and DPUs per ETL run)",
     {"deploy": {"glue": {"worker_type": "G.2X"}}}),
]


def _with(p: config.Pipeline, changes: dict) -> config.Pipeline:
    data = p.model_dump(mode="json")
    for section, values in changes.items():
        target = data[section]
        for key, value in values.items():
            target[key] = {**target[key], **value} if isinstance(value, dict) else value
    return config.parse(data)


def readme_tables(p: config.Pipeline) -> str:
    """The README's cost table and what each scaling step adds to it."""
    base = sum(x.usd for x in stack_estimate(p))
    steps = ["| scaling step | ≈ USD/month more |", "|---|---|"]
    steps += [f"| {what} | +{sum(x.usd for x in stack_estimate(_with(p, change))) - base:.0f} |"
              for what, change in SCALE_STEPS]
    return markdown(stack_estimate(p)) + "\n\n" + "\n".join(steps)


if __name__ == "__main__":
    print(readme_tables(config.load(sys.argv[1] if len(sys.argv) > 1 else None)))
