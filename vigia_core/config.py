"""The pipeline definition (`pipeline.yaml`) as typed, validated objects.

Every component -- the CDK app, the local runtime, the producer, the Flink job, the Glue job --
reads names and settings from here. Validation happens on load: an unknown key, a wrong type
or an impossible value raises `ConfigError` naming the key path and the reason.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "pipeline.yaml"
ENV_PATH = "VIGIA_PIPELINE"

# AWS naming rules we rely on (kept loose where AWS is loose).
StreamName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_.-]{1,128}$")]
BucketName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
TopicName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,256}$")]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Prefix = Annotated[str, Field(pattern=r"^$|^[^/].*/$")]  # empty, or relative and ending in '/'
PositiveInt = Annotated[int, Field(ge=1)]
PositiveFloat = Annotated[float, Field(gt=0)]
Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


class ConfigError(ValueError):
    """The pipeline definition is invalid; the message names each bad key and why."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stream(Strict):
    name: StreamName
    mode: Literal["provisioned", "on_demand"] = "provisioned"
    shard_count: PositiveInt | None = None
    retention_hours: Annotated[int, Field(ge=24, le=8760)] = 24

    @model_validator(mode="after")
    def _shards_match_mode(self) -> "Stream":
        if self.mode == "provisioned" and self.shard_count is None:
            raise ValueError("shard_count is required when mode is 'provisioned'")
        if self.mode == "on_demand" and self.shard_count is not None:
            raise ValueError("shard_count must not be set when mode is 'on_demand'")
        return self


class Buckets(Strict):
    raw: BucketName
    gold: BucketName
    athena_results: BucketName
    artifacts: BucketName

    @model_validator(mode="after")
    def _distinct(self) -> "Buckets":
        names = [self.raw, self.gold, self.athena_results, self.artifacts]
        if len(set(names)) != len(names):
            raise ValueError("bucket names must be distinct")
        return self


class HttpSettings(Strict):
    timeout_s: PositiveFloat = 10
    max_attempts: PositiveInt = 4
    backoff_base_s: Annotated[float, Field(ge=0)] = 0.5


class KinesisWriterSettings(Strict):
    max_batch_records: Annotated[int, Field(ge=1, le=500)] = 500
    max_batch_bytes: Annotated[int, Field(ge=1, le=5 * 1024 * 1024)] = 5 * 1024 * 1024
    max_record_bytes: Annotated[int, Field(ge=1, le=1024 * 1024)] = 1024 * 1024
    max_attempts: PositiveInt = 5
    backoff_base_s: Annotated[float, Field(ge=0)] = 0.1


class Location(Strict):
    id: Identifier
    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class Source(Strict):
    name: Identifier
    type: Literal["simulator", "usgs_earthquakes", "open_meteo"]
    url: Annotated[str, Field(pattern=r"^https?://")]
    local: bool = True  # polled by the local runtime (false: needs the internet)
    page_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    locations: list[Location] = []
    variables: list[str] = []

    @model_validator(mode="after")
    def _open_meteo_needs_locations(self) -> "Source":
        if self.type == "open_meteo" and not (self.locations and self.variables):
            raise ValueError("an open_meteo source needs 'locations' and 'variables'")
        return self


class Producer(Strict):
    schedule: Annotated[str, Field(pattern=r"^(rate|cron)\(.+\)$")]
    cursor_prefix: Prefix
    rejects_prefix: Prefix
    max_event_age_days: PositiveInt = 30
    max_future_skew_s: Annotated[int, Field(ge=0)] = 300
    http: HttpSettings = HttpSettings()
    kinesis: KinesisWriterSettings = KinesisWriterSettings()
    sources: Annotated[list[Source], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_sources(self) -> "Producer":
        _require_unique("source name", [s.name for s in self.sources])
        return self

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(f"no source named {name!r}; defined: {[s.name for s in self.sources]}")


class MetricSpec(Strict):
    unit: str
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> "MetricSpec":
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        return self


class Subscription(Strict):
    protocol: Literal["email", "sms"]
    endpoint: str
    min_severity: Severity = "info"

    @model_validator(mode="after")
    def _endpoint_matches_protocol(self) -> "Subscription":
        if self.protocol == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", self.endpoint):
            raise ValueError(f"endpoint {self.endpoint!r} is not an e-mail address")
        if self.protocol == "sms" and not re.fullmatch(r"\+[1-9]\d{6,14}", self.endpoint):
            raise ValueError(f"endpoint {self.endpoint!r} is not an E.164 phone number")
        return self


class Alerts(Strict):
    topic: TopicName
    dead_letter_queue: TopicName
    publish_max_attempts: PositiveInt = 3
    subscriptions: list[Subscription] = []


class Operations(Strict):
    topic: TopicName
    email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Flink(Strict):
    application: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_.-]{1,128}$")]
    parallelism: PositiveInt = 1   # at most the shard count (a source subtask without a shard idles)
    # The one place for checkpointing: the CDK app writes both into the service's
    # CheckpointConfiguration; the local job reads them from here.
    checkpoint_interval_s: PositiveInt = 10
    min_pause_between_checkpoints_s: Annotated[int, Field(ge=0)] = 5
    out_of_orderness_s: Annotated[int, Field(ge=0)] = 5
    idle_timeout_s: PositiveInt = 10
    # Watermarks advance in steps of at least this much event time (and at least this often): each
    # step costs every window operator, so it trades throughput against up to this much latency.
    watermark_interval_ms: Annotated[int, Field(ge=1, le=60_000)] = 1000
    # The job's wait between GetRecords calls on a shard (and its first wait on an idle shard, which
    # then doubles up to 3 s): up to this much alert latency. Kinesis allows 5 calls/s per shard,
    # shared by every consumer; Firehose takes one, so the job may take at most four (>= 250 ms).
    poll_interval_ms: Annotated[int, Field(ge=250, le=10_000)] = 1000
    # Keyed-state entries the Python operator caches (python.state.cache-size): one per rule, entity
    # and state; a miss is a round trip to the JVM.
    python_state_cache_entries: Annotated[int, Field(ge=1000)] = 100_000
    # Where a job without restored state starts reading (source.init.position). LATEST is resolved
    # once, to the job's start time, and checkpointed; replays of a finite stream pass TRIM_HORIZON.
    start_position: Literal["LATEST", "TRIM_HORIZON"] = "LATEST"
    late_events_prefix: Prefix


class Window(Strict):
    type: Literal["tumble", "hop"]
    size_s: PositiveInt
    slide_s: PositiveInt | None = None

    @model_validator(mode="after")
    def _slide_matches_type(self) -> "Window":
        if self.type == "hop":
            if self.slide_s is None:
                raise ValueError("a hop window needs slide_s")
            if self.slide_s > self.size_s:
                raise ValueError(f"slide_s ({self.slide_s}) must not exceed size_s ({self.size_s})")
            if self.size_s % self.slide_s:
                raise ValueError(f"size_s ({self.size_s}) must be a multiple of slide_s ({self.slide_s})")
        elif self.slide_s is not None:
            raise ValueError("slide_s is only allowed for hop windows")
        return self


class ForSpec(Strict):
    """M-of-N (CloudWatch's DatapointsToAlarm): the rule holds when at least `breaching` of the
    entity's last `windows` window rows (windows it reported in) break the threshold."""
    windows: Annotated[int, Field(ge=1, le=100)]
    breaching: PositiveInt

    @model_validator(mode="after")
    def _m_of_n(self) -> "ForSpec":
        if self.breaching > self.windows:
            raise ValueError(f"breaching ({self.breaching}) must not exceed windows ({self.windows})")
        return self


class Baseline(Strict):
    """An anomaly rule's baseline: mean and standard deviation of the entity's last `windows`
    window rows; the rule judges only once `warmup` rows are known."""
    windows: Annotated[int, Field(ge=2, le=1000)]
    deviations: PositiveFloat
    warmup: Annotated[int, Field(ge=2)] | None = None   # default: `windows`
    direction: Literal["both", "above", "below"] = "both"

    @model_validator(mode="after")
    def _warmup_within_windows(self) -> "Baseline":
        if self.warmup is not None and self.warmup > self.windows:
            raise ValueError(f"warmup ({self.warmup}) must not exceed windows ({self.windows})")
        return self


# What each rule kind needs and refuses (flink_app/README.md describes the kinds).
_KIND_FIELDS = {
    "threshold": ({"window", "aggregate", "comparison", "threshold"}, {"change", "baseline", "for_s", "lookback_s"}),
    "change": ({"window", "aggregate", "comparison", "threshold", "change"}, {"baseline", "for_s", "lookback_s"}),
    "anomaly": ({"window", "aggregate", "baseline"}, {"comparison", "threshold", "change", "for_s", "lookback_s"}),
    "absence": ({"for_s", "lookback_s"}, {"aggregate", "comparison", "threshold", "change", "baseline", "for_"}),
}
ABSENCE_MAX_STEP_S = 60  # an absence rule's default evaluation window: min(for_s, this)


class Rule(Strict):
    # `for` is a Python keyword: the field is `for_`, written `for` in pipeline.yaml.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Identifier
    kind: Literal["threshold", "change", "anomaly", "absence"] = "threshold"
    metric: str
    source: str | None = None
    entity_id: str | None = None
    window: Window | None = None           # absence: the evaluation step (tumble, default min(for_s, 60))
    aggregate: Literal["count", "sum", "avg", "min", "max"] | None = None
    comparison: Literal[">", ">=", "<", "<=", "==", "!="] | None = None
    threshold: float | None = None
    severity: Severity
    cooldown_s: Annotated[int, Field(ge=0)] = 0
    for_: ForSpec | None = Field(default=None, alias="for")
    resolve: bool = False                  # send `resolved` when a firing alert's condition clears
    change: Literal["difference", "rate"] | None = None   # change: per window, or per second
    baseline: Baseline | None = None       # anomaly
    for_s: PositiveInt | None = None       # absence: silent this long -> alert
    lookback_s: PositiveInt | None = None  # absence: an entity is expected this long after it last reported

    @model_validator(mode="before")
    @classmethod
    def _absence_step(cls, data):
        # An absence rule reads the entity's reports through a tumbling window (first and last event
        # time per step): its size bounds the alert's latency and the rows per entity.
        if isinstance(data, dict) and data.get("kind") == "absence" and data.get("window") is None \
                and isinstance(data.get("for_s"), int) and data["for_s"] > 0:
            data = {**data, "window": {"type": "tumble", "size_s": min(data["for_s"], ABSENCE_MAX_STEP_S)}}
        return data

    @model_validator(mode="after")
    def _fields_of_kind(self) -> "Rule":
        needs, refuses = _KIND_FIELDS[self.kind]
        missing = sorted(f for f in needs if getattr(self, f) is None)
        if missing:
            raise ValueError(f"a {self.kind} rule needs {', '.join(missing)}")
        extra = sorted(("for" if f == "for_" else f) for f in refuses if getattr(self, f) is not None)
        if extra:
            raise ValueError(f"a {self.kind} rule takes no {', '.join(extra)}")
        if self.kind == "absence":
            if self.lookback_s < self.for_s:
                raise ValueError(f"lookback_s ({self.lookback_s}) must be at least for_s ({self.for_s})")
            if self.window.type != "tumble" or self.window.size_s > self.for_s:
                raise ValueError(f"an absence rule's window must be a tumble of at most for_s ({self.for_s}) seconds")
        return self


class FirehoseBuffering(Strict):
    size_mib: Annotated[int, Field(ge=1, le=128)] = 64  # dynamic partitioning needs >= 64 in AWS
    interval_s: Annotated[int, Field(ge=0, le=900)] = 300


class Firehose(Strict):
    name: StreamName
    prefix: str
    error_output_prefix: str
    partition_query: str
    buffering: FirehoseBuffering = FirehoseBuffering()
    compression: Literal["UNCOMPRESSED", "GZIP"] = "GZIP"
    # Set explicitly so that object names say what they hold (Spark and DuckDB pick the codec
    # from the extension); Firehose requires it to start with a period.
    file_extension: Annotated[str, Field(pattern=r"^\.[a-z0-9.]{1,127}$")] = ".json.gz"
    delimiter: str = "\n"
    processing_retry_s: Annotated[int, Field(ge=0, le=7200)] = 300  # dynamic partitioning retries

    @model_validator(mode="after")
    def _error_prefix_rules(self) -> "Firehose":
        # Documented: dynamic partitioning requires an error output prefix, and that prefix
        # must contain !{firehose:error-output-type}.
        if "!{firehose:error-output-type}" not in self.error_output_prefix:
            raise ValueError("error_output_prefix must contain !{firehose:error-output-type}")
        if self.buffering.interval_s == 0:
            raise ValueError("buffering.interval_s of 0 is not allowed with dynamic partitioning")
        keys = set(re.findall(r"!\{partitionKeyFromQuery:([^}]+)\}", self.prefix))
        if not keys:
            raise ValueError("prefix must use at least one !{partitionKeyFromQuery:KEY} (dynamic partitioning)")
        missing = sorted(k for k in keys if not re.search(rf"(^|[{{,\s]){re.escape(k)}\s*:", self.partition_query))
        if missing:
            raise ValueError(f"prefix uses partition keys {missing} that partition_query does not produce")
        return self


class SchemaChange(Strict):
    update: Literal["UPDATE_IN_DATABASE", "LOG"] = "UPDATE_IN_DATABASE"
    delete: Literal["LOG", "DELETE_FROM_DATABASE", "DEPRECATE_IN_DATABASE"] = "LOG"


class Crawler(Strict):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,255}$")]
    bucket: Literal["raw", "gold"]
    path: Prefix
    schema_change: SchemaChange = SchemaChange()
    recrawl: Literal["CRAWL_EVERYTHING", "CRAWL_NEW_FOLDERS_ONLY"] = "CRAWL_EVERYTHING"

    @model_validator(mode="after")
    def _incremental_logs_only(self) -> "Crawler":
        # CreateCrawler rejects an incremental crawl unless both behaviours are LOG
        # (AWS Glue developer guide, "Scheduling incremental crawls for adding new partitions").
        if self.recrawl == "CRAWL_NEW_FOLDERS_ONLY" and (self.schema_change.update, self.schema_change.delete) != ("LOG", "LOG"):
            raise ValueError("CRAWL_NEW_FOLDERS_ONLY requires schema_change.update: LOG and schema_change.delete: LOG")
        return self


class GlueTables(Strict):
    events: Identifier
    hourly: Identifier
    quarantine: Identifier


class Glue(Strict):
    database: Identifier
    etl_job: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,255}$")]
    tables: GlueTables
    crawlers: list[Crawler] = []


class Athena(Strict):
    workgroup: Annotated[str, Field(pattern=r"^[a-zA-Z0-9._-]{1,128}$")]
    bytes_scanned_cutoff_mib: Annotated[int, Field(ge=10)] = 1024


# --- deploy: settings that exist only in AWS (sizes, retention, alarm thresholds). Read by infra/.
BUCKET_SUFFIX_ENV = "VIGIA_BUCKET_SUFFIX"  # set in AWS so that config.load() returns the deployed names


class DeployProducer(Strict):
    memory_mib: Annotated[int, Field(ge=128, le=10240)] = 256
    timeout_s: Annotated[int, Field(ge=1, le=900)] = 60  # at most the schedule's period
    # One run at a time: EventBridge and async Lambda invocations are at-least-once, so without a
    # reservation two runs can overlap. Reserving needs an account concurrency limit above 10
    # (new accounts start at 10 and must keep 10 unreserved): then set null and rely on the
    # conditional cursor writes alone (producer/cursors.py).
    reserved_concurrency: Literal[1] | None = 1
    sources: list[str] | None = None  # polled in AWS; default: every non-simulator source


class DeployFlink(Strict):
    parallelism_per_kpu: Annotated[int, Field(ge=1, le=8)] = 1
    # The service's autoscaling doubles the parallelism up to ParallelismPerKPU x the KPU limit
    # (64) and has no maximum of its own, so with a provisioned stream it would raise the
    # parallelism past the shard count: allowed only for on-demand streams (see Pipeline).
    autoscaling: bool = False
    log_level: Literal["DEBUG", "INFO", "WARN", "ERROR"] = "INFO"
    metrics_level: Literal["APPLICATION", "OPERATOR", "PARALLELISM", "TASK"] = "APPLICATION"


class DeployGlue(Strict):
    worker_type: Literal["G.1X", "G.2X", "G.4X", "G.8X"] = "G.1X"
    workers: Annotated[int, Field(ge=2, le=100)] = 2
    timeout_min: Annotated[int, Field(ge=1, le=2880)] = 60
    schedule: Annotated[str, Field(pattern=r"^cron\(.+\)$")] = "cron(15 * * * ? *)"  # hourly ETL
    raw_crawler_schedule: Annotated[str, Field(pattern=r"^cron\(.+\)$")] = "cron(5 0 * * ? *)"
    # The gold crawler only brings schema changes into the catalog: the ETL registers the
    # partitions it writes, so a daily crawl is enough.
    gold_crawler_schedule: Annotated[str, Field(pattern=r"^cron\(.+\)$")] = "cron(45 0 * * ? *)"


class DeployLifecycle(Strict):
    raw_infrequent_access_days: Annotated[int, Field(ge=30)] = 30  # S3's minimum age for STANDARD_IA
    raw_expire_days: PositiveInt = 365
    athena_results_expire_days: PositiveInt = 7
    access_logs_expire_days: PositiveInt = 90

    @model_validator(mode="after")
    def _transition_before_expiry(self) -> "DeployLifecycle":
        if self.raw_expire_days <= self.raw_infrequent_access_days:
            raise ValueError("raw_expire_days must be after raw_infrequent_access_days")
        return self


class DeployAlarms(Strict):
    iterator_age_s: PositiveInt = 300          # stream readers fall this far behind
    flink_millis_behind_latest_s: PositiveInt = 120
    firehose_freshness_s: PositiveInt = 900    # oldest record not yet in S3
    # Firehose allows 500 active partitions by default; more go to the error prefix.
    firehose_active_partitions: Annotated[int, Field(ge=1, le=500)] = 400
    period_s: Literal[60, 300, 900, 3600] = 300


class Deploy(Strict):
    bucket_suffix: Literal["account_region", "none"] = "account_region"  # bucket names are global
    retain_data: bool = False       # false: `make destroy` deletes buckets with their objects
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365] = 30
    producer: DeployProducer = DeployProducer()
    flink: DeployFlink = DeployFlink()
    glue: DeployGlue = DeployGlue()
    lifecycle: DeployLifecycle = DeployLifecycle()
    alarms: DeployAlarms = DeployAlarms()


class Pipeline(Strict):
    version: Literal[1]
    project: Identifier
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")]
    stream: Stream
    buckets: Buckets
    producer: Producer
    metrics: dict[str, MetricSpec] = {}
    alerts: Alerts
    operations: Operations
    flink: Flink
    rules: list[Rule] = []
    firehose: Firehose
    glue: Glue
    athena: Athena
    deploy: Deploy = Deploy()

    @model_validator(mode="after")
    def _cross_checks(self) -> "Pipeline":
        _require_unique("rule name", [r.name for r in self.rules])
        _require_unique("crawler name", [c.name for c in self.glue.crawlers])
        for i, rule in enumerate(self.rules):
            if self.metrics and rule.metric not in self.metrics:
                raise ValueError(f"rules[{i}] ({rule.name}): metric {rule.metric!r} is not declared under 'metrics'")
        source_names = [s.name for s in self.producer.sources]
        for name in self.deploy.producer.sources or []:
            if name not in source_names:
                raise ValueError(f"deploy.producer: source {name!r} is not defined under producer.sources {source_names}")
        period = rate_seconds(self.producer.schedule)
        if period is not None and self.deploy.producer.timeout_s > period:
            # Two runs at once would read and advance the same cursors.
            raise ValueError(f"deploy.producer.timeout_s ({self.deploy.producer.timeout_s}) must not exceed the "
                             f"period of producer.schedule {self.producer.schedule!r} ({period} s)")
        if self.stream.mode == "provisioned":
            shards = self.stream.shard_count
            if self.flink.parallelism > shards:
                raise ValueError(f"flink.parallelism ({self.flink.parallelism}) must not exceed stream.shard_count "
                                 f"({shards}): a source subtask without a shard idles and costs a KPU")
            if self.deploy.flink.autoscaling:
                raise ValueError("deploy.flink.autoscaling must be false with a provisioned stream: the service "
                                 f"would scale the parallelism past stream.shard_count ({shards})")
        return self


def rate_seconds(schedule: str) -> int | None:
    """The period of an EventBridge `rate(N unit)` expression in seconds (None for cron)."""
    m = re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", schedule)
    if not m:
        return None
    return int(m.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[m.group(2).rstrip("s")]


def _require_unique(what: str, names: list[str]) -> None:
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ValueError(f"duplicate {what} {n!r}")
        seen.add(n)


def _format_errors(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(top level)"
        reason = e["msg"]
        if e["type"] == "extra_forbidden":
            reason = "unknown key"
        elif "input" in e and e["type"] not in ("missing",) and not isinstance(e["input"], dict):
            reason = f"{reason} (got {e['input']!r})"
        lines.append(f"  {path}: {reason}")
    return "\n".join(lines)


def parse(data: object, origin: str = "pipeline definition") -> Pipeline:
    """Validate already-parsed YAML/JSON data into a Pipeline."""
    try:
        return Pipeline.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"invalid {origin}:\n{_format_errors(err)}") from None


def load(path: str | os.PathLike | None = None) -> Pipeline:
    """Load the pipeline definition: `path`, else $VIGIA_PIPELINE, else the repo's pipeline.yaml."""
    p = Path(path or os.environ.get(ENV_PATH) or DEFAULT_PATH)
    try:
        data = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise ConfigError(f"pipeline definition not found: {p}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{p} is not valid YAML: {err}") from None
    suffix = os.environ.get(BUCKET_SUFFIX_ENV)
    if suffix and isinstance(data, dict) and isinstance(data.get("buckets"), dict):
        # In AWS bucket names are made globally unique by a suffix; infra/ sets this variable on
        # the producer Lambda, so the code there sees the deployed names.
        data["buckets"] = {k: f"{v}{suffix}" for k, v in data["buckets"].items()}
    return parse(data, origin=str(p))
